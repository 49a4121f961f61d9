# Serial link framing between host and pump (docs/protocol.md, "Framing";
# decision record docs/adr/0005-serial-protocol.md). Pure: bytes in, frames
# out; no I/O, no clock, integers only; runs unchanged under MicroPython.
#
# On the wire every frame is   0x00 | COBS(frame) | 0x00
# and a decoded frame is       type u8 | seq u16 | payload [0..MAX_PAYLOAD] | crc32 u32
# (big-endian; CRC-32/IEEE, binascii.crc32, over type, seq and payload).
#
# COBS (Consistent Overhead Byte Stuffing) removes every 0x00 from the frame,
# so 0x00 only ever means "frame boundary": a receiver that lost bytes, or saw
# garbage, is back in step at the next 0x00, whatever the corrupted bytes
# were. Overhead is at most 1 byte per 254, plus the two delimiters.
import binascii

from firmware.bigendian import pack_u16, pack_u32, u16, u32  # noqa: F401 (re-exported for link users)

MAX_PAYLOAD = 2048
HEAD_LEN = 3
CRC_LEN = 4
MIN_FRAME = HEAD_LEN + CRC_LEN
MAX_FRAME = HEAD_LEN + MAX_PAYLOAD + CRC_LEN
MAX_ENCODED = MAX_FRAME + MAX_FRAME // 254 + 1  # longest COBS encoding of a valid frame
SEQ_MOD = 0x10000

# Fault reasons reported by Decoder.feed (a frame that did not pass)
F_CRC = "crc"      # well delimited, wrong CRC
F_COBS = "cobs"    # COBS code byte points past the end
F_SHORT = "short"  # fewer than MIN_FRAME bytes
F_LONG = "long"    # more than MAX_ENCODED bytes before a delimiter (bytes dropped up to it)


def crc32(data):
    return binascii.crc32(data) & 0xFFFFFFFF




def cobs_encode(data):
    return _cobs(data, 0)


