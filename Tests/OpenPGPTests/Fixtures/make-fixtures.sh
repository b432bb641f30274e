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
# The ed25519 key re-protected in each S2K / cipher / check combination (an implementation
# independent of sifter's: python3-cryptography and hashlib; each checked by importing it into
# gpg and clear-signing with the passphrase).
./protect-key.py ed25519-secret.asc ed25519-s2k-iterated-sha256-aes256-sha1check.asc 254 3 sha256 256 96
./protect-key.py ed25519-secret.asc ed25519-s2k-salted-sha512-aes192-sum16.asc 255 1 sha512 192
./protect-key.py ed25519-secret.asc ed25519-s2k-simple-sha1-aes128-sha1check.asc 254 0 sha1 128
./protect-key.py ed25519-secret.asc ed25519-s2k-iterated-sha1-aes128-sum16.asc 255 3 sha1 128 16
