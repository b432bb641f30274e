#!/usr/bin/env python3
"""Writes hostile layer tarballs into OUTDIR: each tries to escape the root file system.

Usage: hostile.py OUTDIR"""
import io
import os
import sys
import tarfile


def add(tar, name, kind=tarfile.REGTYPE, data=b"", link=""):
    info = tarfile.TarInfo(name)
    info.type = kind
    info.mode = 0o777 if kind == tarfile.SYMTYPE else 0o644
    info.mtime = 1700000000
    info.linkname = link
    info.size = len(data) if kind == tarfile.REGTYPE else 0
    tar.addfile(info, io.BytesIO(data) if kind == tarfile.REGTYPE else None)


def write(path, entries):
    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as tar:
        for entry in entries:
            add(tar, *entry)


out = sys.argv[1]
os.makedirs(out, exist_ok=True)
# Neutralised as umoci does: paths are resolved inside the root.
write(os.path.join(out, "escape.tar"), [
    ("../../../tmp/sifter-escape-dotdot", tarfile.REGTYPE, b"dotdot\n"),
    ("/tmp/sifter-escape-absolute", tarfile.REGTYPE, b"absolute\n"),
    ("evil-link", tarfile.SYMTYPE, b"", "/tmp"),
    ("evil-link/sifter-escape-through-symlink", tarfile.REGTYPE, b"through a symlink\n"),
    ("rel-link", tarfile.SYMTYPE, b"", "../../../../tmp"),
    ("rel-link/sifter-escape-relative", tarfile.REGTYPE, b"through a relative symlink\n"),
    ("../.wh.etc", tarfile.REGTYPE, b""),
])
# Rejected: a hard link to a file that is not in the tree.
write(os.path.join(out, "badlink.tar"), [
    ("hard", tarfile.LNKTYPE, b"", "../../etc/shadow"),
])
