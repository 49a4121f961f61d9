"""Plan a patient's whole blinatumomab course from a decoded library.

Pure: library dict + patient + options in, a `Plan` out (raises ScheduleError).
Everything comes from the library (dose levels and caps, the day schedule of
each cycle, phases and treatment-free intervals, bag options with their fixed
rate, duration and VTBI, preservative and filter rules, hospitalization and
premedication days); the only figures that are not in the library are the
bag totals with their priming overfill (BAG_TOTAL_UL below).

Every bag of the plan is checked by the device's own checker
(firmware/check/batch.check_one, the code `druglib check` runs) and the plan
is refused unless every bag is accepted: a patient or a bag option the
library cannot dose is an error, never a silent change of plan.
"""
import datetime
import json
from decimal import ROUND_HALF_EVEN, Decimal
from fractions import Fraction

from firmware.check.batch import check_one
from firmware.library.body import phase_of
from host_tools.errors import DruglibError

# Bag totals including the priming overfill ("the infusion bag is prepared with
# overfill", monograph line 140). label-facts.md, Administration: "about 270 mL
# for 24/48 h, 110 mL for 7 days" (UNCONFIRMED recipe totals: pharmacy follows
# the manufacturer's admixture tables, monograph line 133). Keyed by duration.
BAG_TOTAL_UL = {24: 270000, 48: 270000, 168: 110000}
BAG_IDS = {"24h": 24, "48h": 48, "7d": 168}
MCG_PLACES = Decimal("0.0001")  # bag drug amount written to 0.1 ng


class ScheduleError(DruglibError):
    """The library cannot dose this patient with this plan (nothing is changed silently)."""


def _dec_milli(v):
    """Integer thousandths (uL, ng) -> Decimal of the main unit, exact."""
    return (Decimal(v) / 1000).normalize()


def num_text(d):
    """Decimal -> JSON number text without exponent ('31.5', '240', '0.6')."""
    t = format(d.normalize(), "f")
    return t


class Patient:
    def __init__(self, age_days, weight_kg, bsa_m2=None, height_cm=None):
        self.age_days = age_days
        self.weight_kg = Decimal(str(weight_kg))
        self.bsa_m2 = None if bsa_m2 is None else Decimal(str(bsa_m2))
        self.height_cm = None if height_cm is None else Decimal(str(height_cm))
        self.bsa_formula = "entered" if bsa_m2 is not None else None
        if self.bsa_m2 is None and self.height_cm is not None:
            # Mosteller: BSA = sqrt(height cm x weight kg / 3600), to 0.01 m2
            self.bsa_m2 = (self.height_cm * self.weight_kg / 3600).sqrt().quantize(Decimal("0.01"))
            self.bsa_formula = "Mosteller, from height and weight"

    def request_part(self):
        out = {"age_days": self.age_days, "weight_kg": self.weight_kg}
        if self.bsa_m2 is not None:
            out["bsa_m2"] = self.bsa_m2
        if self.height_cm is not None:
            out["height_cm"] = self.height_cm
        return out


class Bag:
    """One bag change: what the nurse hangs and programs."""

    def __init__(self, cycle, day, days, level, admin, order, ng_day, capped, start, split):
        self.cycle, self.day, self.days, self.level, self.admin = cycle, day, days, level, admin
        self.order = order          # (Decimal value, unit) as ordered
        self.ng_day = ng_day        # Fraction: the daily dose this bag is made for
        self.capped = capped        # True when a BSA dose hit the level's cap
        self.start = start          # datetime of the bag change
        self.end = start + datetime.timedelta(hours=admin["duration_h"])
        self.split = split          # why a shorter bag than asked, or None
        self.volume_ml = _dec_milli(BAG_TOTAL_UL[admin["duration_h"]])
        self.rate_ml_h = _dec_milli(admin["rate_ul_h"])
        self.vtbi_ml = _dec_milli(admin["vtbi_ul"])
        self.duration_h = admin["duration_h"]
        exact = ng_day * days * BAG_TOTAL_UL[admin["duration_h"]] / admin["vtbi_ul"] / 1000
        self.mcg = (Decimal(exact.numerator) / Decimal(exact.denominator)).quantize(MCG_PLACES, ROUND_HALF_EVEN)
        self.preservative = admin["preservative"] == "required"
        self.inline_filter = admin["filter"] != "forbidden"
        self.findings = []          # the checker's findings (advisories only, once accepted)
        self.request = None

    @property
    def last_day(self):
        return self.day + self.days - 1

    @property
    def concentration(self):
        return (self.mcg / self.volume_ml).quantize(Decimal("0.0001"))

    @property
    def delivered_mcg_day(self):
        return (self.mcg / self.volume_ml * self.rate_ml_h * 24).quantize(Decimal("0.01"))

    def advisories(self, code):
        return [m for c, s, m in self.findings if c == code]


