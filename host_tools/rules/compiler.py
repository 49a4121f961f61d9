"""Compile the drug rules (druglib/*.toml) into the library MODEL.

Public API:
    load_rules(root_dir="druglib") -> model dict   (raises RulesError / LintError / SourcesError)
    rules_sha256(root_dir="druglib") -> 32 bytes   (hash of the manifest + drug files)
    check_sources(root_dir="druglib") -> list of problems with the pinned sources
        (monograph / label facts, druglib/sources/); load_rules refuses any.

The model is plain data, integers and strings only (no float, no Decimal), with
the unit in every key name. Its shape is a fixed interface (docs/rules.md,
"The compiled model"); every value is derived from the TOML, nothing is a
default of this code.

Steps: read (tomlread) -> validate (schema) -> lint (lint) -> check sources -> model.
"""
import hashlib
import os
import struct

from host_tools.errors import LintError, RulesError, SourcesError
from host_tools.rules.lint import lint
from host_tools.rules.schema import _CITE_DOC, DRUG_FILE, MANIFEST, PARAMETERS, validate
from host_tools.rules.tomlread import Quantity, format_key, read_toml

MANIFEST_NAME = "library.toml"
HASH_DOMAIN = b"druglib-rules-sha256-v1\x00"
FORMAT_INT_MAX = 2 ** 31 - 1  # the widest value a format v1 limit field holds (signed 32-bit)


def _manifest(root_dir):
    path = os.path.join(root_dir, MANIFEST_NAME)
    data, lines = read_toml(path)
    man = validate(data, path, lines, MANIFEST, {})
    _unique_drug_names(root_dir, path, lines, man)
    # several drug files, each its own drug (issue 11 item 3): the library
    # format holds one T_DRUG record group per drug (docs/format.md)
    if not man["drug_files"]:
        raise RulesError(path, "drug_files", lines.line(("drug_files",)), "list at least one drug file")
    return man, path


def _unique_drug_names(root_dir, path, lines, man):
    """Two drug files naming the same drug: the pump would use one of them
    silently (issue 8). Refused whatever the format allows."""
    if len(man["drug_files"]) < 2:
        return
    seen = {}
    for name in man["drug_files"]:
        try:
            data, _ = read_toml(os.path.join(root_dir, name))
        except RulesError:
            continue  # reported with the file's own error where it is read
        drug = data.get("drug", {}).get("name") if isinstance(data.get("drug"), dict) else None
        if drug is None:
            continue  # the schema reports the missing [drug] table
        if drug in seen:
            raise RulesError(path, "drug_files", lines.line(("drug_files",)),
                             "drug %r is defined twice (%s and %s)" % (drug, seen[drug], name))
        seen[drug] = name


def _drug_files(root_dir, man):
    return [os.path.join(root_dir, name) for name in man["drug_files"]]


def rules_sha256(root_dir="druglib"):
    """SHA-256 over the manifest and the drug files it lists.

    Canonical order: the manifest (library.toml) first, then the drug files
    sorted by name (UTF-8 bytes). Each file contributes
        u32 big-endian length of its name | name (UTF-8, relative to root_dir)
        u64 big-endian length of its content | content (raw bytes)
    after the domain tag b"druglib-rules-sha256-v1\\0". Same files -> same hash.
    """
    man, _ = _manifest(root_dir)
    names = [MANIFEST_NAME] + sorted(man["drug_files"], key=lambda n: n.encode("utf-8"))
    h = hashlib.sha256(HASH_DOMAIN)
    for name in names:
        path = os.path.join(root_dir, name)
        try:
            with open(path, "rb") as f:
                content = f.read()
        except OSError as e:
            raise RulesError(path, None, None, "cannot read: %s" % (e.strerror or e))
        raw = name.encode("utf-8")
        h.update(struct.pack(">I", len(raw)) + raw + struct.pack(">Q", len(content)) + content)
    return h.digest()


def load_document(root_dir="druglib"):
    """Validated and linted rules: (manifest, first drug's document, its derived values)."""
    man, drugs = load_documents(root_dir)
    return man, drugs[0][1], drugs[0][2]


