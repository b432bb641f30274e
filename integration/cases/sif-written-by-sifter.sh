# SIFs written by sifter (mixed object types, several groups, a primary partition, deletions
# and re-adds) are listed, described and dumped by the reference siftool as sifter sees them.
source "$(dirname "$0")/../lib.sh"
cd "$CASE_WORK"
printf 'bootstrap: docker\nfrom: alpine@sha256:%064d\n' 0 >def.txt
printf '{"org.example.title":"demo"}' >labels.json
printf '{"config":{}}' >oci-config.json
printf 'PATH=/bin\n' >env.txt
head -c 300000 /dev/urandom >data.bin
mkdir -p tree/etc && echo hello >tree/etc/greeting
mksquashfs tree root.sqfs -noappend -quiet -no-progress >/dev/null
printf '\xfe\xfe\xf0\xf0' >message.bin

S=mixed.sif
"$SIFTER" sif new "$S" --time 1700000000
"$SIFTER" sif add "$S" def.txt --type deffile --time 1700000001
"$SIFTER" sif add "$S" labels.json --type labels --name labels.json
"$SIFTER" sif add "$S" oci-config.json --type genericJSON --name oci-config.json
"$SIFTER" sif add "$S" root.sqfs --type partition --fs squashfs --part primSys --arch amd64
"$SIFTER" sif add "$S" data.bin --type partition --fs raw --part data --arch arm64 --group 2
"$SIFTER" sif add "$S" env.txt --type envvar --group 0 --link-object 4
"$SIFTER" sif add "$S" message.bin --type cryptoMessage --format pem --message rsaOaep --group 0 --link-group 2
"$SIFTER" sif add "$S" data.bin --type signature --hash sha384 --entity 0123456789abcdef0123456789abcdef01234567 --group 0 --link-group 1
"$SIFTER" sif add "$S" labels.json --type sbom --format spdx-json --group 3
same_as_reference "$S"

# Delete from the middle, re-add (the freed slot and ID are reused), move the primary.
"$SIFTER" sif del 3 "$S"
"$SIFTER" sif add "$S" oci-config.json --type genericJSON --name oci-config-2.json --group 2
"$SIFTER" sif add "$S" root.sqfs --type partition --fs squashfs --part system --arch arm64 --group 2
"$SIFTER" sif setprim 10 "$S"
same_as_reference "$S"
grep -Eq 'Primary Architecture: +arm64' <<<"$("$SIFTOOL" header "$S")" || fail "header arch does not follow the new primary"
grep -Eq 'Partition Type: +System' <<<"$("$SIFTOOL" info 4 "$S")" || fail "old primary was not demoted"
grep -Eq 'Name: +oci-config-2.json' <<<"$("$SIFTOOL" info 3 "$S")" || fail "re-added object did not reuse slot 3"

# Every object's data, dumped by the reference, is the bytes sifter was given.
"$SIFTOOL" dump 1 "$S" | cmp - def.txt
"$SIFTOOL" dump 4 "$S" | cmp - root.sqfs
"$SIFTOOL" dump 5 "$S" | cmp - data.bin
"$SIFTOOL" dump 7 "$S" | cmp - message.bin
"$SIFTOOL" dump 10 "$S" | cmp - root.sqfs
# The partition sifter wrote is a squashfs unsquashfs can read at its offset.
offset=$("$SIFTER" inspect --json "$S" | python3 -c 'import json,sys; print([d for d in json.load(sys.stdin)["descriptors"] if d["id"]==10][0]["offset"])')
grep -q 'etc/greeting' <<<"$(unsquashfs -o "$offset" -lls "$S")" || fail "unsquashfs cannot read the partition"

# The other direction: files the reference siftool writes, sifter reads identically.
R=reference-made.sif
"$SIFTOOL" new "$R"
"$SIFTOOL" add --datatype 4 --parttype 2 --partfs 1 --partarch 2 "$R" root.sqfs
"$SIFTOOL" add --datatype 6 --groupid 2 "$R" labels.json
"$SIFTOOL" del 2 "$R"
same_as_reference "$R"

# Deterministic mode gives identical files twice.
"$SIFTER" sif new a.sif --deterministic && "$SIFTER" sif add a.sif def.txt --type deffile --deterministic
"$SIFTER" sif new b.sif --deterministic && "$SIFTER" sif add b.sif def.txt --type deffile --deterministic
cmp a.sif b.sif
