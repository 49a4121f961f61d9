"""Lint: contradictions between structurally valid rules.

`lint(doc, file, lines)` returns (findings, derived). Each finding is one line
"FILE:LINE [key] code: message"; the codes are listed in docs/rules.md. A
dose entry the linter would reject as written must carry a `resolution`
record naming the finding it resolves (the monograph's transcription slip);
all other checks then see the resolved value.
"""
from host_tools.rules.tomlread import format_key

MAX_TOLERANCE_PPM = 100000  # issue 2: the delivered-dose tolerance is +-10% at most


class Findings:
    def __init__(self, file, lines):
        self.file, self.lines, self.items = file, lines, []

    def add(self, node_or_path, code, message):
        path = node_or_path["_path"] if isinstance(node_or_path, dict) else tuple(node_or_path)
        self.items.append("%s:%d [%s] %s: %s" % (self.file, self.lines.line(path), format_key(path), code, message))


def _ranges(items, lo, hi, what, node, fx, code_prefix):
    """Check [a, b] ranges (already sorted) partition lo..hi: no overlap, no gap, right ends."""
    ok = True
    expect = lo
    for (a, b), n in items:
        if a < expect:
            fx.add(n, code_prefix + "-overlap", "%s %d-%d overlaps the previous %s (which ends at %d)"
                   % (what, a, b, what, expect - 1))
            ok = False
        elif a > expect:
            fx.add(n, code_prefix + "-gap", "%s %d-%d leaves a gap: %s not covered"
                   % (what, a, b, _span(what, expect, a - 1)))
            ok = False
        expect = max(expect, b + 1)
    if expect - 1 != hi and items:
        n = items[-1][1]
        if expect - 1 < hi:
            fx.add(n, code_prefix + "-end", "%ss end at %d, not at %d" % (what, expect - 1, hi))
        else:
            fx.add(n, code_prefix + "-end", "%ss run to %d, beyond %d" % (what, expect - 1, hi))
        ok = False
    if not items:
        fx.add(node, code_prefix + "-missing", "no %s given" % what)
        ok = False
    return ok


def _span(what, a, b):
    return "%s %d is" % (what, a) if a == b else "%ss %d-%d are" % (what, a, b)


def entry_findings(band, dose, cap, params):
    """Findings (code, message) on one dose entry taken alone."""
    out = []
    if band == "fixed" and dose.unit != "mcg/day":
        out.append(("fixed-band-bsa-unit", "the weight %s or more band is a FIXED dose (mcg/day) but the dose is %r"
                    % (params["weight_band"]["value"].text, dose.text)))
    if band == "bsa" and dose.unit != "mcg/m2/day":
        out.append(("bsa-band-fixed-unit", "the BSA band is dosed in mcg/m2/day but the dose is %r" % dose.text))
    if band == "fixed" and cap is not None:
        out.append(("fixed-band-cap", "a fixed dose has no BSA cap (max %r)" % cap.text))
    if band == "bsa" and cap is None:
        out.append(("bsa-cap-missing", "a BSA dose needs its cap (max = \"... mcg/day\")"))
    top = params["max_daily_dose"]["value"]
    if band == "fixed" and dose.unit == "mcg/day" and dose.value > top.value:
        out.append(("above-max-daily", "dose %r is above the maximum daily dose %r" % (dose.text, top.text)))
    if cap is not None and cap.value > top.value:
        out.append(("above-max-daily", "cap %r is above the maximum daily dose %r" % (cap.text, top.text)))
    return out


def effective_dose(entry):
    res = entry.get("resolution")
    return res["resolved_dose"] if res else entry["dose"]


def lint(doc, file, lines):
    fx = Findings(file, lines)
    params = doc["parameter"]
    derived = {}
    _lint_parameters(doc, fx)
    levels = _lint_indications(doc, params, fx)
    derived["levels"] = levels
    _lint_restart(doc, levels, fx)
    derived["admin"] = _lint_admin(doc, fx)
    return fx.items, derived


