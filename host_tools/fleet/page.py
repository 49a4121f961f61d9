"""`druglib fleet --html FILE`: the fleet report as one self-contained page.

Jinja2 with autoescape on (every pump id, ward and message comes from the
field and is escaped); no script, no external stylesheet, font or CDN: it
opens offline, on a ward PC, from a file.
"""
import jinja2

from host_tools import safetext

TEMPLATE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Pump fleet: drug library versions</title>
<style>
body { font-family: system-ui, sans-serif; margin: 1.5rem; color: #1b1b1b; }
h1 { font-size: 1.4rem; margin-bottom: .2rem; }
.sub { color: #555; margin-top: 0; }
.tiles { display: flex; gap: 1rem; flex-wrap: wrap; margin: 1rem 0; }
.tile { border: 1px solid #ccc; border-radius: 6px; padding: .6rem 1rem; min-width: 9rem; }
.tile b { display: block; font-size: 1.6rem; }
table { border-collapse: collapse; width: 100%; font-size: .92rem; }
th, td { border-bottom: 1px solid #ddd; padding: .35rem .5rem; text-align: left; vertical-align: top; }
th { background: #f3f3f3; }
.current { color: #0a6b2d; } .outdated { color: #8a5a00; } .refused, .offline { color: #a30000; }
.status { font-weight: 600; text-transform: uppercase; font-size: .8rem; }
.warn { border-left: 4px solid #a30000; background: #fff3f3; padding: .5rem .8rem; margin: .5rem 0; }
code { font-size: .85rem; }
</style>
</head>
<body>
<h1>Pump fleet: which drug library every pump runs</h1>
<p class="sub">Report made {{ r.generated_at }} from broker {{ r.broker }}. What a pump runs is what its ward
gateway reports; the pump itself verifies every library it is given.</p>
{% for w in r.warnings %}<p class="warn">{{ w }}</p>{% endfor %}
<div class="tiles">
  <div class="tile">newest library<b>{% if r.newest.version %}v{{ r.newest.version }}{% else %}none{% endif %}</b></div>
  <div class="tile">on the newest<b>{% if r.summary.share_on_newest is not none %}{{ "%.0f" % (100 * r.summary.share_on_newest) }} %{% else %}-{% endif %}</b>{{ r.summary.on_newest }} of {{ r.summary.pumps }} pumps</div>
  <div class="tile">outdated<b>{{ r.summary.outdated }}</b></div>
  <div class="tile">refused<b>{{ r.summary.refused }}</b></div>
  <div class="tile">offline<b>{{ r.summary.offline }}</b></div>
</div>
{% if r.release %}
<p>On the broker: <b>{{ r.release.library or "library" }} version {{ r.release.version }}</b>,
sha256 <code>{{ r.release.sha256 }}</code>, {{ r.release.bytes }} bytes{% if r.release.published_at %},
published {{ r.release.published_at }} ({{ age(r.release.age_s) }} ago){% endif %}{% if r.release.verdict %};
trust store: {{ r.release.verdict }}{% endif %}.</p>
{% else %}<p>No library on the broker.</p>{% endif %}
<table>
<thead><tr><th>pump</th><th>ward</th><th>gateway / port</th><th>runs</th><th>status</th><th>last result</th><th>last seen</th></tr></thead>
<tbody>
{% for p in r.pumps %}<tr>
<td>{{ p.pump_id or "(never answered)" }}</td><td>{{ p.ward }}</td><td>{{ p.gateway }}<br><code>{{ p.port }}</code></td>
<td>{% if p.version %}v{{ p.version }}{% else %}no library{% endif %}{% if p.library_sha256 %}<br><code>{{ p.library_sha256[:16] }}</code>{% endif %}</td>
<td><span class="status {{ p.status }}">{{ p.status }}</span>{% if p.code %}<br>{{ p.code }}{% endif %}{% if p.offline_reason %}<br>{{ p.offline_reason }}{% endif %}</td>
<td>{% if p.last_result %}{{ p.last_result.outcome }} v{{ p.last_result.release_version }}{% if p.last_result.code %} {{ p.last_result.code }}{% endif %}{% if p.last_result.message %}<br>{{ p.last_result.message }}{% endif %}{% endif %}</td>
<td>{% if p.last_seen_age_s is not none %}{{ age(p.last_seen_age_s) }} ago{% else %}never{% endif %}</td>
</tr>{% endfor %}
</tbody>
</table>
<h2>Gateways</h2>
<table>
<thead><tr><th>ward</th><th>gateway</th><th>state</th><th>since</th><th>pumps</th></tr></thead>
<tbody>
{% for g in r.gateways %}<tr><td>{{ g.ward }}</td><td>{{ g.gateway }}</td>
<td class="{{ 'current' if g.online else 'offline' }}">{{ "online" if g.online else "offline" }}{% if g.reason %} ({{ g.reason }}){% endif %}</td>
<td>{{ g.since }}</td><td>{{ g.pumps }}</td></tr>{% endfor %}
</tbody>
</table>
</body>
</html>
"""


def age(seconds):
    if seconds is None:
        return "?"
    s = int(seconds)
    if s < 120:
        return "%d s" % s
    if s < 7200:
        return "%d min" % (s // 60)
    if s < 172800:
        return "%d h" % (s // 3600)
    return "%d days" % (s // 86400)


def render(report):
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined,
                             finalize=safetext.finalize)  # issue 10 item 5
    return env.from_string(TEMPLATE).render(r=report, age=age)
