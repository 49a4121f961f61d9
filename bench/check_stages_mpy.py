# Run under the MicroPython unix port by bench/check_stages.py (issue 11 item
# 4): where one CHECK through PumpServer.feed spends its time. The pump of
# bench/pump_heap_mpy.py installs a released library, then each stage's
# function is wrapped with time.ticks_us where the path calls it, and
# `checks` CHECK frames are fed. Prints one line per stage: name, median, min (us).
#
# argv: library trust.json state-dir checks drug-name
import gc, os, sys, time
from firmware.link import frames as link
from firmware.link import server as srvmod
from firmware import pump as pumpmod
from firmware.pump import Pump
from firmware.release import trust
from firmware.store.storage import FileStorage
from firmware.store import logrec
from firmware.store import eventlog
PROG = ('{"drug": "%s", "indication": "mrd", "cycle": 1, "day": 1, "restart_after_adverse_event": false,'
        ' "patient": {"age_days": 9000, "weight_kg": 70, "bsa_m2": 1.8}, "dose": {"value": 28, "unit": "mcg/day"},'
        ' "bag": {"blinatumomab_mcg": 31.5, "volume_ml": 270, "preservative": false},'
        ' "infusion": {"rate_ml_h": 10, "duration_h": 24, "vtbi_ml": 240},'
        ' "line": {"inline_filter": true, "dehp_free": true}, "overrides": []}')
lib_path, trust_path, root, checks, drug = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
st = FileStorage(root)
pump = Pump(st, trust.load(trust_path))
pump.boot()
srv = srvmod.PumpServer(pump, "bench")
f = open(lib_path, "rb")
assert pump.install(f.read)["status"] == "installed"
f.close()
us = time.ticks_us
d = time.ticks_diff
acc = {}
def timed(name, fn):
    def w(*a):
        t = us()
        r = fn(*a)
        acc[name] = acc.get(name, 0) + d(us(), t)
        return r
    return w
srvmod.decode_utf8 = timed("utf8", srvmod.decode_utf8)
pumpmod._parsed = timed("json", pumpmod._parsed)
pumpmod.check_parsed = timed("checker", pumpmod.check_parsed)
srvmod._result_payload = timed("result text", srvmod._result_payload)
link.encode = timed("frame encode", link.encode)
srv.dec.feed = timed("frame decode", srv.dec.feed)
logrec.encode_fields = timed("log fields", logrec.encode_fields)
logrec.encode = timed("log record", logrec.encode)
st.append = timed("log append (open/write/fsync/close)", st.append)
frames = [(link.encode(link.CHECK, 1000 + i, (PROG % drug).encode())) for i in range(checks)]
rows = []
for i in range(checks):
    acc.clear()
    t = us()
    out = srv.feed(frames[i])
    tot = d(us(), t)
    acc["whole"] = tot
    rows.append(dict(acc))
names = ["frame decode", "utf8", "json", "checker", "result text", "frame encode", "log fields", "log record",
         "log append (open/write/fsync/close)", "whole"]
for k in names:
    v = sorted(r.get(k, 0) for r in rows)
    print("%-38s median %6d us  min %6d" % (k, v[len(v) // 2], v[0]))
rest = sorted(r["whole"] - sum(r.get(k, 0) for k in names[:-1]) for r in rows)
print("%-38s median %6d us  min %6d" % ("rest (server, pump glue, wrappers)", rest[len(rest) // 2], rest[0]))
nofs = sorted(r["whole"] - r.get(names[-2], 0) for r in rows)
print("%-38s median %6d us  min %6d" % ("whole without the log append", nofs[len(nofs) // 2], nofs[0]))
