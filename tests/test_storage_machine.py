"""Random pump lives (issue 4): a hypothesis state machine interleaves installs
(newer, same, older, other bytes under the same version), reboots, event logging and power cuts anywhere in them
(clean or torn), and checks after every step that the pump runs a library it
was given, byte for byte, that the anti-rollback counter never went down and
equals the active version, and that the event log verifies."""
import os
import sys

from hypothesis import HealthCheck, settings
from hypothesis import strategies as hs
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "mpy"))

import libsample  # noqa: E402
from firmware.store import logrec  # noqa: E402
from firmware.errors import PumpError, RollbackError, VersionReusedError  # noqa: E402
from firmware.store.eventlog import EventLog  # noqa: E402
from firmware.store.faultstorage import BEFORE, TORN, Cut, FaultStorage, Medium, PowerCut  # noqa: E402
from firmware.store.slots import COMMIT, PumpStore  # noqa: E402

LOG_BYTES = 4 * (logrec.OVERHEAD + logrec.MAX_PAYLOAD)  # small: roll-off happens often


def library(v):
    return libsample.make_library(v, 200 + (v * 997) % 2500)


cuts = hs.one_of(hs.none(), hs.builds(Cut, hs.integers(0, 30), hs.sampled_from([BEFORE, TORN]),
                                      hs.integers(1, 40)))


class PumpLife(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.medium = Medium()
        self.floor = 0
        self.reboot()

    def reboot(self, cut=None):
        if cut is not None:
            st = FaultStorage(self.medium)
            st.arm(cut)
            try:
                PumpStore(st, EventLog(st, LOG_BYTES)).boot()
            except PowerCut:
                pass
        self.st = FaultStorage(self.medium)
        self.ps = PumpStore(self.st, EventLog(self.st, LOG_BYTES))
        self.ps.boot()

    def attempt(self, cut, action):
        if cut is not None:
            self.st.arm(cut)
        try:
            return action()
        except PowerCut:
            self.reboot()
            return None
        finally:
            self.st.cut = None

    @rule(delta=hs.integers(-2, 3), cut=cuts)
    def install(self, delta, cut):
        v = max(1, self.ps.counter + delta)
        before = (self.ps.version(), self.ps.counter)

        def go():
            try:
                return self.ps.install(library(v))
            except RollbackError:
                assert v < self.ps.counter or (self.ps.active and v < self.ps.active.version)
                assert (self.ps.version(), self.ps.counter) == before
                return "rejected"

        res = self.attempt(cut, go)
        if isinstance(res, dict):
            assert res["version"] == v and self.ps.version() == v
            assert res["status"] == ("same" if v == before[0] else "installed")

    @rule(extra=hs.integers(1, 300), cut=cuts)
    def reuse_the_version(self, extra, cut):
        """Issue 10 item 1: other bytes under the committed version are refused
        (LIB_VERSION_REUSED) and change nothing, power cut or not."""
        if self.ps.commit is None:
            return
        v = self.ps.commit.version
        other = libsample.make_library(v, 200 + (v * 997) % 2500 + extra)
        before = (self.ps.version(), self.ps.counter, self.medium.get(COMMIT))

        def go():
            try:
                self.ps.install(other)
            except VersionReusedError:
                return "refused"
            raise AssertionError("other bytes under version %d were not refused" % v)

        res = self.attempt(cut, go)
        assert res in ("refused", None)
        assert (self.ps.version(), self.ps.counter, self.medium.get(COMMIT)) == before

    @rule(n=hs.integers(1, 25), cut=cuts)
    def nurse_programs(self, n, cut):
        def go():
            for i in range(n):
                try:
                    self.ps.require()
                    self.ps.log.check("confirm", ["DOSE_ABOVE_SOFT"], "blinatumomab")
                    self.ps.log.override(["DOSE_ABOVE_SOFT"], ["attending approved %d" % i])
                except PumpError as e:
                    self.ps.log.check("reject", [e.code], "blinatumomab")
        self.attempt(cut, go)

    @rule(cut=cuts)
    def power_cycle(self, cut):
        self.reboot(cut)

    @rule()
    def periodic_selftest(self):
        if self.ps.active is not None:
            assert self.ps.selftest() == self.ps.version()

    @invariant()
    def pump_is_consistent(self):
        ps = self.ps
        assert ps.counter >= self.floor, "anti-rollback counter went down"
        self.floor = ps.counter
        if ps.active is not None:
            assert ps.active.version == ps.counter
            assert ps.library_bytes() == library(ps.active.version)
        else:
            assert ps.counter == 0 and ps.fault == "NO_LIBRARY"  # only before the first install
        ps.log.verify()
        assert self.st.size("events.log") <= LOG_BYTES


PumpLife.TestCase.settings = settings(max_examples=40, stateful_step_count=25, deadline=None,
                                      suppress_health_check=[HealthCheck.too_slow])
TestPumpLife = PumpLife.TestCase
