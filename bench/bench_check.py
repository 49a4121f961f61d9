"""Checker throughput, CPython in-process vs the MicroPython unix port, on the
programmings reviewers wrote from the monograph (tests/data/independent-cases.jsonl,
in the repository, so the benchmark runs on a fresh clone), measured side by
side in one run; then one programming through the pump's whole CHECK path
(PumpServer.feed of a CHECK frame -> its answer bytes, logged; issue 11 item
4) under the MicroPython unix port, for libraries of 1, 50 and 500 drugs and
4, 64 and 256 KiB (bench/pump_heap.py), with the bytes one CHECK allocates;
ratio largest / smallest (flat in the number of drugs: the library index).

    .venv/bin/python bench/bench_check.py [--tiny]

Each MicroPython run is `micropython -m firmware.checkmain LIB` fed the
requests as JSON Lines, the start-up (the same command fed nothing) measured
in the same round and subtracted. `--tiny` (run by `make test`,
tests/test_bench_tiny.py) is one round over the cases once: it proves the
benchmark runs, its figures mean nothing.
"""
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from firmware.check.batch import check_text  # noqa: E402
from firmware.library.body import decode  # noqa: E402
from host_tools.library.build import build_library  # noqa: E402
from host_tools.engines import micropython_env, micropython_exe  # noqa: E402

CASES = os.path.join(ROOT, "tests", "data", "independent-cases.jsonl")


def main(argv):
    tiny = "--tiny" in argv
    reps, copies = (1, 1) if tiny else (5, 3)
    blob = build_library()
    lib = decode(blob)[1]
    with open(CASES) as f:
        reqs = [json.dumps(json.loads(line)["request"]) for line in f if line.strip()]
    text = "\n".join(reqs * copies)
    n = len(reqs) * copies
    cpy, mpy, startup = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "bench.lib")
        with open(path, "wb") as f:
            f.write(blob)
        for _ in range(reps):
            t = time.perf_counter()
            check_text(lib, text)
            cpy.append(time.perf_counter() - t)
            for dest, payload in ((mpy, text), (startup, "")):
                t = time.perf_counter()
                proc = subprocess.run([micropython_exe(), "-X", "heapsize=64M", "-m", "firmware.checkmain", path],
                                      input=payload.encode(), capture_output=True, env=micropython_env(), cwd=ROOT)
                dest.append(time.perf_counter() - t)
                if proc.returncode != 0 or (payload and proc.stdout.count(b"\n") != n):
                    raise RuntimeError("micropython checkmain failed (exit %d):\n%s" % (
                        proc.returncode, proc.stderr.decode("utf-8", "replace")))
    c = statistics.median(cpy) / n * 1e3
    m = (statistics.median(mpy) - statistics.median(startup)) / n * 1e3
    print("check one programming (median of %d runs, %d programmings each, %s):"
          % (reps, n, os.path.relpath(CASES, ROOT)))
    print("  CPython in-process      %.3f ms" % c)
    print("  MicroPython unix port   %.3f ms (start-up of %.0f ms subtracted)" % (m, statistics.median(startup) * 1e3))
    print("ratio MicroPython / CPython check %.2f" % (m / c))
    check_path(tiny)
    return 0


def check_path(tiny):
    sys.path.insert(0, os.path.join(ROOT, "bench"))
    from pump_heap import plan, pump_run

    rows = [(label, pump_run(drugs, size, checks=5 if tiny else 200)) for label, drugs, size in plan(tiny)]
    print("one CHECK through PumpServer.feed (frame in -> answer out, logged), MicroPython unix port;")
    print("'less log I/O': the same CHECKs less the time in storage calls (the event log's append, whose")
    print("flush is an fsync(2) on the unix port: the disk's figure, not the firmware's):")
    print("%12s %6s %10s %12s %12s %14s %14s" % ("library", "drugs", "bytes", "median", "max", "less log I/O",
                                               "allocated"))
    for label, r in rows:
        print("%12s %6d %10d %9d us %9d us %11d us %12d B" % (label, r["drugs"], r["library_bytes"], r["check_us"],
                                                            r["check_us_max"], r["check_cpu_us"], r["check_alloc"]))
    by = dict(rows)
    pairs = [("4 drugs", "1 drug")] if tiny else [("500 drugs", "1 drug"), ("256 KiB", "4 KiB")]
    for big, small in pairs:
        print("ratio pump CHECK path %s / %s: time %.2f, less log I/O %.2f, allocated %.2f"
              % (big, small, by[big]["check_us"] / max(1, by[small]["check_us"]),
                 by[big]["check_cpu_us"] / max(1, by[small]["check_cpu_us"]),
                 by[big]["check_alloc"] / max(1, by[small]["check_alloc"])))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
