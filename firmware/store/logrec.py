# Event-log record encoding and chain verification: pure bytes in, values out
# (issue 4, deliverable 3; byte layout in docs/storage.md, "Event log").
#
# record = SYNC u8 | kind u8 | payload_len u16 | seq u32 | chain [32]
#          | payload [payload_len] | crc32 u32          (big-endian)
# chain  = SHA-256(previous chain | record[0:8] | payload); the first record
#          ever (seq 0) chains from 32 zero bytes.
# crc32  = binascii.crc32 (IEEE 802.3) over record[0:40+payload_len].
#
# A ROLLOFF marker stands in for a run of records that rolled off: first in
# the log, or between two kept records (issue 10 item 3: protected kinds are
# kept while checks roll off; docs/adr/0013-log-retention.md). Its seq
# and chain are those of the last dropped record of the run (the chain
# anchor), so the next record verifies against it; its seq must exceed the
# seq before it. Fields: dropped (count), first/last (seq range), kinds
# (["check*370", "boot"], as counted_codes).
import binascii
import hashlib

from firmware.errors import LogCorruptError
from firmware.bigendian import pack_u16, pack_u32, u16, u32

SYNC = 0xE5
HEAD_LEN = 40
CRC_LEN = 4
OVERHEAD = HEAD_LEN + CRC_LEN
MAX_PAYLOAD = 1024
ZERO_CHAIN = bytes(32)

# Record kinds (docs/storage.md). Applications may use 0x20..0x7E for their own.
BOOT = 1
CHECK = 2
OVERRIDE = 3
INSTALL = 4
INSTALL_REJECTED = 5
SELFTEST_FAIL = 6
LOG_REPAIR = 7
THERAPY = 0x20  # one therapy action (an application kind, 0x20..0x7E) (firmware/therapy/device.py, docs/therapy.md)
ROLLOFF = 0x7F
KIND_NAMES = {BOOT: "boot", CHECK: "check", OVERRIDE: "override", INSTALL: "install",
              INSTALL_REJECTED: "install-rejected", SELFTEST_FAIL: "selftest-fail",
              LOG_REPAIR: "log-repair", ROLLOFF: "rolloff"}
KIND_NAMES[THERAPY] = "therapy"

# Field value types
T_INT = 0x69   # 'i': len u8 (1..8) + two's complement big-endian
T_STR = 0x73   # 's': len u16 + UTF-8
T_BYTES = 0x62  # 'b': len u16 + raw bytes
T_LIST = 0x6C  # 'l': count u8 + count x (len u8 + UTF-8)


# Big-endian integers: the one place (firmware/bigendian.py, issue 7).
_u16 = pack_u16
_u32 = pack_u32
_get_u16 = u16
_get_u32 = u32


def crc32(data):
    return binascii.crc32(data) & 0xFFFFFFFF


def _int_bytes(v):
    n = 1
    while not (-(1 << (8 * n - 1)) <= v < (1 << (8 * n - 1))):
        n += 1
        if n > 8:
            raise ValueError("log integer out of range: %d" % v)
    u = v & ((1 << (8 * n)) - 1)
    out = bytearray(n)
    for i in range(n):
        out[n - 1 - i] = (u >> (8 * i)) & 0xFF
    return bytes(out)


def encode_fields(fields):
    """Compact encoding of {key: int | str | bytes | list of str}, keys sorted
    (MicroPython dicts are unordered) so equal fields give equal bytes.

    Written into one bytearray a byte or a slice at a time (issue 11 item 4:
    the CHECK path within 1 ms; building a bytes object per piece took 22 us
    for a check record on MicroPython). tests/logrecref.py keeps the former
    writer, and tests/test_logrec_fast.py checks both give the same bytes and
    the same refusals. Every length byte is checked below 256 before it is
    appended: bytearray.append keeps the low 8 bits on MicroPython."""
    keys = sorted(fields)
    if len(keys) > 255:
        raise ValueError("too many log fields")
    out = bytearray()
    put = out.append
    put(len(keys))
    for k in keys:
        kb = k.encode()
        n = len(kb)
        if not 0 < n < 256:
            raise ValueError("bad log field name")
        put(n)
        out += kb
        v = fields[k]
        # the four kinds are disjoint types, so the order of the tests is free
        if isinstance(v, str):
            sb = v.encode()
            n = len(sb)
            put(T_STR)
            put((n >> 8) & 0xFF)  # as pack_u16; a longer text fails the payload limit below
            put(n & 0xFF)
            out += sb
        elif isinstance(v, (list, tuple)):
            if len(v) > 255:
                raise ValueError("too many log list items (%d)" % len(v))
            put(T_LIST)
            put(len(v))
            for s in v:
                sb = s.encode() if isinstance(s, str) else str(s).encode()
                if len(sb) > 255:
                    raise ValueError("log list item too long")
                put(len(sb))
                out += sb
        elif isinstance(v, int):
            ib = _int_bytes(int(v))
            put(T_INT)
            put(len(ib))
            out += ib
        elif isinstance(v, (bytes, bytearray)):
            n = len(v)
            put(T_BYTES)
            put((n >> 8) & 0xFF)
            put(n & 0xFF)
            out += v
        else:
            raise ValueError("unsupported log field type for %s" % k)
    if len(out) > MAX_PAYLOAD:
        raise ValueError("log record payload too large (%d bytes)" % len(out))
    return bytes(out)


