#!/usr/bin/env python3
"""Compares two unpacked root file systems entry by entry: type, mode, owner, size, content
digest, symlink target, device numbers, xattrs and hardlink grouping (mtimes of regular files
and symlinks too). Paths given with --ignore (prefixes, relative to the root) are skipped in
both trees. Exits 1 listing the differences.

--extra-ok PATH: PATH may exist in ACTUAL only (a directory Apptainer creates when the image
lacks it); when both trees have it, it is compared like any other entry.

Usage: compare-trees.py EXPECTED ACTUAL [--ignore PATH]... [--extra-ok PATH]... [--no-mtime]"""
import hashlib
import os
import stat
import sys


def describe(root, ignore, with_mtime):
    entries = {}
    inode_groups = {}
    for directory, dirs, files in os.walk(root):
        for name in sorted(dirs + files):
            full = os.path.join(directory, name)
            rel = os.path.relpath(full, root)
            if any(rel == p or rel.startswith(p.rstrip("/") + "/") for p in ignore):
                continue
            st = os.lstat(full)
            info = {"mode": oct(st.st_mode), "uid": st.st_uid, "gid": st.st_gid}
            if stat.S_ISREG(st.st_mode):
                h = hashlib.sha256()
                with open(full, "rb") as f:
                    for chunk in iter(lambda: f.read(1 << 20), b""):
                        h.update(chunk)
                info["sha256"] = h.hexdigest()
                info["size"] = st.st_size
                if st.st_nlink > 1:
                    inode_groups.setdefault((st.st_dev, st.st_ino), []).append(rel)
            elif stat.S_ISLNK(st.st_mode):
                info["target"] = os.readlink(full)
            elif stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
                info["rdev"] = (os.major(st.st_rdev), os.minor(st.st_rdev))
            if with_mtime and not stat.S_ISDIR(st.st_mode):
                info["mtime"] = int(st.st_mtime)
            try:
                names = sorted(os.listxattr(full, follow_symlinks=False))
                info["xattrs"] = {n: os.getxattr(full, n, follow_symlinks=False).hex() for n in names}
            except OSError:
                info["xattrs"] = "unsupported"
            entries[rel] = info
    for group in inode_groups.values():
        for rel in group:
            entries[rel]["links"] = sorted(group)
    return entries


def main():
    args = sys.argv[1:]
    ignore, extra_ok, with_mtime, positional = [], set(), True, []
    while args:
        a = args.pop(0)
        if a == "--ignore":
            ignore.append(args.pop(0))
        elif a == "--extra-ok":
            extra_ok.add(args.pop(0))
        elif a == "--no-mtime":
            with_mtime = False
        else:
            positional.append(a)
    expected, actual = (describe(p, ignore, with_mtime) for p in positional)
    problems = []
    for rel in sorted(set(expected) | set(actual)):
        if rel not in actual:
            problems.append(f"missing: {rel} {expected[rel]}")
        elif rel not in expected:
            if rel in extra_ok:
                continue
            problems.append(f"unexpected: {rel} {actual[rel]}")
        elif expected[rel] != actual[rel]:
            diff = {k: (expected[rel].get(k), actual[rel].get(k)) for k in set(expected[rel]) | set(actual[rel])
                    if expected[rel].get(k) != actual[rel].get(k)}
            problems.append(f"differs: {rel} {diff}")
    if problems:
        print("\n".join(problems[:200]))
        print(f"{len(problems)} differences")
        sys.exit(1)
    print(f"trees equal: {len(expected)} entries")


if __name__ == "__main__":
    main()
