# The rate checker: one programming against the active library
# (DESIGN.md, "Contract: checking a programming"). Pure core: values in,
# result out; it never raises (a checker fault becomes a reject).
#
# Arithmetic is exact and integer-only (DESIGN.md, principle 1): request
# quantities are exact decimals (mantissa, exp10); library limits are integers
# with the unit in the name; comparisons cross-multiply.
from firmware.check import codes
from firmware.check.decimals import cmp_scaled, fixed_text, milli_text, to_text
from firmware.library.body import phase_of
from firmware.check.request import Reader


class Findings:
    def __init__(self):
        self.items = []  # [code, severity, message]

    def add(self, code, detail=""):
        msg = codes.text(code)
        if detail:
            msg = msg + " (" + detail + ")"
        self.items.append([code, codes.severity(code), msg])

    def has(self, code):
        for it in self.items:
            if it[0] == code:
                return True
        return False


class Result:
    def __init__(self, verdict, findings):
        self.verdict = verdict
        self.findings = findings  # list of (code, severity, message)


def check(lib, request):
    """Check one parsed request (dict from jsontext.loads) against a decoded library."""
    f = Findings()
    try:
        overrides = _check(lib, request, f)
    except Exception as e:  # fail safe: never crash, never accept on a fault
        f.add("REQ_MALFORMED", "internal check fault: %s" % type(e).__name__)
        overrides = []
    return _verdict(f, overrides or [])


def _verdict(f, overrides):
    hard = False
    pending = False
    crossed = []
    for code, sev, _ in f.items:
        if sev == codes.HARD:
            hard = True
        elif sev == codes.SOFT:
            crossed.append(code)
            if code not in overrides:
                pending = True
    for code in overrides:
        if code not in crossed:
            f.add("OVERRIDE_NOT_APPLICABLE", code)
    verdict = "reject" if hard else ("confirm" if pending else "accept")
    return Result(verdict, [tuple(it) for it in f.items])


def _check(lib, req, f):
    if not isinstance(req, dict):
        f.add("REQ_MALFORMED", "a programming must be a JSON object")
        return []
    r = Reader(req, f)
    if lib is None:
        f.add("NO_LIBRARY")
        return []
    name = r.string("drug")
    if name is None:
        return []
    drug = None
    for d in lib["drugs"]:
        if d["name"] == name:
            drug = d
    if drug is None:
        f.add("UNKNOWN_DRUG", "%r" % name)
        return []
    lim = drug["limits"]
    for k in r.unknown_fields():
        f.add("FIELD_IGNORED", k)
    overrides = r.string_list("overrides")

    p = _Programming(r, drug)
    _patient(p, lim, f)
    _regimen(p, drug, f)
    _administration(p, drug, f)
    _dose(p, drug, f)
    _advisories(p, drug, f)
    return overrides


class _Programming:
    """The request's values, read once; None where missing or malformed."""

    def __init__(self, r, drug):
        self.indication_name = r.string("indication")
        self.ind = None
        if self.indication_name is not None:
            for ind in drug["indications"]:
                if ind["name"] == self.indication_name:
                    self.ind = ind
            if self.ind is None:
                r.f.add("UNKNOWN_INDICATION", "%r" % self.indication_name)
        self.cycle = r.integer("cycle")
        self.day = r.integer("day")
        self.restart = r.boolean("restart_after_adverse_event")
        self.age_days = r.integer("patient.age_days")
        self.weight_kg = r.decimal("patient.weight_kg")
        self.bsa_m2 = r.decimal("patient.bsa_m2", required=False)
        self.dose_value = r.decimal("dose.value")
        self.dose_unit = r.string("dose.unit")
        self.bag_mcg = r.decimal("bag.blinatumomab_mcg")
        self.bag_ml = r.decimal("bag.volume_ml")
        self.preservative = r.boolean("bag.preservative")
        self.rate_ml_h = r.decimal("infusion.rate_ml_h")
        self.duration_h = r.integer("infusion.duration_h")
        self.vtbi_ml = r.decimal("infusion.vtbi_ml")
        self.filter = r.boolean("line.inline_filter")
        self.dehp_free = r.boolean("line.dehp_free")
        # Optional extension fields (docs/check-contract.md): a programmed flush,
        # bolus or KVO rate must be absent or zero ("Do NOT flush the infusion line").
        self.extra_volumes = []
        for path in ("line.flush_ml", "infusion.bolus_ml", "infusion.kvo_ml_h"):
            q = r.decimal(path, required=False)
            if q is not None:
                self.extra_volumes.append((path, q))
        self.admin = None       # the administration option matching duration_h
        self.bsa_band = None    # True: dosed by BSA (weight < band); None: unknown
        self.bsa_invalid = False  # a BSA was entered but is implausible
        self.days = None        # (first, last) infusion day this bag covers
        self.adult = None


