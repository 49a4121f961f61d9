"""Each rule of the checker, told as a story: a correct programming, one mistake, the verdict and its code."""
import copy
import json

import pytest

from firmware.check.batch import check_one
from libfixtures import real_library

LIB = None


def lib():
    global LIB
    if LIB is None:
        LIB = real_library()
    return LIB


def adult_24h(**changes):
    """A correct programming: adult, relapsed/refractory cycle 2 day 3, 28 mcg/day, 24 h bag."""
    req = {"drug": "blinatumomab", "indication": "relapsed-refractory", "cycle": 2, "day": 3,
           "restart_after_adverse_event": False,
           "patient": {"age_days": 15000, "weight_kg": 70, "bsa_m2": 1.8},
           "dose": {"value": 28, "unit": "mcg/day"},
           "bag": {"blinatumomab_mcg": "31.5", "volume_ml": 270, "preservative": False},
           "infusion": {"rate_ml_h": 10, "duration_h": 24, "vtbi_ml": 240},
           "line": {"inline_filter": True, "dehp_free": True}, "overrides": []}
    return _apply(req, changes)


DELETE = object()


def child_7day(**changes):
    """A correct programming: child 30 kg, BSA 1.0 m2, MRD cycle 3 day 8, 15 mcg/m2/day, 7-day bag."""
    req = adult_24h(indication="mrd", cycle=3, day=8, patient={"age_days": 3000, "weight_kg": 30, "bsa_m2": 1.0},
                    dose={"value": 15, "unit": "mcg/m2/day"},
                    bag={"blinatumomab_mcg": "114.5833", "volume_ml": 110, "preservative": True},
                    infusion={"rate_ml_h": "0.6", "duration_h": 168, "vtbi_ml": "100.8"},
                    line={"inline_filter": False, "dehp_free": True})
    return _apply(req, changes)


def _apply(req, changes):
    req = copy.deepcopy(req)
    for path, value in changes.items():
        node = req
        keys = path.split("__")
        for k in keys[:-1]:
            node = node[k]
        if value is DELETE:
            del node[keys[-1]]
        else:
            node[keys[-1]] = value
    return req


def verdict(req):
    r = check_one(lib(), json.dumps(req) if not isinstance(req, str) else req)
    return r.verdict, [c for c, s, m in r.findings if s != "advisory"], r


def test_the_correct_programmings_are_accepted_with_the_no_flush_reminder():
    for req in (adult_24h(), child_7day()):
        v, codes, r = verdict(req)
        assert (v, codes) == ("accept", [])
        assert "NO_FLUSH" in [c for c, s, m in r.findings]


@pytest.mark.parametrize("rate,slip", [(100, "10 times too high"), (1, "10 times too low"), (5, None), (0, None), (-10, None)])
def test_a_wrong_rate_on_a_24h_bag_is_rejected(rate, slip):
    v, codes, r = verdict(adult_24h(infusion__rate_ml_h=rate))
    assert v == "reject" and "RATE_NOT_FIXED" in codes
    if slip:
        assert any(slip in m for c, s, m in r.findings)


def test_a_48h_bag_run_at_the_24h_rate_is_rejected_for_rate_and_double_dose():
    req = adult_24h(bag__blinatumomab_mcg=63, infusion={"rate_ml_h": 10, "duration_h": 48, "vtbi_ml": 240})
    v, codes, _ = verdict(req)
    assert v == "reject" and "RATE_NOT_FIXED" in codes and "BAG_DOSE_MISMATCH" in codes
    assert "MAX_DAILY_DOSE_EXCEEDED" in codes


def test_the_7_day_rate_decimal_slip_6_ml_h_is_rejected():
    v, codes, r = verdict(child_7day(infusion__rate_ml_h=6))
    assert v == "reject" and "RATE_NOT_FIXED" in codes


def test_skipping_the_step_up_on_day_1_of_relapsed_refractory_cycle_1_is_rejected():
    v, codes, _ = verdict(adult_24h(cycle=1, day=1))
    assert v == "reject" and codes[0] == "STEP_DOSE_REQUIRED"
    step = adult_24h(cycle=1, day=1, dose__value=9, bag__blinatumomab_mcg="10.125")
    assert verdict(step)[0] == "accept"