def _lint_parameters(doc, fx):
    p = doc["parameter"]
    v = {k: t["value"].value for k, t in p.items() if not k.startswith("_")}
    if v["dose_tolerance_hard"] > MAX_TOLERANCE_PPM:
        fx.add(p["dose_tolerance_hard"], "tolerance-above-10pct",
               "the hard dose tolerance %s is above 10%% (issue 2: +-10%% at most)" % p["dose_tolerance_hard"]["value"].text)
    if v["dose_tolerance_soft"] > v["dose_tolerance_hard"]:
        fx.add(p["dose_tolerance_soft"], "soft-above-hard", "the soft dose tolerance %s is above the hard one %s"
               % (p["dose_tolerance_soft"]["value"].text, p["dose_tolerance_hard"]["value"].text))
    if v["min_age_confirm"] < v["min_age"]:
        fx.add(p["min_age_confirm"], "soft-above-hard", "the soft age confirmation (%s) is below the hard minimum age (%s)"
               % (p["min_age_confirm"]["value"].text, p["min_age"]["value"].text))
    for lo, hi in (("weight_min", "weight_max"), ("bsa_min", "bsa_max"), ("min_age", "age_max")):
        if v[lo] >= v[hi]:
            fx.add(p[lo], "range-empty", "%s (%s) is not below %s (%s)" % (lo, p[lo]["value"].text, hi, p[hi]["value"].text))
    for name in ("weight_band", "preservative_min_weight", "preservative_hard_min_weight"):
        if not v["weight_min"] < v[name] < v["weight_max"]:
            fx.add(p[name], "outside-plausible", "%s %s is outside the plausible weights" % (name, p[name]["value"].text))
    if v["preservative_hard_min_weight"] > v["preservative_min_weight"]:
        fx.add(p["preservative_hard_min_weight"], "soft-above-hard",
               "the hard preservative weight (%s) is above the soft one (%s)"
               % (p["preservative_hard_min_weight"]["value"].text, p["preservative_min_weight"]["value"].text))
    if not v["min_age"] < v["adult_min_age"] < v["age_max"]:
        fx.add(p["adult_min_age"], "outside-plausible", "adult_min_age is outside the plausible ages")
    _lint_bsa_bands(p, v, fx)


def _lint_bsa_bands(p, v, fx):
    """BSA against weight (issue 8): a soft band inside a hard band, both around 1."""
    if v["height_min"] >= v["height_max"]:
        fx.add(p["height_min"], "range-empty", "height_min (%s) is not below height_max (%s)"
               % (p["height_min"]["value"].text, p["height_max"]["value"].text))
    for soft, hard in (("bsa_weight_under", "bsa_weight_hard_under"), ("bsa_weight_over", "bsa_weight_hard_over")):
        if v[soft] >= v[hard]:
            fx.add(p[soft], "soft-above-hard", "the soft BSA band %s (%s) is not inside the hard one %s (%s)"
                   % (soft, p[soft]["value"].text, hard, p[hard]["value"].text))
    if v["bsa_weight_hard_under"] >= 1000000:
        fx.add(p["bsa_weight_hard_under"], "bsa-band-invalid",
               "a BSA %s below the estimate is not a positive BSA" % p["bsa_weight_hard_under"]["value"].text)


def _pattern(row):
    """What a regimen row says about one of its cycles, comparable across bands/sections."""
    return (row["infusion_day_range"], row["free_day_range"],
            tuple((e["days"], e["level"]) for e in row["dose"]))


