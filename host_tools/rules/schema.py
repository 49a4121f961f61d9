"""The schema of the rule files, and the validator that enforces it.

Validation is structural: types, required and unknown keys, units, ranges,
citations. Every mistake raises RulesError(file, key path, line, message).
Contradictions between valid values are the linter's job (rules_lint.py).

The validator returns the same tree with values converted: quantities become
`Quantity` (integer in the target unit + unit and text as written), [a, b]
ranges become tuples, a citation becomes a list of strings; every table gets
"_path" (key path tuple) and "_line".
"""
import datetime
import re

from host_tools.errors import RulesError
from host_tools.rules.tomlread import format_key, parse_quantity, typename

ENFORCEMENTS = ("hard", "soft", "advisory", "reference")
LEVELS = ("step", "target")
RULES = ("required", "forbidden", "allowed")
POPULATIONS = ("adult", "pediatric", "all")
PHASES = ("induction", "consolidation", "continued")

# Named parameters: name -> (quantity kind, enforcement the device gives it, model key).
PARAMETERS = {
    "weight_band": ("weight_g", "hard", "weight_band_g"),
    "min_age": ("age_days", "hard", "min_age_days"),
    "min_age_confirm": ("age_days", "soft", "min_age_confirm_days"),
    "max_daily_dose": ("fixed_ng_day", "hard", "max_daily_ng"),
    "max_daily_rounding_allowance": ("ppm", "hard", "max_daily_allowance_ppm"),
    "dose_tolerance_soft": ("ppm", "soft", "dose_soft_ppm"),
    "dose_tolerance_hard": ("ppm", "hard", "dose_hard_ppm"),
    "vtbi_tolerance": ("volume_ul", "hard", "vtbi_tolerance_ul"),
    "preservative_min_weight": ("weight_g", "soft", "preservative_min_weight_g"),
    "preservative_hard_min_weight": ("weight_g", "hard", "preservative_hard_min_weight_g"),
    "weight_min": ("weight_g", "hard", "weight_min_g"),
    "weight_max": ("weight_g", "hard", "weight_max_g"),
    "bsa_min": ("bsa_cm2", "hard", "bsa_min_cm2"),
    "bsa_weight_coefficient": ("bsa_coefficient_cm2", "hard", "bsa_weight_k_cm2"),
    "bsa_weight_under": ("ppm", "soft", "bsa_weight_under_ppm"),
    "bsa_weight_over": ("ppm", "soft", "bsa_weight_over_ppm"),
    "bsa_weight_hard_under": ("ppm", "hard", "bsa_weight_hard_under_ppm"),
    "bsa_weight_hard_over": ("ppm", "hard", "bsa_weight_hard_over_ppm"),
    "bsa_height_tolerance": ("bsa_cm2", "hard", "bsa_height_tolerance_cm2"),
    "height_min": ("height_mm", "hard", "height_min_mm"),
    "height_max": ("height_mm", "hard", "height_max_mm"),
    "priming_volume": ("volume_ul", "soft", "priming_volume_ul"),
    "bsa_max": ("bsa_cm2", "hard", "bsa_max_cm2"),
    "age_max": ("age_days", "hard", "age_max_days"),
    "restart_step_duration": ("days", "advisory", "restart_step_days"),
    "interruption_continue_max": ("days", "advisory", "interruption_continue_max_days"),
    "reinitiation_min_interruption": ("duration_h", "advisory", "reinitiation_hours"),
    "adult_min_age": ("age_days", "advisory", "adult_age_days"),
}

# Line/set rules: name -> enforcement the device gives it.
LINE_RULES = {
    "dehp_free": "hard",
    "dedicated_lumen": "advisory",
    "no_flush": "advisory",
    "no_saline_priming": "advisory",
    "constant_rate": "hard",
}

MAX_DAYS = 365
MAX_CYCLES = 99


# --- field specs -------------------------------------------------------------
class Spec:
    required = True

    def check(self, v, ctx, path):  # returns the converted value or raises
        raise NotImplementedError


class Opt(Spec):
    required = False

    def __init__(self, spec):
        self.spec = spec

    def check(self, v, ctx, path):
        return self.spec.check(v, ctx, path)


class Str(Spec):
    def __init__(self, pattern=None, what=None):
        self.pattern = re.compile(pattern) if pattern else None
        self.what = what

    def check(self, v, ctx, path):
        if not isinstance(v, str):
            ctx.fail(path, "wrong type: expected a string, got %s %r" % (typename(v), v))
        if not v.strip():
            ctx.fail(path, "empty string")
        if self.pattern and not self.pattern.fullmatch(v):
            ctx.fail(path, "%r is not %s" % (v, self.what or "valid here"))
        return v


