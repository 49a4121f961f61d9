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
    read once). The Scanner below does the framing: one code path whether
    the bytes are pulled here or pushed as a transfer arrives.
    """
    s = Scanner(body_sink)
    while s.error is None:
        part = read(chunk)
        if not part:
            break
        s.feed(part)
    return s.finish()


TAIL_MAX = 1 + MAX_SIGS * SIG_ENTRY_LEN  # the longest signature block


class Scanner:
    """container.scan fed instead of reading (issue 11 item 1): the pump frames
    and hashes a pushed library as each DATA frame is stored, so END need
    not read it again. feed(part) never raises; finish() -> Container (body
    None), or the first fault, worded and ordered as scan always has: the
    header, then the body's length, the signature block, trailing bytes,
    and last the body digest. Also the whole file's length `n` and, after
    finish(), its SHA-256 `file_sha256` (the slot's commit record)."""

    def __init__(self, body_sink=None):
        self.sink = body_sink
        self.head = b""
        self.header = None
        self.left = 0  # body bytes still to come
        self.tail = b""  # the signature block (at most TAIL_MAX bytes kept)
        self.extra = False  # more bytes than the longest signature block
        self.error = None
        self.n = 0
        self.file_hash = hashlib.sha256()
        self.body_hash = None
        self.signed_hash = None
        self.file_sha256 = None
        self.done = None
        self.index = None  # whatever the body sink belongs to (the pump's library index)

    def feed(self, part):
        if self.file_sha256 is not None or not part:
            return
        self.n += len(part)
        self.file_hash.update(part)  # the whole file, even past a fault (the transfer's digest)
        if self.error is not None:
            return
        try:
            self._feed(part)
        except LibraryFormatError as e:
            self.error = e

    def _feed(self, part):
        if self.header is None:
            need = HEADER_LEN - len(self.head)
            self.head += bytes(part[:need])
            if len(self.head) < HEADER_LEN:
                return
            part = part[need:]
            self.header = parse_header(self.head)
            self.left = self.header.body_len
            self.body_hash = hashlib.sha256()
            self.signed_hash = hashlib.sha256(self.head)
        if self.left:
            body = part[:self.left]
            self.body_hash.update(body)
            self.signed_hash.update(body)
            if self.sink is not None:
                self.sink(body)
            self.left -= len(body)
            part = part[len(body):]
        if len(part):
            room = TAIL_MAX - len(self.tail)
            if len(part) > room:
                self.extra = True
            self.tail += bytes(part[:room])

    def finish(self):
        if self.done is not None:
            return self.done
        if self.file_sha256 is None:
            self.file_sha256 = self.file_hash.digest()
        if self.error is not None:
            raise self.error
        try:
            self.done = self._finish()
        except (LibraryFormatError, DigestError) as e:
            self.error = e  # a second finish() raises it again (a hash is final once read)
            raise
        return self.done

    def _finish(self):
        if self.header is None:
            parse_header(self.head)  # raises: shorter than its header
        if self.left:
            raise LibraryFormatError("library truncated inside its body")
        tail = self.tail
        if not tail:
            raise LibraryFormatError("signature block missing")
        need = 1 + (tail[0] * SIG_ENTRY_LEN if tail[0] <= MAX_SIGS else 0)
        if self.extra or len(tail) > need:
            raise LibraryFormatError("bytes after the signature block")
        sigs = parse_sigblock(tail)
        if self.body_hash.digest() != self.header.body_sha256:
            raise DigestError("library body does not match its SHA-256 digest")
        return Container(self.header, None, sigs, self.signed_hash.digest())


def build_header(library_version, body):
    return (MAGIC + bytes((FORMAT_VERSION, HEADER_LEN)) + pack_u16(0) + pack_u32(library_version)
            + pack_u32(len(body)) + hashlib.sha256(body).digest())


def assemble(library_version, body, sigs=()):
    """Bytes of a library: header + body + signature block (host and tests)."""
    return build_header(library_version, body) + bytes(body) + pack_sigblock(list(sigs))
