import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
for p in (HERE, ROOT):
    if p not in sys.path:
        sys.path.insert(0, p)

SHARED = os.path.join(os.path.dirname(ROOT), "shared")


def _build_real_library_once():
    """Build druglib/*.toml once per session for tests that need the real bytes
    (including MicroPython subprocesses, through the environment)."""
    import tempfile

    if os.environ.get("DRUGLIB_REAL_LIBRARY") and os.path.exists(os.environ["DRUGLIB_REAL_LIBRARY"]):
        return
    from host_tools.build import build_library

    fd, path = tempfile.mkstemp(prefix="blinatumomab-", suffix=".lib")
    with os.fdopen(fd, "wb") as fh:
        fh.write(build_library())
    os.environ["DRUGLIB_REAL_LIBRARY"] = path


_build_real_library_once()
