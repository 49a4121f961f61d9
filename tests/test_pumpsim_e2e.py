"""End to end over a REAL pseudo-terminal with the REAL firmware under the
MicroPython unix port: `druglib pumpsim`, `druglib push`, `info`, `log` as
subprocesses (docs/protocol.md). Stories: arrange, attack, assert that the
active library and the event log are unchanged."""
import json
import os
import signal
import subprocess

import pytest

from conftest_signing import MALLORY, Kit, signature, with_signatures
from firmware.store import logrec
from pumpsimproc import DRUGLIB, ROOT, Sim, druglib, wait_for

LIB = os.environ["DRUGLIB_RELEASED_LIBRARY"]
TRUST = os.environ["DRUGLIB_TRUST"]


@pytest.fixture(scope="module")
def libs(tmp_path_factory):
    """v2 (older, released), unsigned v4 and a v4 'released' by keys the pump does not trust."""
    d = tmp_path_factory.mktemp("libs")
    (d / "v2").mkdir()
    (d / "v4").mkdir()
    v2 = Kit(d / "v2", version=2)
    v4 = Kit(d / "v4", version=4)
    paths = {"v2": v2.lib_path, "unsigned": str(d / "unsigned.lib"), "forged": str(d / "forged.lib")}
    with open(paths["unsigned"], "wb") as f:
        f.write(v4.unsigned)
    with open(paths["forged"], "wb") as f:
        f.write(with_signatures(v4.unsigned, [signature(v4.unsigned, MALLORY, "author"),
                                              signature(v4.unsigned, MALLORY, "approver")]))
    return paths


@pytest.fixture
def sim(tmp_path):
    sims = []

    def start(*extra, state=None, as_json=True):
        s = Sim(state or tmp_path / "pump", TRUST, *extra, as_json=as_json)
        sims.append(s)
        return s

    yield start
    for s in sims:
        s.kill()


def info(port, *extra):
    p = druglib("info", "--port", port, "--json", *extra)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)


def log(port, *extra):
    p = druglib("log", "--port", port, "--json", *extra)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)


def test_push_info_same_rejections_and_log_over_a_real_pty(sim, libs, tmp_path):
    s = sim()
    assert s.port.startswith("/dev/") and s.info["state"] == "no-library"
    assert info(s.port)["state"] == "no-library"

    p = druglib("push", "--port", s.port, LIB)
    assert p.returncode == 0, p.stderr
    assert "installed version 3 (was 0)" in p.stdout and p.stderr == ""
    i = info(s.port)
    assert (i["state"], i["version"], i["library"]) == ("ok", 3, "blinatumomab-v3")  # named after its version (issue 7)

    p = druglib("push", "--port", s.port, LIB, "--json")
    assert p.returncode == 0
    assert json.loads(p.stdout)["pumps"][0]["outcome"] == "same"

    before = log(s.port)["records"]
    for lib, code in (("v2", "LIB_ROLLBACK"), ("unsigned", "SIG_ROLE_MISSING"), ("forged", "SIG_UNKNOWN_KEY")):
        p = druglib("push", "--port", s.port, libs[lib])
        assert p.returncode == 1
        assert "REJECTED %s" % code in p.stdout
        assert len(p.stderr.strip().splitlines()) == 1 and code in p.stderr and "Traceback" not in p.stderr
        assert info(s.port)["version"] == 3  # unchanged

    after = log(s.port, "--out", tmp_path / "events.log")
    assert after["verified"] and after["records"][:len(before)] == before
    rejected = [r["fields"]["code"] for r in after["records"][len(before):] if r["kind"] == "install-rejected"]
    assert rejected == ["LIB_ROLLBACK", "SIG_ROLE_MISSING", "SIG_UNKNOWN_KEY"]
    raw = (tmp_path / "events.log").read_bytes()
    assert logrec.verify_chain(raw)[0] == len(after["records"])

    text = druglib("log", "--port", s.port)
    assert text.returncode == 0 and "verified" in text.stdout and "install-rejected" in text.stdout
    assert s.stop() == 0


def test_the_pump_keeps_its_library_across_a_restart_of_the_simulator(sim, tmp_path):
    s = sim()
    assert druglib("push", "--port", s.port, LIB).returncode == 0
    assert s.stop() == 0
    s2 = sim(as_json=False)  # plain: stdout is just the port
    assert s2.port.startswith("/dev/pts/") and len(s2.port.split()) == 1
    i = info(s2.port)
    assert i["state"] == "ok" and i["version"] == 3
    assert i["pump_id"] == s.info["pump_id"]  # the identity made at first boot is kept
    assert s2.stop(sig=signal.SIGINT) == 0  # Ctrl-C: a clean stop, no traceback
    assert "Traceback" not in s2.proc_stderr


