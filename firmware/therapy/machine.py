# The therapy state machine (DESIGN.md, "Contract: the pump through a whole
# infusion"; docs/therapy.md). Pure core: a Therapy value, one Action
# (firmware/therapy/actions.py), the clock value `now_mh` the shell passes in
# (integer milli-hours) and the decoded library in; an Outcome out with the
# result, the findings and the Therapy after. A refused action returns the
# very Therapy it was given: nothing changes. Integer arithmetic only.
#
# Lockouts (monograph, Other Comments > Administration advice, lines 107-114,
# and Reconstitution, line 140; Patient advice, line 178): "continuous IV
# infusion at a constant flow rate", "Do NOT flush the infusion line or IV
# catheter, especially when changing infusion bags", "Do NOT prime IV tubing
# with 0.9% sodium chloride", "Do not adjust setting on infusion pump during
# administration": set_rate, bolus, flush and a saline prime are refused in
# every state, each with its own code.
from firmware.check import codes as codetable
from firmware.check.checker import check
from firmware.check.decimals import parse as parse_decimal
from firmware.check.jsontext import Number
from firmware.therapy import course
from firmware.therapy.course import MH_H

IDLE = "idle"
PENDING = "pending"
PROGRAMMED = "programmed"
RUNNING = "running"
PAUSED = "paused"
BAG_EMPTY = "bag-empty"
CYCLE_COMPLETE = "cycle-complete"
STATES = (IDLE, PENDING, PROGRAMMED, RUNNING, PAUSED, BAG_EMPTY, CYCLE_COMPLETE)

OK = "ok"
CONFIRM = "confirm"
REFUSED = "refused"

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
COURSE_CODES = ("COURSE_INDICATION_CHANGED", "COURSE_CYCLE_MISMATCH", "COURSE_DAY_MISMATCH",
                "COURSE_NEW_CYCLE_REQUIRED", "COURSE_FREE_INTERVAL_SHORT")


class Bag:
    """The bag on the pump: fixed rate (uL/h), volume to infuse and delivered
    (nL; uL/h x mh = nL exactly), and what the advisories need."""

    def __init__(self, rate_ul_h, vtbi_nl, done_nl, adult, cycle, day, duration_h):
        self.rate_ul_h = rate_ul_h
        self.vtbi_nl = vtbi_nl
        self.done_nl = done_nl
        self.adult = adult  # 1 adult, 0 child
        self.cycle = cycle
        self.day = day
        self.duration_h = duration_h

    def copy(self):
        return Bag(*self.as_list())

    def as_list(self):
        return [self.rate_ul_h, self.vtbi_nl, self.done_nl, self.adult, self.cycle, self.day, self.duration_h]

    def __eq__(self, other):
        return isinstance(other, Bag) and self.as_list() == other.as_list()


class Pending:
    """A programming waiting for an override: the soft codes it crossed and
    what it does once overridden."""

    def __init__(self, soft, rec, bag):
        self.soft = soft
        self.rec = rec
        self.bag = bag

    def __eq__(self, other):
        return (isinstance(other, Pending) and self.soft == other.soft and self.rec == other.rec
                and self.bag == other.bag)


class Therapy:
    def __init__(self):
        self.state = IDLE
        self.clock_mh = 0
        self.rec = None   # course.Record or None
        self.bag = None   # Bag (programmed, running, paused, bag-empty) or None
        self.pend = None  # Pending (state pending) or None

    def copy(self):
        t = Therapy()
        t.state = self.state
        t.clock_mh = self.clock_mh
        t.rec = self.rec.copy() if self.rec is not None else None
        t.bag = self.bag.copy() if self.bag is not None else None
        t.pend = Pending(list(self.pend.soft), self.pend.rec.copy() if self.pend.rec is not None else None,
                         self.pend.bag.copy()) if self.pend is not None else None
        return t

    def __eq__(self, other):
        return (isinstance(other, Therapy) and self.state == other.state and self.clock_mh == other.clock_mh
                and self.rec == other.rec and self.bag == other.bag and self.pend == other.pend)


class Outcome:
    def __init__(self, result, findings, after):
        self.result = result
        self.findings = findings  # [(code, severity, message)]
        self.after = after

    def codes(self):
        return [c for c, s, m in self.findings]


def _finding(code, detail=""):
    msg = codetable.text(code)
    if detail:
        msg = msg + " (" + detail + ")"
    return (code, codetable.severity(code), msg)


