"""The simulated cable's sink (host_tools/link/cable.py, Direction._write).

Story: under load the host is not scheduled for a moment while the pump
answers; the pty's 4 KiB fill. A real serial driver buffers far more, so
the answer must still arrive whole, not with its tail silently dropped (the
demo's "did not answer THERAPY after 11 attempts"). A port nobody reads
still loses bytes, after HOLD_S, as a line nobody listens to does.
"""
import fcntl
import os
import select
import threading
import time

from host_tools.link import cable


def _nonblocking_pipe():
    r, w = os.pipe()
    fl = fcntl.fcntl(w, fcntl.F_GETFL)
    fcntl.fcntl(w, fcntl.F_SETFL, fl | os.O_NONBLOCK)
    return r, w


def _fill(w):
    n = 0
    try:
        while True:
            n += os.write(w, b"\x55" * 4096)
    except BlockingIOError:
        return n


def _drain(r, n, timeout=5.0):
    got, deadline = b"", time.monotonic() + timeout
    while len(got) < n and time.monotonic() < deadline:
        if select.select([r], [], [], 0.1)[0]:
            got += os.read(r, n - len(got))
    return got


def test_a_host_that_reads_late_still_gets_the_whole_answer():
    r, w = _nonblocking_pipe()
    try:
        full = _fill(w)
        d = cable.Direction(cable.LineSim(115200), None, w, threading.Event(), lossy=True)
        answer = bytes(range(256)) * 8
        done = []
        t = threading.Thread(target=lambda: done.append(d._write(answer)))
        t.start()
        time.sleep(0.3)  # the host is busy elsewhere
        assert _drain(r, full) == b"\x55" * full
        t.join(5)
        assert done == [True]
        assert _drain(r, len(answer)) == answer  # whole, in order
    finally:
        os.close(r)
        os.close(w)


def test_a_port_nobody_reads_loses_the_bytes_after_the_hold(monkeypatch):
    monkeypatch.setattr(cable, "HOLD_S", 0.2)
    r, w = _nonblocking_pipe()
    try:
        _fill(w)
        stop = threading.Event()
        lossy = cable.Direction(cable.LineSim(115200), None, w, stop, lossy=True)
        t0 = time.monotonic()
        assert lossy._write(b"lost") is True  # lost, the line goes on
        assert time.monotonic() - t0 >= 0.2
        # the pump's side is never lossy: a sink that stays full is a stuck pump, stop
        strict = cable.Direction(cable.LineSim(115200), None, w, stop, lossy=False)
        assert strict._write(b"x") is False
    finally:
        os.close(r)
        os.close(w)
