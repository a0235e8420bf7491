#!/usr/bin/env bash
# Makes a development PKI for Sluice's TLS listeners and their tests: a CA, a server
# certificate for localhost/127.0.0.1 and a client certificate, all signed by that CA.
# usage: certs/make-dev-pki.sh OUT_DIR [CLIENT_CN]
# Never use these outside development: the CA key sits unencrypted next to the certificates.
set -euo pipefail
out="${1:?usage: make-dev-pki.sh OUT_DIR [CLIENT_CN]}"
client_cn="${2:-sluice-dev-client}"
days=825
mkdir -p "$out"
cd "$out"

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
  -keyout ca.key -out ca.crt -days "$days" -subj "/CN=Sluice development CA" \
  -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null

issue() {  # issue NAME SUBJECT EXTFILE-CONTENT
  local name=$1 subject=$2 ext=$3
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
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

chmod 600 ./*.key
echo "development PKI in $out: ca.crt server.crt server.key client.crt client.key"
