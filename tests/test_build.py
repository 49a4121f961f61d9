"""druglib build: the real rules compile to the library a second, hand-made
transcription of the monograph predicts; builds are deterministic; build ->
inspect -> decode round-trips through the real CLI."""
import json
import os
import subprocess
import sys

from devmodel import dev_model
from firmware.library.body import decode
from host_tools.library.build import compile_model
from host_tools.library.encode import encode_library
from libfixtures import real_library_bytes

DRUGLIB = os.path.join(os.path.dirname(sys.executable), "druglib")


def test_compiled_rules_equal_the_independent_transcription():
    real, dev = compile_model(), dev_model()
    for key in ("limits", "doses", "restart_dose", "admin", "indications"):
        assert real["drug"][key] == dev["drug"][key], key


def test_same_rules_and_version_give_the_same_bytes(tmp_path):
    outs = []
    for n in range(2):
        out = tmp_path / ("lib%d.bin" % n)
        proc = subprocess.run([DRUGLIB, "build", "--out", str(out)], capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
        outs.append(out.read_bytes())
    assert outs[0] == outs[1] == real_library_bytes()


def test_build_inspect_decode_round_trip(tmp_path):
    out = tmp_path / "lib.bin"
    subprocess.run([DRUGLIB, "build", "--out", str(out), "--version", "7"], check=True, capture_output=True)
    proc = subprocess.run([DRUGLIB, "inspect", "--json", str(out)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    shown = json.loads(proc.stdout)
    _, lib = decode(out.read_bytes())
    assert shown["library_version"] == lib["library_version"] == 7
    assert shown["drugs"] == lib["drugs"]
    model = compile_model(version=7)
    assert encode_library(model) == out.read_bytes()
    text = subprocess.run([DRUGLIB, "inspect", str(out)], capture_output=True, text=True).stdout
    for needle in ("0.6 mL/h", "100.8 mL", "weight_band_g", "relapsed-refractory (max 9 cycles)", "unsigned"):
        assert needle in text


def test_user_errors_are_one_line_without_traceback(tmp_path):
    bad = tmp_path / "bad.lib"
    bad.write_bytes(b"DLIB\x01")
    for args in (["inspect", str(bad)], ["inspect", str(tmp_path / "missing")], ["check", "--library", str(bad), "-"],
                 ["build", "--rules", str(tmp_path)], ["build", "--version", "0"], ["check"], ["nosuch"]):
        proc = subprocess.run([DRUGLIB] + args, capture_output=True, text=True, input="")
        assert proc.returncode != 0, args
        assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1, (args, proc.stderr)
