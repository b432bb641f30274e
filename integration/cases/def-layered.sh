# `sifter def` on the layered image: the text is what `build` stores (definition object and
# /.singularity.d/Singularity), defs/images/layered.def is current, and the %runscript and
# %environment bodies behave in a chroot of the built SIF's tree exactly as the SIF's own
# runscript and 10-docker2singularity.sh do.
#
# defs/images/layered.def is compared with its "# Manifest digest:" line normalised: the layout
# make-layered.sh writes is not byte-stable (host busybox, umoci's own timestamps), so the digest
# differs between runs; everything else must be identical. SIFTER_UPDATE_DEFS=1 rewrites the file.
source "$(dirname "$0")/../lib.sh"
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$CASE_WORK"
"$IMAGES/make-layered.sh" layout t1 >/dev/null

"$SIFTER" def oci:layout:t1 >layered.def 2>warnings.txt
[ ! -s warnings.txt ] || fail "warnings for the layered image: $(cat warnings.txt)"
"$SIFTER" def oci:layout:t1 -o written.def
cmp layered.def written.def || fail "-o writes other text than stdout"
"$SIFTER" def oci:layout:t1 -o written.def  # replaces in place
grep -q '\.sifter-.*\.tmp' <<<"$(ls -a)" && fail "-o left a temporary file"
[ "$(head -2 layered.def)" = "$(printf 'Bootstrap: oci\nFrom: layout:t1')" ] || fail "header: $(head -2 layered.def)"
manifest=$(python3 -c 'import json; print(json.load(open("layout/index.json"))["manifests"][0]["digest"])')
grep -qx "# Manifest digest: $manifest (an OCI layout reference cannot name a digest)" layered.def || fail "manifest digest comment"
grep -q '^# Manifest digest' <<<"$("$SIFTER" def --unpinned oci:layout:t1)" && fail "--unpinned still names the digest"

normalise() { sed -E 's/^# Manifest digest: sha256:[0-9a-f]{64} /# Manifest digest: sha256:DIGEST /' "$1"; }
if [ "${SIFTER_UPDATE_DEFS:-}" = 1 ]; then cp layered.def "$root/defs/images/layered.def"; fi
diff <(normalise "$root/defs/images/layered.def") <(normalise layered.def) ||
  fail "defs/images/layered.def is stale (SIFTER_UPDATE_DEFS=1 integration/run.sh integration/cases/def-layered.sh)"

# build stores the same bytes: the definition object and /.singularity.d/Singularity.
"$SIFTER" build oci:layout:t1 out.sif >/dev/null
"$SIFTER" inspect --json out.sif | python3 -c '
import hashlib, json, sys
deffile = [d for d in json.load(sys.stdin)["descriptors"] if d["type"] == "deffile"]
want = hashlib.sha256(open("layered.def", "rb").read()).hexdigest()
assert len(deffile) == 1 and deffile[0]["sha256"] == want, (deffile, want)' || fail "the Deffile object is not the def text"
"$SIFTOOL" dump 1 out.sif >deffile.bin
cmp deffile.bin layered.def || fail "siftool dump of the Deffile object differs"
unsquashfs -q -d tree -o "$(partition_offset out.sif)" out.sif >/dev/null
cmp tree/.singularity.d/Singularity layered.def || fail "/.singularity.d/Singularity differs"

# A section body as Apptainer's parser cuts it: the lines after `%NAME` up to the next line
# whose first word starts with %.
section() {
  python3 - "$1" "$2" <<'PY'
import sys
name, current, out = sys.argv[2], None, []
for line in open(sys.argv[1], encoding="utf-8").read().split("\n"):
    word = line.lstrip()
    if word.startswith("%"):
        current = word[1:].split(" ")[0].lower()
    elif current == name:
        out.append(line)
sys.stdout.write("\n".join(out))
PY
}
runscript=$(section layered.def runscript)
[ -n "$runscript" ] || fail "no %runscript"

# Entrypoint ["/bin/sh","-c"], Cmd ['echo "hello from layered"']: the def's runscript body and
# the SIF's runscript, in a chroot of the built tree, with and without arguments, in
# Apptainer's default mode and with --no-eval.
compare() {
  local label=$1; shift
  local from_def from_sif
  from_def=$(chroot tree /bin/sh -c "$runscript" /.singularity.d/runscript "$@" 2>&1; echo "status $?")
  from_sif=$(chroot tree /bin/sh /.singularity.d/runscript "$@" 2>&1; echo "status $?")
  [ "$from_def" = "$from_sif" ] || fail "$label: def runscript says [$from_def], SIF runscript says [$from_sif]"
  echo "$label: [$from_def]"
}
compare "no arguments"
compare "one argument" 'echo replaced'
compare "arguments" 'echo "[$0] [$1]"' zero 'one  two'
compare "failing command" 'exit 3'
export SINGULARITY_NO_EVAL=1
compare "no-eval, no arguments"
compare "no-eval, arguments" 'echo "[$0] [$1]"' zero 'one  two'
unset SINGULARITY_NO_EVAL
[ "$(chroot tree /bin/sh -c "$runscript" x)" = "hello from layered" ] || fail "def runscript output"

# --workdir: the same runscript after `cd /data`.
workdir_runscript=$(section <("$SIFTER" def --workdir oci:layout:t1) runscript)
mkdir -p tree/data
[ "$(chroot tree /bin/sh -c "$workdir_runscript" x pwd)" = /data ] || fail "--workdir runscript does not cd"
chroot tree /bin/sh -c "$runscript" x pwd | grep -qx / || fail "runscript without --workdir changes directory"

# %environment, through Apptainer's action script (action_script.sh): the host's environment
# cleared, 10-docker2singularity.sh, PATH completed by fixpath (process_linux.go fixPathBuiltin),
# then 90-environment.sh. sifter's SIF has %environment appended to its 90-environment.sh, as
# insertEnvScript (metadata.go) does when apptainer build reads the file; both must give the
# image's values, and PATH must keep Apptainer's additions.
environment=$(section layered.def environment)
printf '#!/bin/sh\n\n%s\n' "$environment" >tree/rebuilt-90-environment.sh
fixpath='__fixpath() { o=$PATH; for d in /usr/local/sbin /usr/local/bin /usr/sbin /usr/bin /sbin /bin; do
  case ":$PATH:" in *":$d:"*) ;; *) o="${o:+$o:}$d" ;; esac; done; printf %s "$o"; }'
probe='printf "[%s]" "$PATH" "$GREETING"'
for env90 in /.singularity.d/env/90-environment.sh /rebuilt-90-environment.sh; do
  got=$(env -i "$(command -v chroot)" tree /bin/sh -c "$fixpath
. /.singularity.d/env/10-docker2singularity.sh; export PATH=\"\$(__fixpath)\"; . $env90; $probe")
  want='[/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin][hello "world" $HOME]'
  [ "$got" = "$want" ] || fail "environment with $env90: $got"
done
{ cat "$root/defs/runtime/env/90-environment.sh"; printf '\n%s\n\n\n' "$environment"; } |
  cmp - tree/.singularity.d/env/90-environment.sh || fail "90-environment.sh is not the base with %environment appended"
echo "layered def: header, defs/images current, Deffile object, runscript and environment in a chroot"
