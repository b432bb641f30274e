# `sifter build OUT.sif SOURCE`, Apptainer's order: a clear hint naming the right order, a
# non-zero exit, and no file written; the right order then builds.
source "$(dirname "$0")/../lib.sh"
cd "$CASE_WORK"
"$IMAGES/make-layered.sh" layout t1 >/dev/null
if "$SIFTER" build out.sif oci:layout:t1 >out.txt 2>err.txt; then fail "the swapped order succeeded"; fi
grep -q 'try: sifter build oci:layout:t1 out.sif' err.txt || fail "no hint: $(cat err.txt)"
grep -q 'apptainer build takes them the other way round' err.txt || fail "the hint does not say why: $(cat err.txt)"
[ ! -e out.sif ] && [ ! -e oci:layout:t1 ] || fail "a file was written"
[ -z "$(ls -A | grep -v '^layout$' | grep -v '\.txt$')" ] || fail "left behind: $(ls -A)"
"$SIFTER" build oci:layout:t1 out.sif >/dev/null
echo "Apptainer's argument order gets a hint"
