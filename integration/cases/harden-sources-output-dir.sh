# An output in a directory that does not exist (or is not a directory) is refused before any
# work, with a message naming that directory: build, pull, export, convert --output, def -o and
# sif new. Nothing reaches the registry (a logging proxy counts the requests).
source "$(dirname "$0")/../lib.sh"
cd "$CASE_WORK"
start_registry none
"$IMAGES/make-layered.sh" layout t1 >/dev/null
skopeo copy -q --dest-tls-verify=false oci:layout:t1 "docker://$REGISTRY/test/image:1"
"$SIFTER" build oci:layout:t1 app.sif >/dev/null
"$SIFTER" push --plain-http app.sif "oras://$REGISTRY/test/app:1" >/dev/null
start_logging_proxy
touch plain-file

# COMMAND… must fail with status 1 and name DIRECTORY in its message.
refused() {
  local directory=$1 status=0
  shift
  "$SIFTER" "$@" </dev/null >out.txt 2>err.txt || status=$?
  [ "$status" = 64 ] || fail "sifter $*: status $status, expected 64 (usage): $(cat err.txt)"
  grep -qF "$directory" err.txt || fail "sifter $*: the message does not name $directory: $(cat err.txt)"
  grep -qiE "broken pipe|could not create" err.txt && fail "sifter $*: $(cat err.txt)"
  echo "sifter $*: $(cat err.txt)"
}

for dir in no/such/dir plain-file; do
  refused "$dir" build oci:layout:t1 "$dir/out.sif"
  refused "$dir" build --plain-http "docker://$proxy/test/image:1" "$dir/out.sif"
  refused "$dir" pull --plain-http "oras://$proxy/test/app:1" "$dir/out.sif"
  refused "$dir" export oci:layout:t1 "$dir/out.tar"
  refused "$dir" export --plain-http "docker://$proxy/test/image:1" "$dir/out.tar"
  refused "$dir" convert --plain-http "docker://$proxy/test/image:1" "oras://$proxy/test/converted:1" --output "$dir/out.sif"
  refused "$dir" def oci:layout:t1 -o "$dir/out.def"
  refused "$dir" sif new "$dir/out.sif"
done
grep -q "does not exist" <<<"$("$SIFTER" build oci:layout:t1 no/such/dir/out.sif 2>&1)" || fail "a missing directory is not called missing"
grep -q "not a directory" <<<"$("$SIFTER" build oci:layout:t1 plain-file/out.sif 2>&1)" || fail "a file is not called a non-directory"
[ ! -s "$CASE_WORK/requests.log" ] || fail "requests reached the registry: $(cat "$CASE_WORK/requests.log")"
echo "missing output directories: named, before any work"
