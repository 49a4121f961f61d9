"""Issue 8: what an independent clinical red team found, each told as a story
(a programming, the attack or slip, the verdict and its code), in process and
then every story's request under MicroPython, byte for byte."""
import copy
import json
import os
import subprocess
import sys

import pytest

from firmware.check.batch import check_one, check_text
from firmware.jsontext import JsonTextError, loads
from firmware.errors import LibraryFormatError
from firmware.library import container
from firmware.library.body import decode_body
from host_tools.engines import run_micropython
from libfixtures import real_library, real_library_bytes

LIB = real_library()
STORIES = []  # every request checked below, for the MicroPython comparison


def child(**changes):
    """A correct programming: 20 kg child (estimate 0.105 x 20^(2/3) = 0.774 m2),
    BSA 0.8 m2, relapsed/refractory cycle 2 day 3, 15 mcg/m2/day = 12 mcg/day, 24 h bag."""
    req = {"drug": "blinatumomab", "indication": "relapsed-refractory", "cycle": 2, "day": 3,
           "restart_after_adverse_event": False,
           "patient": {"age_days": 2500, "weight_kg": 20, "bsa_m2": "0.8"},
           "dose": {"value": 15, "unit": "mcg/m2/day"},
           "bag": {"blinatumomab_mcg": "13.5", "volume_ml": 270, "preservative": False},
           "infusion": {"rate_ml_h": 10, "duration_h": 24, "vtbi_ml": 240},
           "line": {"inline_filter": True, "dehp_free": True}, "overrides": []}
    for path, value in changes.items():
        node = req
        keys = path.split("__")
        for k in keys[:-1]:
            node = node[k]
        node[keys[-1]] = value
    return req


def adult(**changes):
    req = child(patient={"age_days": 15000, "weight_kg": 70, "bsa_m2": "1.8"},
                dose={"value": 28, "unit": "mcg/day"}, bag__blinatumomab_mcg="31.5")
    return _apply(req, changes)


def _apply(req, changes):
    req = copy.deepcopy(req)
    for path, value in changes.items():
        node = req
        keys = path.split("__")
        for k in keys[:-1]:
            node = node[k]
        node[keys[-1]] = value
    return req


def bag_for(req, mcg_day):
    """The drug amount that makes the request's bag deliver `mcg_day` exactly (as text, 4 places)."""
    from fractions import Fraction
    inf, bag = req["infusion"], req["bag"]
    amount = Fraction(str(mcg_day)) * Fraction(str(bag["volume_ml"])) / (Fraction(str(inf["rate_ml_h"])) * 24)
    return "%.4f" % amount


def run(req):
    text = req if isinstance(req, (str, bytes)) else json.dumps(req)
    STORIES.append(text)
    r = check_one(LIB, text)
    return r.verdict, [c for c, s, m in r.findings if s != "advisory"], r


def message(r, code):
    return [m for c, s, m in r.findings if c == code][0]


# --- 1. BSA against weight --------------------------------------------------

def test_the_correct_child_programming_is_accepted():
    assert run(child())[:2] == ("accept", [])


@pytest.mark.parametrize("weight,bsa,code", [
    # the red team's probes: 20 kg entered with 1.45 m2 (plausible about 0.74-0.8)
    # got 1.8 x the dose with no stop; 5 kg with 1.2 m2 got 4 x after one override
    ("20", "1.45", "BSA_WEIGHT_IMPLAUSIBLE"),
    ("5", "1.2", "BSA_WEIGHT_IMPLAUSIBLE"),
    ("20", "0.97", "BSA_WEIGHT_MISMATCH"),     # 1.25 x 0.774 = 0.968: just above the soft band
    ("20", "0.96", None),                      # just inside
    ("20", "0.59", None),                      # 0.75 x 0.774 = 0.580: 0.59 is inside ...
    ("20", "0.57", "BSA_WEIGHT_MISMATCH"),     # ... 0.57 below: soft
    ("20", "1.17", "BSA_WEIGHT_IMPLAUSIBLE"),  # 1.5 x 0.774 = 1.161
    ("20", "1.15", "BSA_WEIGHT_MISMATCH"),
    ("20", "0.51", "BSA_WEIGHT_IMPLAUSIBLE"),  # 0.67 x 0.774 = 0.519
    ("20", "0.53", "BSA_WEIGHT_MISMATCH"),
])
def test_a_bsa_that_does_not_fit_the_weight_is_stopped(weight, bsa, code):
    req = child(patient={"age_days": 2500, "weight_kg": weight, "bsa_m2": bsa})
    from fractions import Fraction
    req["bag"]["blinatumomab_mcg"] = bag_for(req, min(Fraction(15) * Fraction(bsa), 28))
    v, codes, r = run(req)
    if code is None:
        assert (v, codes) == ("accept", [])
        return
    assert code in codes
    assert "weight-based estimate is" in message(r, code)
    # the hard stop stays whatever the overrides; the soft one needs an override and a reason
    over = run(_apply(req, {"overrides": [code], "override_reason": "BSA checked twice"}))[0]
    assert over == ("reject" if code == "BSA_WEIGHT_IMPLAUSIBLE" else "accept")


