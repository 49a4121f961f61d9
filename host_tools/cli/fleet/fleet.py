"""`druglib fleet`: every pump of the fleet, its ward and version, who is
outdated, offline or refused, how long since the release, and the share of
the fleet on the newest library (docs/fleet.md, "Fleet view").

    druglib fleet --broker mqtt://fleet-view@HOST [--trust TRUST.json] [--json | --html FILE]

Reads the retained messages under druglib/v1/# and prints a table (or one
JSON document, or a self-contained HTML page). `--trust` also runs the
pump's verification on the library now on the broker.
"""
import json

from host_tools import safetext
from host_tools.errors import UsageError
from host_tools.fleet import mqtt, topics, view
from host_tools.fleet.page import age, render
from host_tools.library.files import write_atomic
from host_tools.release import keys


def configure(p):
    mqtt.add_options(p)
    p.add_argument("--trust", metavar="TRUST.json", help="also verify the library on the broker as a pump would")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--json", action="store_true", help="machine-readable output")
    g.add_argument("--html", metavar="FILE", help="write a self-contained HTML page")
    p.add_argument("--wait", type=float, default=0.5, metavar="S",
                   help="seconds of silence that end the broker's retained messages (default 0.5)")


def _table(r):
    out = []
    rel = r["release"]
    if rel:
        when = " published %s (%s ago)" % (rel["published_at"], age(rel["age_s"])) if rel["published_at"] else ""
        out.append("release on the broker: %s version %s, sha256 %s%s%s" % (
            rel["library"] or "library", rel["version"], rel["sha256"][:16], when,
            "; trust store: %s" % rel["verdict"] if rel["verdict"] else ""))
    else:
        out.append("release on the broker: none")
    s = r["summary"]
    share = "%.0f %%" % (100 * s["share_on_newest"]) if s["share_on_newest"] is not None else "-"
    out.append("newest library: version %s; %s of the fleet on it (%d of %d pumps); outdated %d, refused %d, "
               "offline %d; gateways %d (%d offline)" % (r["newest"]["version"], share, s["on_newest"], s["pumps"],
                                                         s["outdated"], s["refused"], s["offline"], s["gateways"],
                                                         s["gateways_offline"]))
    for w in r["warnings"]:
        out.append("warning: " + w)
    rows = [("PUMP", "WARD", "GATEWAY", "VERSION", "STATUS", "DETAIL", "LAST SEEN")]
    for p in r["pumps"]:
        detail = p["code"] or p["offline_reason"] or ""
        lr = p["last_result"]
        if not detail and lr and lr.get("outcome") == "failed":
            detail = "last push failed: %s" % lr.get("code")
        rows.append((p["pump_id"] or "(never answered) " + (p["port"] or ""), p["ward"], p["gateway"] or "",
                     str(p["version"] or "-"), p["status"], detail,
                     "%s ago" % age(p["last_seen_age_s"]) if p["last_seen_age_s"] is not None else "never"))
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        out.append("  ".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip())
    return "\n".join(out)


def run(args):
    spec = mqtt.spec_from_args(args)
    if not 0.05 <= args.wait <= 60:
        raise UsageError("--wait must be from 0.05 to 60 s")
    trust = keys.read_trust(args.trust)[0] if args.trust else None
    s = mqtt.Session(spec, mqtt.client_id("fleet"))
    try:
        messages = s.retained([topics.ALL], quiet=args.wait)
    finally:
        s.close()
    report = view.build(messages, trust=trust, broker=str(spec))
    if args.json:
        print(safetext.dumps(report, indent=2, sort_keys=True))  # issue 10 item 5
    elif args.html:
        write_atomic(args.html, render(report).encode("utf-8"))
        print("wrote %s: %d pumps, %s on the newest library" % (
            args.html, report["summary"]["pumps"],
            "%.0f %%" % (100 * report["summary"]["share_on_newest"]) if report["summary"]["pumps"] else "none"))
    else:
        print(_table(safetext.deep(report)))
    return 0
