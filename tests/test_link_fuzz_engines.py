"""Hypothesis fuzzing of the pump's server under both engines (issue 11,
"How it is checked"; issue 11 item 5: never an exception out of the loop).

Hypothesis draws the examples under CPython; each runs through the server
here (CPython) and, all in one process, under the real MicroPython unix port
(tests/mpy/fuzz_server_corpus.py). Both must answer every request frame
exactly once, never raise out of feed(), and keep the active library. The
two engines must also agree on how many answers each example got.
"""
from hypothesis import HealthCheck, given, settings, strategies as st

from firmware.link import frames as link
from firmware.link.server import PumpServer
from firmware.pump import Pump
from firmware.release import trust
from firmware.store.faultstorage import FaultStorage
from mpyrun import run_micropython

import os

REQ_TYPES = [link.INFO, link.BEGIN, link.DATA, link.END, link.ABORT, link.LOG, link.CHECK, link.THERAPY,
             0x00, 0x09, 0x7F]
CHECK_TEXT = (b'{"drug": "blinatumomab", "indication": "mrd", "cycle": 1, "day": 1, "patient": '
              b'{"weight_kg": 70}, "programmed": {"rate_ml_h": 10, "duration_h": 24, "vtbi_ml": 240}}')


def _mutate(data, flips):
    b = bytearray(data)
    for at, bit in flips:
        if b:
            b[at % len(b)] ^= 1 << bit
    return bytes(b)


frame = st.tuples(st.sampled_from(REQ_TYPES), st.integers(0, 0xFFFF), st.binary(max_size=120))
mutated_check = st.lists(st.tuples(st.integers(0, 400), st.integers(0, 7)), min_size=1, max_size=4).map(
    lambda flips: (link.CHECK, 7, _mutate(CHECK_TEXT, flips)))
item = st.one_of(frame.map(lambda f: ("F",) + f), mutated_check.map(lambda f: ("F",) + f),
                 st.binary(max_size=200).map(lambda b: ("N", b)))
EXAMPLES = []


def _server():
    blob = open(os.environ["DRUGLIB_RELEASED_LIBRARY"], "rb").read()
    pump = Pump(FaultStorage(), trust.load(os.environ["DRUGLIB_TRUST"]))
    pump.boot()
    pump.install(blob)
    return PumpServer(pump, "fuzz"), blob


_SRV = {}


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(item, max_size=10))
def _cpython_example(items):
    if "srv" not in _SRV:
        _SRV["srv"] = _server()
    srv, blob = _SRV["srv"]
    answers = 0
    for it in items:
        if it[0] == "F":
            out = link.Decoder().feed(srv.feed(link.encode(it[1], it[2], it[3])))
            assert len([f for f in out if isinstance(f, link.Frame) and f.ftype != link.NAK]) == 1
            answers += 1
        else:
            srv.feed(it[1])
    srv.idle()
    assert srv.pump.store.library_bytes() == blob
    EXAMPLES.append((items, answers))


def test_fuzzed_frames_under_both_engines_never_escape_the_loop_nor_touch_the_library():
    EXAMPLES.clear()
    _cpython_example()
    assert len(EXAMPLES) >= 20, len(EXAMPLES)
    lines = []
    for items, _ in EXAMPLES:
        for it in items:
            lines.append("F %d %d %s" % (it[1], it[2], it[3].hex()) if it[0] == "F" else "N " + it[1].hex())
        lines.append("--")
    proc = run_micropython([os.path.join(os.path.dirname(__file__), "mpy", "fuzz_server_corpus.py")],
                           stdin=("\n".join(lines) + "\n").encode())
    out = proc.stdout.decode("utf-8", "replace")
    assert proc.returncode == 0, out + proc.stderr.decode("utf-8", "replace")
    assert ("OK fuzz_server_corpus %d" % len(EXAMPLES)) in out, out
    got = [int(line.split()[-1]) for line in out.splitlines() if line.startswith("example ")]
    assert got == [a for _, a in EXAMPLES]  # the same number of answers, example by example