def _lint_indications(doc, params, fx):
    level_amounts = {}  # (level, band) -> {amount tuple: first node}
    seen_ids = set()
    for ind in doc["indication"]:
        if ind["id"] in seen_ids:
            fx.add(ind, "duplicate-indication", "indication %r is given twice" % ind["id"])
        seen_ids.add(ind["id"])
        ncyc = ind["max_cycles"]
        phases = sorted(ind["phase"], key=lambda ph: ph["cycles"])
        _ranges([(ph["cycles"], ph) for ph in phases], 1, ncyc, "cycle", ind, fx, "phase-cycle")
        infusion_days = {}
        for ph in phases:
            for c in range(ph["cycles"][0], ph["cycles"][1] + 1):
                infusion_days[c] = ph["infusion_days"]
        groups = {}
        for row in ind["regimen"]:
            groups.setdefault((row["section"], row["band"]), []).append(row)
            _lint_row(row, params, phases, fx, level_amounts)
        per_cycle = {}
        for section in ("adult", "pediatric"):
            for band in ("fixed", "bsa"):
                rows = sorted(groups.get((section, band), []), key=lambda r: r["cycles"])
                if not rows:
                    fx.add(ind, "regimen-missing", "no %s-section regimen for the %s band" % (section, band))
                    continue
                _ranges([(r["cycles"], r) for r in rows], 1, ncyc, "cycle", ind, fx, "cycle")
                for r in rows:
                    for c in range(r["cycles"][0], r["cycles"][1] + 1):
                        per_cycle.setdefault((section, band), {}).setdefault(c, (_pattern(r), r))
        # bands line up (same days and levels), sections agree
        for section in ("adult", "pediatric"):
            _compare(per_cycle, (section, "fixed"), (section, "bsa"), "band-schedule-mismatch", fx)
        for band in ("fixed", "bsa"):
            _compare(per_cycle, ("adult", band), ("pediatric", band), "section-mismatch", fx)
        for kind in ("hospitalization", "premedication"):
            seen = {}
            for h in ind[kind]:
                c0, c1 = h["cycles"]
                days = h["days"] if kind == "hospitalization" else (h["day"], h["day"])
                if c1 > ncyc:
                    fx.add(h, kind + "-outside-cycles", "cycles %d-%d: the indication has %d cycles" % (c0, c1, ncyc))
                    continue
                for c in range(c0, c1 + 1):
                    if c in infusion_days and days[1] > infusion_days[c]:
                        fx.add(h, kind + "-outside-infusion", "day %d of cycle %d is not an infusion day (1-%d)"
                               % (days[1], c, infusion_days[c]))
                        break
                    who = h.get("population", "")
                    for d in range(days[0], days[1] + 1):
                        if (c, d, who) in seen:
                            fx.add(h, kind + "-overlap", "cycle %d day %d is already covered" % (c, d))
                            break
                        seen[(c, d, who)] = h
    return _levels(level_amounts, fx)


def _compare(per_cycle, ka, kb, code, fx):
    a, b = per_cycle.get(ka, {}), per_cycle.get(kb, {})
    reported = set()
    for c in sorted(set(a) & set(b)):
        (pa, ra), (pb, rb) = a[c], b[c]
        if pa != pb and (id(ra), id(rb)) not in reported:
            reported.add((id(ra), id(rb)))
            fx.add(rb, code, "cycle %d: %s %s says %s but %s %s (line %d) says %s"
                   % (c, kb[0], kb[1], _describe(pb), ka[0], ka[1], ra["_line"], _describe(pa)))


def _describe(p):
    inf, free, doses = p
    return "infusion days %d-%d, free days %d-%d, %s" % (
        inf[0], inf[1], free[0], free[1], ", ".join("days %d-%d %s" % (d[0], d[1], lvl) for d, lvl in doses))


def _lint_row(row, params, phases, fx, level_amounts):
    inf0, inf1 = row["infusion_day_range"]
    fr0, fr1 = row["free_day_range"]
    if inf0 != 1:
        fx.add(row["_path"] + ("infusion_day_range",), "infusion-start", "infusion days start at day %d, not day 1" % inf0)
    if fr0 <= inf1 and fr1 >= inf0:
        fx.add(row["_path"] + ("free_day_range",), "free-inside-infusion",
               "treatment-free days %d-%d overlap infusion days %d-%d" % (fr0, fr1, inf0, inf1))
    elif fr0 != inf1 + 1:
        fx.add(row["_path"] + ("free_day_range",), "free-not-after-infusion",
               "treatment-free days %d-%d do not follow infusion day %d" % (fr0, fr1, inf1))
    if fr1 - fr0 + 1 != row["free_interval"].value:
        fx.add(row["_path"] + ("free_interval",), "free-interval-length", "a %s interval on days %d-%d is %d days"
               % (row["free_interval"].text, fr0, fr1, fr1 - fr0 + 1))
    # the phase this line belongs to
    c0, c1 = row["cycles"]
    ph = [p for p in phases if p["cycles"][0] <= c0 and c1 <= p["cycles"][1]]
    if not ph or ph[0]["name"] != row["phase"]:
        fx.add(row["_path"] + ("phase",), "row-phase-mismatch", "cycles %d-%d are not inside the %s phase%s"
               % (c0, c1, row["phase"], " (they are %s)" % ph[0]["name"] if ph else ""))
    elif ph[0]["infusion_days"] != inf1 - inf0 + 1 or ph[0]["free_days"] != row["free_interval"].value:
        fx.add(row, "row-phase-days", "the %s phase has %d infusion and %d free days; this line says %d and %s"
               % (ph[0]["name"], ph[0]["infusion_days"], ph[0]["free_days"], inf1 - inf0 + 1, row["free_interval"].text))
    # dose entries: partition of the infusion days, step before target, units and caps
    doses = sorted(row["dose"], key=lambda e: e["days"])
    if [id(e) for e in doses] != [id(e) for e in row["dose"]]:
        fx.add(row, "dose-order", "dose entries are not in day order")
    for e in doses:
        if e["days"][1] > inf1:
            fx.add(e["_path"] + ("days",), "day-outside-infusion", "days %d-%d run past infusion day %d"
                   % (e["days"][0], e["days"][1], inf1))
    _ranges([(e["days"], e) for e in doses], inf0, inf1, "day", row, fx, "day")
    levels = [e["level"] for e in doses]
    if "step" in levels and "target" in levels and levels.index("target") < len(levels) - 1 - levels[::-1].index("step"):
        fx.add(row, "level-order", "a step dose comes after the target dose (%s)" % ", ".join(levels))
    for e in doses:
        _lint_entry(row, e, params, fx)
        dose, cap = effective_dose(e), e.get("max")
        amount = (dose.value, cap.value if cap else None)
        level_amounts.setdefault((e["level"], row["band"]), {}).setdefault(amount, e)


