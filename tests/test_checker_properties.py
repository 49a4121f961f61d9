"""Properties of the device checker (hypothesis): what is accepted is always safe;
nothing a request holds can crash it."""
import json
from fractions import Fraction

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from firmware.check.checker import check
from firmware.check.batch import check_one
from firmware.jsontext import loads
from libfixtures import real_library

LIB = real_library()
DRUG = LIB["drugs"][0]
FIXED = {a["duration_h"]: Fraction(a["rate_ul_h"], 1000) for a in DRUG["admin"]}
MAX_MCG_DAY = Fraction(DRUG["limits"]["max_daily_ng"], 1000) * Fraction(
    1000000 + DRUG["limits"]["max_daily_allowance_ppm"], 1000000)

decimals = st.decimals(min_value=-5, max_value=400, places=4, allow_nan=False, allow_infinity=False)


def dec(x):
    return str(x)


@st.composite
def programmings(draw):
    """A correct programming built from the regimen, then 0-3 random slips."""
    ind = draw(st.sampled_from(["mrd", "relapsed-refractory"]))
    cycle = draw(st.integers(1, 4 if ind == "mrd" else 9))
    weight = Fraction(draw(st.integers(3000, 150000)), 1000)
    # no preservative (7-day) bag under 5.4 kg: PRESERVATIVE_INFANT
    duration = draw(st.sampled_from([24, 48] if weight < Fraction(54, 10) else [24, 48, 168]))
    days = duration // 24
    day = draw(st.integers(1, 28 - days + 1))
    restart = draw(st.booleans())
    # a BSA that fits the weight: 80-130% of Meeh's estimate 0.1 x W^(2/3) m2
    bsa = Fraction(min(34000, max(1500, round(10 * float(weight) ** (2 / 3) * draw(st.integers(80, 130))))), 10000)
    age = draw(st.integers(31, 30000))
    step = restart or (ind == "relapsed-refractory" and cycle == 1 and day + days - 1 <= 7)
    assume(restart or not (ind == "relapsed-refractory" and cycle == 1 and day <= 7 < day + days - 1))
    if weight >= 45:
        value, unit, daily = (9 if step else 28), "mcg/day", Fraction(9 if step else 28)
    else:
        value, unit = (5 if step else 15), "mcg/m2/day"
        daily = min(value * bsa, Fraction(9 if step else 28))
    rate = FIXED[duration]
    volume = Fraction(110 if duration == 168 else 270)
    mcg = daily * volume / (rate * 24)
    req = {"drug": "blinatumomab", "indication": ind, "cycle": cycle, "day": day,
           "restart_after_adverse_event": restart,
           "patient": {"age_days": age, "weight_kg": dec(float(weight)), "bsa_m2": dec(float(bsa))},
           "dose": {"value": value, "unit": unit},
           "bag": {"blinatumomab_mcg": "%.4f" % float(mcg), "volume_ml": int(volume), "preservative": duration == 168},
           "infusion": {"rate_ml_h": str(float(rate)), "duration_h": duration, "vtbi_ml": str(float(rate * duration))},
           "line": {"inline_filter": duration != 168, "dehp_free": True}, "overrides": []}
    slips = draw(st.lists(st.sampled_from(SLIPS), max_size=3))
    for slip in slips:
        slip(req, draw)
    return req, not slips


def _set(path, strategy):
    def slip(req, draw):
        node = req
        keys = path.split(".")
        for k in keys[:-1]:
            node = node[k]
        node[keys[-1]] = draw(strategy)
    return slip


SLIPS = [
    _set("infusion.rate_ml_h", st.sampled_from(["0.06", "0.6", "6", "5", "10", "50", "100", "1", "0", "-5"]) | decimals.map(dec)),
    _set("infusion.duration_h", st.sampled_from([24, 48, 72, 96, 168, 0])),
    _set("infusion.vtbi_ml", st.sampled_from(["240", "100.8", "480", "201.6", "0"]) | decimals.map(dec)),
    _set("bag.blinatumomab_mcg", decimals.map(dec)),
    _set("bag.volume_ml", st.sampled_from([110, 270, 50, 0, 1000])),
    _set("bag.preservative", st.booleans()),
    _set("dose.value", st.sampled_from([5, 9, 15, 28, 30, 50, 90])),
    _set("dose.unit", st.sampled_from(["mcg/day", "mcg/m2/day", "mg/day"])),
    _set("patient.weight_kg", st.sampled_from(["44.99", "45", "20", "-3", "0", "400"])),
    _set("patient.bsa_m2", st.sampled_from(["0.5", "1.9", "2.4", "0", "9"])),
    _set("patient.age_days", st.integers(-5, 60000)),
    _set("cycle", st.integers(-1, 12)),
    _set("day", st.integers(-1, 90)),
    _set("restart_after_adverse_event", st.booleans()),
    _set("line.inline_filter", st.booleans()),
    _set("line.dehp_free", st.booleans()),
    _set("overrides", st.lists(st.sampled_from(["BAG_DOSE_DEVIATION", "PRESERVATIVE_LOW_WEIGHT", "RATE_NOT_FIXED"]))),
]


