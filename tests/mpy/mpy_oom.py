# Issue 11 item 5 under the MicroPython unix port (tests/test_micropython.py)
# and CPython (tests/test_out_of_memory.py): MemoryError injected where the
# heap can run out. A CHECK whose answer cannot be built is answered ERR and
# NOT logged (then, resent, checked and logged once); the serve loop answers
# a MemoryError with a NAK and goes on; a MemoryError at boot is one FAULT
# line and exit 3.
import os
import sys

from firmware import pumpmain
from firmware.link import answers
from firmware.link import frames as link
from firmware.link import server as srvmod
from firmware.link.server import PumpServer
from firmware.pump import Pump
from firmware.release import trust
from firmware.store import logrec
from firmware.store.faultstorage import FaultStorage

LIB = os.getenv("DRUGLIB_RELEASED_LIBRARY")
TRUST = os.getenv("DRUGLIB_TRUST")
assert LIB and TRUST, "run through pytest, which builds the release"
PROG = ('{"drug": "blinatumomab", "indication": "mrd", "cycle": 1, "day": 1, "restart_after_adverse_event": false,'
        ' "patient": {"age_days": 9000, "weight_kg": 70, "bsa_m2": 1.8}, "dose": {"value": 28, "unit": "mcg/day"},'
        ' "bag": {"blinatumomab_mcg": 31.5, "volume_ml": 270, "preservative": false},'
        ' "infusion": {"rate_ml_h": 10, "duration_h": 24, "vtbi_ml": 240},'
        ' "line": {"inline_filter": true, "dehp_free": true}, "overrides": []}')

with open(LIB, "rb") as fh:
    blob = fh.read()
pump = Pump(FaultStorage(), trust.load(TRUST))
pump.boot()
assert pump.install(blob)["status"] == "installed"
srv = PumpServer(pump, "oom")


def checks():
    return [k for _, k, _ in logrec.decode_all(pump.log.read_all())].count("check")


def answer(wire):
    out = link.Decoder().feed(srv.feed(wire))
    assert len(out) == 1, out
    return out[0]


# --- a CHECK whose answer runs out of heap: ERR, and not logged as answered ---
real = srvmod._result_payload


def no_room(result):
    raise MemoryError()


before = checks()
srvmod._result_payload = no_room
wire = link.encode(link.CHECK, 7, PROG.encode())
a = answer(wire)
srvmod._result_payload = real
assert a.ftype == link.ERR and b"out of memory" in a.payload and a.seq == 7, a.payload
assert checks() == before, "a check answered ERR must not be logged"
a = answer(wire)  # the host resends it: checked now, answered with its verdict, logged once
assert a.ftype == link.CHECK | link.OK and b'"verdict": "accept"' in a.payload, a.payload
assert checks() == before + 1
a = answer(wire)  # and a second resend is the cached answer, never checked twice
assert a.ftype == link.CHECK | link.OK and checks() == before + 1
assert answers.result_payload is real

# --- anywhere else in a request: ERR "out of memory", the server goes on ---
real_info = srv.info


def no_info():
    raise MemoryError()


srv.info = no_info
a = answer(link.encode(link.INFO, 8))
assert a.ftype == link.ERR and b"out of memory" in a.payload
srv.info = real_info
assert answer(link.encode(link.INFO, 9)).ftype == link.INFO | link.OK


# --- the serve loop: a MemoryError out of feed is a NAK, and the loop goes on ---
class Line:
    def __init__(self, chunks):
        self.chunks = list(chunks)
        self.out = []

    def wait(self, ms):
        return True

    def read(self):
        return self.chunks.pop(0) if self.chunks else b""

    def write(self, data):
        self.out.append(data)


class Flaky:
    """A server whose first feed runs out of heap (in the frame decoder, say)."""

    def __init__(self, inner):
        self.inner = inner
        self.dec = inner.dec
        self.failed = False

    def feed(self, data):
        if not self.failed:
            self.failed = True
            raise MemoryError()
        return self.inner.feed(data)

    def idle(self):
        self.inner.idle()


line = Line([link.encode(link.INFO, 20), link.encode(link.INFO, 21)])
assert pumpmain.serve(Flaky(srv), line) == 0
got = [link.Decoder().feed(w)[0] for w in line.out]
assert [g.ftype for g in got] == [link.NAK, link.INFO | link.OK], got
assert got[0].payload == b"memory" and got[1].seq == 21


# --- MemoryError at boot: the documented fail-safe state ---
class NoRoomPump:
    def __init__(self, st, ts):
        pass

    def boot(self):
        raise MemoryError()


real_pump = pumpmain.Pump
pumpmain.Pump = NoRoomPump
errors = []
real_err = pumpmain._err
pumpmain._err = errors.append
state = TRUST.rsplit("/", 1)[0] + "/oom-state"
try:
    rc = pumpmain.main(["pumpmain", "--state", state, "--trust", TRUST], Line([]))
finally:
    pumpmain.Pump = real_pump
    pumpmain._err = real_err
assert rc == 3, rc
assert len(errors) == 1 and errors[0].startswith("FAULT PUMP_ERROR: out of memory at boot"), errors
try:
    names = os.listdir(state)
except OSError:
    names = None
if names is not None:
    for name in names:
        os.remove(state + "/" + name)
    os.rmdir(state)
print("OK mpy_oom")