def decode_fields(p):
    """Inverse of encode_fields; raises LogCorruptError on malformed payloads."""
    try:
        out = {}
        n = p[0]
        o = 1
        for _ in range(n):
            kl = p[o]
            key = str(bytes(p[o + 1:o + 1 + kl]), "utf-8")
            o += 1 + kl
            t = p[o]
            if t == T_INT:
                ln = p[o + 1]
                if ln < 1 or ln > 8 or o + 2 + ln > len(p):
                    raise ValueError()
                v = 0
                for i in range(ln):
                    v = (v << 8) | p[o + 2 + i]
                if v >= 1 << (8 * ln - 1):
                    v -= 1 << (8 * ln)
                o += 2 + ln
            elif t == T_STR or t == T_BYTES:
                ln = _get_u16(p, o + 1)
                if o + 3 + ln > len(p):
                    raise ValueError()
                raw = bytes(p[o + 3:o + 3 + ln])
                v = str(raw, "utf-8") if t == T_STR else raw
                o += 3 + ln
            elif t == T_LIST:
                cnt = p[o + 1]
                o += 2
                v = []
                for _ in range(cnt):
                    ln = p[o]
                    if o + 1 + ln > len(p):
                        raise ValueError()
                    v.append(str(bytes(p[o + 1:o + 1 + ln]), "utf-8"))
                    o += 1 + ln
            else:
                raise ValueError()
            out[key] = v
        if o != len(p):
            raise ValueError()
        return out
    except (ValueError, IndexError, UnicodeError):
        raise LogCorruptError("malformed log record payload")


def chain_of(prev_chain, head8, payload):
    h = hashlib.sha256(prev_chain)
    h.update(head8)
    h.update(payload)
    return h.digest()


def encode(kind, seq, prev_chain, payload, chain=None):
    """Bytes of one record. `chain` is given only for a ROLLOFF marker (the
    anchor); otherwise it is computed from `prev_chain`."""
    if not 0 < kind < 256 or len(payload) > MAX_PAYLOAD:
        raise ValueError("bad log record")
    n = len(payload)
    # one buffer, the bytes of before: _u16(n) and _u32(seq) inline (issue 11 item 4)
    rec = bytearray((SYNC, kind, n >> 8, n & 0xFF, (seq >> 24) & 0xFF, (seq >> 16) & 0xFF, (seq >> 8) & 0xFF,
                     seq & 0xFF))
    if chain is None:
        chain = chain_of(prev_chain, rec, payload)
    rec += chain
    rec += payload
    rec += _u32(crc32(rec))
    return bytes(rec)


class Record:
    def __init__(self, kind, seq, chain, payload, offset, length):
        self.kind = kind
        self.seq = seq
        self.chain = chain
        self.payload = payload
        self.offset = offset
        self.length = length

    def fields(self):
        return decode_fields(self.payload)


