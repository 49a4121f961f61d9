"""`druglib build` checks the texts its rules cite (issue 10, item 4), and says
clearly what is wrong with its arguments (issue 7, "misleading errors").

Stories: a pharmacist edits a copy of the rules (a misquoted `as_written`, a
monograph that is not the one reviewed, a huge value, a file given as the
rules folder, the last possible version) and builds. Each build is refused
with one line naming the file and line, and nothing is written.
"""
import hashlib
import json
import os
import subprocess
import sys

import pytest

from conftest import ROOT, SHARED
from host_tools.errors import SourcesError
from host_tools.library.build import build_library
from rules_helpers import DRUG, DRUGLIB, MANIFEST, copy_rules, edit, line_of

DRUGLIB_EXE = os.path.join(os.path.dirname(sys.executable), "druglib")
SOURCES = {"blinatumomab-dosing.txt": os.path.join(SHARED, "seed", "blinatumomab-dosing.txt"),
           "label-facts.md": os.path.join(SHARED, "label-facts.md")}


def build(tmp_path, *args):
    return subprocess.run([DRUGLIB_EXE, "build"] + list(args), cwd=str(tmp_path), capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=120)


def refused(proc):
    """One line on stderr, no traceback, non-zero exit: returns the line."""
    assert proc.returncode != 0, proc.stdout
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    return lines[0]


def nothing_written(folder):
    assert not any(p.suffix in (".lib", ".bin") or p.name.startswith(".") and "tmp" in p.name
                   for p in folder.rglob("*")), sorted(map(str, folder.rglob("*")))


# --- the pinned sources travel with the rules ------------------------------------

def test_the_pinned_sources_are_the_manifest_s_and_in_the_repository():
    import tomllib
    with open(os.path.join(DRUGLIB, MANIFEST), "rb") as fh:
        man = tomllib.load(fh)
    for key in ("source", "supplement"):
        path = os.path.join(DRUGLIB, man[key]["file"])
        assert os.path.dirname(os.path.abspath(path)) == os.path.join(DRUGLIB, "sources"), path
        with open(path, "rb") as fh:
            assert hashlib.sha256(fh.read()).hexdigest() == man[key]["sha256"], path


def test_the_pinned_copies_are_byte_identical_to_the_shared_seed():
    if not os.path.isdir(SHARED):
        pytest.skip("../shared is not beside this checkout: the pinned copies cannot be compared with it")
    for name, shared in SOURCES.items():
        with open(os.path.join(DRUGLIB, "sources", name), "rb") as a, open(shared, "rb") as b:
            assert a.read() == b.read(), name


# --- issue 10, item 4: every build checks its quotations --------------------------

def test_a_misquoted_as_written_is_refused_naming_file_and_line(tmp_path):
    root = copy_rules(tmp_path)
    # arrange: a hospitalization quote with a wrong number, still consistent for the linter
    old = 'as_written = "For the first 3 days of the first cycle'
    line = edit(root, DRUG, old, old.replace("first 3 days", "first 4 days"))
    out = tmp_path / "out"
    out.mkdir()
    # attack: build it, through the command line and through the library function
    msg = refused(build(tmp_path, "--rules", str(root), "--out", str(out / "lib.bin")))
    assert "%s:%d [" % (root / DRUG, line) in msg and "first 4 days" in msg and "not on the monograph line" in msg
    with pytest.raises(SourcesError):
        build_library(rules_dir=str(root))
    nothing_written(out)


def test_a_monograph_that_is_not_the_one_reviewed_is_refused(tmp_path):
    root = copy_rules(tmp_path)
    mono = root / "sources" / "blinatumomab-dosing.txt"
    text = mono.read_text(encoding="utf-8")
    assert "Last updated on May 5, 2025." in text
    mono.write_text(text.replace("May 5, 2025", "May 6, 2025"), encoding="utf-8")  # no quotation touched
    out = tmp_path / "out"
    out.mkdir()
    msg = refused(build(tmp_path, "--rules", str(root), "--out", str(out / "lib.bin")))
    sha_line = line_of(root, MANIFEST, "sha256 = ")
    assert "%s:%d [source.sha256]" % (root / MANIFEST, sha_line) in msg and "not the pinned" in msg
    nothing_written(out)


def test_a_wrong_pinned_sha256_is_refused(tmp_path):
    root = copy_rules(tmp_path)
    good = hashlib.sha256((root / "sources" / "blinatumomab-dosing.txt").read_bytes()).hexdigest()
    line = edit(root, MANIFEST, good, "0" * 64)
    msg = refused(build(tmp_path, "--rules", str(root), "--out", str(tmp_path / "lib.bin")))
    assert "%s:%d [source.sha256]" % (root / MANIFEST, line) in msg and good in msg
    nothing_written(tmp_path)


def test_a_missing_pinned_source_is_refused(tmp_path):
    root = copy_rules(tmp_path)
    os.unlink(root / "sources" / "label-facts.md")
    msg = refused(build(tmp_path, "--rules", str(root), "--out", str(tmp_path / "lib.bin")))
    assert "[supplement.file]" in msg and "label-facts.md" in msg and "cannot be checked" in msg
    nothing_written(tmp_path)


