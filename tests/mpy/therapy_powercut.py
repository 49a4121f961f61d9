# Power cuts during therapy actions (issue 9: "a power cut at any point leaves
# the course record and the state consistent"), shared by
# tests/test_therapy_powercut.py (CPython) and tests/mpy/mpy_therapy_powercut.py
# (MicroPython), as tests/mpy/powercut.py is for the library install.
#
# Story: a pump is mid-cycle (R/R cycle 2, the first bag empty). One action
# runs and power is cut at each of its storage operations (every write
# boundary, torn points inside every write, every rename/remove/sync); the pump
# reboots, optionally with a second cut at every point of that boot's repair,
# then boots cleanly. Then:
#   - the therapy state is exactly the state before the action or after it;
#   - the event log verifies, and holds the action's record exactly once if
#     the state is the one after it, never if the state is the one before;
#   - the host resends the same request (same key, as after a lost answer):
#     the pump ends in exactly the state after the action: applied once.
from firmware.library.body import decode
from firmware.store import logrec
from firmware.store.eventlog import EventLog
from firmware.store.faultstorage import FaultStorage, Medium, PowerCut, cut_points
from firmware.therapy.device import TherapyDevice

LOG_BYTES = 8192


def bag(day):
    return ('{"drug": "blinatumomab", "indication": "relapsed-refractory", "cycle": 2, "day": %d,'
            ' "restart_after_adverse_event": false, "patient": {"age_days": 15000, "weight_kg": 70, "bsa_m2": 1.8},'
            ' "dose": {"value": 28, "unit": "mcg/day"}, "bag": {"blinatumomab_mcg": 31.5, "volume_ml": 270,'
            ' "preservative": false}, "infusion": {"rate_ml_h": 10, "duration_h": 24, "vtbi_ml": 240},'
            ' "line": {"inline_filter": true, "dehp_free": true}, "overrides": []}' % day)


BASE = ['{"action": "program", "request": %s}' % bag(1), '{"action": "start"}', '{"action": "advance", "hours": 24}']
# (the actions cut, each run on the state the ones before it left)
ACTIONS = ['{"action": "flush"}', '{"action": "bag_change", "request": %s}' % bag(2), '{"action": "start"}',
           '{"action": "advance", "hours": "24.5"}']


def library():
    import os
    path = os.getenv("DRUGLIB_REAL_LIBRARY")
    with open(path, "rb") as fh:
        return decode(fh.read())[1]


def device(medium, cut=None):
    st = FaultStorage(medium, cut)
    log = EventLog(st, LOG_BYTES)
    return st, log, TherapyDevice(st, log)


def booted(medium):
    st, log, dev = device(medium)
    log.recover()
    dev.boot()
    return st, log, dev


def records_of(log, n):
    return [f for _s, k, f in logrec.decode_all(log.read_all()) if k == "therapy" and f.get("n") == n]


class Result:
    def __init__(self):
        self.first = 0
        self.second = 0
        self.violations = []


def check(medium, lib, before, after, n, key, text):
    """A clean boot of `medium`; None or the violated invariant. A refused
    action (after == before) changes nothing stored: its record is in the
    log once, or not at all when the cut came before it (the host got no
    answer and resends)."""
    st, log, dev = booted(medium)
    try:
        log.verify()
    except Exception as e:  # noqa: BLE001 - an unreadable log is a violation
        return "event log does not verify: %s" % e
    if after == before:
        if dev.t != before:
            return "a refused action changed the therapy state"
        if len(records_of(log, n)) > 1:
            return "a refused action logged twice"
    elif dev.t == after:
        if len(records_of(log, n)) != 1:
            return "state after the action, but %d log records of it" % len(records_of(log, n))
    elif dev.t == before:
        if records_of(log, n):
            return "state before the action, but the log says it happened"
    else:
        return "therapy state is neither the one before nor the one after the action"
    dev.act(text, lib, key)  # the host's resend
    if dev.t != after:
        return "after the resend the state is not the state after the action (applied twice or never)"
    return None


def run(lib, second=True, torn=True):
    res = Result()
    base = Medium()
    st, log, dev = booted(base)
    for text in BASE:
        dev.act(text, lib, b"base")
    for i in range(len(ACTIONS)):
        text = ACTIONS[i]
        key = b"key-%d" % i
        # dry run on a copy: the state after and the operations it makes
        m = base.copy()
        st, log, dev = booted(m)
        before = dev.t.copy()
        start = st.ops
        dev.act(text, lib, key)
        after = dev.t.copy()
        n = dev.n
        trace = st.trace[start:]
        for cut in cut_points(trace, torn):
            m = base.copy()
            st, log, dev = booted(m)
            st.arm(cut)
            try:
                dev.act(text, lib, key)
            except PowerCut:
                pass
            res.first += 1
            if second:
                m1 = m.copy()
                bst, blog, bdev = device(m1)
                try:
                    blog.recover()
                    bdev.boot()
                except PowerCut:
                    pass
                for cut2 in cut_points(bst.trace, torn):
                    m2 = m.copy()
                    cst, clog, cdev = device(m2, cut2)
                    try:
                        clog.recover()
                        cdev.boot()
                    except PowerCut:
                        pass
                    res.second += 1
                    why = check(m2, lib, before, after, n, key, text)
                    if why:
                        res.violations.append((i, repr(cut), repr(cut2), why))
            why = check(m, lib, before, after, n, key, text)
            if why:
                res.violations.append((i, repr(cut), None, why))
        # the next action starts from the state this one leaves
        st, log, dev = booted(base)
        dev.act(text, lib, key)
    return res
