# Issue 10 item 3 under the MicroPython unix port, at a smaller scale: a pump
# with a released library on real files takes a flood of 1,500 `{}` checks
# into an 8 KiB log; the install record survives, every roll-off left a
# marker saying it dropped checks, and the chain verifies against the head.
import os

from firmware.store import logrec
from firmware.release import trust
from firmware.pump import Pump
from firmware.store.storage import FileStorage

LIB = os.getenv("DRUGLIB_RELEASED_LIBRARY")
TRUST = os.getenv("DRUGLIB_TRUST")
assert LIB and TRUST, "run through pytest (tests/test_micropython.py), which builds the release"

root = TRUST.rsplit("/", 1)[0] + "/mpy-retention"
store = FileStorage(root)
ts = trust.load(TRUST)
pump = Pump(store, ts, log_max_bytes=8192)
pump.boot()
with open(LIB, "rb") as fh:
    assert pump.install(fh.read)["status"] == "installed"
for _ in range(1500):
    pump.check_text("{}")
data = pump.log.read_all()
recs = logrec.decode_all(data)
kinds = [k for _s, k, _f in recs]
assert "install" in kinds and "boot" in kinds, kinds[:8]
marks = [f for _s, k, f in recs if k == "rolloff"]
assert marks and all(len(f["kinds"]) == 1 and f["kinds"][0].startswith("check") for f in marks), marks
assert sum(f["dropped"] for f in marks) + len(recs) - len(marks) == pump.log.seq + 1
logrec.verify_chain(data, (pump.log.seq, pump.log.chain))
again = Pump(store, ts, log_max_bytes=8192)
again.boot()
again.log.verify()
for name in os.listdir(root):
    os.remove(root + "/" + name)
os.rmdir(root)
print("OK mpy_log_retention")
