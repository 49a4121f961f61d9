"""`make demo`: build the blinatumomab library, then check realistic programmings
(some right, some with the classic mistakes) and print a table a nurse or
pharmacist can read: what the nurse sees (the pump's messages), who signed (by
name), and what the pump's event log recorded."""
import json
import os
import shutil
import subprocess
import sys
import textwrap

from firmware.library.body import decode
from host_tools.library.build import build_library, default_rules_dir
from host_tools import safetext
from host_tools.errors import DruglibError
from host_tools.library.files import write_atomic

BASE = {"drug": "blinatumomab", "indication": "relapsed-refractory", "cycle": 2, "day": 3,
        "restart_after_adverse_event": False,
        "patient": {"age_days": 15000, "weight_kg": 72, "bsa_m2": 1.85},
        "dose": {"value": 28, "unit": "mcg/day"},
        "bag": {"blinatumomab_mcg": 31.5, "volume_ml": 270, "preservative": False},
        "infusion": {"rate_ml_h": 10, "duration_h": 24, "vtbi_ml": 240},
        "line": {"inline_filter": True, "dehp_free": True}, "overrides": []}


def _req(**changes):
    req = json.loads(json.dumps(BASE))
    for path, value in changes.items():
        node = req
        keys = path.split("__")
        for k in keys[:-1]:
            node = node[k]
        node[keys[-1]] = value
    return req


CHILD_7D = dict(indication="mrd", cycle=1, day=8, patient={"age_days": 2900, "weight_kg": 24, "bsa_m2": 0.9},
                dose={"value": 15, "unit": "mcg/m2/day"},
                bag={"blinatumomab_mcg": 103.125, "volume_ml": 110, "preservative": True},
                infusion={"rate_ml_h": 0.6, "duration_h": 168, "vtbi_ml": 100.8},
                line={"inline_filter": False, "dehp_free": True})

SCENARIOS = [
    ("Adult, R/R cycle 2 day 3, 28 mcg/day, 24 h bag at 10 mL/h", _req()),
    ("Adult, R/R cycle 1 day 1, 9 mcg/day step dose, 7-day bag", _req(
        cycle=1, day=1, dose__value=9, bag={"blinatumomab_mcg": 68.75, "volume_ml": 110, "preservative": True},
        infusion={"rate_ml_h": 0.6, "duration_h": 168, "vtbi_ml": 100.8}, line__inline_filter=False)),
    ("Child 24 kg, MRD cycle 1 day 8, 15 mcg/m2/day, 7-day bag", _req(**CHILD_7D)),
    ("Same child: 7-day bag keyed at 6 mL/h (10x rate slip)", _req(**dict(CHILD_7D, infusion={
        "rate_ml_h": 6, "duration_h": 168, "vtbi_ml": 100.8}))),
    ("Adult, R/R cycle 1 day 1 started at 28 mcg/day (step-up skipped)", _req(cycle=1, day=1)),
    ("48 h bag (63 mcg) run at the 24 h rate of 10 mL/h", _req(
        bag__blinatumomab_mcg=63, infusion={"rate_ml_h": 10, "duration_h": 48, "vtbi_ml": 240})),
    ("Bag change programmed with a 10 mL line flush", _req(line__flush_ml=10)),
    ("24 h bag on a set without the 0.2 micron in-line filter", _req(line__inline_filter=False)),
    ("Bag made with 29.5 mcg instead of 31.5 mcg (6% low)", _req(bag__blinatumomab_mcg=29.5)),
    ("Restart after CRS (restart flag set) at 28 mcg/day", _req(restart_after_adverse_event=True)),
]


def _wrap(text, width):
    return textwrap.wrap(text, width) or [""]


def table(rows, widths):
    sep = "+" + "+".join("-" * (w + 2) for w in widths) + "+"
    out = [sep]
    for i, row in enumerate(rows):
        cells = [_wrap(safetext.text(c), w) for c, w in zip(row, widths)]  # issue 10 item 5
        for n in range(max(len(c) for c in cells)):
            out.append("| " + " | ".join((c[n] if n < len(c) else "").ljust(w) for c, w in zip(cells, widths)) + " |")
        if i == 0:
            out.append(sep.replace("-", "="))
    out.append(sep)
    return "\n".join(out)


