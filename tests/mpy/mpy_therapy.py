# The therapy state machine under the real MicroPython unix port: every example
# scenario (docs/scenarios/*.json) runs through the pure machine and the pump's
# therapy shell on real files, and each answer is printed, so
# tests/test_therapy_engines.py can compare it byte for byte with CPython.
import os
import sys

from firmware import jsontext
from firmware.library.body import decode
from firmware.pump import Pump
from firmware.release import trust
from firmware.store.storage import FileStorage
from firmware.therapy import actions

ROOT = os.getenv("DRUGLIB_ROOT") or "."
LIB = os.getenv("DRUGLIB_RELEASED_LIBRARY")
TRUST = os.getenv("DRUGLIB_TRUST")
assert LIB and TRUST, "run through pytest, which builds the release"
SCEN = ROOT + "/docs/scenarios"


def scenario_files():
    return sorted(n for n in os.listdir(SCEN) if n.endswith(".json"))


def run(name, workdir):
    with open(SCEN + "/" + name) as fh:
        doc = jsontext.loads(fh.read())
    store = FileStorage(workdir)
    pump = Pump(store, trust.load(TRUST))
    pump.boot()
    with open(LIB, "rb") as fh:
        pump.install(fh.read)
    lines = []
    for i, step in enumerate(doc["steps"]):
        actions.parse(step)
        answer = pump.act(jsontext.dumps(actions.wire(step)), b"k%d" % i)
        got = jsontext.loads(answer)
        want = step["expect"]
        assert (got["result"], got["state"]) == (want["result"], want["state"]), (name, i + 1, got, want)
        lines.append(answer.decode("utf-8"))
        if i == len(doc["steps"]) // 2:  # power cycle in the middle: the record and state survive
            before = pump.therapy.t
            pump = Pump(store, trust.load(TRUST))
            pump.boot()
            assert pump.therapy.t == before, name
    for n in os.listdir(workdir):
        os.remove(workdir + "/" + n)
    os.rmdir(workdir)
    return lines


out_dir = TRUST.rsplit("/", 1)[0]
for name in scenario_files():
    for line in run(name, out_dir + "/mpy-therapy-" + name[:-5]):
        sys.stdout.write(name + " " + line + "\n")
print("OK mpy_therapy")
