# The pull-based container.scan as it was before the Scanner (issue 11 item 1),
# kept as the oracle: tests/test_container_scanner.py (CPython, hypothesis)
# and tests/mpy/mpy_scanner.py (MicroPython) check that the Scanner, fed in
# any pieces, frames every library, good or broken, exactly as this did:
# the same Container or the same error, worded the same.
import hashlib

from firmware.errors import DigestError, LibraryFormatError
from firmware.library.container import (HEADER_LEN, MAX_SIGS, SIG_ENTRY_LEN, Container, parse_header,
                                        parse_sigblock)


def scan(read, chunk=512, body_sink=None):
    raw = read(HEADER_LEN)
    header = parse_header(raw)
    body_hash = hashlib.sha256()
    signed_hash = hashlib.sha256(raw)
    left = header.body_len
    while left:
        part = read(min(chunk, left))
        if not part:
            raise LibraryFormatError("library truncated inside its body")
        body_hash.update(part)
        signed_hash.update(part)
        if body_sink is not None:
            body_sink(part)
        left -= len(part)
    count = read(1)
    if not count:
        raise LibraryFormatError("signature block missing")
    rest = b""
    need = count[0] * SIG_ENTRY_LEN if count[0] <= MAX_SIGS else 0
    if need:
        rest = read(need)
    if read(1):
        raise LibraryFormatError("bytes after the signature block")
    sigs = parse_sigblock(count + rest)
    if body_hash.digest() != header.body_sha256:
        raise DigestError("library body does not match its SHA-256 digest")
    return Container(header, None, sigs, signed_hash.digest())


def outcome(c):
    """A comparable summary of a scan's result or error."""
    if isinstance(c, Exception):
        return ("error", type(c).__name__, c.message)
    return ("ok", c.header.raw, [(s.alg, s.role, s.key_id, s.signature) for s in c.signatures],
            c.signed_sha256)


def by_oracle(blob):
    pos = [0]

    def read(n):
        b = blob[pos[0]:pos[0] + n]
        pos[0] += len(b)
        return b

    try:
        return outcome(scan(read, 64))
    except LibraryFormatError as e:
        return outcome(e)


def by_scanner(blob, cuts):
    """Fed in pieces split at `cuts` (sorted offsets); also checks n and file_sha256."""
    from firmware.library.container import Scanner

    s = Scanner()
    last = 0
    for c in list(cuts) + [len(blob)]:
        s.feed(blob[last:c])
        last = c
    try:
        got = outcome(s.finish())
    except LibraryFormatError as e:
        got = outcome(e)
    assert s.n == len(blob), (s.n, len(blob))
    assert s.file_sha256 == hashlib.sha256(blob).digest()
    return got


def variants(blob):
    """Broken and good libraries around `blob` (both engines use the same list)."""
    out = [blob, b"", blob[:10], blob[:HEADER_LEN], blob[:HEADER_LEN + 1], blob[:-1], blob[:-75],
           blob + b"\x00", blob + bytes(300), blob[:-1] + b"\x05", blob[:-149] + b"\x05"]
    body_end = len(blob) - 1 - blob_sigs(blob) * SIG_ENTRY_LEN
    out.append(blob[:body_end])
    out.append(blob[:body_end] + b"\x00")
    out.append(blob[:body_end] + b"\x09")
    out.append(blob[:body_end] + b"\x09" + b"\x01")
    flipped = bytearray(blob)
    flipped[HEADER_LEN + 3] ^= 1
    out.append(bytes(flipped))
    bad_magic = bytearray(blob)
    bad_magic[0] ^= 1
    out.append(bytes(bad_magic))
    return out


def sample(version=3, body_len=2000):
    """A library with two (unverified) signature entries, so every branch of
    the signature block is reached."""
    import libsample
    from firmware.library.container import Signature, assemble

    body = libsample.body_bytes(version, body_len)
    return assemble(version, body, [Signature(1, 1, b"author-k", b"a" * 64), Signature(1, 2, b"approver", b"b" * 64)])


def blob_sigs(blob):
    """The signature count of a well-formed library."""
    h = parse_header(blob[:HEADER_LEN])
    return blob[HEADER_LEN + h.body_len]
