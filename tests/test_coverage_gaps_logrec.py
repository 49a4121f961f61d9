"""Branches the rest of the suite missed (issue 10 item 6) in the event log's
record format (firmware/store/logrec.py): what cannot be written is refused
before anything is stored, every malformed payload is LOG_CORRUPT (never a
half-read record), and a flood of codes is cut with a count, not dropped.
The malformed payloads give the same answer under MicroPython."""
import json

import pytest

from firmware.errors import LogCorruptError
from firmware.store import logrec
from mpyrun import run_micropython


@pytest.mark.parametrize("fields,message", [
    ({"n": 1 << 70}, "log integer out of range"),
    ({"k%03d" % i: 0 for i in range(256)}, "too many log fields"),
    ({"": 1}, "bad log field name"),
    ({"x" * 256: 1}, "bad log field name"),
    ({"codes": ["c" * 256]}, "log list item too long"),
    ({"f": 1.5}, "unsupported log field type for f"),
])
def test_a_record_that_cannot_be_written_is_refused_before_it_is_stored(fields, message):
    with pytest.raises(ValueError) as e:
        logrec.encode_fields(fields)
    assert str(e.value).startswith(message)


def test_field_values_round_trip_at_their_limits():
    fields = {"big": (1 << 63) - 1, "neg": -(1 << 63), "s": "\u00e9", "b": b"\x00\xff", "l": ["a", "", "z" * 255]}
    assert logrec.decode_fields(logrec.encode_fields(fields)) == fields
    with pytest.raises(ValueError):
        logrec.encode(0, 0, logrec.ZERO_CHAIN, b"")
    with pytest.raises(ValueError):
        logrec.encode(1, 0, logrec.ZERO_CHAIN, b"x" * (logrec.MAX_PAYLOAD + 1))


GOOD = logrec.encode_fields({"a": 5})  # 01 01 'a' 69 01 05
MALFORMED = [
    b"\x01\x01a\x69\x00",                 # int of length 0
    b"\x01\x01a\x69\x09" + b"\x00" * 9,   # int of length 9
    b"\x01\x01a\x69\x02\x05",             # int cut short
    b"\x01\x01a\x73\x00\x05ab",           # string cut short
    b"\x01\x01a\x6c\x01\x05ab",           # list item cut short
    b"\x01\x01a\x3f",                     # unknown type
    GOOD + b"\x00",                       # bytes after the last field
    b"\x01\x01a\x73\x00\x01\xff",         # string not UTF-8
    b"\x02\x01a\x69\x01\x05",             # a field missing
    b"",                                  # nothing at all
]


def test_every_malformed_payload_is_log_corrupt():
    for p in MALFORMED:
        with pytest.raises(LogCorruptError) as e:
            logrec.decode_fields(p)
        assert e.value.code == LogCorruptError.code and e.value.message == "malformed log record payload"


def _log(n):
    data, chain = b"", logrec.ZERO_CHAIN
    for seq in range(n):
        rec = logrec.encode(logrec.THERAPY, seq, chain, logrec.encode_fields({"n": seq}))
        chain = rec[8:40]
        data += rec
    return data


def test_a_log_with_an_impossible_payload_length_is_refused_naming_the_record():
    data = bytearray(_log(3))
    second = len(_log(1))
    assert [s for s, _, _ in logrec.decode_all(bytes(data))] == [0, 1, 2]
    data[second + 2:second + 4] = (logrec.MAX_PAYLOAD + 1).to_bytes(2, "big")
    with pytest.raises(LogCorruptError) as e:
        logrec.decode_all(bytes(data))
    assert e.value.message == "log record 1 at offset %d: payload length %d too large" % (
        second, logrec.MAX_PAYLOAD + 1)


def test_a_flood_of_codes_is_counted_and_cut_with_how_many_more():
    assert logrec.counted_codes(["A", "B", "A", "A"]) == ["A*3", "B"]
    many = ["CODE_%03d" % i for i in range(100)]
    cut = logrec.counted_codes(many, budget=50)
    assert cut[-1] == "+%d more" % (100 - (len(cut) - 1)) and cut[:-1] == many[:len(cut) - 1]
    assert sum(len(c) + 1 for c in cut[:-1]) <= 50
    assert logrec.counted_codes(many[:3], budget=50) == many[:3]


def test_micropython_refuses_the_same_payloads():
    script = ("import sys, json\nfrom firmware.store import logrec\nout = []\n"
              "for h in json.loads(sys.stdin.read()):\n"
              "    try:\n        logrec.decode_fields(bytes.fromhex(h)); out.append('read')\n"
              "    except Exception as e:\n        out.append(type(e).__name__ + ' ' + e.message)\n"
              "print(json.dumps(out))\n")
    p = run_micropython(["-c", script], stdin=json.dumps([m.hex() for m in MALFORMED]).encode(), timeout=120)
    assert p.returncode == 0, p.stderr.decode()
    assert json.loads(p.stdout) == ["LogCorruptError malformed log record payload"] * len(MALFORMED)
