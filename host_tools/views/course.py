"""A planned course (host_tools/views/schedule.py) as text: terminal table,
CSV (one row per calendar day), iCalendar (icalendar library), JSON Lines of
check requests (one per bag change, exactly the check contract)."""
import csv
import datetime
import hashlib
import io
from decimal import Decimal

from host_tools.views.schedule import num_text, option_text, request_text

ADVICE = ("HOSPITALIZATION", "SUPERVISION", "PREMEDICATION", "PRESERVATIVE_MONITORING")


def dose_text(b):
    v, unit = b.order
    t = "%s %s" % (num_text(v), unit)
    if unit == "mcg/m2/day":
        t += " = %s mcg/day" % num_text(b.delivered_mcg_day)
        if b.capped:
            t += " (capped)"
    return t


def filter_text(b):
    return "0.2 micron in-line filter" if b.inline_filter else "NO in-line filter"


def premedication(b):
    """The checker's own premedication advice for this bag (cycle starts, step doses)."""
    return [detail(m, "PREMEDICATION") for m in b.advisories("PREMEDICATION")]


def detail(message, code):
    """The specifics a finding adds after its fixed text: 'text (detail)' -> 'detail'."""
    from firmware.check.codes import text

    rest = message[len(text(code)):].strip() if message.startswith(text(code)) else message
    return rest[1:-1] if rest.startswith("(") and rest.endswith(")") else rest


def hospital_on(c, day):
    return any(a <= day <= z for a, z in c.hospital_days)


def patient_text(plan):
    p = plan.patient
    lim = plan.drug["limits"]
    adult = p.age_days >= lim["adult_age_days"]
    parts = ["age %d days (%s)" % (p.age_days, "adult" if adult else "child"), "%s kg" % num_text(p.weight_kg)]
    if p.height_cm is not None:
        parts.append("%s cm" % num_text(p.height_cm))
    if p.bsa_m2 is not None:
        parts.append("BSA %s m2 (%s)" % (num_text(p.bsa_m2), p.bsa_formula))
    band = p.weight_kg * 1000 < lim["weight_band_g"]
    kg = num_text(Decimal(lim["weight_band_g"]) / 1000)
    parts.append("dosed by BSA (under %s kg)" % kg if band else "fixed dose (%s kg or more)" % kg)
    return ", ".join(parts)


def heading(plan):
    return "Blinatumomab course: %s, %d cycle(s), %s bags; library %s version %d" % (
        plan.ind["name"], len(plan.cycles), plan.bag_id, plan.lib["library_name"], plan.lib["library_version"])


def text_table(plan):
    L = [heading(plan), "Patient: " + patient_text(plan), ""]
    for c in plan.cycles:
        free0 = c.date_of(c.infusion_days + 1)
        L.append("Cycle %d (%s)  %s to %s: days 1-%d infusion, days %d-%d treatment-free (%s to %s)" % (
            c.number, c.phase["name"], c.start, c.date_of(c.length), c.infusion_days, c.infusion_days + 1,
            c.length, free0, c.date_of(c.length)))
        for a, z in c.hospital_days:
            L.append("  hospitalization recommended: days %d-%d (%s to %s)" % (a, z, c.date_of(a), c.date_of(z)))
        L.append("  %-16s %-6s %-7s %-28s %-22s %-8s %-7s %-8s %-6s %s" % (
            "bag change", "days", "bag", "dose", "bag contents", "mcg/mL", "rate", "VTBI", "presv", "filter"))
        for b in c.bags:
            notes = []
            if hospital_on(c, b.day):
                notes.append("hospital")
            for t in premedication(b):
                notes.append("premedication: " + t)
            if b.advisories("SUPERVISION"):
                notes.append("supervision")
            if b.split:
                notes.append("split: " + b.split)
            L.append("  %-16s %-6s %-7s %-28s %-22s %-8s %-7s %-8s %-6s %s%s" % (
                b.start.strftime("%Y-%m-%d %H:%M"), "%d-%d" % (b.day, b.last_day) if b.days > 1 else str(b.day),
                option_text(b.admin), dose_text(b), "%s mcg in %s mL" % (num_text(b.mcg), num_text(b.volume_ml)),
                num_text(b.concentration), "%s mL/h" % num_text(b.rate_ml_h), "%s mL" % num_text(b.vtbi_ml),
                "yes" if b.preservative else "no", "0.2 um" if b.inline_filter else "NONE",
                ("  " + "; ".join(notes)) if notes else ""))
        L.append("")
    L.append("Every bag above was checked by the pump's checker against this library and accepted.")
    L.append("Never flush the line; prime only with the prepared infusion solution.")
    return "\n".join(L)


