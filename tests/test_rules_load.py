"""Every kind of mistake in a rules file gives RulesError naming file, key and line."""
import pytest

from host_tools.errors import RulesError
from host_tools.rules.compiler import load_rules
from host_tools.rules.tomlread import KeyLines, format_key, parse_quantity
from rules_helpers import DRUG, MANIFEST, copy_rules, edit, line_of


def load_error(root):
    with pytest.raises(RulesError) as ei:
        load_rules(str(root))
    return ei.value


def assert_error(err, name, key, line, *words):
    assert str(err.path).endswith(name), err
    assert err.key == key, err
    assert err.line == line, err
    for w in words:
        assert w in str(err), err
    # the one-line message names all three
    assert "%s:%d [%s]" % (name, line, key) in str(err)


# (description, old text, new text, expected key, words in the message)
DRUG_MISTAKES = [
    ("wrong type int", "max_cycles = 4\n", 'max_cycles = "4"\n', "indication[0].max_cycles", ["wrong type", "integer"]),
    ("wrong type bool", "required = true\nenforcement = \"hard\"\nnote = \"Incompatible",
     "required = 1\nenforcement = \"hard\"\nnote = \"Incompatible", "line.dehp_free.required", ["wrong type"]),
    ("float for a quantity", 'rate = "0.6 mL/h"', "rate = 0.6", "administration.option[2].rate", ["quantity string"]),
    ("float for an int", "max_cycles = 9\n", "max_cycles = 9.0\n", "indication[1].max_cycles", ["wrong type"]),
    ("unknown key", 'brand = "Blincyto"\n', 'brand = "Blincyto"\ncolour = "red"\n', "drug.colour", ["unknown key"]),
    ("bad unit", 'rate = "0.6 mL/h"', 'rate = "0.6 ml/h"', "administration.option[2].rate", ["bad unit", "mL/h"]),
    ("bad dose unit", 'value = "28 mcg/day"', 'value = "28 mg/day"', "parameter.max_daily_dose.value", ["bad unit"]),
    ("malformed decimal", 'rate = "0.6 mL/h"', 'rate = "0.6.1 mL/h"', "administration.option[2].rate",
     ["malformed decimal"]),
    ("exponent", 'volume_infused = "100.8 mL"', 'volume_infused = "1.008e2 mL"', "administration.option[2].volume_infused",
     ["malformed decimal"]),
    ("no space", 'rate = "0.6 mL/h"', 'rate = "0.6mL/h"', "administration.option[2].rate", ["<decimal> <unit>"]),
    ("not exact", 'rate = "0.6 mL/h"', 'rate = "0.6005 mL/h"', "administration.option[2].rate", ["not exact", "uL/h"]),
    ("out of range int", "max_cycles = 4\n", "max_cycles = 0\n", "indication[0].max_cycles", ["out of range"]),
    ("out of range quantity", 'value = "5 %"', 'value = "-5 %"', "parameter.dose_tolerance_soft.value", ["out of range"]),
    ("reversed range", "cycles = [2, 4]\ninfusion_days", "cycles = [4, 2]\ninfusion_days",
     "indication[0].phase[1].cycles", ["ends before it starts"]),
    ("bad enum", 'rule = "forbidden"\nnote = "For the 7-day', 'rule = "never"\nnote = "For the 7-day',
     "administration.filter_rule[1].rule", ["not one of"]),
    ("wrong enforcement", 'value = "22 kg"\nenforcement = "soft"', 'value = "22 kg"\nenforcement = "hard"',
     "parameter.preservative_min_weight.enforcement", ["not one of"]),
    ("citation out of range", "Uses, line 34", "Uses, line 934", "indication[0].cite[0]", ["not in the monograph"]),
    ("citation malformed", 'cite = "Other Comments > General, line 149"\n\n[[indication.phase]]\nname = "consolidation"',
     'cite = "see the label"\n\n[[indication.phase]]\nname = "consolidation"', "indication[1].phase[0].cite",
     ["bad citation"]),
    ("bsa coefficient in the wrong unit", 'value = "0.105 m2/kg^(2/3)"', 'value = "0.105 m2"',
     "parameter.bsa_weight_coefficient.value", ["bad unit", "m2/kg^(2/3)"]),
    ("label-facts citation out of range", "label-facts.md > Dosing, lines 20-22", "label-facts.md > Dosing, lines 20-99",
     "out_of_scope[1].cite", ["label facts"]),
]