def _positive(q):
    return q is not None and q[0] > 0


def _patient(p, lim, f):
    # Age: "Safety and efficacy have not been established in patients younger than 1 month."
    if p.age_days is not None:
        if p.age_days < 0 or p.age_days > lim["age_max_days"]:
            f.add("PATIENT_VALUE_IMPLAUSIBLE", "age %d days" % p.age_days)
        elif p.age_days < lim["min_age_days"]:
            f.add("AGE_BELOW_MINIMUM", "age %d days" % p.age_days)
        elif p.age_days < lim["min_age_confirm_days"]:
            f.add("AGE_UNDER_ONE_MONTH", "age %d days" % p.age_days)
        p.adult = p.age_days >= lim["adult_age_days"]
    w = p.weight_kg
    if w is not None:
        if cmp_scaled(w, 1000, lim["weight_min_g"]) < 0 or cmp_scaled(w, 1000, lim["weight_max_g"]) > 0:
            f.add("PATIENT_VALUE_IMPLAUSIBLE", "weight %s kg" % to_text(w))
            p.weight_kg = None
        else:
            # Weight 45 kg or more: fixed dose; less than 45 kg: BSA-based dose.
            p.bsa_band = cmp_scaled(w, 1000, lim["weight_band_g"]) < 0
    if p.bsa_m2 is not None:
        if cmp_scaled(p.bsa_m2, 10000, lim["bsa_min_cm2"]) < 0 or cmp_scaled(p.bsa_m2, 10000, lim["bsa_max_cm2"]) > 0:
            f.add("PATIENT_VALUE_IMPLAUSIBLE", "BSA %s m2" % to_text(p.bsa_m2))
            p.bsa_m2 = None
            p.bsa_invalid = True
    if p.bsa_m2 is not None and p.weight_kg is not None:
        _bsa_for_weight(p, lim, f)
    if p.bsa_band and p.bsa_m2 is None and not p.bsa_invalid:
        f.add("BSA_REQUIRED", "weight %s kg" % to_text(w))


def _bsa_for_weight(p, lim, f):
    """BSA plausible for the weight: within the rules' band around Meeh's
    height-free estimate 0.1 x W^(2/3) m2 (W in kg). Exact, by cubing:
    with B = bm/10^be, W = wm/10^we and k = c/10^7 (c = 10^6 -+ band ppm),
    B < k W^(2/3)  <=>  bm^3 * 10^21 * 10^(2 we) < c^3 * wm^2 * 10^(3 be)."""
    (bm, be), (wm, we) = p.bsa_m2, p.weight_kg
    b3 = bm * bm * bm * 10 ** (21 + 2 * we)
    w2 = wm * wm * 10 ** (3 * be)
    lo = (1000000 - lim["bsa_weight_under_ppm"]) ** 3
    hi = (1000000 + lim["bsa_weight_over_ppm"]) ** 3
    if b3 < lo * w2 or b3 > hi * w2:
        f.add("BSA_WEIGHT_MISMATCH", "BSA %s m2 for %s kg" % (to_text(p.bsa_m2), to_text(p.weight_kg)))


def _regimen(p, drug, f):
    ind = p.ind
    if ind is None or p.cycle is None:
        return
    if p.cycle < 1 or p.cycle > ind["max_cycles"]:
        f.add("CYCLE_OUT_OF_RANGE", "cycle %d; %s has cycles 1 to %d" % (p.cycle, ind["name"], ind["max_cycles"]))
        return
    ph = phase_of(ind, p.cycle)
    if p.day is None:
        return
    inf_days = ph["infusion_days"]
    length = inf_days + ph["free_days"]
    if p.day < 1 or p.day > length:
        f.add("DAY_OUT_OF_RANGE", "day %d; cycle %d has days 1 to %d" % (p.day, p.cycle, length))
        return
    if p.day > inf_days:
        f.add("DAY_IN_FREE_INTERVAL", "day %d; days %d to %d of cycle %d are treatment-free"
              % (p.day, inf_days + 1, length, p.cycle))
        return
    if p.duration_h is None or p.duration_h <= 0 or p.duration_h % 24:
        return
    last = p.day + p.duration_h // 24 - 1
    p.days = (p.day, min(last, inf_days))
    if last > inf_days:
        f.add("BAG_INTO_FREE_INTERVAL", "a %d h bag from day %d runs to day %d; infusion ends on day %d"
              % (p.duration_h, p.day, last, inf_days))


