#!/bin/sh
# sifter: environment of the SCIF app named by SINGULARITY_APPNAME, when there is one.
if test -n "${SINGULARITY_APPNAME:-}"; then
    export SINGULARITY_APPNAME
    app="/scif/apps/${SINGULARITY_APPNAME}"
    if test -d "$app/"; then
        SCIF_APPS="/scif/apps"
        SCIF_APPROOT="$app"
        export SCIF_APPROOT SCIF_APPS
        PATH="$app:/scif/apps/singularity:$PATH"
        if test -d "$app/bin"; then
            PATH="$app/bin:$PATH"
        elif test -d "/scif/apps/singularity/bin"; then
            PATH="/scif/apps/singularity/bin:$PATH"
        fi
        if test -d "$app/lib"; then
            LD_LIBRARY_PATH="$app/lib:${LD_LIBRARY_PATH:-}"
            export LD_LIBRARY_PATH
        elif test -d "/scif/apps/singularity/lib"; then
            LD_LIBRARY_PATH="/scif/apps/singularity/lib:${LD_LIBRARY_PATH:-}"
            export LD_LIBRARY_PATH
        fi
        for part in 01-base.sh 90-environment.sh; do
            if [ -f "$app/scif/env/$part" ]; then
                . "$app/scif/env/$part"
            elif [ -f "/scif/apps/singularity/scif/env/$part" ]; then
                . "/scif/apps/singularity/scif/env/$part"
            fi
        done
        export PATH
    else
        echo "Could not locate the container application: ${SINGULARITY_APPNAME}"
        exit 1
    fi
fi
