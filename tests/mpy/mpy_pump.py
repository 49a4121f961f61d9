# The pump shell under the MicroPython unix port: a released blinatumomab
# library (built and signed by the CPython test session, see tests/conftest.py)
# is installed on real files, then programmings are checked and logged.
import os

from firmware.store import logrec
from firmware.release import trust
from firmware.pump import Pump
from firmware.store.storage import FileStorage

LIB = os.getenv("DRUGLIB_RELEASED_LIBRARY")
TRUST = os.getenv("DRUGLIB_TRUST")
assert LIB and TRUST, "run through pytest (tests/test_micropython.py), which builds the release"

GOOD = ('{"drug": "blinatumomab", "indication": "relapsed-refractory", "cycle": 1, "day": 1,'
        ' "restart_after_adverse_event": false, "patient": {"age_days": 15000, "weight_kg": 70, "bsa_m2": 1.8},'
        ' "dose": {"value": 9, "unit": "mcg/day"}, "bag": {"blinatumomab_mcg": 68.75, "volume_ml": 110,'
        ' "preservative": true}, "infusion": {"rate_ml_h": 0.6, "duration_h": 168, "vtbi_ml": 100.8},'
        ' "line": {"inline_filter": false, "dehp_free": true}, "overrides": []}')
SLIP = GOOD.replace('"rate_ml_h": 0.6', '"rate_ml_h": 6')

root = TRUST.rsplit("/", 1)[0] + "/mpy-pump"  # a fresh folder of this test session
store = FileStorage(root)
ts = trust.load(TRUST)
pump = Pump(store, ts)
assert pump.boot()["state"] == "no-library"
assert '"NO_LIBRARY"' in pump.check_text(GOOD)[0]
with open(LIB, "rb") as fh:
    assert pump.install(fh.read)["status"] == "installed"
out = pump.check_text(GOOD + "\n" + SLIP)
assert out[0].startswith('{"verdict": "accept"'), out[0]
assert out[1].startswith('{"verdict": "reject"') and "RATE_NOT_FIXED" in out[1], out[1]
again = Pump(store, ts)
assert again.boot()["version"] == 3
kinds = [k for _, k, _ in logrec.decode_all(again.log.read_all())]
assert kinds.count("check") == 3 and "install" in kinds, kinds
again.log.verify()
for name in os.listdir(root):
    os.remove(root + "/" + name)
os.rmdir(root)
print("OK mpy_pump")
