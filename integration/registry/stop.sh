#!/usr/bin/env bash
# Stops what start.sh / start-front.sh started in WORKDIR: exactly the process ids in WORKDIR/pids.
set -uo pipefail
work=${1:?usage: stop.sh WORKDIR}
[ -f "$work/pids" ] || exit 0
while read -r pid; do
  [ -n "$pid" ] && kill "$pid" 2>/dev/null
done <"$work/pids"
: >"$work/pids"
