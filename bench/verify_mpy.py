# Run by bench/bench_verify.py under the MicroPython unix port (and, for the
# baseline, imported under CPython): times the pump's release verification.
# argv: trust.json library.bin repetitions. Prints one line per measurement:
# "<name> <median_us> <min_us> <max_us>".
import sys
import time

try:
    ticks = time.ticks_us
    diff = time.ticks_diff
except AttributeError:  # CPython
    def ticks():
        return time.perf_counter_ns() // 1000

    def diff(a, b):
        return a - b

from firmware.release import verify as release
from firmware.release import trust


def timed(fn, reps):
    out = []
    for _ in range(reps):
        t0 = ticks()
        fn()
        out.append(diff(ticks(), t0))
    out.sort()
    return out[len(out) // 2], out[0], out[-1]


def measure(trust_path, lib_path, reps):
    with open(trust_path, "rb") as f:
        text = f.read()
    with open(lib_path, "rb") as f:
        blob = f.read()
    store = trust.parse(text)
    rel = release.verify_blob(blob, store, None)
    assert rel.status == "install" and len(rel.signers) == 2
    return [
        ("verify_release", timed(lambda: release.verify_blob(blob, store, None), reps)),
        ("trust_load", timed(lambda: trust.parse(text), reps)),
    ]


if __name__ == "__main__":
    for name, (med, lo, hi) in measure(sys.argv[1], sys.argv[2], int(sys.argv[3])):
        print("%s %d %d %d" % (name, med, lo, hi))
