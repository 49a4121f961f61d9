# Regimen rules: cycle and day, the bag's infusion days, the dose level the
# schedule gives, and the schedule's advisories (hospitalization, supervision,
# premedication, preservative monitoring). Monograph, "Usual Adult Dose",
# "Usual Pediatric Dose", "Other Comments"; druglib/blinatumomab.toml.
from firmware.library.body import phase_of


def check_regimen(p, drug, f):
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


def expected_level(p, drug, f):
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


def advisories(p, drug, f):
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