@pytest.mark.parametrize("why,old,new,key,words", DRUG_MISTAKES, ids=[m[0] for m in DRUG_MISTAKES])
def test_drug_file_mistakes(tmp_path, why, old, new, key, words):
    root = copy_rules(tmp_path)
    line = edit(root, DRUG, old, new) + _offset(new, key)
    err = load_error(root)
    assert_error(err, DRUG, key, line, *words)


def _offset(new, key):
    """Lines from the start of the replacement to the line of `key` in it."""
    idx = new.find(key.split(".")[-1].split("[")[0] + " =")
    return new[:idx].count("\n") if idx >= 0 else 0


def test_missing_key_points_at_its_table(tmp_path):
    root = copy_rules(tmp_path)
    edit(root, DRUG, 'title = "Relapsed or refractory CD19-positive B-cell precursor ALL"\n', "")
    err = load_error(root)
    header = line_of(root, DRUG, "[[indication]]", nth=1)
    assert_error(err, DRUG, "indication[1].title", header, "missing key")


def test_missing_citation(tmp_path):
    root = copy_rules(tmp_path)
    edit(root, DRUG, 'cite = ["Other Comments > Administration advice, line 112", "Comments, line 27", '
                     '"label-facts.md > Administration, line 28"]\n', "")
    err = load_error(root)
    header = line_of(root, DRUG, "[[administration.option]]", nth=1)
    assert_error(err, DRUG, "administration.option[1].cite", header, "missing citation")


def test_missing_whole_parameter(tmp_path):
    root = copy_rules(tmp_path)
    text = (root / DRUG).read_text()
    start = text.index("[parameter.age_max]")
    end = text.index("[parameter.restart_step_duration]")
    (root / DRUG).write_text(text[:start] + text[end:])
    err = load_error(root)
    assert err.key == "parameter.age_max" and "missing key" in str(err)
    assert err.line == line_of(root, DRUG, "[parameter.weight_band]")


def test_decision_citation_needs_note(tmp_path):
    root = copy_rules(tmp_path)
    line = edit(root, DRUG, 'note = "Plausibility of the entered age (about 123 years; not a dosing rule)."\n', "")
    err = load_error(root)
    assert_error(err, DRUG, "parameter.age_max.cite", line, "note")


def test_resolution_needs_a_decision_record(tmp_path):
    root = copy_rules(tmp_path)
    line = edit(root, DRUG, 'decision = "docs/adr/0001-transcription-slip.md"', 'decision = "see email"')
    err = load_error(root)
    assert_error(err, DRUG, "indication[1].regimen[9].dose[0].resolution.decision", line, "decision record")


def test_toml_syntax_error_has_line(tmp_path):
    root = copy_rules(tmp_path)
    line = edit(root, DRUG, 'strength = "35 mcg"', 'strength = "35 mcg')
    err = load_error(root)
    assert err.line == line and "TOML syntax error" in str(err) and str(err.path).endswith(DRUG)


MANIFEST_MISTAKES = [
    ("version zero", "library_version = 1\n", "library_version = 0\n", "library_version", ["out of range"]),
    ("version float", "library_version = 1\n", "library_version = 1.0\n", "library_version", ["wrong type"]),
    ("bad date", 'last_updated = "2025-05-05"', 'last_updated = "2025-02-30"', "source.last_updated", ["calendar date"]),
    ("bad sha", 'sha256 = "6840', 'sha256 = "X840', "source.sha256", ["SHA-256"]),
    ("path in drug file", 'drug_files = ["blinatumomab.toml"]', 'drug_files = ["../blinatumomab.toml"]',
     "drug_files[0]", ["file name"]),
    # several drug files are allowed since issue 11 item 3 (each its own drug); none is not
    ("no drug", 'drug_files = ["blinatumomab.toml"]', 'drug_files = []', "drug_files", ["non-empty array"]),
    ("unknown key", "schema = 1\n", "schema = 1\nsigned = true\n", "signed", ["unknown key"]),
]


@pytest.mark.parametrize("why,old,new,key,words", MANIFEST_MISTAKES, ids=[m[0] for m in MANIFEST_MISTAKES])
def test_manifest_mistakes(tmp_path, why, old, new, key, words):
    root = copy_rules(tmp_path)
    line = edit(root, MANIFEST, old, new) + _offset(new, key)
    err = load_error(root)
    assert_error(err, MANIFEST, key, line, *words)