def test_the_issue_examples_are_named_in_the_message():
    v, codes, r = run(child(patient={"age_days": 2500, "weight_kg": 20, "bsa_m2": "1.45"}))
    assert v == "reject"
    assert message(r, "BSA_WEIGHT_IMPLAUSIBLE").endswith(
        "(BSA 1.45 m2 for 20 kg; the weight-based estimate is 0.77 m2, so this BSA is 1.87 times it)")


def test_a_fixed_dose_adult_gets_no_bsa_alarm_that_changes_nothing():
    # 70 kg with 0.9 m2 or 2.9 m2: the dose is 28 mcg/day whatever the BSA
    for bsa in ("0.9", "2.9"):
        assert run(adult(patient__bsa_m2=bsa))[:2] == ("accept", [])
    # exactly 45 kg is the fixed-dose band
    assert run(adult(patient={"age_days": 6000, "weight_kg": 45, "bsa_m2": "2.5"}))[:2] == ("accept", [])


def test_the_height_gives_the_pumps_own_bsa():
    # Mosteller: sqrt(115 x 20 / 3600) = 0.7993 m2
    ok = child(patient={"age_days": 2500, "weight_kg": 20, "bsa_m2": "0.8", "height_cm": 115})
    assert run(ok)[:2] == ("accept", [])
    for within in ("0.809", "0.79"):  # within 0.01 m2 of 0.7993
        assert run(_apply(ok, {"patient__bsa_m2": within}))[:2] == ("accept", [])
    assert run(_apply(ok, {"patient__bsa_m2": "0.81"}))[:2] == ("reject", ["BSA_HEIGHT_MISMATCH"])  # 0.0107 off
    v, codes, r = run(_apply(ok, {"patient__bsa_m2": "0.82", "bag__blinatumomab_mcg": "13.8375"}))
    assert (v, codes) == ("reject", ["BSA_HEIGHT_MISMATCH"])
    assert "height 115 cm and weight 20 kg give 0.80 m2 (Mosteller)" in message(r, "BSA_HEIGHT_MISMATCH")
    # hard: an override does not release it
    assert run(_apply(ok, {"patient__bsa_m2": "0.82", "overrides": ["BSA_HEIGHT_MISMATCH"],
                           "override_reason": "x"}))[0] == "reject"


def test_a_height_without_a_bsa_still_needs_the_bsa_and_says_what_the_height_gives():
    req = child(patient={"age_days": 2500, "weight_kg": 20, "height_cm": "115"})
    v, codes, r = run(req)
    assert v == "reject" and "BSA_REQUIRED" in codes
    assert "height 115 cm gives 0.80 m2 (Mosteller)" in message(r, "BSA_REQUIRED")


@pytest.mark.parametrize("height", ["1.15", "2500", "-3", "0"])
def test_an_implausible_height_is_rejected(height):
    v, codes, r = run(child(patient={"age_days": 2500, "weight_kg": 20, "bsa_m2": "0.8", "height_cm": height}))
    assert v == "reject" and codes == ["PATIENT_VALUE_IMPLAUSIBLE"]


def test_an_adults_height_changes_nothing():
    assert run(adult(patient={"age_days": 15000, "weight_kg": 70, "bsa_m2": "1.5", "height_cm": 180}))[0] == "accept"


# --- 2. an override needs a reason -------------------------------------------

LOW = dict(bag__blinatumomab_mcg="12.6", overrides=["BAG_DOSE_DEVIATION"])  # 11.2 mcg/day for 12: -6.7 %


