# The tree sifter builds where Apptainer's own build does something particular, on an image made
# for it (umoci, one layer written with Python's tarfile, config patched for a HEALTHCHECK):
# - /etc/hosts and /etc/resolv.conf symlinks are kept and their targets inside the root emptied
#   (base_environment.go makeFile through os.Root), a dangling absolute one included;
# - an image's /.singularity.d/Singularity moves to bootstrap_history/Apptainer1 next to the
#   Apptainer0 already there (metadata.go insertDefinition);
# - /.singularity.d/env/94-appsbase.sh is there, empty, 0755 (apps/apps.go createAllApps);
# - the actions run with a shell and nothing else (dash and its libc: no ls, no sort);
# - %help becomes runscript.help, %environment is appended to 90-environment.sh, there is no
#   %startscript and no %test, and the embedded file has no build variable (args/reader.go
#   NewReader, re-implemented below) although the metadata is full of {{ }}.
source "$(dirname "$0")/../lib.sh"
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$CASE_WORK"
mkdir rootfs-files
python3 - <<'PY'
import io, os, tarfile
def add(tar, name, kind="file", data=b"", mode=0o644, target=None):
    info = tarfile.TarInfo(name)
    info.mtime = 1704164645
    if kind == "dir":
        info.type, info.mode = tarfile.DIRTYPE, 0o755
        tar.addfile(info)
    elif kind == "link":
        info.type, info.linkname, info.mode = tarfile.SYMTYPE, target, 0o777
        tar.addfile(info)
    else:
        info.size, info.mode = len(data), mode
        tar.addfile(info, io.BytesIO(data))
with tarfile.open("layer.tar", "w", format=tarfile.PAX_FORMAT) as tar:
    for d in ["bin", "lib", "lib/x86_64-linux-gnu", "lib64", "etc", "run", ".singularity.d", ".singularity.d/bootstrap_history"]:
        add(tar, d, "dir")
    for path in ["/bin/dash", "/lib/x86_64-linux-gnu/libc.so.6", "/lib64/ld-linux-x86-64.so.2"]:
        add(tar, path.lstrip("/"), data=open(os.path.realpath(path), "rb").read(), mode=0o755)
    add(tar, "bin/sh", "link", target="dash")
    add(tar, "run/hosts", data=b"127.0.0.1 from the image\n", mode=0o600)
    add(tar, "etc/hosts", "link", target="../run/hosts")
    add(tar, "etc/resolv.conf", "link", target="/run/systemd/resolve/stub-resolv.conf")
    add(tar, ".singularity.d/Singularity", data=b"bootstrap: docker\nfrom: base:2\n")
    add(tar, ".singularity.d/bootstrap_history/Apptainer0", data=b"bootstrap: docker\nfrom: base:1\n")
PY
umoci init --layout layout >/dev/null
umoci new --image layout:t
umoci raw add-layer --image layout:t layer.tar
umoci config --image layout:t --config.cmd /bin/sh --config.cmd -c --config.cmd 'echo "cmd {{ x }} {{.Name}}"' \
  --config.env 'PATH=/bin' --config.env 'GREETING=hi {{x}}' \
  --config.label 'org.opencontainers.image.title=braces {{ title }}' --config.label 'tmpl={{.Name}}' \
  --architecture amd64 --os linux --created 2024-01-02T03:04:05Z
# umoci cannot set a HEALTHCHECK: patch the config, then the manifest and index that name it.
python3 - <<'PY'
import hashlib, json
def blob(digest): return "layout/blobs/sha256/" + digest.split(":")[1]
def put(obj):
    data = json.dumps(obj, separators=(",", ":")).encode()
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    open(blob(digest), "wb").write(data)
    return digest, len(data)
index = json.load(open("layout/index.json"))
entry = index["manifests"][0]
manifest = json.load(open(blob(entry["digest"])))
config = json.load(open(blob(manifest["config"]["digest"])))
config["config"]["Healthcheck"] = {"Test": ["CMD-SHELL", "curl -f http://localhost/{{ path }} || exit 1"]}
manifest["config"]["digest"], manifest["config"]["size"] = put(config)
entry["digest"], entry["size"] = put(manifest)
json.dump(index, open("layout/index.json", "w"))
PY

"$SIFTER" def oci:layout:t >t.def 2>def-warnings.txt
[ ! -s def-warnings.txt ] || fail "warnings: $(cat def-warnings.txt)"
"$SIFTER" build oci:layout:t t.sif >/dev/null
unsquashfs -q -d tree -o "$(partition_offset t.sif)" t.sif >/dev/null

# The definition file: NewReader with no build variables defined must neither fail nor change it.
python3 - <<'PY' || fail "the definition file holds a build variable"
import re
text = open("t.def").read()
variable = re.compile(r"\{\{[\t\n\f\r ]*([0-9A-Za-z_]+)[\t\n\f\r ]*\}\}")
comment = re.compile(r"[\t\n\f\r ]*[#][^!][\t\n\f\r ]*.*")
i = 0
for m in variable.finditer(text):
    start = i
    for k in range(m.start(), i - 1, -1):
        if text[k] == "\n":
            start = k
            break
    if comment.search(text[start:m.start()]):
        continue
    raise SystemExit(f"build var {m.group(1)} is not defined (at {m.start()})")