class Cycle:
    def __init__(self, number, phase, start):
        self.number = number
        self.phase = phase
        self.start = start  # date of day 1
        self.infusion_days = phase["infusion_days"]
        self.free_days = phase["free_days"]
        self.bags = []
        self.hospital_days = []  # (day_from, day_to)

    def date_of(self, day):
        return self.start + datetime.timedelta(days=day - 1)

    @property
    def length(self):
        return self.infusion_days + self.free_days


class Plan:
    def __init__(self, lib, drug, ind, patient, bag_id, start, cycles):
        self.lib, self.drug, self.ind, self.patient = lib, drug, ind, patient
        self.bag_id, self.start, self.cycles = bag_id, start, cycles

    @property
    def bags(self):
        return [b for c in self.cycles for b in c.bags]

    def days(self):
        """Every calendar day of the course: (date, cycle, day, kind, bag starting that day or None)."""
        out = []
        for c in self.cycles:
            starts = {b.day: b for b in c.bags}
            for d in range(1, c.length + 1):
                kind = "infusion" if d <= c.infusion_days else "free"
                out.append((c.date_of(d), c, d, kind, starts.get(d)))
        return out


def _band_bsa(drug, patient):
    return patient.weight_kg * 1000 < drug["limits"]["weight_band_g"]


def _dose(drug, level, patient):
    """-> (order (value, unit), ng/day Fraction, capped) for a dose level, from the library."""
    x = drug["doses"][level]
    if not _band_bsa(drug, patient):
        return (_dec_milli(x["fixed_ng_day"]), "mcg/day"), Fraction(x["fixed_ng_day"]), False
    # "15 mcg/m2 IV daily (maximum 28 mcg/day)": BSA-based with the level's cap
    ng = Fraction(x["bsa_ng_m2_day"]) * Fraction(str(patient.bsa_m2))
    capped = ng > x["bsa_cap_ng_day"]
    return (_dec_milli(x["bsa_ng_m2_day"]), "mcg/m2/day"), min(ng, Fraction(x["bsa_cap_ng_day"])), capped


def _level_of(ind, cycle, day):
    for s in ind["schedule"]:
        if s["cycle_from"] <= cycle <= s["cycle_to"] and s["day_from"] <= day <= s["day_to"]:
            return s["dose"]
    return None


def _segments(ind, cycle, infusion_days):
    """Consecutive infusion days of one dose level: [(first, last, level)]."""
    segs = []
    for d in range(1, infusion_days + 1):
        level = _level_of(ind, cycle, d)
        if level is None:
            raise ScheduleError("the library gives no dose for %s cycle %d day %d" % (ind["name"], cycle, d))
        if segs and segs[-1][2] == level:
            segs[-1][1] = d
        else:
            segs.append([d, d, level])
    return segs


def _admin_days(a):
    return a["duration_h"] // 24


def _cover(drug, first, last, chosen, why):
    """Bags for days first..last: the chosen option while it fits, then the
    longest shorter option that fits (the regimen's step or free interval
    must not fall inside a bag: BAG_SPANS_DOSE_STEP, BAG_INTO_FREE_INTERVAL)."""
    options = sorted((a for a in drug["admin"] if a["duration_h"] % 24 == 0 and a["duration_h"] in BAG_TOTAL_UL),
                     key=_admin_days, reverse=True)
    out = []
    d = first
    while d <= last:
        left = last - d + 1
        if _admin_days(chosen) <= left:
            out.append((d, chosen, None))
            d += _admin_days(chosen)
            continue
        fit = next((a for a in options if _admin_days(a) <= left), None)
        if fit is None:
            raise ScheduleError("no bag option of the library fits %d day(s) before %s" % (left, why))
        out.append((d, fit, "a %s bag from day %d would run into %s" % (option_text(chosen), d, why)))
        d += _admin_days(fit)
    return out


