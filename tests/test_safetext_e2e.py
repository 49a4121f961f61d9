"""Issue 10 item 5 as a story over a REAL pty with the REAL firmware under
MicroPython: a pump whose id, and a logged drug name, carry a terminal attack
("\\x1b[2J\\x1b[31mOK": clear the screen, print a red OK) must reach the
operator escaped through `druglib info` and `druglib log`, in text and JSON.
Helper: host_tools/safetext.py."""
import json
import os

import pytest

from host_tools import safetext
from host_tools.link.client import PumpLink
from pumpsimproc import Sim, druglib

LIB = os.environ["DRUGLIB_RELEASED_LIBRARY"]
TRUST = os.environ["DRUGLIB_TRUST"]
ATTACK = "\x1b[2J\x1b[31mOK"
RAW = ("\x1b", "\x9b", "\x7f")


def test_unit_every_control_character_is_escaped_readably():
    assert safetext.text(ATTACK) == "\\x1b[2J\\x1b[31mOK"
    assert safetext.text("a\x9b31m\x7f\\x1b é") == "a\\x9b31m\\x7f\\\\x1b é"  # a fake "\x1b" stays visibly fake
    assert safetext.text("\u202edcba") == "\\u202edcba"
    js = safetext.dumps({"id": "\x1b\x7f\x85"})
    assert not any(c in js for c in RAW + ("\x85",)) and json.loads(js) == {"id": "\x1b\x7f\x85"}
    assert safetext.deep({"k\x1b": ["\x07"]}) == {"k\\x1b": ["\\x07"]}


@pytest.fixture
def sim(tmp_path):
    s = Sim(tmp_path / "pump", TRUST, "--id", "ward7" + ATTACK)
    try:
        yield s
    finally:
        s.stop()


def test_a_hostile_pump_id_and_drug_name_reach_the_operator_escaped(sim):
    assert druglib("push", "--port", sim.port, LIB).returncode == 0
    # attack: a programming whose drug name is an ESC sequence, logged by the pump
    with PumpLink(sim.port) as link:
        link.check(json.dumps({"drug": "blin" + ATTACK}))
    for args in (("info",), ("log",), ("info", "--json"), ("log", "--json")):
        p = druglib(*args, "--port", sim.port)
        assert p.returncode == 0, p.stderr
        out = p.stdout + p.stderr
        assert not any(c in out for c in RAW), (args, out)
        if "--json" in args:
            doc = json.loads(p.stdout)
            assert doc["pump_id"] == "ward7" + ATTACK  # exact value, escaped on the wire to the terminal
            if args[0] == "log":
                drugs = [r["fields"].get("drug") for r in doc["records"] if r["kind"] == "check"]
                assert "blin" + ATTACK in drugs
        else:
            assert "ward7\\x1b[2J\\x1b[31mOK" in p.stdout
            if args[0] == "log":
                assert "drug=blin\\x1b[2J\\x1b[31mOK" in p.stdout
