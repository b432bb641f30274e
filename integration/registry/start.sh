#!/usr/bin/env bash
# Starts a real CNCF distribution registry (Debian's docker-registry) on 127.0.0.1 with a free
# port and a temporary storage directory, for tests. Usage:
#   start.sh MODE WORKDIR        MODE: none | basic | token
# With REGISTRY_TLS=1 it serves https with a fresh self-signed certificate for 127.0.0.1
# (WORKDIR/tls.crt, REGISTRY_CA in env) instead of plain http. Manifest deletes are enabled
# (storage.delete.enabled); REGISTRY_DELETE=0 disables them (DELETE answers 405 UNSUPPORTED).
# Writes WORKDIR/env (shell assignments: REGISTRY=127.0.0.1:PORT, REGISTRY_USER, REGISTRY_PASSWORD,
# TOKEN_LOG, ...) and WORKDIR/pids (one process id a line; stop.sh kills exactly those).
# Basic mode uses an htpasswd (bcrypt) file; token mode runs token-server.py, which signs RS256
# JWTs with a key whose certificate the registry trusts.
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
mode=${1:?usage: start.sh none|basic|token WORKDIR}
work=${2:?usage: start.sh none|basic|token WORKDIR}
command -v docker-registry >/dev/null || { echo "start.sh: docker-registry is not installed" >&2; exit 2; }
mkdir -p "$work/storage"
work=$(cd "$work" && pwd)
: >"$work/pids"
user=sifter-user password='s3cret pass:word'

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

# Waits until URL answers with any HTTP status (a 401 counts: the server is up).
wait_http() {
  local url=$1 i
  for i in $(seq 1 100); do
    if [ "$(curl -sk -o /dev/null -w '%{http_code}' "$url" || true)" != "000" ]; then return 0; fi
    sleep 0.1
  done
  echo "start.sh: $url did not come up" >&2
  return 1
}

port=$(free_port)
auth_yaml=""
case "$mode" in
  none) ;;
  basic)
    htpasswd -Bbn "$user" "$password" >"$work/htpasswd"
    auth_yaml="auth:
  htpasswd:
    realm: sifter-test
    path: $work/htpasswd"
    ;;
  token)
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=sifter-token-test \
      -keyout "$work/token.key" -out "$work/token.crt" 2>/dev/null
    # libtrust key id: base32 of the first 30 bytes of sha256(SubjectPublicKeyInfo DER), in
    # groups of four joined by ':' -- what distribution looks up a token's "kid" by.
    kid=$(openssl x509 -in "$work/token.crt" -pubkey -noout | openssl pkey -pubin -outform DER |
      python3 -c 'import sys,hashlib,base64; k=base64.b32encode(hashlib.sha256(sys.stdin.buffer.read()).digest()[:30]).decode(); print(":".join(k[i:i+4] for i in range(0,48,4)))')
    token_port=$(free_port)
    "$py" "$here/token-server.py" --port "$token_port" --key "$work/token.key" --kid "$kid" \
      --issuer sifter-token-issuer --service sifter-registry --user "$user" --password "$password" \
      --log "$work/token.log" --refresh-token sifter-refresh-token >"$work/token-server.out" 2>&1 &
    echo $! >>"$work/pids"
    wait_http "http://127.0.0.1:$token_port/healthz"
    auth_yaml="auth:
  token:
    realm: http://127.0.0.1:$token_port/token
    service: sifter-registry
    issuer: sifter-token-issuer
    rootcertbundle: $work/token.crt"
    { echo "TOKEN_REALM=http://127.0.0.1:$token_port/token"; echo "REGISTRY_REFRESH_TOKEN=sifter-refresh-token"; } >>"$work/env.extra"
    ;;
  *) echo "start.sh: unknown mode $mode" >&2; exit 2 ;;
esac

tls_yaml=""
scheme=http
if [ "${REGISTRY_TLS:-}" = 1 ]; then
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
    -keyout "$work/tls.key" -out "$work/tls.crt" 2>/dev/null
  tls_yaml="  tls:
    certificate: $work/tls.crt
    key: $work/tls.key"
  scheme=https
fi

cat >"$work/config.yml" <<YAML
version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $work/storage
  delete:
    enabled: $([ "${REGISTRY_DELETE:-1}" = 0 ] && echo false || echo true)
http:
  addr: 127.0.0.1:$port
  secret: sifter-test-secret
$tls_yaml
$auth_yaml
YAML

docker-registry serve "$work/config.yml" >"$work/registry.log" 2>&1 &
echo $! >>"$work/pids"
wait_http "$scheme://127.0.0.1:$port/v2/"

{
  echo "REGISTRY=127.0.0.1:$port"
  echo "REGISTRY_MODE=$mode"
  echo "REGISTRY_USER=$user"
  printf 'REGISTRY_PASSWORD=%q\n' "$password"
  echo "TOKEN_LOG=$work/token.log"
  [ "$scheme" = http ] || echo "REGISTRY_CA=$work/tls.crt"
  [ ! -f "$work/env.extra" ] || cat "$work/env.extra"
} >"$work/env"
echo "127.0.0.1:$port"
