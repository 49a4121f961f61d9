"""`make bench`: every benchmark, each printing ratios against a baseline run
side by side in the same script (these machines are noisy).

    .venv/bin/python bench/run_all.py [--tiny]

Every bench/bench_*.py runs, in name order, so a new benchmark cannot be
left out; extra arguments (`--tiny`) are passed to each. Exit status is
non-zero if any benchmark failed.
"""
import glob
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
BENCHES = sorted(glob.glob(os.path.join(HERE, "bench_*.py")))

status = 0
for path in BENCHES:
    print("== %s" % os.path.basename(path), flush=True)
    rc = subprocess.call([sys.executable, path] + sys.argv[1:])
    if rc:
        print("!! %s exited %d" % (os.path.basename(path), rc), flush=True)
        status = 1
sys.exit(status)
