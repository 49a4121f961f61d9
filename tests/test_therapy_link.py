"""THERAPY over the serial link, in process (host_tools/link/client.py against
firmware/link/server.py over the fault-injecting fake line, tests/linkfake.py).
Stories: a noisy line, a resend after the pump rebooted, malformed actions,
and the CHECK path parsing a programming once (issue 7)."""
import json

import pytest

from conftest_signing import Kit
from firmware import jsontext
from firmware.link import frames as link
from firmware.store import logrec
from firmware.store.faultstorage import FaultStorage, Medium
from firmware.link.server import PumpServer
from firmware.pump import Pump
from host_tools.link.client import PumpLink
from linkfake import FakePort, make_server
from therapy_helpers import RR, request


@pytest.fixture(scope="module")
def kit(tmp_path_factory):
    return Kit(tmp_path_factory.mktemp("v3"), version=3)


def client(server, **kw):
    return PumpLink(port=FakePort(server, **kw), timeout=0.05, retries=30, seed=kw.get("seed"), end_extra=0.05)


def therapy_records(server):
    return [f for _, k, f in logrec.decode_all(server.pump.log.read_all()) if k == "therapy"]


def installed(kit, medium=None):
    srv = make_server(FaultStorage(medium or Medium()), kit.trust)
    client(srv).push(kit.blob)
    return srv


def act(c, obj):
    return c.therapy(json.dumps(obj))


def test_a_cycle_start_over_a_noisy_line_runs_each_action_once(kit):
    srv = installed(kit)
    c = client(srv, drop=0.0005, corrupt=0.0005, seed=9)
    steps = [{"action": "program", "request": request(RR, 2, 1)}, {"action": "start"},
             {"action": "advance", "hours": 24}, {"action": "flush"},
             {"action": "bag_change", "request": request(RR, 2, 2)}, {"action": "start"},
             {"action": "advance", "hours": "12.5"}]
    got = [(a["result"], a["state"]) for a in (act(c, s) for s in steps)]
    assert got == [("ok", "programmed"), ("ok", "running"), ("ok", "bag-empty"), ("refused", "bag-empty"),
                   ("ok", "programmed"), ("ok", "running"), ("ok", "running")]
    assert c.stats["retransmissions"] > 0  # the line really was noisy
    recs = therapy_records(srv)
    assert [r["n"] for r in recs] == list(range(1, 8))  # each once, in order
    assert srv.pump.therapy.t.rec.inf_mh == 36500 and srv.pump.therapy.t.clock_mh == 36500


def test_a_resend_after_the_pump_rebooted_is_answered_from_the_stored_state_not_run_again(kit):
    m = Medium()
    srv = installed(kit, m)
    c = client(srv)
    act(c, {"action": "program", "request": request(RR, 2, 1)})
    act(c, {"action": "start"})
    frame = link.encode(link.THERAPY, 4242, jsontext.dumps({"action": "advance", "hours": 10}).encode())
    first = srv.feed(frame)
    # the answer is lost and the pump restarts before the host resends the same frame
    pump = Pump(FaultStorage(m), kit.trust)
    pump.boot()
    srv2 = PumpServer(pump, "test-pump")
    again = srv2.feed(frame)
    assert again == first
    assert pump.therapy.t.clock_mh == 10000 and pump.therapy.t.rec.inf_mh == 10000  # advanced once
    assert [r["action"] for r in therapy_records(srv2)] == ["program", "start", "advance"]


def test_malformed_actions_are_refused_and_logged_nothing_changes(kit):
    srv = installed(kit)
    c = client(srv)
    act(c, {"action": "program", "request": request(RR, 2, 1)})
    before = srv.pump.therapy.t.copy()
    for text in ('{"action": "warp"}', "not json", '{"action": "advance", "hours": -2}', "[]"):
        a = c.therapy(text)
        assert (a["result"], a["codes"], a["state"]) == ("refused", ["ACTION_MALFORMED"], "programmed")
    assert srv.pump.therapy.t == before
    assert [r["action"] for r in therapy_records(srv)][-4:] == ["malformed"] * 4
    # not UTF-8, an overlong "/" and an encoded surrogate: MicroPython's own
    # decode() takes the last two, the pump's strict decoder refuses all three
    for seq, bad in ((7, b"\xff\xfe"), (8, b'{"action": "\xc0\xaf"}'), (9, b'{"action": "\xed\xa0\x80"}')):
        err = srv.feed(link.encode(link.THERAPY, seq, bad))
        frames = [f for f in link.Decoder().feed(err) if isinstance(f, link.Frame)]
        assert frames[0].ftype == link.ERR
        assert logrec.decode_fields(frames[0].payload)["code"] == "LINK_BAD_REQUEST"
    assert srv.pump.therapy.t == before


def test_without_a_library_every_programming_is_refused_but_lockouts_still_hold(kit):
    srv = make_server(FaultStorage(Medium()), kit.trust)
    c = client(srv)
    a = act(c, {"action": "program", "request": request(RR, 2, 1)})
    assert (a["result"], a["codes"], a["state"]) == ("refused", ["NO_LIBRARY"], "idle")
    assert act(c, {"action": "flush"})["codes"] == ["FLUSH_LOCKED"]


def test_the_check_path_parses_a_programming_once(kit, monkeypatch):
    srv = installed(kit)
    calls = []
    real = jsontext.loads

    def counting(text):
        calls.append(1)
        return real(text)

    monkeypatch.setattr(jsontext, "loads", counting)
    req = request(RR, 2, 1, overrides=["BAG_DOSE_DEVIATION"], reason="pharmacist confirmed")
    req["bag"]["blinatumomab_mcg"] = "29.5"
    r = srv.pump.check(json.dumps(req))
    assert r.verdict == "accept" and "BAG_DOSE_DEVIATION" in [f[0] for f in r.findings]
    assert len(calls) == 1
    kinds = [k for _, k, _ in logrec.decode_all(srv.pump.log.read_all())]
    assert kinds[-2:] == ["check", "override"]
    fields = logrec.decode_all(srv.pump.log.read_all())[-1][2]
    assert fields == {"codes": ["BAG_DOSE_DEVIATION"], "reasons": ["pharmacist confirmed"]}


def test_an_override_is_logged_with_its_codes_and_reason(kit):
    srv = installed(kit)
    c = client(srv)
    low = request(RR, 2, 1)
    low["bag"]["blinatumomab_mcg"] = "29.5"
    assert act(c, {"action": "program", "request": low})["result"] == "confirm"
    a = act(c, {"action": "override", "codes": ["BAG_DOSE_DEVIATION"], "reason": "pharmacist re-checked the bag"})
    assert (a["result"], a["state"]) == ("ok", "programmed")
    rec = therapy_records(srv)[-1]
    assert rec["overridden"] == ["BAG_DOSE_DEVIATION"] and rec["reason"] == "pharmacist re-checked the bag"
    assert rec["day"] == 1 and rec["cycle"] == 2