def test_the_demo_compiles_through_the_same_check(tmp_path, monkeypatch):
    from host_tools import demo
    root = copy_rules(tmp_path)
    old = 'as_written = "For the first 3 days of the first cycle'
    edit(root, DRUG, old, old.replace("first 3 days", "first 4 days"))
    monkeypatch.chdir(tmp_path)  # ./druglib is the edited copy
    assert demo.main() == 1
    assert not (tmp_path / "out" / "blinatumomab-demo.lib").exists()
    assert not (tmp_path / "demo-keys").exists()


# --- misleading errors -------------------------------------------------------------

def test_rules_given_as_a_file_says_it_is_not_a_folder(tmp_path):
    msg = refused(build(tmp_path, "--rules", os.path.join(DRUGLIB, MANIFEST), "--out", "lib.bin"))
    assert "is a file, not a folder" in msg and "does not exist" not in msg
    nothing_written(tmp_path)


def test_a_huge_rule_value_names_its_file_line_and_key(tmp_path):
    root = copy_rules(tmp_path)
    line = edit(root, DRUG, 'value = "28 mcg/day"', 'value = "99999999999999999999 mcg/day"')
    msg = refused(build(tmp_path, "--rules", str(root), "--out", "lib.bin"))
    assert "%s:%d [parameter.max_daily_dose.value]" % (root / DRUG, line) in msg and "too large" in msg
    assert "argument out of range" not in msg
    nothing_written(tmp_path)


def test_build_version_n_names_the_library_after_n(tmp_path):
    proc = build(tmp_path, "--version", "7", "--out", "lib.bin", "--json")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert (doc["library_version"], doc["library_name"]) == (7, "blinatumomab-v7")
    shown = subprocess.run([DRUGLIB_EXE, "inspect", "lib.bin"], cwd=str(tmp_path), capture_output=True, text=True)
    assert "Library blinatumomab-v7  version 7" in shown.stdout


def test_the_last_u32_version_is_refused_and_says_why(tmp_path):
    msg = refused(build(tmp_path, "--version", "4294967295", "--out", "lib.bin"))
    assert "could never take another library" in msg and "4294967294" in msg
    nothing_written(tmp_path)
    proc = build(tmp_path, "--version", "4294967294", "--out", "lib.bin")
    assert proc.returncode == 0, proc.stderr


def test_build_says_which_rules_folder_it_used(tmp_path):
    proc = build(tmp_path, "--out", "lib.bin", "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["rules_dir"] == os.path.realpath(DRUGLIB) or \
        os.path.samefile(json.loads(proc.stdout)["rules_dir"], DRUGLIB)
    root = copy_rules(tmp_path)
    text = subprocess.run([DRUGLIB_EXE, "build", "--out", "lib2.bin"], cwd=str(tmp_path), capture_output=True,
                          text=True).stdout
    assert "rules folder   %s" % root in text  # ./druglib of the current folder wins


def test_inspect_refuses_a_file_larger_than_any_library(tmp_path):
    big = tmp_path / "big.lib"
    with open(big, "wb") as fh:
        fh.truncate(64 << 20)  # 64 MiB, sparse
    for target in (str(big), "/dev/zero"):
        proc = subprocess.run([DRUGLIB_EXE, "inspect", target], capture_output=True, text=True, timeout=60)
        assert "larger than" in refused(proc) and "too large to be a library" in proc.stderr


def test_an_empty_requests_file_is_an_error_not_silence(tmp_path):
    lib = tmp_path / "lib.bin"
    assert build(tmp_path, "--out", str(lib)).returncode == 0
    (tmp_path / "empty.jsonl").write_text("")
    (tmp_path / "blank.jsonl").write_text("\n  \n")
    for args, inp in ((["empty.jsonl"], ""), (["blank.jsonl"], ""), (["-"], "")):
        proc = subprocess.run([DRUGLIB_EXE, "check", "--library", str(lib)] + args, cwd=str(tmp_path), input=inp,
                              capture_output=True, text=True, timeout=60)
        assert "holds no requests" in refused(proc) and proc.stdout == ""


def test_the_shipped_example_requests_are_taken_as_they_are(tmp_path):
    lib = tmp_path / "lib.bin"
    assert build(tmp_path, "--out", str(lib)).returncode == 0
    example = os.path.join(ROOT, "examples", "requests.jsonl")
    proc = subprocess.run([DRUGLIB_EXE, "check", "--library", str(lib), example], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    with open(example) as fh:
        n = sum(1 for line in fh if line.strip())
    results = [json.loads(line) for line in proc.stdout.splitlines()]
    assert len(results) == n >= 5
    assert {r["verdict"] for r in results} == {"accept", "confirm", "reject"}
    for r in results:  # none is refused for a malformed request: every one reads as written
        assert not any(f["code"].startswith(("REQ_", "FIELD_", "UNKNOWN_")) for f in r["findings"]), r
