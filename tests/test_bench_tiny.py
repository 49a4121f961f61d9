"""Every benchmark runs, once, at a tiny size (issue 7: `make bench` had broken unseen).

Each bench/bench_*.py is run as `make bench` runs it, with `--tiny` (fewer
reps, smaller libraries; the same line speed, the same interpreter, the same
firmware): it must exit 0 and print its `ratio ...` line. No timing is
asserted: the figures of a tiny run mean nothing.
"""
import glob
import os
import re
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCHES = sorted(glob.glob(os.path.join(ROOT, "bench", "bench_*.py")))
RATIO = re.compile(r"^ratio \S.* \d+\.\d+", re.M)


def test_the_benchmarks_are_found():
    names = {os.path.basename(b) for b in BENCHES}
    assert {"bench_verify.py", "bench_install_memory.py", "bench_check.py", "bench_push.py"} <= names


@pytest.mark.parametrize("bench", BENCHES, ids=[os.path.basename(b) for b in BENCHES])
def test_benchmark_runs_at_a_tiny_size(bench):
    proc = subprocess.run([sys.executable, bench, "--tiny"], capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert proc.returncode == 0, "%s --tiny failed:\n%s%s" % (os.path.basename(bench), proc.stdout, proc.stderr)
    skipped = re.search(r"^\S+: skipped: (.*)$", proc.stdout, re.M)
    if skipped:  # a benchmark whose real component is missing (bench_fleet without mosquitto)
        pytest.skip("%s: %s" % (os.path.basename(bench), skipped.group(1)))
    assert RATIO.search(proc.stdout), "%s printed no ratio line:\n%s" % (os.path.basename(bench), proc.stdout)
    assert "Traceback" not in proc.stderr


def test_make_bench_runs_every_benchmark_and_fails_if_one_fails(tmp_path):
    # run_all.py globs bench_*.py: a copy of it next to one failing and one passing
    # benchmark runs both and exits non-zero.
    with open(os.path.join(ROOT, "bench", "run_all.py")) as f:
        (tmp_path / "run_all.py").write_text(f.read())
    (tmp_path / "bench_a.py").write_text("import sys\nprint('ratio a 1.0', sys.argv[1:])\n")
    (tmp_path / "bench_b.py").write_text("raise SystemExit(3)\n")
    proc = subprocess.run([sys.executable, str(tmp_path / "run_all.py"), "--tiny"], capture_output=True, text=True)
    assert proc.returncode == 1
    assert "== bench_a.py" in proc.stdout and "ratio a 1.0 ['--tiny']" in proc.stdout
    assert "!! bench_b.py exited 3" in proc.stdout
