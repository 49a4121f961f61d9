"""Issue 11 item 3: the compiler takes several drug files (each its own drug);
benchmark-only synthetic libraries (bench/synthrules.py) compile and install
like any library but are refused by `druglib sign` and `druglib publish`."""
import os
import subprocess
import sys

import pytest

from conftest_signing import ALICE, trust_text
from firmware.library import body as fw
from host_tools.errors import RulesError, SigningError
from host_tools.fleet.publisher import PublishRefused, publish
from host_tools.release.signing import sign_blob, synthetic_names
from host_tools.rules.compiler import load_rules

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "bench"))
import synthrules  # noqa: E402


@pytest.fixture(scope="module")
def rules3(tmp_path_factory):
    return synthrules.make_rules(str(tmp_path_factory.mktemp("syn") / "rules"), 3)


def test_several_drug_files_compile_to_one_library_with_each_drug(rules3):
    model = load_rules(rules3)
    assert [d["name"] for d in model["drugs"]] == ["synthetic-drug-000", "synthetic-drug-001", "synthetic-drug-002"]
    assert model["synthetic"] == 1
    blob = synthrules.build(rules3)
    lib = fw.decode(blob)[1]  # the pump's own decoder takes every drug back
    assert [d["name"] for d in lib["drugs"]] == [d["name"] for d in model["drugs"]]
    assert lib["library_name"] == "synthetic-bench-3"
    assert lib["drugs"][1]["limits"] == lib["drugs"][0]["limits"]  # copies of the blinatumomab rules


def test_two_files_naming_the_same_drug_are_still_refused(tmp_path):
    root = synthrules.make_rules(str(tmp_path / "r"), 2)
    p = os.path.join(root, "synthetic-drug-001.toml")
    with open(p) as f:
        text = f.read()
    with open(p, "w") as f:
        f.write(text.replace('name = "synthetic-drug-001"', 'name = "synthetic-drug-000"'))
    with pytest.raises(RulesError, match="defined twice"):
        load_rules(root)


def test_sign_refuses_a_synthetic_library_and_the_bench_override_is_api_only(rules3):
    blob = synthrules.build(rules3)
    assert synthetic_names(blob)[:2] == ["synthetic-bench-3", "synthetic-drug-000"]
    with pytest.raises(SigningError, match="synthetic benchmark library .* never signed for release"):
        sign_blob(blob, ALICE, "author")
    signed = sign_blob(blob, ALICE, "author", allow_synthetic=True)  # the benches only
    assert len(signed) > len(blob)


def test_druglib_sign_refuses_a_synthetic_library(rules3, tmp_path):
    lib = tmp_path / "syn.lib"
    lib.write_bytes(synthrules.build(rules3))
    before = lib.read_bytes()
    key = tmp_path / "k.pem"
    from cryptography.hazmat.primitives import serialization

    key.write_bytes(ALICE.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                        serialization.NoEncryption()))
    trust = tmp_path / "trust.json"
    trust.write_text(trust_text())
    p = subprocess.run([sys.executable, "-m", "host_tools.cli.main", "sign", str(lib), "--key", str(key),
                        "--trust", str(trust)], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert p.returncode != 0, p.stdout
    assert "synthetic benchmark library" in p.stderr and "Traceback" not in p.stderr
    assert lib.read_bytes() == before  # nothing written


def test_publish_refuses_a_synthetic_library(rules3):
    blob = synthrules.release_for_bench(synthrules.build(rules3))
    with pytest.raises(PublishRefused, match="synthetic"):
        publish("mqtt://127.0.0.1:1", blob, None)  # refused before touching any broker


def test_the_real_rules_are_not_synthetic():
    assert load_rules(os.path.join(ROOT, "druglib"))["synthetic"] == 0
