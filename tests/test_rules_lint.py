"""Each lint fires on a minimal contradicting variant of the real rules."""
import re

import pytest
from hypothesis import given, settings, strategies as st, HealthCheck

from host_tools.errors import LintError
from host_tools.rules.compiler import load_rules
from host_tools.rules.lint import _ranges
from rules_helpers import DRUG, copy_rules, edit, line_of

SLIP_RESOLUTION = (DRUG, '[indication.regimen.dose.resolution]\nfinding = "fixed-band-bsa-unit"\n', None)


def findings(root):
    with pytest.raises(LintError) as ei:
        load_rules(str(root))
    return ei.value.findings


def codes(fs):
    return {re.search(r"\] ([a-z0-9-]+): ", f).group(1) for f in fs}


def strip_resolution(root):
    text = (root / DRUG).read_text()
    start = text.index("[indication.regimen.dose.resolution]")
    end = text.index('decision = "docs/adr/0001-transcription-slip.md"\n') + len('decision = "docs/adr/0001-transcription-slip.md"\n')
    (root / DRUG).write_text(text[:start] + text[end:])


def test_slip_without_resolution_is_rejected(tmp_path):
    root = copy_rules(tmp_path)
    strip_resolution(root)
    fs = findings(root)
    assert codes(fs) == {"fixed-band-bsa-unit"}, fs
    (f,) = fs
    line = line_of(root, DRUG, 'dose = "28 mcg/m2/day"')
    assert "%s:%d [indication[1].regimen[9].dose[0].dose]" % (DRUG, line) in f
    assert "resolution record" in f


def test_resolution_must_name_the_finding(tmp_path):
    root = copy_rules(tmp_path)
    edit(root, DRUG, 'finding = "fixed-band-bsa-unit"', 'finding = "day-gap"')
    assert "resolution-finding-mismatch" in codes(findings(root))


def test_resolution_quotes_the_line(tmp_path):
    root = copy_rules(tmp_path)
    edit(root, DRUG, 'as_written = "28 mcg/m2 IV daily"', 'as_written = "28 mcg/kg IV daily"')
    assert codes(findings(root)) == {"resolution-as-written-mismatch"}


def test_stale_resolution_is_rejected(tmp_path):
    """A resolution on an entry that passes as written is an error (it could hide a change)."""
    root = copy_rules(tmp_path)
    edit(root, DRUG, 'dose = "28 mcg/m2/day"', 'dose = "28 mcg/day"')
    assert codes(findings(root)) == {"resolution-not-needed"}


def test_resolved_value_is_linted_too(tmp_path):
    root = copy_rules(tmp_path)
    edit(root, DRUG, 'resolved_dose = "28 mcg/day"', 'resolved_dose = "42 mcg/day"')
    c = codes(findings(root))
    assert "above-max-daily" in c and "level-inconsistent" in c


