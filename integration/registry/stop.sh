#!/usr/bin/env bash
# Stops what start.sh / start-front.sh started in WORKDIR: exactly the process ids in WORKDIR/pids.
# SIGTERM first; SIGKILL for any still alive after two seconds (a process started with signals
# blocked by its parent never sees SIGTERM).
set -uo pipefail
work=${1:?usage: stop.sh WORKDIR}
[ -f "$work/pids" ] || exit 0
pids=$(cat "$work/pids")
for pid in $pids; do kill "$pid" 2>/dev/null; done
for _ in $(seq 1 20); do
  alive=""
  for pid in $pids; do kill -0 "$pid" 2>/dev/null && alive="$alive $pid"; done
  [ -z "$alive" ] && break
  sleep 0.1
done
for pid in $alive; do kill -9 "$pid" 2>/dev/null; done
: >"$work/pids"
