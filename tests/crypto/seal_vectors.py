#!/usr/bin/env python3
"""seal_vectors.py DOC: recompute the test vectors of docs/sealing.md from the text alone,
with Python's `cryptography` (X25519, HKDF, ChaCha20-Poly1305) and a hand-written HChaCha20
for XChaCha20, so the spec, the vectors and the C code are checked against each other."""
import base64
import hashlib
import re
import struct
import sys

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat


def rotl(v, n):
    return ((v << n) & 0xFFFFFFFF) | (v >> (32 - n))


def hchacha20(key, nonce16):
    """HChaCha20 (draft-irtf-cfrg-xchacha): the subkey XChaCha20 uses."""
    s = list(struct.unpack("<4I", b"expand 32-byte k")) + list(struct.unpack("<8I", key)) + \
        list(struct.unpack("<4I", nonce16))

    def qr(a, b, c, d):
        s[a] = (s[a] + s[b]) & 0xFFFFFFFF; s[d] = rotl(s[d] ^ s[a], 16)
        s[c] = (s[c] + s[d]) & 0xFFFFFFFF; s[b] = rotl(s[b] ^ s[c], 12)
        s[a] = (s[a] + s[b]) & 0xFFFFFFFF; s[d] = rotl(s[d] ^ s[a], 8)
        s[c] = (s[c] + s[d]) & 0xFFFFFFFF; s[b] = rotl(s[b] ^ s[c], 7)

    for _ in range(10):
        qr(0, 4, 8, 12); qr(1, 5, 9, 13); qr(2, 6, 10, 14); qr(3, 7, 11, 15)
        qr(0, 5, 10, 15); qr(1, 6, 11, 12); qr(2, 7, 8, 13); qr(3, 4, 9, 14)
    return struct.pack("<8I", *(s[0:4] + s[12:16]))


def xchacha_seal(key, nonce24, plain, ad):
    sub = hchacha20(key, nonce24[:16])
    return ChaCha20Poly1305(sub).encrypt(b"\0\0\0\0" + nonce24[16:], plain, ad)


def hint(what, value):
    return hashlib.sha256(b"sealgate-sg1-" + what.encode() + b"\0" + value.encode()).digest()[:2]


def field(s):
    b = s.encode()
    return struct.pack(">I", len(b)) + b


def seal(sk, esk, nonce, scope, ns, name, item, plain):
    pk = X25519PrivateKey.from_private_bytes(sk).public_key().public_bytes(Encoding.Raw,
                                                                           PublicFormat.Raw)
    e = X25519PrivateKey.from_private_bytes(esk)
    epk = e.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    shared = e.exchange(X25519PublicKey.from_public_bytes(pk))
    key = HKDF(hashes.SHA256(), 32, epk + pk, b"sealgate sg1 xchacha20poly1305").derive(shared)
    tag = {"strict": 1, "namespace": 2, "cluster": 3}[scope]
    hints = (hint("namespace", ns) if tag in (1, 2) else b"\0\0") + \
        (hint("name", name) + hint("item", item) if tag == 1 else b"\0\0\0\0")
    kid = hashlib.sha256(pk).digest()[:8]
    hdr = bytes([tag]) + kid + hints + epk + nonce
    assert len(hdr) == 71
    ad = b"sg1:" + hdr + (field(ns) if tag in (1, 2) else b"") + \
        (field(name) + field(item) if tag == 1 else b"")
    body = hdr + xchacha_seal(key, nonce, plain, ad)
    return pk, kid, epk, "sg1:" + base64.urlsafe_b64encode(body).decode().rstrip("=")


def main():
    text = open(sys.argv[1]).read()
    block = re.search(r"```text\n(recipient-sk:.*?)```", text, re.S).group(1)
    common, *cases = block.strip().split("\n\n")
    kv = lambda chunk: dict((l.split(":", 1)[0], l.split(":", 1)[1].strip())
                            for l in chunk.splitlines())
    c = kv(common)
    sk, esk, nonce = (bytes.fromhex(c[k]) for k in ("recipient-sk", "ephemeral-sk", "nonce"))
    failures = 0
    for chunk in cases:
        v = kv(chunk)
        pk, kid, epk, sealed = seal(sk, esk, nonce, v["scope"], v["namespace"], v["name"],
                                    v["item"], bytes.fromhex(v["plaintext"]))
        for what, got, want in (("recipient-pk", pk.hex(), c["recipient-pk"]),
                                ("key-id", kid.hex(), c["key-id"]),
                                ("ephemeral-pk", epk.hex(), c["ephemeral-pk"]),
                                ("sealed " + v["scope"], sealed, v["sealed"])):
            if got != want:
                print(f"FAIL {what}: computed {got}, doc says {want}")
                failures += 1
    print(f"{len(cases)} vectors, {failures} failures")
    return 1 if failures or not cases else 0


if __name__ == "__main__":
    sys.exit(main())
