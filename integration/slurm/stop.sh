#!/usr/bin/env bash
# Stops what slurm/start.sh started in WORKDIR: exactly the process ids in WORKDIR/pids, slurmd
# first, then slurmctld, then munged (TERM, then KILL after a few seconds).
set -uo pipefail
work=${1:?usage: stop.sh WORKDIR}
[ -f "$work/pids" ] || exit 0
pids=$(tac "$work/pids")
for pid in $pids; do kill -TERM "$pid" 2>/dev/null || true; done
for _ in $(seq 1 50); do
  alive=0
  for pid in $pids; do kill -0 "$pid" 2>/dev/null && alive=1; done
  [ "$alive" = 0 ] && break
  sleep 0.1
done
for pid in $pids; do kill -KILL "$pid" 2>/dev/null || true; done
: >"$work/pids"
