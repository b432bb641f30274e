# `sifter sign` and `sifter verify --key` in Apptainer's signature format, against the real
# oracles: the reference implementation's own verifier and signer (sylabs/sif pkg/integrity
# with ProtonMail go-crypto: integration/sifverify, integration/sifsign) and GnuPG.
# Fresh keys from `gpg --batch --gen-key` (RSA, RSA with a passphrase, Ed25519) and the
# reference's test key: sifter's signatures verify in the reference and in gpg; a byte flipped
# in an object, a descriptor or the signed message is refused by every verifier; the
# reference's golden signed images (legacy ones too) verify in sifter; with a fixed time the
# signature objects equal the reference's byte for byte; build --sign-key signs before the
# rename; an overlay partition added after the build is named, and accepted with
# --allow-added; neither passphrase nor key bytes appear in any output.
source "$(dirname "$0")/../lib.sh"
cd "$CASE_WORK"
bin=$(dirname "$SIFDUMP")
SIFVERIFY=$bin/sifverify SIFSIGN=$bin/sifsign
export GNUPGHOME=$CASE_WORK/gnupg
mkdir -m 700 "$GNUPGHOME"
# start_registry sets its own EXIT trap; the agent is stopped in stop_agent, called by both.
stop_agent() { gpgconf --kill gpg-agent 2>/dev/null || true; }
trap stop_agent EXIT
pass='correct horse battery staple'
refkey=$FIXTURES/private.asc
# Every output of sifter goes to out/, checked for secrets at the end.
mkdir out
run() {  # run NAME CMD…: sifter's stdout and stderr into out/NAME.{out,err}, exit status kept
  local name=$1 status=0; shift
  "$@" >"out/$name.out" 2>"out/$name.err" || status=$?
  echo "$status" >"out/$name.status"
  return 0
}
status() { cat "out/$1.status"; }
expect() {  # expect NAME STATUS
  [ "$(status "$1")" = "$2" ] || fail "$1: exit $(status "$1"), expected $2: $(cat "out/$1.out" "out/$1.err")"
}
# The bytes of object ID of FILE into OUT.
extract() {
  python3 - "$1" "$2" "$3" <<'PY'
import json, subprocess, sys, os
sif, oid, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
d = [d for d in json.loads(subprocess.check_output([os.environ["SIFTER"], "inspect", "--json", sif]))["descriptors"] if d["id"] == oid][0]
with open(sif, "rb") as f:
    f.seek(d["offset"]); data = f.read(d["size"])
open(out, "wb").write(data)
PY
}
field() {  # field FILE ID KEY
  "$SIFTER" inspect --json "$1" | python3 -c 'import json, sys
d = [d for d in json.load(sys.stdin)["descriptors"] if d["id"] == int(sys.argv[1])][0]; print(d[sys.argv[2]])' "$2" "$3"
}
flip() {
  python3 -c 'import sys
f = open(sys.argv[1], "r+b"); f.seek(int(sys.argv[2])); b = f.read(1)[0]; f.seek(int(sys.argv[2])); f.write(bytes([b ^ 0x5A]))' "$1" "$2"
}

# Keys: RSA 3072 without a passphrase, RSA 2048 with one, Ed25519 (EdDSA legacy, v4).
gen() {
  gpg --batch --gen-key <<KEY 2>/dev/null
$2
Name-Real: sifter test $1
Name-Email: $1@sifter.test
Expire-Date: 0
$3
%commit
KEY
  gpg --batch --pinentry-mode loopback --passphrase "$pass" --armor --export-secret-keys "$1@sifter.test" >"$1.asc"
  gpg --armor --export "$1@sifter.test" >"$1.pub"
}
gen rsa "Key-Type: RSA
Key-Length: 3072" "%no-protection"
gen protected "Key-Type: RSA
Key-Length: 2048" "Passphrase: $pass"
gen ed25519 "Key-Type: EDDSA
Key-Curve: ed25519" "%no-protection"
fpr() { gpg --with-colons --fingerprint "$1@sifter.test" | awk -F: '/^fpr/ {print $10; exit}'; }
rsa_fpr=$(fpr rsa) ed_fpr=$(fpr ed25519) protected_fpr=$(fpr protected)

# A SIF built by sifter.
"$IMAGES/make-layered.sh" layout t1 >/dev/null
# Without the SBOM object, so the object numbers below are those of the signing rules alone.
"$SIFTER" build --no-sbom oci:layout:t1 built.sif >/dev/null