def _lint_entry(row, e, params, fx):
    as_written = entry_findings(row["band"], e["dose"], e.get("max"), params)
    res = e.get("resolution")
    if res is None:
        for code, msg in as_written:
            fx.add(e["_path"] + ("dose",), code, msg + " (if the source is wrong, add a resolution record)")
        return
    rp = res["_path"]
    codes = [code for code, _ in as_written]
    if not codes:
        fx.add(rp, "resolution-not-needed", "dose %r passes as written: remove the resolution" % e["dose"].text)
    elif res["finding"] not in codes:
        fx.add(rp + ("finding",), "resolution-finding-mismatch", "the dose as written is rejected for %s, not %r"
               % (", ".join(codes), res["finding"]))
    for code in codes:
        if code != res["finding"]:
            fx.add(e["_path"] + ("dose",), code, dict(as_written)[code])
    if res["as_written"] not in row["as_written"]:
        fx.add(rp + ("as_written",), "resolution-as-written-mismatch",
               "%r is not part of the line as written" % res["as_written"])
    for code, msg in entry_findings(row["band"], res["resolved_dose"], e.get("max"), params):
        fx.add(rp + ("resolved_dose",), code, "resolved dose: " + msg)


def _levels(level_amounts, fx):
    levels = {}
    for (level, band), amounts in sorted(level_amounts.items()):
        if len(amounts) > 1:
            nodes = list(amounts.values())
            fx.add(nodes[-1], "level-inconsistent", "the %s dose of the %s band differs between lines: %s"
                   % (level, band, "; ".join("%s at line %d" % (_amount_text(n), n["_line"]) for n in nodes)))
        (value, cap), node = next(iter(amounts.items()))
        entry = levels.setdefault(level, {"_node": node})
        if band == "fixed":
            entry["fixed_ng_day"] = value
        else:
            entry["bsa_ng_m2_day"], entry["bsa_cap_ng_day"] = value, cap
    for level, entry in sorted(levels.items()):
        if "fixed_ng_day" not in entry or "bsa_ng_m2_day" not in entry:
            fx.add(entry["_node"], "level-missing-band", "the %s dose is given for one weight band only" % level)
        elif entry["bsa_cap_ng_day"] is not None and entry["bsa_cap_ng_day"] != entry["fixed_ng_day"]:
            fx.add(entry["_node"], "bsa-cap-mismatch", "the %s BSA cap (%d ng/day) is %s the fixed dose (%d ng/day)"
                   % (level, entry["bsa_cap_ng_day"],
                      "below" if entry["bsa_cap_ng_day"] < entry["fixed_ng_day"] else "above", entry["fixed_ng_day"]))
    if "step" in levels and "target" in levels:
        s, t = levels["step"], levels["target"]
        for k in ("fixed_ng_day", "bsa_ng_m2_day", "bsa_cap_ng_day"):
            if s.get(k) is not None and t.get(k) is not None and s[k] >= t[k]:
                fx.add(s["_node"], "step-above-target", "the step dose (%s %d) is not below the target dose (%d)"
                       % (k, s[k], t[k]))
    return {k: {kk: vv for kk, vv in v.items() if not kk.startswith("_")} for k, v in levels.items()}


