"""The event-log record writer builds each record in one buffer since issue
11 item 4 (the CHECK path within 1 ms: the fields of a check record took
22 us on MicroPython). Not one byte may change, nor any refusal: the
firmware's encode_fields and encode are compared with the writer as it was
(tests/logrecref.py) over drawn fields, under CPython and, on a fixed
corpus, under the MicroPython unix port."""
import json
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import logrecref
from firmware.store import logrec
from mpyrun import MPY_DIR, run_micropython

SETTINGS = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])

texts = st.text(max_size=8) | st.sampled_from(["", "é", "\U0001F489", "x" * 255, "x" * 256, "NO_FLUSH"])
values = (st.integers(-(1 << 64), 1 << 64) | st.booleans() | texts | st.binary(max_size=8)
          | st.lists(texts, max_size=4) | st.lists(texts, max_size=4).map(tuple)
          | st.text(min_size=300, max_size=1100) | st.floats(allow_nan=False) | st.none())
fields = st.dictionaries(st.text(max_size=6) | st.sampled_from(["codes", "drug", "verdict", "x" * 256]),
                         values, max_size=5)


def outcome(fn, *args):
    try:
        return ["bytes", fn(*args).hex()]
    except ValueError as e:
        return ["error", str(e)]


@SETTINGS
@given(fields)
def test_fields_encode_to_the_bytes_and_refusals_of_before(f):
    assert outcome(logrec.encode_fields, f) == outcome(logrecref.encode_fields, f)


def test_a_list_of_more_than_255_items_is_refused_on_both_engines():
    # before: bytes([T_LIST, 300]) raised on CPython ("bytes must be in
    # range(0, 256)"); the new writer says why, and never keeps the low 8 bits
    # (bytearray.append does on MicroPython)
    with pytest.raises(ValueError):
        logrecref.encode_fields({"codes": ["a"] * 300})
    with pytest.raises(ValueError, match="too many log list items"):
        logrec.encode_fields({"codes": ["a"] * 300})


@SETTINGS
@given(st.integers(1, 255), st.integers(0, (1 << 32) - 1), st.binary(min_size=32, max_size=32),
       st.binary(max_size=1100), st.none() | st.binary(min_size=32, max_size=32))
def test_records_encode_to_the_bytes_of_before(kind, seq, prev, payload, chain):
    assert outcome(logrec.encode, kind, seq, prev, payload, chain) == \
        outcome(logrecref.encode, kind, seq, prev, payload, chain)


def _corpus(seed=4, n=300):
    rnd = random.Random(seed)
    words = ["", "a", "é", "\U0001F489", "NO_FLUSH", "x" * 255, "x" * 256, "blinatumomab"]
    out = []
    for _ in range(n):
        f = {}
        for _ in range(rnd.randrange(5)):
            kind = rnd.randrange(5)
            if kind == 0:
                v = rnd.choice([0, 1, -1, 127, 128, -129, 1 << 40, -(1 << 63), (1 << 63) - 1, 1 << 70])
            elif kind == 1:
                v = rnd.choice(words) * rnd.choice([1, 1, 5])
            elif kind == 2:
                v = {"hex": bytes(rnd.randrange(256) for _ in range(rnd.randrange(6))).hex()}
            else:
                v = [rnd.choice(words) for _ in range(rnd.choice([0, 1, 3, 256]))]
            f[rnd.choice(["codes", "drug", "verdict", "n", "why", ""])] = v
        out.append(f)
    return out


def _decoded(f):
    return {k: bytes.fromhex(v["hex"]) if isinstance(v, dict) else v for k, v in f.items()}


def test_micropython_writes_the_bytes_cpython_wrote_before():
    corpus = _corpus()
    recs = [(k, s, bytes([k]) * 32, bytes(range(k % 7)) * k) for k, s in ((1, 0), (2, 5), (0x7F, 1 << 31), (255, 70000))]
    # raw UTF-8, not \\u escapes: MicroPython's json does not pair surrogate escapes
    lines = ["f " + json.dumps(f, ensure_ascii=False) for f in corpus]
    lines += ["r %d %d %s %s" % (k, s, p.hex(), q.hex()) for k, s, p, q in recs]
    proc = run_micropython([MPY_DIR + "/logrec_agree.py"], stdin="\n".join(lines).encode())
    out = proc.stdout.decode().split("\n")
    assert proc.returncode == 0 and "OK logrec_agree" in out, proc.stdout.decode() + proc.stderr.decode()
    got = out[:out.index("OK logrec_agree")]
    want = []
    for f in corpus:
        o = outcome(logrecref.encode_fields, _decoded(f))
        want.append(o[1] if o[0] == "bytes" else "error")
    want += [logrecref.encode(k, s, p, q).hex() for k, s, p, q in recs]
    assert got == want
