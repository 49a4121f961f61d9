"""Every README block marked ```sh pastes and runs as written (issue 7, "the first hour").

The blocks run in order, in one bash, in a copy of the tracked files (a fresh
clone, with this checkout's .venv linked in), with a HOME of their own, on a
real pseudo-terminal: the passphrase prompts of keygen and sign are answered
as a person would type them. Blocks in ``` or ```text (synopses, `make`) are
not run.
"""
import os
import pty
import re
import select
import signal
import time

from conftest import ROOT
from treecopy import tracked_copy

PASSPHRASE = b"a readme passphrase"
BLOCK = re.compile(r"^```sh\n(.*?)^```", re.S | re.M)


def sh_blocks():
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as fh:
        return BLOCK.findall(fh.read())


def run_on_a_terminal(script, cwd, env, timeout=300):
    pid, fd = pty.fork()
    if pid == 0:
        os.chdir(cwd)
        os.execve("/bin/bash", ["bash", "-e", "-c", script], env)
    shown, since, deadline = b"", 0, time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            r, _, _ = select.select([fd], [], [], 0.2)
            if not r:
                continue
            try:
                data = os.read(fd, 4096)
            except OSError:
                break
            if not data:
                break
            shown += data
            fresh = shown[since:]
            if fresh.endswith(b": ") and b"passphrase" in fresh.splitlines()[-1]:
                os.write(fd, PASSPHRASE + b"\n")
                since = len(shown)
        else:
            raise AssertionError("README blocks did not finish in %d s:\n%s" % (timeout, shown.decode("utf-8",
                                                                                                      "replace")))
    finally:
        try:
            os.killpg(pid, signal.SIGTERM)  # a pumpsim left running by a failed block
        except ProcessLookupError:
            pass
        _, status = os.waitpid(pid, 0)
        os.close(fd)
    return os.waitstatus_to_exitcode(status), shown.decode("utf-8", "replace")


def test_the_readme_has_runnable_blocks_without_placeholders():
    blocks = sh_blocks()
    assert len(blocks) >= 3
    for b in blocks:
        for line in b.splitlines():
            code = line.split("  #", 1)[0]
            assert not re.search(r"\[--|\bN\b|/dev/pts/N|REQUESTS|KEY\.pem|TRUST\.json", code), line
            assert not re.match(r"\s*druglib ", code), "bare druglib is not on PATH: " + line


def test_every_runnable_readme_block_runs_as_written(tmp_path):
    repo, home = tmp_path / "repo", tmp_path / "home"
    tracked_copy(str(repo))
    os.symlink(os.path.join(ROOT, ".venv"), str(repo / ".venv"))
    home.mkdir()
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home), "LANG": "C.UTF-8",
           "TERM": "dumb"}
    script = "\n".join(sh_blocks())
    status, shown = run_on_a_terminal(script, str(repo), env)
    assert status == 0, shown
    assert "the pump would install it" in shown and "installed version 1" in shown
    assert '"verdict": "accept"' in shown and "signed: approver" in shown, shown
    assert re.search(r"event log of pump \S+ verified", shown), shown
    # keys went outside the repository, encrypted; nothing was left in the repository root
    for who in ("alice", "bob"):
        assert "ENCRYPTED PRIVATE KEY" in (home / "druglib-keys" / (who + ".pem")).read_text()
    assert not list(repo.glob("*.pem")) and not (repo / "trust.json").exists() and not (repo / "lib.bin").exists()
