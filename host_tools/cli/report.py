"""`druglib report LOG [--json | --html FILE]`: a quality report over a pulled event log.

LOG is the raw log `druglib log --out FILE` saves. The hash chain is verified
first: a log that does not verify is reported as such (exit status 1), never
summarised as if it were whole.
"""
import json
import os

from host_tools import safetext
from host_tools.library.files import read_bytes, write_atomic


def configure(p):
    p.add_argument("log", metavar="LOG", help="raw event log saved by `druglib log --out`")
    out = p.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="machine-readable output")
    out.add_argument("--html", metavar="FILE", help="write the report page (charts as inline SVG)")


def _text(r):
    L = []
    if r["verified"]:
        L.append("log verified: %d records, %d bytes%s" % (r["records"], r["bytes"], (
            "; %d older records had rolled off" % r["rolled_off"]) if r["rolled_off"] else ""))
    else:
        e = r["chain_error"]
        L.append("LOG DOES NOT VERIFY: record %d at offset %d: %s; only the %d records before the break were read"
                 % (e["index"], e["offset"], e["message"], r["records"]))
    for m in r.get("rolloffs", []):  # issue 10 item 3: what each roll-off marker says was dropped
        L.append("  rolled off at #%d: %d records, seq %s..%s: %s" % (
            m["seq"], m["dropped"], m["first"], m["last"], safetext.dumps(m["kinds"])))
    v = r["verdicts"]
    share = "-" if r["share_through_library_pct"] is None else "%.1f%%" % r["share_through_library_pct"]
    L.append("programmings %d: accepted %d, confirm %d, rejected %d; through the library %s"
             % (r["programmings"], v["accept"], v["confirm"], v["reject"], share))
    for title, key in (("hard stops", "hard_stops"), ("soft stops", "soft_stops")):
        L.append("%s: %s" % (title, ", ".join("%s %d" % (safetext.dumps(s["code"]), s["count"]) for s in r[key]) or "none"))
    L.append("overrides: %d" % len(r["overrides"]))
    for o in r["overrides"]:
        L.append("  #%d %s: %s" % (o["seq"], safetext.dumps(o["codes"]), safetext.dumps(o["reasons"])))
    L.append("blocked actions: %d; interruptions: %d" % (len(r["blocked_actions"]), len(r["interruptions"])))
    L.append("library versions seen: %s" % (", ".join(str(x["version"]) for x in r["library_versions"]) or "none"))
    if r["unknown_kinds"]:
        L.append("records of unknown kinds: %s" % ", ".join("%s %d" % (safetext.dumps(u["kind"]), u["count"])
                                                          for u in r["unknown_kinds"]))
    return "\n".join(L)


def run(args):
    from host_tools.views import pages
    from host_tools.views.report import report

    r = report(read_bytes(args.log, "log"))
    if args.json:
        print(safetext.dumps(r, indent=2))  # issue 10 item 5
    elif args.html:
        write_atomic(args.html, pages.report_page(r, os.path.basename(args.log)).encode("utf-8"))
        print("wrote %s: %d records%s" % (args.html, r["records"], "" if r["verified"] else
                                           "; THE LOG DOES NOT VERIFY (the page says where it breaks)"))
    else:
        print(_text(r))
    if not r["verified"]:
        import sys
        print("error: the log's hash chain does not verify at record %d (offset %d): %s"
              % (r["chain_error"]["index"], r["chain_error"]["offset"], r["chain_error"]["message"]), file=sys.stderr)
        return 1
    return 0