def F(x):
    return Fraction(str(x))


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(programmings())
def test_an_accepted_programming_is_always_within_the_hard_limits(case):
    req, correct = case
    r = check_one(LIB, json.dumps(req))
    assert r.verdict in ("accept", "confirm", "reject")
    if correct:
        # a programming built straight from the regimen passes; only the
        # preservative-weight soft stop may ask for confirmation
        soft = [c for c, s, m in r.findings if s != "advisory"]
        assert r.verdict == "accept" or soft == ["PRESERVATIVE_LOW_WEIGHT"], (req, r.findings)
    if r.verdict != "accept":
        return
    inf, bag, pat = req["infusion"], req["bag"], req["patient"]
    duration = int(inf["duration_h"])
    # the rate is the fixed rate of its administration option
    assert duration in FIXED and F(inf["rate_ml_h"]) == FIXED[duration]
    delivered = F(bag["blinatumomab_mcg"]) / F(bag["volume_ml"]) * F(inf["rate_ml_h"]) * 24
    assert delivered <= MAX_MCG_DAY
    # and never more than the dose level's own maximum (9 mcg/day on step days and restarts)
    step = req["restart_after_adverse_event"] or (req["indication"] == "relapsed-refractory"
                                                  and req["cycle"] == 1 and req["day"] <= 7)
    assert delivered <= (Fraction(9) if step else Fraction(28)) * Fraction(1001, 1000)
    assert F(inf["vtbi_ml"]) <= F(bag["volume_ml"])
    assert bag["preservative"] == (duration == 168)
    assert req["line"]["inline_filter"] == (duration != 168) and req["line"]["dehp_free"]
    assert 1 <= req["day"] and req["day"] + duration // 24 - 1 <= 28
    assert req["patient"]["age_days"] >= DRUG["limits"]["min_age_days"]
    assert (F(pat["weight_kg"]) >= 45) == (req["dose"]["unit"] == "mcg/day")




json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10**30, 10**30) | st.text(max_size=8)
    | st.floats(allow_nan=False, allow_infinity=False),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=5),
    max_leaves=20)


@settings(max_examples=400, deadline=None)
@given(st.dictionaries(st.sampled_from(["drug", "indication", "cycle", "day", "restart_after_adverse_event",
                                        "patient", "dose", "bag", "infusion", "line", "overrides", "x"]),
                       json_values, max_size=11))
def test_any_json_object_gets_a_verdict_and_never_a_crash(obj):
    obj.setdefault("drug", "blinatumomab")
    r = check_one(LIB, json.dumps(obj))
    assert r.verdict in ("accept", "confirm", "reject")
    assert all(f[0] != "REQ_MALFORMED" or "internal" not in f[2] for f in r.findings), r.findings


@settings(max_examples=400, deadline=None)
@given(st.text(max_size=200) | st.binary(max_size=200).map(lambda b: b.decode("latin-1")))
def test_any_text_gets_a_verdict(text):
    r = check_one(LIB, text)
    assert r.verdict in ("accept", "confirm", "reject")


def test_no_library_refuses_everything():
    r = check(None, loads('{"drug": "blinatumomab"}'))
    assert r.verdict == "reject" and r.findings[0][0] == "NO_LIBRARY"


@settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                                                  HealthCheck.data_too_large])
@given(st.lists(programmings(), min_size=150, max_size=150))
def test_micropython_and_cpython_give_identical_results_on_generated_programmings(cases):
    """The very same firmware under both interpreters: byte-identical answers."""
    import os
    import tempfile

    from host_tools.engines import run_cpython, run_micropython
    from libfixtures import real_library_bytes

    text = "\n".join(json.dumps(req) for req, _ in cases)
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "lib.bin")
        with open(path, "wb") as fh:
            fh.write(real_library_bytes())
        assert run_micropython(path, text) == run_cpython(LIB, text)


# --- issue 8: under 45 kg the BSA sets the dose, so the BSA must fit the weight ---

LIM = DRUG["limits"]
K_M2 = Fraction(LIM["bsa_weight_k_cm2"], 10000)  # estimate = K x W(kg)^(2/3) m2 (Meeh)
SOFT_OVER = Fraction(1000000 + LIM["bsa_weight_over_ppm"], 1000000)   # 1.25
HARD_OVER = Fraction(1000000 + LIM["bsa_weight_hard_over_ppm"], 1000000)  # 1.5
PREP = Fraction(1000000 + LIM["dose_soft_ppm"], 1000000)  # a bag may deliver up to 5 % over the order