# (id, edits [(old, new, count)], expected code)
VARIANTS = [
    # (also replaces restart.bsa_dose and the dose modifications' restart_dose)
    ("step-above-target", [('dose = "5 mcg/m2/day"', 'dose = "20 mcg/m2/day"', None)],
     "step-above-target"),
    ("day-overlap", [('days = [1, 7]\nlevel = "step"\ndose = "9 mcg/day"', 'days = [1, 8]\nlevel = "step"\ndose = "9 mcg/day"', 1)],
     "day-overlap"),
    ("day-gap", [('days = [1, 7]\nlevel = "step"\ndose = "9 mcg/day"', 'days = [1, 6]\nlevel = "step"\ndose = "9 mcg/day"', 1)],
     "day-gap"),
    ("day-end", [('days = [1, 28]\nlevel = "target"\ndose = "28 mcg/day"', 'days = [1, 27]\nlevel = "target"\ndose = "28 mcg/day"', 1)],
     "day-end"),
    ("day-outside-infusion", [('days = [1, 28]\nlevel = "target"\ndose = "28 mcg/day"',
                               'days = [1, 29]\nlevel = "target"\ndose = "28 mcg/day"', 1)], "day-outside-infusion"),
    ("free-inside-infusion", [('free_day_range = [29, 42]', 'free_day_range = [28, 41]', 1)], "free-inside-infusion"),
    ("free-not-after-infusion", [('free_day_range = [29, 42]', 'free_day_range = [30, 43]', 1)], "free-not-after-infusion"),
    ("free-interval-length", [('free_interval = "14 days"\nfree_day_range = [29, 42]',
                               'free_interval = "14 days"\nfree_day_range = [29, 43]', 1)], "free-interval-length"),
    ("row-phase-days", [('free_interval = "56 days"\nfree_day_range = [29, 84]',
                         'free_interval = "14 days"\nfree_day_range = [29, 42]', 1)], "row-phase-days"),
    ("cycle-overlap", [('cycles = [2, 4]\ninfusion_day_range', 'cycles = [1, 4]\ninfusion_day_range', 1)], "cycle-overlap"),
    ("cycle-gap", [('cycles = [2, 4]\ninfusion_day_range', 'cycles = [3, 4]\ninfusion_day_range', 1)], "cycle-gap"),
    ("cycle-end", [("max_cycles = 4\n", "max_cycles = 5\n", 1)], "cycle-end"),
    ("phase-cycle-gap", [('cycles = [3, 5]\ninfusion_days = 28', 'cycles = [4, 5]\ninfusion_days = 28', 1)],
     "phase-cycle-gap"),
    ("row-phase-mismatch", [('phase = "consolidation"\ncycles = [3, 5]', 'phase = "continued"\ncycles = [3, 5]', 1)],
     "row-phase-mismatch"),
    ("bsa-cap-missing", [('dose = "15 mcg/m2/day"\nmax = "28 mcg/day"\n', 'dose = "15 mcg/m2/day"\n', 1)], "bsa-cap-missing"),
    ("bsa-cap-mismatch", [('max = "28 mcg/day"', 'max = "27 mcg/day"', None)], "bsa-cap-mismatch"),
    ("bsa-band-fixed-unit", [('dose = "15 mcg/m2/day"\nmax', 'dose = "15 mcg/day"\nmax', 1)], "bsa-band-fixed-unit"),
    ("fixed-band-cap", [('level = "step"\ndose = "9 mcg/day"\n', 'level = "step"\ndose = "9 mcg/day"\nmax = "9 mcg/day"\n', 1)],
     "fixed-band-cap"),
    ("above-max-daily", [('dose = "28 mcg/day"', 'dose = "30 mcg/day"', None),
                         ('max = "28 mcg/day"', 'max = "30 mcg/day"', None)], "above-max-daily"),
    ("level-inconsistent", [('dose = "28 mcg/day"', 'dose = "27 mcg/day"', 1)], "level-inconsistent"),
    ("band-schedule-mismatch", [('days = [1, 7]\nlevel = "step"\ndose = "5 mcg/m2/day"', 'days = [1, 6]\nlevel = "step"\ndose = "5 mcg/m2/day"', 1),
                                ('days = [8, 28]\nlevel = "target"\ndose = "15 mcg/m2/day"', 'days = [7, 28]\nlevel = "target"\ndose = "15 mcg/m2/day"', 1)],
     "band-schedule-mismatch"),
    ("section-mismatch", [('days = [1, 28]\nlevel = "target"\ndose = "28 mcg/m2/day"', 'days = [1, 7]\nlevel = "step"\ndose = "9 mcg/day"\n'
                           '[[indication.regimen.dose]]\ndays = [8, 28]\nlevel = "target"\ndose = "28 mcg/m2/day"', 1)],
     "section-mismatch"),
    ("level-order", [('days = [1, 7]\nlevel = "step"\ndose = "9 mcg/day"\n[[indication.regimen.dose]]\ndays = [8, 28]\nlevel = "target"\ndose = "28 mcg/day"',
                      'days = [1, 21]\nlevel = "target"\ndose = "28 mcg/day"\n[[indication.regimen.dose]]\ndays = [22, 28]\nlevel = "step"\ndose = "9 mcg/day"', None)],
     "level-order"),
    ("vtbi-mismatch", [('volume_infused = "100.8 mL"', 'volume_infused = "100 mL"', 1)], "vtbi-mismatch"),
    ("tolerance-above-10pct", [('value = "10 %"', 'value = "12 %"', 1)], "tolerance-above-10pct"),
    ("soft-above-hard", [('value = "5 %"', 'value = "10.5 %"', 1)], "soft-above-hard"),
    ("age confirm below hard", [('value = "31 days"', 'value = "27 days"', 1)], "soft-above-hard"),
    ("filter-conflict", [('options = ["7d"]\nrule = "forbidden"', 'options = ["7d", "24h"]\nrule = "forbidden"', 1)],
     "filter-conflict"),
    ("filter-missing", [('options = ["7d"]\nrule = "forbidden"', 'options = ["48h"]\nrule = "required"', 1)], "filter-missing"),
    ("preservative-conflict", [('options = ["7d"]\nrule = "required"', 'options = ["7d", "48h"]\nrule = "required"', 1)],
     "preservative-conflict"),
    ("unknown-option", [('options = ["7d"]\nrule = "forbidden"', 'options = ["7d", "72h"]\nrule = "forbidden"', 1)],
     "unknown-option"),
    ("admin-duplicate", [('duration = "7 days"', 'duration = "48 h"', 1), ('rate = "0.6 mL/h"', 'rate = "5 mL/h"', 1),
                         ('volume_infused = "100.8 mL"', 'volume_infused = "240 mL"', 1)], "admin-duplicate"),
    ("storage-shorter-than-infusion", [('limit = "7 days"', 'limit = "6 days"', 1)], "storage-shorter-than-infusion"),
    ("hospitalization-outside-infusion", [("days = [1, 9]", "days = [1, 30]", 1)], "hospitalization-outside-infusion"),
    ("hospitalization-outside-cycles", [("cycles = [2, 2]\ndays = [1, 2]", "cycles = [5, 5]\ndays = [1, 2]", 1)],
     "hospitalization-outside-cycles"),
    ("hospitalization-overlap", [("cycles = [2, 2]\ndays = [1, 2]", "cycles = [1, 1]\ndays = [2, 3]", 1)],
     "hospitalization-overlap"),
    ("premedication-outside-infusion", [('cycles = [1, 1]\nday = 8\nenforcement = "advisory"\ndrug_dose = "Dexamethasone 20 mg',
                                         'cycles = [1, 1]\nday = 29\nenforcement = "advisory"\ndrug_dose = "Dexamethasone 20 mg', 1)],
     "premedication-outside-infusion"),
    ("premedication-overlap", [('population = "pediatric"\ncycles = [1, 1]\nday = 8', 'population = "adult"\ncycles = [1, 1]\nday = 8', 1)],
     "premedication-overlap"),
    ("restart-dose-mismatch", [('fixed_dose = "9 mcg/day"', 'fixed_dose = "10 mcg/day"', 1)], "restart-dose-mismatch"),
    ("restart-indications", [('indications = ["mrd", "relapsed-refractory"]', 'indications = ["relapsed-refractory"]', 1)],
     "restart-indications"),
    ("dose-modification-mismatch", [('restart_dose = "9 mcg/day"', 'restart_dose = "10 mcg/day"', 1)],
     "dose-modification-mismatch"),
    ("escalation period", [('escalate_after = "7 days"', 'escalate_after = "8 days"', 1)], "dose-modification-mismatch"),
    ("range-empty", [('value = "350 kg"', 'value = "0.4 kg"', 1)], "range-empty"),
    ("outside-plausible", [('value = "22 kg"', 'value = "400 kg"', 1)], "outside-plausible"),
    ("infusion-start", [("infusion_day_range = [1, 28]", "infusion_day_range = [2, 28]", 1)], "infusion-start"),
    ("preservative-missing", [('options = ["7d"]\nrule = "required"', 'options = ["24h"]\nrule = "forbidden"', 1)],
     "preservative-missing"),
    ("storage-missing", [("bag_preservative = true", "bag_preservative = false", None)], "storage-missing"),
    ("duplicate-indication", [('id = "relapsed-refractory"', 'id = "mrd"', 1)], "duplicate-indication"),
    # issue 8: the BSA bands around the weight-based estimate
    ("bsa soft band outside the hard one", [('value = "25 %"', 'value = "55 %"', None)], "soft-above-hard"),
    ("bsa hard lower band of 100 %", [('value = "33 %"', 'value = "100 %"', 1)], "bsa-band-invalid"),
    ("height range empty", [('value = "30 cm"', 'value = "300 cm"', 1)], "range-empty"),
]


