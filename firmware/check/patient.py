# Patient rules: age, weight, height, and the body surface area the dose of a
# child under 45 kg is computed from (docs/check-contract.md, "BSA against
# weight"; druglib/blinatumomab.toml, parameter.bsa_weight_*).
#
# Integers only (DESIGN.md, principle 1). An entered quantity is an exact
# decimal (mantissa, exp10); the rules' figures are integers in cm2, g, mm,
# ppm. Powers and roots are compared by cross-multiplying: the Meeh estimate
# k x W^(2/3) by cubing both sides, the Mosteller BSA sqrt(H x W / 3600) by
# squaring. Roots are computed (integer Newton) only for the messages.
from firmware.check.decimals import cmp_scaled, fixed_text, to_text


def check_patient(p, lim, f):
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
    if p.height_cm is not None:
        if cmp_scaled(p.height_cm, 10, lim["height_min_mm"]) < 0 or cmp_scaled(p.height_cm, 10, lim["height_max_mm"]) > 0:
            f.add("PATIENT_VALUE_IMPLAUSIBLE", "height %s cm" % to_text(p.height_cm))
            p.height_cm = None
    if not p.bsa_band:
        # 45 kg or more: a fixed dose; the BSA changes nothing, so no alarm on it.
        return
    if p.bsa_m2 is not None:
        bsa_for_weight(p, lim, f)
        if p.height_cm is not None:
            bsa_for_height(p, lim, f)
    elif not p.bsa_invalid:
        detail = "weight %s kg" % to_text(w)
        if p.height_cm is not None:
            detail += "; height %s cm gives %s m2 (Mosteller)" % (to_text(p.height_cm), mosteller_text(p))
        f.add("BSA_REQUIRED", detail)


def meeh_cubes(bsa, weight, k_cm2):
    """(num, den) with (BSA / (k x W^(2/3)))^3 = num / den / 10^18, exact.

    BSA = bm / 10^be m2 = bm 10^4 / 10^be cm2, W = wm / 10^we kg, and the
    estimate k_cm2 x W^(2/3) cm2, so the cube of the ratio is
    bm^3 10^12 10^(2 we) / (10^(3 be) k^3 wm^2).
    """
    (bm, be), (wm, we) = bsa, weight
    return bm * bm * bm * 10 ** (12 + 2 * we + 18), k_cm2 ** 3 * wm * wm * 10 ** (3 * be)


def bsa_for_weight(p, lim, f):
    """The entered BSA against the weight-based estimate k x W^(2/3) (Meeh's
    formula; k, the soft band and the hard band are rules parameters).
    ratio >= 1 + hard_over or <= 1 - hard_under: hard; beyond the soft band: soft."""
    num, den = meeh_cubes(p.bsa_m2, p.weight_kg, lim["bsa_weight_k_cm2"])

    def above(ppm):  # ratio > (10^6 + ppm) / 10^6
        c = 1000000 + ppm
        return num > c * c * c * den

    def below(ppm):  # ratio < (10^6 - ppm) / 10^6
        c = 1000000 - ppm
        return num < c * c * c * den

    hard_hi = 1000000 + lim["bsa_weight_hard_over_ppm"]
    hard_lo = 1000000 - lim["bsa_weight_hard_under_ppm"]
    if num >= hard_hi * hard_hi * hard_hi * den or num <= hard_lo * hard_lo * hard_lo * den:
        code = "BSA_WEIGHT_IMPLAUSIBLE"
    elif above(lim["bsa_weight_over_ppm"]) or below(lim["bsa_weight_under_ppm"]):
        code = "BSA_WEIGHT_MISMATCH"
    else:
        return
    est = meeh_estimate_e8(p.weight_kg, lim["bsa_weight_k_cm2"])  # m2 x 10^8
    bm, be = p.bsa_m2
    f.add(code, "BSA %s m2 for %s kg; the weight-based estimate is %s m2, so this BSA is %s times it"
          % (to_text(p.bsa_m2), to_text(p.weight_kg), fixed_text(est, 10 ** 8, 2),
             fixed_text(bm * 10 ** 8, est * 10 ** be, 2) if est > 0 else "many"))


def bsa_for_height(p, lim, f):
    """With the height, the pump computes the BSA itself (Mosteller:
    sqrt(height cm x weight kg / 3600) m2) and a BSA that differs from it by
    more than the rules' tolerance (rounding) is a hard stop. Exact: with
    B +- T = (bm 10^4 +- t 10^be) / 10^(be+4) and M^2 = hm wm / (10^(he+we) 3600),
    |B - M| <= T  <=>  (B - T)^2 <= M^2 <= (B + T)^2."""
    (bm, be), (hm, he), (wm, we) = p.bsa_m2, p.height_cm, p.weight_kg
    t = lim["bsa_height_tolerance_cm2"] * 10 ** be
    hi = bm * 10000 + t
    lo = bm * 10000 - t
    if lo < 0:
        lo = 0
    m2 = hm * wm * 10 ** (2 * (be + 4))  # M^2 x 10^(he+we) x 3600, over the same denominator
    scale = 10 ** (he + we) * 3600
    if lo * lo * scale <= m2 <= hi * hi * scale:
        return
    f.add("BSA_HEIGHT_MISMATCH", "BSA %s m2 entered; height %s cm and weight %s kg give %s m2 (Mosteller)"
          % (to_text(p.bsa_m2), to_text(p.height_cm), to_text(p.weight_kg), mosteller_text(p)))


def mosteller_text(p):
    (hm, he), (wm, we) = p.height_cm, p.weight_kg
    # M x 10^6 = sqrt(hm wm 10^12 / (10^(he+we) 3600)), floored: ample for 2 places
    m = isqrt(hm * wm * 10 ** 12 // (10 ** (he + we) * 3600))
    return fixed_text(m, 10 ** 6, 2)


def meeh_estimate_e8(weight, k_cm2):
    """k x W^(2/3) in m2 x 10^8, floored (for messages only)."""
    wm, we = weight
    # (E m2 x 10^8)^3 = (k_cm2 10^4)^3 W^2 = k^3 10^12 wm^2 / 10^(2 we)
    return icbrt(k_cm2 ** 3 * 10 ** 12 * wm * wm // 10 ** (2 * we))


def isqrt(n):
    """floor(sqrt(n)) for an integer n >= 0, by Newton's method."""
    if n < 2:
        return n if n > 0 else 0
    x = 10 ** ((len(str(n)) + 1) // 2)  # >= sqrt(n) (no int.bit_length on MicroPython)
    while True:
        y = (x + n // x) // 2
        if y >= x:
            return x
        x = y


def icbrt(n):
    """floor(cbrt(n)) for an integer n >= 0, by Newton's method."""
    if n < 2:
        return n if n > 0 else 0
    x = 10 ** ((len(str(n)) + 2) // 3)  # >= cbrt(n)
    while True:
        y = (2 * x + n // (x * x)) // 3
        if y >= x:
            return x
        x = y
