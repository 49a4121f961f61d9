"""The strict JSON reader reads UTF-8 bytes since issue 11 item 4 (the CHECK
path within 1 ms: indexing a str is O(n) on MicroPython), and the usual
numbers take a fast path in firmware/check/decimals.py, and the result
line escapes each code's fixed text once. None may change a single answer: every text gives the value, or the message with its
position in characters, that the character reader gave (tests/jsonref.py,
the reader as it was), under CPython and under the MicroPython unix port;
strict UTF-8 and duplicate keys stay refused."""
import json
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import jsonref
from firmware import jsontext
from firmware.check import codes, decimals
from firmware.check.batch import result_json, result_json_dumps
from firmware.check.verdict import Result
from firmware.jsontext import JsonTextError, Number
from mpyrun import MPY_DIR, run_micropython

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def canon(v):
    """A value as plain lists, types kept apart (True is not 1, a Number not a str)."""
    if isinstance(v, dict):
        return ["object", sorted([[k, canon(v[k])] for k in v], key=lambda p: p[0])]
    if isinstance(v, list):
        return ["array", [canon(x) for x in v]]
    if isinstance(v, Number):
        return ["number", v.text]
    if v is True or v is False or v is None:
        return ["literal", str(v)]
    assert isinstance(v, str), v
    return ["string", v]


def outcome(reader, text):
    try:
        return canon(reader(text))
    except JsonTextError as e:
        return ["error", e.message]


def decimal_outcome(parse, text):
    try:
        return ["decimal", list(parse(text))]
    except decimals.DecimalTextError as e:
        return ["error", e.message]


# Pieces that reach every branch of the reader: structure, escapes (good and
# bad, surrogate pairs and lone halves), numbers, literals, control
# characters, non-ASCII, lone surrogates (a CPython str may hold them).
PIECES = list('{}[]":, \t\n\r\\/-+.eE0123456789abfnrtuxz') + [
    "true", "false", "null", "tru", "\\u00e9", "\\uD83D", "\\uDE00", "\\uD83D\\uDE00", "\\u12", "\\q", "\\é",
    "é", "\u2028", "\U0001F489", "\x00", "\x1f", "\x7f", "\ud800", "\udfff", '"key"', '"a\\"b"', '"é"',
    '"drug"', '{"drug": ', "[1, 2]", "-0", "01", "1.5e3", "ǅ", "\ufeff", '"\x1f"', '"a\tb"', '"\x7f"', '"\ud800"',
    '"é\x00"']
pieced = st.lists(st.sampled_from(PIECES), max_size=40).map("".join)

values = st.recursive(
    st.none() | st.booleans() | st.integers(-10 ** 30, 10 ** 30) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=20)


@st.composite
def documents(draw):
    """JSON as json.dumps writes it (compact, spaced, indented, escaped or
    not), sometimes with one character inserted, deleted or replaced."""
    text = json.dumps(draw(values), ensure_ascii=draw(st.booleans()),
                      indent=draw(st.sampled_from([None, 1])), separators=draw(st.sampled_from([None, (",", ":")])))
    edit = draw(st.sampled_from(["none", "insert", "delete", "replace"]))
    if edit != "none" and text:
        at = draw(st.integers(0, len(text) - 1))
        ch = draw(st.sampled_from(PIECES))
        text = {"insert": text[:at] + ch + text[at:], "delete": text[:at] + text[at + 1:],
                "replace": text[:at] + ch + text[at + 1:]}[edit]
    return text


@SETTINGS
@given(pieced)
def test_any_text_reads_as_the_character_reader_read_it(text):
    assert outcome(jsontext.loads, text) == outcome(jsonref.loads, text)


@SETTINGS
@given(documents())
def test_json_documents_and_their_one_character_edits_read_the_same(text):
    assert outcome(jsontext.loads, text) == outcome(jsonref.loads, text)


@SETTINGS
@given(st.binary(max_size=40) | pieced.map(lambda t: t.encode("utf-8", "surrogatepass")))
def test_bytes_read_the_same_strict_utf8_first(data):
    assert outcome(jsontext.loads, data) == outcome(jsonref.loads, data)


def test_errors_after_non_ascii_count_characters_not_bytes():
    # one character of 1, 2 or 4 bytes: the "}" is the 10th character each time
    for lead in ("a", "é", "\U0001F489"):
        text = '{"%s": 1, }' % lead
        with pytest.raises(JsonTextError) as e:
            jsontext.loads(text)
        assert e.value.message == "expected a quoted key at character 10"
        assert outcome(jsontext.loads, text) == outcome(jsonref.loads, text)


def test_duplicate_keys_and_loose_utf8_stay_refused():
    with pytest.raises(JsonTextError, match="duplicate key 'drug'"):
        jsontext.loads('{"drug": "a", "drug": "b"}')
    with pytest.raises(JsonTextError, match="duplicate key 'é'"):
        jsontext.loads('{"\\u00e9": 1, "é": 2}')
    for bad in (b"\xc0\xaf", b"\xed\xa0\x80", b"\xf4\x90\x80\x80"):  # overlong, surrogate, past U+10FFFF
        with pytest.raises(JsonTextError, match="not UTF-8"):
            jsontext.loads(b'{"drug": "' + bad + b'"}')
    with pytest.raises(JsonTextError) as e:
        jsontext.loads('["\ud800"]')
    assert e.value.message == "lone surrogate in string at character 3"