def _drug(lib):
    if lib is None:
        return None
    for d in lib["drugs"]:
        if d["name"] == "blinatumomab":
            return d
    return lib["drugs"][0] if lib["drugs"] else None


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
        return _programming(t, after, action.args["request"], now_mh, lib, events)
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
        return Outcome(OK, events, after)
    return Outcome(REFUSED, [_finding("ACTION_NOT_ALLOWED", name)], t)  # not reached: actions.parse knows them


def _lockout_detail(action):
    from firmware.check.decimals import to_text
    if action.name == "set_rate":
        return "%s mL/h asked" % to_text(action.args["rate_ml_h"])
    if action.name == "bolus":
        return "%s mL asked" % to_text(action.args["volume_ml"])
    return ""


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


# --- programming (program, bag_change) ---
def _value(req, path):
    node = req
    for k in path.split("."):
        if not isinstance(node, dict) or k not in node:
            return None
        node = node[k]
    if isinstance(node, Number):
        node = node.text
    if not isinstance(node, str):
        return None
    try:
        return parse_decimal(node)
    except Exception:
        return None


def _int(req, path):
    q = _value(req, path)
    return q[0] if q is not None and q[1] == 0 else None


def _scaled(q, places):
    """Exact decimal x 10^places as an integer (floor; the checker has already
    required exact fixed values where it matters)."""
    m, e = q
    if e <= places:
        return m * 10 ** (places - e)
    return m // 10 ** (e - places)


def _programming(t, after, req, now_mh, lib, events):
    overrides = req.get("overrides")
    reason = req.get("override_reason")
    reason_ok = isinstance(reason, str) and reason.strip() != ""
    mine = []
    if isinstance(overrides, list):
        # the course codes are the pump's, not the checker's: the checker gets
        # the programming without them (else OVERRIDE_NOT_APPLICABLE)
        mine = [c for c in overrides if c in COURSE_CODES]
        if mine:
            req = dict(req)
            req["overrides"] = [c for c in overrides if c not in COURSE_CODES]
    if lib is None:
        findings = [_finding("NO_LIBRARY")]
        verdict = "reject"
    else:
        result = check(lib, req)
        findings = list(result.findings)
        verdict = result.verdict
    drug = _drug(lib)
    ind = req.get("indication")
    cycle, day = _int(req, "cycle"), _int(req, "day")
    new_rec = None
    course_findings = []
    if drug is not None and isinstance(ind, str) and cycle is not None and day is not None:
        new_rec = course.follow(t.rec, drug, ind, cycle, day, now_mh,
                                lambda code, detail: course_findings.append(_finding(code, detail)))
    findings = findings + course_findings
    hard = verdict == "reject" or [f for f in course_findings if f[1] == codetable.HARD]
    if hard or new_rec is None:
        if not hard:  # fail safe: a programming the record cannot place is refused
            findings.append(_finding("COURSE_CYCLE_MISMATCH", "the programming's cycle and day cannot be read"))
        return Outcome(REFUSED, findings, t)
    blocking = []
    if verdict == "confirm":
        # the soft limits still waiting: those the request does not override
        # with a reason (DESIGN.md: "override_reason that is not blank"); if
        # the checker counts them otherwise, every soft one of its findings
        given = overrides if isinstance(overrides, list) and reason_ok else []
        soft = [f[0] for f in findings if f[1] == codetable.SOFT and f[0] not in COURSE_CODES]
        blocking = [c for c in soft if c not in given] or soft
    for f in course_findings:
        if f[1] == codetable.SOFT and not (f[0] in mine and reason_ok):
            blocking.append(f[0])
    bag = _bag(req, drug, cycle, day)
    if bag is None:
        return Outcome(REFUSED, findings + [_finding("FIELD_INVALID", "the bag's rate or volume")], t)
    findings = events + findings
    after.bag = None
    if blocking:
        after.pend = Pending(blocking, new_rec, bag)
        after.state = PENDING
        return Outcome(CONFIRM, findings, after)
    after.pend = None
    after.rec = new_rec
    after.bag = bag
    after.state = PROGRAMMED
    return Outcome(OK, findings, after)


def _bag(req, drug, cycle, day):
    rate = _value(req, "infusion.rate_ml_h")
    vtbi = _value(req, "infusion.vtbi_ml")
    age = _int(req, "patient.age_days")
    dur = _int(req, "infusion.duration_h")
    if rate is None or vtbi is None or age is None or dur is None or rate[0] <= 0 or vtbi[0] <= 0:
        return None
    rate_ul_h = _scaled(rate, 3)
    if rate_ul_h <= 0:
        return None
    adult = 1 if age >= drug["limits"]["adult_age_days"] else 0
    return Bag(rate_ul_h, _scaled(vtbi, 6), 0, adult, cycle, day, dur)
