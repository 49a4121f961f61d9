"""Compile the drug rules (druglib/*.toml) into the library MODEL.

Public API:
    load_rules(root_dir="druglib") -> model dict   (raises RulesError / LintError)
    rules_sha256(root_dir="druglib") -> 32 bytes   (hash of the manifest + drug files)
    check_sources(root_dir="druglib", repo_root=None) -> list of problems with the
        pinned sources (monograph / label facts), for review tools and tests.

The model is plain data, integers and strings only (no float, no Decimal), with
the unit in every key name. Its shape is a fixed interface (docs/rules.md,
"The compiled model"); every value is derived from the TOML, nothing is a
default of this code.

Steps: read (rules_toml) -> validate (rules_schema) -> lint (rules_lint) -> model.
"""
import hashlib
import os
import struct

from host_tools.errors import LintError, RulesError
from host_tools.rules.lint import lint
from host_tools.rules.schema import _CITE_DOC, DRUG_FILE, MANIFEST, PARAMETERS, validate
from host_tools.rules.tomlread import read_toml

MANIFEST_NAME = "library.toml"
HASH_DOMAIN = b"druglib-rules-sha256-v1\x00"


def _manifest(root_dir):
    path = os.path.join(root_dir, MANIFEST_NAME)
    data, lines = read_toml(path)
    man = validate(data, path, lines, MANIFEST, {})
    _unique_drug_names(root_dir, path, lines, man)
    if len(man["drug_files"]) != 1:
        raise RulesError(path, "drug_files", lines.line(("drug_files",)),
                         "library format v1 holds exactly one drug: list one drug file")
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
    """Validated and linted rules: (manifest, drug document, derived values)."""
    man, _ = _manifest(root_dir)
    counts = {"source": man["source"]["line_count"], "supplement": man["supplement"]["line_count"]}
    (path,) = _drug_files(root_dir, man)
    data, lines = read_toml(path)
    doc = validate(data, path, lines, DRUG_FILE, counts)
    findings, derived = lint(doc, path, lines)
    if findings:
        raise LintError(findings)
    return man, doc, derived


def load_rules(root_dir="druglib"):
    man, doc, derived = load_document(root_dir)
    return {
        "library_name": man["library_name"],
        "library_version": man["library_version"],
        "rules_sha256": rules_sha256(root_dir),
        "drug": _drug_model(doc, derived),
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


def check_sources(root_dir="druglib", repo_root=None):
    """Compare the rules with the pinned source texts, where those are present.

    Returns a list of problems (empty = all good): a source whose SHA-256 or
    line count differs from the manifest, and any `as_written` text (regimen
    lines, resolutions, hospitalization, premedication) that is not on the
    monograph line its table cites. Missing source files are reported too.
    """
    repo_root = repo_root or os.path.dirname(os.path.abspath(root_dir))
    man, doc, _ = load_document(root_dir)
    problems = []
    texts = {}
    for key in ("source", "supplement"):
        src = man[key]
        path = os.path.normpath(os.path.join(repo_root, src["file"]))
        try:
            with open(path, "rb") as f:
                raw = f.read()
        except OSError:
            problems.append("%s: %s not found" % (key, path))
            continue
        if hashlib.sha256(raw).hexdigest() != src["sha256"]:
            problems.append("%s: %s has changed (sha256 differs from library.toml): re-review the citations"
                            % (key, path))
        lines = raw.decode("utf-8").split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        if len(lines) != src["line_count"]:
            problems.append("%s: %s has %d lines, library.toml says %d" % (key, path, len(lines), src["line_count"]))
        texts[key] = lines
    mono = texts.get("source")
    if mono is None:
        return problems

    def quoted(node, text):
        nums = []
        for c in node["cite"]:
            m = _CITE_DOC.fullmatch(c)
            if m and not m.group("doc"):  # a monograph citation
                for part in m.group("lines").split(", "):
                    a, _, b = part.partition("-")
                    nums.extend(range(int(a), int(b or a) + 1))
        if not any(0 < n <= len(mono) and text in mono[n - 1] for n in nums):
            problems.append("line %d: %r is not on the monograph line(s) cited %s" % (node["_line"], text, nums))

    for ind in doc["indication"]:
        for r in ind["regimen"]:
            quoted(r, r["as_written"])
            for e in r["dose"]:
                if "resolution" in e:
                    quoted(r, e["resolution"]["as_written"])
        for h in ind["hospitalization"] + ind["premedication"]:
            quoted(h, h["as_written"])
    return problems