@pytest.mark.parametrize("reason,why", [
    (None, "no override_reason given"), ("", "blank"), ("   \t", "blank"), (42, "must be text"),
    (["bag checked"], "must be text"), ("x" * 121, "longer than 120 characters"),
    ("\u00a0\u2003\u3000", "blank"), ("\x1c\x7f\u200b", "blank"),
])
def test_an_override_without_a_proper_reason_stays_a_confirmation(reason, why):
    req = child(**LOW)
    if reason is not None:
        req["override_reason"] = reason
    v, codes, r = run(req)
    assert (v, codes) == ("confirm", ["BAG_DOSE_DEVIATION", "OVERRIDE_REASON_REQUIRED"])
    assert why in message(r, "OVERRIDE_REASON_REQUIRED")


def test_an_override_with_a_reason_is_accepted():
    assert run(child(override_reason="bag weighed, pharmacist confirmed", **LOW))[0] == "accept"
    assert run(child(override_reason="x" * 120, **LOW))[0] == "accept"


def test_the_reason_finding_itself_cannot_be_overridden():
    req = child(override_reason=" ", **LOW)
    req["overrides"] = ["BAG_DOSE_DEVIATION", "OVERRIDE_REASON_REQUIRED"]
    v, codes, r = run(req)
    assert v == "confirm" and "OVERRIDE_REASON_REQUIRED" in codes
    assert "OVERRIDE_NOT_APPLICABLE" in [c for c, s, m in r.findings]


# --- 3. unknown fields --------------------------------------------------------

@pytest.mark.parametrize("changes,field", [
    ({"line__flush_mL": 5}, "line.flush_mL"),
    ({"infusion__kvo_ml_hr": 3}, "infusion.kvo_ml_hr"),
    ({"infusion__flush_ml": 0}, "infusion.flush_ml"),
    ({"flush": True}, "flush"),
    ({"patient__height": 120}, "patient.height"),
    ({"dose__units": "mcg/day"}, "dose.units"),
    ({"bag__preservative_free": True}, "bag.preservative_free"),
])
def test_an_unknown_field_anywhere_is_a_hard_stop_naming_it(changes, field):
    v, codes, r = run(child(**changes))
    assert (v, codes) == ("reject", ["FIELD_UNKNOWN"])
    assert "'%s'" % field in message(r, "FIELD_UNKNOWN")


def test_the_known_optional_fields_are_not_unknown():
    req = child(line__flush_ml=0, infusion__bolus_ml=0, infusion__kvo_ml_h=0, override_reason="none needed")
    assert run(req)[:2] == ("accept", [])


# --- 4. no silent capping -----------------------------------------------------

def test_a_capped_dose_says_both_figures_and_the_maximum_names_this_patients_dose():
    # 44.9 kg, 1.9 m2 (1.43 x the estimate: soft, overridden with a reason)
    big = child(patient={"age_days": 5000, "weight_kg": "44.9", "bsa_m2": "1.9"}, bag__blinatumomab_mcg="31.5",
                overrides=["BSA_WEIGHT_MISMATCH"], override_reason="measured")
    v, codes, r = run(big)
    assert v == "accept"
    assert message(r, "DOSE_CAPPED").endswith("(15 mcg/m2/day x 1.9 m2 = 28.50 mcg/day, capped to 28 mcg/day)")
    over = run(_apply(big, {"bag__blinatumomab_mcg": "32.0625"}))  # the uncapped 28.5 mcg/day
    assert over[0] == "reject"
    assert ("this bag delivers 28.50 mcg/day; this patient's dose is 28.00 mcg/day; the maximum is 28 mcg/day"
            in message(over[2], "MAX_DAILY_DOSE_EXCEEDED"))
    # the step dose: 5 x 1.9 = 9.5 capped to 9; a bag for 9.5 names the patient's 9
    step = _apply(big, {"cycle": 1, "day": 2, "dose__value": 5, "bag__blinatumomab_mcg": "10.6875"})
    v, codes, r = run(step)
    assert "this patient's dose is 9.00 mcg/day; the maximum for the step dose is 9 mcg/day" in message(
        r, "MAX_DAILY_DOSE_EXCEEDED")
    assert "= 9.50 mcg/day, capped to 9 mcg/day" in message(r, "DOSE_CAPPED")


def test_no_cap_no_capped_advisory():
    assert "DOSE_CAPPED" not in [c for c, s, m in run(child())[2].findings]


# --- 5. overfill --------------------------------------------------------------

