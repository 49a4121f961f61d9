"""`druglib keygen` as a new user meets it (issue 7, "the first hour").

Stories: a release key is passphrase-protected unless the user asks
otherwise; at a terminal keygen asks (twice, on a real pty); without a
terminal and without a passphrase it refuses; and a keygen that cannot
register the key in the trust store leaves nothing behind.
"""
import os
import pty
import select
import subprocess
import sys
import time

import pytest

from host_tools.cli import keygen
from host_tools.cli.main import main
from host_tools.errors import UsageError

DRUGLIB = os.path.join(os.path.dirname(sys.executable), "druglib")


def run(cwd, *args):
    return subprocess.run([DRUGLIB] + list(args), cwd=str(cwd), capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=120)


def refused(proc):
    assert proc.returncode != 0, proc.stdout
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in proc.stderr, proc.stderr
    return lines[0]


def on_a_terminal(cwd, args, answers, timeout=20):
    """Run druglib on a real pseudo-terminal; type one answer per passphrase prompt.
    -> (exit status, everything the terminal showed)."""
    pid, fd = pty.fork()
    if pid == 0:  # child: the pty is its controlling terminal and its stdin
        os.chdir(str(cwd))
        os.execv(DRUGLIB, [DRUGLIB] + list(args))
    shown, pending, deadline = b"", list(answers), time.monotonic() + timeout
    since = 0  # output after the last answer typed: only a NEW prompt gets the next answer
    while time.monotonic() < deadline:
        r, _, _ = select.select([fd], [], [], 0.2)
        if r:
            try:
                data = os.read(fd, 1024)
            except OSError:  # EIO: the child closed the terminal
                break
            if not data:
                break
            shown += data
            fresh = shown[since:]
            if pending and fresh.endswith(b": ") and (b"passphrase" in fresh.lower()):
                os.write(fd, pending.pop(0).encode() + b"\n")
                since = len(shown)
    else:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
        os.close(fd)
        raise AssertionError("no end within %d s; the terminal showed %r" % (timeout, shown))
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    return os.waitstatus_to_exitcode(status), shown.decode("utf-8", "replace")


def test_without_a_terminal_and_without_a_passphrase_keygen_refuses_and_writes_nothing(tmp_path):
    msg = refused(run(tmp_path, "keygen", "--role", "author", "--out", "alice.pem", "--trust", "trust.json"))
    assert "needs a passphrase" in msg and "--passphrase-file" in msg and "--no-passphrase" in msg
    assert sorted(os.listdir(tmp_path)) == []


def test_no_passphrase_is_an_explicit_choice_and_says_so(tmp_path):
    proc = run(tmp_path, "keygen", "--role", "author", "--out", "demo.pem", "--no-passphrase")
    assert proc.returncode == 0, proc.stderr
    assert "NOT passphrase-protected" in proc.stdout
    assert "-----BEGIN PRIVATE KEY-----" in (tmp_path / "demo.pem").read_text()
    msg = refused(run(tmp_path, "keygen", "--role", "author", "--out", "x.pem", "--no-passphrase",
                      "--passphrase-env", "HOME"))
    assert "not allowed with" in msg and not (tmp_path / "x.pem").exists()


def test_at_a_terminal_keygen_asks_twice_and_encrypts_the_key(tmp_path):
    status, shown = on_a_terminal(tmp_path, ["keygen", "--role", "author", "--out", "alice.pem", "--trust",
                                             "trust.json", "--name", "Alice"], ["tr0ub4dor&3", "tr0ub4dor&3"])
    assert status == 0, shown
    assert "passphrase for the new key alice.pem" in shown and "again" in shown
    assert "tr0ub4dor" not in shown  # not echoed
    assert "-----BEGIN ENCRYPTED PRIVATE KEY-----" in (tmp_path / "alice.pem").read_text()
    # the passphrase typed is the one that opens it
    (tmp_path / "pass").write_text("tr0ub4dor&3\n")
    from host_tools.release import keys
    keys.load_private_key(str(tmp_path / "alice.pem"), keys.read_passphrase(str(tmp_path / "pass")))


@pytest.mark.parametrize("answers, why", [(["one", "two"], "differ"), ([""], "empty passphrase")])
def test_at_a_terminal_a_mistyped_or_empty_passphrase_makes_no_key(tmp_path, answers, why):
    status, shown = on_a_terminal(tmp_path, ["keygen", "--role", "author", "--out", "alice.pem",
                                             "--trust", "trust.json"], answers)
    assert status != 0 and why in shown and "Traceback" not in shown, shown
    assert sorted(os.listdir(tmp_path)) == []


def test_a_trust_store_that_cannot_be_written_leaves_no_key_behind(tmp_path):
    # arrange: a trust store in a place nobody can write, not even root
    msg = refused(run(tmp_path, "keygen", "--role", "author", "--out", "alice.pem", "--no-passphrase",
                      "--trust", "/proc/druglib-trust.json"))
    assert "cannot write /proc/druglib-trust.json" in msg and "removed again" in msg
    assert sorted(os.listdir(tmp_path)) == []
    # a trust store in a folder that does not exist is refused before any key is made
    msg = refused(run(tmp_path, "keygen", "--role", "author", "--out", "alice.pem", "--no-passphrase",
                      "--trust", "no/such/trust.json"))
    assert "does not exist" in msg and sorted(os.listdir(tmp_path)) == []


def test_a_failed_trust_write_keeps_the_old_trust_store_and_removes_the_key(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["keygen", "--role", "author", "--out", "alice.pem", "--no-passphrase", "--trust", "trust.json"]) == 0
    before = (tmp_path / "trust.json").read_bytes()

    def disk_full(path, data):
        raise UsageError("cannot write %s: No space left on device" % path)

    monkeypatch.setattr(keygen, "write_atomic", disk_full)
    assert main(["keygen", "--role", "approver", "--out", "bob.pem", "--no-passphrase", "--trust", "trust.json"]) != 0
    err = capsys.readouterr().err
    assert "No space left on device" in err and "bob.pem was removed again" in err
    assert not (tmp_path / "bob.pem").exists()
    assert (tmp_path / "trust.json").read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["alice.pem", "trust.json"]