# 1. sifter signs with a fresh RSA key; the reference verifier, gpg and sifter accept it.
cp built.sif rsa.sif
run sign-rsa "$SIFTER" sign rsa.sif --key rsa.asc
expect sign-rsa 0
grep -q "group 1 (objects 1, 2, 3, 4, 5, 6) signed by $rsa_fpr in object 7" out/sign-rsa.out || fail "sign output: $(cat out/sign-rsa.out)"
"$SIFVERIFY" --key rsa.pub rsa.sif >ref-rsa.out || fail "the reference verifier refuses sifter's RSA signature: $(cat ref-rsa.out)"
grep -q "signature 7: signer $rsa_fpr: objects \[1 2 3 4 5 6\]: ok" ref-rsa.out || fail "reference verifier: $(cat ref-rsa.out)"
extract rsa.sif 7 rsa-message.asc
gpg --verify rsa-message.asc 2>gpg-rsa.err || fail "gpg refuses sifter's clear-signed message: $(cat gpg-rsa.err)"
grep -q "Good signature from \"sifter test rsa" gpg-rsa.err || fail "gpg: $(cat gpg-rsa.err)"
run verify-rsa "$SIFTER" verify --offline --key rsa.pub rsa.sif
expect verify-rsa 0
grep -q "^verified: rsa.sif: integrity: 5 objects .*; signatures: signature object 7 by $rsa_fpr (RSA 3072-bit, sifter test rsa <rsa@sifter.test>) covers objects 1, 2, 3, 4, 5, 6 (group 1)" out/verify-rsa.out ||
  fail "verify output: $(cat out/verify-rsa.out)"
# A build with its SBOM object (the default): the SBOM is signed with the rest of group 1.
"$SIFTER" build oci:layout:t1 with-sbom.sif >/dev/null
"$SIFTER" sign with-sbom.sif --key rsa.asc >/dev/null 2>&1 || fail "signing a SIF with an SBOM failed"
"$SIFVERIFY" --key rsa.pub with-sbom.sif >ref-sbom.out || fail "the reference refuses a signed SIF with an SBOM: $(cat ref-sbom.out)"
grep -q "signature 8: signer $rsa_fpr: objects \[1 2 3 4 5 6 7\]: ok" ref-sbom.out || fail "reference verifier, SBOM: $(cat ref-sbom.out)"
# A keyring exported by gpg works as well; a key that did not sign is refused, naming the signer.
gpg --export >keyring.gpg
run verify-keyring "$SIFTER" verify --offline --keyring keyring.gpg rsa.sif
expect verify-keyring 0
run verify-wrong-key "$SIFTER" verify --offline --key ed25519.pub rsa.sif
expect verify-wrong-key 1
grep -q "key ${rsa_fpr: -16}, which is not among the given keys" out/verify-wrong-key.out || fail "wrong key: $(cat out/verify-wrong-key.out)"
# Without a key the signer is listed, unchecked.
run verify-nokey "$SIFTER" verify --offline rsa.sif
expect verify-nokey 0
grep -q "signed by $rsa_fpr for group 1; not checked" out/verify-nokey.out || fail "no key: $(cat out/verify-nokey.out)"

# 2. Tampering. In an object (the partition) and in a descriptor (the definition file's
# creation time): the reference verifier and sifter refuse (gpg checks only the message,
# which is intact). In the signed message itself: all three refuse.
part_offset=$(field rsa.sif 4 offset) part_size=$(field rsa.sif 4 size)
desc_offset=$("$SIFTER" inspect --json rsa.sif | python3 -c 'import json,sys; print(json.load(sys.stdin)["header"]["descriptorsOffset"])')
tamper() {  # tamper NAME OFFSET WHAT-SIFTER-SAYS
  cp rsa.sif "$1.sif"
  flip "$1.sif" "$2"
  "$SIFVERIFY" --key rsa.pub "$1.sif" >"ref-$1.out" 2>&1 && fail "$1: the reference verifier accepts a tampered SIF"
  run "verify-$1" "$SIFTER" verify --offline --key rsa.pub "$1.sif"
  expect "verify-$1" 1
  grep -qF "$3" "out/verify-$1.out" || fail "$1: sifter does not say $3: $(cat "out/verify-$1.out")"
  echo "tampered $1: refused ($(tail -1 "ref-$1.out"))"
}
tamper object $((part_offset + part_size / 2)) "the data of object 4 (partition) changed after signing"
tamper descriptor $((desc_offset + 0 * 585 + 41)) "the descriptor of object 1 (deffile) changed after signing"
sig_offset=$(field rsa.sif 7 offset)
tamper message $((sig_offset + 60)) "does not match the signed text"
extract message.sif 7 tampered-message.asc
gpg --verify tampered-message.asc 2>gpg-tampered.err && fail "gpg accepts a tampered message"
grep -q "BAD signature" gpg-tampered.err || fail "gpg on the tampered message: $(cat gpg-tampered.err)"