def test_a_bag_with_too_little_overfill_to_prime_the_line_is_a_soft_stop():
    # the red team: a 240.01 mL bag for a 240 mL VTBI cannot prime the line
    req = child(bag__volume_ml="240.01", bag__blinatumomab_mcg="12.0005")
    v, codes, r = run(req)
    assert (v, codes) == ("confirm", ["BAG_OVERFILL_LOW"])
    assert "0.01 mL overfill; priming the line takes 5 mL" in message(r, "BAG_OVERFILL_LOW")
    assert run(_apply(req, {"overrides": ["BAG_OVERFILL_LOW"], "override_reason": "primed by pharmacy"}))[0] == "accept"
    # exactly the priming volume is enough
    assert run(child(bag__volume_ml=245, bag__blinatumomab_mcg="12.25"))[:2] == ("accept", [])


def test_the_labels_own_preparations_pass_without_a_finding():
    # about 270 mL for the 240 mL of a 24 or 48 h bag; 110 mL for the 100.8 mL of a 7-day bag
    for req in (child(), child(infusion={"rate_ml_h": 5, "duration_h": 48, "vtbi_ml": 240}, bag__blinatumomab_mcg="27"),
                child(patient={"age_days": 4000, "weight_kg": 30, "bsa_m2": "1.0"},
                      bag={"blinatumomab_mcg": "114.5833", "volume_ml": 110, "preservative": True},
                      infusion={"rate_ml_h": "0.6", "duration_h": 168, "vtbi_ml": "100.8"},
                      line={"inline_filter": False, "dehp_free": True})):
        v, codes, r = run(req)
        assert (v, codes) == ("accept", [])
        assert not [c for c, s, m in r.findings if "OVERFILL" in c]


# --- 6. contract defects --------------------------------------------------------

def test_an_invalid_utf8_line_gets_its_own_reject_and_the_others_their_verdicts():
    good = json.dumps(child()).encode()
    data = good + b"\n" + good[:20] + b"\xff\xfe" + good[20:] + b"\n" + good + b"\n"
    out = [json.loads(x) for x in check_text(LIB, data)]
    assert [r["verdict"] for r in out] == ["accept", "reject", "accept"]
    assert out[1]["findings"][0]["code"] == "REQ_MALFORMED" and "not UTF-8" in out[1]["findings"][0]["message"]


@pytest.mark.parametrize("bad", [b"\xed\xa0\xbd", b"\xc0\xaf", b"\xf4\x90\x80\x80", b"\xe2\x82"])
def test_what_micropython_would_decode_loosely_is_not_utf8(bad):
    # encoded surrogates, overlong forms, above U+10FFFF, truncated
    with pytest.raises(JsonTextError):
        loads(b'{"drug": "' + bad + b'"}')


def test_surrogate_pairs_are_joined_and_lone_surrogates_are_malformed():
    # RFC 8259 section 7
    assert loads('{"drug": "\\uD83D\\uDC89"}')["drug"] == "\U0001F489"
    for lone in ('"\\uD83D"', '"\\uDC89"', '"\\uD83Dx"', '"\\uD83D\\u0041"'):
        v, codes, r = run('{"drug": %s}' % lone)
        assert (v, codes) == ("reject", ["REQ_MALFORMED"]) and "surrogate" in r.findings[0][2]


@pytest.mark.parametrize("value", ["010", "00.5", "-07", "0010e1"])
def test_decimal_strings_follow_jsons_number_grammar(value):
    v, codes, r = run(child(patient__weight_kg=value))
    assert (v, codes) == ("reject", ["FIELD_INVALID"]) and "leading zero" in message(r, "FIELD_INVALID")


def test_a_word_for_a_number_is_not_a_number():
    v, codes, r = run(child(patient__weight_kg="seventy"))
    assert (v, codes) == ("reject", ["FIELD_INVALID"])
    assert "'seventy' is not a number" in message(r, "FIELD_INVALID")
    assert "exponent" not in message(r, "FIELD_INVALID")


def test_a_long_value_is_quoted_as_a_short_cut_prefix():
    v, codes, r = run(child(drug="x" * 60000))
    msg = message(r, "UNKNOWN_DRUG")
    assert len(msg) < 200 and "'" + "x" * 32 + "...' (60000 characters)" in msg
    v, codes, r = run(child(**{"x" * 5000: 1}))
    assert len(message(r, "FIELD_UNKNOWN")) < 200