@pytest.mark.parametrize("why,edits,code", VARIANTS, ids=[v[0] for v in VARIANTS])
def test_lint_variant(tmp_path, why, edits, code):
    root = copy_rules(tmp_path)
    for old, new, count in edits:
        if old != new:
            edit(root, DRUG, old, new, count)
    fs = findings(root)
    assert code in codes(fs), fs
    for f in fs:  # every finding names file, line and key
        assert re.match(r".*%s:\d+ \[[a-z_]+.*\] [a-z0-9-]+: " % re.escape(DRUG), f), f


def test_lint_error_lists_every_finding(tmp_path):
    root = copy_rules(tmp_path)
    edit(root, DRUG, 'volume_infused = "100.8 mL"', 'volume_infused = "100 mL"')
    edit(root, DRUG, 'value = "10 %"', 'value = "12 %"')
    fs = findings(root)
    assert {"vtbi-mismatch", "tolerance-above-10pct"} <= codes(fs)


# --- day-range partitions: overlaps and gaps are found iff present -----------
class _Lines:
    def line(self, path):
        return 1


class _Fx:
    def __init__(self):
        self.items = []

    def add(self, node, code, message):
        self.items.append(code)


ranges_st = st.lists(st.tuples(st.integers(1, 30), st.integers(0, 10)).map(lambda t: (t[0], t[0] + t[1])),
                     min_size=0, max_size=8)