def test_a_bag_spanning_the_step_up_day_is_rejected():
    req = adult_24h(cycle=1, day=7, dose__value=9, bag__blinatumomab_mcg="20.25",
                    infusion={"rate_ml_h": 5, "duration_h": 48, "vtbi_ml": 240})
    v, codes, _ = verdict(req)
    assert v == "reject" and "BAG_SPANS_DOSE_STEP" in codes


def test_a_bag_running_into_the_treatment_free_interval_is_rejected():
    v, codes, _ = verdict(child_7day(day=23))
    assert v == "reject" and "BAG_INTO_FREE_INTERVAL" in codes
    assert verdict(child_7day(day=22))[0] == "accept"


@pytest.mark.parametrize("cycle,day,code", [(2, 29, "DAY_IN_FREE_INTERVAL"), (2, 43, "DAY_OUT_OF_RANGE"),
                                            (7, 60, "DAY_IN_FREE_INTERVAL"), (7, 84, "DAY_IN_FREE_INTERVAL"),
                                            (7, 85, "DAY_OUT_OF_RANGE"), (10, 1, "CYCLE_OUT_OF_RANGE"),
                                            (0, 1, "CYCLE_OUT_OF_RANGE"), (2, 0, "DAY_OUT_OF_RANGE")])
def test_cycles_and_days_outside_the_regimen_are_rejected(cycle, day, code):
    v, codes, _ = verdict(adult_24h(cycle=cycle, day=day))
    assert v == "reject" and code in codes


def test_mrd_has_four_cycles_and_relapsed_refractory_nine():
    assert verdict(adult_24h(indication="mrd", cycle=5))[1] == ["CYCLE_OUT_OF_RANGE"]
    assert verdict(adult_24h(cycle=9))[0] == "accept"


def test_restart_after_an_adverse_event_needs_the_step_dose_in_every_indication():
    for ind in ("mrd", "relapsed-refractory"):
        v, codes, _ = verdict(adult_24h(indication=ind, restart_after_adverse_event=True))
        assert v == "reject" and "RESTART_STEP_DOSE_REQUIRED" in codes
        ok = adult_24h(indication=ind, restart_after_adverse_event=True, dose__value=9, bag__blinatumomab_mcg="10.125")
        assert verdict(ok)[0] == "accept"


def test_the_weight_band_decides_the_dose_basis():
    v, codes, _ = verdict(adult_24h(dose={"value": 15, "unit": "mcg/m2/day"}))
    assert v == "reject" and "DOSE_UNIT_WRONG_FOR_WEIGHT" in codes
    v, codes, _ = verdict(child_7day(dose={"value": 28, "unit": "mcg/day"}))
    assert v == "reject" and "DOSE_UNIT_WRONG_FOR_WEIGHT" in codes
    # exactly 45 kg is the fixed-dose band
    assert verdict(adult_24h(patient__weight_kg=45))[0] == "accept"
    assert "DOSE_UNIT_WRONG_FOR_WEIGHT" in verdict(adult_24h(patient__weight_kg="44.999"))[1]


def test_the_bsa_dose_is_capped_at_28_mcg_per_day():
    # 44 kg with a large BSA of 1.9 m2: 15 x 1.9 = 28.5 mcg/day, capped to 28.
    # Issue 8: 1.9 m2 is 1.45 x the weight-based estimate for 44 kg, a soft
    # stop; once it is overridden with a reason, the cap applies and is said.
    capped = adult_24h(patient={"age_days": 6000, "weight_kg": 44, "bsa_m2": "1.9"},
                       dose={"value": 15, "unit": "mcg/m2/day"}, overrides=["BSA_WEIGHT_MISMATCH"],
                       override_reason="BSA confirmed by the prescriber")
    v, codes, r = verdict(capped)
    assert (v, codes) == ("accept", ["BSA_WEIGHT_MISMATCH"])
    assert "DOSE_CAPPED" in [c for c, s, m in r.findings]
    over = _apply(capped, {"bag__blinatumomab_mcg": "33.75"})  # delivers 30 mcg/day
    v, codes, _ = verdict(over)
    assert v == "reject" and "MAX_DAILY_DOSE_EXCEEDED" in codes
    # 2.0 m2 (issue 8): 1.53 x the estimate, impossible for 44 kg: hard, whatever the overrides
    v, codes, _ = verdict(_apply(capped, {"patient__bsa_m2": "2.0"}))
    assert (v, codes) == ("reject", ["BSA_WEIGHT_IMPLAUSIBLE"])


