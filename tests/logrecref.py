"""The event-log record writer firmware/store/logrec.py had before issue 11
item 4 wrote its records into one buffer (commit 66de0d9, encode_fields and
encode verbatim but for the imports): the oracle tests/test_logrec_fast.py
compares the firmware's bytes and refusals with."""
import binascii
import hashlib

from firmware.bigendian import pack_u16 as _u16, pack_u32 as _u32

SYNC = 0xE5
MAX_PAYLOAD = 1024
T_INT = 0x69
T_STR = 0x73
T_BYTES = 0x62
T_LIST = 0x6C


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
    (MicroPython dicts are unordered) so equal fields give equal bytes."""
    keys = sorted(fields)
    if len(keys) > 255:
        raise ValueError("too many log fields")
    out = bytearray([len(keys)])
    for k in keys:
        kb = k.encode()
        if not 0 < len(kb) < 256:
            raise ValueError("bad log field name")
        out += bytes([len(kb)]) + kb
        v = fields[k]
        if isinstance(v, int):
            ib = _int_bytes(int(v))
            out += bytes([T_INT, len(ib)]) + ib
        elif isinstance(v, str):
            sb = v.encode()
            out += bytes([T_STR]) + _u16(len(sb)) + sb
        elif isinstance(v, (bytes, bytearray)):
            out += bytes([T_BYTES]) + _u16(len(v)) + bytes(v)
        elif isinstance(v, (list, tuple)):
            out += bytes([T_LIST, len(v)])
            for s in v:
                sb = str(s).encode()
                if len(sb) > 255:
                    raise ValueError("log list item too long")
                out += bytes([len(sb)]) + sb
        else:
            raise ValueError("unsupported log field type for %s" % k)
    if len(out) > MAX_PAYLOAD:
        raise ValueError("log record payload too large (%d bytes)" % len(out))
    return bytes(out)


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
    head8 = bytes([SYNC, kind]) + _u16(len(payload)) + _u32(seq)
    if chain is None:
        chain = chain_of(prev_chain, head8, payload)
    body = head8 + chain + payload
    return body + _u32(crc32(body))
