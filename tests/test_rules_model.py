"""The real rules load into the expected model, deterministically, traceably."""
import copy
import hashlib
import os
import struct

import pytest

from conftest import SHARED
from host_tools.rules import check_sources, load_rules, rules_sha256
from rules_helpers import DRUG, DRUGLIB, MANIFEST, copy_rules, edit

EXPECTED_DRUG = {
    "name": "blinatumomab",
    "limits": {
        "weight_band_g": 45000, "min_age_days": 28, "min_age_confirm_days": 31,
        "max_daily_ng": 28000, "max_daily_allowance_ppm": 1000,
        "dose_soft_ppm": 50000, "dose_hard_ppm": 100000, "vtbi_tolerance_ul": 50,
        "preservative_min_weight_g": 22000, "dehp_free_required": 1,
        "weight_min_g": 500, "weight_max_g": 350000, "bsa_min_cm2": 1000, "bsa_max_cm2": 35000,
        "age_max_days": 45000, "restart_step_days": 7, "interruption_continue_max_days": 7,
        "reinitiation_hours": 4, "adult_age_days": 6575,
    },
    "doses": {
        "step": {"fixed_ng_day": 9000, "bsa_ng_m2_day": 5000, "bsa_cap_ng_day": 9000},
        "target": {"fixed_ng_day": 28000, "bsa_ng_m2_day": 15000, "bsa_cap_ng_day": 28000},
    },
    "restart_dose": "step",
    "admin": [
        {"duration_h": 24, "rate_ul_h": 10000, "vtbi_ul": 240000, "preservative": "forbidden", "filter": "required"},
        {"duration_h": 48, "rate_ul_h": 5000, "vtbi_ul": 240000, "preservative": "forbidden", "filter": "required"},
        {"duration_h": 168, "rate_ul_h": 600, "vtbi_ul": 100800, "preservative": "required", "filter": "forbidden"},
    ],
    "indications": [
        {"name": "mrd", "max_cycles": 4,
         "phases": [{"name": "induction", "cycle_from": 1, "cycle_to": 1, "infusion_days": 28, "free_days": 14},
                    {"name": "consolidation", "cycle_from": 2, "cycle_to": 4, "infusion_days": 28, "free_days": 14}],
         "schedule": [{"cycle_from": 1, "cycle_to": 4, "day_from": 1, "day_to": 28, "dose": "target"}],
         "hospitalization": [{"cycle_from": 1, "cycle_to": 1, "day_from": 1, "day_to": 3},
                             {"cycle_from": 2, "cycle_to": 2, "day_from": 1, "day_to": 2}],
         "premedication": [{"cycle_from": 1, "cycle_to": 4, "day": 1, "population": "adult"},
                           {"cycle_from": 1, "cycle_to": 1, "day": 1, "population": "pediatric"}]},
        {"name": "relapsed-refractory", "max_cycles": 9,
         "phases": [{"name": "induction", "cycle_from": 1, "cycle_to": 2, "infusion_days": 28, "free_days": 14},
                    {"name": "consolidation", "cycle_from": 3, "cycle_to": 5, "infusion_days": 28, "free_days": 14},
                    {"name": "continued", "cycle_from": 6, "cycle_to": 9, "infusion_days": 28, "free_days": 56}],
         "schedule": [{"cycle_from": 1, "cycle_to": 1, "day_from": 1, "day_to": 7, "dose": "step"},
                      {"cycle_from": 1, "cycle_to": 1, "day_from": 8, "day_to": 28, "dose": "target"},
                      {"cycle_from": 2, "cycle_to": 9, "day_from": 1, "day_to": 28, "dose": "target"}],
         "hospitalization": [{"cycle_from": 1, "cycle_to": 1, "day_from": 1, "day_to": 9},
                             {"cycle_from": 2, "cycle_to": 2, "day_from": 1, "day_to": 2}],
         "premedication": [{"cycle_from": 1, "cycle_to": 9, "day": 1, "population": "adult"},
                           {"cycle_from": 1, "cycle_to": 1, "day": 1, "population": "pediatric"},
                           {"cycle_from": 1, "cycle_to": 1, "day": 8, "population": "adult"},
                           {"cycle_from": 1, "cycle_to": 1, "day": 8, "population": "pediatric"}]},
    ],
}


@pytest.fixture(scope="module")
def model():
    return load_rules(DRUGLIB)


def test_real_rules_model(model):
    assert model["library_name"] == "blinatumomab-v1"
    assert model["library_version"] == 1
    assert model["rules_sha256"] == rules_sha256(DRUGLIB)
    assert model["drug"] == EXPECTED_DRUG
    assert set(model) == {"library_name", "library_version", "rules_sha256", "drug"}


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


@pytest.mark.skipif(not os.path.isdir(SHARED), reason="shared sources not present")
def test_sources_match_citations():
    """The pinned monograph is the one reviewed, and every as_written quote is on its cited line."""
    assert check_sources(DRUGLIB, repo_root=os.path.dirname(DRUGLIB)) == []


@pytest.mark.skipif(not os.path.isdir(SHARED), reason="shared sources not present")
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
    problems = check_sources(str(root), repo_root=os.path.dirname(DRUGLIB))
    assert len(problems) == 1 and "28 mcg IV daily" in problems[0] and "[48]" in problems[0]