def test_a_bag_a_little_off_asks_for_confirmation_and_an_override_accepts_it():
    off = adult_24h(bag__blinatumomab_mcg="29.5")  # 26.2 mcg/day: 6.3% under
    v, codes, _ = verdict(off)
    assert (v, codes) == ("confirm", ["BAG_DOSE_DEVIATION"])
    # issue 8: an override takes effect only with a reason
    assert verdict(_apply(off, {"overrides": ["BAG_DOSE_DEVIATION"]}))[:2] == (
        "confirm", ["BAG_DOSE_DEVIATION", "OVERRIDE_REASON_REQUIRED"])
    assert verdict(_apply(off, {"overrides": ["BAG_DOSE_DEVIATION"], "override_reason": "bag weighed"}))[0] == "accept"
    far = adult_24h(bag__blinatumomab_mcg="27")  # 24 mcg/day: 14% under
    assert verdict(far)[1] == ["BAG_DOSE_MISMATCH"]
    assert verdict(_apply(far, {"overrides": ["BAG_DOSE_MISMATCH"]}))[0] == "reject"


def test_preparation_and_line_rules():
    assert verdict(child_7day(bag__preservative=False))[1] == ["PRESERVATIVE_REQUIRED"]
    assert verdict(adult_24h(bag__preservative=True))[1] == ["PRESERVATIVE_NOT_ALLOWED"]
    assert verdict(adult_24h(line__inline_filter=False))[1] == ["FILTER_REQUIRED"]
    assert verdict(child_7day(line__inline_filter=True))[1] == ["FILTER_FORBIDDEN"]
    assert verdict(adult_24h(line__dehp_free=False))[1] == ["DEHP_SET"]
    assert verdict(adult_24h(line__flush_ml=10))[1] == ["FLUSH_NOT_ALLOWED"]
    assert verdict(adult_24h(infusion__kvo_ml_h="0.5"))[1] == ["FLUSH_NOT_ALLOWED"]
    assert verdict(adult_24h(infusion__vtbi_ml=480))[1] == ["VTBI_MISMATCH", "VTBI_EXCEEDS_BAG"]
    assert verdict(adult_24h(infusion__duration_h=72))[1] == ["DURATION_NOT_ALLOWED"]


def test_a_preservative_bag_for_a_light_child_is_a_soft_stop():
    light = child_7day(patient={"age_days": 2000, "weight_kg": 18, "bsa_m2": "0.74"}, bag__blinatumomab_mcg="84.7917")
    v, codes, r = verdict(light)
    assert (v, codes) == ("confirm", ["PRESERVATIVE_LOW_WEIGHT"])
    assert "PRESERVATIVE_MONITORING" in [c for c, s, m in r.findings]


def test_age_limits():
    assert verdict(adult_24h(patient__age_days=27))[1] == ["AGE_BELOW_MINIMUM"]
    assert verdict(adult_24h(patient__age_days=29))[1] == ["AGE_UNDER_ONE_MONTH"]
    assert verdict(adult_24h(patient__age_days=31))[0] == "accept"


@pytest.mark.parametrize("change,code", [
    ({"patient__weight_kg": DELETE}, "FIELD_MISSING"),
    ({"patient__weight_kg": -70}, "PATIENT_VALUE_IMPLAUSIBLE"),
    ({"patient__weight_kg": "seventy"}, "FIELD_INVALID"),
    ({"patient__weight_kg": True}, "FIELD_INVALID"),
    ({"cycle": "1.5"}, "FIELD_INVALID"),
    ({"restart_after_adverse_event": "no"}, "FIELD_INVALID"),
    ({"restart_after_adverse_event": DELETE}, "FIELD_MISSING"),
    ({"dose__unit": "mg/day"}, "DOSE_UNIT_UNKNOWN"),
    ({"drug": "blinatumumab"}, "UNKNOWN_DRUG"),
    ({"indication": "all"}, "UNKNOWN_INDICATION"),
    ({"patient": [1, 2]}, "FIELD_INVALID"),
    ({"overrides": "BAG_DOSE_DEVIATION"}, "FIELD_INVALID"),
    ({"bag__volume_ml": 0}, "BAG_VOLUME_INVALID"),
])
def test_missing_and_malformed_fields_are_rejected_with_their_code(change, code):
    v, codes, _ = verdict(adult_24h(**change))
    assert v == "reject" and code in codes


