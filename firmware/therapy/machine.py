# The therapy state machine (DESIGN.md, "Contract: the pump through a whole
# infusion"; docs/therapy.md). Pure core: a Therapy value, one Action
# (firmware/therapy/actions.py), the clock value `now_mh` the shell passes in
# (integer milli-hours) and the decoded library in; an Outcome out with the
# result, the findings and the Therapy after. A refused action returns the
# very Therapy it was given: nothing changes. Integer arithmetic only.
#
# Lockouts (monograph, Other Comments > Administration advice, lines 107-114,
# and Reconstitution, line 140; Patient advice, line 168): "continuous IV
# infusion at a constant flow rate", "Do NOT flush the infusion line or IV
# catheter, especially when changing infusion bags", "Do NOT prime IV tubing
# with 0.9% sodium chloride", "Do not adjust setting on infusion pump during
# administration": set_rate, bolus, flush and a saline prime are refused in
# every state, each with its own code.
#
# The state values (Therapy, Bag, Pending, Outcome, the state names) live in
# firmware/therapy/state.py and are re-exported here for callers.
from firmware.therapy import course
from firmware.therapy.course import MH_H
from firmware.therapy.programming import COURSE_CODES, _drug, programming  # noqa: F401
from firmware.therapy.state import (BAG_EMPTY, CYCLE_COMPLETE, IDLE, OK, PAUSED, PENDING, PROGRAMMED, REFUSED,
                                    RUNNING, STATES, Bag, Outcome, Pending, Therapy, _finding)  # noqa: F401

# where each action is allowed (None: every state)
ALLOWED = {
    "program": (IDLE, PENDING, PROGRAMMED),
    "bag_change": (BAG_EMPTY, PAUSED),
    "override": (PENDING,),
    "start": (PROGRAMMED,),
    "pause": (RUNNING,),
    "resume": (PAUSED,),
    "advance": None,
    "stop": (PENDING, PROGRAMMED, RUNNING, PAUSED, BAG_EMPTY, CYCLE_COMPLETE),
    "new_patient": (IDLE,),
}
LOCKOUTS = {"set_rate": "RATE_CHANGE_LOCKED", "bolus": "BOLUS_LOCKED", "flush": "FLUSH_LOCKED"}


def step(t, action, now_mh, lib):
    """Apply one Action at clock `now_mh` (>= t.clock_mh). Time passes first
    (a running bag delivers), then the action. -> Outcome."""
    if now_mh < t.clock_mh:
        return Outcome(REFUSED, [_finding("ACTION_NOT_ALLOWED", "the clock went backwards")], t)
    name = action.name
    if name in LOCKOUTS:
        return Outcome(REFUSED, [_finding(LOCKOUTS[name], _lockout_detail(action))], t)
    if name == "prime" and action.args["fluid"] == "saline":
        return Outcome(REFUSED, [_finding("SALINE_PRIME_LOCKED")], t)
    allowed = (PROGRAMMED,) if name == "prime" else ALLOWED[name]
    if allowed is not None and t.state not in allowed:
        return Outcome(REFUSED, [_finding("ACTION_NOT_ALLOWED", "%s while %s; allowed while %s"
                                          % (name, t.state, ", ".join(allowed)))], t)
    after = t.copy()
    events = _elapse(after, now_mh)
    if name == "advance":
        return Outcome(OK, events, after)
    if name in ("program", "bag_change"):
        if t.lost:
            return Outcome(REFUSED, [_finding("COURSE_RECORD_LOST")], t)
        return programming(t, after, action.args["request"], now_mh, lib, events)
    if name == "override":
        return _override(t, after, action.args["codes"], action.args["reason"], events)
    if name == "start":
        after.state = RUNNING
        advice = _reinitiation(after, lib)
        after.rec.last_mh = now_mh  # the infusion runs from now: an interruption ends here
        return Outcome(OK, events + advice, after)
    if name == "pause":
        after.state = PAUSED
        after.rec.last_mh = now_mh
        return Outcome(OK, events, after)
    if name == "resume":
        gap = after.rec.interrupted_mh(now_mh) if after.rec is not None else 0
        drug = _drug(lib)
        if drug is not None and gap > course.continue_max_mh(drug):
            return Outcome(REFUSED, [_finding("RESUME_INTERRUPTION_TOO_LONG", "interrupted for %s h"
                                              % course.hours_text(gap))], t)
        after.state = RUNNING
        advice = _reinitiation(after, lib)
        after.rec.last_mh = now_mh
        return Outcome(OK, events + advice, after)
    if name == "prime":
        return Outcome(OK, events, after)
    if name == "stop":
        after.state = IDLE
        after.bag = None
        after.pend = None
        return Outcome(OK, events, after)
    if name == "new_patient":
        after.rec = None
        after.lost = 0
        return Outcome(OK, events, after)
    return Outcome(REFUSED, [_finding("ACTION_NOT_ALLOWED", name)], t)  # not reached: actions.parse knows them


