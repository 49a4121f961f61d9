"""Shared helpers for the rules tests: broken copies of the real rules."""
import os
import shutil

from conftest import ROOT

DRUGLIB = os.path.join(ROOT, "druglib")
DRUG = "blinatumomab.toml"
MANIFEST = "library.toml"


def copy_rules(tmp_path):
    dst = tmp_path / "druglib"
    shutil.copytree(DRUGLIB, dst)
    return dst


def edit(root, name, old, new, count=1):
    """Replace the first `count` occurrences of `old` (all if None) in root/name.

    Returns the 1-based line of the first replacement in the new text.
    """
    path = root / name
    text = path.read_text(encoding="utf-8")
    n = text.count(old)
    assert n >= (count or 1), "%r occurs %d times in %s" % (old, n, name)
    pos = text.index(old)
    text = text.replace(old, new) if count is None else text.replace(old, new, count)
    path.write_text(text, encoding="utf-8")
    return text.count("\n", 0, pos) + 1


def line_of(root, name, snippet, nth=0):
    text = (root / name).read_text(encoding="utf-8")
    pos = -1
    for _ in range(nth + 1):
        pos = text.index(snippet, pos + 1)
    return text.count("\n", 0, pos) + 1
