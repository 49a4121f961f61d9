"""Quality report over a pump's event log (the raw bytes `druglib log --out` saves).

The chain is verified with the firmware's own walker (firmware/store/logrec.py)
first; a log that does not verify is reported as such, with where it breaks,
and nothing after the break is read. Every string in a record is untrusted
(the pages escape it).

Record kinds are one table (RECORD_KINDS): kind name -> handler. A new kind of
record (issue 9's therapy records) is one entry there; a kind without an
entry is still counted and listed, never dropped silently.
"""
from firmware.check.codes import CODES
from firmware.errors import LogCorruptError
from firmware.store import logrec

# Actions the pump always refuses on a blinatumomab line (DESIGN.md, "The pump
# through a whole infusion"): shown as blocked actions when a record says so.
BLOCKED_ACTIONS = ("flush", "bolus", "set_rate", "prime")


def read_log(data):
    """-> (records [(seq, kind, fields)], verification dict). Never raises on bad bytes."""
    out = []
    bad = []

    def visit(r):
        if bad:
            return
        try:
            out.append((r.seq, logrec.KIND_NAMES.get(r.kind, "kind-%d" % r.kind), r.fields()))
        except LogCorruptError as e:
            bad.append((len(out), r.offset, e.message if hasattr(e, "message") else str(e)))

    w = logrec.Walk(logrec.bytes_at(data), len(data), visit)
    w.run()
    err = None
    if bad:
        err = {"index": bad[0][0], "offset": bad[0][1], "message": bad[0][2]}
    elif w.error is not None:
        err = {"index": w.error[0], "offset": w.error[1], "message": w.error[2]}
    return out, {"verified": err is None, "error": err, "bytes": len(data), "records_read": len(out)}


def _code_count(item):
    """'CODE' -> (CODE, 1); 'CODE*40' -> (CODE, 40); '+3 more' -> (None, 3)."""
    if item.startswith("+") and item.endswith(" more"):
        try:
            return None, int(item[1:-5])
        except ValueError:
            return None, 1
    code, star, n = item.partition("*")
    return code, int(n) if star and n.isdigit() else 1


def severity(code):
    if code in CODES:
        return CODES[code][0]
    return "hard"  # device error codes (LIB_*, SIG_*, ...) and unknown codes: the safe reading


class Summary:
    def __init__(self):
        self.records = 0
        self.kinds = {}
        self.checks = 0
        self.verdicts = {"accept": 0, "confirm": 0, "reject": 0}
        self.by_severity = {"hard": {}, "soft": {}, "advisory": {}}
        self.through_library = 0
        self.overrides = []
        self.blocked = []
        self.interruptions = []
        self.versions = []       # [{"version", "seq", "how"}] in order first seen
        self.installs = []
        self.rejected_installs = []
        self.faults = []
        self.rolled_off = 0
        self.rolloffs = []       # markers: {"seq", "first", "last", "dropped", "kinds"} (issue 10 item 3)
        self.unknown = {}
        self.events = []         # timeline: {"x", "lane", "cls", "title"}
        self.drugs = {}          # drug name as entered -> [programmings, rejected, unknown to the library]
        self.first_seq = None
        self.last_seq = None

    def version_seen(self, version, seq, how):
        if version and not any(v["version"] == version for v in self.versions):
            self.versions.append({"version": version, "seq": seq, "how": how})

    def count(self, sev, code, n=1):
        table = self.by_severity.setdefault(sev, {})
        table[code] = table.get(code, 0) + n

    def event(self, seq, fields, lane, cls, title):
        x = fields.get("clock", fields.get("t", seq))
        self.events.append({"x": x if isinstance(x, int) else seq, "lane": lane, "cls": cls, "title": title})


def _check(s, seq, f):
    s.checks += 1
    verdict = f.get("verdict", "")
    if verdict in s.verdicts:
        s.verdicts[verdict] += 1
    codes = f.get("codes", [])
    d = s.drugs.setdefault(str(f.get("drug", "")), [0, 0, 0])
    d[0] += 1
    d[1] += verdict == "reject"
    d[2] += "UNKNOWN_DRUG" in codes
    if "NO_LIBRARY" not in codes:
        s.through_library += 1
    for item in codes:
        code, n = _code_count(item)
        if code is None:
            s.count("hard", "(codes cut from the record)", n)
        else:
            s.count(severity(code), code, n)
    s.event(seq, f, "programming", verdict or "reject", "#%d check %s: %s" % (seq, verdict, ", ".join(codes) or "-"))


def _override(s, seq, f):
    s.overrides.append({"seq": seq, "codes": list(f.get("codes", [])), "reasons": list(f.get("reasons", []))})
    s.event(seq, f, "override", "confirm", "#%d override %s" % (seq, ", ".join(f.get("codes", []))))


def _install(s, seq, f):
    s.installs.append({"seq": seq, "version": f.get("version"), "previous": f.get("previous"),
                       "status": f.get("status", "")})
    s.version_seen(f.get("version"), seq, "installed")
    s.event(seq, f, "library", "accept", "#%d install version %s" % (seq, f.get("version")))


