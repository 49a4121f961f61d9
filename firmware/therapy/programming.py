# A programming on the pump (program, bag_change): the check contract's
# checker as a black box (firmware/check/checker.py), then the course record
# (firmware/therapy/course.py). Pure: values in, an Outcome out.
from firmware.check import codes as codetable
from firmware.check.checker import check
from firmware.check.decimals import parse as parse_decimal
from firmware.jsontext import Number
from firmware.library.index import drug_named, first_drug
from firmware.therapy import course
from firmware.therapy.state import CONFIRM, OK, PENDING, PROGRAMMED, REFUSED, Bag, Outcome, Pending, _finding

COURSE_CODES = ("COURSE_INDICATION_CHANGED", "COURSE_CYCLE_MISMATCH", "COURSE_DAY_MISMATCH",
                "COURSE_NEW_CYCLE_REQUIRED", "COURSE_FREE_INTERVAL_SHORT")


def _drug(lib):
    if lib is None:
        return None
    # through the library index on the pump (issue 11 item 4), a dict on the host
    return drug_named(lib, "blinatumomab") or first_drug(lib)


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


def programming(t, after, req, now_mh, lib, events):
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