assert "{{.Name}}" in text, "{{.Name}} was changed"
PY
grep -q '^%test' t.def && fail "a HEALTHCHECK became %test"
grep -q '^%startscript' t.def && fail "%startscript in the file"
grep -qx '    org.sylabs.sifter.healthcheck \["CMD-SHELL","curl -f http://localhost/{\\u007b path }} || exit 1"\]' t.def ||
  fail "no health check label: $(grep healthcheck t.def)"
python3 - <<'PY' || fail "labels.json"
import json
labels = json.load(open("tree/.singularity.d/labels.json"))
assert json.loads(labels["org.sylabs.sifter.healthcheck"]) == ["CMD-SHELL", "curl -f http://localhost/{{ path }} || exit 1"], labels
assert labels["tmpl"] == "{{.Name}}" and labels["org.opencontainers.image.title"] == "braces {{ title }}", labels
assert labels["org.label-schema.usage"] == "/.singularity.d/runscript.help", labels
assert labels["org.label-schema.usage.singularity.deffile.from"] == "layout:t", labels
PY

# /etc/hosts and /etc/resolv.conf: links kept, targets inside the root emptied.
[ "$(readlink tree/etc/hosts)" = ../run/hosts ] || fail "/etc/hosts is no longer the image's symlink"
[ -f tree/run/hosts ] && [ ! -s tree/run/hosts ] || fail "/run/hosts was not emptied"
[ "$(stat -c %a tree/run/hosts)" = 644 ] || fail "/run/hosts mode $(stat -c %a tree/run/hosts)"
[ "$(readlink tree/etc/resolv.conf)" = /run/systemd/resolve/stub-resolv.conf ] || fail "/etc/resolv.conf link"
[ -f tree/run/systemd/resolve/stub-resolv.conf ] && [ ! -s tree/run/systemd/resolve/stub-resolv.conf ] ||
  fail "the dangling resolv.conf target was not created empty inside the root"

# The image's definition files are kept in bootstrap_history.
[ "$(cat tree/.singularity.d/bootstrap_history/Apptainer0)" = "$(printf 'bootstrap: docker\nfrom: base:1')" ] || fail "Apptainer0"
[ "$(cat tree/.singularity.d/bootstrap_history/Apptainer1)" = "$(printf 'bootstrap: docker\nfrom: base:2')" ] || fail "Apptainer1"
cmp tree/.singularity.d/Singularity t.def || fail "/.singularity.d/Singularity is not the definition file"

# 94-appsbase.sh, runscript.help, 90-environment.sh and the start script.
[ -f tree/.singularity.d/env/94-appsbase.sh ] && [ ! -s tree/.singularity.d/env/94-appsbase.sh ] || fail "94-appsbase.sh"
[ "$(stat -c %a tree/.singularity.d/env/94-appsbase.sh)" = 755 ] || fail "94-appsbase.sh mode"
help=$(awk '/^%help/{on=1; next} /^%/{on=0} on' t.def)
[ "$(cat tree/.singularity.d/runscript.help)" = "$help" ] || fail "runscript.help is not %help"
grep -q 'Health check: \["CMD-SHELL"' tree/.singularity.d/runscript.help || fail "the health check is not in %help"
environment=$(awk '/^%environment/{on=1; next} /^%/{on=0} on' t.def)
grep -qF "$environment" tree/.singularity.d/env/90-environment.sh || fail "%environment not in 90-environment.sh"
cmp tree/.singularity.d/startscript "$root/defs/runtime/startscript" || fail "startscript is not the stub"

# The actions in a tree with nothing but dash: no "not found", and the image's Env is sourced.
for tool in ls sort; do [ ! -e "tree/bin/$tool" ] || fail "the test image has $tool"; done
chroot_bin=$(command -v chroot)
out=$(env -i "$chroot_bin" tree /bin/sh /.singularity.d/actions/exec /bin/sh -c 'echo "[$GREETING] [$PATH]"' 2>err.txt)
[ ! -s err.txt ] || fail "exec action: $(cat err.txt)"
[ "$out" = "[hi {{x}}] [/bin]" ] || fail "exec action printed $out"
out=$(env -i "$chroot_bin" tree /bin/sh /.singularity.d/actions/run 2>err.txt)
[ ! -s err.txt ] || fail "run action: $(cat err.txt)"
[ "$out" = "cmd {{ x }} {{.Name}}" ] || fail "run action printed $out"
env -i "$chroot_bin" tree /bin/sh /.singularity.d/actions/shell -c 'echo "$GREETING"' >out.txt 2>err.txt
[ ! -s err.txt ] && [ "$(cat out.txt)" = "hi {{x}}" ] || fail "shell action: $(cat out.txt err.txt)"
env -i "$chroot_bin" tree /bin/sh /.singularity.d/actions/test >out.txt 2>err.txt
[ ! -s err.txt ] || fail "test action: $(cat err.txt)"
# start signals PID 1: run it as PID 1 of its own namespace.
env -i "$(command -v unshare)" --pid --fork "$chroot_bin" tree /bin/sh /.singularity.d/actions/start 2>err.txt ||
  fail "start action failed"
[ ! -s err.txt ] || fail "start action: $(cat err.txt)"
echo "Apptainer's tree: hosts links, bootstrap history, 94-appsbase.sh, runscript.help, dash-only actions, no build variables"
