# The commit record: the one small file whose atomic replacement commits a
# library install (issue 4; docs/adr/0003-atomic-install.md; bytes in
# docs/storage.md, "Commit record").
#
#  off len field
#   0   4  magic "PCMT"
#   4   1  record format = 1
#   5   1  slot (0 or 1) holding the active library
#   6   2  reserved, 0
#   8   4  seq: commit sequence number, +1 per commit
#  12   4  library_version of the library in that slot
#  16   4  counter: anti-rollback floor = highest version ever committed
#  20   4  lib_len: bytes in the slot file
#  24  32  lib_sha256: SHA-256 of the whole slot file (header+body+signatures)
#  56   4  crc32 (IEEE) of bytes 0..55
# Everything big-endian, 60 bytes.
import binascii

from firmware.bigendian import pack_u16, pack_u32, u16, u32

MAGIC = b"PCMT"
FORMAT = 1
LENGTH = 60
NSLOTS = 2


class Commit:
    def __init__(self, seq, slot, version, counter, lib_len, lib_sha256):
        self.seq = seq
        self.slot = slot
        self.version = version
        self.counter = counter
        self.lib_len = lib_len
        self.lib_sha256 = lib_sha256

    def __repr__(self):
        return "Commit(seq=%d, slot=%d, v%d, counter=%d)" % (self.seq, self.slot, self.version, self.counter)


def encode(c):
    body = (MAGIC + bytes((FORMAT, c.slot)) + pack_u16(0) + pack_u32(c.seq) + pack_u32(c.version)
            + pack_u32(c.counter) + pack_u32(c.lib_len) + bytes(c.lib_sha256))
    return body + pack_u32(binascii.crc32(body) & 0xFFFFFFFF)


def decode(b):
    """A Commit, or None when the bytes are not one intact record (torn,
    corrupted, wrong length): callers treat None as "no such record"."""
    if len(b) != LENGTH or bytes(b[0:4]) != MAGIC or b[4] != FORMAT:
        return None
    if u32(b, 56) != binascii.crc32(bytes(b[0:56])) & 0xFFFFFFFF:
        return None
    slot = b[5]
    if slot >= NSLOTS or u16(b, 6) != 0:
        return None
    c = Commit(u32(b, 8), slot, u32(b, 12), u32(b, 16), u32(b, 20), bytes(b[24:56]))
    if c.version == 0 or c.version > c.counter:
        return None
    return c