def _lockout_detail(action):
    from firmware.check.decimals import to_text
    q = action.args.get("rate_ml_h") if action.name == "set_rate" else action.args.get("volume_ml")
    if q is None:
        return ""
    return "%s %s asked" % (to_text(q), "mL/h" if action.name == "set_rate" else "mL")


def _elapse(t, now_mh):
    """Time passes to now_mh: a running bag delivers rate x time; at its VTBI
    it becomes bag-empty, or cycle-complete when the cycle's infusion days are
    done. Time not running is interruption time (the record's last_mh stays)."""
    dt = now_mh - t.clock_mh
    events = []
    if t.state == RUNNING and dt > 0:
        bag = t.bag
        left = bag.vtbi_nl - bag.done_nl
        if bag.rate_ul_h * dt >= left:
            run = (left + bag.rate_ul_h - 1) // bag.rate_ul_h  # the first whole mh at which it is empty
            bag.done_nl = bag.vtbi_nl
            t.rec.inf_mh += run
            t.rec.last_mh = t.clock_mh + run
            if t.rec.complete():
                t.state = CYCLE_COMPLETE
                events.append(_finding("CYCLE_COMPLETE", "cycle %d: %s infused hours" % (
                    t.rec.cycle, course.hours_text(t.rec.inf_mh))))
            else:
                t.state = BAG_EMPTY
                events.append(_finding("BAG_EMPTY", "at %s h on the pump's clock; next bag: cycle %d day %d" % (
                    course.hours_text(t.rec.last_mh), t.rec.cycle, t.rec.next_day())))
        else:
            bag.done_nl += bag.rate_ul_h * dt
            t.rec.inf_mh += dt
            t.rec.last_mh = now_mh
    t.clock_mh = now_mh
    return events


def _reinitiation(t, lib):
    """Start or resume after an interruption of reinitiation_hours (4 h) or
    more: supervision (monograph lines 118, 125: "re-initiations ... medical
    supervision OR hospitalization") and premedication where the monograph
    says (Premedication, lines 120-121 MRD, 127-128 relapsed/refractory)."""
    drug = _drug(lib)
    rec = t.rec
    if drug is None or rec is None or rec.last_mh < 0:
        return []
    gap = rec.interrupted_mh(t.clock_mh)
    hours = drug["limits"]["reinitiation_hours"]
    if gap < hours * MH_H:
        return []
    out = [_finding("SUPERVISION", "re-initiation after %s h" % course.hours_text(gap))]
    adult = t.bag.adult if t.bag is not None else 1
    rr = rec.ind == "relapsed-refractory"
    # adults: R/R "when restarting the infusion after an interruption of 4 or
    # more hours" (line 127); MRD adults: first dose of each cycle only (line 120).
    # children, both indications: "... in the first cycle" (lines 121, 128).
    if (adult and rr) or (not adult and rec.cycle == 1):
        if adult:
            text = "adults: dexamethasone 20 mg 1 hour before"
        else:
            text = "children: dexamethasone 5 mg/m2 (maximum 20 mg)"
        out.append(_finding("PREMEDICATION", "restart after an interruption of %d hours or more; %s" % (hours, text)))
    return out


def _override(t, after, given, reason, events):
    soft = after.pend.soft
    missing = [c for c in soft if c not in given]
    if missing or not reason.strip():
        why = []
        if missing:
            why.append("not overridden: " + ", ".join(missing))
        if not reason.strip():
            why.append("no reason given")
        return Outcome(REFUSED, [_finding("OVERRIDE_INCOMPLETE", "; ".join(why))], t)
    out = list(events)
    for c in given:
        if c not in soft:
            out.append(_finding("OVERRIDE_NOT_APPLICABLE", c))
    after.rec = after.pend.rec
    after.bag = after.pend.bag
    after.pend = None
    after.state = PROGRAMMED
    return Outcome(OK, out, after)


