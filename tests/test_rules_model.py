"""The real rules load into the expected model, deterministically, traceably."""
import copy
import hashlib
import os
import struct

import pytest

from host_tools.rules.compiler import check_sources, load_rules, rules_sha256
from devmodel import dev_model
from rules_helpers import DRUG, DRUGLIB, MANIFEST, copy_rules, edit

# The independent hand transcription of the monograph (tests/devmodel.py) is
# the one expected model; tests/test_build.py compares it with the build too.
EXPECTED_DRUG = dev_model()["drug"]


@pytest.fixture(scope="module")
def model():
    return load_rules(DRUGLIB)


def test_real_rules_model(model):
    assert model["library_name"] == "blinatumomab-v1"
    assert model["library_version"] == 1
    assert model["rules_sha256"] == rules_sha256(DRUGLIB)
    assert model["drug"] == EXPECTED_DRUG
    assert set(model) == {"library_name", "library_version", "rules_sha256", "drug", "drugs", "synthetic"}
    assert model["drugs"] == [model["drug"]] and model["synthetic"] == 0  # one real drug (issue 11 item 3)


def test_slip_resolved_to_fixed_dose(model):
    """Pediatric R/R induction cycle 2, >= 45 kg: 28 mcg/day, never 28 mcg/m2 (42 mcg/day at 1.5 m2)."""
    rr = model["drug"]["indications"][1]
    (c2,) = [s for s in rr["schedule"] if s["cycle_from"] <= 2 <= s["cycle_to"]]
    assert model["drug"]["doses"][c2["dose"]]["fixed_ng_day"] == 28000
    assert all(lv["fixed_ng_day"] <= model["drug"]["limits"]["max_daily_ng"] for lv in model["drug"]["doses"].values())


def _only_int_str(x, path="model"):
    if isinstance(x, dict):
        for k, v in x.items():
            assert isinstance(k, str), path
            _only_int_str(v, "%s.%s" % (path, k))
    elif isinstance(x, list):
        for i, v in enumerate(x):
            _only_int_str(v, "%s[%d]" % (path, i))
    else:
        assert type(x) in (int, str), "%s is %r (%s)" % (path, x, type(x).__name__)


def test_model_is_ints_and_strings(model):
    m = dict(model)
    assert isinstance(m.pop("rules_sha256"), bytes) and len(model["rules_sha256"]) == 32
    _only_int_str(m)


def test_deterministic(tmp_path, model):
    again = load_rules(DRUGLIB)
    assert again == model and repr(again) == repr(model)
    # a copy elsewhere (other absolute path) gives the same model and hash
    root = copy_rules(tmp_path)
    assert load_rules(str(root)) == model
    assert rules_sha256(str(root)) == rules_sha256(DRUGLIB)


def test_model_is_not_shared_state(model):
    before = copy.deepcopy(model)
    fresh = load_rules(DRUGLIB)
    fresh["drug"]["limits"]["max_daily_ng"] = 1
    fresh["drug"]["indications"].clear()
    assert load_rules(DRUGLIB) == before


def test_sha_is_documented_construction():
    h = hashlib.sha256(b"druglib-rules-sha256-v1\x00")
    for name in ("library.toml", "blinatumomab.toml"):
        raw = open(os.path.join(DRUGLIB, name), "rb").read()
        h.update(struct.pack(">I", len(name)) + name.encode() + struct.pack(">Q", len(raw)) + raw)
    assert rules_sha256(DRUGLIB) == h.digest()


@pytest.mark.parametrize("name", [MANIFEST, DRUG])
def test_sha_covers_every_byte(tmp_path, name):
    root = copy_rules(tmp_path)
    base = rules_sha256(str(root))
    with open(root / name, "ab") as f:
        f.write(b"\n# reviewed\n")
    assert rules_sha256(str(root)) != base


def test_values_come_from_the_toml(tmp_path):
    """Nothing in the model is a constant of the code: change the data, the model follows."""
    root = copy_rules(tmp_path)
    edit(root, DRUG, 'value = "22 kg"', 'value = "5.4 kg"')
    edit(root, MANIFEST, "library_version = 1\n", "library_version = 2\n")
    m = load_rules(str(root))
    assert m["drug"]["limits"]["preservative_min_weight_g"] == 5400
    assert m["library_version"] == 2


def test_sources_match_citations():
    """The pinned monograph is the one reviewed, and every as_written quote is on its cited line."""
    assert check_sources(DRUGLIB) == []


def test_check_sources_catches_a_misquote(tmp_path):
    root = copy_rules(tmp_path)
    edit(root, DRUG, "Induction Cycle 2: Administer 28 mcg/m2 IV daily", "Induction Cycle 2: Administer 28 mcg IV daily")
    # (the resolution quote then no longer matches the row either: lint catches that first)
    edit(root, DRUG, 'as_written = "28 mcg/m2 IV daily"', 'as_written = "28 mcg IV daily"')
    edit(root, DRUG, 'dose = "28 mcg/m2/day"', 'dose = "28 mcg/day"')
    text = (root / DRUG).read_text()
    a = text.index("[indication.regimen.dose.resolution]")
    b = text.index('decision = "docs/adr/0001-transcription-slip.md"\n') + len('decision = "docs/adr/0001-transcription-slip.md"\n')
    (root / DRUG).write_text(text[:a] + text[b:])
    problems = check_sources(str(root))
    assert len(problems) == 1 and "28 mcg IV daily" in problems[0] and "[48]" in problems[0]
