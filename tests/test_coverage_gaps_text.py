"""Branches the rest of the suite missed (issue 10 item 6) in the pump's text
handling: exact decimals (firmware/check/decimals.py), strict JSON
(firmware/jsontext.py) and the batch splitter (firmware/check/batch.py).
Each table row is a behaviour the checker relies on; the same rows run under
the MicroPython unix port and must give the same answers byte for byte."""
import json

import pytest

from firmware import jsontext
from firmware.check import batch, decimals
from firmware.check.decimals import DecimalTextError
from firmware.jsontext import JsonTextError
from mpyrun import run_micropython

# text -> (mantissa, exp10) or the error message (RFC 8259 section 6 grammar; no clamping)
PARSE = [
    ("0", (0, 0)), ("-0", (0, 0)), ("12.50e1", (125, 0)), ("1E+2", (100, 0)), ("25e-1", (25, 1)),
    ("1.000000000000000000000000000000", (1, 0)),            # trailing zeros past MAX_EXP10 are fine
    ("0.5e", "malformed exponent in '0.5e'"), ("1e1234", "malformed exponent in '1e1234'"),
    ("1e+", "malformed exponent in '1e+'"), ("1.2.3e1", "'1.2.3e1' is not a number"),
    ("e5", "'e5' is not a number"), (".5", "malformed number '.5'"), ("5.", "malformed number '5.'"),
    ("--1", "malformed number '--1'"), ("1+2", "malformed number '1+2'"),
    ("010", "number '010' has a leading zero"), ("1e999", "number '1e999' too large"),
    ("0." + "0" * 30 + "1", "number '0.000000000000000000000000000000...' (33 characters) has more than 24"),
    ("1e-25", "number '1e-25' has more than 24 decimal places"),
    ("", "number text empty"), ("1" * 41, "number text empty or longer than 40"), ("1 ", "'1 ' is not a number"),
]
TEXT = [((6, 1), "0.6"), ((-6, 3), "-0.006"), ((1250, 0), "1250"), ((-125, 1), "-12.5")]
FIXED = [((2, 3, 2), "0.67"), ((2, -3, 2), "-0.67"), ((-7, 2, 0), "-4"), ((1, 8, 3), "0.125"), ((5, 1, 0), "5")]
MILLI = [(600, "0.6"), (28000, "28"), (1250, "1.25"), (-500, "-0.5")]


def _parse_row(t):
    try:
        return "%d %d" % decimals.parse(t)
    except DecimalTextError as e:
        return "ERR " + e.message


def test_decimal_parse_accepts_exactly_the_json_grammar_and_names_each_fault():
    for text, want in PARSE:
        got = _parse_row(text)
        if isinstance(want, tuple):
            assert got == "%d %d" % want, text
        else:
            assert got.startswith("ERR " + want), (text, got)
    with pytest.raises(DecimalTextError):
        decimals.parse(12)  # not a string: never str() of something else


def test_decimal_text_round_trips_and_rounds_half_up_for_messages_only():
    for q, want in TEXT:
        assert decimals.to_text(q) == want
        assert decimals.parse(want) == q
    for (num, den, places), want in FIXED:
        assert decimals.fixed_text(num, den, places) == want
    for n, want in MILLI:
        assert decimals.milli_text(n) == want
    assert decimals.as_int((7, 0)) == 7 and decimals.as_int((7, 1)) is None
    assert decimals.cmp_scaled((28, 0), 1000, 28000) == 0 and decimals.cmp_scaled((281, 1), 1000, 28000) == 1


# text -> the error message and its position, or the decoded value (as canonical dumps)
LOADS = [
    ('{"a" 1}', "expected ':'"), ('{"a": 1 "b": 2}', "expected ',' or '}'"), ("[1 2]", "expected ',' or ']'"),
    ('"ab\\', "unterminated escape"), ('"\\x"', "bad escape '\\x'"), ('"a\x01"', "control character in string"),
    ('"\\u12G4"', "bad \\u escape"), ('"\\uDC00"', "lone low surrogate \\uDC00"),
    ('"\\uD83D"', "lone high surrogate \\uD83D"), ('"\\uD83D\\u0041"', "lone high surrogate \\uD83D"),
    ('{"k": 1, "k": 2}', "duplicate key 'k'"), ('{1: 2}', "expected a quoted key"), ("[1] x", "unexpected text"),
    ('"\\uD83D\\uDE00 \\n\\t\\r\\/"', '"\\ud83d\\ude00 \\n\\t\\r/"'),
    ('{"b": [true, false, null], "a": -1.50}', '{"a": -1.50, "b": [true, false, null]}'),
]


