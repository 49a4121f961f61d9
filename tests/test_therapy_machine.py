"""The therapy state machine, pure (firmware/therapy/machine.py; DESIGN.md,
"Contract: the pump through a whole infusion"): the action table, the course
record rules, the lockouts, and the example scenarios' expected results."""
import os

import pytest

from firmware.library.body import decode
from firmware.therapy import machine
from firmware.therapy.actions import ActionError
from host_tools.library.build import build_library
from therapy_helpers import RR, SCENARIOS, action, load, request, run_pure

LIB = decode(build_library())[1]


def run(steps):
    return run_pure(LIB, steps)


def results(steps):
    return [(o.result, o.after.state) for o in run(steps)]


def P(req):
    return {"action": "program", "request": req}


def BC(req):
    return {"action": "bag_change", "request": req}


def A(h):
    return {"action": "advance", "hours": h}


START, PAUSE, RESUME, STOP = ({"action": n} for n in ("start", "pause", "resume", "stop"))


@pytest.mark.parametrize("path", SCENARIOS, ids=[os.path.basename(p) for p in SCENARIOS])
def test_example_scenario_gives_its_expected_results(path):
    steps = load(path)["steps"]
    got = results(steps)
    want = [(s["expect"]["result"], s["expect"]["state"]) for s in steps]
    assert got == want
    for o, s in zip(run(steps), steps):
        for code in s["expect"].get("codes_include", []):
            assert code in o.codes(), (s, code)


def test_a_refused_action_returns_the_very_state_it_was_given():
    t = run([P(request(RR, 1, 1, 9, "7d")), START])[-1].after
    for a in ({"action": "flush"}, {"action": "bolus", "volume_ml": 1}, {"action": "set_rate", "rate_ml_h": 10},
              {"action": "prime", "fluid": "saline"}, {"action": "prime", "fluid": "drug"}, RESUME,
              {"action": "new_patient"}, P(request(RR, 1, 1, 9, "7d"))):
        o = machine.step(t, action(a), t.clock_mh, LIB)
        assert o.result == "refused" and o.after is t, a


def test_lockouts_have_their_own_codes_in_every_state():
    lock = [({"action": "flush"}, "FLUSH_LOCKED"), ({"action": "bolus", "volume_ml": "0.5"}, "BOLUS_LOCKED"),
            ({"action": "set_rate", "rate_ml_h": 5}, "RATE_CHANGE_LOCKED"),
            ({"action": "prime", "fluid": "saline"}, "SALINE_PRIME_LOCKED")]
    prefixes = [[], [P(request(RR, 2, 1))], [P(request(RR, 2, 1)), START], [P(request(RR, 2, 1)), START, PAUSE],
                [P(request(RR, 2, 1)), START, A(24)]]
    for pre in prefixes:
        for a, code in lock:
            o = run(pre + [a])[-1]
            assert (o.result, o.codes()) == ("refused", [code])


def test_bag_runs_to_its_vtbi_then_bag_empty_and_the_day_follows_infused_hours():
    outs = run([P(request(RR, 2, 1)), START, A(23), A("0.999"), A("0.001"), BC(request(RR, 2, 2))])
    assert [o.after.state for o in outs] == ["programmed", "running", "running", "running", "bag-empty", "programmed"]
    assert outs[-2].codes() == ["BAG_EMPTY"]
    assert outs[-1].after.rec.inf_mh == 24000


def test_a_48h_bag_at_the_24h_rate_is_refused_and_nothing_changes():
    o = run([P(request(RR, 2, 1, kind="48h", rate=10))])[-1]
    assert o.result == "refused" and "RATE_NOT_FIXED" in o.codes() and o.after.state == "idle" and o.after.rec is None


def test_seven_day_bag_keyed_at_6_ml_h_is_refused():
    o = run([P(request(RR, 2, 1, kind="7d", rate=6))])[-1]
    assert o.result == "refused" and "RATE_NOT_FIXED" in o.codes()


def test_fresh_record_counts_the_days_before_day_as_infused():
    o = run([P(request(RR, 1, 8, 28, "7d"))])[-1]
    assert o.result == "ok" and o.after.rec.inf_mh == 7 * 24000 and o.after.rec.next_day() == 8


