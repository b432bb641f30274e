#!/usr/bin/env python3
"""Writes the layer tarballs of the `layered` test image into OUTDIR (layer1.tar, layer2.tar,
layer3.tar): every whiteout, opaque-directory, hardlink and special-file case a converter must
get right, with numeric owners, devices, xattrs and odd names that need no root to create.

Usage: layers.py OUTDIR SHELL_ELF   (SHELL_ELF: an ELF binary to ship as /bin/sh)"""
import io
import os
import sys
import tarfile

T0 = 1700000000


def add(tar, name, kind=tarfile.REGTYPE, data=b"", mode=0o644, uid=0, gid=0, link="", major=0, minor=0, xattrs=None, mtime=T0):
    info = tarfile.TarInfo(name)
    info.type = kind
    info.mode = mode
    info.uid, info.gid = uid, gid
    info.mtime = mtime
    info.linkname = link
    info.devmajor, info.devminor = major, minor
    if xattrs:
        info.pax_headers = {"SCHILY.xattr." + k: v for k, v in xattrs.items()}
    if kind == tarfile.REGTYPE:
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    else:
        tar.addfile(info)


def directory(tar, name, mode=0o755, uid=0, gid=0, mtime=T0):
    add(tar, name, tarfile.DIRTYPE, mode=mode, uid=uid, gid=gid, mtime=mtime)


def layer(path, build):
    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT, encoding="utf-8", errors="surrogateescape") as tar:
        build(tar)


def layer1(tar, shell):
    for d in ["bin", "etc", "usr", "usr/bin", "data", "opq", "opq/sub", "gone", "swap", "dev", "home", "srv"]:
        directory(tar, d)
    add(tar, "bin/sh", data=shell, mode=0o755)
    add(tar, "etc/passwd", data=b"root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000::/home/user:/bin/sh\n")
    add(tar, "etc/os-release", data=b"ID=sifter-test\n")
    add(tar, "data/original", data=b"first content\n", uid=1000, gid=1000, mode=0o640)
    add(tar, "data/link-same-layer", tarfile.LNKTYPE, link="data/original", uid=1000, gid=1000, mode=0o640)
    add(tar, "data/keeps-old", data=b"old content, kept by a hardlink\n")
    add(tar, "data/deleted-later", data=b"whiteout removes me\n")
    add(tar, "data/symlink", tarfile.SYMTYPE, link="../etc/passwd", mode=0o777)
    add(tar, "data/abs-symlink", tarfile.SYMTYPE, link="/etc/os-release", mode=0o777)
    add(tar, "opq/lower-file", data=b"hidden by an opaque whiteout\n")
    add(tar, "opq/sub/lower-nested", data=b"hidden too\n")
    add(tar, "gone/inside", data=b"the whole directory is whited out\n")
    add(tar, "swap/was-file", data=b"becomes a directory\n")
    directory(tar, "swap/was-dir")
    add(tar, "swap/was-dir/child", data=b"parent becomes a file\n")
    add(tar, "dev/null", tarfile.CHRTYPE, mode=0o666, major=1, minor=3)
    add(tar, "dev/loop0", tarfile.BLKTYPE, mode=0o660, gid=6, major=7, minor=0)
    add(tar, "srv/fifo", tarfile.FIFOTYPE, mode=0o600)
    add(tar, "usr/bin/setuid-tool", data=b"#!/bin/sh\n", mode=0o4755)
    add(tar, "usr/bin/setgid-tool", data=b"#!/bin/sh\n", mode=0o2755, gid=50)
    directory(tar, "srv/sticky", mode=0o1777)
    add(tar, "usr/bin/ping", data=b"\x7fELFnot-really\n", mode=0o755,
        xattrs={"security.capability": "\x01\x00\x00\x02\x00\x20\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00",
                "user.comment": "xattr value"})
    add(tar, "srv/" + "long-name-" * 15 + "end", data=b"a PAX long name\n")
    add(tar, "srv/unicode-\u00e9\u4e2d\u6587", data=b"unicode name\n")
    add(tar, "srv/latin1-\udce9", data=b"non-UTF-8 name\n")
    add(tar, "srv/empty", data=b"")
    directory(tar, "home/user", mode=0o700, uid=1000, gid=1000)


def layer2(tar):
    add(tar, "data/.wh.deleted-later")
    add(tar, "data/new-link-to-lower", tarfile.LNKTYPE, link="data/keeps-old")
    add(tar, "opq/upper-before-opaque", data=b"same layer, survives\n")
    add(tar, "opq/.wh..wh..opq")
    add(tar, "opq/upper-after-opaque", data=b"same layer, survives\n")
    add(tar, ".wh.gone")
    add(tar, "swap/.wh.was-file")
    directory(tar, "swap/was-file", mode=0o750)
    add(tar, "swap/was-file/now-inside", data=b"file became a directory\n")
    add(tar, "swap/.wh.was-dir")
    add(tar, "swap/was-dir", data=b"directory became a file\n")
    directory(tar, "etc", mode=0o751)


def layer3(tar):
    # Replace the hardlink target: the link made in layer 2 keeps the old content.
    add(tar, "data/keeps-old", data=b"new content at the old path\n")
    add(tar, "etc/os-release", data=b"ID=sifter-test\nVERSION=3\n")
    directory(tar, "empty-dir")


def main():
    out, shell_path = sys.argv[1], sys.argv[2]
    shell = open(shell_path, "rb").read()
    os.makedirs(out, exist_ok=True)
    layer(os.path.join(out, "layer1.tar"), lambda t: layer1(t, shell))
    layer(os.path.join(out, "layer2.tar"), layer2)
    layer(os.path.join(out, "layer3.tar"), layer3)
    layer(os.path.join(out, "layer4-empty.tar"), lambda t: None)


if __name__ == "__main__":
    main()
