# Exhaustive power-cut enumeration for library install (issue 4, "How it is
# checked"), shared by tests/test_storage_powercut.py (CPython) and
# tests/mpy/mpy_storage_powercut.py (MicroPython): the same code proves the
# same property on both.
#
# Story: a pump runs library OLD. A new library NEW is pushed. Power is cut at
# one point of the install (every write boundary, torn points inside every
# write, every rename/remove/sync). The pump reboots; optionally power is cut
# again at every point of that boot's repair, and it reboots once more.
# After the last reboot: a valid library is active, byte-for-byte OLD or NEW;
# the anti-rollback counter never went down and never exceeds the active
# version; the event log verifies.
from firmware.library import container
from firmware.store import commitrec
from firmware.store.eventlog import EventLog
from firmware.store.faultstorage import FaultStorage, Medium, PowerCut, cut_points
from firmware.store.slots import COMMIT, PumpStore

LOG_BYTES = 8192


def open_store(medium, store_cls=PumpStore, cut=None):
    st = FaultStorage(medium, cut)
    return st, store_cls(st, EventLog(st, LOG_BYTES))


def persisted_counter(medium):
    """The counter as the medium holds it right now (0 before any commit)."""
    raw = medium.get(COMMIT)
    rec = commitrec.decode(raw) if raw is not None else None
    return rec.counter if rec is not None else 0


def check_reboot(medium, libs, floor, store_cls):
    """Boot `medium` without faults; return None or the violated invariant."""
    st, ps = open_store(medium, store_cls)
    rep = ps.boot()
    if ps.active is None:
        return "no valid library after reboot: %r" % (rep,)
    got = ps.library_bytes()
    if got != libs.get(ps.active.version):
        return "active library v%d is not the old or the new one" % ps.active.version
    if ps.counter < floor:
        return "anti-rollback counter went down: %d < %d" % (ps.counter, floor)
    if ps.active.version < ps.counter:
        return "active v%d is older than the counter %d" % (ps.active.version, ps.counter)
    if persisted_counter(medium) < floor:
        return "persisted counter went down"
    try:
        ps.log.verify()
    except Exception as e:  # noqa: BLE001 - any failure to read the log is a violation
        return "event log unreadable: %s" % e
    return None


class Result:
    def __init__(self):
        self.first = 0  # cut points tried during the install
        self.second = 0  # cut points tried during the boot-time repair
        self.violations = []

    def total(self):
        return self.first + self.second


def baseline(old, store_cls=PumpStore):
    """A medium on which OLD is installed and active."""
    m = Medium()
    _st, ps = open_store(m, store_cls)
    ps.boot()
    ps.install(old)
    return m


def booted(medium, store_cls):
    st, ps = open_store(medium, store_cls)
    ps.boot()
    return st, ps


def trace_of(medium, action):
    """Dry run `action(ps)` after a boot on a copy; its mutating operations."""
    m = medium.copy()
    st, ps = booted(m, PumpStore)
    start = st.ops
    action(ps)
    return st.trace[start:]


def boot_trace(medium, store_cls):
    st, ps = open_store(medium.copy(), store_cls)
    ps.boot()
    return st.trace


STAGE = "push.part"  # firmware/link/server.py's staging file


def staged_install(new):
    """The END of a push (issue 11 item 1): NEW lies in the staging file, framed
    by a Scanner as it was stored; install_staged renames it onto the slot."""
    def action(ps):
        s = container.Scanner()
        s.feed(new)
        return ps.install_staged(STAGE, None, s)

    return action


def run(old, new, old_v, new_v, store_cls=PumpStore, second=True, torn=True, stop_at=None, staged=False):
    """Enumerate every cut point of installing NEW over OLD (and, if
    `second`, every cut point of the following boot). Returns a Result.
    staged=True: NEW was pushed into the staging file and is installed from
    there, as the link's END does (Pump.install_staged)."""
    res = Result()
    libs = {old_v: old, new_v: new}
    base = baseline(old, store_cls)
    floor = persisted_counter(base)
    if staged:
        FaultStorage(base).write(STAGE, new)
        action = staged_install(new)
    else:
        def action(ps):
            return ps.install(new)
    cuts = cut_points(trace_of(base, action), torn)
    for cut in cuts:
        m = base.copy()
        st, ps = booted(m, store_cls)
        st.arm(cut)
        try:
            action(ps)
        except PowerCut:
            pass
        res.first += 1
        mid = persisted_counter(m)
        if mid < floor:
            res.violations.append((repr(cut), None, "persisted counter went down during install"))
        if second:
            for cut2 in cut_points(boot_trace(m, store_cls), torn):
                m2 = m.copy()
                st2, ps2 = open_store(m2, store_cls, cut2)
                try:
                    ps2.boot()
                except PowerCut:
                    pass
                res.second += 1
                why = check_reboot(m2, libs, max(floor, mid), store_cls)
                if why:
                    res.violations.append((repr(cut), repr(cut2), why))
        why = check_reboot(m, libs, max(floor, mid), store_cls)
        if why:
            res.violations.append((repr(cut), None, why))
        if stop_at is not None and len(res.violations) >= stop_at:
            break
    return res
