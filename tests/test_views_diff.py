"""`druglib inspect --html` and `druglib diff`: the library as the approver
signs it, and what changed between two libraries (old and new value, citation)."""
import json
import os
import subprocess

import pytest

from host_tools.library.files import load_library
from host_tools.views import librarydoc
from host_tools.views.diff import diff
from libfixtures import real_library_bytes
from test_views_schedule import DRUGLIB
from viewdata import changed_library

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RULES = os.path.join(ROOT, "druglib")


def run(*args):
    return subprocess.run([DRUGLIB] + list(args), capture_output=True, text=True, timeout=120, cwd=ROOT)


@pytest.fixture(scope="module")
def libs(tmp_path_factory):
    """v1 from druglib/; v2 from a copy whose preservative soft limit pharmacy moved 22 -> 10 kg."""
    d = tmp_path_factory.mktemp("diff")
    old = d / "v1.lib"
    old.write_bytes(real_library_bytes())
    new, rules2 = changed_library(d, RULES)
    return str(old), str(new), str(rules2), d


def doc(path, rules=(RULES,)):
    blob, c, lib = load_library(path)
    return librarydoc.document(blob, c, lib, list(rules))


def test_a_library_diffed_with_itself_is_empty(libs):
    old = libs[0]
    d = diff(doc(old), doc(old))
    assert d["identical"] and d["changes"] == [] and d["header"] == []
    r = run("diff", old, old)
    assert r.returncode == 0 and r.stdout.strip() == "identical"
    j = run("diff", old, old, "--json")
    assert j.returncode == 0 and json.loads(j.stdout)["changes"] == []


def test_a_changed_limit_shows_old_and_new_value_and_its_citation(libs):
    old, new, rules2, d = libs
    r = run("diff", old, new, "--json", "--rules", RULES, "--rules", rules2)
    assert r.returncode == 1, r.stderr
    out = json.loads(r.stdout)
    assert not out["identical"]
    (change,) = out["changes"]
    assert change["kind"] == "changed" and change["id"] == "limit/preservative_min_weight_g"
    assert (change["old"], change["new"], change["new_enforcement"]) == ("22 kg", "10 kg", "soft")
    assert "Usual Pediatric Dose > Comments, line 59" in change["cite"]
    assert {h["name"] for h in out["header"]} >= {"version", "rules sha256", "file sha256"}
    text = run("diff", old, new, "--rules", RULES, "--rules", rules2)
    assert text.returncode == 1 and "22 kg -> 10 kg" in text.stdout and "line 59" in text.stdout
    page = d / "diff.html"
    h = run("diff", old, new, "--html", str(page), "--rules", RULES, "--rules", rules2)
    assert h.returncode == 1 and "1 change" in h.stdout
    html = page.read_text()
    assert "22 kg" in html and "10 kg" in html and "Usual Pediatric Dose &gt; Comments, line 59" in html


def test_added_and_removed_limits(libs):
    a = doc(libs[0])
    b = dict(a, rows=[r for r in a["rows"] if r["id"] != "limit/weight_max_g"])
    d = diff(a, b)
    assert [(c["kind"], c["id"], c["old"], c["new"]) for c in d["changes"]] == [
        ("removed", "limit/weight_max_g", "350 kg", None)]
    d = diff(b, a)
    assert [(c["kind"], c["new"]) for c in d["changes"]] == [("added", "350 kg")]
    assert d["changes"][0]["cite"] == ["pharmacy decision > plausibility range for weight"]


def test_citations_only_from_the_rules_the_library_was_built_from(libs):
    old, new, rules2, _ = libs
    assert doc(new)["cited_from"] is None  # druglib/ has another hash than v2's rules
    assert all(r["cite"] == [] for r in doc(new)["rows"])
    assert doc(new, (RULES, rules2))["cited_from"] == rules2
    rows = {r["id"]: r for r in doc(old)["rows"]}
    assert rows["limit/max_daily_ng"]["value"] == "28 mcg/day" and rows["limit/max_daily_ng"]["enforcement"] == "hard"
    assert "Other Comments > Administration advice, line 113" in rows["admin/7d/filter"]["cite"]
    assert rows["ind/relapsed-refractory/dose/c1-1/d1-7"]["value"] == "step dose"
    assert any("line 17" in c for c in rows["ind/relapsed-refractory/dose/c1-1/d1-7"]["cite"])


def test_inspect_html_shows_every_limit_with_citation_and_signers(libs, tmp_path):
    from conftest_signing import Kit

    kit = Kit(tmp_path, version=3)
    page = tmp_path / "lib.html"
    r = run("inspect", kit.lib_path, "--html", str(page))
    assert r.returncode == 0, r.stderr
    html = page.read_text()
    assert "author" in html and "approver" in html and "Unsigned" not in html
    checked = tmp_path / "checked.html"
    r = run("inspect", kit.lib_path, "--html", str(checked), "--trust", kit.trust_path)
    assert r.returncode == 0 and "release verified" in r.stdout
    assert "Verified with the pump's own release verifier" in checked.read_text()
    tampered = tmp_path / "tampered.lib"
    blob = bytearray(kit.blob)
    blob[-1] ^= 1  # one bit of the approver's signature: the limits still decode, the release does not verify
    tampered.write_bytes(bytes(blob))
    r = run("inspect", str(tampered), "--html", str(checked), "--trust", kit.trust_path)
    assert r.returncode == 0 and "REFUSED: SIG_INVALID" in r.stdout, r.stdout + r.stderr
    assert "The pump would REFUSE this library: SIG_INVALID" in checked.read_text()
    unsigned = tmp_path / "unsigned.html"
    assert run("inspect", libs[0], "--html", str(unsigned)).returncode == 0
    html = unsigned.read_text()
    assert "Unsigned" in html and "Other Comments &gt; Administration advice, line 111" in html
    assert html.count('<tr id="limit/') == len(load_library(libs[0])[2]["drugs"][0]["limits"])


def test_diff_usage_errors_are_one_line(libs, tmp_path):
    r = run("diff", libs[0], str(tmp_path / "missing.lib"))
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and "does not exist" in r.stderr
    junk = tmp_path / "junk.lib"
    junk.write_bytes(b"not a library")
    r = run("diff", libs[0], str(junk))
    assert r.returncode not in (0, 1) and "not a usable library" in r.stderr and "Traceback" not in r.stderr
