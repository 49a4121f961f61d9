"""`druglib inspect LIB`: every entry and limit of a library, as a table or JSON."""
import json

from host_tools.library.files import load_library


def configure(p):
    p.add_argument("library", metavar="LIB")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--html", metavar="FILE", help="write the review page (every limit with its rule citation)")
    p.add_argument("--rules", metavar="DIR", action="append", default=None,
                   help="rules folder for the citations (default druglib/; used only if its hash matches)")
    p.add_argument("--trust", metavar="TRUST.json", help="with --html: verify the signatures as the pump does, name the signers")


def _signers(blob):
    try:
        from host_tools.release.signing import describe_signatures
    except ImportError:
        return None
    return describe_signatures(blob)


def _jsonable(lib):
    out = {}
    for k, v in lib.items():
        out[k] = v.hex() if isinstance(v, bytes) else v
    return out


def run(args):
    blob, c, lib = load_library(args.library)
    if getattr(args, "html", None):
        from host_tools.cli.diff import write_library_page
        return write_library_page(args.html, blob, c, lib, args.rules, getattr(args, "trust", None))
    signers = _signers(blob)
    if signers is None:
        from firmware.library.container import ROLE_NAMES
        signers = [{"role": ROLE_NAMES.get(s.role, "unknown(%d)" % s.role), "key_id": s.key_id.hex(), "alg": s.alg}
                   for s in c.signatures]
    if args.json:
        doc = _jsonable(lib)
        doc["bytes"] = len(blob)
        doc["format_version"] = 1
        doc["signatures"] = signers
        print(json.dumps(doc, indent=2, sort_keys=True))
        return 0
    print(render(lib, len(blob), signers))
    return 0


def _vol(milli):
    """600 -> '0.6': a value in thousandths (uL, ng) shown in its main unit (mL, mcg)."""
    if milli % 1000 == 0:
        return "%d" % (milli // 1000)
    return ("%d.%03d" % divmod(milli, 1000)).rstrip("0")


def render(lib, size, signers):
    L = []
    L.append("Library %s  version %d  format v1  %d bytes" % (lib["library_name"], lib["library_version"], size))
    L.append("  rules sha256: %s" % lib["rules_sha256"].hex())
    if signers:
        for s in signers:
            L.append("  signed: %-8s key %s" % (s["role"], s["key_id"]))
    else:
        L.append("  signed: no (unsigned: not installable on a pump)")
    for d in lib["drugs"]:
        L.append("")
        L.append("Drug %s" % d["name"])
        L.append("  Limits")
        for k in sorted(d["limits"]):
            L.append("    %-32s %d" % (k, d["limits"][k]))
        L.append("  Dose levels            fixed        BSA-based        BSA cap")
        for name in ("step", "target"):
            x = d["doses"][name]
            L.append("    %-18s %6s mcg/day %6s mcg/m2/day %6s mcg/day" % (
                name, _vol(x["fixed_ng_day"]), _vol(x["bsa_ng_m2_day"]), _vol(x["bsa_cap_ng_day"])))
        L.append("    restart after adverse event: %s dose" % d["restart_dose"])
        L.append("  Administration    rate        volume infused  preservative  in-line filter")
        for a in d["admin"]:
            L.append("    %4d h        %6s mL/h   %7s mL       %-12s  %s" % (
                a["duration_h"], _vol(a["rate_ul_h"]), _vol(a["vtbi_ul"]), a["preservative"], a["filter"]))
        for ind in d["indications"]:
            L.append("  Indication %s (max %d cycles)" % (ind["name"], ind["max_cycles"]))
            for ph in ind["phases"]:
                L.append("    phase %-14s cycles %d-%d: %d infusion days, %d treatment-free days" % (
                    ph["name"], ph["cycle_from"], ph["cycle_to"], ph["infusion_days"], ph["free_days"]))
            for s in ind["schedule"]:
                L.append("    dose  cycles %d-%d days %2d-%2d: %s" % (
                    s["cycle_from"], s["cycle_to"], s["day_from"], s["day_to"], s["dose"]))
            for h in ind["hospitalization"]:
                L.append("    hospitalization cycles %d-%d days %d-%d" % (
                    h["cycle_from"], h["cycle_to"], h["day_from"], h["day_to"]))
            for p in ind["premedication"]:
                L.append("    premedication cycles %d-%d day %d (%s)" % (
                    p["cycle_from"], p["cycle_to"], p["day"], p["population"]))
    return "\n".join(L)
