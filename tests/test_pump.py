"""The pump shell end to end, as stories: install a released library, check
programmings, and read back the event log (issue 4: every check with its
verdict and codes, overrides with reasons; no library -> NO_LIBRARY)."""
import json

import pytest

from conftest_signing import MALLORY, Kit, released, signature, unsigned_library, with_signatures
from firmware.store import logrec
from firmware.errors import SignatureError, UnknownKeyError
from firmware.store.faultstorage import FaultStorage
from firmware.pump import Pump
from firmware.store.storage import FileStorage

GOOD = {"drug": "blinatumomab", "indication": "mrd", "cycle": 2, "day": 5, "restart_after_adverse_event": False,
        "patient": {"age_days": 12000, "weight_kg": 80, "bsa_m2": 1.9},
        "dose": {"value": 28, "unit": "mcg/day"},
        "bag": {"blinatumomab_mcg": 31.5, "volume_ml": 270, "preservative": False},
        "infusion": {"rate_ml_h": 10, "duration_h": 24, "vtbi_ml": 240},
        "line": {"inline_filter": True, "dehp_free": True}, "overrides": []}


def events(pump):
    return [(kind, fields) for _, kind, fields in logrec.decode_all(pump.log.read_all())]


@pytest.fixture
def kit(tmp_path):
    return Kit(tmp_path, version=3)


def test_a_new_pump_refuses_every_programming_and_logs_it(kit):
    pump = Pump(FaultStorage(), kit.trust)
    assert pump.boot()["state"] == "no-library"
    result = json.loads(pump.check_text(json.dumps(GOOD))[0])
    assert result["verdict"] == "reject" and result["findings"][0]["code"] == "NO_LIBRARY"
    assert events(pump)[-1] == ("check", {"verdict": "reject", "codes": ["NO_LIBRARY"], "drug": "blinatumomab"})


def test_after_a_release_is_installed_checks_are_answered_and_logged(kit, tmp_path):
    st = FileStorage(str(tmp_path / "pump"))
    pump = Pump(st, kit.trust)
    pump.boot()
    assert pump.install(kit.blob)["status"] == "installed"
    good, fast = pump.check_text(json.dumps(GOOD) + "\n" + json.dumps(dict(GOOD, infusion={
        "rate_ml_h": 100, "duration_h": 24, "vtbi_ml": 240})))
    assert json.loads(good)["verdict"] == "accept"
    assert json.loads(fast)["verdict"] == "reject"
    log = events(pump)
    assert ("install", {"version": 3, "previous": 0, "status": "installed"}) in log
    checks = [f for k, f in log if k == "check"]
    assert [c["verdict"] for c in checks] == ["accept", "reject"]
    assert "RATE_NOT_FIXED" in checks[1]["codes"]
    # power off, power on: same library, and the log still verifies
    again = Pump(st, kit.trust)
    assert again.boot()["version"] == 3
    assert json.loads(again.check_text(json.dumps(GOOD))[0])["verdict"] == "accept"
    again.log.verify()


def test_an_override_is_logged_with_its_reason(kit):
    pump = Pump(FaultStorage(), kit.trust)
    pump.boot()
    pump.install(kit.blob)
    off = dict(GOOD, bag=dict(GOOD["bag"], blinatumomab_mcg="29.5"), overrides=["BAG_DOSE_DEVIATION"],
               override_reason="bag weighed, pharmacist confirmed")
    assert json.loads(pump.check_text(json.dumps(off))[0])["verdict"] == "accept"
    assert events(pump)[-1] == ("override", {"codes": ["BAG_DOSE_DEVIATION"],
                                             "reasons": ["bag weighed, pharmacist confirmed"]})


def test_an_override_without_a_reason_takes_no_effect_and_is_not_logged_as_one(kit):
    """Issue 8: a soft stop is released only with a reason. Listing the code
    without one leaves the verdict at confirm, so the log records the check
    and no override (before, it logged an override "(no reason given)")."""
    pump = Pump(FaultStorage(), kit.trust)
    pump.boot()
    pump.install(kit.blob)
    off = dict(GOOD, bag=dict(GOOD["bag"], blinatumomab_mcg="29.5"), overrides=["BAG_DOSE_DEVIATION"])
    result = json.loads(pump.check_text(json.dumps(off))[0])
    assert result["verdict"] == "confirm"
    assert "OVERRIDE_REASON_REQUIRED" in [f["code"] for f in result["findings"]]
    kinds = [k for k, _ in events(pump)]
    assert kinds[-1] == "check" and "override" not in kinds


def test_an_unreleased_or_forged_library_changes_nothing(kit):
    pump = Pump(FaultStorage(), kit.trust)
    pump.boot()
    pump.install(kit.blob)
    before_lib, before_log = pump.store.library_bytes(), len(events(pump))
    newer = unsigned_library(4)
    forged = with_signatures(newer, [signature(newer, MALLORY, "author"), signature(newer, MALLORY, "approver")])
    with pytest.raises(UnknownKeyError):
        pump.install(forged)
    tampered = bytearray(released(newer))
    tampered[-1] ^= 1
    with pytest.raises(SignatureError):
        pump.install(bytes(tampered))
    assert pump.store.library_bytes() == before_lib and pump.store.version() == 3
    rejected = [f for k, f in events(pump)[before_log:] if k == "install-rejected"]
    assert [f["code"] for f in rejected] == ["SIG_UNKNOWN_KEY", "SIG_INVALID"]
    assert json.loads(pump.check_text(json.dumps(GOOD))[0])["verdict"] == "accept"


def test_a_signed_library_this_firmware_cannot_decode_is_refused_and_the_old_one_stays(kit):
    # Arrange: a working pump on version 3.
    pump = Pump(FaultStorage(), kit.trust)
    pump.boot()
    pump.install(kit.blob)
    before_lib = pump.store.library_bytes()
    # Attack: a properly released version 4 whose body this firmware cannot use
    # (built by a tool for another format: here, a body that is not records).
    from firmware.library import container as ct
    odd = released(ct.assemble(4, b"\x7f" * 64))
    with pytest.raises(Exception) as e:
        pump.install(odd)
    # Assert: refused before the commit, logged, and version 3 still answers.
    assert e.value.code == "LIB_MALFORMED"
    assert pump.store.version() == 3 and pump.store.library_bytes() == before_lib
    assert events(pump)[-1][0] == "install-rejected" and events(pump)[-1][1]["code"] == "LIB_MALFORMED"
    assert json.loads(pump.check_text(json.dumps(GOOD))[0])["verdict"] == "accept"
