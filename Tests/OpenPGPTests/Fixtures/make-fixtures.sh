#!/usr/bin/env bash
# How the GnuPG-made fixtures here were made (GnuPG 2.2.40, Debian 12); kept for the record,
# not run by the tests. Throw-away test keys: their passphrase is "sifter test passphrase".
set -euo pipefail
cd "$(dirname "$0")"
export GNUPGHOME=$(mktemp -d)
trap 'gpgconf --kill gpg-agent; rm -rf "$GNUPGHOME"' EXIT
pass="sifter test passphrase"
gen() {  # name, key type lines, protection line
  gpg --batch --gen-key <<KEY
$2
Name-Real: sifter $1
Name-Email: $1@sifter.test
Expire-Date: 0
$3
%commit
KEY
}
gen rsa "Key-Type: RSA
Key-Length: 2048" "Passphrase: $pass"
gen ed25519 "Key-Type: EDDSA
Key-Curve: ed25519" "%no-protection"
gen ed25519-protected "Key-Type: EDDSA
Key-Curve: ed25519" "Passphrase: $pass"
for name in rsa ed25519 ed25519-protected; do
  gpg --batch --pinentry-mode loopback --passphrase "$pass" --armor --export-secret-keys "$name@sifter.test" >"$name-secret.asc"
  gpg --armor --export "$name@sifter.test" >"$name-public.asc"
  printf '{"version":1}\n- dash line\ntrailing space   \n' |
    gpg --batch --pinentry-mode loopback --passphrase "$pass" --local-user "$name@sifter.test" --clearsign >"$name-clearsigned.txt"
done