def test_a_child_without_bsa_is_rejected():
    assert "BSA_REQUIRED" in verdict(child_7day(patient__bsa_m2=DELETE))[1]


@pytest.mark.parametrize("text", ["", "{", "[]", "null", "42", '"x"', '{"drug": "blinatumomab", "drug": "x"}',
                                  '{"a": 01}', "\x00", '{"a": 1e99999}'])
def test_unreadable_requests_are_rejected_not_crashed(text):
    r = check_one(lib(), text)
    assert r.verdict == "reject" and r.findings[0][0] in ("REQ_MALFORMED", "FIELD_MISSING")


def test_unknown_fields_are_a_hard_stop_naming_the_field():
    # issue 8: before, an unknown field was ignored with an advisory
    v, codes, r = verdict(adult_24h(note="bed 4"))
    assert (v, codes) == ("reject", ["FIELD_UNKNOWN"]) and "'note'" in r.findings[0][2]


def test_advisories_for_hospitalization_and_premedication():
    step = adult_24h(cycle=1, day=1, dose__value=9, bag__blinatumomab_mcg="10.125")
    found = [c for c, s, m in verdict(step)[2].findings]
    assert {"HOSPITALIZATION", "PREMEDICATION", "NO_FLUSH"} <= set(found)
    later = adult_24h(cycle=4, day=1)
    found = [c for c, s, m in verdict(later)[2].findings]
    assert "SUPERVISION" in found and "HOSPITALIZATION" not in found


def test_the_step_dose_cap_of_9_mcg_per_day_is_hard():
    # red-team r132: a child with a large BSA on a step day; the bag delivers the
    # uncapped 5 x 1.95 = 9.75 mcg/day instead of the capped 9
    child = adult_24h(cycle=1, day=2, patient={"age_days": 5000, "weight_kg": 44, "bsa_m2": "1.95"},
                      dose={"value": 5, "unit": "mcg/m2/day"}, bag__blinatumomab_mcg="10.9688")
    v, codes, _ = verdict(_apply(child, {"overrides": ["BAG_DOSE_DEVIATION"]}))
    assert v == "reject" and "MAX_DAILY_DOSE_EXCEEDED" in codes
    # 1.95 m2 for 44 kg is 1.49 x the weight-based estimate (issue 8): soft
    assert verdict(_apply(child, {"bag__blinatumomab_mcg": "10.125"}))[:2] == ("confirm", ["BSA_WEIGHT_MISMATCH"])
    assert verdict(_apply(child, {"bag__blinatumomab_mcg": "10.125", "overrides": ["BSA_WEIGHT_MISMATCH"],
                                  "override_reason": "BSA checked"}))[0] == "accept"
    # red-team r105: an adult step bag 5% strong (9.45 mcg/day) is over the step maximum
    strong = adult_24h(cycle=1, day=2, dose__value=9, bag__blinatumomab_mcg="10.6313")
    v, codes, _ = verdict(strong)
    assert v == "reject" and "MAX_DAILY_DOSE_EXCEEDED" in codes
    # and on a restart, whatever the indication
    restart = adult_24h(indication="mrd", restart_after_adverse_event=True, dose__value=9,
                        bag__blinatumomab_mcg="10.6313")
    assert "MAX_DAILY_DOSE_EXCEEDED" in verdict(restart)[1]


def test_a_bag_without_overfill_is_a_soft_stop():
    # red-team r097: "the infusion bag is prepared with overfill"
    assert verdict(adult_24h(bag__volume_ml=240, bag__blinatumomab_mcg=28))[1] == ["BAG_NO_OVERFILL"]


def test_a_bag_stronger_than_ordered_beyond_5_percent_is_hard_for_a_child():
    # red-team s096: 0.5 m2 child, 15 mcg/m2 = 7.5 mcg/day ordered; the bag delivers 8.25 (+10%)
    child = adult_24h(indication="mrd", patient={"age_days": 700, "weight_kg": 11, "bsa_m2": "0.5"},
                      dose={"value": 15, "unit": "mcg/m2/day"}, bag__blinatumomab_mcg="9.2813")
    v, codes, _ = verdict(_apply(child, {"overrides": ["BAG_DOSE_DEVIATION"]}))
    assert v == "reject" and codes == ["BAG_DOSE_MISMATCH"]
    # 4% weaker than ordered: within preparation rounding
    assert verdict(_apply(child, {"bag__blinatumomab_mcg": "8.1"}))[0] == "accept"