class Int(Spec):
    def __init__(self, lo, hi):
        self.lo, self.hi = lo, hi

    def check(self, v, ctx, path):
        if isinstance(v, bool) or not isinstance(v, int):
            ctx.fail(path, "wrong type: expected an integer, got %s %r" % (typename(v), _show(v)))
        if not self.lo <= v <= self.hi:
            ctx.fail(path, "out of range: %d (allowed %d to %d)" % (v, self.lo, self.hi))
        return v


class Bool(Spec):
    def check(self, v, ctx, path):
        if not isinstance(v, bool):
            ctx.fail(path, "wrong type: expected true or false, got %s %r" % (typename(v), _show(v)))
        return v


class Enum(Spec):
    def __init__(self, *choices):
        self.choices = choices

    def check(self, v, ctx, path):
        if not isinstance(v, str):
            ctx.fail(path, "wrong type: expected a string, got %s %r" % (typename(v), _show(v)))
        if v not in self.choices:
            ctx.fail(path, "%r is not one of %s" % (v, ", ".join(self.choices)))
        return v


class Qty(Spec):
    def __init__(self, kind, lo=1, hi=None):
        self.kind, self.lo, self.hi = kind, lo, hi

    def check(self, v, ctx, path):
        try:
            q = parse_quantity(v, self.kind)
        except ValueError as e:
            ctx.fail(path, str(e))
        if q.value < self.lo or (self.hi is not None and q.value > self.hi):
            ctx.fail(path, "out of range: %s (must be %s)" % (
                q.text, "greater than zero" if self.lo == 1 and self.hi is None else
                "from %d to %s in the library's integer unit" % (self.lo, self.hi)))
        return q


class Range(Spec):
    """[first, last], integers, both inclusive, first <= last."""

    def __init__(self, lo, hi):
        self.lo, self.hi = lo, hi

    def check(self, v, ctx, path):
        if not isinstance(v, list) or len(v) != 2:
            ctx.fail(path, "wrong type: expected [first, last], got %s %r" % (typename(v), _show(v)))
        for k, x in enumerate(v):
            Int(self.lo, self.hi).check(x, ctx, path + (k,))
        if v[0] > v[1]:
            ctx.fail(path, "range [%d, %d] ends before it starts" % (v[0], v[1]))
        return (v[0], v[1])


class StrList(Spec):
    def __init__(self, item=None):
        self.item = item or Str()

    def check(self, v, ctx, path):
        if not isinstance(v, list) or not v:
            ctx.fail(path, "wrong type: expected a non-empty array of strings, got %s %r" % (typename(v), _show(v)))
        out = [self.item.check(x, ctx, path + (k,)) for k, x in enumerate(v)]
        if len(set(out)) != len(out):
            ctx.fail(path, "duplicate entries in %r" % (out,))
        return out


_LINES = r"lines? (?P<lines>\d+(?:-\d+)?(?:, \d+(?:-\d+)?)*)"
_CITE_DOC = re.compile(r"(?P<doc>label-facts\.md > )?(?P<section>\S.*?), " + _LINES)
_CITE_DECISION = re.compile(r"(issue \d+|pharmacy decision) > \S.*")
# A published source outside the monograph (e.g. a BSA formula): "literature > <reference>".
_CITE_LITERATURE = re.compile(r"literature > \S.*\d{4}.*")


class Cite(Spec):
    """A citation or a non-empty list of them (grammar in docs/rules.md)."""

    def check(self, v, ctx, path):
        items = v if isinstance(v, list) else [v]
        if not items or not all(isinstance(x, str) for x in items):
            ctx.fail(path, "missing citation: cite must be a string or a non-empty array of strings")
        for k, c in enumerate(items):
            p = path + (k,) if isinstance(v, list) else path
            if _CITE_DECISION.fullmatch(c):
                ctx.decision_cited = True
                continue
            if _CITE_LITERATURE.fullmatch(c):
                continue
            m = _CITE_DOC.fullmatch(c)
            if not m:
                ctx.fail(p, 'bad citation %r: write "<section> > <heading>, line N" (or lines N-M, N, M), '
                            '"label-facts.md > <section>, line N", "literature > <reference with its year>", '
                            'or "issue N > ..." / "pharmacy decision > ..." with a note' % c)
            source = "supplement" if m.group("doc") else "source"
            count = ctx.line_counts.get(source)
            for part in m.group("lines").split(", "):
                a, _, b = part.partition("-")
                a, b = int(a), int(b or a)
                if a < 1 or b < a or (count and b > count):
                    ctx.fail(p, "citation %r: line %s is not in the %s (lines 1-%s)"
                             % (c, part, "label facts" if m.group("doc") else "monograph", count))
        return list(items)


