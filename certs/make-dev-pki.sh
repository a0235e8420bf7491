#!/usr/bin/env bash
# Makes a development PKI for Sluice's TLS listeners and their tests: a CA, a server
# certificate for localhost/127.0.0.1 and a client certificate, all signed by that CA; for
# tests that must be refused, a client certificate of that CA that expired in 2020
# (expired-client.*) and a client certificate of a second, unrelated CA (foreign-*).
# usage: certs/make-dev-pki.sh OUT_DIR [CLIENT_CN]
# Keys are ECDSA P-256; PKI_KEY_TYPE=rsa makes them RSA 2048 (for handshake benchmarks).
# Never use these outside development: the CA key sits unencrypted next to the certificates.
set -euo pipefail
out="${1:?usage: make-dev-pki.sh OUT_DIR [CLIENT_CN]}"
client_cn="${2:-sluice-dev-client}"
days=825
case "${PKI_KEY_TYPE:-ec}" in
  ec) newkey=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1) ;;
  rsa) newkey=(-newkey rsa:2048) ;;
  *) echo "make-dev-pki.sh: PKI_KEY_TYPE must be ec or rsa, not '$PKI_KEY_TYPE'" >&2; exit 2 ;;
esac
mkdir -p "$out"
cd "$out"

openssl req -x509 "${newkey[@]}" -nodes \
  -keyout ca.key -out ca.crt -days "$days" -subj "/CN=Sluice development CA" \
  -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null

issue() {  # issue NAME SUBJECT EXTFILE-CONTENT
  local name=$1 subject=$2 ext=$3
  openssl req "${newkey[@]}" -nodes \
    -keyout "$name.key" -out "$name.csr" -subj "$subject" 2>/dev/null
  printf '%s\n' "$ext" > "$name.ext"
  openssl x509 -req -in "$name.csr" -CA ca.crt -CAkey ca.key -CAcreateserial \
    -out "$name.crt" -days "$days" -extfile "$name.ext" 2>/dev/null
  rm -f "$name.csr" "$name.ext"
}

issue server "/CN=localhost" "basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1"

issue client "/CN=$client_cn" "basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=clientAuth"

client_ext="basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=clientAuth"

# An expired client certificate: `openssl x509 -req` cannot backdate, `openssl ca` can.
openssl req "${newkey[@]}" -nodes \
  -keyout expired-client.key -out expired-client.csr -subj "/CN=$client_cn-expired" 2>/dev/null
printf '%s\n' "$client_ext" > expired-client.ext
: > ca-index.txt
cat > ca-backdate.cnf <<'CNF'
[ca]
default_ca = dev
[dev]
database = ca-index.txt
new_certs_dir = .
certificate = ca.crt
private_key = ca.key
serial = ca.srl
default_md = sha256
policy = any
unique_subject = no
[any]
commonName = supplied
CNF
openssl ca -batch -notext -config ca-backdate.cnf -in expired-client.csr \
  -out expired-client.crt -startdate 20200101000000Z -enddate 20200102000000Z \
  -extfile expired-client.ext 2>/dev/null
rm -f expired-client.csr expired-client.ext ca-backdate.cnf ca-index.txt* ca.srl.old ./*.pem

# A second CA and a client certificate of it (valid, but from a CA the broker does not trust).
openssl req -x509 "${newkey[@]}" -nodes \
  -keyout foreign-ca.key -out foreign-ca.crt -days "$days" -subj "/CN=Foreign development CA" \
  -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
openssl req "${newkey[@]}" -nodes \
  -keyout foreign-client.key -out foreign-client.csr -subj "/CN=$client_cn" 2>/dev/null
printf '%s\n' "$client_ext" > foreign-client.ext
openssl x509 -req -in foreign-client.csr -CA foreign-ca.crt -CAkey foreign-ca.key \
  -CAcreateserial -out foreign-client.crt -days "$days" -extfile foreign-client.ext 2>/dev/null
rm -f foreign-client.csr foreign-client.ext

chmod 600 ./*.key
echo "development PKI in $out: ca.crt server.crt server.key client.crt client.key" \
  "expired-client.crt expired-client.key foreign-ca.crt foreign-client.crt foreign-client.key"
