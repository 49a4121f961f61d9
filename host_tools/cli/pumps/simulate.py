"""`druglib simulate`: drive a pump through a whole infusion (DESIGN.md,
"Contract: the pump through a whole infusion"; docs/therapy.md).

    druglib simulate SCENARIO.json [--port PORT] [--json]

SCENARIO.json is {"steps": [{"action": ...}, ...]}. Every step is validated
with the pump's own action reader (firmware/therapy/actions.py) before
anything runs: a bad file (not JSON, unknown action, missing field) is one
error line naming the step. By default a fresh simulated pump is started
(the real firmware under MicroPython on a pty, host_tools/link/pumpsim.py)
and the library built from druglib/*.toml is released with two throw-away
keys and pushed to it; with --port the steps go to that pump as it is (its
clock, course record and state). Output: a readable table, or with --json
one contract line per step: {"step", "action", "result", "codes", "state"}.
Steps are numbered from 1, in the table, the JSON lines and the errors.
"""
import json
import os
import shutil
import sys
import tempfile

from firmware.jsontext import Number, dumps
from firmware.therapy import actions
from host_tools import safetext
from host_tools.cli.pumps import options
from host_tools.errors import DruglibError, UsageError


def configure(p):
    p.add_argument("scenario", metavar="SCENARIO.json", help="the steps: {\"steps\": [{\"action\": ...}, ...]}")
    options.add_port(p, required=False, help_="a pump already running (name or pyserial URL; "
                     "without it and $DRUGLIB_PORT a fresh simulated pump is started)")
    p.add_argument("--json", action="store_true", help="one JSON line per step (the contract)")
    options.add_baud(p)


def _pairs(pairs):
    out = {}
    for k, v in pairs:
        if k in out:
            raise UsageError("duplicate key %r" % k)
        out[k] = v
    return out


def _no_constant(name):
    raise UsageError("%s is not a JSON number" % name)


def load_scenario(path):
    """-> list of steps (parsed JSON, numbers kept exact), each validated."""
    try:
        with open(path, "rb") as fh:
            raw = fh.read()
    except OSError as e:
        raise UsageError("cannot read scenario %s: %s" % (path, e.strerror or e)) from None
    try:
        doc = json.loads(raw.decode("utf-8"), object_pairs_hook=_pairs, parse_float=Number, parse_int=Number,
                         parse_constant=_no_constant)
    except UsageError as e:
        raise UsageError("scenario %s is not valid JSON: %s" % (path, e)) from None
    except (ValueError, UnicodeDecodeError) as e:
        raise UsageError("scenario %s is not valid JSON: %s" % (path, e)) from None
    if not isinstance(doc, dict) or not isinstance(doc.get("steps"), list):
        raise UsageError("scenario %s: must be a JSON object with a list \"steps\"" % path)
    steps = doc["steps"]
    if not steps:
        raise UsageError("scenario %s: \"steps\" is empty" % path)
    for i, s in enumerate(steps, 1):
        try:
            actions.parse(s)
        except actions.ActionError as e:
            raise UsageError("scenario %s: step %d: %s" % (path, i, e.message)) from None
        text = dumps(actions.wire(s))
        if len(text.encode("utf-8")) > 2000:
            raise UsageError("scenario %s: step %d: the action is %d bytes; at most 2000 fit in one frame"
                             % (path, i, len(text.encode("utf-8"))))
    return steps


class FreshPump:
    """A simulated pump in a temporary folder with the built library released
    by two throw-away keys (as `make demo` does) and pushed to it."""

    def __init__(self, baud):
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

        from host_tools.library.build import build_library
        from host_tools.link.client import PumpLink
        from host_tools.link.pumpsim import PumpSim
        from host_tools.release.keys import add_to_trust, public_raw
        from host_tools.release.signing import sign_blob

        self.dir = tempfile.mkdtemp(prefix="druglib-simulate-")
        self.sim = None
        try:
            trust = os.path.join(self.dir, "trust.json")
            blob = build_library()
            for role in ("author", "approver"):
                sk = Ed25519PrivateKey.generate()
                add_to_trust(trust, public_raw(sk), role, "throw-away %s" % role)
                blob = sign_blob(blob, sk, role)
            self.sim = PumpSim(os.path.join(self.dir, "pump"), trust, baud=baud, pump_id="simulate",
                               log=lambda text: None)
            self.sim.start()
            self.link = PumpLink(self.sim.port, baud)
            self.link.push(blob)
        except BaseException:
            self.close()
            raise

    def close(self):
        if getattr(self, "link", None) is not None:
            self.link.close()
        if self.sim is not None:
            self.sim.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def _hours(mh):
    whole, frac = divmod(int(mh), 1000)
    return str(whole) if not frac else ("%d.%03d" % (whole, frac)).rstrip("0")


def _record_text(rec):
    if not rec:
        return "-"
    text = "%s c%d, %s h infused" % (rec["indication"], rec["cycle"], _hours(rec["infused_mh"]))
    return text + (", complete" if rec["complete"] else ", next day %d" % rec["next_day"])


def run_steps(link, steps, out, as_json):
    if not as_json:
        out.write("%-4s %-9s %-11s %-8s %-14s %s\n" % ("step", "clock h", "action", "result", "state", "codes"))
    start = None
    for i, s in enumerate(steps, 1):
        ans = link.therapy(dumps(actions.wire(s)))
        if start is None:
            start = ans["clock_mh"] - (actions.parse(s).args.get("hours", 0) if s["action"] == "advance" else 0)
        if as_json:
            out.write(safetext.dumps({"step": i, "action": s["action"], "result": ans["result"],
                                  "codes": ans["codes"], "state": ans["state"]}) + "\n")
        else:
            out.write("%-4d %-9s %-11s %-8s %-14s %s\n" % (i, _hours(ans["clock_mh"] - start), s["action"],
                                                           ans["result"], ans["state"],
                                                           safetext.text(", ".join(ans["codes"]) or "-")))
            for f in ans.get("findings", []):
                # what blocks, and what the pump says at a bag's end or a re-initiation
                if f["severity"] != "advisory" or s["action"] in ("advance", "start", "resume"):
                    out.write("%-4s   %s %s\n" % ("", safetext.text(f["code"]) + ":", safetext.text(f["message"])))
        out.flush()
    if not as_json:
        out.write("course record: %s\n" % safetext.text(_record_text(ans.get("record"))))


def run(args):
    args.port = options.port(args)
    steps = load_scenario(args.scenario)
    if args.port:
        from host_tools.link.client import PumpLink

        with PumpLink(args.port, args.baud) as link:
            run_steps(link, steps, sys.stdout, args.json)
        return 0
    pump = FreshPump(args.baud)
    try:
        run_steps(pump.link, steps, sys.stdout, args.json)
    except DruglibError:
        raise
    finally:
        pump.close()
    return 0
