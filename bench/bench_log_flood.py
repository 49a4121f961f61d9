"""A flood of checks against the bounded event log: the worst check time
(a roll-off) against the median one, CPython and the MicroPython unix port
side by side in one run (issue 11 item 4: "a log roll-off does not spike a
check"; issue 10 item 3: the roll-off keeps protected records).

    .venv/bin/python bench/bench_log_flood.py [--tiny]

Each engine runs the same snippet: a FileStorage in a temporary folder, the
default 32 KiB EventLog with an install and a boot record, then N check
records ({} CHECK: verdict reject, NO_LIBRARY); each append is timed. The
`ratio` line is worst / median append time under MicroPython. `--tiny`
(tests/test_bench_tiny.py) uses an 8 KiB log and few records: it proves the
benchmark runs, its figures mean nothing.
"""
import os
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from host_tools.engines import micropython_env, micropython_exe  # noqa: E402

SNIPPET = """
import sys
try:
    from time import ticks_us, ticks_diff
except ImportError:
    import time
    ticks_us = lambda: int(time.perf_counter() * 1000000)
    ticks_diff = lambda a, b: a - b
from firmware.store.storage import FileStorage
from firmware.store.eventlog import EventLog
from firmware.store import logrec
root, n, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
st = FileStorage(root)
log = EventLog(st, size)
log.recover()
log.install(3, 0)
log.boot("ok", 3)
ts = []
for i in range(n):
    t = ticks_us()
    log.check("reject", ["NO_LIBRARY"], "")
    ts.append(ticks_diff(ticks_us(), t))
kinds = [k for _s, k, _f in logrec.decode_all(log.read_all())]
assert "install" in kinds, "install record rolled off"
ts.sort()
print(ts[len(ts) // 2], ts[-1], kinds.count("rolloff"))
"""


def run(cmd, root, n, size):
    os.makedirs(root)
    proc = subprocess.run(cmd + [root, str(n), str(size)], capture_output=True, text=True, cwd=ROOT,
                          env=micropython_env())
    if proc.returncode != 0:
        raise RuntimeError("%s failed:\n%s" % (cmd[0], proc.stderr))
    med, worst, markers = (int(x) for x in proc.stdout.split())
    return med, worst, markers


def main(argv):
    tiny = "--tiny" in argv
    n, size, reps = (200, 8192, 1) if tiny else (3000, 32768, 3)
    with tempfile.TemporaryDirectory() as tmp:
        script = os.path.join(tmp, "flood.py")
        with open(script, "w") as f:
            f.write(SNIPPET)
        res = {}
        for name, cmd in (("CPython", [sys.executable, script]),
                          ("MicroPython", [micropython_exe(), "-X", "heapsize=16M", script])):
            runs = [run(cmd, os.path.join(tmp, "%s%d" % (name, i)), n, size) for i in range(reps)]
            res[name] = (statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs), runs[0][2])
    print("flood of %d check records into a %d-byte event log (median of %d runs):" % (n, size, reps))
    for name, (med, worst, markers) in res.items():
        print("  %-12s median %6d us, worst %7d us (a roll-off), %d markers in the log" % (name, med, worst, markers))
    med, worst, _m = res["MicroPython"]
    print("ratio worst / median check append, MicroPython %.2f (CPython %.2f)"
          % (worst / max(med, 1), res["CPython"][1] / max(res["CPython"][0], 1)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
