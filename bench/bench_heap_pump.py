"""Issue 11 item 5: the mpy-cross-compiled pump in a small heap vs a large
one, side by side: boot, push and install a 64 KiB library, check, then
10,000 fuzzed frames (tests/mpy/heap_pump.py; the test is
tests/test_heap_pump.py with 2,000 frames, 10,000 with DRUGLIB_SLOW_TESTS=1).

    .venv/bin/python bench/bench_heap_pump.py [--tiny] [--heap 352K] [--frames 10000]

Prints, per heap, the frames, the answers, how many were "out of memory",
the time per frame and the live heap after a collection (at frame 500 and
its maximum), then `ratio small / large heap time per frame`. `--tiny` (run
by `make test`) is 200 fuzzed frames: it proves the bench runs.
"""
import argparse
import os
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests"))
sys.path.insert(0, ROOT)

from test_heap_pump import HEAP, figures, run_heap_pump  # noqa: E402


def main(argv):
    ap = argparse.ArgumentParser()
    ap.add_argument("--tiny", action="store_true")
    ap.add_argument("--heap", default=HEAP)
    ap.add_argument("--frames", type=int, default=10000)
    a = ap.parse_args(argv)
    frames = 200 if a.tiny else a.frames
    rows = []
    for heap in (a.heap, "8M"):
        with tempfile.TemporaryDirectory() as tmp:
            proc, size = run_heap_pump(tmp, frames, heapsize=heap)
        if proc.returncode != 0 or "OK heap_pump" not in proc.stdout:
            print("heap %s FAILED:\n%s%s" % (heap, proc.stdout, proc.stderr))
            return 1
        rows.append((heap, size, figures(proc)))
    print("compiled pump: boot, push + install a %d-byte library, check, %d fuzzed frames (MicroPython unix port)"
          % (rows[0][1], frames))
    print("%6s %7s %8s %14s %10s %12s %12s" % ("heap", "frames", "answers", "out of memory", "us/frame",
                                              "live@500", "live max"))
    for heap, _, f in rows:
        print("%6s %7s %8s %14s %10s %12s %12s" % (heap, f["frames"], f["answers"], f["out_of_memory"],
                                                  f["us_per_frame"], f["live_at_500"], f["live_max"]))
    small, large = rows[0][2], rows[1][2]
    print("ratio %s / 8M heap time per frame %.2f" % (a.heap, int(small["us_per_frame"]) / max(1, int(large["us_per_frame"]))))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
