# Big-endian integers in byte strings: the one place for them (issue 7).
#
# Every on-device byte layout is big-endian: the library container and body
# (docs/format.md), the commit record (docs/storage.md), the serial frames
# (docs/protocol.md), the release manifest (docs/signing.md). These helpers
# sit below every stage folder so that store/ and link/ need not import the
# library container for a utility. Readers take any indexable bytes-like
# object and an offset; the caller has checked the length first.


def u16(b, off):
    """The unsigned 16-bit integer at b[off:off + 2]."""
    return (b[off] << 8) | b[off + 1]


def u32(b, off):
    """The unsigned 32-bit integer at b[off:off + 4]."""
    return (b[off] << 24) | (b[off + 1] << 16) | (b[off + 2] << 8) | b[off + 3]


def pack_u16(v):
    """Two bytes of v (0 <= v <= 0xFFFF), most significant first."""
    return bytes(((v >> 8) & 0xFF, v & 0xFF))


def pack_u32(v):
    """Four bytes of v (0 <= v <= 0xFFFFFFFF), most significant first."""
    return bytes(((v >> 24) & 0xFF, (v >> 16) & 0xFF, (v >> 8) & 0xFF, v & 0xFF))