DECIMAL_PIECES = list("0123456789.-+eE ") + ["\u0661", "\u00b2", "\ud800", "00", "0.", ".5", "x", "9" * 30]


@SETTINGS
@given(st.lists(st.sampled_from(DECIMAL_PIECES), max_size=12).map("".join) | st.text(max_size=8))
def test_the_decimal_fast_path_gives_what_the_grammar_gives(text):
    assert decimal_outcome(decimals.parse, text) == decimal_outcome(decimals._parse, text)


def _corpus(seed=11, n=400):
    """Valid UTF-8 texts (the engines share no lone surrogates) for both engines."""
    rnd = random.Random(seed)
    pieces = [p for p in PIECES if not any(0xD800 <= ord(c) <= 0xDFFF for c in p)]
    out = []
    for i in range(n):
        if i % 2:
            out.append("".join(rnd.choice(pieces) for _ in range(rnd.randrange(30))))
        else:
            doc = {"drug": "blinatumomab", "patient": {"weight_kg": rnd.choice([70, 31.5, -2, 10 ** 20]),
                   "name": rnd.choice(["é", "a\\b\n", "\U0001F489", "x" * rnd.randrange(40)])},
                   "overrides": [rnd.choice(["A", "B"]) for _ in range(rnd.randrange(3))]}
            text = json.dumps(doc, ensure_ascii=rnd.random() < 0.5, indent=rnd.choice([None, 2]))
            at = rnd.randrange(len(text))
            out.append(text if i % 4 == 0 else text[:at] + rnd.choice(pieces) + text[at + 1:])
    return out


def test_micropython_reads_every_text_as_the_character_reader_on_cpython():
    texts = _corpus()
    nums = ["9000", "31.5", "0.50", "00", "1.", "-3", "1e3", "12.500", "\u0661", "0", "0.0", "1" * 41, "7." + "0" * 30]
    lines = ["j " + t.encode().hex() for t in texts] + ["d " + t.encode().hex() for t in nums]
    proc = run_micropython([MPY_DIR + "/jsontext_agree.py"], stdin="\n".join(lines).encode())
    out = proc.stdout.decode("utf-8").split("\n")
    assert proc.returncode == 0 and "OK jsontext_agree" in out, proc.stdout.decode() + proc.stderr.decode()
    got = [json.loads(x) for x in out[:out.index("OK jsontext_agree")]]
    want = [outcome(jsonref.loads, t) for t in texts] + [decimal_outcome(decimals._parse, t) for t in nums]
    assert len(got) == len(want)
    for text, g, w in zip(texts + nums, got, want):
        assert g == w, text


@SETTINGS
@given(st.sampled_from(["accept", "confirm", "reject"]),
       st.lists(st.tuples(st.sampled_from(sorted(codes.CODES)), st.sampled_from(["", " (", "x"]),
                          st.text(max_size=30) | st.sampled_from(PIECES)), max_size=6))
def test_the_result_line_with_the_codes_own_texts_is_the_generic_writers(verdict, found):
    # result_json joins a code's fixed text, escaped once, to its escaped
    # detail; the whole message escaped at once must be the same text
    findings = [(c, codes.severity(c), codes.text(c) + sep + detail) for c, sep, detail in found]
    findings += [(c, s, m[:len(m) // 2]) for c, s, m in findings]  # cut inside the fixed text (answers._clip)
    findings += [(c, "soft" if s != "soft" else "hard", m) for c, s, m in findings[:2]]  # another severity
    r = Result(verdict, findings)
    assert result_json(r) == result_json_dumps(r)
    if not any(0xD800 <= ord(ch) <= 0xDFFF for c, s, m in findings for ch in m):  # json pairs up surrogates
        assert json.loads(result_json(r))["findings"] == [{"code": c, "severity": s, "message": m}
                                                          for c, s, m in findings]


runs = st.lists(st.tuples(st.integers(0, 3).map(lambda k: 254 * k) | st.integers(0, 300), st.booleans()),
                max_size=6).map(lambda parts: b"".join(b"\x5a" * n + (b"\x00" if z else b"") for n, z in parts))


@SETTINGS
@given(st.integers(0, 0xFF), st.integers(0, 0xFFFF), runs | st.binary(max_size=2048))
def test_a_frame_written_in_one_buffer_is_the_one_of_before(ftype, seq, payload):
    # frames.encode writes COBS and both delimiters into one buffer (issue 11
    # item 4): the bytes on the wire must be those of the PyPI cobs package
    # around the frame packed as docs/protocol.md says
    import binascii

    import cobs.cobs as cobs

    from firmware.link import frames as link

    payload = payload[:link.MAX_PAYLOAD]
    body = bytes((ftype,)) + seq.to_bytes(2, "big") + payload
    body += (binascii.crc32(body) & 0xFFFFFFFF).to_bytes(4, "big")
    assert link.pack(ftype, seq, payload) == body == link.pack(ftype, seq, bytearray(payload))
    assert link.encode(ftype, seq, payload) == b"\x00" + cobs.encode(body) + b"\x00"
    assert link.cobs_encode(body) == cobs.encode(body) == link.cobs_encode(memoryview(body))
