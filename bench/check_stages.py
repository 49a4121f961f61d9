"""Where one CHECK spends its time, stage by stage, under the MicroPython unix
port (issue 11 item 4; docs/adr/0016-check-path.md): frame decode,
strict UTF-8, the JSON reader, the checker, the result line, the answer
frame, the event-log record and its append (open, write, flush = fsync(2) on
the unix port, close), each timed in place by bench/check_stages_mpy.py.
A profiling aid, not a benchmark (no baseline, no ratio): bench/bench_check.py
has the figures side by side.

    .venv/bin/python bench/check_stages.py [DRUGS] [CHECKS]
"""
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests"))
sys.path.insert(0, ROOT)

from conftest_signing import Kit, released  # noqa: E402
from host_tools.engines import micropython_exe  # noqa: E402
from libfixtures import formulary  # noqa: E402


def main(argv):
    drugs = int(argv[0]) if argv else 1
    checks = int(argv[1]) if len(argv) > 1 else 300
    with tempfile.TemporaryDirectory() as tmp:
        kit = Kit(tmp, version=3)
        lib = os.path.join(tmp, "lib.bin")
        with open(lib, "wb") as f:
            f.write(released(formulary(kit.unsigned, drugs, 0, 3)[0]))
        env = dict(os.environ, MICROPYPATH=".frozen:" + ROOT)
        proc = subprocess.run([micropython_exe(), "-X", "heapsize=8M", os.path.join(ROOT, "bench", "check_stages_mpy.py"),
                               lib, kit.trust_path, os.path.join(tmp, "pump"), str(checks), "blinatumomab"],
                              capture_output=True, text=True, env=env, cwd=ROOT, timeout=600)
    sys.stdout.write(proc.stdout)
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr)
    return proc.returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
