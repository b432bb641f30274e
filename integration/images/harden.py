#!/usr/bin/env python3
"""Writes layer tarballs that squashfs cannot hold as they are, or that tar readers disagree
on, into OUTDIR (one NAME.tar per case; see CASES). Python stdlib only, deterministic.

Usage: harden.py OUTDIR [NAME...]   (default: every case)"""
import io
import os
import sys
import tarfile

T0 = 1700000000
LONG = "a" * 256  # one byte over NAME_MAX


def info(name, kind=tarfile.REGTYPE, **fields):
    member = tarfile.TarInfo(name)
    member.type = kind
    member.mode = 0o777 if kind == tarfile.SYMTYPE else 0o644
    member.mtime = T0
    for key, value in fields.items():
        setattr(member, key, value)
    return member


def tar_bytes(members, fmt=tarfile.PAX_FORMAT):
    """members: (TarInfo, data or None) pairs."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as tar:
        for member, data in members:
            if data is not None:
                member.size = len(data)
                tar.addfile(member, io.BytesIO(data))
            else:
                tar.addfile(member)
    return buf.getvalue()


def file(name, data, **fields):
    return (info(name, **fields), data)


def sparse(name, realsize, regions, mtime=T0):
    """A GNU sparse 1.0 pax member (the form GNU tar --format=posix writes): the map, then the
    data regions back to back. regions: (offset, bytes) pairs, in order; offsets need not be
    block-aligned."""
    table = "%d\n" % len(regions) + "".join("%d\n%d\n" % (off, len(data)) for off, data in regions)
    body = table.encode() + b"\0" * (-len(table) % 512) + b"".join(data for _, data in regions)
    member = info(os.path.join(os.path.dirname(name), "GNUSparseFile.0", os.path.basename(name)), mtime=mtime)
    member.pax_headers = {"GNU.sparse.major": "1", "GNU.sparse.minor": "0", "GNU.sparse.name": name,
                          "GNU.sparse.realsize": str(realsize)}
    return (member, body)


def with_bad_checksum(raw, member_index):
    """Corrupts the checksum of the header of the member_index-th header block."""
    out = bytearray(raw)
    offset, seen = 0, -1
    while offset < len(out):
        size = int(out[offset + 124:offset + 136].split(b"\0")[0].strip() or b"0", 8)
        seen += 1
        if seen == member_index:
            out[offset + 148:offset + 156] = b"0000000\0"
            return bytes(out)
        offset += 512 + (size + 511) // 512 * 512
    raise ValueError("no such header")


def damaged_junk():
    # Bytes that are no tar header between two members: libarchive resyncs past them.
    first = tar_bytes([file("first", b"1\n")])[:1024]
    second = tar_bytes([file("hidden-behind-junk", b"2\n")])
    return first + b"junk" * 128 + second


def damaged_checksum():
    # The second member's header has a bad checksum: libarchive skips it and its data.
    raw = tar_bytes([file("first", b"1\n"), file("bad-checksum", b"2\n"), file("third", b"3\n")])
    return with_bad_checksum(raw, 1)


def pax_nul_path():
    member = info("innocent")
    member.pax_headers = {"path": "etc/cut-here\0.hidden"}
    return tar_bytes([(member, b"nul\n")])


def pax_nul_linkpath():
    member = info("link", tarfile.SYMTYPE, linkname="x")
    member.pax_headers = {"linkpath": "target\0.hidden"}
    return tar_bytes([(member, None)])


def pax_malformed():
    # A pax record whose length overruns its header: libarchive ignores the rest of the pax
    # header (with a warning) and reads the member under its ustar name.
    member = info("ustar-name")
    member.pax_headers = {"path": "pax-name"}
    raw = tar_bytes([(member, b"which name?\n")])
    assert raw.count(b"17 path=pax-name\n") == 1
    return raw.replace(b"17 path=pax-name\n", b"99 path=pax-name\n")


# The sparse file of the `sparse` case: holes and data at offsets that are not block-aligned,
# a hole at each end. harden-layers-sparse.sh recomputes its content from this table.
SPARSE_SIZE = 3 * 1024 * 1024 + 777
SPARSE_REGIONS = [(1000, b"first region\n" * 100), (70000, b"\x01\x02\x03" * 5000), (2 * 1024 * 1024 + 3, b"z" * 4099)]
HUGE_SIZE = 1 << 40


CASES = {
    # Refused: a name component over 255 bytes, two of them sharing their first 256 bytes.
    "names-long": lambda: tar_bytes([
        (info("d", tarfile.DIRTYPE, mode=0o755), None),
        file("d/" + LONG + "X", b"one\n"), file("d/" + LONG + "Y", b"two\n")]),
    # Refused: the same through a GNU long-name ('L') member.
    "names-gnu-longname": lambda: tar_bytes([file("g/" + "b" * 300, b"gnu\n")], tarfile.GNU_FORMAT),
    # Refused: a hard link whose target (a GNU long-link 'K' member) has a 256-byte component.
    "names-gnu-longlink": lambda: tar_bytes([
        file("t", b"target\n"), (info("h", tarfile.LNKTYPE, linkname="x/" + LONG), None)], tarfile.GNU_FORMAT),
    # Refused: a symlink target of 4096 bytes (PATH_MAX).
    "names-symlink": lambda: tar_bytes([(info("s", tarfile.SYMTYPE, linkname="x/" * 2048), None)]),
    # Accepted: a 255-byte name, a 4095-byte symlink target with a 300-byte component.
    "names-ok": lambda: tar_bytes([
        file("n" * 255, b"max\n"), (info("s", tarfile.SYMTYPE, linkname="x/" * 1896 + "c" * 300 + "/y"), None)]),
    "damaged-junk": damaged_junk,
    "damaged-checksum": damaged_checksum,
    "pax-nul-path": pax_nul_path,
    "pax-nul-linkpath": pax_nul_linkpath,
    "pax-malformed": pax_malformed,
    # Refused: ids squashfs cannot hold (32 bits), device numbers it cannot (12:20 bits).
    "ids-uid": lambda: tar_bytes([file("big-uid", b"u\n", uid=1 << 32)]),
    "ids-gid": lambda: tar_bytes([file("big-gid", b"g\n", gid=1 << 32)]),
    "dev-major": lambda: tar_bytes([(info("dev/big-major", tarfile.CHRTYPE, devmajor=4096, devminor=0), None)]),
    "dev-minor": lambda: tar_bytes([(info("dev/big-minor", tarfile.BLKTYPE, devmajor=1, devminor=1 << 20), None)]),
    # Accepted: the largest of each.
    "ids-ok": lambda: tar_bytes([
        file("max-ids", b"m\n", uid=(1 << 32) - 1, gid=(1 << 32) - 1),
        (info("dev/max", tarfile.CHRTYPE, devmajor=4095, devminor=(1 << 20) - 1), None)]),
    # Times squashfs cannot hold are clamped to 0 .. 2^32-1; those it can are kept.
    "mtimes": lambda: tar_bytes([
        file("t-negative", b"n\n", mtime=-1), file("t-very-negative", b"v\n", mtime=-(1 << 40)),
        file("t-2038", b"a\n", mtime=1 << 31), file("t-max", b"m\n", mtime=(1 << 32) - 1),
        file("t-over", b"o\n", mtime=1 << 32), file("t-far", b"f\n", mtime=1 << 40)]),
    "sparse": lambda: tar_bytes([
        sparse("data/sparse", SPARSE_SIZE, SPARSE_REGIONS), file("data/after", b"after the sparse file\n")]),
    "sparse-huge": lambda: tar_bytes([
        sparse("huge", HUGE_SIZE, [(0, b"head\n"), (HUGE_SIZE // 2 + 3, b"middle\n"), (HUGE_SIZE - 5, b"tail\n")])]),
}


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    for name in sys.argv[2:] or CASES:
        with open(os.path.join(out, name + ".tar"), "wb") as f:
            f.write(CASES[name]())


if __name__ == "__main__":
    main()