class Walk:
    """Walk and verify the records of a log held behind `read_at(offset, n)`
    of total length `size`, one record in RAM at a time.

    After run(): `records` (count of good records), `end` (offset after the
    last good record), `seq`/`chain` of that record (the head), and `error`:
    None or (index, offset, message, is_tail). is_tail is True when the bad
    bytes reach the end of the log, as a write torn by a power cut does."""

    def __init__(self, read_at, size, visit=None):
        self.read_at = read_at
        self.size = size
        self.visit = visit
        self.records = 0
        self.end = 0
        self.seq = -1
        self.chain = None
        self.error = None

    def _fail(self, off, msg, is_tail):
        self.error = (self.records, off, msg, is_tail)

    def run(self):
        off = 0
        size = self.size
        while off < size:
            if size - off < OVERHEAD:
                return self._fail(off, "incomplete record header", True)
            head = self.read_at(off, HEAD_LEN)
            if head[0] != SYNC:
                return self._fail(off, "bad sync byte", False)
            plen = _get_u16(head, 2)
            rlen = OVERHEAD + plen
            if plen > MAX_PAYLOAD:
                return self._fail(off, "payload length %d too large" % plen, off + rlen >= size)
            if off + rlen > size:
                return self._fail(off, "record runs past the end of the log", True)
            rest = self.read_at(off + HEAD_LEN, plen + CRC_LEN)
            payload = rest[:plen]
            if crc32(head + payload) != _get_u32(rest, plen):
                return self._fail(off, "CRC mismatch", off + rlen == size)
            kind = head[1]
            seq = _get_u32(head, 4)
            chain = bytes(head[8:40])
            if self.records == 0:
                if kind != ROLLOFF and (seq != 0 or chain != chain_of(ZERO_CHAIN, head[0:8], payload)):
                    return self._fail(off, "first record neither genesis nor roll-off marker", False)
            elif kind == ROLLOFF:
                # A gap marker (issue 10 item 3): it stands in for the records
                # seq self.seq+1 .. seq that rolled off between two kept ones;
                # the record after it chains from its anchor.
                why = _gap_marker_error(self.seq, self.chain, seq, chain, payload)
                if why is not None:
                    return self._fail(off, "roll-off marker inside the log " + why, False)
            else:
                if seq != self.seq + 1:
                    return self._fail(off, "sequence %d follows %d" % (seq, self.seq), False)
                if chain != chain_of(self.chain, head[0:8], payload):
                    return self._fail(off, "hash chain broken", False)
            if self.visit is not None:
                self.visit(Record(kind, seq, chain, payload, off, rlen))
            self.records += 1
            self.seq = seq
            self.chain = chain
            off += rlen
            self.end = off
        return None


def _gap_marker_error(prev_seq, prev_chain, seq, chain, payload):
    """A marker between kept records must account for exactly the seqs it
    skips (first = prev+1, last = seq, dropped = the gap) and cannot reuse
    the previous chain (a real anchor is a later hash)."""
    if seq <= prev_seq:
        return "has seq %d after %d" % (seq, prev_seq)
    if chain == prev_chain:
        return "repeats the previous chain"
    try:
        f = decode_fields(payload)
    except LogCorruptError:
        return "has a malformed payload"
    if f.get("first") != prev_seq + 1 or f.get("last") != seq or f.get("dropped") != seq - prev_seq:
        return "does not account for seq %d..%d" % (prev_seq + 1, seq)
    return None


def bytes_at(data):
    return lambda off, n: bytes(data[off:off + n])


def verify_chain(data, expect_head=None):
    """Verify a whole log (bytes). Returns (record count, head seq, head chain).
    Raises LogCorruptError naming the first bad record, including a torn tail;
    with expect_head=(seq, chain) a log cut short at a record boundary is
    caught too (issue 4: edited, deleted, reordered or truncated records)."""
    w = Walk(bytes_at(data), len(data))
    w.run()
    if w.error is not None:
        index, off, msg, _tail = w.error
        e = LogCorruptError("log record %d at offset %d: %s" % (index, off, msg))
        e.index = index
        e.offset = off
        raise e
    if expect_head is not None and (w.seq, w.chain) != (expect_head[0], bytes(expect_head[1])):
        e = LogCorruptError("log head is seq %d, expected seq %d" % (w.seq, expect_head[0]))
        e.index = w.records
        e.offset = w.end
        raise e
    return w.records, w.seq, w.chain


def decode_all(data):
    """Every record of a log as (seq, kind name, fields); verifies first."""
    out = []
    w = Walk(bytes_at(data), len(data),
             lambda r: out.append((r.seq, KIND_NAMES.get(r.kind, "kind-%d" % r.kind), r.fields())))
    w.run()
    if w.error is not None:
        raise LogCorruptError("log record %d at offset %d: %s" % (w.error[0], w.error[1], w.error[2]))
    return out


CODES_BUDGET = 400  # bytes of codes in one check or therapy record (drug <= 480, the rest small)


def counted_codes(codes, budget=CODES_BUDGET):
    """Each code once, in first-seen order, with "*n" when found n > 1 times;
    cut to what a log record holds (the last item then says how many more).
    Used by the pump's check records and the therapy records alike."""
    order = []
    seen = {}
    for c in codes:
        if c not in seen:
            seen[c] = 0
            order.append(c)
        seen[c] += 1
    out = [c if seen[c] == 1 else "%s*%d" % (c, seen[c]) for c in order]
    used = 0
    for i in range(len(out)):
        used += len(out[i]) + 1
        if used > budget:
            return out[:i] + ["+%d more" % (len(out) - i)]
    return out
