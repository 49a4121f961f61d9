"""The therapy machine gives the same answers, byte for byte, under CPython
and the MicroPython unix port (tests/mpy/mpy_therapy.py runs every example
scenario through the pump's therapy shell on real files in both)."""
import os
import runpy
import sys

from mpyrun import ROOT, run_micropython


def _lines(text):
    return [line for line in text.splitlines() if not line.startswith("OK ")]


def test_every_scenario_answers_byte_identical_under_both_engines(capsys, monkeypatch):
    monkeypatch.setenv("DRUGLIB_ROOT", ROOT)
    proc = run_micropython([os.path.join(ROOT, "tests", "mpy", "mpy_therapy.py")], timeout=600)
    mpy = proc.stdout.decode("utf-8")
    assert proc.returncode == 0, mpy + proc.stderr.decode("utf-8", "replace")
    sys.argv = ["mpy_therapy.py"]
    runpy.run_path(os.path.join(ROOT, "tests", "mpy", "mpy_therapy.py"), run_name="__main__")
    cpy = capsys.readouterr().out
    assert "OK mpy_therapy" in mpy and "OK mpy_therapy" in cpy
    assert len(_lines(mpy)) > 50
    assert _lines(mpy) == _lines(cpy)
