# A FIFO (or anything but a regular file) given where sifter reads a file is refused at once
# with a message that says so: `inspect`, `verify`, `push`, `sif add`, and build sources whose
# index, blob or archive is a FIFO. Each command runs under `timeout 20`: a command that blocks
# (no writer ever opens the FIFO) fails the case instead of hanging it.
source "$(dirname "$0")/../lib.sh"
cd "$CASE_WORK"
mkfifo pipe.sif

# COMMAND… must fail (not time out) with "not a regular file" in its message.
refuses() {
  local status=0
  timeout 20 "$SIFTER" "$@" </dev/null >out.txt 2>err.txt || status=$?
  [ "$status" != 124 ] || fail "sifter $* blocked on a FIFO"
  [ "$status" != 0 ] || fail "sifter $* succeeded on a FIFO"
  cat err.txt out.txt | grep -q "not a regular file" || fail "sifter $*: status $status, message: $(cat err.txt) $(cat out.txt)"
  echo "sifter $*: $(head -c 300 err.txt)"
}

refuses inspect pipe.sif
refuses inspect --json pipe.sif
refuses verify --offline pipe.sif
refuses verify pipe.sif
refuses push --plain-http pipe.sif oras://127.0.0.1:9/test/app:1
"$SIFTER" sif new real.sif
refuses sif add real.sif pipe.sif --type generic
refuses sif add pipe.sif real.sif --type generic

"$IMAGES/make-layered.sh" layout t1 >/dev/null
manifest=$(python3 -c 'import json; print(json.load(open("layout/index.json"))["manifests"][0]["digest"].split(":")[1])')
read -r config layer < <(python3 -c "
import json; m = json.load(open('layout/blobs/sha256/$manifest'))
print(m['config']['digest'].split(':')[1], m['layers'][0]['digest'].split(':')[1])")
for blob in index.json "blobs/sha256/$manifest" "blobs/sha256/$config" "blobs/sha256/$layer"; do
  rm -rf fifo-layout && cp -r layout fifo-layout
  rm "fifo-layout/$blob" && mkfifo "fifo-layout/$blob"
  refuses build oci:fifo-layout:t1 fifo.sif
done
refuses build oci-archive:pipe.sif fifo.sif
refuses build docker-archive:pipe.sif fifo.sif
[ ! -e fifo.sif ] || fail "a SIF was written"
echo "FIFOs: refused up front"
