"""firmware/manifest.py, the freezing manifest of docs/board.md: complete, and enough to run the pump.

The manifest is executed as MicroPython's tools/manifestfile.py executes it
(its commands are functions in the globals, paths relative to the manifest's
folder), with commands that record what it asks for. Every firmware module is
either frozen or named in NOT_ON_PUMP with a reason, so a new module cannot be
forgotten. Then the listed files alone, compiled by mpy-cross as a freeze
compiles them, run the pump: a released library is pushed over a real pty to
that bytecode under the MicroPython unix port and a programming is checked.
"""
import glob
import json
import os
import subprocess

import pytest

from conftest_signing import Kit
from firmware.store import logrec
from host_tools.engines import micropython_exe
from test_mpy_cross import _mpy_cross

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIRMWARE = os.path.join(ROOT, "firmware")
MANIFEST = os.path.join(FIRMWARE, "manifest.py")
# The README's example programming (MRD, cycle 1 day 1, 28 mcg/day over 24 h): accepted.
PROGRAMMING = json.dumps({"drug": "blinatumomab", "indication": "mrd", "cycle": 1, "day": 1,
                          "restart_after_adverse_event": False,
                          "patient": {"age_days": 9000, "weight_kg": 70, "bsa_m2": 1.8},
                          "dose": {"value": 28, "unit": "mcg/day"},
                          "bag": {"blinatumomab_mcg": 31.5, "volume_ml": 270, "preservative": False},
                          "infusion": {"rate_ml_h": 10, "duration_h": 24, "vtbi_ml": 240},
                          "line": {"inline_filter": True, "dehp_free": True}, "overrides": []})


def run_manifest():
    """Execute the manifest; return (calls in order, frozen paths relative to firmware/, its globals)."""
    calls, frozen = [], []

    def metadata(**kw):
        calls.append(("metadata", kw))

    def package(package_path, files=None, base_path=".", opt=None):
        calls.append(("package", package_path))
        base = os.path.normpath(os.path.join(FIRMWARE, base_path))
        assert os.path.join(base, package_path) == FIRMWARE, "the package must be firmware/ itself"
        assert files is not None, "name every module (files=[...]): a glob would freeze manifest.py too"
        frozen.extend(files)

    def module(module_path, base_path=".", opt=None):
        calls.append(("module", module_path))
        full = os.path.normpath(os.path.join(FIRMWARE, base_path, module_path))
        frozen.append(os.path.relpath(full, FIRMWARE))

    def unsupported(*a, **kw):
        raise AssertionError("the firmware manifest needs nothing from micropython-lib or other manifests")

    g = {"metadata": metadata, "package": package, "module": module, "include": unsupported,
         "require": unsupported, "options": None}
    with open(MANIFEST) as f:
        exec(compile(f.read(), MANIFEST, "exec"), g)
    return calls, frozen, g


def firmware_files():
    return sorted(os.path.relpath(p, FIRMWARE) for p in glob.glob(os.path.join(FIRMWARE, "**", "*.py"),
                                                                  recursive=True))


def test_metadata_comes_first_as_micropython_lib_requires():
    calls, _, _ = run_manifest()
    assert calls[0][0] == "metadata" and calls[0][1]["version"] and calls[0][1]["description"]


def test_every_firmware_module_is_frozen_or_excluded_with_a_reason():
    _, frozen, g = run_manifest()
    excluded = g["NOT_ON_PUMP"]
    assert len(frozen) == len(set(frozen)), "a module is listed twice"
    assert not set(frozen) & set(excluded)
    missing = sorted(set(firmware_files()) - set(frozen) - set(excluded))
    assert not missing, "firmware modules missing from firmware/manifest.py: %s" % missing
    extra = sorted(set(frozen) - set(firmware_files()))
    assert not extra, "firmware/manifest.py lists files that do not exist: %s" % extra
    with open(MANIFEST) as f:
        text = f.read()
    for name in excluded:  # each exclusion carries its reason on its line
        line = next(ln for ln in text.split("\n") if '"%s"' % name in ln)
        assert "#" in line, "NOT_ON_PUMP entry %s has no reason" % name


def test_no_frozen_module_needs_an_excluded_one():
    import test_layout

    _, frozen, g = run_manifest()
    excluded = {"firmware." + n[:-3].replace("/", ".") for n in g["NOT_ON_PUMP"]}
    for rel in frozen:
        needs = test_layout.imports(os.path.join("firmware", rel))
        assert not needs & excluded, "%s imports %s, which is not frozen" % (rel, sorted(needs & excluded))


@pytest.fixture(scope="module")
def staged(tmp_path_factory):
    """The frozen set as the board gets it: firmware/**.mpy from mpy-cross, no source at all."""
    _, frozen, _ = run_manifest()
    out = tmp_path_factory.mktemp("board")
    for rel in frozen:
        dest = out / "firmware" / (rel[:-3] + ".mpy")
        dest.parent.mkdir(parents=True, exist_ok=True)
        proc = subprocess.run([_mpy_cross(), "-o", str(dest), os.path.join(FIRMWARE, rel)],
                              capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
    assert not list(out.rglob("*.py"))
    return str(out)


def test_the_frozen_set_checks_a_programming_like_the_source(staged, tmp_path):
    kit = Kit(tmp_path, version=3)
    req = PROGRAMMING
    outs = []
    for path in (staged, ROOT):
        env = dict(os.environ, MICROPYPATH=path)
        proc = subprocess.run([micropython_exe(), "-X", "heapsize=8M", "-m", "firmware.checkmain", kit.lib_path],
                              input=(req + "\n" + req.replace('"rate_ml_h": 10', '"rate_ml_h": 100')).encode(),
                              capture_output=True, env=env, cwd=str(tmp_path), timeout=120)
        assert proc.returncode == 0, proc.stderr.decode()
        outs.append(proc.stdout)
    assert outs[0] == outs[1]
    lines = outs[0].decode().split("\n")
    assert lines[0].startswith('{"verdict": "accept"') and lines[1].startswith('{"verdict": "reject"')


def test_the_frozen_set_is_a_whole_pump_over_a_serial_line(staged, tmp_path, monkeypatch):
    # Arrange: `druglib pumpsim` running the bytecode only (MICROPYPATH = the staged folder).
    from host_tools.link import pumpsim
    from host_tools.link.client import PumpLink

    env = dict(os.environ, MICROPYPATH=staged)
    monkeypatch.setattr(pumpsim, "micropython_env", lambda: env)
    monkeypatch.setattr(pumpsim, "FIRMWARE_ROOT", staged)
    kit = Kit(tmp_path, version=3)
    sim = pumpsim.PumpSim(str(tmp_path / "pump"), kit.trust_path, 115200, log=lambda t: None)
    sim.start()
    try:
        with PumpLink(sim.port, 115200) as link:
            assert link.info()["state"] == "no-library"
            assert link.push(kit.blob)["status"] == "installed"
            assert int(link.info()["version"]) == 3
            result = json.loads(link.check(PROGRAMMING))
            data, _head, count = link.pull_log()
    finally:
        sim.close()
    # Assert: installed, checked and logged by the bytecode alone, the hash chain verified by the client.
    assert result["verdict"] == "accept", result
    kinds = [k for _, k, _ in logrec.decode_all(data)]
    assert "install" in kinds and "check" in kinds and count == len(kinds), kinds
