"""`druglib pumpsim --stdio` (issue 11 item 2): the real firmware under
MicroPython on the command's own stdin/stdout, a REAL subprocess over pipes,
no pty, so an external cable simulator can sit in front. Story: boot, push
the released library with the windowed push, INFO shows it, the log
verifies; end of input stops the pump cleanly."""
import os
import select
import shutil
import subprocess
import time

import pytest

from firmware.link import frames as link
from host_tools.link.client import PumpLink
from pumpsimproc import DRUGLIB, ROOT

LIB = os.environ["DRUGLIB_RELEASED_LIBRARY"]
TRUST = os.environ["DRUGLIB_TRUST"]


class PipePort:
    """A pyserial-like port on a subprocess's stdin/stdout."""

    name = "stdio"

    def __init__(self, proc):
        self.proc = proc
        self.buf = bytearray()

    def _fill(self, wait):
        fd = self.proc.stdout.fileno()
        r, _, _ = select.select([fd], [], [], wait)
        if r:
            self.buf += os.read(fd, 65536)

    @property
    def in_waiting(self):
        self._fill(0)
        return len(self.buf)

    def read(self, n):
        if not self.buf:
            self._fill(0.02)
        out = bytes(self.buf[:n])
        del self.buf[:n]
        return out

    def write(self, data):
        self.proc.stdin.write(data)
        self.proc.stdin.flush()
        return len(data)

    def reset_input_buffer(self):
        self.buf.clear()

    def close(self):
        pass


def deep(tmp_path, name):
    """A path of more than 255 bytes: the MicroPython unix port dies on such a
    command-line argument, so pumpsim passes it through a short symlink."""
    d = tmp_path
    while len(str(d)) < 300:
        d = d / ("folder-with-a-long-name-%d" % len(str(d)))
    d.mkdir(parents=True, exist_ok=True)
    return d / name


@pytest.mark.parametrize("where", ["short paths", "paths over 255 bytes"])
def test_pumpsim_stdio_runs_the_firmware_on_its_own_pipes(tmp_path, where):
    state, trust = str(tmp_path / "pump"), TRUST
    if where == "paths over 255 bytes":
        state = str(deep(tmp_path, "pump"))
        trust = str(deep(tmp_path, "trust.json"))
        shutil.copy(TRUST, trust)
        assert len(state) > 255 and len(trust) > 255
    proc = subprocess.Popen(DRUGLIB + ["pumpsim", "--stdio", "--state", state, "--trust", trust],
                            cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            bufsize=0)
    try:
        deadline = time.monotonic() + 60
        line = b""
        while not line.startswith(b"READY ") and time.monotonic() < deadline:
            line = proc.stderr.readline()
            assert line, "the firmware ended before READY"
        assert line.startswith(b"READY ")
        c = PumpLink(port=PipePort(proc), seed=1)
        assert c.info()["state"] == "no-library"
        with open(LIB, "rb") as f:
            blob = f.read()
        r = c.push(blob)
        assert r["status"] == "installed"
        info = c.info()
        assert info["state"] == "ok" and info["version"] == r["version"]
        data, head, count = c.pull_log()
        assert count >= 1
        assert c.stats["retransmissions"] == 0  # a clean pipe: nothing resent
    finally:
        proc.stdin.close()
        status = proc.wait(30)
        err = proc.stderr.read()
        proc.stderr.close()
        proc.stdout.close()
    assert status == 0, err
    assert b"Traceback" not in err
    assert link.MAX_PAYLOAD >= 2048
    assert os.path.isfile(os.path.join(state, "commit.rec"))  # the pump's storage is where it was asked to be


def test_a_pump_id_too_long_is_refused_clearly(tmp_path):
    for bad, words in (("p" * 65, "1 to 64 bytes"), ("p" * 300, "1 to 64 bytes")):
        p = subprocess.run(DRUGLIB + ["pumpsim", "--stdio", "--id", bad, "--state", str(tmp_path / "p"),
                                      "--trust", TRUST], cwd=ROOT, capture_output=True, text=True, timeout=60)
        assert p.returncode == 2 and words in p.stderr, p.stderr
        assert "Traceback" not in p.stderr and not (tmp_path / "p").exists()


def test_stdio_refuses_line_options(tmp_path):
    p = subprocess.run(DRUGLIB + ["pumpsim", "--stdio", "--latency-ms", "16", "--state", str(tmp_path / "p"),
                                  "--trust", TRUST], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert p.returncode != 0 and "--stdio runs the bare firmware" in p.stderr
    assert "Traceback" not in p.stderr
