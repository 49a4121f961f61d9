"""A flood of checks against the bounded event log: the worst and the median
check append (roll-off shares included) against a plain append, at 8, 32 and
128 KiB, CPython and the MicroPython unix port side by side in one run (issue
11 item 4: "a log roll-off does not spike a check"; issue 10 item 3: the
roll-off keeps protected records; docs/adr/0017-incremental-roll-off.md).

    .venv/bin/python bench/bench_log_flood.py [--tiny]

Each engine runs the same snippet: a FileStorage in a temporary folder, an
EventLog of the size with an install and a boot record, then N check records
({} CHECK: verdict reject, NO_LIBRARY), enough for several roll-offs; each
append is timed. The baseline "plain" is the median append while the log is
below 3/4 of its budget (no roll-off work: the same append, the same files).
The worst of a few thousand appends is at the mercy of the machine (a
plain append's worst is printed beside it); the 99th percentile is the
steadier figure, also printed as a ratio. The last `ratio` line is worst /
plain under MicroPython at 32 KiB (the issue's
target: a small constant, flat over the sizes; each size's ratio is printed
too). `--tiny` (tests/test_bench_tiny.py) uses an 8 KiB log and few records:
it proves the benchmark runs, its figures mean nothing.
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
sys.path.insert(0, sys.argv[4])  # this tree's firmware, not an installed one
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
plain = []
ts = []
switches = 0
for i in range(n):
    before = log.size
    busy = log.b is not None or before + 120 > log.start
    t = ticks_us()
    log.check("reject", ["NO_LIBRARY"], "")
    dt = ticks_diff(ticks_us(), t)
    if busy:
        ts.append(dt)
    else:
        plain.append(dt)
    switches += log.size < before
kinds = [k for _s, k, _f in logrec.decode_all(log.read_all())]
assert "install" in kinds, "install record rolled off"
assert switches >= 1, "no roll-off happened"
ts.sort()
plain.sort()
print(plain[len(plain) // 2], ts[len(ts) // 2], ts[-1], switches, plain[-1], ts[len(ts) * 99 // 100])
"""


def run(cmd, root, n, size):
    os.makedirs(root)
    proc = subprocess.run(cmd + [root, str(n), str(size), ROOT], capture_output=True, text=True, cwd=ROOT,
                          env=micropython_env())
    if proc.returncode != 0:
        raise RuntimeError("%s failed:\n%s" % (cmd[0], proc.stderr))
    return tuple(int(x) for x in proc.stdout.split())


def main(argv):
    tiny = "--tiny" in argv
    sizes, reps = ((8192,), 1) if tiny else ((8192, 32768, 131072), 3)
    with tempfile.TemporaryDirectory() as tmp:
        script = os.path.join(tmp, "flood.py")
        with open(script, "w") as f:
            f.write(SNIPPET)
        res = {}
        for size in sizes:
            n = 200 if tiny else 3 * size // 100  # records of about 100 bytes: three roll-offs or more
            for name, cmd in (("CPython", [sys.executable, script]),
                              ("MicroPython", [micropython_exe(), "-X", "heapsize=16M", script])):
                runs = [run(cmd, os.path.join(tmp, "%s%d-%d" % (name, size, i)), n, size) for i in range(reps)]
                med = [statistics.median(r[k] for r in runs) for k in range(6)]
                res[name, size] = (med[0], med[1], med[2], runs[0][3], n, med[4], med[5])
    print("flood of check records into the event log (median of %d runs; plain = an append below 3/4):" % reps)
    for (name, size), (plain, med, worst, switches, n, pworst, p99) in sorted(res.items(),
                                                                             key=lambda kv: (kv[0][1], kv[0][0])):
        print("  %6d B %-12s %5d records, %2d roll-offs: plain %4d us (worst %5d), during roll-off median %4d us, "
              "99th pct %4d us, worst %5d us (%.2f x plain)"
              % (size, name, n, switches, plain, pworst, med, p99, worst, worst / max(plain, 1)))
    ref = 8192 if tiny else 32768
    plain, _med, worst = res["MicroPython", ref][:3]
    flat = " ".join("%d KiB %.2f" % (size // 1024, res["MicroPython", size][6] / max(res["MicroPython", size][0], 1))
                    for size in sizes)
    print("ratio 99th percentile / plain check append, MicroPython: %s" % flat)
    flat = " ".join("%d KiB %.2f" % (size // 1024, res["MicroPython", size][2] / max(res["MicroPython", size][0], 1))
                    for size in sizes)
    print("ratio worst / plain check append, MicroPython %d KiB %.2f (%s; CPython %.2f)"
          % (ref // 1024, worst / max(plain, 1), flat, res["CPython", ref][2] / max(res["CPython", ref][0], 1)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