def _loads_row(t):
    try:
        return "OK " + jsontext.dumps(jsontext.loads(t))
    except JsonTextError as e:
        return "ERR " + e.message


def test_strict_json_refuses_each_malformation_with_its_own_message():
    for text, want in LOADS:
        got = _loads_row(text)
        assert got.startswith(("ERR " if not want.startswith(("{", '"')) else "OK ") + want), (text, got)
    assert jsontext.Number("1.0") == jsontext.Number("1.0") and jsontext.Number("1.0") != jsontext.Number("1")
    assert jsontext.Number("1.0") != "1.0" and repr(jsontext.Number("2")) == "Number('2')"
    with pytest.raises(TypeError):
        jsontext.dumps(1.5)  # no floats in the pump's JSON, ever


# bytes -> offset of the first bad byte (RFC 3629 section 4 table)
UTF8 = [
    (b"ok", -1), ("\u00e9\u20ac\U0001F600".encode(), -1), (b"a\xc0\xaf", 1), (b"\xe0\x80\xaf", 0),
    (b"\xed\xa0\x80", 0), (b"\xf4\x90\x80\x80", 0), (b"\xf5\x80", 0), (b"\xe2\x82", 0), (b"\xf0\x9f\x98", 0),
    (b"\xe2\x28\xa1", 0), (b"\x80", 0),
]


def test_utf8_check_finds_the_first_bad_byte_and_decode_names_it():
    for data, want in UTF8:
        assert jsontext.utf8_error(data) == want, data
    with pytest.raises(JsonTextError) as e:
        jsontext.decode_utf8(b"ab\xed\xa0\x80")
    assert e.value.message == "not UTF-8 text (byte 3) at character 3"
    assert jsontext.quote(5) == "'5'" and jsontext.quote("x" * 40).endswith("...' (40 characters)")


def test_batch_splits_lines_but_keeps_one_multi_line_object_and_non_utf8_lines():
    pretty = '{\n  "a": 1\n}\n'
    assert batch.split_requests(pretty) == ['{\n  "a": 1\n}']
    # blank lines dropped; a line keeps its own leading blanks (the JSON reader skips them)
    assert batch.split_requests(' {"a": 1}\n\n\t{"b": 2}\r\n') == ['{"a": 1}', '\t{"b": 2}']
    assert batch.split_requests(" \n\t ") == []
    # bytes that are not UTF-8: each line on its own; the bad line is kept as bytes and refused
    lines = batch.split_requests(b'{"a": 1}\n\xff\xfe\n  \n')
    assert lines == ['{"a": 1}', b"\xff\xfe"]
    out = [json.loads(r) for r in batch.check_text(None, b"\xff\xfe\n")]
    assert out[0]["verdict"] == "reject" and out[0]["findings"][0]["code"] == "REQ_MALFORMED"
    nolib = batch.no_library_result()
    assert nolib.verdict == "reject" and [f[0] for f in nolib.findings] == ["NO_LIBRARY"]


MPY_SCRIPT = r"""
import sys
from firmware import jsontext
from firmware.check import decimals
from firmware.check.decimals import DecimalTextError
from firmware.jsontext import JsonTextError
import json
rows = json.loads(sys.stdin.read())
out = []
for t in rows["parse"]:
    try:
        out.append("%d %d" % decimals.parse(t))
    except DecimalTextError as e:
        out.append("ERR " + e.message)
for t in rows["loads"]:
    try:
        out.append("OK " + jsontext.dumps(jsontext.loads(t)))
    except JsonTextError as e:
        out.append("ERR " + e.message)
for h in rows["utf8"]:
    out.append(str(jsontext.utf8_error(bytes.fromhex(h))))
print(json.dumps(out))
"""


def test_micropython_gives_the_same_answers_row_for_row():
    rows = {"parse": [t for t, _ in PARSE], "loads": [t for t, _ in LOADS], "utf8": [d.hex() for d, _ in UTF8]}
    p = run_micropython(["-c", MPY_SCRIPT], stdin=json.dumps(rows).encode(), timeout=120)
    assert p.returncode == 0, p.stderr.decode()
    got = json.loads(p.stdout)
    want = [_parse_row(t) for t in rows["parse"]] + [_loads_row(t) for t in rows["loads"]] + \
        [str(want) for _, want in UTF8]
    assert got == want
