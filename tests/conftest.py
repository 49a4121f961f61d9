import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
for p in (HERE, ROOT):
    if p not in sys.path:
        sys.path.insert(0, p)

SHARED = os.path.join(os.path.dirname(ROOT), "shared")
SHARED_CASES = os.path.join(SHARED, "cases", "check-cases.jsonl")
# Without ../shared beside the checkout (a fresh clone elsewhere) the tests that
# use its cases skip with this one line; every other test runs.
SHARED_MISSING = None if os.path.isfile(SHARED_CASES) else (
    "%s not found (no ../shared beside this checkout): the tests of the shared check cases are skipped"
    % SHARED_CASES)


def pytest_report_header(config):
    return ["NOTE: " + SHARED_MISSING] if SHARED_MISSING else []


_SESSION_DIRS = []  # removed when the session ends (pytest_unconfigure)


def _build_real_library_once():
    """Build druglib/*.toml once per session for tests that need the real bytes
    (including MicroPython subprocesses, through the environment)."""
    import tempfile

    if os.environ.get("DRUGLIB_REAL_LIBRARY") and os.path.exists(os.environ["DRUGLIB_REAL_LIBRARY"]):
        return
    from host_tools.library.build import build_library

    top = tempfile.mkdtemp(prefix="druglib-session-")
    _SESSION_DIRS.append(top)
    fd, path = tempfile.mkstemp(prefix="blinatumomab-", suffix=".lib", dir=top)
    with os.fdopen(fd, "wb") as fh:
        fh.write(build_library())
    os.environ["DRUGLIB_REAL_LIBRARY"] = path
    # and a released copy (test keys Alice + Bob) with its trust store, for
    # the MicroPython pump script (tests/mpy/mpy_pump.py)
    from conftest_signing import Kit

    kit = Kit(tempfile.mkdtemp(prefix="druglib-release-", dir=top), version=3)
    os.environ["DRUGLIB_RELEASED_LIBRARY"] = kit.lib_path
    os.environ["DRUGLIB_TRUST"] = kit.trust_path


_build_real_library_once()


def pytest_unconfigure(config):
    import shutil

    for d in _SESSION_DIRS:
        shutil.rmtree(d, ignore_errors=True)