def _within(x, c, weight):
    """x <= c x K x W^(2/3), exactly (cubes, no float)."""
    return x ** 3 <= (c * K_M2) ** 3 * weight ** 2


@st.composite
def child_programmings(draw):
    """A child under 45 kg with ANY BSA from 0.3 to 3 times the estimate, dosed
    by the regimen from that BSA, the bag within +-10 % of the (capped) order."""
    ind = draw(st.sampled_from(["mrd", "relapsed-refractory"]))
    cycle = draw(st.integers(1, 4 if ind == "mrd" else 9))
    weight = Fraction(draw(st.integers(500, 44999)), 1000)
    duration = draw(st.sampled_from([24, 48, 168]))
    days = duration // 24
    day = draw(st.integers(1, 28 - days + 1))
    restart = draw(st.booleans())
    assume(restart or not (ind == "relapsed-refractory" and cycle == 1 and day <= 7 < day + days - 1))
    step = restart or (ind == "relapsed-refractory" and cycle == 1 and day + days - 1 <= 7)
    estimate_cm2 = float(K_M2) * 10000 * float(weight) ** (2 / 3)
    bsa_cm2 = round(estimate_cm2 * draw(st.integers(300, 3000)) / 1000)
    bsa = Fraction(min(LIM["bsa_max_cm2"], max(LIM["bsa_min_cm2"], bsa_cm2)), 10000)
    value = 5 if step else 15
    daily = min(value * bsa, Fraction(9 if step else 28)) * Fraction(draw(st.integers(900, 1100)), 1000)
    rate = FIXED[duration]
    volume = Fraction(110 if duration == 168 else 270)
    req = {"drug": "blinatumomab", "indication": ind, "cycle": cycle, "day": day,
           "restart_after_adverse_event": restart,
           "patient": {"age_days": draw(st.integers(31, 6000)), "weight_kg": str(float(weight)),
                       "bsa_m2": str(float(bsa))},
           "dose": {"value": value, "unit": "mcg/m2/day"},
           "bag": {"blinatumomab_mcg": "%.4f" % float(daily * volume / (rate * 24)), "volume_ml": int(volume),
                   "preservative": duration == 168},
           "infusion": {"rate_ml_h": str(float(rate)), "duration_h": duration, "vtbi_ml": str(float(rate * duration))},
           "line": {"inline_filter": duration != 168, "dehp_free": True}, "overrides": []}
    return req, weight, bsa, value


def _delivered(req):
    inf, bag = req["infusion"], req["bag"]
    return F(bag["blinatumomab_mcg"]) / F(bag["volume_ml"]) * F(inf["rate_ml_h"]) * 24


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(child_programmings())
def test_without_an_override_a_child_never_gets_more_than_1_25_times_the_estimates_dose(case):
    req, weight, bsa, value = case
    r = check_one(LIB, json.dumps(req))
    if r.verdict == "accept":
        # the BSA is within 1.25 x the weight-based estimate, and the bag within the preparation tolerance
        assert _within(bsa, SOFT_OVER, weight), (req, r.findings)
        assert _within(_delivered(req) / value, SOFT_OVER * PREP, weight), (req, r.findings)


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(child_programmings())
def test_even_with_every_soft_stop_overridden_no_child_gets_1_5_times_the_estimates_dose(case):
    req, weight, bsa, value = case
    first = check_one(LIB, json.dumps(req))
    req["overrides"] = [c for c, s, m in first.findings if s == "soft"]
    req["override_reason"] = "confirmed with the prescriber"
    r = check_one(LIB, json.dumps(req))
    if not _within(bsa, HARD_OVER, weight) or bsa ** 3 == (HARD_OVER * K_M2) ** 3 * weight ** 2:
        # at 1.5 x the estimate or more: refused, whatever the overrides
        assert r.verdict == "reject" and "BSA_WEIGHT_IMPLAUSIBLE" in [c for c, s, m in r.findings]
    if r.verdict == "accept":
        d = _delivered(req) / value
        assert _within(d, HARD_OVER * PREP, weight) and d ** 3 != (HARD_OVER * PREP * K_M2) ** 3 * weight ** 2


@settings(max_examples=200)
@given(st.sampled_from(["accept", "confirm", "reject"]),
       st.lists(st.tuples(st.text(max_size=20), st.sampled_from(["hard", "soft", "advisory"]),
                          st.text(max_size=120)), max_size=5))
def test_the_written_out_result_line_is_the_generic_writers_text(verdict, findings):
    # issue 11 item 4: result_json writes the line directly (the CHECK path's
    # time); it must be byte for byte what jsontext.dumps gives
    from firmware.check.batch import result_json, result_json_dumps
    from firmware.check.verdict import Result

    r = Result(verdict, findings)
    assert result_json(r) == result_json_dumps(r)