class Table(Spec):
    def __init__(self, fields):
        self.fields = fields

    def check(self, v, ctx, path):
        if not isinstance(v, dict):
            ctx.fail(path, "wrong type: expected a table, got %s %r" % (typename(v), _show(v)))
        for k in v:
            if k not in self.fields:
                ctx.fail(path + (k,), "unknown key %r (allowed here: %s)" % (k, ", ".join(self.fields)))
        out = {"_path": path, "_line": ctx.lines.line(path)}
        saved = ctx.decision_cited
        ctx.decision_cited = False
        for k, spec in self.fields.items():
            if k not in v:
                if spec.required:
                    what = "missing citation" if k == "cite" else "missing key"
                    ctx.fail(path + (k,), "%s %r in [%s]" % (what, k, format_key(path) or "top level"))
                continue
            out[k] = spec.check(v[k], ctx, path + (k,))
        if ctx.decision_cited and "note" not in v and "reason" not in v:
            ctx.fail(path + ("cite",), "a citation of a project decision needs a `note` saying why")
        ctx.decision_cited = saved
        return out


class Tables(Spec):
    """An array of tables ([[name]]), non-empty."""

    def __init__(self, table):
        self.table = table

    def check(self, v, ctx, path):
        if not isinstance(v, list) or not v or not all(isinstance(x, dict) for x in v):
            ctx.fail(path, "wrong type: expected one or more [[%s]] tables" % format_key(path))
        return [self.table.check(x, ctx, path + (k,)) for k, x in enumerate(v)]


class Named(Spec):
    """A table of named sub-tables; every name required, no other name allowed."""

    def __init__(self, tables):
        self.tables = tables

    def check(self, v, ctx, path):
        return Table(self.tables).check(v, ctx, path)


def _show(v):
    return str(v) if not isinstance(v, (str, list, dict)) else v


class Context:
    def __init__(self, file, lines, line_counts):
        self.file, self.lines, self.line_counts = file, lines, line_counts
        self.decision_cited = False

    def fail(self, path, message):
        raise RulesError(self.file, format_key(path) or None, self.lines.line(path), message)


# --- the schemas -------------------------------------------------------------
CITE = Cite()
NOTE = Opt(Str())
ENF = Enum(*ENFORCEMENTS)
CYCLES = Range(1, MAX_CYCLES)
DAYS = Range(1, MAX_DAYS)


def _param(kind, enforcement):
    return Table({"value": Qty(kind, lo=0 if kind == "ppm" else 1, hi=1000000 if kind == "ppm" else None),
                  "enforcement": Enum(enforcement), "note": NOTE, "cite": CITE})


RESOLUTION = Table({
    "finding": Str(r"[a-z0-9-]+", "a finding code (e.g. fixed-band-bsa-unit)"),
    "as_written": Str(),
    "resolved_dose": Qty("dose_ng_day"),
    "reason": Str(),
    "cite": CITE,
    "decision": Str(r"docs/adr/[0-9]{4}-[a-z0-9-]+\.md", "a decision record path docs/adr/NNNN-name.md"),
})

DOSE = Table({
    "days": DAYS,
    "level": Enum(*LEVELS),
    "dose": Qty("dose_ng_day"),
    "max": Opt(Qty("fixed_ng_day")),
    "resolution": Opt(RESOLUTION),
})

REGIMEN = Table({
    "section": Enum("adult", "pediatric"),
    "band": Enum("fixed", "bsa"),
    "phase": Enum(*PHASES),
    "cycles": CYCLES,
    "infusion_day_range": DAYS,
    "free_interval": Qty("days", lo=0),
    "free_day_range": DAYS,
    "as_written": Str(),
    "cite": CITE,
    "dose": Tables(DOSE),
})

INDICATION = Table({
    "id": Str(r"[a-z0-9-]+", "an identifier (lower case, digits, '-')"),
    "title": Str(),
    "max_cycles": Int(1, MAX_CYCLES),
    "cite": CITE,
    "phase": Tables(Table({"name": Enum(*PHASES), "cycles": CYCLES, "infusion_days": Int(1, MAX_DAYS),
                           "free_days": Int(0, MAX_DAYS), "note": NOTE, "cite": CITE})),
    "regimen": Tables(REGIMEN),
    "hospitalization": Tables(Table({"cycles": CYCLES, "days": DAYS, "enforcement": ENF,
                                     "as_written": Str(), "note": NOTE, "cite": CITE})),
    "premedication": Tables(Table({"population": Enum(*POPULATIONS), "cycles": CYCLES,
                                   "day": Int(1, MAX_DAYS), "enforcement": ENF, "drug_dose": Str(),
                                   "as_written": Str(), "note": NOTE, "cite": CITE})),
})

