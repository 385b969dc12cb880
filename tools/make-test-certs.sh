#!/usr/bin/env bash
# make-test-certs.sh <dir> [days]
#
# Makes throwaway TLS material for trying Paddock's TLS port locally and for the tests: a CA,
# a server certificate for 127.0.0.1 / localhost, two client certificates the CA signed, and
# one client certificate signed by a different CA (which the server must refuse). PEM files,
# EC P-256 keys, valid for `days` days (default 365). NOT for production use.
#
# Files written into <dir> (created if missing; existing files are replaced):
#   ca.pem                  the CA certificate: the trust store (ssl.trustStore.location)
#   ca-key.pem              the CA's private key
#   server.pem              server key + certificate: the key store (ssl.keyStore.location)
#   server-cert.pem, server-key.pem                 the same, apart
#   server-encrypted.pem    the same key store with the key encrypted by the password
#                           "changeit" (ssl.keyStore.password=changeit)
#   client.pem, client-cert.pem, client-key.pem     client "CN=client,O=Paddock Test"
#   client2.pem, client2-cert.pem, client2-key.pem  client "CN=client2,O=Paddock Test"
#   wrong-host.pem, wrong-host-cert.pem, wrong-host-key.pem
#                           a server certificate the CA signed for "other.example" only (fails
#                           hostname verification when connecting to 127.0.0.1)
#   untrusted-ca.pem        another CA, which the server does not trust
#   untrusted.pem, untrusted-cert.pem, untrusted-key.pem
#                           client "CN=intruder,O=Elsewhere", signed by the other CA
#
# Example:
#   tools/make-test-certs.sh certs && build/bin/paddock conf/tls.cfg
set -euo pipefail

if [ $# -lt 1 ] || [ $# -gt 2 ] || [ "${1:-}" = "-h" ] || [ "${1:-}" = "--help" ]; then
  awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"
  exit 2
fi
dir=$1
days=${2:-365}
case $days in
  ''|*[!0-9]*) echo "make-test-certs.sh: days must be a number, found '$days'" >&2; exit 2 ;;
esac
command -v openssl >/dev/null || { echo "make-test-certs.sh: openssl not found (Debian package openssl)" >&2; exit 1; }

mkdir -p "$dir"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
umask 077  # keys readable by their owner only

new_key() {  # new_key <file>
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null
}

serial() { echo "0x$(openssl rand -hex 8)"; }

new_ca() {  # new_ca <name> <subject>
  new_key "$dir/$1-key.pem"
  openssl req -x509 -new -key "$dir/$1-key.pem" -subj "$2" -days "$days" -sha256 \
    -set_serial "$(serial)" \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -addext "subjectKeyIdentifier=hash" \
    -out "$dir/$1.pem"
}

# new_leaf <name> <subject> <ca-name> <extended key usage> [subjectAltName]
# Writes <name>-key.pem, <name>-cert.pem and <name>.pem (key, then certificate).
new_leaf() {
  local name=$1 subject=$2 ca=$3 usage=$4 san=${5:-}
  new_key "$dir/$name-key.pem"
  {
    echo "basicConstraints=critical,CA:FALSE"
    echo "keyUsage=critical,digitalSignature,keyEncipherment"
    echo "extendedKeyUsage=$usage"
    echo "subjectKeyIdentifier=hash"
    echo "authorityKeyIdentifier=keyid"
    if [ -n "$san" ]; then echo "subjectAltName=$san"; fi
  } > "$work/$name.ext"
  openssl req -new -key "$dir/$name-key.pem" -subj "$subject" -out "$work/$name.csr"
  openssl x509 -req -in "$work/$name.csr" -CA "$dir/$ca.pem" -CAkey "$dir/$ca-key.pem" \
    -set_serial "$(serial)" -days "$days" -sha256 -extfile "$work/$name.ext" \
    -out "$dir/$name-cert.pem" 2>/dev/null
  cat "$dir/$name-key.pem" "$dir/$name-cert.pem" > "$dir/$name.pem"
}

new_ca ca "/O=Paddock Test/CN=Paddock Test CA"
new_ca untrusted-ca "/O=Elsewhere/CN=Untrusted Test CA"

# Server certificates serve both ends of quorum links too: serverAuth and clientAuth.
new_leaf server "/O=Paddock Test/CN=localhost" ca "serverAuth,clientAuth" \
  "IP:127.0.0.1,DNS:localhost"
new_leaf wrong-host "/O=Paddock Test/CN=other.example" ca "serverAuth,clientAuth" \
  "DNS:other.example"
new_leaf client "/O=Paddock Test/CN=client" ca "clientAuth"
new_leaf client2 "/O=Paddock Test/CN=client2" ca "clientAuth"
new_leaf untrusted "/O=Elsewhere/CN=intruder" untrusted-ca "clientAuth"

openssl pkcs8 -topk8 -in "$dir/server-key.pem" -passout pass:changeit -v2 aes-256-cbc \
  -out "$work/server-key-encrypted.pem"
cat "$work/server-key-encrypted.pem" "$dir/server-cert.pem" > "$dir/server-encrypted.pem"

# Certificates are public; only the keys stay private.
chmod 644 "$dir"/ca.pem "$dir"/untrusted-ca.pem "$dir"/*-cert.pem
rm -f "$dir"/*-key.pem.srl "$dir"/*.srl
echo "made test CA, server and client certificates in $dir (valid $days days)"
