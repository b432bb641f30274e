#!/usr/bin/env bash
# Builds the reference tools from Debian's golang-github-sylabs-sif-dev in GOPATH mode (Debian
# ships the library source, not the command): `siftool` (its own command set) and `sifdump`
# (the reference reader's view as JSON), `sifverify` and `sifsign` (pkg/integrity's verifier and
# signer, what `apptainer verify` and `apptainer sign` run). Prints the directory holding them.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
work=${SIFTER_INTEGRATION_WORK:-$here/.work}
bin=$work/bin
src=/usr/share/gocode/src/github.com/sylabs/sif
[ -d "$src" ] || { echo "build-siftool: $src missing: apt-get install golang-github-sylabs-sif-dev" >&2; exit 1; }
gopath=$work/gopath
mkdir -p "$gopath/src/github.com/sylabs/sif" "$bin"
# The package imports itself as .../sif/v2; GOPATH mode needs that path to exist.
ln -sfn "$src" "$gopath/src/github.com/sylabs/sif/v2"
for tool in siftool sifdump sifverify sifsign; do
  if [ ! -x "$bin/$tool" ] || [ "$here/$tool/main.go" -nt "$bin/$tool" ]; then
    mkdir -p "$gopath/src/$tool-main"
    cp "$here/$tool/main.go" "$gopath/src/$tool-main/main.go"
    (cd "$gopath/src/$tool-main" &&
      GO111MODULE=off GOPATH="$gopath:/usr/share/gocode" GOCACHE="$work/gocache" go build -o "$bin/$tool" .) >&2
  fi
done
echo "$bin"
