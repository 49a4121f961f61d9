# Dose rules: the ordered dose against the regimen, the patient's daily dose
# (fixed, or mcg/m2 x BSA with the dose level's cap), and the dose the bag
# delivers against both and against the maximum (docs/check-contract.md,
# "Ordered dose", "Delivered dose"). Exact rationals (num, den) in ng/day.
from firmware.check.bag import positive
from firmware.check.decimals import cmp_scaled, fixed_text, milli_text, to_text
from firmware.jsontext import quote
from firmware.check.regimen import expected_level


def _mcg(num, den):
    return fixed_text(num, den * 1000, 2)


def check_dose(p, drug, f):
    lim = drug["limits"]
    unit = p.dose_unit
    if unit is None:
        return
    if unit != "mcg/day" and unit != "mcg/m2/day":
        f.add("DOSE_UNIT_UNKNOWN", "%s entered" % quote(unit))
        return
    per_m2 = unit == "mcg/m2/day"
    unit_ok = p.bsa_band is None or per_m2 == p.bsa_band
    if not unit_ok:
        f.add("DOSE_UNIT_WRONG_FOR_WEIGHT", "%s ordered for %s kg" % (unit, to_text(p.weight_kg)))
    level = expected_level(p, drug, f)
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
    ordered = _ordered(p, drug, v, per_m2, matched or level or "target", f)
    if not (positive(p.bag_mcg) and positive(p.bag_ml) and positive(p.rate_ml_h)):
        return
    # Delivered per day = (drug / volume) x rate x 24 h, in ng/day.
    (bm, be), (lm, le), (rm, re) = p.bag_mcg, p.bag_ml, p.rate_ml_h
    d_num = bm * rm * 24000 * 10 ** le
    d_den = 10 ** (be + re) * lm
    # the messages are written only for a finding (issue 11 item 4: the
    # CHECK path within 1 ms; they were a fifth of an accepted check)
    allow = 1000000 + lim["max_daily_allowance_ppm"]
    if d_num * 1000000 > lim["max_daily_ng"] * allow * d_den:
        f.add("MAX_DAILY_DOSE_EXCEEDED", "%s; the maximum is %s mcg/day"
              % (_delivered(d_num, d_den, ordered), milli_text(lim["max_daily_ng"])))
    else:
        # The dose level's own labelled maximum is as hard as the absolute one:
        # "5 mcg/m2 IV daily (maximum 9 mcg/day) on Days 1 to 7". A bag over it
        # is not a preparation tolerance but a missed cap.
        cap_level = level or matched
        if cap_level is not None:
            cap = drug["doses"][cap_level]["bsa_cap_ng_day"]
            if d_num * 1000000 > cap * allow * d_den:
                f.add("MAX_DAILY_DOSE_EXCEEDED", "%s; the maximum for the %s dose is %s mcg/day"
                      % (_delivered(d_num, d_den, ordered), cap_level, milli_text(cap)))
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
    if dev * 1000000 > lim["dose_hard_ppm"] * scale:
        f.add("BAG_DOSE_MISMATCH", _against(d_num, d_den, o_num, o_den))
    elif dev * 1000000 > lim["dose_soft_ppm"] * scale:
        f.add("BAG_DOSE_MISMATCH" if over else "BAG_DOSE_DEVIATION",
              _against(d_num, d_den, o_num, o_den) + ("; more than ordered" if over else ""))


def _delivered(d_num, d_den, ordered):
    text = "this bag delivers %s mcg/day" % _mcg(d_num, d_den)
    if ordered is not None:
        text += "; this patient's dose is %s mcg/day" % _mcg(ordered[0], ordered[1])
    return text


def _against(d_num, d_den, o_num, o_den):
    return "this bag delivers %s mcg/day; ordered %s mcg/day" % (_mcg(d_num, d_den), _mcg(o_num, o_den))


def _ordered(p, drug, v, per_m2, cap_level, f):
    """The patient's daily dose in ng/day as (num, den), exact, or None."""
    vm, ve = v
    if not per_m2:
        return (vm * 1000, 10 ** ve)
    if p.bsa_m2 is None:
        return None
    # "15 mcg/m2/day (maximum 28 mcg/day)": the cap of the dose level ordered
    cap = drug["doses"][cap_level]["bsa_cap_ng_day"]
    sm, se = p.bsa_m2
    ordered = (vm * 1000 * sm, 10 ** (ve + se))
    if ordered[0] > cap * ordered[1]:
        # Never clamp silently (DESIGN.md, principle 3): say so, with both figures.
        f.add("DOSE_CAPPED", "%s mcg/m2/day x %s m2 = %s mcg/day, capped to %s mcg/day"
              % (to_text(v), to_text(p.bsa_m2), _mcg(ordered[0], ordered[1]), milli_text(cap)))
        ordered = (cap, 1)
    return ordered