def _admin_text(a):
    if a["duration_h"] < 168 or a["duration_h"] % 24:
        return "%d h" % a["duration_h"]
    return "%d-day" % (a["duration_h"] // 24)


def _administration(p, drug, f):
    lim = drug["limits"]
    for a in drug["admin"]:
        if a["duration_h"] == p.duration_h:
            p.admin = a
    if p.duration_h is not None and p.admin is None:
        f.add("DURATION_NOT_ALLOWED", "%d h entered" % p.duration_h)
    a = p.admin
    rate = p.rate_ml_h
    if rate is not None:
        if rate[0] <= 0:
            f.add("RATE_NOT_FIXED", "rate %s mL/h: it must be more than 0" % to_text(rate))
        elif a is not None and cmp_scaled(rate, 1000, a["rate_ul_h"]) != 0:
            fixed = milli_text(a["rate_ul_h"])
            slip = ""
            if cmp_scaled(rate, 100, a["rate_ul_h"]) == 0:
                slip = "; 10 times too high: a decimal-point slip?"
            elif cmp_scaled(rate, 10000, a["rate_ul_h"]) == 0:
                slip = "; 10 times too low: a decimal-point slip?"
            f.add("RATE_NOT_FIXED", "%s mL/h entered for a %s bag; its fixed rate is %s mL/h%s"
                  % (to_text(rate), _admin_text(a), fixed, slip))
    if p.vtbi_ml is not None and a is not None:
        m, e = p.vtbi_ml
        diff = m * 1000 - a["vtbi_ul"] * 10 ** e
        if diff < 0:
            diff = -diff
        if diff > lim["vtbi_tolerance_ul"] * 10 ** e:
            f.add("VTBI_MISMATCH", "%s mL entered; a %s bag infuses %s mL"
                  % (to_text(p.vtbi_ml), _admin_text(a), milli_text(a["vtbi_ul"])))
    if p.vtbi_ml is not None and p.vtbi_ml[0] <= 0 and not f.has("VTBI_MISMATCH"):
        f.add("VTBI_MISMATCH", "%s mL entered" % to_text(p.vtbi_ml))
    for q, what in ((p.bag_mcg, "drug amount %s mcg"), (p.bag_ml, "bag volume %s mL")):
        if q is not None and q[0] <= 0:
            f.add("BAG_VOLUME_INVALID", what % to_text(q))
    if _positive(p.bag_ml) and _positive(p.vtbi_ml):
        # the bag includes priming overfill: infused volume never exceeds it
        (vm, ve), (bm, be) = p.vtbi_ml, p.bag_ml
        if vm * 10 ** be > bm * 10 ** ve:
            f.add("VTBI_EXCEEDS_BAG", "%s mL to infuse from a %s mL bag" % (to_text(p.vtbi_ml), to_text(p.bag_ml)))
        elif vm * 10 ** be == bm * 10 ** ve:
            # "the infusion bag is prepared with overfill": none left means the
            # line was primed with saline or the bag runs dry early
            f.add("BAG_NO_OVERFILL", "%s mL to infuse from a %s mL bag" % (to_text(p.vtbi_ml), to_text(p.bag_ml)))
    if a is not None and p.preservative is not None:
        if a["preservative"] == "required" and not p.preservative:
            f.add("PRESERVATIVE_REQUIRED")
        elif a["preservative"] == "forbidden" and p.preservative:
            f.add("PRESERVATIVE_NOT_ALLOWED")
    if p.preservative and p.weight_kg is not None:
        if cmp_scaled(p.weight_kg, 1000, lim["preservative_hard_min_weight_g"]) < 0:
            f.add("PRESERVATIVE_INFANT", "weight %s kg, below %s kg"
                  % (to_text(p.weight_kg), milli_text(lim["preservative_hard_min_weight_g"])))
        elif cmp_scaled(p.weight_kg, 1000, lim["preservative_min_weight_g"]) < 0:
            f.add("PRESERVATIVE_LOW_WEIGHT", "weight %s kg, below %s kg"
                  % (to_text(p.weight_kg), milli_text(lim["preservative_min_weight_g"])))
    if a is not None and p.filter is not None:
        if a["filter"] == "required" and not p.filter:
            f.add("FILTER_REQUIRED")
        elif a["filter"] == "forbidden" and p.filter:
            f.add("FILTER_FORBIDDEN")
    for path, q in p.extra_volumes:
        if q[0] != 0:
            f.add("FLUSH_NOT_ALLOWED", "%s = %s" % (path, to_text(q)))
    if p.dehp_free is not None and lim["dehp_free_required"] and not p.dehp_free:
        f.add("DEHP_SET")


def _expected_level(p, drug, f):
    """The dose level the regimen gives for this bag, or None if unknown."""
    if p.restart:
        return drug["restart_dose"]
    if p.ind is None or p.days is None or p.cycle is None:
        return None
    levels = []
    for s in p.ind["schedule"]:
        if s["cycle_from"] <= p.cycle <= s["cycle_to"]:
            if s["day_from"] <= p.days[1] and s["day_to"] >= p.days[0]:
                if s["dose"] not in levels:
                    levels.append(s["dose"])
    if len(levels) > 1:
        f.add("BAG_SPANS_DOSE_STEP", "a %d h bag from day %d covers days %d to %d"
              % (p.duration_h, p.day, p.days[0], p.days[1]))
        return None
    return levels[0] if levels else None


def _dose(p, drug, f):
    lim = drug["limits"]
    unit = p.dose_unit
    if unit is None:
        return
    if unit != "mcg/day" and unit != "mcg/m2/day":
        f.add("DOSE_UNIT_UNKNOWN", "%r entered" % unit)
        return
    per_m2 = unit == "mcg/m2/day"
    unit_ok = p.bsa_band is None or per_m2 == p.bsa_band
    if not unit_ok:
        f.add("DOSE_UNIT_WRONG_FOR_WEIGHT", "%s ordered for %s kg" % (unit, to_text(p.weight_kg)))
    level = _expected_level(p, drug, f)
    v = p.dose_value
    if v is None:
        return
    if v[0] <= 0:
        f.add("FIELD_INVALID", "dose.value must be more than 0")
        return
    key = "bsa_ng_m2_day" if per_m2 else "fixed_ng_day"
    matched = None
    for name in ("step", "target"):
        if cmp_scaled(v, 1000, drug["doses"][name][key]) == 0:
            matched = name
    if level is not None and unit_ok and matched != level:
        want = milli_text(drug["doses"][level][key]) + " " + unit
        detail = "%s %s ordered; the regimen gives %s" % (to_text(v), unit, want)
        if level == "step" and p.restart:
            f.add("RESTART_STEP_DOSE_REQUIRED", detail)
        elif level == "step":
            f.add("STEP_DOSE_REQUIRED", detail)
        elif level == "target" and matched == "step" and p.restart is False:
            # The labelled step dose where the target dose is due: lower, never
            # higher, and a known clinical choice (prolonged step) -> soft, logged.
            f.add("DOSE_BELOW_REGIMEN", detail + "; a restart after an adverse event must be marked as one")
        else:
            f.add("DOSE_NOT_IN_REGIMEN", detail)
    # The ordered daily dose in ng/day, exact: a rational (num, den).
    vm, ve = v
    ordered = None
    if not per_m2:
        ordered = (vm * 1000, 10 ** ve)
    elif p.bsa_m2 is not None:
        # "15 mcg/m2/day (maximum 28 mcg/day)": the cap of the dose level ordered
        cap = drug["doses"][matched or level or "target"]["bsa_cap_ng_day"]
        sm, se = p.bsa_m2
        ordered = (vm * 1000 * sm, 10 ** (ve + se))
        if ordered[0] > cap * ordered[1]:
            ordered = (cap, 1)
    if not (_positive(p.bag_mcg) and _positive(p.bag_ml) and _positive(p.rate_ml_h)):
        return
    # Delivered per day = (drug / volume) x rate x 24 h, in ng/day.
    (bm, be), (lm, le), (rm, re) = p.bag_mcg, p.bag_ml, p.rate_ml_h
    d_num = bm * rm * 24000 * 10 ** le
    d_den = 10 ** (be + re) * lm
    delivered = "%s mcg/day" % fixed_text(d_num, d_den * 1000, 2)
    allow = 1000000 + lim["max_daily_allowance_ppm"]
    if d_num * 1000000 > lim["max_daily_ng"] * allow * d_den:
        f.add("MAX_DAILY_DOSE_EXCEEDED", "this bag delivers %s; the maximum is %s mcg/day"
              % (delivered, milli_text(lim["max_daily_ng"])))
    else:
        # The dose level's own labelled maximum is as hard as the absolute one:
        # "5 mcg/m2 IV daily (maximum 9 mcg/day) on Days 1 to 7". A bag over it
        # is not a preparation tolerance but a missed cap.
        cap_level = level or matched
        if cap_level is not None:
            cap = drug["doses"][cap_level]["bsa_cap_ng_day"]
            if d_num * 1000000 > cap * allow * d_den:
                f.add("MAX_DAILY_DOSE_EXCEEDED", "this bag delivers %s; the maximum for the %s dose is %s mcg/day"
                      % (delivered, cap_level, milli_text(cap)))
    if ordered is None:
        return
    o_num, o_den = ordered
    # |D - O| / O compared with ppm tolerances, cross-multiplied. Asymmetric on
    # purpose (docs/check-contract.md): more than the order beyond the soft
    # tolerance is hard; less than the order is soft up to the hard tolerance.
    dev = d_num * o_den - o_num * d_den
    over = dev > 0
    if dev < 0:
        dev = -dev
    scale = o_num * d_den
    detail = "this bag delivers %s; ordered %s mcg/day" % (delivered, fixed_text(o_num, o_den * 1000, 2))
    if dev * 1000000 > lim["dose_hard_ppm"] * scale:
        f.add("BAG_DOSE_MISMATCH", detail)
    elif dev * 1000000 > lim["dose_soft_ppm"] * scale:
        f.add("BAG_DOSE_MISMATCH" if over else "BAG_DOSE_DEVIATION", detail + ("; more than ordered" if over else ""))


def _premed_text(ind, adult):
    """What the monograph recommends (Other Comments > Premedication, lines 120-121, 127-128)."""
    if adult is False:
        return "children: dexamethasone 5 mg/m2 (maximum 20 mg)"
    if ind["name"] == "mrd":
        text = "adults: prednisone 100 mg or equivalent (e.g. dexamethasone 16 mg) IV 1 hour before"
    else:
        text = "adults: dexamethasone 20 mg 1 hour before"
    if adult is None:
        text += "; children: dexamethasone 5 mg/m2 (maximum 20 mg)"
    return text


def _advisories(p, drug, f):
    f.add("NO_FLUSH")
    ind = p.ind
    if ind is None or p.days is None or f.has("CYCLE_OUT_OF_RANGE"):
        return
    first, last = p.days
    hosp = None
    for h in ind["hospitalization"]:
        if h["cycle_from"] <= p.cycle <= h["cycle_to"] and h["day_from"] <= last and h["day_to"] >= first:
            hosp = h
    if hosp is not None:
        f.add("HOSPITALIZATION", "%s cycle %d, days %d to %d" % (ind["name"], p.cycle, hosp["day_from"], hosp["day_to"]))
    elif p.day == 1 or p.restart:
        f.add("SUPERVISION")
    for pm in ind["premedication"]:
        if pm["cycle_from"] <= p.cycle <= pm["cycle_to"] and pm["day"] == p.day:
            pop = pm["population"]
            if pop == "all" or p.adult is None or (pop == "adult") == p.adult:
                f.add("PREMEDICATION", "cycle %d day %d; %s" % (p.cycle, p.day, _premed_text(ind, p.adult)))
                break
    # Restart premedication (Other Comments, lines 120-121, 127-128): relapsed/
    # refractory adults on every restart after >= 4 h; children only in the
    # first cycle; MRD adults: not stated (first dose of each cycle only).
    if p.restart and not f.has("PREMEDICATION"):
        rr = ind["name"] == "relapsed-refractory"
        if (p.adult is not False and rr) or (p.adult is not True and p.cycle == 1):
            f.add("PREMEDICATION", "first bag after an interruption of %d hours or more; %s"
                  % (drug["limits"]["reinitiation_hours"], _premed_text(ind, p.adult)))
    if p.preservative and p.adult is False:
        f.add("PRESERVATIVE_MONITORING")
