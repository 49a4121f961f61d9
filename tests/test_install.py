"""INSTALL TEST (slow, about 30 s; needs the package index or pip's cache):
`pip install .` (not editable) into a fresh virtual environment OUTSIDE the
repository, then the installed `druglib` is used from a folder that holds no
rules, as a user who never saw this checkout would (issue 7, "installable").

It installs a copy of the files git tracks (so nothing untracked can make it
pass), then runs: --version, build (the packaged rules, which it names, with
their pinned sources checked), check (both engines), keygen, sign, verify,
and a simulated pump (the firmware under the MicroPython unix port, loaded
from site-packages) that takes a push and answers info.

Set DRUGLIB_SKIP_INSTALL_TEST=1 to skip it (it says so) on a machine offline.
"""
import json
import os
import shutil
import signal
import subprocess
import sys

import pytest

from conftest import ROOT
from treecopy import tracked_copy

if os.environ.get("DRUGLIB_SKIP_INSTALL_TEST"):
    pytest.skip("DRUGLIB_SKIP_INSTALL_TEST is set: pip install . into a fresh venv NOT tested",
                allow_module_level=True)


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    base = tmp_path_factory.mktemp("install")
    assert not str(base).startswith(ROOT + os.sep)
    src, venv, desk = base / "src", base / "venv", base / "desk"
    tracked_copy(str(src))
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    proc = subprocess.run([sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install",
                           "--quiet", "--disable-pip-version-check", str(src)], capture_output=True, text=True,
                          timeout=900)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    shutil.rmtree(src)  # the installed package must not need the source tree
    desk.mkdir()
    return venv / "bin", desk


def run(installed, *args, **kw):
    bin_dir, desk = installed
    env = dict(os.environ, PATH=str(bin_dir) + os.pathsep + os.environ.get("PATH", ""))
    env.pop("PYTHONPATH", None)
    if "input" not in kw:
        kw["stdin"] = subprocess.DEVNULL
    return subprocess.run([str(bin_dir / "druglib")] + list(args), cwd=str(desk), capture_output=True, text=True,
                          env=env, timeout=300, **kw)


def ok(proc):
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def test_version(installed):
    import tomllib
    with open(os.path.join(ROOT, "pyproject.toml"), "rb") as fh:
        version = tomllib.load(fh)["project"]["version"]
    assert ok(run(installed, "--version")).strip() == "druglib %s" % version


def test_build_uses_and_names_the_packaged_rules_and_checks_their_sources(installed):
    bin_dir, desk = installed
    doc = json.loads(ok(run(installed, "build", "--json")))
    rules = doc["rules_dir"]
    assert "site-packages" in rules and rules.startswith(str(bin_dir.parent)), rules
    assert os.path.isfile(os.path.join(rules, "sources", "blinatumomab-dosing.txt"))
    from host_tools.library.build import build_library
    with open(os.path.join(str(desk), doc["library"]), "rb") as fh:
        assert fh.read() == build_library(rules_dir=os.path.join(ROOT, "druglib"))  # the same library
    # the installed build refuses a misquotation too (a copy of the packaged rules, edited)
    shutil.copytree(rules, str(desk / "edited"), ignore=shutil.ignore_patterns("__pycache__", "*.py"))
    drug = desk / "edited" / "blinatumomab.toml"
    drug.write_text(drug.read_text().replace("For the first 3 days of the first cycle",
                                             "For the first 4 days of the first cycle", 1))
    bad = run(installed, "build", "--rules", "edited", "--out", "edited.lib")
    assert bad.returncode != 0 and "not on the monograph line" in bad.stderr and not (desk / "edited.lib").exists()


@pytest.mark.parametrize("engine", ["cpython", "micropython"])
def test_check_with_both_engines(installed, engine):
    bin_dir, desk = installed
    ok(run(installed, "build", "--out", "check.lib"))
    with open(os.path.join(ROOT, "examples", "requests.jsonl")) as fh:
        requests = fh.read()
    out = ok(run(installed, "check", "--library", "check.lib", "--engine", engine, "-", input=requests))
    verdicts = [json.loads(line)["verdict"] for line in out.splitlines()]
    assert len(verdicts) == requests.count("\n") and {"accept", "confirm", "reject"} <= set(verdicts)


def test_release_then_push_to_a_simulated_pump(installed):
    bin_dir, desk = installed
    ok(run(installed, "build", "--out", "rel.lib", "--version", "2"))
    for role, who in (("author", "Alice"), ("approver", "Bob")):
        ok(run(installed, "keygen", "--role", role, "--out", who + ".pem", "--no-passphrase",
               "--trust", "trust.json", "--name", who))
        ok(run(installed, "sign", "--key", who + ".pem", "--trust", "trust.json", "rel.lib"))
    assert "the pump would install it" in ok(run(installed, "verify", "--trust", "trust.json", "rel.lib"))
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    sim = subprocess.Popen([str(bin_dir / "druglib"), "pumpsim", "--state", "pump", "--trust", "trust.json",
                            "--json"], cwd=str(desk), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           stdin=subprocess.DEVNULL, text=True, env=env)
    try:
        line = sim.stdout.readline()
        assert line, sim.stderr.read()
        port = json.loads(line)["port"]
        assert "installed version 2" in ok(run(installed, "push", "--port", port, "rel.lib"))
        info = json.loads(ok(run(installed, "info", "--port", port, "--json")))
        assert (info["version"], info["library"]) == (2, "blinatumomab-v2")
    finally:
        sim.send_signal(signal.SIGTERM)
        sim.communicate(timeout=60)
    assert sim.returncode == 0
