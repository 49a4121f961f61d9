"""Checker throughput, CPython in-process vs the MicroPython unix port, on the
programmings reviewers wrote from the monograph (tests/data/independent-cases.jsonl,
in the repository, so the benchmark runs on a fresh clone), measured side by
side in one run.

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
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
