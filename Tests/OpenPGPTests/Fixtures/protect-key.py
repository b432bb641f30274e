#!/usr/bin/env python3
"""Re-protects the primary secret key of an unprotected armored OpenPGP key with a chosen
S2K (simple 0, salted 1, iterated 3), hash, AES key size and S2K usage (254: SHA-1 check,
255: 16-bit sum), using python3-cryptography's AES-CFB and hashlib: an implementation
independent of sifter's. How the ed25519-s2k-*.asc fixtures were made (not run by tests):
  protect-key.py ed25519-secret.asc OUT.asc USAGE S2K HASH AESBITS [COUNTBYTE]"""
import base64, hashlib, os, sys
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

PASS = b"sifter test passphrase"
HASHES = {"sha1": (2, hashlib.sha1), "sha256": (8, hashlib.sha256), "sha512": (10, hashlib.sha512)}
CIPHERS = {128: 7, 192: 8, 256: 9}

def crc24(data):
    crc = 0xB704CE
    for b in data:
        crc ^= b << 16
        for _ in range(8):
            crc <<= 1
            if crc & 0x1000000: crc ^= 0x1864CFB
    return crc & 0xFFFFFF

def dearmor(text):
    lines = text.strip().splitlines()
    body = lines[lines.index("") + 1:]
    return base64.b64decode("".join(l for l in body if not l.startswith("=") and not l.startswith("-----")))

def armor(data):
    b64 = base64.b64encode(data).decode()
    out = "-----BEGIN PGP PRIVATE KEY BLOCK-----\n\n" + "\n".join(b64[i:i + 64] for i in range(0, len(b64), 64))
    return out + "\n=" + base64.b64encode(crc24(data).to_bytes(3, "big")).decode() + "\n-----END PGP PRIVATE KEY BLOCK-----\n"

def packets(data):
    i = 0
    while i < len(data):
        ctb = data[i]; i += 1
        if ctb & 0x40:
            tag = ctb & 0x3F; first = data[i]; i += 1
            if first < 192: n = first
            elif first < 224: n = ((first - 192) << 8) + data[i] + 192; i += 1
            else: n = int.from_bytes(data[i:i + 4], "big"); i += 4
        else:
            tag = (ctb >> 2) & 15; lt = ctb & 3; w = [1, 2, 4][lt]
            n = int.from_bytes(data[i:i + w], "big"); i += w
        yield tag, data[i:i + n]; i += n

def header(tag, n):
    if n < 192: return bytes([0xC0 | tag, n])
    if n < 8384: n -= 192; return bytes([0xC0 | tag, 192 + (n >> 8), n & 0xFF])
    return bytes([0xC0 | tag, 255]) + n.to_bytes(4, "big")

def s2k_key(kind, hname, salt, count, length):
    algo = HASHES[hname][1]
    data = (salt if kind else b"") + PASS
    total = max(count, len(data)) if kind == 3 else len(data)
    out, i = b"", 0
    while len(out) < length:
        h = algo(b"\0" * i)
        stream = (data * (total // len(data) + 1))[:total]
        h.update(stream); out += h.digest(); i += 1
    return out[:length]

def main():
    src, dst, usage, kind, hname, bits = sys.argv[1:7]
    usage, kind, bits = int(usage), int(kind), int(bits)
    countbyte = int(sys.argv[7]) if len(sys.argv) > 7 else 0x60
    count = (16 + (countbyte & 15)) << ((countbyte >> 4) + 6)
    out = b""
    for tag, body in packets(dearmor(open(src).read())):
        if tag == 5:
            oidlen = body[6]; p = 7 + oidlen
            bitslen = int.from_bytes(body[p:p + 2], "big"); p += 2 + (bitslen + 7) // 8
            public, rest = body[:p], body[p:]
            assert rest[0] == 0, "source key must be unprotected"
            secret = rest[1:-2]
            check = hashlib.sha1(secret).digest() if usage == 254 else (sum(secret) & 0xFFFF).to_bytes(2, "big")
            salt = os.urandom(8)
            spec = bytes([kind, HASHES[hname][0]]) + (salt if kind in (1, 3) else b"") + (bytes([countbyte]) if kind == 3 else b"")
            key = s2k_key(kind, hname, salt, count, bits // 8)
            iv = os.urandom(16)
            enc = Cipher(algorithms.AES(key), modes.CFB(iv)).encryptor()
            body = public + bytes([usage, CIPHERS[bits]]) + spec + iv + enc.update(secret + check) + enc.finalize()
        out += header(tag, len(body)) + body
    open(dst, "w").write(armor(out))

main()
