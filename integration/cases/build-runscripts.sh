# The generated runscript, run in a chroot of the unsquashed SIF, gives the OCI command line for
# Entrypoint only, Cmd only, both and neither, with and without arguments, in Apptainer's
# default mode and with SINGULARITY_NO_EVAL (apptainer --no-eval).
source "$(dirname "$0")/../lib.sh"
cd "$CASE_WORK"
"$IMAGES/make-layered.sh" layout base >/dev/null
variant() {  # variant TAG [umoci config flags…]
  local tag=$1; shift
  umoci config --image layout:base --tag "$tag" --clear=config.entrypoint --clear=config.cmd "$@" >/dev/null
  "$SIFTER" build "oci:layout:$tag" "$tag.sif" >/dev/null
  mkdir "$tag-tree"
  unsquashfs -q -f -d "$tag-tree" -o "$(partition_offset "$tag.sif")" "$tag.sif" >/dev/null
}
run() {  # run TAG [args…]: what the runscript prints in both modes, which must agree
  local tag=$1; shift
  local eval_mode no_eval
  eval_mode=$(chroot "$tag-tree" /bin/sh /.singularity.d/runscript "$@")
  no_eval=$(SINGULARITY_NO_EVAL=1 chroot "$tag-tree" /bin/sh /.singularity.d/runscript "$@")
  [ "$eval_mode" = "$no_eval" ] || fail "$tag $*: default mode printed '$eval_mode', --no-eval '$no_eval'"
  printf '%s' "$eval_mode"
}
expect() {  # expect WANT TAG [args…]
  local want=$1; shift
  local got
  got=$(run "$@")
  [ "$got" = "$want" ] || fail "runscript of $*: printed '$got', expected '$want'"
}

variant entrypoint --config.entrypoint /bin/sh --config.entrypoint -c --config.entrypoint 'echo "ep:$*"' --config.entrypoint -
expect "ep:" entrypoint
expect "ep:a b c" entrypoint "a b" c

variant cmd --config.cmd /bin/sh --config.cmd -c --config.cmd 'echo cmd'
expect "cmd" cmd
expect "user" cmd /bin/sh -c 'echo user'

variant both --config.entrypoint /bin/sh --config.entrypoint -c --config.entrypoint 'echo "both:$*"' --config.entrypoint - \
  --config.cmd d1 --config.cmd "d 2"
expect "both:d1 d 2" both
expect "both:u" both u

variant neither
expect "direct" neither /bin/sh -c 'echo direct'
# With nothing to run and no arguments the runscript ends without running anything, as
# Apptainer's does (its `set` prints the shell's variables first).
chroot neither-tree /bin/sh /.singularity.d/runscript >/dev/null || fail "neither, no arguments: non-zero exit"
echo "runscripts behave as OCI Entrypoint/Cmd for all four combinations"
