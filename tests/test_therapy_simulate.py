"""`druglib simulate` end to end: the example scenarios (docs/scenarios/) run
through a fresh simulated pump (the real firmware under the MicroPython unix
port on a real pty, the library built, released with throw-away keys and
pushed), and every step's result and state must be the scenario's expected
one. Bad scenario files get one error line naming the step, and nothing runs."""
import glob
import json
import os

import pytest

from pumpsimproc import Sim, druglib
from therapy_helpers import RR, SCENARIOS, load, request

LIB = os.environ["DRUGLIB_RELEASED_LIBRARY"]
TRUST = os.environ["DRUGLIB_TRUST"]


def _temp_dirs():
    import tempfile
    return set(glob.glob(os.path.join(tempfile.gettempdir(), "druglib-simulate-*")))


@pytest.mark.parametrize("path", SCENARIOS, ids=[os.path.basename(p) for p in SCENARIOS])
def test_example_scenario_over_the_pty_gives_its_expected_results(path):
    steps = load(path)["steps"]
    p = druglib("simulate", path, "--json", timeout=300)
    assert p.returncode == 0, p.stderr
    lines = [json.loads(line) for line in p.stdout.splitlines()]
    assert [list(d) for d in lines] == [["step", "action", "result", "codes", "state"]] * len(steps)
    assert [d["step"] for d in lines] == list(range(1, len(steps) + 1))
    assert [d["action"] for d in lines] == [s["action"] for s in steps]
    got = [(d["step"], d["result"], d["state"]) for d in lines]
    want = [(i, s["expect"]["result"], s["expect"]["state"]) for i, s in enumerate(steps, 1)]
    assert got == want
    for d, s in zip(lines, steps):
        for code in s["expect"].get("codes_include", []):
            assert code in d["codes"], (d, code)


def test_the_readable_table_names_every_step_and_the_course_record(tmp_path):
    path = SCENARIOS[0]
    p = druglib("simulate", path, timeout=300)
    assert p.returncode == 0, p.stderr
    out = p.stdout.splitlines()
    assert out[0].split() == ["step", "clock", "h", "action", "result", "state", "codes"]
    assert out[-1].startswith("course record: ")
    assert sum(1 for line in out if line[:4].strip().isdigit()) == len(load(path)["steps"])


@pytest.mark.parametrize("text, why", [
    ("{\"steps\": [", "not valid JSON"),
    ("[1, 2]", "a JSON object with a list \"steps\""),
    ("{\"steps\": []}", "\"steps\" is empty"),
    (json.dumps({"steps": [{"action": "start"}, {"action": "pause"}, {"action": "flush-line"}]}),
     "step 3: unknown action \"flush-line\""),
    (json.dumps({"steps": [{"action": "start"}, {"action": "advance"}]}), "step 2: advance: missing field \"hours\""),
    (json.dumps({"steps": [{"action": "program"}]}), "step 1: program: missing field \"request\""),
    (json.dumps({"steps": [{"hours": 3}]}), "step 1: missing field \"action\""),
    (json.dumps({"steps": [{"action": "advance", "hours": "two"}]}), "step 1: advance.hours"),
    ('{"steps": [{"action": "start", "action": "stop"}]}', "duplicate key"),
])
def test_a_bad_scenario_is_one_error_line_and_nothing_runs(tmp_path, text, why):
    path = tmp_path / "bad.json"
    path.write_text(text)
    before = _temp_dirs()
    p = druglib("simulate", str(path), "--json")
    assert p.returncode == 2
    assert p.stdout == ""
    err = p.stderr.strip().splitlines()
    assert len(err) == 1 and why in err[0] and "Traceback" not in p.stderr, p.stderr
    assert _temp_dirs() == before  # no simulated pump was started


def test_a_missing_scenario_file_is_one_error_line(tmp_path):
    p = druglib("simulate", str(tmp_path / "nope.json"))
    assert p.returncode == 2 and len(p.stderr.strip().splitlines()) == 1 and "cannot read" in p.stderr


def test_simulate_on_a_given_port_and_every_step_is_in_the_pumps_log_with_the_clock(tmp_path):
    sim = Sim(tmp_path / "pump", TRUST)
    try:
        assert druglib("push", "--port", sim.port, LIB).returncode == 0
        steps = [{"action": "program", "request": request(RR, 2, 1)}, {"action": "start"},
                 {"action": "advance", "hours": "24"}, {"action": "flush"},
                 {"action": "bag_change", "request": request(RR, 2, 2)}]
        path = tmp_path / "s.json"
        path.write_text(json.dumps({"steps": steps}))
        p = druglib("simulate", str(path), "--port", sim.port, "--json")
        assert p.returncode == 0, p.stderr
        assert [json.loads(x)["result"] for x in p.stdout.splitlines()] == ["ok", "ok", "ok", "refused", "ok"]
        # power cycle the simulated pump: its course record and state survive
        sim.stop()
        sim = Sim(tmp_path / "pump", TRUST)
        path.write_text(json.dumps({"steps": [{"action": "bag_change", "request": request(RR, 2, 2)},
                                              {"action": "start"}, {"action": "advance", "hours": 1}]}))
        p = druglib("simulate", str(path), "--port", sim.port, "--json")
        assert [json.loads(x)["result"] for x in p.stdout.splitlines()] == ["refused", "ok", "ok"], p.stdout
        log = druglib("log", "--port", sim.port, "--json")
        assert log.returncode == 0, log.stderr
        recs = [r["fields"] for r in json.loads(log.stdout)["records"] if r["kind"] == "therapy"]
        assert [r["action"] for r in recs] == ["program", "start", "advance", "flush", "bag_change",
                                               "bag_change", "start", "advance"]
        assert [r["n"] for r in recs] == list(range(1, 9))
        assert [r["clock_mh"] for r in recs] == [0, 0, 24000, 24000, 24000, 24000, 24000, 25000]
        assert recs[3]["codes"] == ["FLUSH_LOCKED"] and recs[3]["result"] == "refused"
    finally:
        sim.kill()


def test_the_demo_shows_a_blocked_flush_a_refused_wrong_day_bag_and_a_resume_with_advisories(tmp_path, monkeypatch,
                                                                                              capsys):
    from host_tools import demo

    monkeypatch.chdir(tmp_path)
    os.makedirs("out")
    demo.therapy_section(6)
    out = capsys.readouterr().out
    rows = {line.split("|")[1].strip(): [c.strip() for c in line.split("|")[2:-1]]
            for line in out.splitlines() if line.startswith("| ") and line.split("|")[1].strip().isdigit()}
    assert rows["4"][0].startswith("flush") and rows["4"][1:3] == ["REFUSED", "bag-empty"] and "FLUSH_LOCKED" in rows["4"][3]
    assert rows["5"][1] == "REFUSED" and "COURSE_DAY_MISMATCH" in rows["5"][3]
    assert rows["11"][0].startswith("resume") and rows["11"][1:3] == ["OK", "running"]
    assert "SUPERVISION, PREMEDICATION" in rows["11"][3]


def test_the_therapy_bench_runs_at_a_tiny_size():
    import subprocess
    import sys

    from therapy_helpers import ROOT
    p = subprocess.run([sys.executable, os.path.join(ROOT, "bench", "bench_therapy.py"), "--tiny"], capture_output=True,
                       text=True, timeout=300, cwd=ROOT)
    assert p.returncode == 0, p.stderr
    assert "ratio" in p.stdout and "ends bag-empty" in p.stdout
