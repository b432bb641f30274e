#!/usr/bin/env bash
# Starts front.py before a registry that start.sh started in WORKDIR. Usage:
#   start-front.sh WORKDIR NAME [front.py flags: --redirect, --faults, --upload-elsewhere, ...]
# Before a TLS registry (REGISTRY_TLS=1), the front serves https with the registry's certificate.
# Appends NAME_FRONT=127.0.0.1:PORT and NAME_EVENTS=FILE to WORKDIR/env, its pid to WORKDIR/pids,
# and prints the front's address.
set -euo pipefail
# Swift's Foundation.Process learns that a child exited when a socket the child inherited is
# closed; a daemon keeping that descriptor would make the calling test wait forever. So close
# every inherited descriptor above stderr before starting anything in the background.
for fd in /proc/$$/fd/*; do
  fd=${fd##*/}
  if [ "$fd" -gt 2 ] 2>/dev/null; then eval "exec $fd>&-" 2>/dev/null || true; fi
done
# The interpreter itself, not a version-manager shim (pyenv's forks): `$!` must be the
# process that stop.sh kills.
py=$(python3 -c 'import sys; print(sys.executable)')
here=$(cd "$(dirname "$0")" && pwd)
work=${1:?usage: start-front.sh WORKDIR NAME [flags]}
name=${2:?usage: start-front.sh WORKDIR NAME [flags]}
shift 2
# shellcheck disable=SC1091
. "$work/env"
auth=()
[ "$REGISTRY_MODE" != basic ] || auth=(--upstream-auth "$REGISTRY_USER:$REGISTRY_PASSWORD")
[ -z "${REGISTRY_CA:-}" ] || auth+=(--upstream-tls --tls-cert "$work/tls.crt" --tls-key "$work/tls.key")
rm -f "$work/$name.ports"
"$py" "$here/front.py" --upstream "$REGISTRY" --port-file "$work/$name.ports" --events "$work/$name.events" \
  "${auth[@]}" "$@" >"$work/$name.out" 2>&1 &
echo $! >>"$work/pids"
for _ in $(seq 1 100); do [ -f "$work/$name.ports" ] && break; sleep 0.1; done
[ -f "$work/$name.ports" ] || { echo "start-front.sh: front did not start" >&2; cat "$work/$name.out" >&2; exit 1; }
read -r port _ <"$work/$name.ports"
touch "$work/$name.events"
{ echo "${name}_FRONT=127.0.0.1:$port"; echo "${name}_EVENTS=$work/$name.events"; } >>"$work/env"
echo "127.0.0.1:$port"
