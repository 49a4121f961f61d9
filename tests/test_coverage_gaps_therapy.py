"""Branches the rest of the suite missed (issue 10 item 6) in reading a
therapy action (firmware/therapy/actions.py) and in programming the pump
(firmware/therapy/programming.py): every malformed step refused with its own
message, nothing rounded; a programming the pump cannot place refused."""
import json

import pytest

from firmware.jsontext import Number
from firmware.store.faultstorage import FaultStorage
from firmware.pump import Pump
from firmware.therapy import actions
from firmware.therapy import programming as prog
from conftest_signing import Kit
from therapy_helpers import RR, request

BAD_STEPS = [
    ([1], "a step must be a JSON object"),
    ({"hours": 1}, "missing field \"action\""),
    ({"action": 5}, "\"action\" must be text"),
    ({"action": "teleport"}, "unknown action \"teleport\" (known: advance, bag_change"),
    ({"action": "program"}, "program: missing field \"request\""),
    ({"action": "program", "request": []}, "program.request must be a JSON object (a programming)"),
    ({"action": "override", "codes": ["X"], "reason": 3}, "override.reason must be text"),
    ({"action": "override", "codes": ["X", 4], "reason": "r"}, "override.codes must be a list of codes (text)"),
    ({"action": "advance", "hours": True}, "advance.hours must be a number"),
    ({"action": "advance", "hours": "1.5.1"}, "advance.hours: "),
    ({"action": "advance", "hours": Number("-1")}, "hours must not be negative"),
    ({"action": "advance", "hours": Number("0.0001")}, "hours must be a whole number of thousandths"),
    ({"action": "advance", "hours": Number("100001")}, "hours must be at most 100000"),
    ({"action": "prime", "fluid": "water"}, "prime.fluid must be \"drug\" or \"saline\""),
    ({"action": "set_rate", "rate_ml_h": "fast"}, "set_rate.rate_ml_h: "),
]


@pytest.mark.parametrize("step,message", BAD_STEPS)
def test_a_malformed_step_is_refused_with_what_is_wrong(step, message):
    with pytest.raises(actions.ActionError) as e:
        actions.parse(step)
    assert e.value.message.startswith(message), e.value.message


def test_exact_hours_and_optional_fields_read_as_the_table_says():
    assert actions.parse({"action": "advance", "hours": Number("0.5000")}).args == {"hours": 500}
    assert actions.parse({"action": "advance", "hours": "2.25"}).args == {"hours": 2250}
    a = actions.parse({"action": "override", "comment": "ignored"})
    assert a.args == {"codes": [], "reason": ""} and repr(a) == "Action(override)"
    assert actions.parse({"action": "bolus", "volume_ml": None}).args == {"volume_ml": None}
    assert actions.parse({"action": "set_rate", "rate_ml_h": Number("12.5")}).args == {"rate_ml_h": (125, 1)}
    assert actions.wire({"action": "prime", "fluid": "saline", "expect": {"result": "ok"}}) == \
        {"action": "prime", "fluid": "saline"}


def test_reading_a_programming_for_the_course_record_never_guesses():
    lib = {"drugs": [{"name": "other"}, {"name": "blinatumomab", "limits": {}}]}
    assert prog._drug(lib)["name"] == "blinatumomab"
    assert prog._drug({"drugs": [{"name": "other"}]})["name"] == "other"
    assert prog._drug({"drugs": []}) is None and prog._drug(None) is None
    req = {"cycle": Number("2"), "day": "x", "infusion": {"rate_ml_h": 10, "vtbi_ml": "1e999"}, "patient": 5}
    assert prog._int(req, "cycle") == 2
    assert prog._value(req, "day") is None               # not a number
    assert prog._value(req, "infusion.rate_ml_h") is None  # a bare int is not JSON number text
    assert prog._value(req, "infusion.vtbi_ml") is None  # too large: refused, not clamped
    assert prog._value(req, "patient.age_days") is None and prog._value(req, "missing") is None
    assert prog._int({"cycle": Number("2.5")}, "cycle") is None
    assert prog._scaled((125, 1), 3) == 12500 and prog._scaled((123456, 5), 3) == 1234  # floor


def _pump(tmp_path):
    kit = Kit(tmp_path, version=3)
    pump = Pump(FaultStorage(), kit.trust)
    pump.boot()
    pump.install(kit.blob)
    return pump


def test_a_programming_whose_cycle_cannot_be_read_is_refused_and_nothing_is_programmed(tmp_path):
    pump = _pump(tmp_path)
    r = request(RR, 2, 1)
    r["cycle"] = "two"
    ans = json.loads(pump.act(json.dumps({"action": "program", "request": r})))
    assert ans["result"] == "refused" and ans["state"] == pump.therapy.t.state
    assert pump.therapy.t.bag is None and pump.therapy.t.rec is None
    good = json.loads(pump.act(json.dumps({"action": "program", "request": request(RR, 2, 1)})))
    assert good["result"] == "ok" and pump.therapy.t.bag is not None