def test_several_pumps_at_once(sim, tmp_path):
    a, b = sim(state=tmp_path / "a"), sim(state=tmp_path / "b")
    p = druglib("push", "--port", a.port, "--port", b.port, LIB, "--json")
    assert p.returncode == 0, p.stderr
    pumps = json.loads(p.stdout)["pumps"]
    assert [x["outcome"] for x in pumps] == ["installed", "installed"]
    assert pumps[0]["pump_id"] != pumps[1]["pump_id"]
    # one port that is not there: the others still load; exit 1 with one line naming it
    p = druglib("push", "--port", a.port, "--port", "/dev/no-such-pump", LIB)
    assert p.returncode == 1
    assert "same" in p.stdout and "/dev/no-such-pump: FAILED LINK: cannot open port" in p.stdout
    assert p.stderr.count("\n") == 1 and "/dev/no-such-pump" in p.stderr


def test_a_noisy_line_still_delivers_the_library(sim):
    s = sim("--drop", "0.002", "--corrupt", "0.002", "--seed", "11")
    p = druglib("push", "--port", s.port, LIB, "--json")
    assert p.returncode == 0, p.stdout + p.stderr
    res = json.loads(p.stdout)["pumps"][0]
    assert res["outcome"] == "installed"
    assert info(s.port)["version"] == 3
    assert log(s.port)["verified"]


def test_power_cut_mid_push_leaves_old_or_new_and_the_push_resumes(sim, libs, tmp_path):
    """Story: the pump runs v2; v3 is pushed at 4800 baud; the pump loses power
    (firmware SIGKILLed) halfway; after a restart on the same state it runs v2,
    its log verifies, and the next push resumes from the staged bytes."""
    state = tmp_path / "pump"
    s = sim("--baud", "4800", state=state)
    assert druglib("push", "--port", s.port, libs["v2"], "--baud", "4800").returncode == 0
    total = os.path.getsize(LIB)
    push = subprocess.Popen(DRUGLIB + ["push", "--port", s.port, LIB, "--baud", "4800"], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        part = state / "push.part"
        assert wait_for(lambda: part.exists() and 0 < part.stat().st_size < total, 30)
        s.power_cut()
    finally:
        push.kill()
        push.wait(10)
    s2 = sim("--baud", "4800", state=state)
    assert s2.info["version"] == 2  # the old library, whole
    i = info(s2.port, "--baud", "4800")
    assert i["version"] == 2 and 0 < i["transfer_have"] < total
    assert log(s2.port, "--baud", "4800")["verified"]
    p = druglib("push", "--port", s2.port, LIB, "--baud", "4800", "--json")
    assert p.returncode == 0, p.stderr
    res = json.loads(p.stdout)["pumps"][0]
    assert res["outcome"] == "installed" and res["resumed_from"] > 0
    assert info(s2.port, "--baud", "4800")["version"] == 3


@pytest.mark.parametrize("delay", [0.15, 0.3, 0.45])
def test_power_cut_at_any_moment_of_a_push_never_leaves_none_or_a_mix(sim, libs, tmp_path, delay):
    state = tmp_path / "pump"
    s = sim("--baud", "19200", state=state)
    assert druglib("push", "--port", s.port, libs["v2"]).returncode == 0
    push = subprocess.Popen(DRUGLIB + ["push", "--port", s.port, LIB, "--baud", "19200"], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert wait_for(lambda: (state / "push.meta").exists() or push.poll() is not None, 30)
        wait_for(lambda: False, delay)
        s.power_cut()
    finally:
        push.kill()
        push.wait(10)
    s2 = sim(state=state)
    assert s2.info["state"] == "ok" and s2.info["version"] in (2, 3)
    assert log(s2.port)["verified"]
    assert druglib("push", "--port", s2.port, LIB).returncode == 0
    assert info(s2.port)["version"] == 3


def test_pumpsim_refuses_a_bad_trust_store_with_one_line(tmp_path):
    bad = tmp_path / "trust.json"
    bad.write_text("{not json")
    p = druglib("pumpsim", "--state", tmp_path / "pump", "--trust", bad, timeout=60)
    assert p.returncode == 1 and p.stdout == ""
    assert p.stderr.startswith("error: the simulated pump did not start: TRUST_MALFORMED")
    p = druglib("pumpsim", "--state", tmp_path / "pump", "--trust", tmp_path / "missing.json")
    assert p.returncode == 2 and "does not exist" in p.stderr
    p = druglib("pumpsim", "--state", tmp_path / "pump", "--trust", TRUST, "--drop", "2")
    assert p.returncode == 2 and "probability" in p.stderr


def test_info_on_a_silent_port_is_a_clear_link_error(tmp_path):
    import pty

    master, slave = pty.openpty()
    try:
        p = druglib("info", "--port", os.ttyname(slave), timeout=60)
    finally:
        os.close(master)
        os.close(slave)
    assert p.returncode == 1
    assert p.stderr.startswith("error: pump on /dev/") and "did not answer INFO after 11 attempts" in p.stderr
