"""Every firmware module compiles with mpy-cross (DESIGN.md, principle 6)."""
import glob
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIRMWARE = os.path.join(ROOT, "firmware")
MODULES = sorted(glob.glob(os.path.join(FIRMWARE, "**", "*.py"), recursive=True))


def _mpy_cross():
    exe = os.path.join(os.path.dirname(sys.executable), "mpy-cross")
    return exe if os.path.exists(exe) else "mpy-cross"


@pytest.mark.parametrize("module", MODULES, ids=[os.path.relpath(m, FIRMWARE) for m in MODULES])
def test_module_compiles_with_mpy_cross(module, tmp_path):
    out = tmp_path / (os.path.relpath(module, FIRMWARE)[:-3].replace(os.sep, ".") + ".mpy")
    proc = subprocess.run([_mpy_cross(), "-o", str(out), module], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert out.stat().st_size > 0


def test_every_firmware_folder_is_collected():
    """The glob reaches every stage folder (a module moved into a new folder is still compiled)."""
    folders = {os.path.dirname(os.path.relpath(m, FIRMWARE)) for m in MODULES}
    assert {"", "library", "release", "store", "check", "link"} <= folders