def _cobs(data, pad):
    """COBS(data) with `pad` zero bytes before and after it (the frame's
    delimiters), written into one buffer of the largest size, n + n // 254 + 1
    (issue 11 item 4: a CHECK's answer was copied seven times on its way out)."""
    if not isinstance(data, (bytes, bytearray)):
        data = bytes(data)
    n = len(data)
    out = bytearray(n + n // 254 + 1 + 2 * pad)
    dst = memoryview(out)
    src = memoryview(data)
    k = pad
    i = 0
    while True:
        lim = i + 254
        if lim > n:
            lim = n
        j = data.find(b"\x00", i, lim)  # in C on both engines (was a loop per byte)
        if j < 0:
            j = lim
        out[k] = j - i + 1
        dst[k + 1:k + 1 + j - i] = src[i:j]
        k += 1 + j - i
        if j == n:
            break
        if j - i == 254:
            # 254 non-zero bytes: code 0xFF implies no zero, so the byte at j
            # (zero or not) starts the next block. Issue 11 item 6: testing
            # data[j] here dropped a zero that followed a run of exactly
            # 254 x k non-zero bytes (0.8 % of random frames).
            i = j
        else:  # stopped at a zero: the code implies it
            i = j + 1
    return bytes(dst[:k + pad])


def cobs_decode(data):
    """The decoded bytes, or None if `data` is not a valid COBS encoding."""
    out = bytearray()
    n = len(data)
    i = 0
    while i < n:
        code = data[i]
        if code == 0:
            return None
        end = i + code
        if end > n:
            return None
        out += data[i + 1:end]
        i = end
        if code < 0xFF and i < n:
            out.append(0)
    return bytes(out)


class Frame:
    def __init__(self, ftype, seq, payload):
        self.ftype = ftype
        self.seq = seq
        self.payload = payload

    def __repr__(self):
        return "Frame(0x%02x, %d, %d bytes)" % (self.ftype, self.seq, len(self.payload))


class Fault:
    """A delimited chunk of bytes that is not a valid frame."""

    def __init__(self, reason, length):
        self.reason = reason
        self.length = length

    def __repr__(self):
        return "Fault(%s, %d)" % (self.reason, self.length)


def pack(ftype, seq, payload=b""):
    """The decoded frame bytes (type, seq, payload, CRC)."""
    if not 0 <= ftype <= 0xFF or not 0 <= seq < SEQ_MOD:
        raise ValueError("frame type or sequence out of range")
    if len(payload) > MAX_PAYLOAD:
        raise ValueError("payload of %d bytes exceeds %d" % (len(payload), MAX_PAYLOAD))
    if not isinstance(payload, bytes):
        payload = bytes(payload)
    head = bytes((ftype,)) + pack_u16(seq)
    crc = binascii.crc32(payload, binascii.crc32(head)) & 0xFFFFFFFF
    return b"".join((head, payload, pack_u32(crc)))


def encode(ftype, seq, payload=b""):
    """One frame as sent on the wire: 0x00, COBS(frame), 0x00."""
    return _cobs(pack(ftype, seq, payload), 1)


def unpack(raw):
    """A decoded frame's bytes -> Frame, or Fault."""
    if len(raw) < MIN_FRAME:
        return Fault(F_SHORT, len(raw))
    if len(raw) > MAX_FRAME:
        return Fault(F_LONG, len(raw))
    end = len(raw) - CRC_LEN
    if crc32(raw[:end]) != u32(raw, end):
        return Fault(F_CRC, len(raw))
    return Frame(raw[0], u16(raw, 1), bytes(raw[HEAD_LEN:end]))


def cobs_decode_into(src, n, dst):
    """COBS-decode src[:n] into the bytearray dst (no allocation beyond slices
    of memoryviews); the decoded length, or -1 if src[:n] is not a valid
    COBS encoding or decodes to more than len(dst) bytes."""
    i = 0
    k = 0
    room = len(dst)
    while i < n:
        code = src[i]
        if code == 0:
            return -1
        end = i + code
        if end > n or k + code - 1 > room:
            return -1
        dst[k:k + code - 1] = src[i + 1:end]
        k += code - 1
        i = end
        if code < 0xFF and i < n:
            if k >= room:
                return -1
            dst[k] = 0
            k += 1
    return k


class Decoder:
    """Incremental: feed() any bytes, get back the frames (and faults) they
    complete. Holds at most MAX_ENCODED bytes; never raises on input.

    Issue 11 item 5: both buffers (the encoded bytes of the frame being
    received, and its decoded bytes) are allocated once, here, at their
    largest size; receiving a frame allocates only its payload's bytes. Before,
    the buffer grew byte run by byte run and a valid 1-2 KB frame could end
    the pump with a MemoryError in a 208-248 KiB heap."""

    def __init__(self):
        self._enc = bytearray(MAX_ENCODED)
        self._encv = memoryview(self._enc)
        self._raw = bytearray(MAX_FRAME)
        self._rawv = memoryview(self._raw)
        self.n = 0  # encoded bytes of the unfinished frame
        self.discarding = False
        self.frames = 0
        self.faults = 0

    @property
    def buf(self):
        """The encoded bytes of the unfinished frame (a view)."""
        return self._encv[:self.n]

    def pending(self):
        """Bytes of an unfinished frame are waiting (for an inter-byte timeout)."""
        return self.n > 0 or self.discarding

    def reset(self):
        """Drop an unfinished frame (inter-byte timeout)."""
        self.n = 0
        self.discarding = False

    def feed(self, data):
        out = []
        if not isinstance(data, (bytes, bytearray)):
            data = bytes(data)
        view = memoryview(data)
        n = len(data)
        i = 0
        while i < n:
            z = data.find(b"\x00", i)
            end = n if z < 0 else z
            if not self.discarding:
                if end - i > MAX_ENCODED - self.n:
                    self.n = 0
                    self.discarding = True
                elif end > i:
                    self._encv[self.n:self.n + end - i] = view[i:end]
                    self.n += end - i
            if z < 0:
                break
            i = z + 1
            if self.discarding:
                self.discarding = False
                self.faults += 1
                out.append(Fault(F_LONG, MAX_ENCODED))
                continue
            if not self.n:
                continue  # idle delimiter
            length = self.n
            self.n = 0
            k = cobs_decode_into(self._encv, length, self._rawv)
            if k < 0:
                # longer than any frame once decoded is a long frame, as before
                item = Fault(F_LONG if k == -1 and _decodes_long(self._encv, length) else F_COBS, length)
            else:
                item = _unpack_view(self._rawv, k)
            if isinstance(item, Frame):
                self.frames += 1
            else:
                self.faults += 1
            out.append(item)
        return out


def _decodes_long(src, n):
    """src[:n] is valid COBS but decodes past MAX_FRAME (Fault F_LONG)."""
    i = 0
    k = 0
    while i < n:
        code = src[i]
        if code == 0 or i + code > n:
            return False
        k += code - 1
        i += code
        if code < 0xFF and i < n:
            k += 1
    return k > MAX_FRAME


def _unpack_view(raw, k):
    """unpack() over the decoder's own buffer: allocates only the payload."""
    if k < MIN_FRAME:
        return Fault(F_SHORT, k)
    end = k - CRC_LEN
    if crc32(raw[:end]) != u32(raw, end):
        return Fault(F_CRC, k)
    return Frame(raw[0], u16(raw, 1), bytes(raw[HEAD_LEN:end]))


# --- message types (docs/protocol.md, "Commands") ---
PROTO_VERSION = 1
INFO = 0x01
BEGIN = 0x02
DATA = 0x03
END = 0x04
ABORT = 0x05
LOG = 0x06
CHECK = 0x07
THERAPY = 0x08  # one therapy action (docs/protocol.md, "THERAPY"; docs/therapy.md)
OK = 0x80      # response bit: OK response type = request type | OK
ERR = 0xFF     # error response: fields {code, message, ...}, seq of the request
NAK = 0xFE     # "a frame failed its CRC/COBS/length": retransmit now; seq 0, payload = reason
NAMES = {INFO: "INFO", BEGIN: "BEGIN", DATA: "DATA", END: "END", ABORT: "ABORT", LOG: "LOG",
         CHECK: "CHECK", ERR: "ERR", NAK: "NAK"}
NAMES[THERAPY] = "THERAPY"
BEGIN_RESTART = 0x01  # BEGIN flag: discard any partial transfer, start at offset 0
