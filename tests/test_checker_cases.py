"""The check contract against ../shared/cases, on both engines, through the real CLI."""
import json
import subprocess
import sys

import pytest

from libfixtures import real_library, real_library_bytes, shared_cases
from firmware.check.batch import check_text

CASES = shared_cases()


def _druglib():
    import os
    return os.path.join(os.path.dirname(sys.executable), "druglib")


@pytest.fixture(scope="module")
def lib_path(tmp_path_factory):
    p = tmp_path_factory.mktemp("lib") / "blinatumomab.lib"
    p.write_bytes(real_library_bytes())
    return p


@pytest.fixture(scope="module")
def requests_file(tmp_path_factory):
    p = tmp_path_factory.mktemp("req") / "requests.jsonl"
    p.write_text("".join(json.dumps(c["request"]) + "\n" for c in CASES))
    return p


def test_every_shared_case_gets_an_expected_verdict_in_process():
    lib = real_library()
    results = [json.loads(x) for x in check_text(lib, "\n".join(json.dumps(c["request"]) for c in CASES))]
    assert len(results) == len(CASES)
    wrong = [(c["id"], c["why"], r["verdict"], [f["code"] for f in r["findings"]])
             for c, r in zip(CASES, results) if r["verdict"] not in c["expect"]]
    assert wrong == []


@pytest.mark.parametrize("engine", ["cpython", "micropython"])
def test_cli_check_agrees_with_shared_cases(engine, lib_path, requests_file):
    proc = subprocess.run([_druglib(), "check", "--library", str(lib_path), str(requests_file), "--engine", engine],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    results = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [r["verdict"] in c["expect"] for c, r in zip(CASES, results)] == [True] * len(CASES)


def test_both_engines_print_identical_bytes(lib_path, requests_file):
    outs = []
    for engine in ("cpython", "micropython"):
        proc = subprocess.run([_druglib(), "check", "--library", str(lib_path), str(requests_file),
                               "--engine", engine], capture_output=True, timeout=600)
        assert proc.returncode == 0, proc.stderr
        outs.append(proc.stdout)
    assert outs[0] == outs[1]


def test_every_rejection_and_confirmation_names_a_documented_code():
    from firmware.check.codes import CODES
    lib = real_library()
    results = [json.loads(x) for x in check_text(lib, "\n".join(json.dumps(c["request"]) for c in CASES))]
    for r in results:
        for f in r["findings"]:
            assert f["code"] in CODES and f["severity"] == CODES[f["code"]][0] and f["message"]
        if r["verdict"] == "reject":
            assert any(f["severity"] == "hard" for f in r["findings"])
