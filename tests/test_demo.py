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
