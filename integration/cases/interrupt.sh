# Ctrl-C (SIGINT) or SIGTERM in the middle of a pull or of a build's download: sifter exits
# 130 / 143 and leaves nothing beside the output (no partial SIF, no temporary file, no scratch
# folder), and the blob cache is not poisoned: the next build succeeds and gives the same file
# as an uninterrupted one. A slowed proxy in front of the real registry makes the transfers
# last long enough to be interrupted.
source "$(dirname "$0")/../lib.sh"
cd "$CASE_WORK"
start_registry none
"$IMAGES/make-layered.sh" layout t1 >/dev/null
"$SIFTER" build oci:layout:t1 app.sif >/dev/null
# A SIF of a few MiB: the layered image plus incompressible data.
head -c $((4 << 20)) /dev/urandom >noise.bin
"$SIFTER" sif add app.sif noise.bin --type generic >/dev/null
"$SIFTER" push --plain-http app.sif "oras://$REGISTRY/test/app:1" >/dev/null
skopeo copy -q --dest-tls-verify=false oci:layout:t1 "docker://$REGISTRY/test/image:1"
PROXY_BYTES_PER_SECOND=$((256 << 10)) start_logging_proxy

interrupt() {  # SIGNAL EXPECTED-STATUS WATCHED-DIRECTORY OUTPUT-DIRECTORY COMMAND...
  local signal=$1 expected=$2 watched=$3 out=$4 pid status=0
  shift 4
  "$@" & pid=$!
  # Wait until the transfer has begun (files appear in the watched folder), then interrupt.
  for _ in $(seq 200); do [ -n "$(find "$watched" -type f 2>/dev/null)" ] && break; sleep 0.05; done
  sleep 0.3
  [ -n "$(find "$watched" -type f)" ] || fail "nothing was being written in $watched when the signal came"
  kill "-$signal" "$pid"
  wait "$pid" || status=$?
  [ "$status" = "$expected" ] || fail "$* after SIG$signal: status $status, expected $expected"
  [ -z "$(ls -A "$out")" ] || fail "left behind after SIG$signal: $(ls -A "$out")"
}

mkdir pull-int pull-term
interrupt INT 130 pull-int pull-int "$SIFTER" pull --plain-http "oras://$proxy/test/app:1" pull-int/app.sif
interrupt TERM 143 pull-term pull-term "$SIFTER" pull --plain-http "oras://$proxy/test/app:1" pull-term/app.sif

mkdir build-int
export SIFTER_CACHE_DIR=$CASE_WORK/cache
interrupt INT 130 "$SIFTER_CACHE_DIR" build-int "$SIFTER" build --plain-http "docker://$proxy/test/image:1" build-int/out.sif
"$SIFTER" build --plain-http "docker://$REGISTRY/test/image:1" resumed.sif >/dev/null
SIFTER_CACHE_DIR=$CASE_WORK/fresh-cache "$SIFTER" build --plain-http "docker://$REGISTRY/test/image:1" fresh.sif >/dev/null
cmp resumed.sif fresh.sif || fail "a build after an interrupted one differs from a fresh build"
echo "interrupt: exit 130/143, nothing left beside the output, cache still good"
