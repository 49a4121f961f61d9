"""Geometry of the inline SVG charts. Pure numbers and labels: the templates
draw them (Jinja2 autoescaping applies to every label)."""

WIDTH = 1000


def course_timeline(plan):
    """One row per cycle; x = day of the cycle. Bags by dose level, the
    treatment-free interval, hospitalization bands and premedication marks."""
    from host_tools.views.course import premedication

    max_len = max(c.length for c in plan.cycles)
    left, right, row_h, top = 150, 14, 36, 30
    scale = (WIDTH - left - right) / max_len
    rows = []
    for i, c in enumerate(plan.cycles):
        y = top + i * row_h
        bags = [{"x": left + (b.day - 1) * scale, "w": b.days * scale, "level": b.level,
                 "title": "C%d D%d-%d: %s bag, %s" % (c.number, b.day, b.last_day, _opt(b), _dose(b)),
                 "split": bool(b.split)} for b in c.bags]
        free = {"x": left + c.infusion_days * scale, "w": c.free_days * scale,
                "title": "C%d days %d-%d: treatment-free (%d days)" % (c.number, c.infusion_days + 1, c.length, c.free_days),
                "label": "free %d d" % c.free_days}
        hosp = [{"x": left + (a - 1) * scale, "w": (z - a + 1) * scale,
                 "title": "C%d days %d-%d: hospitalization recommended" % (c.number, a, z)} for a, z in c.hospital_days]
        premed = [{"x": left + (b.day - 1) * scale, "title": "C%d D%d premedication: %s" % (c.number, b.day, t)}
                  for b in c.bags for t in premedication(b)]
        rows.append({"y": y, "label": "Cycle %d" % c.number, "phase": c.phase["name"], "date": c.start.isoformat(),
                     "bags": bags, "free": free, "hosp": hosp, "premed": premed})
    ticks = [{"x": left + (d - 1) * scale, "label": str(d)} for d in range(1, max_len + 1, 7)]
    ticks.append({"x": left + max_len * scale, "label": ""})
    return {"width": WIDTH, "height": top + len(rows) * row_h + 8, "rows": rows, "ticks": ticks,
            "left": left, "top": top, "bar_h": 16}


def _opt(b):
    from host_tools.views.schedule import option_text
    return option_text(b.admin)


def _dose(b):
    from host_tools.views.course import dose_text
    return dose_text(b)


def bar_chart(items, label_w=250, bar_h=20, gap=6):
    """Horizontal bars: items = [(label, count, css class)]."""
    width = WIDTH
    top = 6
    most = max([n for _, n, _ in items] or [1]) or 1
    span = width - label_w - 60
    bars = [{"y": top + i * (bar_h + gap), "label": lab, "n": n, "cls": cls,
             "w": max(2.0, span * n / most), "x": label_w} for i, (lab, n, cls) in enumerate(items)]
    return {"width": width, "height": top + len(items) * (bar_h + gap) + 4, "bars": bars, "bar_h": bar_h,
            "label_w": label_w}


def event_timeline(events, lanes):
    """Events along the log: x = position (clock when the records have one,
    else sequence number); one lane per event kind."""
    left, right, lane_h, top = 150, 16, 26, 24
    if not events:
        return None
    xs = [e["x"] for e in events]
    lo, hi = min(xs), max(xs)
    span = (hi - lo) or 1
    scale = (WIDTH - left - right) / span
    lane_y = {name: top + i * lane_h for i, name in enumerate(lanes)}
    marks = [{"x": left + (e["x"] - lo) * scale, "y": lane_y[e["lane"]], "cls": e["cls"], "title": e["title"]}
             for e in events if e["lane"] in lane_y]
    step = 1
    while span / step > 8:
        step = step * 5 // 2 if str(step)[0] == "2" else step * 2
    ticks = [{"x": left + (v - lo) * scale, "label": "%d" % v}
             for v in range((lo // step) * step, hi + 1, step) if v >= lo]
    return {"width": WIDTH, "height": top + len(lanes) * lane_h + 26, "marks": marks, "ticks": ticks,
            "lanes": [{"name": n, "y": y} for n, y in lane_y.items()], "left": left, "axis_y": top + len(lanes) * lane_h}
