# The therapy state as values (firmware/therapy/machine.py changes it): the
# states, the bag on the pump, a pending programming, and an action's outcome.
# Plain classes, integers and strings only (MicroPython; saved by snapshot.py).
from firmware.check import codes as codetable

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
        self.lost = 0     # 1: the saved course record could not be read (until new_patient)

    def copy(self):
        t = Therapy()
        t.lost = self.lost
        t.state = self.state
        t.clock_mh = self.clock_mh
        t.rec = self.rec.copy() if self.rec is not None else None
        t.bag = self.bag.copy() if self.bag is not None else None
        t.pend = Pending(list(self.pend.soft), self.pend.rec.copy() if self.pend.rec is not None else None,
                         self.pend.bag.copy()) if self.pend is not None else None
        return t

    def __eq__(self, other):
        return (isinstance(other, Therapy) and self.state == other.state and self.clock_mh == other.clock_mh
                and self.rec == other.rec and self.bag == other.bag and self.pend == other.pend
                and self.lost == other.lost)


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