def test_partial_day_is_not_a_whole_infused_day():
    outs = run([P(request(RR, 2, 1, kind="48h")), START, A(30), PAUSE, A(2), BC(request(RR, 2, 3)),
                BC(request(RR, 2, 2))])
    assert outs[-2].result == "refused" and "COURSE_DAY_MISMATCH" in outs[-2].codes()
    assert outs[-1].result == "ok"


def test_resume_after_4_hours_gives_supervision_and_premedication_for_rr_adults():
    base = [P(request(RR, 2, 1)), START, A(2), PAUSE]
    assert run(base + [A("3.999"), RESUME])[-1].codes() == []
    o = run(base + [A(4), RESUME])[-1]
    assert o.result == "ok" and o.codes() == ["SUPERVISION", "PREMEDICATION"]


def test_resume_for_mrd_adults_advises_supervision_only():
    o = run([P(request("mrd", 2, 1)), START, A(2), PAUSE, A(5), RESUME])[-1]
    assert o.codes() == ["SUPERVISION"]


def test_resume_after_exactly_7_days_is_ok_after_more_it_is_refused_and_stays_paused():
    base = [P(request(RR, 2, 1)), START, A(2), PAUSE]
    assert results(base + [A(168), RESUME])[-1] == ("ok", "running")
    o = run(base + [A("168.001"), RESUME])[-1]
    assert (o.result, o.after.state, o.codes()) == ("refused", "paused", ["RESUME_INTERRUPTION_TOO_LONG"])


def test_course_record_refuses_another_indication_cycle_or_day_each_with_its_code():
    base = [P(request(RR, 2, 1)), START, A(24)]
    cases = [(request("mrd", 2, 2), "COURSE_INDICATION_CHANGED"), (request(RR, 3, 2), "COURSE_CYCLE_MISMATCH"),
             (request(RR, 2, 3), "COURSE_DAY_MISMATCH"), (request(RR, 3, 1), "COURSE_CYCLE_MISMATCH")]
    for req, code in cases:
        o = run(base + [BC(req)])[-1]
        assert o.result == "refused" and code in o.codes() and o.after.state == "bag-empty", code


def test_new_cycle_before_the_treatment_free_interval_is_a_soft_stop_overridable_with_a_reason():
    done = [P(request(RR, 2, 1, kind="7d"))] + [START, A(168), BC(request(RR, 2, 8, kind="7d")), START, A(168),
                                                 BC(request(RR, 2, 15, kind="7d")), START, A(168),
                                                 BC(request(RR, 2, 22, kind="7d")), START, A(168), STOP]
    outs = run(done + [A(335), P(request(RR, 3, 1))])
    assert outs[-2 - 1].after.state == "idle"
    assert outs[-1].result == "confirm" and "COURSE_FREE_INTERVAL_SHORT" in outs[-1].codes()
    ov = {"action": "override", "codes": ["COURSE_FREE_INTERVAL_SHORT"], "reason": "prescriber: start now"}
    assert results(done + [A(335), P(request(RR, 3, 1)), ov])[-1] == ("ok", "programmed")
    blank = dict(ov, reason="  ")
    assert results(done + [A(335), P(request(RR, 3, 1)), blank])[-1] == ("refused", "pending")
    # in the request itself, with a reason
    req = request(RR, 3, 1, overrides=["COURSE_FREE_INTERVAL_SHORT"], reason="prescriber")
    assert results(done + [A(335), P(req)])[-1] == ("ok", "programmed")
    assert results(done + [A(336), P(request(RR, 3, 1))])[-1] == ("ok", "programmed")
    # continued therapy (cycles 6-9): 56 days
    c6 = [P(request(RR, 6, 22, kind="7d")), START, A(168), STOP, A(55 * 24)]
    assert results(c6 + [P(request(RR, 7, 1))])[-1] == ("confirm", "pending")
    assert results(c6 + [A(24), P(request(RR, 7, 1))])[-1] == ("ok", "programmed")


def test_stop_keeps_the_record_new_patient_clears_it_only_in_idle():
    outs = run([P(request(RR, 2, 1)), START, A(24), {"action": "new_patient"}, STOP, P(request(RR, 2, 5)),
                {"action": "new_patient"}, P(request(RR, 2, 5))])
    assert [(o.result, o.after.state) for o in outs][3:] == [
        ("refused", "bag-empty"), ("ok", "idle"), ("refused", "idle"), ("ok", "idle"), ("ok", "programmed")]