# 3. Ed25519 and a protected key (passphrase on stdin, in the environment, wrong, missing).
cp built.sif ed.sif
run sign-ed "$SIFTER" sign ed.sif --key ed25519.asc
expect sign-ed 0
"$SIFVERIFY" --key ed25519.pub ed.sif >ref-ed.out || fail "the reference verifier refuses sifter's Ed25519 signature: $(cat ref-ed.out)"
extract ed.sif 7 ed-message.asc
gpg --verify ed-message.asc 2>gpg-ed.err || fail "gpg refuses the Ed25519 message: $(cat gpg-ed.err)"
run verify-ed "$SIFTER" verify --offline --key ed25519.pub ed.sif
expect verify-ed 0
grep -q "by $ed_fpr (EdDSA Ed25519" out/verify-ed.out || fail "Ed25519 verify: $(cat out/verify-ed.out)"
cp built.sif protected.sif
run sign-nopass "$SIFTER" sign protected.sif --key protected.asc </dev/null
expect sign-nopass 64
grep -q "protected by a passphrase" out/sign-nopass.err || fail "no passphrase: $(cat out/sign-nopass.err)"
printf 'wrong passphrase\n' >wrong.txt
run sign-wrongpass "$SIFTER" sign protected.sif --key protected.asc --passphrase-stdin <wrong.txt
expect sign-wrongpass 64
grep -q "does not unlock" out/sign-wrongpass.err || fail "wrong passphrase: $(cat out/sign-wrongpass.err)"
[ "$(field protected.sif 7 type 2>/dev/null || true)" = "" ] || fail "a failed sign changed the SIF"
printf '%s\n' "$pass" >pass.txt
run sign-stdin "$SIFTER" sign protected.sif --key protected.asc --passphrase-stdin <pass.txt
expect sign-stdin 0
"$SIFVERIFY" --key protected.pub protected.sif >/dev/null || fail "the reference refuses the protected key's signature"
cp built.sif protected-env.sif
SIFTER_SIGN_PASSPHRASE=$pass run sign-env "$SIFTER" sign protected-env.sif --key protected.asc
expect sign-env 0
"$SIFVERIFY" --key protected.pub protected-env.sif >/dev/null || fail "the reference refuses the env-passphrase signature"

# 4. The reference's golden signed images, legacy ones with --legacy-insecure as Apptainer.
for image in one-group-signed two-groups-signed; do
  run "golden-$image" "$SIFTER" verify --offline --key "$refkey" "$FIXTURES/$image.sif"
  expect "golden-$image" 0
done
grep -q "signature object 5 by 12045C8C0B1004D058DE4BEDA20C27EE7FF7BA84 .* covers objects 3 (group 2)" out/golden-two-groups-signed.out ||
  fail "two groups: $(cat out/golden-two-groups-signed.out)"
for image in one-group-signed-legacy one-group-signed-legacy-group one-group-signed-legacy-all \
  two-groups-signed-legacy two-groups-signed-legacy-group two-groups-signed-legacy-all; do
  run "legacy-$image" "$SIFTER" verify --offline --legacy-insecure --key "$refkey" "$FIXTURES/$image.sif"
  expect "legacy-$image" 0
  run "nolegacy-$image" "$SIFTER" verify --offline --key "$refkey" "$FIXTURES/$image.sif"
  expect "nolegacy-$image" 1
  grep -q "other than legacy ones" "out/nolegacy-$image.out" || fail "$image without --legacy-insecure: $(cat "out/nolegacy-$image.out")"
done
# A legacy signature over changed data is refused.
cp "$FIXTURES/one-group-signed-legacy.sif" legacy-tampered.sif && chmod u+w legacy-tampered.sif
flip legacy-tampered.sif $(($(field legacy-tampered.sif 2 offset) + 1))
run legacy-tampered "$SIFTER" verify --offline --legacy-insecure --key "$refkey" legacy-tampered.sif
expect legacy-tampered 1