def load_documents(root_dir="druglib"):
    """Validated and linted rules: (manifest, [(drug file path, document, derived values)]),
    one per drug file in library.toml's order."""
    man, _ = _manifest(root_dir)
    counts = {"source": man["source"]["line_count"], "supplement": man["supplement"]["line_count"]}
    drugs = []
    for path in _drug_files(root_dir, man):
        data, lines = read_toml(path)
        doc = validate(data, path, lines, DRUG_FILE, counts)
        _check_fits(doc, path, lines)
        findings, derived = lint(doc, path, lines)
        if findings:
            raise LintError(findings)
        drugs.append((path, doc, derived))
    return man, drugs


def _check_fits(node, path, lines):
    """Every quantity must fit the library format's integer fields (docs/format.md:
    limits are signed 32-bit): a value too large is an error naming its key and
    line here, never a bare "argument out of range" from the encoder."""
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, v in items:
        if isinstance(v, Quantity):
            if not -FORMAT_INT_MAX - 1 <= v.value <= FORMAT_INT_MAX:
                where = node["_path"] + (key,)
                raise RulesError(path, format_key(where), lines.line(where),
                                 "%s is too large for the library format (at most %d in the library's integer "
                                 "unit)" % (v.text, FORMAT_INT_MAX))
        elif isinstance(v, (dict, list)):
            _check_fits(v, path, lines)


def load_rules(root_dir="druglib"):
    """The library model: every drug file compiled, each its own drug
    (model["drugs"]; model["drug"] is the first, for one-drug readers)."""
    man, drugs = load_documents(root_dir)
    problems = _source_problems(root_dir, man, drugs)  # issue 10: every compile checks its sources
    if problems:
        raise SourcesError(problems)
    models = [_drug_model(doc, derived) for _, doc, derived in drugs]
    return {
        "library_name": man["library_name"],
        "library_version": man["library_version"],
        "rules_sha256": rules_sha256(root_dir),
        "drug": models[0],
        "drugs": models,
        # issue 11 item 3: benchmark-only drugs; never signed for release
        "synthetic": 1 if any(doc["drug"].get("synthetic") for _, doc, _ in drugs) else 0,
    }


def _drug_model(doc, derived):
    limits = {model_key: doc["parameter"][name]["value"].value
              for name, (_, _, model_key) in PARAMETERS.items()}
    limits["dehp_free_required"] = 1 if doc["line"]["dehp_free"]["required"] else 0
    admin = []
    for o in sorted(doc["administration"]["option"], key=lambda o: o["duration"].value):
        rules = derived["admin"][o["id"]]
        admin.append({
            "duration_h": o["duration"].value,
            "rate_ul_h": o["rate"].value,
            "vtbi_ul": o["rate"].value * o["duration"].value,
            "preservative": rules["preservative"],
            "filter": rules["filter"],
        })
    return {
        "name": doc["drug"]["name"],
        "limits": dict(sorted(limits.items())),
        "doses": {name: dict(sorted(v.items())) for name, v in sorted(derived["levels"].items())},
        "restart_dose": doc["restart"]["level"],
        "admin": admin,
        "indications": [_indication_model(ind) for ind in doc["indication"]],
    }


def _indication_model(ind):
    # The linter proved all four (section, band) schedules identical per cycle;
    # the model takes the adult fixed-dose lines and merges consecutive cycles
    # whose day schedule is the same.
    rows = sorted((r for r in ind["regimen"] if r["section"] == "adult" and r["band"] == "fixed"),
                  key=lambda r: r["cycles"])
    runs = []  # [cycle_from, cycle_to, pattern]
    for r in rows:
        pattern = tuple((e["days"], e["level"]) for e in sorted(r["dose"], key=lambda e: e["days"]))
        c0, c1 = r["cycles"]
        if runs and runs[-1][2] == pattern and runs[-1][1] + 1 == c0:
            runs[-1][1] = c1
        else:
            runs.append([c0, c1, pattern])
    schedule = [{"cycle_from": c0, "cycle_to": c1, "day_from": d[0], "day_to": d[1], "dose": level}
                for c0, c1, pattern in runs for d, level in pattern]
    schedule.sort(key=lambda s: (s["cycle_from"], s["day_from"]))
    phases = [{"name": p["name"], "cycle_from": p["cycles"][0], "cycle_to": p["cycles"][1],
               "infusion_days": p["infusion_days"], "free_days": p["free_days"]}
              for p in sorted(ind["phase"], key=lambda p: p["cycles"])]
    hosp = sorted(({"cycle_from": h["cycles"][0], "cycle_to": h["cycles"][1],
                    "day_from": h["days"][0], "day_to": h["days"][1]} for h in ind["hospitalization"]),
                  key=lambda h: (h["cycle_from"], h["day_from"], h["cycle_to"], h["day_to"]))
    premed = sorted(({"cycle_from": p["cycles"][0], "cycle_to": p["cycles"][1], "day": p["day"],
                      "population": p["population"]} for p in ind["premedication"]),
                    key=lambda p: (p["cycle_from"], p["day"], p["population"], p["cycle_to"]))
    return {"name": ind["id"], "max_cycles": ind["max_cycles"], "phases": phases, "schedule": schedule,
            "hospitalization": hosp, "premedication": premed}