def test_one_cause_is_reported_once():
    for changes, code in (({"dose": [28]}, "FIELD_INVALID"), ({"patient": None}, "FIELD_MISSING"),
                          ({"bag": "270 mL"}, "FIELD_INVALID")):
        req = child()
        req.update(changes)
        v, codes, r = run(req)
        assert v == "reject" and codes.count(code) == 1, codes


def test_non_ascii_text_gives_the_same_message_on_both_engines(tmp_path):
    texts = [json.dumps(child(drug="blinatumomab\u00e9")), json.dumps(child(indication="r\u00e9cidive")),
             json.dumps(child(dose__unit="\u00b5g/day")), json.dumps(child(**{"n\u00f6te": 1})),
             json.dumps(child(patient__weight_kg="7\u00b0")), '{"drug": "\U0001F489", "x\u00e9": 1}',
             '{"\u00e9": 1, "\u00e9": 2}', '{"drug": \u00e9}', json.dumps(child(overrides=["\u00c9"])),
             # blank reasons and blank-looking lines: str.strip() differs between the engines
             json.dumps(child(override_reason="\u00a0\u2003", **LOW)), json.dumps(child(override_reason="\x1c", **LOW)),
             json.dumps(child(override_reason="\u00e9", **LOW)), "\u00a0", "\x1c\x1d", "\u2028"]
    STORIES.extend(texts)
    path = tmp_path / "lib.bin"
    path.write_bytes(real_library_bytes())
    assert run_micropython(str(path), "\n".join(texts)) == check_text(LIB, "\n".join(texts))


def _druglib():
    return os.path.join(os.path.dirname(sys.executable), "druglib")


@pytest.mark.parametrize("engine", ["cpython", "micropython"])
def test_the_cli_answers_every_line_of_a_file_with_one_bad_byte(engine, tmp_path):
    lib = tmp_path / "lib.bin"
    lib.write_bytes(real_library_bytes())
    good = json.dumps(child()).encode()
    reqs = tmp_path / "requests.jsonl"
    # a stray byte, then what MicroPython's own decoder would take: an encoded
    # surrogate, an overlong "/", a code point above U+10FFFF
    bad = [b'{"drug": "\xff"}', b'{"drug": "\xed\xa0\xbd"}', b'{"drug": "\xc0\xaf"}', b'{"drug": "\xf4\x90\x80\x80"}']
    data = good + b"\n" + b"\n".join(bad) + b"\n" + good + b"\n"
    reqs.write_bytes(data)
    proc = subprocess.run([_druglib(), "check", "--library", str(lib), str(reqs), "--engine", engine],
                          capture_output=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert [json.loads(x)["verdict"] for x in proc.stdout.splitlines()] == ["accept"] + ["reject"] * 4 + ["accept"]
    assert proc.stdout.decode().splitlines() == check_text(LIB, data)


# --- 7. a drug given twice ----------------------------------------------------------

def test_the_decoder_refuses_a_library_with_the_same_drug_twice():
    body = container.parse(real_library_bytes()).body
    first = body[:3 + body[1] * 256 + body[2]]  # the LIBRARY record
    rest = body[len(first):]                    # DRUG and what belongs to it
    with pytest.raises(LibraryFormatError) as e:
        decode_body(first + rest + rest)
    assert "given twice" in e.value.message


def test_the_compiler_refuses_two_drug_files_with_the_same_drug(tmp_path):
    from host_tools.errors import RulesError
    from host_tools.rules.compiler import load_rules
    from rules_helpers import DRUG, MANIFEST, copy_rules, edit

    root = copy_rules(tmp_path)
    (root / "copy.toml").write_text((root / DRUG).read_text())
    edit(root, MANIFEST, 'drug_files = ["blinatumomab.toml"]', 'drug_files = ["blinatumomab.toml", "copy.toml"]')
    with pytest.raises(RulesError) as e:
        load_rules(str(root))
    assert "'blinatumomab' is defined twice" in str(e.value)


# --- every story, under MicroPython -----------------------------------------------

def test_zz_every_story_gives_the_same_bytes_under_micropython(tmp_path):
    if not STORIES:
        pytest.skip("no story ran before this test (run the whole file to compare them under MicroPython)")
    path = tmp_path / "lib.bin"
    path.write_bytes(real_library_bytes())
    text = "\n".join(t.decode("utf-8") if isinstance(t, bytes) else t for t in STORIES)
    assert run_micropython(str(path), text) == check_text(LIB, text)
