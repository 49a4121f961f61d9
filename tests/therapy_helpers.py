"""Programmings and a runner for the therapy tests (tests/test_therapy_*.py).

Requests follow the check contract (DESIGN.md); the bags are the labelled
ones: 24 h at 10 mL/h, 48 h at 5 mL/h, 7 days at 0.6 mL/h (monograph lines
111-113), 28 or 9 mcg/day for an adult of 70 kg."""
import copy
import glob
import json
import os

from firmware import jsontext
from firmware.therapy import actions, machine

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCENARIOS = sorted(glob.glob(os.path.join(ROOT, "docs", "scenarios", "*.json")))
RR = "relapsed-refractory"
BAGS = {
    # kind: (drug mcg, bag mL, preservative, rate mL/h, hours, vtbi mL, filter)
    "24h": {28: ("31.5", 270, False), 9: ("10.125", 270, False), "rate": 10, "h": 24, "vtbi": 240, "filter": True},
    "48h": {28: ("63", 270, False), 9: ("20.25", 270, False), "rate": 5, "h": 48, "vtbi": 240, "filter": True},
    "7d": {28: ("213.8889", 110, True), 9: ("68.75", 110, True), "rate": "0.6", "h": 168, "vtbi": "100.8",
           "filter": False},
}


def request(ind, cycle, day, dose=28, kind="24h", restart=False, rate=None, overrides=(), reason=None):
    b = BAGS[kind]
    mcg, ml, pres = b[dose]
    r = {"drug": "blinatumomab", "indication": ind, "cycle": cycle, "day": day,
         "restart_after_adverse_event": restart,
         "patient": {"age_days": 15000, "weight_kg": 70, "bsa_m2": 1.8},
         "dose": {"value": dose, "unit": "mcg/day"},
         "bag": {"blinatumomab_mcg": mcg, "volume_ml": ml, "preservative": pres},
         "infusion": {"rate_ml_h": rate if rate is not None else b["rate"], "duration_h": b["h"], "vtbi_ml": b["vtbi"]},
         "line": {"inline_filter": b["filter"], "dehp_free": True}, "overrides": list(overrides)}
    if reason is not None:
        r["override_reason"] = reason
    return r


def regimen_dose(ind, cycle, day):
    return 9 if ind == RR and cycle == 1 and day <= 7 else 28


def action(obj):
    """A step as the pump reads it: through JSON text, numbers kept exact."""
    return actions.parse(jsontext.loads(json.dumps(obj)))


def run_pure(lib, steps, t=None):
    """Run steps through the pure machine: [(Outcome, Therapy after)]."""
    t = t or machine.Therapy()
    out = []
    for s in steps:
        a = action(copy.deepcopy(s)) if isinstance(s, dict) else s
        o = machine.step(t, a, t.clock_mh + a.args.get("hours", 0), lib)
        t = o.after
        out.append(o)
    return out


def load(path):
    with open(path) as fh:
        return json.load(fh)
