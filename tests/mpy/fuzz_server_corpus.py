# Issue 11, "How it is checked": hypothesis fuzzing of the pump's server
# under BOTH engines. tests/test_link_fuzz_engines.py draws the examples with
# hypothesis under CPython (frames of every request type with random
# payloads, mutated valid requests, raw noise) and runs this script over
# them under MicroPython: never an exception out of feed(), exactly one
# answer (maybe after a NAK) per request frame, the active library unchanged.
# stdin: one example per line, "F <type> <seq> <hex payload>" or "N <hex>",
# examples separated by "--". stdout: one line per example, then "OK".
import os
import sys

from firmware.link import frames as link
from firmware.release import trust
from firmware.store.faultstorage import FaultStorage
from firmware.pump import Pump
from firmware.link.server import PumpServer

with open(os.getenv("DRUGLIB_RELEASED_LIBRARY"), "rb") as fh:
    blob = fh.read()
pump = Pump(FaultStorage(), trust.load(os.getenv("DRUGLIB_TRUST")))
pump.boot()
pump.install(blob)
srv = PumpServer(pump, "fuzz")
active = pump.store.library_bytes()
assert active == blob

n = 0
answers = 0
for raw in sys.stdin:
    line = raw.strip()
    if line == "--":
        assert pump.store.library_bytes() == active, "example %d changed the active library" % n
        srv.idle()  # the line is quiet between examples: forget an unfinished frame
        print("example %d answers %d" % (n, answers))
        n += 1
        answers = 0
        continue
    if not line:
        continue
    parts = line.split(" ")
    if parts[0] == "F":
        payload = bytes.fromhex(parts[3]) if len(parts) > 3 else b""
        out = link.Decoder().feed(srv.feed(link.encode(int(parts[1]), int(parts[2]), payload)))
        got = [f for f in out if isinstance(f, link.Frame) and f.ftype != link.NAK]
        assert len(got) == 1, "example %d: %d answers to one request" % (n, len(got))
        answers += 1
    else:
        srv.feed(bytes.fromhex(parts[1]) if len(parts) > 1 else b"")
assert pump.store.library_bytes() == active
print("OK fuzz_server_corpus %d" % n)