def test_actions_outside_their_states_are_refused():
    table = {"start": ["idle"], "pause": ["idle"], "resume": ["idle"], "override": ["idle"], "stop": ["idle"]}
    for name in table:
        a = {"action": name}
        if name == "override":
            a.update(codes=[], reason="x")
        o = run([a])[-1]
        assert (o.result, o.codes()) == ("refused", ["ACTION_NOT_ALLOWED"])
    o = run([P(request(RR, 2, 1)), START, P(request(RR, 2, 1))])[-1]
    assert (o.result, o.after.state) == ("refused", "running")
    o = run([P(request(RR, 2, 1)), BC(request(RR, 2, 1))])[-1]
    assert (o.result, o.after.state) == ("refused", "programmed")


@pytest.mark.parametrize("step, why", [
    ({"action": "teleport"}, "unknown action"), ({}, "missing field \"action\""),
    ({"action": "advance"}, "missing field \"hours\""), ({"action": "advance", "hours": -1}, "negative"),
    ({"action": "advance", "hours": "0.0001"}, "thousandths"), ({"action": "program"}, "missing field \"request\""),
    ({"action": "prime", "fluid": "water"}, "drug"), ({"action": "override", "codes": "X", "reason": "r"}, "list"),
    ({"action": "prime"}, "missing field \"fluid\""), ({"action": "bag_change"}, "missing field \"request\""),
    ({"action": "override", "reason": 3}, "text"), ({"action": "set_rate", "rate_ml_h": "fast"}, "set_rate.rate_ml_h"),
])
def test_malformed_actions_are_named(step, why):
    with pytest.raises(ActionError) as e:
        action(step)
    assert why in e.value.message


def test_an_infusion_started_and_paused_at_once_counts_its_interruption_from_the_start():
    # found by the state-machine test: a bag programmed, left 168 h, started
    # and paused at once; the interruption runs from the start, not from never
    base = [P(request(RR, 1, 1, 9)), A(168), START, PAUSE]
    assert results(base + [RESUME])[-1] == ("ok", "running")
    assert run(base + [RESUME])[-1].codes() == []
    assert results(base + [A(169), RESUME])[-1] == ("refused", "paused")


def test_a_soft_stop_waits_in_pending_for_an_override_naming_it_with_a_reason():
    low = request(RR, 2, 1)
    low["bag"]["blinatumomab_mcg"] = "29.5"  # 6 % low: BAG_DOSE_DEVIATION (soft)
    ov = {"action": "override", "codes": ["BAG_DOSE_DEVIATION"], "reason": "pharmacist confirmed"}
    assert results([P(low)]) == [("confirm", "pending")]
    assert results([P(low), dict(ov, codes=[])])[-1] == ("refused", "pending")
    assert results([P(low), dict(ov, reason="")])[-1] == ("refused", "pending")
    assert results([P(low), START])[-1] == ("refused", "pending")
    outs = run([P(low), ov, START])
    assert [(o.result, o.after.state) for o in outs] == [("confirm", "pending"), ("ok", "programmed"), ("ok", "running")]
    assert outs[1].after.rec.cycle == 2
    # a pending programming that is stopped leaves no record
    assert run([P(low), STOP])[-1].after.rec is None
    # overridden in the request itself, with a reason: ok at once
    low2 = dict(low, overrides=["BAG_DOSE_DEVIATION"], override_reason="pharmacist confirmed")
    assert results([P(low2)]) == [("ok", "programmed")]


def test_an_override_naming_nothing_or_without_a_reason_is_refused_not_malformed():
    low = request(RR, 2, 1)
    low["bag"]["blinatumomab_mcg"] = "29.5"
    for ov in ({"action": "override"}, {"action": "override", "codes": ["BAG_DOSE_DEVIATION"]},
               {"action": "override", "reason": "pharmacist"}):
        o = run([P(low), ov])[-1]
        assert (o.result, o.after.state, o.codes()) == ("refused", "pending", ["OVERRIDE_INCOMPLETE"])
    for lock in ({"action": "set_rate"}, {"action": "bolus"}):
        assert run([lock])[-1].result == "refused"
