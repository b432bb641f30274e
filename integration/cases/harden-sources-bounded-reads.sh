# Local sources check a file's size before reading it, and never read more than that size (plus
# one byte): a 1 GiB config whose descriptor says a few hundred bytes, a 1 GiB index.json or
# manifest, and a 1 GiB config inside a docker-archive are refused with a message naming the
# file and both sizes, and sifter's peak memory stays small (the files are sparse: 1 GiB on
# paper, nothing on disk).
source "$(dirname "$0")/../lib.sh"
cd "$CASE_WORK"
"$IMAGES/make-layered.sh" layout t1 >/dev/null
giant=$((1 << 30))

# Runs sifter under /usr/bin/time (peak RSS in KiB into NAME.rss) and `timeout`; the status goes
# to NAME.status, stderr to NAME.err.
measured() {
  local name=$1 status=0
  shift
  /usr/bin/time -f '%M' -o "$name.rss" timeout 120 "$SIFTER" "$@" </dev/null >/dev/null 2>"$name.err" || status=$?
  echo "$status" >"$name.status"
}

# A refused source: failed with status 65 (invalid input), with every expected text in the
# message, within 256 MiB of memory.
refused() {
  local name=$1 status rss
  shift
  status=$(cat "$name.status")
  [ "$status" = 65 ] || fail "$name: status $status, expected 65: $(cat "$name.err")"
  for text in "$@"; do
    grep -qF -- "$text" "$name.err" || fail "$name: the message does not say \"$text\": $(cat "$name.err")"
  done
  rss=$(tail -n 1 "$name.rss")
  [ "$rss" -lt $((256 << 10)) ] || fail "$name: peak RSS $rss KiB for a refused 1 GiB file"
  echo "$name: refused with $(cat "$name.err") (peak RSS $rss KiB)"
}

manifest_digest=$(python3 -c 'import json; print(json.load(open("layout/index.json"))["manifests"][0]["digest"].split(":")[1])')
read -r config_digest config_size < <(python3 -c "
import json; c = json.load(open('layout/blobs/sha256/$manifest_digest'))['config']
print(c['digest'].split(':')[1], c['size'])")

# A config blob of 1 GiB where the descriptor says config_size bytes.
cp -r layout big-config
truncate -s "$giant" "big-config/blobs/sha256/$config_digest"
measured big-config build oci:big-config:t1 big-config.sif
refused big-config "config sha256:$config_digest" "$giant bytes" "the descriptor says $config_size"

# A manifest blob of 1 GiB.
cp -r layout big-manifest
truncate -s "$giant" "big-manifest/blobs/sha256/$manifest_digest"
measured big-manifest build oci:big-manifest:t1 big-manifest.sif
refused big-manifest "manifest sha256:$manifest_digest" "$giant bytes"

# index.json of 1 GiB (valid JSON, then zeros): more than any index may be.
cp -r layout big-index
truncate -s "$giant" big-index/index.json
measured big-index build oci:big-index:t1 big-index.sif
refused big-index "big-index/index.json" "$giant bytes" "4194304"

# A docker-archive whose config member is 1 GiB: the archive is written with a hole where the
# member's data is, so it takes no disk either.
python3 - <<'PY'
import io, json, tarfile

def write_tar(path, members):
    """Members are (name, bytes) or (name, size): the latter is a hole of that size."""
    with open(path, "wb") as out:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.mode, info.mtime = 0o644, 1700000000
            info.size = data if isinstance(data, int) else len(data)
            out.write(info.tobuf(tarfile.PAX_FORMAT))
            if isinstance(data, int):
                out.seek(-(-data // 512) * 512, io.SEEK_CUR)
            else:
                out.write(data + b"\0" * (-len(data) % 512))
        out.write(b"\0" * 1024)

manifest = [{"Config": "config.json", "RepoTags": ["example.org/big:1"], "Layers": ["layer.tar"]}]
write_tar("big-config-docker.tar", [
    ("manifest.json", json.dumps(manifest).encode()),
    ("config.json", 1 << 30),
    ("layer.tar", b"\0" * 1024),
])
PY
measured docker-config build docker-archive:big-config-docker.tar docker-config.sif
refused docker-config "config.json" "$giant bytes"

for sif in big-config big-manifest big-index docker-config; do
  [ ! -e "$sif.sif" ] || fail "$sif.sif was written"
done
echo "local sources: sizes checked before reading"