def test_missing_drug_file(tmp_path):
    root = copy_rules(tmp_path)
    (root / DRUG).unlink()
    err = load_error(root)
    assert str(err.path).endswith(DRUG) and "cannot read" in str(err)


def test_missing_manifest(tmp_path):
    err = load_error(tmp_path)
    assert str(err.path).endswith(MANIFEST)


# --- the line locator and the quantity parser on their own -------------------
def test_key_lines_tricky_toml():
    text = '\n'.join([
        'a = 1  # comment [x]',                  # 1
        'b = """',                                # 2
        '[not.a.table]',                          # 3
        'c = "not a key"',                        # 4
        '"""',                                    # 5
        'arr = [',                                # 6
        '  "x", # ]',                             # 7
        '  [1, 2],',                              # 8
        ']',                                      # 9
        '[[t]]',                                  # 10
        '"quoted key" = \'lit\'',                 # 11
        '[[t]]',                                  # 12
        'd.e = { f = 1 }',                        # 13
        '[[t.sub]]',                              # 14
        'g = """a\\"""b"""',                      # 15
        'h = 2',                                  # 16
    ]) + '\n'
    import tomllib
    tomllib.loads(text)
    kl = KeyLines(text)
    assert kl.line(("a",)) == 1 and kl.line(("b",)) == 2 and kl.line(("arr",)) == 6
    assert ("c",) not in kl.lines and ("not", "a", "table") not in kl.lines
    assert kl.line(("t", 0)) == 10 and kl.line(("t", 0, "quoted key")) == 11
    assert kl.line(("t", 1)) == 12 and kl.line(("t", 1, "d", "e")) == 13
    assert kl.line(("t", 1, "d", "e", "f")) == 13
    assert kl.line(("t", 1, "sub", 0)) == 14 and kl.line(("t", 1, "sub", 0, "h")) == 16
    assert kl.line(("t", 1, "missing")) == 12
    assert format_key(("t", 1, "sub", 0, "h")) == "t[1].sub[0].h"


@pytest.mark.parametrize("text,kind,value", [
    ("0.6 mL/h", "rate_ul_h", 600), ("10 mL/h", "rate_ul_h", 10000), ("100.8 mL", "volume_ul", 100800),
    ("7 days", "duration_h", 168), ("0.1 %", "ppm", 1000), ("3.5 m2", "bsa_cm2", 35000),
    ("0.5 kg", "weight_g", 500), ("15 mcg/m2/day", "bsa_ng_m2_day", 15000), ("0.05 mL", "volume_ul", 50),
    ("28.000 mcg/day", "fixed_ng_day", 28000),
])
def test_quantities_exact(text, kind, value):
    q = parse_quantity(text, kind)
    assert q.value == value and type(q.value) is int and q.text == text


@pytest.mark.parametrize("text,kind,words", [
    ("0.0001 mL/h", "rate_ul_h", "not exact"), ("1/2 kg", "weight_g", "malformed"), (".5 kg", "weight_g", "malformed"),
    ("5 lb", "weight_g", "bad unit"), ("5", "weight_g", "<decimal> <unit>"), ("nan kg", "weight_g", "malformed"),
    ("1e3 kg", "weight_g", "malformed"), ("0.1 h", "duration_h", "not exact"),
])
def test_quantities_rejected(text, kind, words):
    with pytest.raises(ValueError) as ei:
        parse_quantity(text, kind)
    assert words in str(ei.value)


def test_a_literature_citation_needs_its_year(tmp_path):
    # issue 8: the BSA formulas cite published sources, "literature > ... 1879 ..."
    root = copy_rules(tmp_path)
    edit(root, DRUG, '"literature > Meeh K. Oberflaechenmessungen des menschlichen Koerpers. Z Biol 1879;15:425-458"',
         '"literature > Meeh"')
    err = load_error(root)
    assert err.key == "parameter.bsa_weight_coefficient.cite[0]" and "bad citation" in str(err)
    text = (root / DRUG).read_text()
    at = text.index("cite = [", text.index("[parameter.bsa_weight_coefficient]"))
    assert err.line == text.count("\n", 0, at) + 1
