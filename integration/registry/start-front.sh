#!/usr/bin/env bash
# Starts front.py before a registry that start.sh started in WORKDIR. Usage:
#   start-front.sh WORKDIR NAME [--redirect] [--faults]
# Appends NAME_FRONT=127.0.0.1:PORT and NAME_EVENTS=FILE to WORKDIR/env, its pid to WORKDIR/pids,
# and prints the front's address.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
work=${1:?usage: start-front.sh WORKDIR NAME [flags]}
name=${2:?usage: start-front.sh WORKDIR NAME [flags]}
shift 2
# shellcheck disable=SC1091
. "$work/env"
auth=()
[ "$REGISTRY_MODE" != basic ] || auth=(--upstream-auth "$REGISTRY_USER:$REGISTRY_PASSWORD")
rm -f "$work/$name.ports"
python3 "$here/front.py" --upstream "$REGISTRY" --port-file "$work/$name.ports" --events "$work/$name.events" \
  "${auth[@]}" "$@" >"$work/$name.out" 2>&1 &
echo $! >>"$work/pids"
for _ in $(seq 1 100); do [ -f "$work/$name.ports" ] && break; sleep 0.1; done
[ -f "$work/$name.ports" ] || { echo "start-front.sh: front did not start" >&2; cat "$work/$name.out" >&2; exit 1; }
read -r port _ <"$work/$name.ports"
touch "$work/$name.events"
{ echo "${name}_FRONT=127.0.0.1:$port"; echo "${name}_EVENTS=$work/$name.events"; } >>"$work/env"
echo "127.0.0.1:$port"
