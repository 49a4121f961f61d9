# Library container, format v1 (docs/format.md, "Container"):
#
#   signed part = header (48 bytes) + body (body_len bytes)
#   file        = signed part + signature block
#
# header: magic "DLIB" | format_version u8 = 1 | header_len u8 = 48 |
#         flags u16 = 0 | library_version u32 | body_len u32 | body_sha256 [32]
# signature block: count u8 (0..MAX_SIGS) | count x (alg u8, role u8,
#         key_id [8], signature [64])
#
# Everything is big-endian. The decoder checks every length before it reads;
# anything malformed raises LibraryFormatError, a body whose SHA-256 differs
# from the header's raises DigestError. This module only frames bytes: it
# knows nothing of drugs (firmware/library/body.py) or keys (firmware/release/verify.py).
import hashlib

from firmware.bigendian import pack_u16, pack_u32, u16, u32
from firmware.errors import DigestError, LibraryFormatError

MAGIC = b"DLIB"
FORMAT_VERSION = 1
HEADER_LEN = 48
MAX_BODY_LEN = 1 << 20  # 1 MiB: far above any real library, bounds allocation
MAX_SIGS = 4
SIG_ENTRY_LEN = 74  # alg 1 + role 1 + key_id 8 + signature 64
KEY_ID_LEN = 8
SIG_LEN = 64
ALG_ED25519 = 1
ROLE_AUTHOR = 1
ROLE_APPROVER = 2
ROLE_NAMES = {ROLE_AUTHOR: "author", ROLE_APPROVER: "approver"}


class Header:
    def __init__(self, library_version, body_len, body_sha256, raw):
        self.library_version = library_version
        self.body_len = body_len
        self.body_sha256 = body_sha256
        self.raw = raw


class Signature:
    def __init__(self, alg, role, key_id, signature):
        self.alg = alg
        self.role = role
        self.key_id = key_id
        self.signature = signature


class Container:
    """A framed library: header, body, signatures and the signed part's digest."""

    def __init__(self, header, body, signatures, signed_sha256):
        self.header = header
        self.body = body
        self.signatures = signatures
        self.signed_sha256 = signed_sha256


def parse_header(b):
    if len(b) < HEADER_LEN:
        raise LibraryFormatError("library shorter than its %d-byte header" % HEADER_LEN)
    if bytes(b[0:4]) != MAGIC:
        raise LibraryFormatError("not a drug library (bad magic)")
    if b[4] != FORMAT_VERSION:
        raise LibraryFormatError("unsupported library format version %d" % b[4])
    if b[5] != HEADER_LEN:
        raise LibraryFormatError("header length %d, expected %d" % (b[5], HEADER_LEN))
    if u16(b, 6) != 0:
        raise LibraryFormatError("unknown header flags 0x%04x" % u16(b, 6))
    version = u32(b, 8)
    if version == 0:
        raise LibraryFormatError("library version 0 is not allowed")
    body_len = u32(b, 12)
    if body_len > MAX_BODY_LEN:
        raise LibraryFormatError("body length %d exceeds %d" % (body_len, MAX_BODY_LEN))
    return Header(version, body_len, bytes(b[16:48]), bytes(b[0:HEADER_LEN]))


def parse_sigblock(b):
    """Parse the signature block, which must fill `b` exactly."""
    if len(b) < 1:
        raise LibraryFormatError("signature block missing")
    count = b[0]
    if count > MAX_SIGS:
        raise LibraryFormatError("%d signatures, at most %d allowed" % (count, MAX_SIGS))
    if len(b) != 1 + count * SIG_ENTRY_LEN:
        raise LibraryFormatError(
            "signature block is %d bytes, %d signatures need %d" % (len(b), count, 1 + count * SIG_ENTRY_LEN))
    sigs = []
    off = 1
    for _ in range(count):
        sigs.append(Signature(b[off], b[off + 1], bytes(b[off + 2:off + 10]), bytes(b[off + 10:off + 74])))
        off += SIG_ENTRY_LEN
    return sigs


def pack_sigblock(sigs):
    out = bytearray([len(sigs)])
    for s in sigs:
        out += bytes((s.alg, s.role)) + s.key_id + s.signature
    return bytes(out)


def parse(blob):
    """Frame an in-memory library: structure first, then the body digest."""
    header = parse_header(blob)
    end = HEADER_LEN + header.body_len
    if len(blob) < end + 1:
        raise LibraryFormatError("library truncated: %d bytes, header needs at least %d" % (len(blob), end + 1))
    sigs = parse_sigblock(blob[end:])
    body = bytes(blob[HEADER_LEN:end])
    if hashlib.sha256(body).digest() != header.body_sha256:
        raise DigestError("library body does not match its SHA-256 digest")
    return Container(header, body, sigs, hashlib.sha256(bytes(blob[:end])).digest())


def scan(read, chunk=512, body_sink=None):
    """Frame a library from a reader `read(n) -> bytes` in bounded chunks.

    Hashes the body as it streams, keeping at most `chunk` bytes of it; returns
    a Container whose body is None. Used by install, where the library may be
    larger than the heap should hold. `body_sink(part)`, if given, sees every
    body chunk as it streams (the library index, issue 11 item 4: the body is
    read once).
    """
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


def build_header(library_version, body):
    return (MAGIC + bytes((FORMAT_VERSION, HEADER_LEN)) + pack_u16(0) + pack_u32(library_version)
            + pack_u32(len(body)) + hashlib.sha256(body).digest())


def assemble(library_version, body, sigs=()):
    """Bytes of a library: header + body + signature block (host and tests)."""
    return build_header(library_version, body) + bytes(body) + pack_sigblock(list(sigs))
