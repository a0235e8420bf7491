#!/usr/bin/env bash
# The development PKI verifies against its own CA, the server certificate names localhost and
# 127.0.0.1 for server auth, and the client certificate carries the requested CN for client auth.
set -euo pipefail
script="$1"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
bash "$script" "$dir" device-42 >/dev/null
openssl verify -CAfile "$dir/ca.crt" "$dir/server.crt" "$dir/client.crt"
openssl verify -CAfile "$dir/ca.crt" -purpose sslserver "$dir/server.crt"
openssl verify -CAfile "$dir/ca.crt" -purpose sslclient "$dir/client.crt"
if openssl verify -CAfile "$dir/ca.crt" -purpose sslserver "$dir/client.crt" >/dev/null 2>&1; then
  echo "client certificate must not be valid for server auth" >&2; exit 1
fi
openssl x509 -in "$dir/server.crt" -noout -ext subjectAltName | grep -q 'IP Address:127.0.0.1'
openssl x509 -in "$dir/client.crt" -noout -subject | grep -q 'CN *= *device-42'
# each key matches its certificate
for n in server client; do
  [ "$(openssl pkey -in "$dir/$n.key" -pubout)" = "$(openssl x509 -in "$dir/$n.crt" -noout -pubkey)" ]
done
echo "dev PKI ok"
