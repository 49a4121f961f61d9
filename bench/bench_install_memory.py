"""Peak heap growth of a library install on the MicroPython unix port,
4 KiB vs 256 KiB library (issue 4: install reads and verifies in bounded
chunks, so the growth must stay flat).

    .venv/bin/python bench/bench_install_memory.py [--json] [--tiny]

Each size runs in its own `micropython` process (bench/install_memory_mpy.py)
with the live heap sampled at every storage operation; a third run installs
the 256 KiB library in a 96 KiB heap (which must also hold the compiled firmware modules), which only works if the library is
never held in RAM. `--tiny` (run by `make test`, tests/test_bench_tiny.py)
installs 1 KiB and 8 KiB libraries, the 8 KiB one also in the 96 KiB heap: it
proves the benchmark runs.

Then the whole pump (issue 11 item 4: firmware/pump.py with the library
index, bench/pump_heap.py): a released formulary of 1, 50 and 500 drugs and
of 4, 64 and 256 KiB installed by Pump.install (verified, indexed as the
slot is hashed: the body is read once), the live-heap peak over the heap
after boot; ratios largest / smallest (--tiny: 1 and 4 drugs).
"""
import json
import os
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests"))

from mpyrun import micropython_exe  # noqa: E402

SCRIPT = os.path.join(ROOT, "bench", "install_memory_mpy.py")
SIZES = (4 * 1024, 256 * 1024)
TINY_SIZES = (1024, 8 * 1024)
SMALL_HEAP = "96K"


def run(body_len, heapsize="8M"):
    import subprocess

    env = dict(os.environ)
    env["MICROPYPATH"] = ".frozen:" + ROOT + ":" + os.path.join(ROOT, "tests", "mpy")
    with tempfile.TemporaryDirectory() as tmp:
        proc = subprocess.run([micropython_exe(), "-X", "heapsize=" + heapsize, SCRIPT, str(body_len),
                               os.path.join(tmp, "pump")], capture_output=True, text=True, env=env,
                              timeout=300, cwd=ROOT)
    if proc.returncode != 0:
        raise RuntimeError("micropython failed:\n" + proc.stdout + proc.stderr)
    n, growth, samples = (int(x) for x in proc.stdout.split()[-3:])
    return {"body_len": n, "peak_growth_bytes": growth, "samples": samples, "heapsize": heapsize}


def measure(sizes=SIZES):
    rows = [run(n) for n in sizes]
    rows.append(run(sizes[-1], SMALL_HEAP))
    return rows


def main(argv):
    tiny = "--tiny" in argv
    sizes = TINY_SIZES if tiny else SIZES
    rows = measure(sizes)
    small, large = rows[0], rows[1]
    ratio = large["peak_growth_bytes"] / max(1, small["peak_growth_bytes"])
    if "--json" in argv:
        print(json.dumps({"rows": rows, "ratio_large_to_small": round(ratio, 3)}))
        pump_rows(tiny)
        return 0
    print("install peak heap growth on the MicroPython unix port (live heap, sampled at every storage op)")
    print("%12s %10s %14s %9s" % ("library body", "heap", "peak growth", "samples"))
    for r in rows:
        print("%10d B %10s %12d B %9d" % (r["body_len"], r["heapsize"], r["peak_growth_bytes"], r["samples"]))
    print("ratio %d KiB / %d KiB peak growth: %.2f (library is %dx larger)"
          % (sizes[1] // 1024, sizes[0] // 1024, ratio, sizes[1] // sizes[0]))
    pump_rows(tiny)
    return 0


def pump_rows(tiny):
    from pump_heap import plan, pump_run

    rows = [(label, pump_run(drugs, size, checks=3)) for label, drugs, size in plan(tiny)]
    print("whole pump install (Pump.install, library index), peak live-heap growth over the booted pump:")
    print("%12s %6s %10s %14s" % ("library", "drugs", "bytes", "install peak"))
    for label, r in rows:
        print("%12s %6d %10d %12d B" % (label, r["drugs"], r["library_bytes"], r["install_peak"]))
    by = dict(rows)
    pairs = [("4 drugs", "1 drug")] if tiny else [("500 drugs", "1 drug"), ("256 KiB", "4 KiB")]
    for big, small in pairs:
        print("ratio pump install peak %s / %s: %.2f (library is %.0fx larger)"
              % (big, small, by[big]["install_peak"] / max(1, by[small]["install_peak"]),
                 by[big]["library_bytes"] / by[small]["library_bytes"]))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
