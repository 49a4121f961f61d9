"""Every script tests/mpy/mpy_*.py runs under the MicroPython unix port.

Each script exercises the very firmware modules the device runs, with plain
asserts, and prints a final line `OK <name>` when all its checks passed.
"""
import glob
import os

import pytest

from mpyrun import MPY_DIR, run_micropython

SCRIPTS = sorted(glob.glob(os.path.join(MPY_DIR, "mpy_*.py")))


@pytest.mark.parametrize("script", SCRIPTS, ids=[os.path.basename(s) for s in SCRIPTS])
def test_firmware_script_under_micropython(script):
    proc = run_micropython([script])
    out = proc.stdout.decode("utf-8", "replace")
    err = proc.stderr.decode("utf-8", "replace")
    assert proc.returncode == 0, "micropython failed:\n" + out + err
    name = os.path.basename(script)[:-3]
    assert ("OK " + name) in out, "script did not report success:\n" + out + err
