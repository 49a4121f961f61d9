"""A decoded library as the approver reads it: one row per limit, with its
value and unit, its enforcement, and the rule citation.

The library bytes hold values, not citations. Citations come from a rules
folder (druglib/) whose hash equals the library's recorded rules_sha256, so a
citation is never shown for rules the library was not built from.
"""
import hashlib
import os

from host_tools.errors import DruglibError
from host_tools.rules.schema import PARAMETERS

SECTIONS = ("Limits", "Dose levels", "Administration", "Indications")


def _milli(v):
    if v % 1000 == 0:
        return "%d" % (v // 1000)
    return ("%d.%03d" % divmod(v, 1000)).rstrip("0")


def limit_text(key, v):
    """Model value with its unit, from the unit in the key's name."""
    if key.endswith("_required"):
        return "required" if v else "not required"
    for suffix, fmt in (("_ppm", None), ("_cm2", None), ("_g", "%s kg"), ("_ng", "%s mcg/day"), ("_ul", "%s mL"),
                        ("_days", "%d days"), ("_hours", "%d h")):
        if key.endswith(suffix):
            if suffix == "_ppm":
                return ("%d.%04d" % divmod(v, 10000)).rstrip("0").rstrip(".") + " %"
            if suffix == "_cm2":
                return ("%d.%04d" % divmod(v, 10000)).rstrip("0").rstrip(".") + " m2"
            return fmt % (_milli(v) if "%s" in fmt else v)
    return str(v)


def _row(rid, section, name, value, enforcement="", cite=(), note=""):
    return {"id": rid, "section": section, "name": name, "value": value, "enforcement": enforcement,
            "cite": list(cite), "note": note or ""}


def _admin_id(a):
    h = a["duration_h"]
    return "%dd" % (h // 24) if h >= 168 and h % 24 == 0 else "%dh" % h


def rows(lib, cites=None):
    """Every limit of the library as rows; `cites` (from citations()) adds the rule citations."""
    cites = cites or {}
    by_key = {model_key: (name, enf) for name, (_kind, enf, model_key) in PARAMETERS.items()}
    out = []
    for d in lib["drugs"]:
        for k in sorted(d["limits"]):
            name, enf = by_key.get(k, (k, "hard" if k == "dehp_free_required" else ""))
            c = cites.get("limit/" + k, {})
            out.append(_row("limit/" + k, "Limits", name, limit_text(k, d["limits"][k]),
                            c.get("enforcement", enf), c.get("cite", ()), c.get("note")))
        for level in sorted(d["doses"]):
            x = d["doses"][level]
            fixed = cites.get("dose/%s/fixed" % level, {}).get("cite", ())
            bsa = cites.get("dose/%s/bsa" % level, {}).get("cite", ())
            out.append(_row("dose/%s/fixed" % level, "Dose levels", "%s dose, 45 kg or more" % level,
                            "%s mcg/day" % _milli(x["fixed_ng_day"]), "hard", fixed))
            out.append(_row("dose/%s/bsa" % level, "Dose levels", "%s dose, by BSA (under 45 kg)" % level,
                            "%s mcg/m2/day" % _milli(x["bsa_ng_m2_day"]), "hard", bsa))
            out.append(_row("dose/%s/cap" % level, "Dose levels", "%s dose, BSA cap" % level,
                            "%s mcg/day" % _milli(x["bsa_cap_ng_day"]), "hard", bsa))
        c = cites.get("restart", {})
        out.append(_row("dose/restart", "Dose levels", "restart after an adverse event", "%s dose" % d["restart_dose"],
                        "hard", c.get("cite", ()), c.get("note")))
        for a in d["admin"]:
            i = _admin_id(a)
            c = cites.get("admin/" + i, {})
            out.append(_row("admin/%s/rate" % i, "Administration", "%s bag: rate" % i, "%s mL/h" % _milli(a["rate_ul_h"]),
                            "hard", c.get("cite", ()), c.get("note")))
            out.append(_row("admin/%s/vtbi" % i, "Administration", "%s bag: volume to be infused" % i,
                            "%s mL" % _milli(a["vtbi_ul"]), "hard", c.get("cite", ())))
            for what in ("preservative", "filter"):
                cc = cites.get("admin/%s/%s" % (i, what), {})
                out.append(_row("admin/%s/%s" % (i, what), "Administration", "%s bag: %s" % (i, what), a[what],
                                "hard", cc.get("cite", ()), cc.get("note")))
        for ind in d["indications"]:
            n = ind["name"]
            c = cites.get("ind/" + n, {})
            out.append(_row("ind/%s/max_cycles" % n, "Indications", "%s: cycles at most" % n, str(ind["max_cycles"]),
                            "hard", c.get("cite", ())))
            for ph in ind["phases"]:
                cyc = "%d-%d" % (ph["cycle_from"], ph["cycle_to"])
                c = cites.get("ind/%s/phase/%s" % (n, ph["name"]), {})
                out.append(_row("ind/%s/phase/%s" % (n, ph["name"]), "Indications",
                                "%s: %s phase" % (n, ph["name"]),
                                "cycles %s: %d infusion days, %d treatment-free days"
                                % (cyc, ph["infusion_days"], ph["free_days"]), "hard", c.get("cite", ()), c.get("note")))
            for s in ind["schedule"]:
                rid = "ind/%s/dose/c%d-%d/d%d-%d" % (n, s["cycle_from"], s["cycle_to"], s["day_from"], s["day_to"])
                c = cites.get(rid, {})
                out.append(_row(rid, "Indications", "%s: cycles %d-%d days %d-%d" % (
                    n, s["cycle_from"], s["cycle_to"], s["day_from"], s["day_to"]), "%s dose" % s["dose"], "hard",
                    c.get("cite", ())))
            for h in ind["hospitalization"]:
                rid = "ind/%s/hospital/c%d-%d" % (n, h["cycle_from"], h["cycle_to"])
                c = cites.get(rid, {})
                out.append(_row(rid, "Indications", "%s: hospitalization, cycles %d-%d" % (n, h["cycle_from"], h["cycle_to"]),
                                "days %d-%d" % (h["day_from"], h["day_to"]), "advisory", c.get("cite", ())))
            for p in ind["premedication"]:
                rid = "ind/%s/premed/%s/c%d-%d/d%d" % (n, p["population"], p["cycle_from"], p["cycle_to"], p["day"])
                c = cites.get(rid, {})
                out.append(_row(rid, "Indications", "%s: premedication (%s)" % (n, p["population"]),
                                "cycles %d-%d, day %d" % (p["cycle_from"], p["cycle_to"], p["day"]), "advisory",
                                c.get("cite", ()), c.get("note")))
    return out


def _list(c):
    return [c] if isinstance(c, str) else list(c)


def _add(out, key, node, extra=()):
    ent = out.setdefault(key, {"cite": [], "note": node.get("note") or ""})
    for c in _list(node.get("cite", [])) + list(extra):
        if c not in ent["cite"]:
            ent["cite"].append(c)
    if node.get("enforcement"):
        ent["enforcement"] = node["enforcement"]


def citations(rules_dir):
    """{row id: {"cite": [...], "note", "enforcement"}} from a rules folder."""
    from host_tools.rules.compiler import load_document

    _man, doc, _ = load_document(rules_dir)
    out = {}
    for name, (_kind, _enf, model_key) in PARAMETERS.items():
        _add(out, "limit/" + model_key, doc["parameter"][name])
    _add(out, "limit/dehp_free_required", doc["line"]["dehp_free"])
    _add(out, "restart", doc["restart"])
    ids = {}
    for o in doc["administration"]["option"]:
        h = o["duration"].value
        ids[o["id"]] = "%dd" % (h // 24) if h >= 168 and h % 24 == 0 else "%dh" % h
        _add(out, "admin/" + ids[o["id"]], o)
    for what, key in (("preservative", "preservative_rule"), ("filter", "filter_rule")):
        for r in doc["administration"][key]:
            for oid in r["options"]:
                if oid in ids:
                    _add(out, "admin/%s/%s" % (ids[oid], what), r)
    for ind in doc["indication"]:
        n = ind["id"]
        _add(out, "ind/" + n, ind)
        for ph in ind["phase"]:
            _add(out, "ind/%s/phase/%s" % (n, ph["name"]), ph)
        for r in ind["regimen"]:
            for e in r["dose"]:
                if r["section"] == "adult":  # the pediatric lines repeat them (the linter proves it)
                    _add(out, "dose/%s/%s" % (e["level"], r["band"]), r)
                for cyc in range(r["cycles"][0], r["cycles"][1] + 1 if r["section"] == "adult" else 0):
                    out.setdefault("_regimen", []).append((n, cyc, e["days"], r))
        for h in ind["hospitalization"]:
            _add(out, "ind/%s/hospital/c%d-%d" % (n, h["cycles"][0], h["cycles"][1]), h)
        for p in ind["premedication"]:
            _add(out, "ind/%s/premed/%s/c%d-%d/d%d" % (n, p["population"], p["cycles"][0], p["cycles"][1], p["day"]), p)
    return out


def _schedule_cites(lib, cites):
    """Cite each merged schedule row with the regimen lines that cover it."""
    for d in lib["drugs"]:
        for ind in d["indications"]:
            for s in ind["schedule"]:
                rid = "ind/%s/dose/c%d-%d/d%d-%d" % (ind["name"], s["cycle_from"], s["cycle_to"], s["day_from"], s["day_to"])
                for n, cyc, days, r in cites.get("_regimen", []):
                    if n == ind["name"] and s["cycle_from"] <= cyc <= s["cycle_to"] and tuple(days) == (s["day_from"], s["day_to"]):
                        _add(cites, rid, {"cite": r["cite"]})


def release_check(blob, trust):
    """The pump's own release verifier on the file (no installed version):
    {"verified": bool, "code", "message"}; signer names from the trust store."""
    from firmware.errors import PumpError
    from firmware.release import verify as release

    try:
        rel = release.verify_blob(blob, trust, None)
        return {"verified": True, "code": "", "message": "released, version %d" % rel.version}
    except PumpError as e:
        return {"verified": False, "code": e.code, "message": e.message}


def document(blob, container, lib, rules_dirs=(), trust=None):
    """Everything a review page or a diff needs about one library."""
    from host_tools.release.signing import describe_signatures
    from host_tools.rules.compiler import rules_sha256

    cites, source = None, None
    want = lib["rules_sha256"]
    for rd in rules_dirs:
        try:
            if os.path.isdir(rd) and rules_sha256(rd) == want:
                rel = os.path.relpath(rd)
                cites, source = citations(rd), (rd if rel.startswith("..") else rel)
                break
        except DruglibError:
            continue
    if cites is not None:
        _schedule_cites(lib, cites)
    signers = describe_signatures(blob)
    if trust is not None:
        for sg in signers:
            k = trust.lookup(bytes.fromhex(sg["key_id"]))
            sg["name"] = (k.name or "(no name)") if k is not None else "NOT IN THE TRUST STORE"
    return {
        "release": release_check(blob, trust) if trust is not None else None,
        "name": lib["library_name"], "version": lib["library_version"], "bytes": len(blob),
        "sha256": hashlib.sha256(blob).hexdigest(), "rules_sha256": want.hex(),
        "signers": signers, "rows": rows(lib, cites), "cited_from": source,
        "drugs": [d["name"] for d in lib["drugs"]],
    }
