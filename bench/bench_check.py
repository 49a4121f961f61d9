"""Checker throughput, CPython in-process vs the MicroPython unix port, on the
shared example programmings, measured side by side in one run.

    .venv/bin/python bench/bench_check.py
"""
import json
import os
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from firmware.check.batch import check_text  # noqa: E402
from firmware.library.body import decode  # noqa: E402
from host_tools.library.build import build_library  # noqa: E402
from host_tools.engines import micropython_env, micropython_exe  # noqa: E402

CASES = os.path.join(os.path.dirname(ROOT), "shared", "cases", "check-cases.jsonl")
REPS = 5


def main():
    blob = build_library()
    lib = decode(blob)[1]
    reqs = [json.dumps(json.loads(line)["request"]) for line in open(CASES) if line.strip()]
    text = "\n".join(reqs * 10)
    n = len(reqs) * 10
    path = os.path.join(ROOT, "out", "bench.lib")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    open(path, "wb").write(blob)
    cpy, mpy, startup = [], [], []
    for _ in range(REPS):
        t = time.perf_counter()
        check_text(lib, text)
        cpy.append(time.perf_counter() - t)
        for dest, payload in ((mpy, text), (startup, "")):
            t = time.perf_counter()
            subprocess.run([micropython_exe(), "-X", "heapsize=64M", "-m", "firmware.checkmain", path], input=payload.encode(),
                           capture_output=True, check=True, env=micropython_env(), cwd=ROOT)
            dest.append(time.perf_counter() - t)
    c = statistics.median(cpy) / n * 1e3
    m = (statistics.median(mpy) - statistics.median(startup)) / n * 1e3
    print("check one programming (median of %d runs, %d programmings each):" % (REPS, n))
    print("  CPython in-process      %.3f ms" % c)
    print("  MicroPython unix port   %.3f ms (start-up of %.0f ms subtracted)" % (m, statistics.median(startup) * 1e3))
    print("  ratio MicroPython / CPython  %.2f" % (m / c))


if __name__ == "__main__":
    main()