def _amount_text(e):
    d = effective_dose(e)
    return d.text + (" max " + e["max"].text if e.get("max") else "")


def _lint_restart(doc, levels, fx):
    r = doc["restart"]
    lv = levels.get(r["level"])
    if lv is None:
        fx.add(r["_path"] + ("level",), "restart-level-missing", "no regimen uses the %r dose" % r["level"])
    else:
        for key, q in (("fixed_ng_day", r["fixed_dose"]), ("bsa_ng_m2_day", r["bsa_dose"]), ("bsa_cap_ng_day", r["bsa_max"])):
            if lv.get(key) != q.value:
                fx.add(r, "restart-dose-mismatch", "restart %s %r differs from the %s dose level (%s)"
                       % (key, q.text, r["level"], lv.get(key)))
    ids = [ind["id"] for ind in doc["indication"]]
    if sorted(r["indications"]) != sorted(ids):
        fx.add(r["_path"] + ("indications",), "restart-indications",
               "the restart step dose applies in every indication (label-facts.md): list %s" % ", ".join(ids))
    step_days = doc["parameter"]["restart_step_duration"]["value"]
    for m in doc["dose_modification"]:
        band = m.get("band")
        for key, level in (("restart_dose", r["level"]), ("escalate_dose", "target")):
            q = m.get(key)
            if q is None:
                continue
            want_unit, lkey = ("mcg/day", "fixed_ng_day") if band == "fixed" else ("mcg/m2/day", "bsa_ng_m2_day")
            if band is None or q.unit != want_unit or levels.get(level, {}).get(lkey) != q.value:
                fx.add(m["_path"] + (key,), "dose-modification-mismatch", "%s %r is not the %s dose of the %s band"
                       % (key, q.text, level, band or "(no band given)"))
        if "escalate_after" in m and m["escalate_after"].value != step_days.value:
            fx.add(m["_path"] + ("escalate_after",), "dose-modification-mismatch", "escalation after %s, but "
                   "parameter.restart_step_duration is %s" % (m["escalate_after"].text, step_days.text))


def _lint_admin(doc, fx):
    adm = doc["administration"]
    options = {}
    for o in adm["option"]:
        if o["id"] in options:
            fx.add(o, "admin-duplicate", "option %r is given twice" % o["id"])
        if any(x["duration"].value == o["duration"].value for x in options.values()):
            fx.add(o, "admin-duplicate", "two options have the duration %s" % o["duration"].text)
        options[o["id"]] = o
        if o["rate"].value * o["duration"].value != o["volume_infused"].value:
            fx.add(o["_path"] + ("volume_infused",), "vtbi-mismatch", "volume infused %s is not rate x duration "
                   "(%s x %s = %d uL)" % (o["volume_infused"].text, o["rate"].text, o["duration"].text,
                                         o["rate"].value * o["duration"].value))
    resolved = {oid: {} for oid in options}
    for kind in ("preservative", "filter"):
        for rule in adm[kind + "_rule"]:
            for k, oid in enumerate(rule["options"]):
                if oid not in options:
                    fx.add(rule["_path"] + ("options", k), "unknown-option", "no administration option %r" % oid)
                    continue
                prev = resolved[oid].setdefault(kind, rule["rule"])
                if prev != rule["rule"]:
                    fx.add(rule, kind + "-conflict", "%s is both %s and %s for option %r" % (kind, prev, rule["rule"], oid))
        for oid, o in options.items():
            if kind not in resolved[oid]:
                fx.add(o, kind + "-missing", "no %s rule for option %r (required, forbidden or allowed)" % (kind, oid))
    # a bag's room-temperature storage time includes its infusion time
    for oid, o in options.items():
        pres = resolved[oid].get("preservative")
        if pres not in ("required", "forbidden"):
            continue
        limits = [s for s in doc["storage"] if s.get("bag_preservative") is (pres == "required")
                  and s["condition"].startswith("room temperature")]
        if not limits:
            fx.add(o, "storage-missing", "no room-temperature storage limit for the bag of option %r" % oid)
        elif min(s["limit"].value for s in limits) < o["duration"].value:
            fx.add(o, "storage-shorter-than-infusion", "the bag of option %r runs %s but may be kept only %s"
                   % (oid, o["duration"].text, limits[0]["limit"].text))
    return resolved