CSV_FIELDS = ["date", "cycle", "phase", "day", "kind", "dose_level", "dose_mcg_day", "bag_change", "bag",
              "bag_days", "blinatumomab_mcg", "bag_volume_ml", "concentration_mcg_ml", "rate_ml_h", "vtbi_ml",
              "preservative", "inline_filter", "hospitalization", "premedication", "note"]


def to_csv(plan):
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(CSV_FIELDS)
    running = None
    for date, c, day, kind, b in plan.days():
        if b is not None:
            running = b
        cur = running if kind == "infusion" and running is not None and running.cycle == c.number else None
        row = [date.isoformat(), c.number, c.phase["name"], day, kind,
               cur.level if cur else "", num_text(cur.delivered_mcg_day) if cur else ""]
        if b is not None:
            row += [b.start.strftime("%H:%M"), option_text(b.admin), b.days, num_text(b.mcg), num_text(b.volume_ml),
                    num_text(b.concentration), num_text(b.rate_ml_h), num_text(b.vtbi_ml),
                    "yes" if b.preservative else "no", "yes" if b.inline_filter else "no"]
        else:
            row += [""] * 10
        row += ["yes" if hospital_on(c, day) else "", "; ".join(premedication(b)) if b else "",
                (b.split or "") if b else ""]
        w.writerow(row)
    return out.getvalue()


def to_json_lines(plan):
    return "".join(request_text(b.request) + "\n" for b in plan.bags)


def _uid(plan, what):
    seed = "%s|%s|%s|%s" % (plan.ind["name"], plan.start.isoformat(), plan.bag_id, what)
    return "%s@druglib-schedule" % hashlib.sha256(seed.encode()).hexdigest()[:24]


def to_ics(plan, stamp=None):
    """iCalendar (RFC 5545) bytes: one event per bag change, premedication, hospitalization.
    Times are floating local times (the ward's clock), as the start was given."""
    from icalendar import Calendar, Event

    stamp = stamp or datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    cal = Calendar()
    cal.add("prodid", "-//druglib//blinatumomab schedule//EN")
    cal.add("version", "2.0")
    cal.add("x-wr-calname", "Blinatumomab %s" % plan.ind["name"])

    def event(uid, summary, start, end, description):
        e = Event()
        e.add("uid", _uid(plan, uid))
        e.add("dtstamp", stamp)
        e.add("summary", summary)
        e.add("dtstart", start)
        e.add("dtend", end)
        e.add("description", description)
        cal.add_component(e)

    for c in plan.cycles:
        for a, z in c.hospital_days:
            event("hosp-%d-%d" % (c.number, a), "Blinatumomab: hospitalization, cycle %d days %d-%d" % (c.number, a, z),
                  c.date_of(a), c.date_of(z) + datetime.timedelta(days=1),
                  "Hospitalization recommended (library %s)." % plan.lib["library_name"])
        for b in c.bags:
            desc = ("%s bag: %s mcg blinatumomab in %s mL (%s mcg/mL); %s; rate %s mL/h, VTBI %s mL; "
                    "preservative %s; %s. Cycle %d days %d-%d. Do not flush the line." % (
                        option_text(b.admin), num_text(b.mcg), num_text(b.volume_ml), num_text(b.concentration),
                        dose_text(b), num_text(b.rate_ml_h), num_text(b.vtbi_ml),
                        "yes" if b.preservative else "no", filter_text(b), b.cycle, b.day, b.last_day))
            event("bag-%d-%d" % (c.number, b.day), "Blinatumomab bag change C%d D%d: %s, %s" % (
                b.cycle, b.day, option_text(b.admin), dose_text(b)),
                b.start, b.start + datetime.timedelta(minutes=30), desc)
            for t in premedication(b):
                event("premed-%d-%d" % (c.number, b.day), "Premedication before blinatumomab C%d D%d" % (b.cycle, b.day),
                      b.start - datetime.timedelta(hours=1), b.start, "Corticosteroid premedication: %s" % t)
    return cal.to_ical()
