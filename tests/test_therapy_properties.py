"""A hypothesis RuleBasedStateMachine drives random actions against the pump's
therapy shell (firmware/therapy/device.py over the fault-injecting storage)
and a small independent model written from the contract (DESIGN.md, "the
pump through a whole infusion"). After every step: the model agrees on result
and state; a refused action changes nothing (not even the stored bytes);
every step is logged; the running rate is one of the library's fixed rates;
no 24 h window gets more than the ordered daily dose; no cycle has more than
28 infused days."""
import json

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from firmware.check.checker import check
from firmware.jsontext import loads
from firmware.library.body import decode
from firmware.store import logrec
from firmware.store.eventlog import EventLog
from firmware.store.faultstorage import FaultStorage, Medium
from firmware.therapy.device import TherapyDevice
from host_tools.library.build import build_library
from therapy_helpers import RR, request

LIB = decode(build_library())[1]
DAY = 24000
FIXED_RATES = {10000, 5000, 600}
MAX_DAY_NG = 28000 * 1005 // 1000  # the 28 mcg/day cap with its 0.5 % preparation allowance, in ng


class Model:
    """The contract, written again as plainly as possible."""

    def __init__(self):
        self.state = "idle"
        self.clock = 0
        self.rec = None   # [ind, cycle, infused mh, last ran at (-1: never)]
        self.bag = None   # [rate uL/h, vtbi nL, done nL, ng per nL as (num, den)]
        self.pend = None  # (soft codes, rec, bag)

    def programming(self, req):
        r = check(LIB, loads(json.dumps(req)))
        ind, cycle, day = req["indication"], req["cycle"], req["day"]
        new = None
        soft = [c for c, s, m in r.findings if s == "soft"] if r.verdict == "confirm" else []
        if self.rec is None:
            new = [ind, cycle, (day - 1) * DAY, self.clock if day > 1 else -1]
        elif ind == self.rec[0]:
            gap = self.clock - self.rec[3] if self.rec[3] >= 0 else 0
            done = self.rec[2] >= 28 * DAY
            if done or gap > 7 * DAY:
                if cycle == self.rec[1] + 1 and day == 1:
                    new = [ind, cycle, 0, -1]
                    free = 56 if self.rec[1] >= 6 else 14
                    if done and self.clock - self.rec[3] < free * DAY:
                        soft = soft + ["COURSE_FREE_INTERVAL_SHORT"]
            elif cycle == self.rec[1] and day == 1 + self.rec[2] // DAY:
                new = list(self.rec)
        if r.verdict == "reject" or new is None:
            return "refused"
        inf = req["infusion"]
        rate = int(round(float(inf["rate_ml_h"]) * 1000))
        vtbi = int(round(float(inf["vtbi_ml"]) * 1000000))
        b = req["bag"]
        mcg_e6 = int(round(float(b["blinatumomab_mcg"]) * 10000))
        bag = [rate, vtbi, 0, (mcg_e6, b["volume_ml"] * 10000)]  # ng per nL = mcg/mL: (mcg * 1e4) / (mL * 1e4)
        if soft:
            self.pend, self.state, self.bag = (soft, new, bag), "pending", None
            return "confirm"
        self.rec, self.bag, self.state, self.pend = new, bag, "programmed", None
        return "ok"

    def advance(self, mh, delivered):
        if self.state == "running":
            rate, vtbi, done, _ = self.bag
            if rate * mh >= vtbi - done:
                run = -(-(vtbi - done) // rate)
                delivered.append((self.clock, self.clock + run, self.bag[3], rate))
                self.bag[2] = vtbi
                self.rec[2] += run
                self.rec[3] = self.clock + run
                self.state = "cycle-complete" if self.rec[2] >= 28 * DAY else "bag-empty"
            else:
                delivered.append((self.clock, self.clock + mh, self.bag[3], rate))
                self.bag[2] += rate * mh
                self.rec[2] += mh
                self.rec[3] = self.clock + mh
        self.clock += mh
        return "ok"


class TherapyMachine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.st = FaultStorage(Medium())
        self.log = EventLog(self.st, 16384)
        self.dev = TherapyDevice(self.st, self.log)
        self.dev.boot()
        self.m = Model()
        self.delivered = []  # (from mh, to mh, ng per nL, rate uL/h)
        self.steps = 0

    def act(self, obj, expect):
        before = self.st.medium.copy().files
        seq = self.log.seq
        ans = json.loads(self.dev.act(json.dumps(obj), LIB))
        self.steps += 1
        assert (ans["result"], ans["state"]) == (expect, self.m.state), (obj["action"], ans, expect)
        assert self.log.seq == seq + 1, "every step is logged"
        if ans["result"] == "refused":
            after = self.st.medium.files
            assert {k: v for k, v in after.items() if k not in ("events.log", "events.new")} == \
                {k: v for k, v in before.items() if k not in ("events.log", "events.new")}, "a refused action changed the stored state"
        rec = logrec.decode_all(self.log.read_all())[-1]
        assert rec[1] == "therapy" and rec[2]["action"] == obj["action"] and rec[2]["clock_mh"] == self.m.clock
        return ans

    def simple(self, name, allowed, to=None, extra=None):
        m = self.m
        if m.state in allowed:
            res = "ok"
            if to is not None:
                m.state = to
        else:
            res = "refused"
        obj = {"action": name}
        obj.update(extra or {})
        return res, obj

    # --- rules ---
    @rule(kind=st.sampled_from(["next", "next", "next", "next-cycle", "any"]), day=st.integers(1, 30),
          cycle=st.integers(1, 3), bag=st.sampled_from(["24h", "24h", "48h", "7d"]),
          slip=st.sampled_from([None, None, None, None, "rate", "dose"]), change=st.booleans(),
          ind=st.sampled_from([RR, RR, "mrd"]))
    def program(self, kind, day, cycle, bag, slip, change, ind):
        m = self.m
        if kind == "next" and m.rec is not None:
            ind, cycle, day = m.rec[0], m.rec[1], 1 + m.rec[2] // DAY
        elif kind == "next-cycle" and m.rec is not None:
            ind, cycle, day = m.rec[0], m.rec[1] + 1, 1
        dose = 9 if ind == RR and cycle == 1 and day <= 7 else 28
        if slip == "dose":
            dose = 9 if dose == 28 else 28
        req = request(ind, cycle, day, dose, bag, rate=6 if slip == "rate" else None)
        name = "bag_change" if change else "program"
        allowed = ("bag-empty", "paused") if change else ("idle", "pending", "programmed")
        expect = m.programming(req) if m.state in allowed else "refused"
        self.act({"action": name, "request": req}, expect)

    @rule(reason=st.sampled_from(["prescriber agreed", " ", ""]), all_codes=st.booleans())
    def override(self, reason, all_codes):
        m = self.m
        codes = list(m.pend[0]) if m.pend is not None and all_codes else []
        if m.state == "pending" and all_codes and reason.strip():
            m.rec, m.bag, m.state, m.pend = m.pend[1], m.pend[2], "programmed", None
            expect = "ok"
        else:
            expect = "refused"
        self.act({"action": "override", "codes": codes, "reason": reason}, expect)

    @rule()
    def start(self):
        if self.m.state == "programmed":
            self.m.rec[3] = self.m.clock  # running from now: the interruption ends
        self.act(*reversed(self.simple("start", ("programmed",), "running")))

    @rule()
    def pause(self):
        if self.m.state == "running":
            self.m.rec[3] = self.m.clock
        self.act(*reversed(self.simple("pause", ("running",), "paused")))

    @rule()
    def resume(self):
        m = self.m
        ok = m.state == "paused" and m.clock - m.rec[3] <= 7 * DAY
        if ok:
            m.state = "running"
            m.rec[3] = m.clock
        self.act({"action": "resume"}, "ok" if ok else "refused")

    @rule()
    def stop(self):
        m = self.m
        res, obj = self.simple("stop", ("pending", "programmed", "running", "paused", "bag-empty", "cycle-complete"),
                               "idle")
        if res == "ok":
            m.bag = m.pend = None
        self.act(obj, res)

    @rule()
    def new_patient(self):
        res, obj = self.simple("new_patient", ("idle",))
        if res == "ok":
            self.m.rec = None
        self.act(obj, res)

    @rule(which=st.sampled_from(["flush", "bolus", "set_rate", "saline", "drug"]))
    def lockout_or_prime(self, which):
        obj = {"flush": {"action": "flush"}, "bolus": {"action": "bolus", "volume_ml": 1},
               "set_rate": {"action": "set_rate", "rate_ml_h": 10}, "saline": {"action": "prime", "fluid": "saline"},
               "drug": {"action": "prime", "fluid": "drug"}}[which]
        ok = which == "drug" and self.m.state == "programmed"
        self.act(obj, "ok" if ok else "refused")

    @rule(hours=st.sampled_from(["0.5", "1", "3.999", "4", "10", "23.5", "24", "48", "100", "168", "169", "336"]))
    def advance(self, hours):
        q = hours.split(".")
        mh = int(q[0]) * 1000 + (int((q[1] + "000")[:3]) if len(q) > 1 else 0)
        self.m.advance(mh, self.delivered)
        self.act({"action": "advance", "hours": hours}, "ok")

    # --- invariants ---
    @invariant()
    def running_rate_is_fixed(self):
        t = self.dev.t
        if t.state == "running":
            assert t.bag.rate_ul_h in FIXED_RATES

    @invariant()
    def at_most_28_infused_days(self):
        t = self.dev.t
        if t.rec is not None:
            assert t.rec.inf_mh // DAY <= 28
            assert t.rec.inf_mh == self.m.rec[2]

    @invariant()
    def no_24h_window_over_the_daily_dose(self):
        now = self.m.clock
        ends = [b for a, b, c, r in self.delivered] + [now]
        for end in ends[-6:]:
            start = end - DAY
            ng_num, ng_den = 0, 1
            for a, b, (cn, cd), rate in self.delivered:
                lo, hi = max(a, start), min(b, end)
                if hi > lo:
                    # nL = rate uL/h x mh; nL x mcg/mL (cn / cd) = 1000 x ng
                    ng_num = ng_num * cd + rate * (hi - lo) * cn * ng_den
                    ng_den *= cd
            assert ng_num <= MAX_DAY_NG * ng_den * 1000, "more than the daily dose in 24 h"


TherapyMachine.TestCase.settings = settings(max_examples=80, stateful_step_count=40, deadline=None,
                                            suppress_health_check=[HealthCheck.too_slow])
test_therapy_against_an_independent_model = TherapyMachine.TestCase