@settings(max_examples=400, deadline=None)
@given(ranges_st)
def test_day_partition_lint_matches_brute_force(ranges):
    items = sorted(ranges)
    fx = _Fx()
    ok = _ranges([(r, {"_path": ()}) for r in items], 1, 28, "day", {"_path": ()}, fx, "day")
    cover = {}
    for a, b in items:
        for d in range(a, b + 1):
            cover[d] = cover.get(d, 0) + 1
    overlap = any(n > 1 for n in cover.values())
    uncovered = any(d not in cover for d in range(1, 29)) or any(d > 28 for d in cover)
    assert ("day-overlap" in fx.items) == overlap
    assert bool({"day-gap", "day-end", "day-missing"} & set(fx.items)) == uncovered
    assert ok == (not overlap and not uncovered)


@st.composite
def partitions(draw):
    """A random exact partition of 1..28 into consecutive ranges."""
    cuts = sorted(draw(st.sets(st.integers(2, 28), max_size=6)))
    bounds = [1] + cuts + [29]
    return [(bounds[i], bounds[i + 1] - 1) for i in range(len(bounds) - 1)]


@settings(max_examples=200, deadline=None)
@given(partitions())
def test_exact_partitions_pass(parts):
    fx = _Fx()
    assert _ranges([(r, {"_path": ()}) for r in parts], 1, 28, "day", {"_path": ()}, fx, "day")
    assert fx.items == []


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(split=st.integers(2, 28))
def test_step_up_day_follows_the_data(tmp_path_factory, split):
    """Move the relapsed/refractory step-up day in all four lines: the model follows, lint stays clean."""
    root = copy_rules(tmp_path_factory.mktemp("split"))
    edit(root, DRUG, "days = [1, 7]", "days = [1, %d]" % (split - 1), None)
    edit(root, DRUG, "days = [8, 28]", "days = [%d, 28]" % split, None)
    model = load_rules(str(root))
    rr = model["drug"]["indications"][1]
    assert rr["schedule"][:2] == [
        {"cycle_from": 1, "cycle_to": 1, "day_from": 1, "day_to": split - 1, "dose": "step"},
        {"cycle_from": 1, "cycle_to": 1, "day_from": split, "day_to": 28, "dose": "target"},
    ]
