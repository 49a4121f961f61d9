"""A copy of the repository as a fresh clone would have it: the files git tracks."""
import os
import shutil
import subprocess

from conftest import ROOT


def tracked_copy(dst):
    """Copy the tracked files (outside git: the tree without build products) to dst."""
    try:
        names = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True,
                               timeout=60).stdout.decode().split("\0")
    except (OSError, subprocess.CalledProcessError):
        shutil.copytree(ROOT, dst, ignore=shutil.ignore_patterns(".venv", "out", "build", "*.egg-info", ".git",
                                                                 "demo-keys"))
        return
    for name in filter(None, names):
        src = os.path.join(ROOT, name)
        if os.path.isfile(src):
            os.makedirs(os.path.dirname(os.path.join(dst, name)), exist_ok=True)
            shutil.copy2(src, os.path.join(dst, name))
