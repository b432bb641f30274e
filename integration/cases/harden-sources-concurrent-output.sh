# Two builds to the same new output without --force: exactly one succeeds, the other fails
# saying the output exists, and the file is the winner's complete SIF. The first build is
# stopped (SIGSTOP) once it is writing, so both have passed every check before either
# finishes: the loser is decided by the final rename alone, with no timing involved.
source "$(dirname "$0")/../lib.sh"
cd "$CASE_WORK"
"$IMAGES/make-layered.sh" layout t1 >/dev/null
# Two different SIFs of the same image, built alone as references.
"$SIFTER" build oci:layout:t1 gzip.sif >/dev/null
"$SIFTER" build --block-size 65536 oci:layout:t1 small-blocks.sif >/dev/null
cmp -s gzip.sif small-blocks.sif && fail "the reference builds should differ"

mkdir out
for attempt in 1 2 3; do
  rm -f out/app.sif
  # Build A: stopped as soon as its temporary file exists (it has passed the output checks).
  "$SIFTER" build oci:layout:t1 out/app.sif >a.out 2>a.err &
  a=$!
  for _ in $(seq 400); do
    [ -n "$(find out -name '.app.sif.sifter-*.tmp')" ] && break
    sleep 0.01
  done
  if [ -z "$(find out -name '.app.sif.sifter-*.tmp')" ]; then
    wait "$a" || true
    echo "attempt $attempt: build A finished before it could be stopped; again"
    continue
  fi
  kill -STOP "$a"
  # Build B runs to the end while A is stopped: B wins.
  b_status=0; "$SIFTER" build --block-size 65536 oci:layout:t1 out/app.sif >b.out 2>b.err || b_status=$?
  kill -CONT "$a"
  a_status=0; wait "$a" || a_status=$?
  [ "$b_status" = 0 ] || fail "build B (the winner): status $b_status: $(cat b.err)"
  [ "$a_status" != 0 ] || fail "both builds succeeded: the second replaced the first without --force"
  grep -q "already exists" a.err || fail "build A failed without saying the output exists: $(cat a.err)"
  cmp out/app.sif small-blocks.sif || fail "out/app.sif is not build B's complete SIF"
  [ "$(ls -A out)" = app.sif ] || fail "left beside the output: $(ls -A out)"
  echo "two builds to one output: B won, A failed with: $(cat a.err)"
  exit 0
done
fail "build A never stayed long enough to be stopped"
