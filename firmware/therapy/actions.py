# Reading one therapy action (DESIGN.md, "the pump through a whole infusion":
# the action table). Pure: a parsed JSON value in (firmware/jsontext.py,
# numbers kept as their text), a validated Action out, or ActionError naming
# what is wrong. The same code validates a whole scenario on the host before
# anything runs (host_tools/cli/pumps/simulate.py) and each action on the pump.
#
# Time is integer milli-hours (mh, 1 h = 1000 mh, 3.6 s): `advance` hours may
# be decimals ("hours": 0.5 or "2.25"), parsed exactly (firmware/check/
# decimals.py), never through a float; more than 3 decimal places is refused.
from firmware.check import decimals
from firmware.jsontext import Number

MH_PER_H = 1000
MAX_ADVANCE_H = 100000  # about 11 years in one step: anything longer is a typo

# action -> its fields and their kind
FIELDS = {
    "program": (("request", "object"),),
    "bag_change": (("request", "object"),),
    "override": (("codes", "codes"), ("reason", "text")),
    "start": (),
    "pause": (),
    "resume": (),
    "advance": (("hours", "hours"),),
    "set_rate": (("rate_ml_h", "number"),),
    "bolus": (("volume_ml", "number"),),
    "flush": (),
    "prime": (("fluid", "fluid"),),
    "stop": (),
    "new_patient": (),
}
ACTIONS = tuple(FIELDS)  # insertion order is not kept on MicroPython: never rely on it
# Fields that may be left out, and what they then mean. An override without
# codes or reason is an override that names nothing or gives no reason: the
# pump refuses it (OVERRIDE_INCOMPLETE), it is not a malformed step. A rate
# change or bolus is refused whatever it asks for, so its amount may be
# left out. Every field that decides what the pump does is required.
OPTIONAL = {("override", "codes"): [], ("override", "reason"): "",
            ("set_rate", "rate_ml_h"): None, ("bolus", "volume_ml"): None}
FLUIDS = ("drug", "saline")


class ActionError(Exception):
    def __init__(self, message):
        super().__init__(message)
        self.message = message


class Action:
    """A validated action: `name` and its arguments in `args` (exact values:
    hours as integer mh, numbers as (mantissa, exp10), the request as parsed)."""

    def __init__(self, name, args):
        self.name = name
        self.args = args

    def __repr__(self):
        return "Action(%s)" % self.name


def _decimal(v, what):
    if isinstance(v, Number):
        text = v.text
    elif isinstance(v, str):
        text = v
    else:
        raise ActionError("%s must be a number" % what)
    try:
        return decimals.parse(text)
    except decimals.DecimalTextError as e:
        raise ActionError("%s: %s" % (what, e.message))


def hours_to_mh(q):
    """Exact decimal hours -> integer milli-hours; ActionError if not exact."""
    m, e = q
    if m < 0:
        raise ActionError("hours must not be negative")
    if e > 3:
        scaled, rest = divmod(m, 10 ** (e - 3))
        if rest:
            raise ActionError("hours must be a whole number of thousandths of an hour (3.6 s)")
        mh = scaled
    else:
        mh = m * 10 ** (3 - e)
    if mh > MAX_ADVANCE_H * MH_PER_H:
        raise ActionError("hours must be at most %d" % MAX_ADVANCE_H)
    return mh


def parse(obj):
    """One step of a scenario (a parsed JSON object) -> Action. Keys the table
    does not name (a step's "comment" or "expect") are ignored: they cannot
    change what the pump does, and every field that can is required."""
    if not isinstance(obj, dict):
        raise ActionError("a step must be a JSON object")
    if "action" not in obj:
        raise ActionError("missing field \"action\"")
    name = obj["action"]
    if not isinstance(name, str):
        raise ActionError("\"action\" must be text")
    if name not in FIELDS:
        raise ActionError("unknown action %s (known: %s)" % (_quote(name), ", ".join(sorted(FIELDS))))
    args = {}
    for key, kind in FIELDS[name]:
        if key not in obj or obj[key] is None:
            if (name, key) in OPTIONAL:
                args[key] = OPTIONAL[(name, key)]
                continue
            raise ActionError("%s: missing field \"%s\"" % (name, key))
        v = obj[key]
        what = "%s.%s" % (name, key)
        if kind == "object":
            if not isinstance(v, dict):
                raise ActionError("%s must be a JSON object (a programming)" % what)
        elif kind == "text":
            if not isinstance(v, str):
                raise ActionError("%s must be text" % what)
        elif kind == "codes":
            if not isinstance(v, list) or [c for c in v if not isinstance(c, str)]:
                raise ActionError("%s must be a list of codes (text)" % what)
        elif kind == "hours":
            v = hours_to_mh(_decimal(v, what))
        elif kind == "number":
            v = _decimal(v, what)
        elif kind == "fluid":
            if v not in FLUIDS:
                raise ActionError("%s must be \"drug\" or \"saline\"" % what)
        args[key] = v
    return Action(name, args)


def _quote(s):
    return "\"%s\"" % s[:40]


def wire(obj):
    """The step as the pump needs it: only the fields of its action (the
    host strips comments and expectations before sending)."""
    out = {"action": obj["action"]}
    for key, _kind in FIELDS[obj["action"]]:
        if key in obj:
            out[key] = obj[key]
    return out