DRUGLIB = os.path.join(os.path.dirname(sys.executable), "druglib")
KEYS = "demo-keys"  # git-ignored: throw-away demo keys, never committed
SIGNERS = (("author", "pharmacist", "Alice (pharmacist)"), ("approver", "second-pharmacist", "Bob (second pharmacist)"))
EXAMPLE = os.path.join("examples", "requests.jsonl")  # the SCENARIOS, one per line (tests/test_demo.py)


def druglib(*args):
    """Run the real command line, as a pharmacist or biomed engineer would."""
    proc = subprocess.run([DRUGLIB] + list(args), capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if proc.returncode not in (0,):
        raise DruglibError("druglib %s failed: %s" % (" ".join(args), proc.stderr.strip()))
    return proc.stdout


def release(lib_path):
    """Two people release the library: an author and an approver, each with a key.

    Throw-away demo keys, so explicitly without a passphrase (--no-passphrase);
    real release keys are passphrase-protected (README, docs/signing.md)."""
    trust = os.path.join(KEYS, "trust.json")
    keys = [os.path.join(KEYS, f + ".pem") for _, f, _ in SIGNERS]
    if not (os.path.exists(trust) and all(os.path.exists(k) for k in keys)):
        shutil.rmtree(KEYS, ignore_errors=True)
        os.makedirs(KEYS)
        for (role, _, who), key in zip(SIGNERS, keys):
            druglib("keygen", "--role", role, "--out", key, "--trust", trust, "--name", who, "--no-passphrase")
    for key in keys:
        druglib("sign", "--key", key, "--trust", trust, lib_path)
    return trust


def signer_lines(lib_path, trust_path):
    """Who signed, by name (from the trust store), as a reviewer reads it."""
    from firmware.library.container import parse
    from firmware.release import trust as fw_trust

    store = fw_trust.load(trust_path)
    with open(lib_path, "rb") as fh:
        c = parse(fh.read())
    out = []
    for s in c.signatures:
        key = store.lookup(s.key_id)
        role = "author" if s.role == 1 else "approver" if s.role == 2 else "role %d" % s.role
        out.append("signed as %-8s by %s (key %s)" % (role, key.name if key and key.name else "an unknown key",
                                                       s.key_id.hex()))
    return out


def nurse_sees(result):
    """The messages the pump shows, not its codes: what blocks first, then the advice."""
    blocking = [m for c, s, m in result.findings if s != "advisory"]
    advice = [m for c, s, m in result.findings if s == "advisory"]
    if blocking:
        return " / ".join(blocking)
    return "OK." + ("" if not advice else " Advice: " + " / ".join(advice))


def log_line(seq, kind, fields):
    """One event-log record for a reader: its number, its time when the record
    carries one, what happened."""
    f = dict(fields)
    when = ""
    for key in ("time", "t", "clock", "t_s", "clock_s", "t_ms", "clock_ms", "at"):
        if key in f:
            v = f.pop(key)
            when = " at %s" % (_hms(v // 1000 if key.endswith("_ms") else v) if isinstance(v, int) else v)
            break
    if kind == "check":
        what = "check %s: %s, %s" % (f.pop("drug", "") or "(no drug)", f.pop("verdict", "?"),
                                    ", ".join(f.pop("codes", [])) or "no findings")
    else:
        what = kind
    rest = ", ".join("%s %s" % (k, ", ".join(v) if isinstance(v, list) else v) for k, v in sorted(f.items()))
    return safetext.text("#%d%s: %s%s" % (seq, when, what, "; " + rest if rest else ""))  # issue 10 item 5


def _hms(seconds):
    h, rem = divmod(seconds, 3600)
    return "%d:%02d:%02d" % (h, rem // 60, rem % 60)


def install_on_simulated_pump(lib_path, trust_path):
    """The pump's own code: verify, write the inactive slot, commit atomically, reboot."""
    from firmware.release import trust as fw_trust
    from firmware.pump import Pump
    from firmware.store.storage import FileStorage

    pump_dir = os.path.join("out", "pump")
    shutil.rmtree(pump_dir, ignore_errors=True)
    trust = fw_trust.load(trust_path)
    pump = Pump(FileStorage(pump_dir), trust)
    pump.boot()
    with open(lib_path, "rb") as fh:
        res = pump.install(fh.read)
    pump = Pump(FileStorage(pump_dir), trust)  # power cycle
    report = pump.boot()
    return pump_dir, pump, res, report


def _bag_24h(day):
    return _req(day=day)  # R/R cycle 2, 28 mcg/day, 24 h bag at 10 mL/h


THERAPY_STEPS = [
    ("program", {"request": _bag_24h(1)}, "cycle 2 day 1"),
    ("start", {}, ""),
    ("advance", {"hours": 24}, "the bag runs out"),
    ("flush", {}, "flush the line at the bag change"),
    ("bag_change", {"request": _bag_24h(3)}, "next bag keyed as day 3"),
    ("bag_change", {"request": _bag_24h(2)}, "the right bag: day 2"),
    ("start", {}, ""),
    ("advance", {"hours": 6}, ""),
    ("pause", {}, "an adverse event: interrupt"),
    ("advance", {"hours": "4.5"}, ""),
    ("resume", {}, "restart after 4.5 h"),
]


def therapy_section(number):
    """A few steps of an infusion on a fresh simulated pump (the firmware
    under MicroPython on a pty), through the real `druglib simulate`."""
    steps = []
    for action, args, note in THERAPY_STEPS:
        step = dict(args, action=action)
        if note:
            step["comment"] = note
        steps.append(step)
    path = os.path.join("out", "demo-scenario.json")
    write_atomic(path, json.dumps({"steps": steps}, indent=1).encode("utf-8"))
    print("%d. The pump through an infusion: druglib simulate %s (a fresh simulated pump, the firmware" % (number, path))
    print("   under MicroPython on a pty, the library built, released and pushed; docs/therapy.md):")
    lines = json.loads("[" + ",".join(druglib("simulate", path, "--json").splitlines()) + "]")
    rows = [("#", "Action", "Result", "State", "What the pump says")]
    for (action, args, note), line in zip(THERAPY_STEPS, lines):
        what = ", ".join(line["codes"]) or "-"
        rows.append((str(line["step"]), action + (" (%s)" % note if note else ""), line["result"].upper(),
                     line["state"], what))
    print(table(rows, (2, 42, 8, 10, 40)))
def example_text():
    """examples/requests.jsonl: the demo's programmings as `druglib check` takes them."""
    return "".join(json.dumps(req) + "\n" for _, req in SCENARIOS)


def write_example(path):
    write_atomic(path, example_text().encode("utf-8"))
    return path


def main():
    try:
        os.makedirs("out", exist_ok=True)
        rules_dir = default_rules_dir()
        blob = build_library(rules_dir=rules_dir)
        lib_path = os.path.join("out", "blinatumomab-demo.lib")
        write_atomic(lib_path, blob)
        _, lib = decode(blob)
        print("1. Built the drug library from the rules in %s: %s (%d bytes, version %d)"
              % (rules_dir, lib_path, len(blob), lib["library_version"]))
        print("   rules sha256 %s" % lib["rules_sha256"].hex())
        trust = release(lib_path)
        print("2. Released by two people (author + approver keys in %s/, git-ignored):" % KEYS)
        for line in signer_lines(lib_path, trust):
            print("   " + line)
        print("   " + druglib("verify", "--trust", trust, lib_path).strip().replace("\n", "\n   "))
        pump_dir, pump, res, report = install_on_simulated_pump(lib_path, trust)
        print("3. Installed on a simulated pump (%s): %s version %d; after reboot: %s, version %s, counter %s"
              % (pump_dir, res["status"], res["version"], report["state"], report["version"], report["counter"]))
        print()
        print("4. Programmings checked on that pump (firmware/pump.py, firmware/check/checker.py):")
        rows = [("#", "Programming", "Verdict", "What the nurse sees")]
        for i, (title, req) in enumerate(SCENARIOS, 1):
            r = pump.check(json.dumps(req))
            rows.append((str(i), title, r.verdict.upper(), nurse_sees(r)))
        print(table(rows, (2, 34, 7, 64)))
        from firmware.store import logrec
        entries = logrec.decode_all(pump.log.read_all())
        count, _, _ = pump.log.verify()
        print()
        print("5. The pump's event log: %d records, hash chain verified; the last three:" % count)
        for seq, kind, fields in entries[-3:]:
            print("   " + log_line(seq, kind, fields))
        print()
        therapy_section(6)
        print()
        example = EXAMPLE if os.path.exists(EXAMPLE) else write_example(os.path.join("out", "requests.jsonl"))
        print("Try it yourself: the infusion above,  .venv/bin/druglib simulate out/demo-scenario.json")
        print("and the %d programmings above (one JSON object per line):" % len(SCENARIOS))
        print("  .venv/bin/druglib check --library %s %s" % (lib_path, example))
    except DruglibError as e:
        print("demo failed: %s" % e, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
