#!/bin/sh
# sifter: PATH changes asked for at run time (--env PATH, APPTAINERENV_PREPEND_PATH, …) win
# over the image's PATH, so they are applied last.
if [ -n "${SING_USER_DEFINED_PREPEND_PATH:-}" ]; then
    PATH="${SING_USER_DEFINED_PREPEND_PATH}:${PATH}"
fi

if [ -n "${SING_USER_DEFINED_APPEND_PATH:-}" ]; then
    PATH="${PATH}:${SING_USER_DEFINED_APPEND_PATH}"
fi

if [ -n "${SING_USER_DEFINED_PATH:-}" ]; then
    PATH="${SING_USER_DEFINED_PATH}"
fi

unset SING_USER_DEFINED_PREPEND_PATH \
      SING_USER_DEFINED_APPEND_PATH \
      SING_USER_DEFINED_PATH

export PATH
