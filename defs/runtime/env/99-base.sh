#!/bin/sh
# sifter: libraries Apptainer binds into /.singularity.d/libs, and the default prompt.
if [ -z "${LD_LIBRARY_PATH:-}" ]; then
    LD_LIBRARY_PATH="/.singularity.d/libs"
else
    LD_LIBRARY_PATH="$LD_LIBRARY_PATH:/.singularity.d/libs"
fi

if test -z "${PS1:-}"; then
    export PS1="Apptainer> "
fi
export LD_LIBRARY_PATH PS1