def option_text(a):
    h = a["duration_h"]
    return "%d-day" % (h // 24) if h >= 168 and h % 24 == 0 else "%d h" % h


def _find_admin(drug, bag_id):
    hours = BAG_IDS.get(bag_id)
    for a in drug["admin"]:
        if a["duration_h"] == hours:
            return a
    raise ScheduleError("the library has no %s bag option" % bag_id)


def _hospital(ind, cycle):
    return [(h["day_from"], h["day_to"]) for h in ind["hospitalization"] if h["cycle_from"] <= cycle <= h["cycle_to"]]


def plan(lib, indication, patient, bag_id, start, cycles=None):
    """The whole course; raises ScheduleError unless the checker accepts every bag.

    start: datetime of the first bag change (cycle 1 day 1)."""
    drug = lib["drugs"][0]
    ind = next((i for i in drug["indications"] if i["name"] == indication), None)
    if ind is None:
        raise ScheduleError("the library has no indication %r (it has %s)"
                            % (indication, ", ".join(i["name"] for i in drug["indications"])))
    n = ind["max_cycles"] if cycles is None else cycles
    if not 1 <= n <= ind["max_cycles"]:
        raise ScheduleError("%s has 1 to %d cycles in the library; %d asked" % (indication, ind["max_cycles"], n))
    if _band_bsa(drug, patient) and patient.bsa_m2 is None:
        raise ScheduleError("under %s kg the dose is by body surface area: give --bsa-m2 or --height-cm"
                            % num_text(_dec_milli(drug["limits"]["weight_band_g"])))
    chosen = _find_admin(drug, bag_id)
    p = Plan(lib, drug, ind, patient, bag_id, start, [])
    begin = start
    for number in range(1, n + 1):
        ph = phase_of(ind, number)
        c = Cycle(number, ph, begin.date())
        c.hospital_days = _hospital(ind, number)
        for first, last, level in _segments(ind, number, ph["infusion_days"]):
            nxt = _level_of(ind, number, last + 1) if last < ph["infusion_days"] else None
            why = ("the treatment-free interval on day %d" % (last + 1) if last == ph["infusion_days"]
                   else "the %s dose from day %d" % (nxt, last + 1))
            for day, a, split in _cover(drug, first, last, chosen, why):
                order, ng, capped = _dose(drug, level, patient)
                when = begin + datetime.timedelta(days=day - 1)
                c.bags.append(Bag(number, day, _admin_days(a), level, a, order, ng, capped, when, split))
        p.cycles.append(c)
        begin = begin + datetime.timedelta(days=c.length)
    for b in p.bags:
        _check(lib, p, b)
    return p


def request_of(plan_, b):
    return {
        "drug": plan_.drug["name"], "indication": plan_.ind["name"], "cycle": b.cycle, "day": b.day,
        "restart_after_adverse_event": False,
        "patient": plan_.patient.request_part(),
        "dose": {"value": b.order[0], "unit": b.order[1]},
        "bag": {"blinatumomab_mcg": b.mcg, "volume_ml": b.volume_ml, "preservative": b.preservative},
        "infusion": {"rate_ml_h": b.rate_ml_h, "duration_h": b.duration_h, "vtbi_ml": b.vtbi_ml},
        "line": {"inline_filter": b.inline_filter, "dehp_free": True},
        "overrides": [],
    }


def request_text(req):
    """The check request as one JSON line; exact decimals written as JSON numbers."""
    def enc(v):
        if isinstance(v, dict):
            return "{" + ", ".join("%s: %s" % (json.dumps(k), enc(x)) for k, x in v.items()) + "}"
        if isinstance(v, list):
            return "[" + ", ".join(enc(x) for x in v) + "]"
        if isinstance(v, Decimal):
            return num_text(v)
        return json.dumps(v)
    return enc(req)


def _check(lib, plan_, b):
    b.request = request_of(plan_, b)
    result = check_one(lib, request_text(b.request))
    if result.verdict != "accept":
        stops = [(c, s, m) for c, s, m in result.findings if s in ("hard", "soft")]
        what = "; ".join("%s (%s stop)%s" % (c, s, ": " + m if m else "") for c, s, m in stops)
        hint = ""
        if any(c.startswith("PRESERVATIVE_") for c, s, m in stops):
            hint = "; choose a preservative-free bag (--bag 24h or --bag 48h)"
        elif result.verdict == "confirm":
            hint = "; a soft stop needs a clinician's override at the pump, and a plan never assumes one"
        raise ScheduleError("the library does not accept the %s bag of cycle %d day %d for this patient: %s%s"
                            % (option_text(b.admin), b.cycle, b.day, what, hint))
    b.findings = result.findings


def parse_start(text):
    """'YYYY-MM-DD' (bag change at 09:00) or 'YYYY-MM-DDTHH:MM' -> datetime (local, floating)."""
    try:
        if "T" in text:
            return datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M")
        return datetime.datetime.combine(datetime.date.fromisoformat(text), datetime.time(9, 0))
    except ValueError:
        raise ScheduleError("--start %r is not a date YYYY-MM-DD or YYYY-MM-DDTHH:MM" % text) from None
