"""Every firmware module compiles with mpy-cross (DESIGN.md, principle 6)."""
import glob
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODULES = sorted(glob.glob(os.path.join(ROOT, "firmware", "*.py")))


def _mpy_cross():
    exe = os.path.join(os.path.dirname(sys.executable), "mpy-cross")
    return exe if os.path.exists(exe) else "mpy-cross"


@pytest.mark.parametrize("module", MODULES, ids=[os.path.basename(m) for m in MODULES])
def test_module_compiles_with_mpy_cross(module, tmp_path):
    out = tmp_path / (os.path.basename(module)[:-3] + ".mpy")
    proc = subprocess.run([_mpy_cross(), "-o", str(out), module], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert out.stat().st_size > 0
