"""Branches the rest of the suite missed (issue 10 item 6) in the pump shell
(firmware/pump.py) and the therapy device's answers (firmware/therapy/device.py).
Stories: arrange, attack, assert what the pump then does, its log and its
stored library."""
import json

import pytest

from conftest_signing import Kit, released
from firmware.errors import SelfTestError
from firmware.library import container as ct
from firmware.release import verify as release
from firmware.store.eventlog import EventLog
from firmware.store.faultstorage import FaultStorage
from firmware.store.slots import SLOTS
from firmware.pump import Pump
from firmware.therapy import device, machine
from test_pump import GOOD, events
from therapy_helpers import RR, request


@pytest.fixture
def kit(tmp_path):
    return Kit(tmp_path, version=3)


def test_a_committed_library_this_firmware_cannot_decode_is_no_library_at_boot(kit):
    """Story: an older firmware (whose install did not decode the body) committed
    a released library this firmware cannot read. At the next boot the pump must
    not check with it: fault SELFTEST, a self-test record, every programming refused."""
    st = FaultStorage()
    pump = Pump(st, kit.trust)
    pump.boot()
    odd = released(ct.assemble(4, b"\x7f" * 64))
    # the older firmware's install: release checks only, no body decode
    assert pump.store.install(odd, lambda c, inst: release.verify_release(c, kit.trust, inst))["status"] == \
        "installed"
    stored = pump.store.library_bytes()
    again = Pump(st, kit.trust)
    again.boot()
    assert again.lib is None and again.fault == SelfTestError.code and again.store.active is None
    kind, fields = events(again)[-1]
    assert kind == "selftest-fail" and fields["code"] == SelfTestError.code
    assert fields["why"].startswith("active library does not decode")
    result = json.loads(again.check_text(json.dumps(GOOD))[0])
    assert result["verdict"] == "reject"
    assert events(again)[-1][0] == "check" and events(again)[-1][1]["verdict"] == "reject"
    # nothing stored changed: the committed slot is as it was
    assert bytes(st.read(SLOTS[again.store.commit.slot], 0, len(stored))) == stored


def test_a_library_damaged_in_flash_fails_the_periodic_self_test_and_checks_stop(kit):
    """Story: v3 runs; one byte of its slot flips in flash. The next periodic
    self-test raises SelfTestError, logs it, and the pump refuses programming."""
    st = FaultStorage()
    pump = Pump(st, kit.trust)
    pump.boot()
    pump.install(kit.blob)
    assert pump.selftest() == 3
    assert json.loads(pump.check_text(json.dumps(GOOD))[0])["verdict"] == "accept"
    name = SLOTS[pump.store.commit.slot]
    st.medium.files[name][len(st.medium.files[name]) // 2] ^= 0x01
    with pytest.raises(SelfTestError) as e:
        pump.selftest()
    assert e.value.code == SelfTestError.code
    assert pump.lib is None and pump.fault == SelfTestError.code
    assert events(pump)[-1][0] == "selftest-fail"
    result = json.loads(pump.check_text(json.dumps(GOOD))[0])
    assert result["verdict"] == "reject"
    pump.log.verify()


def _device():
    st = FaultStorage()
    dev = device.TherapyDevice(st, EventLog(st))
    dev.boot()
    return dev


def test_a_long_answer_is_cut_to_one_frame_never_dropped():
    """answer_json: findings whose messages do not fit one link frame are
    shortened, then left out, but the contract's fields (result, codes, state)
    always arrive."""
    t = _device().t
    few = [("CODE_%d" % i, "hard", "m" * 300) for i in range(8)]  # 2400+ bytes in full
    data = device.answer_json(machine.Outcome(machine.REFUSED, few, t), 7)
    assert len(data) <= device.MAX_ANSWER
    ans = json.loads(data)
    assert ans["codes"] == ["CODE_%d" % i for i in range(8)] and ans["n"] == 7
    assert [f["message"] for f in ans["findings"]] == ["m" * 40 + "..."] * 8
    many = [("CODE_%d" % i, "hard", "m" * 300) for i in range(40)]
    data = device.answer_json(machine.Outcome(machine.REFUSED, many, t), 8)
    ans = json.loads(data)
    assert len(data) <= device.MAX_ANSWER and ans["findings"] == []
    assert ans["codes"] == ["CODE_%d" % i for i in range(40)] and ans["result"] == machine.REFUSED


def test_status_fields_report_the_course_once_a_patient_is_programmed(kit):
    pump = Pump(FaultStorage(), kit.trust)
    pump.boot()
    pump.install(kit.blob)
    dev = pump.therapy
    assert dev.status_fields() == {"state": dev.t.state, "clock_mh": 0, "n": 0}
    prog = json.loads(pump.act(json.dumps({"action": "program", "request": request(RR, 2, 1)})))
    assert prog["result"] == "ok", prog
    s = dev.status_fields()
    assert s == {"state": prog["state"], "clock_mh": 0, "n": prog["n"], "indication": RR, "cycle": 2,
                 "infused_mh": 0}
    therapy = [f for k, f in events(pump) if k == "therapy"]
    assert therapy[-1]["n"] == s["n"]