def test_a_bsa_far_too_small_for_the_weight_is_a_hard_stop():
    # pharmacist audit, finding 3: 40 kg with BSA 0.13 m2 would underdose silently;
    # issue 8: 0.11 x the weight-based estimate is impossible, a hard stop
    child = adult_24h(patient={"age_days": 4000, "weight_kg": 40, "bsa_m2": "0.13"},
                      dose={"value": 15, "unit": "mcg/m2/day"}, bag__blinatumomab_mcg="2.1938")
    assert verdict(child)[1] == ["BSA_WEIGHT_IMPLAUSIBLE"]
    # 15 mcg/m2 x 1.9 m2 at 40 kg: 1.55 x the estimate, the caps must not make it pass (issue 8)
    capped = _apply(child, {"patient__bsa_m2": "1.9", "bag__blinatumomab_mcg": "31.5"})
    assert verdict(capped)[:2] == ("reject", ["BSA_WEIGHT_IMPLAUSIBLE"])


def test_preparation_rounding_of_one_0_01_ml_step_is_accepted_but_a_missed_cap_is_not():
    # one 0.01 mL step of 12.5 mcg/mL over: 31.625 mcg -> 28.11 mcg/day (+0.4%)
    assert verdict(adult_24h(bag__blinatumomab_mcg="31.625"))[0] == "accept"
    # 15 mcg/m2 x 1.9 m2 = 28.5 mcg/day uncapped (+1.8%)
    child = adult_24h(patient={"age_days": 5000, "weight_kg": 44, "bsa_m2": "1.9"},
                      dose={"value": 15, "unit": "mcg/m2/day"}, bag__blinatumomab_mcg="32.0625")
    assert "MAX_DAILY_DOSE_EXCEEDED" in verdict(child)[1]


def test_the_step_dose_where_the_target_is_due_is_a_soft_stop_not_a_silent_accept():
    # e.g. a prolonged step ordered by the prescriber: lower than the regimen, logged
    low = adult_24h(dose__value=9, bag__blinatumomab_mcg="10.125")
    assert verdict(low)[:2] == ("confirm", ["DOSE_BELOW_REGIMEN"])
    assert verdict(_apply(low, {"overrides": ["DOSE_BELOW_REGIMEN"], "override_reason": "prolonged step"}))[0] == "accept"
    # any other dose off the regimen stays hard
    assert verdict(adult_24h(dose__value=20, bag__blinatumomab_mcg="22.5"))[1] == ["DOSE_NOT_IN_REGIMEN"]


def _advice(req):
    return [c for c, s, m in verdict(req)[2].findings if s == "advisory"]


def test_restart_premedication_follows_the_monograph_by_indication_and_age():
    # Other Comments lines 120-121, 127-128
    rr_adult = adult_24h(cycle=3, day=10, restart_after_adverse_event=True, dose__value=9,
                         bag__blinatumomab_mcg="10.125")
    assert "PREMEDICATION" in _advice(rr_adult)
    mrd_adult = _apply(rr_adult, {"indication": "mrd"})
    assert "PREMEDICATION" not in _advice(mrd_adult)
    child = {"age_days": 3000, "weight_kg": 30, "bsa_m2": "1.0"}
    rr_child_c3 = _apply(rr_adult, {"patient": child, "dose": {"value": 5, "unit": "mcg/m2/day"},
                                    "bag__blinatumomab_mcg": "5.625"})
    assert "PREMEDICATION" not in _advice(rr_child_c3)
    assert "PREMEDICATION" in _advice(_apply(rr_child_c3, {"cycle": 1, "day": 12}))


def test_a_preservative_bag_for_a_small_infant_is_refused():
    # pharmacist audit, finding 4: under 5.4 kg both label versions agree
    infant = child_7day(patient={"age_days": 40, "weight_kg": 4, "bsa_m2": "0.25"},
                        bag__blinatumomab_mcg="28.6458")
    v, codes, _ = verdict(_apply(infant, {"overrides": ["PRESERVATIVE_LOW_WEIGHT"]}))
    assert v == "reject" and codes == ["PRESERVATIVE_INFANT"]
