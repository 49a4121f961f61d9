"""Power cuts during therapy actions: state and course record before or after,
never a mix; the log agrees; a resend applies the action exactly once
(enumeration in tests/mpy/therapy_powercut.py, also run under MicroPython by
tests/mpy/mpy_therapy_powercut.py)."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "mpy"))

import therapy_powercut as tp  # noqa: E402
from firmware.therapy import device as therapy_device  # noqa: E402


def test_every_power_cut_during_a_therapy_action_and_its_repair_leaves_before_or_after():
    res = tp.run(tp.library())
    print("\ntherapy power-cut points: %d during actions, %d during boot repair" % (res.first, res.second))
    assert res.first >= 30
    assert res.second > res.first
    assert res.violations == []


def test_the_enumeration_catches_a_state_saved_in_place(monkeypatch):
    # Test of the test: a snapshot written straight over therapy.rec (no
    # rename) is torn by a cut, and the pump comes back with neither state.
    from firmware.therapy import snapshot

    def in_place(st, saved):
        st.write(snapshot.FILE, snapshot.encode(saved))
        st.sync()

    monkeypatch.setattr(snapshot, "save", in_place)
    res = tp.run(tp.library(), second=False)
    assert res.violations, "the enumeration did not notice a state written in place"
    assert therapy_device  # imported: the shell under test


def test_the_enumeration_catches_a_log_record_never_replayed(monkeypatch):
    # Test of the test: without the boot-time replay a cut between the saved
    # state and its log record leaves a state the log does not report.
    from firmware.therapy.device import TherapyDevice

    monkeypatch.setattr(TherapyDevice, "_scan_log", lambda self, saved: (1 << 30, True))
    res = tp.run(tp.library(), second=False)
    assert any("log records" in v[3] for v in res.violations)


def test_a_record_rolled_off_the_log_is_not_replayed_at_boot():
    # Story: a bag change is saved and logged; hundreds of checks later its
    # record has rolled off the bounded log. A reboot must not append it
    # again as if it had been lost.
    from firmware.pump import Pump
    from firmware.store import logrec
    from firmware.store.faultstorage import FaultStorage, Medium
    import json
    from therapy_helpers import RR, request

    from firmware.library import container
    from firmware.library.index import index_bytes

    m = Medium()
    with open(os.environ["DRUGLIB_REAL_LIBRARY"], "rb") as fh:
        c = container.parse(fh.read())
    pump = Pump(FaultStorage(m), None, log_max_bytes=4 * 1100)
    pump.boot()
    pump.lib = index_bytes(c.body, c.header.library_version)  # what the pump checks through (issue 11 item 4)
    pump.act(json.dumps({"action": "program", "request": request(RR, 2, 1)}))
    for _ in range(60):
        pump.check(json.dumps(request(RR, 2, 1)))
    kinds = [k for _, k, _ in logrec.decode_all(pump.log.read_all())]
    # issue 10 item 3: therapy records are protected, checks roll off first
    assert kinds[:2] == ["boot", "therapy"] and "rolloff" in kinds
    for _ in range(200):  # protected records alone overflow (a flood of boots): the oldest go
        pump.log.boot("ok", 0, "")
    kinds = [k for _, k, _ in logrec.decode_all(pump.log.read_all())]
    assert "therapy" not in kinds and kinds[0] == "rolloff"
    again = Pump(FaultStorage(m), None, log_max_bytes=4 * 1100)
    again.boot()
    kinds = [k for _, k, _ in logrec.decode_all(again.log.read_all())]
    assert "therapy" not in kinds
    assert again.therapy.t.state == "programmed" and again.therapy.n == 1


def test_a_saved_state_that_does_not_verify_stops_programming_until_new_patient():
    # Story: a pump mid-cycle (cycle 2, next day 2); its saved therapy state
    # is damaged (a flipped bit, not a power cut: the rename is atomic). The
    # pump must not accept any cycle and day as if it were a fresh pump.
    import json

    from firmware.pump import Pump
    from firmware.store import logrec
    from firmware.store.faultstorage import FaultStorage, Medium
    from firmware.therapy import snapshot
    from therapy_helpers import RR, request

    m = Medium()
    lib = tp.library()
    pump = Pump(FaultStorage(m), None)
    pump.boot()
    pump.lib = lib
    for a in ({"action": "program", "request": request(RR, 2, 1)}, {"action": "start"},
              {"action": "advance", "hours": 24}):
        pump.act(json.dumps(a))
    m.files[snapshot.FILE][20] ^= 0x04
    pump = Pump(FaultStorage(m), None)
    pump.boot()
    pump.lib = lib
    assert m.get("therapy.bad") is not None  # the evidence is kept
    assert [f["result"] for _, k, f in logrec.decode_all(pump.log.read_all()) if k == "therapy"][-1] == "record-lost"
    a = json.loads(pump.act(json.dumps({"action": "program", "request": request(RR, 1, 5)})))
    assert (a["result"], a["codes"], a["state"]) == ("refused", ["COURSE_RECORD_LOST"], "idle")
    # a reboot does not forget it
    pump = Pump(FaultStorage(m), None)
    pump.boot()
    pump.lib = lib
    assert json.loads(pump.act(json.dumps({"action": "program", "request": request(RR, 2, 2)})))["result"] == "refused"
    assert json.loads(pump.act(json.dumps({"action": "new_patient"})))["result"] == "ok"
    a = json.loads(pump.act(json.dumps({"action": "program", "request": request(RR, 2, 2)})))
    assert (a["result"], a["state"]) == ("ok", "programmed")