def _install_rejected(s, seq, f):
    s.rejected_installs.append({"seq": seq, "version": f.get("version"), "code": f.get("code", ""),
                                "why": f.get("why", "")})
    s.event(seq, f, "library", "reject", "#%d install of version %s refused: %s" % (seq, f.get("version"), f.get("code")))


def _boot(s, seq, f):
    s.version_seen(f.get("version"), seq, "active at boot")
    s.event(seq, f, "library", "info", "#%d boot: %s version %s" % (seq, f.get("state"), f.get("version")))


def _fault(s, seq, f, what):
    s.faults.append({"seq": seq, "what": what, "code": f.get("code", ""), "why": f.get("why", "")})
    s.event(seq, f, "library", "reject", "#%d %s %s" % (seq, what, f.get("code", "")))


def _rolloff(s, seq, f):
    n = f.get("dropped", 0) if isinstance(f.get("dropped"), int) else 0
    s.rolled_off += n
    s.rolloffs.append({"seq": seq, "first": f.get("first"), "last": f.get("last", seq), "dropped": n,
                       "kinds": f.get("kinds", [])})
    s.event(seq, f, "library", "info", "#%d rolled off: %d records (%s)" % (seq, n, ",".join(f.get("kinds", []))))


def _therapy(s, seq, f):
    """A step of the infusion (issue 9, DESIGN.md 'The pump through a whole
    infusion': action, result, codes, state, clock). Adapt this one entry to
    the record issue 9 defines."""
    action = str(f.get("action", ""))
    result = str(f.get("result", ""))
    if action in BLOCKED_ACTIONS and result == "refused":
        s.blocked.append({"seq": seq, "action": action, "codes": list(f.get("codes", []))})
        s.event(seq, f, "therapy", "reject", "#%d %s refused" % (seq, action))
    elif action == "pause" and result == "ok":
        s.interruptions.append({"seq": seq, "clock": f.get("clock")})
        s.event(seq, f, "therapy", "confirm", "#%d paused" % seq)
    else:
        s.event(seq, f, "therapy", "info", "#%d %s %s" % (seq, action, result))


RECORD_KINDS = {
    "check": ("Programmings checked", _check),
    "override": ("Soft stops overridden", _override),
    "install": ("Libraries installed", _install),
    "install-rejected": ("Installs refused", _install_rejected),
    "boot": ("Boots", _boot),
    "selftest-fail": ("Self-test failures", lambda s, q, f: _fault(s, q, f, "self-test failed")),
    "log-repair": ("Log repairs", lambda s, q, f: _fault(s, q, f, "log repaired")),
    "rolloff": ("Older records rolled off", _rolloff),
    "therapy": ("Infusion steps", _therapy),
}


def summarise(records):
    s = Summary()
    for seq, kind, fields in records:
        s.records += 1
        s.kinds[kind] = s.kinds.get(kind, 0) + 1
        s.first_seq = seq if s.first_seq is None else s.first_seq
        s.last_seq = seq
        entry = RECORD_KINDS.get(kind)
        if entry is None:
            s.unknown[kind] = s.unknown.get(kind, 0) + 1
            continue
        entry[1](s, seq, fields)
    return s


def report(data):
    """The whole report as plain data (what --json prints and the page shows)."""
    records, ver = read_log(data)
    s = summarise(records)
    share = None if s.checks == 0 else round(100.0 * s.through_library / s.checks, 1)

    def ranked(d):
        return [{"code": k, "count": v} for k, v in sorted(d.items(), key=lambda kv: (-kv[1], kv[0]))]

    return {
        "verified": ver["verified"], "chain_error": ver["error"], "bytes": ver["bytes"],
        "records": s.records, "first_seq": s.first_seq, "last_seq": s.last_seq, "rolled_off": s.rolled_off,
        "rolloffs": s.rolloffs,
        "kinds": [{"kind": k, "label": RECORD_KINDS.get(k, ("unknown record kind",))[0], "count": n}
                  for k, n in sorted(s.kinds.items())],
        "programmings": s.checks, "verdicts": s.verdicts,
        "through_library": s.through_library, "share_through_library_pct": share,
        "hard_stops": ranked(s.by_severity.get("hard", {})), "soft_stops": ranked(s.by_severity.get("soft", {})),
        "advisories": ranked(s.by_severity.get("advisory", {})),
        "overrides": s.overrides, "blocked_actions": s.blocked, "interruptions": s.interruptions,
        "library_versions": s.versions, "installs": s.installs, "installs_refused": s.rejected_installs,
        "faults": s.faults, "unknown_kinds": [{"kind": k, "count": n} for k, n in sorted(s.unknown.items())],
        "drugs": [{"drug": k, "count": v[0], "rejected": v[1], "in_library": v[2] < v[0]}
                  for k, v in sorted(s.drugs.items(), key=lambda kv: -kv[1][0])],
        "events": s.events,
    }
