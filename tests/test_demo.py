"""`make demo` end to end in a fresh folder: build, two-person release, install on a simulated pump, checks."""
import subprocess
import sys


def test_the_demo_runs_from_a_fresh_folder_and_shows_every_verdict(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "host_tools.demo"], cwd=tmp_path, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    assert "the pump would install it" in out
    assert "installed version 1; after reboot: ok, version 1, counter 1" in out
    for word in ("ACCEPT", "REJECT", "CONFIRM", "decimal-", "step dose", "No flush"):
        assert word in out, word
    assert (tmp_path / "demo-keys" / "trust.json").exists()
    # run again: keys are reused, the library is rebuilt and re-released
    again = subprocess.run([sys.executable, "-m", "host_tools.demo"], cwd=tmp_path, capture_output=True,
                           text=True, timeout=300)
    assert again.returncode == 0, again.stderr


def test_the_demo_table_shows_what_the_nurse_sees_and_who_signed(tmp_path):
    from firmware.check.codes import CODES
    proc = subprocess.run([sys.executable, "-m", "host_tools.demo"], cwd=tmp_path, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    table = proc.stdout[proc.stdout.index("4. Programmings"):proc.stdout.index("5. The pump's event log")]
    flat = " ".join(table.split())
    assert "Advice: Do not flush the line" in flat.replace("| ", "").replace(" |", "")
    for code in CODES:  # messages, not raw codes ("Advice: NO_FLUSH, HOSPITALIZATION")
        assert code not in table, code
    assert "signed as author   by Alice (pharmacist)" in proc.stdout
    assert "signed as approver by Bob (second pharmacist)" in proc.stdout
    # the demo keys are throw-away keys, made so on purpose
    assert "-----BEGIN PRIVATE KEY-----" in (tmp_path / "demo-keys" / "pharmacist.pem").read_text()
    # "try it yourself" names a file that exists and that `druglib check` takes as it is
    line = proc.stdout.strip().splitlines()[-1].split()
    assert line[:3] == [".venv/bin/druglib", "check", "--library"] and (tmp_path / line[-1]).exists()


def test_the_shipped_example_is_the_demo_s_programmings():
    import os
    from conftest import ROOT
    from host_tools.demo import example_text
    with open(os.path.join(ROOT, "examples", "requests.jsonl")) as fh:
        assert fh.read() == example_text()
