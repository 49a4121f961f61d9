"""The device decoder (firmware/library/) refuses every half or contradictory library, each with its reason.

Each attack takes the body of a correct library apart into its records
(tag u8 | length u16 | value, docs/format.md) and puts it back together with
one thing wrong: a record twice, a record missing, a record out of place, a
value out of range. The decoder must raise LibraryFormatError (LIB_MALFORMED)
naming what is wrong: a checker must never meet a half library.
"""
import pytest

from devmodel import dev_model
from firmware.bigendian import pack_u16, pack_u32
from firmware.errors import LibraryFormatError
from firmware.library import body as fw
from firmware.library import container
from firmware.library.body import decode, decode_body, phase_of
from host_tools.library.encode import encode_body, encode_library

BODY = encode_body(dev_model())


def records(body=BODY):
    out = []
    i = 0
    while i < len(body):
        n = 3 + (body[i + 1] << 8 | body[i + 2])
        out.append(bytes(body[i:i + n]))
        i += n
    return out


def rec(tag, value):
    return bytes((tag,)) + pack_u16(len(value)) + value


def first(recs, tag):
    return next(i for i, r in enumerate(recs) if r[0] == tag)


def twice(tag):
    recs = records()
    i = first(recs, tag)
    return recs[:i + 1] + [recs[i]] + recs[i + 1:]


def without(tag):
    return [r for r in records() if r[0] != tag]


def moved_before(tag, before):
    recs = records()
    r = recs.pop(first(recs, tag))
    j = first(recs, before)
    return recs[:j] + [r] + recs[j:]


def edited(tag, fn):
    recs = records()
    i = first(recs, tag)
    recs[i] = rec(tag, fn(bytearray(recs[i][3:])))
    return recs


def set_byte(k, v):
    def fn(value):
        value[k] = v
        return bytes(value)
    return fn


ATTACKS = {
    "dose level twice": (twice(fw.T_DOSE), "dose level step given twice"),
    "restart dose twice": (twice(fw.T_RESTART), "restart dose given twice"),
    "administration option twice": (twice(fw.T_ADMIN), "administration option 24 h given twice"),
    "indication twice": (twice(fw.T_INDICATION), "indication mrd given twice"),
    "indication with no cycles": (edited(fw.T_INDICATION, set_byte(4, 0)), "indication mrd with no cycles"),
    "phase before any indication": (moved_before(fw.T_PHASE, fw.T_INDICATION),
                                    "record 0x31 before any indication record"),
    "limit before any drug": (moved_before(fw.T_LIMIT, fw.T_DRUG), "record 0x10 before any drug record"),
    "no drug at all": (records()[:1], "library has no drug"),
    "no administration option": (without(fw.T_ADMIN), "drug blinatumomab: no administration option"),
    "no restart dose": (without(fw.T_RESTART), "drug blinatumomab: restart dose missing"),
    "no target dose": ([r for r in records() if not (r[0] == fw.T_DOSE and r[3] == 2)],
                       "drug blinatumomab: dose level target missing"),
    "a limit missing": ([r for r in records() if not (r[0] == fw.T_LIMIT and r[3] == 4)],
                        "drug blinatumomab: limit max_daily_ng missing"),
    "no indication": ([r for r in records() if r[0] < fw.T_INDICATION], "drug blinatumomab: no indication"),
    "a cycle in two phases": (twice(fw.T_PHASE), "indication mrd: cycle 1 is in 2 phases"),
    "schedule past the infusion days": (edited(fw.T_SCHEDULE, set_byte(3, 200)),
                                        "indication mrd cycle 1: schedule past day 28"),
    "a second library record": (records()[:1] + records(), "second library record"),
    "unknown record tag": (records() + [rec(0x7F, b"")], "unknown record tag 0x7f"),
    "trailing bytes in a record": (edited(fw.T_RESTART, lambda v: bytes(v) + b"\x00"), "unexpected trailing bytes"),
    "volume is not rate x duration": (edited(fw.T_ADMIN, lambda v: bytes(v[:6]) + pack_u32(1) + bytes(v[10:])),
                                      "volume is not rate x duration"),
}


def test_the_untouched_records_decode():
    assert decode_body(b"".join(records()))["drugs"][0]["name"] == "blinatumomab"


@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_a_half_or_contradictory_library_is_refused_with_its_reason(attack):
    recs, reason = ATTACKS[attack]
    body = b"".join(recs)
    with pytest.raises(LibraryFormatError) as e:
        decode_body(body)
    assert e.value.code == "LIB_MALFORMED"
    assert reason in e.value.message, e.value.message
    # the same body, framed and digested as a real library, is refused the same way
    with pytest.raises(LibraryFormatError):
        decode(container.assemble(1, body))


def test_a_cycle_outside_every_phase_has_no_phase():
    ind = decode_body(BODY)["drugs"][0]["indications"][0]
    assert phase_of(ind, 1)["name"] == ind["phases"][0]["name"]
    assert phase_of(ind, ind["max_cycles"] + 1) is None


# --- container ---------------------------------------------------------------------------------

BLOB = encode_library(dev_model())


def test_library_version_0_is_refused():
    blob = BLOB[:8] + pack_u32(0) + BLOB[12:]
    with pytest.raises(LibraryFormatError, match="library version 0 is not allowed"):
        container.parse(blob)


def test_an_empty_signature_block_is_missing_not_zero_signatures():
    with pytest.raises(LibraryFormatError, match="signature block missing"):
        container.parse_sigblock(b"")
    assert container.parse_sigblock(b"\x00") == []


def stream(data):
    pos = [0]

    def read(n):
        out = data[pos[0]:pos[0] + n]
        pos[0] += len(out)
        return out
    return read


def test_streaming_scan_refuses_bytes_after_the_signature_block_and_a_missing_block():
    assert container.scan(stream(BLOB)).header.library_version == 1
    with pytest.raises(LibraryFormatError, match="bytes after the signature block"):
        container.scan(stream(BLOB + b"\x00"))
    body_end = container.HEADER_LEN + container.parse(BLOB).header.body_len
    with pytest.raises(LibraryFormatError, match="signature block missing"):
        container.scan(stream(BLOB[:body_end]))
    with pytest.raises(LibraryFormatError, match="truncated inside its body"):
        container.scan(stream(BLOB[:body_end - 1]))