# 5. Byte equality with the reference's signer (deterministic RSA PKCS#1 v1.5 and Ed25519):
# the golden images re-signed, and a sifter-built SIF signed by both with each key.
for image in one-group two-groups; do
  cp "$FIXTURES/$image.sif" "ref-$image.sif" && cp "$FIXTURES/$image.sif" "sifter-$image.sif" && chmod u+w ./*-"$image".sif
  "$SIFSIGN" --key "$refkey" --time 2020-06-30T00:01:56Z --deterministic "ref-$image.sif"
  run "det-$image" "$SIFTER" sign "sifter-$image.sif" --key "$refkey" --time 2020-06-30T00:01:56Z --deterministic
  expect "det-$image" 0
  cmp "ref-$image.sif" "sifter-$image.sif" || fail "$image: sifter's signed file differs from the reference signer's"
  cmp "sifter-$image.sif" "$FIXTURES/$image-signed.sif" || fail "$image: sifter's signed file differs from the golden one"
done
for key in rsa ed25519 reference; do
  file=$key.asc; [ "$key" = reference ] && file=$refkey
  cp built.sif "ref-$key.sif" && cp built.sif "sifter-$key.sif"
  "$SIFSIGN" --key "$file" --time 2026-01-02T03:04:05Z "ref-$key.sif"
  run "eq-$key" "$SIFTER" sign "sifter-$key.sif" --key "$file" --time 2026-01-02T03:04:05Z
  expect "eq-$key" 0
  cmp "ref-$key.sif" "sifter-$key.sif" || fail "$key: sifter's signature object differs from the reference's"
done
echo "byte-equal: golden re-signs and RSA/Ed25519/reference-key signatures of a built SIF"

# 6. build --sign-key signs before the rename; the record tolerates the signature.
run build-signed "$SIFTER" build --no-sbom --sign-key rsa.asc oci:layout:t1 build-signed.sif
expect build-signed 0
"$SIFVERIFY" --key rsa.pub build-signed.sif >/dev/null || fail "the reference refuses build --sign-key's signature"
run verify-build-signed "$SIFTER" verify --offline --key rsa.pub build-signed.sif
expect verify-build-signed 0
grep -q "added since and accepted: object 7 (signature)" out/verify-build-signed.out || fail "build-signed: $(cat out/verify-build-signed.out)"
SIFTER_SIGN_PASSPHRASE=nope run build-badpass "$SIFTER" build --sign-key protected.asc oci:layout:t1 build-badpass.sif
expect build-badpass 64
[ ! -e build-badpass.sif ] || fail "a build with a key it cannot unlock wrote its output"

# convert --sign-key signs before the push: the pulled SIF verifies in the reference.
start_registry none
trap 'stop_agent; "$REGISTRY_SCRIPTS/stop.sh" "$CASE_WORK/reg" >/dev/null 2>&1 || true' EXIT
run convert-signed "$SIFTER" convert --no-sbom --plain-http --sign-key ed25519.asc oci:layout:t1 "oras://$REGISTRY/test/signed:1"
expect convert-signed 0
run pull-signed "$SIFTER" pull --plain-http "oras://$REGISTRY/test/signed:1" pulled-signed.sif
expect pull-signed 0
"$SIFVERIFY" --key ed25519.pub pulled-signed.sif >ref-pulled.out || fail "the reference refuses the pushed SIF's signature: $(cat ref-pulled.out)"
grep -q "signer $ed_fpr" ref-pulled.out || fail "pulled: $(cat ref-pulled.out)"

# 7. An overlay partition added after the build (as `apptainer overlay create` adds: ext3,
# overlay, group 1), by the reference's siftool: named, and accepted with --allow-added.
cp built.sif overlay.sif
head -c 65536 /dev/zero >overlay.img
"$SIFTOOL" add overlay.sif overlay.img --datatype 4 --parttype 4 --partfs 2 --partarch 2 --groupid 1 >/dev/null
run overlay "$SIFTER" verify --offline overlay.sif
expect overlay 1
grep -qF 'object 7 (partition): added after the build: an Ext3 overlay partition (65536 bytes), as `apptainer overlay create` adds; --allow-added accepts overlay partitions' out/overlay.out ||
  fail "overlay: $(cat out/overlay.out)"
run overlay-allowed "$SIFTER" verify --offline --allow-added overlay.sif
expect overlay-allowed 0
grep -q 'added since and accepted: object 7 (partition)' out/overlay-allowed.out || fail "overlay allowed: $(cat out/overlay-allowed.out)"
# Another added object is not an overlay: --allow-added does not accept it.
cp built.sif generic.sif
"$SIFTOOL" add generic.sif overlay.img --datatype 7 --groupid 1 >/dev/null
run generic-allowed "$SIFTER" verify --offline --allow-added generic.sif
expect generic-allowed 1
grep -q 'added after the build: a generic object (65536 bytes)' out/generic-allowed.out || fail "generic: $(cat out/generic-allowed.out)"

# 8. No passphrase and no key bytes in anything sifter printed.
secret_lines=$(sed -n '/^$/,/^=/p' protected.asc rsa.asc ed25519.asc | grep -v '^=' | grep -E '^.{40,}$' | sort -u)
[ -n "$secret_lines" ] || fail "no key lines to look for"
grep -rqF "$pass" out && fail "the passphrase appears in sifter's output: $(grep -rlF "$pass" out)"
grep -rqF "wrong passphrase" out && fail "the wrong passphrase appears in sifter's output"
while IFS= read -r line; do
  grep -rqF "$line" out && fail "key material appears in sifter's output: $(grep -rlF "$line" out)"
done <<<"$secret_lines"
echo "sign: reference, gpg and sifter agree on RSA, protected RSA and Ed25519 signatures; golden and legacy images verify; tampering refused; byte-equal to the reference"