OPTION_RULE = Table({"options": StrList(), "rule": Enum(*RULES), "note": NOTE, "cite": CITE})

DRUG_FILE = Table({
    "schema": Int(1, 1),
    "drug": Table({"name": Str(r"[a-z0-9-]+", "a drug identifier (lower case)"), "brand": Str(),
                   "strength": Str(), "route": Str(), "cite": CITE,
                   # benchmark-only copies (bench/synthrules.py, issue 11 item 3):
                   # `druglib sign` refuses a library holding a synthetic drug
                   "synthetic": Opt(Bool())}),
    "parameter": Named({name: _param(kind, enf) for name, (kind, enf, _) in PARAMETERS.items()}),
    "line": Named({name: Table({"required": Bool(), "enforcement": Enum(enf), "note": NOTE, "cite": CITE})
                   for name, enf in LINE_RULES.items()}),
    "administration": Table({
        "option": Tables(Table({"id": Str(r"[a-z0-9-]+", "an option identifier"),
                                "duration": Qty("duration_h"), "rate": Qty("rate_ul_h"),
                                "volume_infused": Qty("volume_ul"), "note": NOTE, "cite": CITE})),
        "preservative_rule": Tables(OPTION_RULE),
        "filter_rule": Tables(OPTION_RULE),
    }),
    "restart": Table({"level": Enum(*LEVELS), "fixed_dose": Qty("fixed_ng_day"),
                      "bsa_dose": Qty("bsa_ng_m2_day"), "bsa_max": Qty("fixed_ng_day"),
                      "indications": StrList(), "enforcement": Enum("hard"), "note": NOTE, "cite": CITE}),
    "indication": Tables(INDICATION),
    "supervision": Tables(Table({"enforcement": ENF, "rule": Str(), "note": NOTE, "cite": CITE})),
    "dose_modification": Tables(Table({
        "event": Str(), "grade": Opt(Str()), "band": Opt(Enum("fixed", "bsa")), "action": Str(),
        "restart_dose": Opt(Qty("dose_ng_day")), "escalate_dose": Opt(Qty("dose_ng_day")),
        "escalate_after": Opt(Qty("days")), "enforcement": ENF, "rule": Str(), "note": NOTE, "cite": CITE})),
    "storage": Tables(Table({"item": Str(), "condition": Str(), "limit": Qty("duration_h"),
                             "bag_preservative": Opt(Bool()), "enforcement": ENF, "note": NOTE, "cite": CITE})),
    "reference": Tables(Table({"topic": Str(), "enforcement": ENF, "rule": Str(), "note": NOTE, "cite": CITE})),
    "out_of_scope": Tables(Table({"item": Str(), "reason": Str(), "cite": CITE})),
})


class Date(Str):
    def check(self, v, ctx, path):
        Str(r"\d{4}-\d{2}-\d{2}", "a date YYYY-MM-DD").check(v, ctx, path)
        try:
            datetime.date.fromisoformat(v)
        except ValueError:
            ctx.fail(path, "%r is not a calendar date" % v)
        return v


SHA256 = Str(r"[0-9a-f]{64}", "a SHA-256 in lower-case hex")
MANIFEST = Table({
    "schema": Int(1, 1),
    "library_name": Str(r"[a-z0-9][a-z0-9._-]{0,62}", "a library name (lower case, digits, . _ -; at most 63)"),
    "library_version": Int(1, 2 ** 31 - 1),
    "drug_files": StrList(Str(r"[a-z0-9][a-z0-9_-]*\.toml", "a file name in druglib/ ending in .toml")),
    "source": Table({"title": Str(), "publisher": Str(), "last_updated": Date(),
                     "last_updated_as_written": Str(), "file": Str(), "line_count": Int(1, 10 ** 6),
                     "sha256": SHA256, "cite": CITE}),
    "supplement": Table({"title": Str(), "file": Str(), "line_count": Int(1, 10 ** 6), "sha256": SHA256}),
})


def validate(data, file, lines, schema, line_counts):
    return schema.check(data, Context(file, lines, line_counts), ())
