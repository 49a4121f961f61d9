"""HTML pages with Jinja2 (autoescaping on for every template: every string
from a log, a request or a library is untrusted). Self-contained: inline CSS
and SVG, no script, no external resource (a Content-Security-Policy says so)."""
import datetime

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup, escape

from host_tools import safetext


def visible(value):
    """An untrusted string as text: HTML-escaped, and every control character
    (ESC sequences, BEL, C1 controls, bidi overrides, line separators) shown as
    a grey escape such as \\x1b instead of being passed to the page."""
    out = []
    for ch in str(value):
        o = ord(ch)
        if o < 0x20 or 0x7F <= o < 0xA0 or o in (0x2028, 0x2029) or 0x202A <= o <= 0x202E or 0x2066 <= o <= 0x2069:
            out.append(Markup('<span class="ctl">%s</span>') % ("\\x%02x" % o if o < 0x100 else "\\u%04x" % o))
        else:
            out.append(escape(ch))
    return Markup("").join(out)


def _env():
    env = Environment(loader=PackageLoader("host_tools.views", "templates"), autoescape=True,
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                      finalize=safetext.finalize)  # issue 10 item 5: no raw control char on a page
    env.filters["visible"] = visible
    return env


ENV = _env()


def _version():
    try:
        from importlib.metadata import version
        return version("druglib")
    except Exception:
        return "dev"


def render(template, **context):
    context.setdefault("tool_version", _version())
    context.setdefault("generated", datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"))
    return ENV.get_template(template).render(**context)


def schedule_page(plan):
    from host_tools.views import course, schedule, svg

    last = plan.cycles[-1]
    return render("schedule.html", title="Blinatumomab course plan", plan=plan, patient=course.patient_text(plan),
                  tl=svg.course_timeline(plan), last_infusion=last.date_of(last.infusion_days).isoformat(),
                  option_text=schedule.option_text, dose_text=course.dose_text, num_text=schedule.num_text,
                  premedication=course.premedication)


def library_page(doc):
    from host_tools.views.librarydoc import SECTIONS

    return render("library.html", title="Drug library %s, version %d" % (doc["name"], doc["version"]), doc=doc,
                  sections=SECTIONS)


def diff_page(old, new, d):
    counts = {k: sum(1 for c in d["changes"] if c["kind"] == k) for k in ("added", "removed", "changed")}
    return render("diff.html", title="Library changes", old=old, new=new, d=d, counts=counts)


EVENT_COLORS = {"accept": "#2e7d4f", "confirm": "#d99a21", "reject": "#b42318", "info": "#5b7fa6"}
EVENT_LANES = ("programming", "override", "library", "therapy")


def report_page(r, source):
    from firmware.check.codes import CODES
    from host_tools.views import svg

    items = [(s["code"], s["count"], "hard") for s in r["hard_stops"]] + \
            [(s["code"], s["count"], "soft") for s in r["soft_stops"]]
    lanes = [n for n in EVENT_LANES if any(e["lane"] == n for e in r["events"])]
    clocked = any(e.get("clock") is not None for e in r["events"])
    return render("report.html", title="Pump event log report", r=r, source=source,
                  stops_chart=svg.bar_chart(items) if items else None,
                  tl=svg.event_timeline(r["events"], lanes) if r["events"] else None,
                  colors=EVENT_COLORS, x_axis="pump clock" if clocked else "record number",
                  code_text=lambda c: CODES[c][1] if c in CODES else "")
