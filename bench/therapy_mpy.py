# Run by bench/bench_therapy.py under the MicroPython unix port (also runs
# under CPython): a whole cycle of 24 h bags through the therapy machine, pure
# and through the pump's shell (saved state + event log on real files),
# against the baseline of the same programmings through the checker alone.
#   micropython bench/therapy_mpy.py LIBRARY DAYS STATE_DIR   (real files in STATE_DIR)
import sys
import time

from firmware import jsontext
from firmware.check.checker import check
from firmware.library.body import decode
from firmware.store.eventlog import EventLog
from firmware.store.storage import FileStorage
from firmware.therapy import actions, machine
from firmware.therapy.device import TherapyDevice


def now_us():
    if hasattr(time, "ticks_us"):
        return time.ticks_us()
    return int(time.perf_counter() * 1000000)


def bag(day):
    dose, mcg = (9, "10.125") if day <= 7 else (28, "31.5")
    return ('{"drug": "blinatumomab", "indication": "relapsed-refractory", "cycle": 1, "day": %d,'
            ' "restart_after_adverse_event": false, "patient": {"age_days": 15000, "weight_kg": 70, "bsa_m2": 1.8},'
            ' "dose": {"value": %d, "unit": "mcg/day"}, "bag": {"blinatumomab_mcg": %s, "volume_ml": 270,'
            ' "preservative": false}, "infusion": {"rate_ml_h": 10, "duration_h": 24, "vtbi_ml": 240},'
            ' "line": {"inline_filter": true, "dehp_free": true}, "overrides": []}' % (day, dose, mcg))


def cycle(days):
    out = ['{"action": "program", "request": %s}' % bag(1)]
    for d in range(1, days + 1):
        if d > 1:
            out.append('{"action": "bag_change", "request": %s}' % bag(d))
        out.append('{"action": "start"}')
        out.append('{"action": "advance", "hours": 24}')
    return out


def main(argv):
    with open(argv[1], "rb") as fh:
        lib = decode(fh.read())[1]
    days = int(argv[2])
    texts = cycle(days)
    t0 = now_us()
    for d in range(1, days + 1):
        check(lib, jsontext.loads(bag(d)))
    base = now_us() - t0
    t0 = now_us()
    t = machine.Therapy()
    for text in texts:
        a = actions.parse(jsontext.loads(text))
        o = machine.step(t, a, t.clock_mh + a.args.get("hours", 0), lib)
        t = o.after
    pure = now_us() - t0
    assert t.state == ("cycle-complete" if days == 28 else "bag-empty"), t.state
    st = FileStorage(argv[3])
    log = EventLog(st, 32768)
    dev = TherapyDevice(st, log)
    dev.boot()
    t0 = now_us()
    for text in texts:
        dev.act(text, lib)
    shell = now_us() - t0
    assert dev.t.state == t.state
    print("RESULT actions=%d checks=%d base_us=%d pure_us=%d shell_us=%d" % (len(texts), days, base, pure, shell))


if __name__ == "__main__":
    main(sys.argv)
