#!/usr/bin/env python3
"""Writes two layer tars for the `links` benchmark image on top of an existing image: the
first holds a hard link under /opt/links for every file of the lower layers below /usr/lib and /usr/bin
(targets only in lower layers, some of them hard links themselves there),
the second a small config file and a whiteout of one of those links.

Usage: hardlink-layers.py OUTDIR LOWER_LAYER_BLOB...  (gzip or plain tar blobs, lowest first)"""
import os
import sys
import tarfile

out, blobs = sys.argv[1], sys.argv[2:]
files = {}
for blob in blobs:
    with tarfile.open(blob, "r:*") as tar:
        for member in tar:
            name = member.name.lstrip("./")
            base = os.path.basename(name)
            if base.startswith(".wh."):
                files.pop(os.path.join(os.path.dirname(name), base[4:]), None)
            elif (member.isreg() or member.islnk()) and name.startswith(("usr/lib/", "usr/bin/")):
                files[name] = member
            else:
                files.pop(name, None)

os.makedirs(out, exist_ok=True)
made_dirs = set()
with tarfile.open(os.path.join(out, "links.tar"), "w", format=tarfile.PAX_FORMAT) as tar:
    for name in sorted(files):
        link = "opt/links/" + name
        parent = os.path.dirname(link)
        missing = []
        while parent and parent not in made_dirs:
            missing.append(parent)
            parent = os.path.dirname(parent)
        for directory in reversed(missing):
            info = tarfile.TarInfo(directory)
            info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o755, 1717200000
            tar.addfile(info)
            made_dirs.add(directory)
        info = tarfile.TarInfo(link)
        info.type, info.linkname = tarfile.LNKTYPE, name
        info.mode, info.mtime = files[name].mode, files[name].mtime
        info.uid, info.gid = files[name].uid, files[name].gid
        tar.addfile(info)
with tarfile.open(os.path.join(out, "config.tar"), "w", format=tarfile.PAX_FORMAT) as tar:
    data = b"links=1\n"
    info = tarfile.TarInfo("etc/links.conf")
    info.size, info.mode, info.mtime = len(data), 0o644, 1717200000
    import io
    tar.addfile(info, io.BytesIO(data))
    first = "opt/links/" + sorted(files)[0]
    info = tarfile.TarInfo(os.path.join(os.path.dirname(first), ".wh." + os.path.basename(first)))
    info.mtime = 1717200000
    tar.addfile(info, io.BytesIO(b""))
print(f"{len(files)} hard links", file=sys.stderr)
