# Bag, infusion and line rules: the administration option (duration, fixed
# rate, volume to be infused), the bag's volume and overfill, preservative,
# filter, no flush / bolus / KVO, DEHP-free set (monograph, "Other Comments >
# Administration advice" and "Reconstitution/preparation techniques";
# druglib/blinatumomab.toml).
from firmware.check.decimals import cmp_scaled, milli_text, to_text


def admin_text(a):
    if a["duration_h"] < 168 or a["duration_h"] % 24:
        return "%d h" % a["duration_h"]
    return "%d-day" % (a["duration_h"] // 24)


def positive(q):
    return q is not None and q[0] > 0


def check_administration(p, drug, f):
    lim = drug["limits"]
    for a in drug["admin"]:
        if a["duration_h"] == p.duration_h:
            p.admin = a
    if p.duration_h is not None and p.admin is None:
        f.add("DURATION_NOT_ALLOWED", "%d h entered" % p.duration_h)
    _rate(p, f)
    _volumes(p, lim, f)
    a = p.admin
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


def _rate(p, f):
    a = p.admin
    rate = p.rate_ml_h
    if rate is None:
        return
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
              % (to_text(rate), admin_text(a), fixed, slip))


def _volumes(p, lim, f):
    a = p.admin
    if p.vtbi_ml is not None and a is not None:
        m, e = p.vtbi_ml
        diff = m * 1000 - a["vtbi_ul"] * 10 ** e
        if diff < 0:
            diff = -diff
        if diff > lim["vtbi_tolerance_ul"] * 10 ** e:
            f.add("VTBI_MISMATCH", "%s mL entered; a %s bag infuses %s mL"
                  % (to_text(p.vtbi_ml), admin_text(a), milli_text(a["vtbi_ul"])))
    if p.vtbi_ml is not None and p.vtbi_ml[0] <= 0 and not f.has("VTBI_MISMATCH"):
        f.add("VTBI_MISMATCH", "%s mL entered" % to_text(p.vtbi_ml))
    for q, what in ((p.bag_mcg, "drug amount %s mcg"), (p.bag_ml, "bag volume %s mL")):
        if q is not None and q[0] <= 0:
            f.add("BAG_VOLUME_INVALID", what % to_text(q))
    if not (positive(p.bag_ml) and positive(p.vtbi_ml)):
        return
    # The bag includes priming overfill: the volume infused never exceeds it,
    # and what is left over must prime the line ("Do NOT prime IV tubing with
    # 0.9% sodium chloride; only use the final prepared infusion solution (the
    # infusion bag is prepared with overfill)", monograph line 140).
    (vm, ve), (bm, be) = p.vtbi_ml, p.bag_ml
    scale = 10 ** (ve + be)
    over_num = bm * 10 ** ve - vm * 10 ** be  # overfill in mL x 10^(ve+be)
    if over_num < 0:
        f.add("VTBI_EXCEEDS_BAG", _infuse_from(p))
    elif over_num == 0:
        # none left: a saline-primed line or a bag that runs dry early
        f.add("BAG_NO_OVERFILL", _infuse_from(p))
    elif over_num * 1000 < lim["priming_volume_ul"] * scale:
        f.add("BAG_OVERFILL_LOW", "%s: %s mL overfill; priming the line takes %s mL"
              % (_infuse_from(p), to_text(_reduced(over_num, ve + be)), milli_text(lim["priming_volume_ul"])))


def _infuse_from(p):
    """A bag-volume message (written only for a finding: issue 11 item 4)."""
    return "%s mL to infuse from a %s mL bag" % (to_text(p.vtbi_ml), to_text(p.bag_ml))


def _reduced(m, e):
    while e > 0 and m % 10 == 0:
        m //= 10
        e -= 1
    return (m, e)