def check_sources(root_dir="druglib"):
    """Compare the rules with the pinned source texts (library.toml [source], [supplement]).

    Returns a list of problems (empty = all good), each "FILE:LINE [key]: message":
    a source file that is missing, or whose SHA-256 or line count differs from
    library.toml, and any `as_written` text (regimen lines, resolutions,
    hospitalization, premedication) that is not on a monograph line its table
    cites. Source `file` paths are relative to root_dir (the pinned copies in
    druglib/sources/). load_rules refuses rules with any of these problems.
    """
    man, drugs = load_documents(root_dir)
    return _source_problems(root_dir, man, drugs)


def _source_problems(root_dir, man, drugs):
    man_path = os.path.join(root_dir, MANIFEST_NAME)
    _, man_lines = read_toml(man_path)
    problems = []

    def problem(path, lines, key, message):
        problems.append("%s:%d [%s]: %s" % (path, lines.line(key), format_key(key), message))

    texts = {}
    for key in ("source", "supplement"):
        src = man[key]
        path = os.path.normpath(os.path.join(root_dir, src["file"]))
        try:
            with open(path, "rb") as f:
                raw = f.read()
        except OSError as e:
            problem(man_path, man_lines, (key, "file"), "cannot read %s: %s; the quotations cannot be checked"
                    % (path, e.strerror or e))
            continue
        digest = hashlib.sha256(raw).hexdigest()
        if digest != src["sha256"]:
            problem(man_path, man_lines, (key, "sha256"), "%s has sha256 %s, not the pinned %s: it is not the text "
                    "that was reviewed; re-review the citations" % (path, digest, src["sha256"]))
        lines = raw.decode("utf-8", "replace").split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        if len(lines) != src["line_count"]:
            problem(man_path, man_lines, (key, "line_count"), "%s has %d lines, not %d"
                    % (path, len(lines), src["line_count"]))
        texts[key] = lines
    mono = texts.get("source")
    if mono is None:
        return problems
    for drug_path, doc, _ in drugs:
        _quotations(problem, mono, drug_path, doc)
    return problems


def _quotations(problem, mono, drug_path, doc):
    _, drug_lines = read_toml(drug_path)

    def quoted(node, key, text):
        nums = []
        for c in node["cite"]:
            m = _CITE_DOC.fullmatch(c)
            if m and not m.group("doc"):  # a monograph citation
                for part in m.group("lines").split(", "):
                    a, _, b = part.partition("-")
                    nums.extend(range(int(a), int(b or a) + 1))
        if not any(0 < n <= len(mono) and text in mono[n - 1] for n in nums):
            problem(drug_path, drug_lines, key, "%r is not on the monograph line(s) its table cites %s"
                    % (text, nums))

    for ind in doc["indication"]:
        for r in ind["regimen"]:
            quoted(r, r["_path"] + ("as_written",), r["as_written"])
            for e in r["dose"]:
                if "resolution" in e:
                    res = e["resolution"]
                    quoted(r, res["_path"] + ("as_written",), res["as_written"])
        for h in ind["hospitalization"] + ind["premedication"]:
            quoted(h, h["_path"] + ("as_written",), h["as_written"])
