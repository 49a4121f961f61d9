"""The MicroPython entry points firmware/checkmain.py and firmware/pumpmain.py, run in-process.

Under the unix port they run as `micropython -m firmware.checkmain` (by
`druglib check --engine micropython`) and `micropython -m firmware.pumpmain`
(by `druglib pumpsim`), which other tests drive end to end. Here their main()
functions run inside CPython with fake stdin/stdout and a scripted serial
line, so every exit status and every branch of the serial loop is asserted
(and measured by `make coverage`).
"""
import io
import json
import os
import sys

import pytest

from conftest_signing import Kit
from firmware import checkmain, pumpmain
from firmware.link import frames as link
from firmware.store import logrec
from firmware.store.storage import FileStorage
from test_manifest import PROGRAMMING

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SLIP = PROGRAMMING.replace('"rate_ml_h": 10', '"rate_ml_h": 100')


@pytest.fixture(scope="module")
def kit(tmp_path_factory):
    return Kit(tmp_path_factory.mktemp("release"), version=3)


def stdin_bytes(monkeypatch, data):
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data), encoding="utf-8"))


# --- checkmain -------------------------------------------------------------------------------

def test_checkmain_prints_one_result_per_request_in_order(kit, monkeypatch, capsys):
    text = "\n".join([PROGRAMMING, SLIP] * 20)  # 40 requests: past the gc.collect() every 32
    stdin_bytes(monkeypatch, text.encode())
    assert checkmain.main(["checkmain", kit.lib_path]) == 0
    out = capsys.readouterr().out.split("\n")
    assert len(out) == 41 and out[-1] == ""
    for i, line in enumerate(out[:-1]):
        assert json.loads(line)["verdict"] == ("accept" if i % 2 == 0 else "reject"), line


def test_checkmain_reads_text_stdin_as_micropython_gives_it(kit, monkeypatch, capsys):
    # MicroPython's sys.stdin has no .buffer: read() gives str
    monkeypatch.setattr(sys, "stdin", io.StringIO(PROGRAMMING))
    assert checkmain.main(["checkmain", kit.lib_path]) == 0
    assert json.loads(capsys.readouterr().out)["verdict"] == "accept"


def test_checkmain_usage_without_exactly_one_library(capsys):
    assert checkmain.main(["checkmain"]) == 2
    assert checkmain.main(["checkmain", "a", "b"]) == 2
    err = capsys.readouterr().err
    assert err.count("usage: micropython -m firmware.checkmain LIBRARY < REQUESTS") == 2


def test_checkmain_refuses_a_missing_or_malformed_library_with_its_code(tmp_path, kit, monkeypatch, capsys):
    stdin_bytes(monkeypatch, PROGRAMMING.encode())
    assert checkmain.main(["checkmain", str(tmp_path / "missing.lib")]) == 3
    assert capsys.readouterr().err.startswith("cannot read library: ")
    bad = tmp_path / "bad.lib"
    with open(kit.lib_path, "rb") as f:
        blob = bytearray(f.read())
    blob[60] ^= 0xFF  # a body byte: the digest no longer matches
    bad.write_bytes(bytes(blob))
    assert checkmain.main(["checkmain", str(bad)]) == 3
    captured = capsys.readouterr()
    assert captured.err.startswith("LIB_DIGEST: ") and captured.out == ""


def test_checkmain_rejects_a_line_that_is_not_utf8_and_checks_the_others(kit, monkeypatch, capsys):
    """Issue 8: one invalid UTF-8 line is that line's reject (REQ_MALFORMED);
    the other lines keep their verdicts (it was exit 4 with no output)."""
    stdin_bytes(monkeypatch, b'{"drug": "blin\xff"}\n{}\n')
    assert checkmain.main(["checkmain", kit.lib_path]) == 0
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert len(lines) == 2
    first = json.loads(lines[0])
    assert first["verdict"] == "reject" and first["findings"][0]["code"] == "REQ_MALFORMED"
    assert json.loads(lines[1])["verdict"] == "reject"


# --- pumpmain: options, faults, pump id --------------------------------------------------------

@pytest.mark.parametrize("argv", [
    [], ["--state", "s"], ["--trust", "t"], ["--state", "s", "--trust"], ["--state", "s", "--trust", "t", "-x"],
    ["--state", "s", "--trust", "t", "--id"],
])
def test_pumpmain_usage_for_incomplete_or_unknown_options(argv, capsys):
    assert pumpmain.main(["pumpmain"] + argv) == 2
    assert capsys.readouterr().err.startswith("usage: micropython -m firmware.pumpmain --state DIR")


def test_pumpmain_refuses_to_serve_without_a_usable_trust_store(tmp_path, capsys):
    bad = tmp_path / "trust.json"
    bad.write_text('{"format": "druglib-trust/1", "keys": []}')
    for trust in (str(tmp_path / "missing.json"), str(bad)):
        assert pumpmain.main(["pumpmain", "--state", str(tmp_path / "pump"), "--trust", trust],
                             line=Line([])) == 3
        assert capsys.readouterr().err.startswith("FAULT TRUST_MALFORMED: ")
    assert not (tmp_path / "pump").exists() or os.listdir(str(tmp_path / "pump")) == []


def test_pump_id_is_given_or_stored_at_first_boot_and_kept(tmp_path):
    st = FileStorage(str(tmp_path / "pump"))
    assert pumpmain._pump_id(st, "ward-7") == "ward-7" and not st.exists(pumpmain.ID_FILE)
    first = pumpmain._pump_id(st, None)
    assert first.startswith("pump-") and len(first) == 17
    assert pumpmain._pump_id(st, None) == first  # the stored id, not a new one
    for junk in (b"", b"  \n", b"\xff\xfe"):  # an unreadable stored id is replaced
        st.write(pumpmain.ID_FILE, junk)
        again = pumpmain._pump_id(st, None)
        assert again.startswith("pump-") and st.read(pumpmain.ID_FILE, 0, 64) == again.encode()


def test_pump_id_without_urandom_is_all_zeros(tmp_path, monkeypatch):
    monkeypatch.setattr(pumpmain, "os", None)  # a port without os.urandom
    assert pumpmain._pump_id(FileStorage(str(tmp_path / "p")), None) == "pump-000000000000"


def test_ticks_fall_back_to_the_monotonic_clock_on_cpython():
    t0 = pumpmain._ticks_ms()
    assert isinstance(t0, int) and 0 <= pumpmain._elapsed(t0) < 60000


def test_ticks_use_micropythons_wrapping_clock_where_it_exists(monkeypatch):
    import time

    # MicroPython's ticks_ms wraps; ticks_diff gives the signed difference across the wrap.
    monkeypatch.setattr(time, "ticks_ms", lambda: 5, raising=False)
    monkeypatch.setattr(time, "ticks_diff", lambda a, b: (a - b) % (1 << 30), raising=False)
    assert pumpmain._ticks_ms() == 5
    assert pumpmain._elapsed((1 << 30) - 10) == 15  # 10 ms before the wrap, 5 after


# --- pumpmain: the serial loop -----------------------------------------------------------------

class Line:
    """A scripted serial line: each step is bytes arriving, or None for a quiet poll."""

    def __init__(self, steps):
        self.steps = list(steps)
        self.sent = bytearray()
        self.quiet = 0

    def wait(self, ms):
        if self.steps and self.steps[0] is None:
            self.steps.pop(0)
            self.quiet += 1
            return False
        return True

    def read(self):
        return self.steps.pop(0) if self.steps else b""  # b"": the line has ended

    def write(self, data):
        self.sent += data


def answers(sent):
    return [f for f in link.Decoder().feed(bytes(sent)) if isinstance(f, link.Frame)]


def serve(tmp_path, kit, steps):
    line = Line(steps)
    rc = pumpmain.main(["pumpmain", "--state", str(tmp_path / "pump"), "--trust", kit.trust_path,
                        "--id", "bench-1"], line=line)
    return rc, line


def test_pumpmain_boots_serves_and_ends_with_the_line(tmp_path, kit, capsys):
    sha = __import__("hashlib").sha256(kit.blob).digest()
    steps = [link.encode(link.INFO, 1),
             link.encode(link.BEGIN, 2, link.pack_u32(len(kit.blob)) + sha + b"\x00"),
             link.encode(link.DATA, 3, link.pack_u32(0) + kit.blob),
             link.encode(link.END, 4, link.pack_u32(len(kit.blob)) + sha),
             link.encode(link.CHECK, 5, PROGRAMMING.encode())]
    rc, line = serve(tmp_path, kit, steps)
    assert rc == 0
    assert capsys.readouterr().err == "READY pump_id=bench-1 state=no-library version=0 code=NO_LIBRARY\n"
    got = answers(line.sent)
    assert [(f.ftype, f.seq) for f in got] == [(t | link.OK, s) for t, s in
                                               ((link.INFO, 1), (link.BEGIN, 2), (link.DATA, 3), (link.END, 4),
                                                (link.CHECK, 5))]
    assert logrec.decode_fields(got[3].payload)["status"] == "installed"
    assert json.loads(got[4].payload.decode())["verdict"] == "accept"
    # the pump that boots next on this state runs the installed library
    rc, line = serve(tmp_path, kit, [])
    assert rc == 0 and "state=ok version=3 code=-" in capsys.readouterr().err


def test_story_a_frame_cut_mid_way_is_dropped_at_the_idle_timeout(tmp_path, kit, monkeypatch):
    # Arrange: half an INFO frame arrives (a cable pulled mid-frame), then the
    # line goes quiet past the idle timeout, then the host sends the frame again.
    monkeypatch.setattr(pumpmain, "IDLE_MS", -1)  # any quiet poll is past it
    frame = link.encode(link.INFO, 7)
    rc, line = serve(tmp_path, kit, [frame[:5], None, frame])
    # Assert: the stale half was forgotten silently; the whole frame is answered, once.
    assert rc == 0 and line.quiet == 1
    assert [(f.ftype, f.seq) for f in answers(line.sent)] == [(link.INFO | link.OK, 7)]


def test_a_half_frame_still_pending_when_the_next_arrives_draws_one_nak(tmp_path, kit, monkeypatch):
    # The same bytes with the line never quiet long enough: the half is ended by
    # the next frame's leading delimiter, fails its check and draws a NAK (it is
    # never executed); the whole frame after it is answered.
    monkeypatch.setattr(pumpmain, "IDLE_MS", 10 ** 9)
    frame = link.encode(link.INFO, 7)
    rc, line = serve(tmp_path, kit, [frame[:5], None, frame])
    assert rc == 0 and [f.ftype for f in answers(line.sent)] == [link.NAK, link.INFO | link.OK]


def test_a_quiet_line_with_nothing_pending_is_just_waited_on(tmp_path, kit, monkeypatch):
    monkeypatch.setattr(pumpmain, "IDLE_MS", -1)
    rc, line = serve(tmp_path, kit, [None, None, link.encode(link.INFO, 1)])
    assert rc == 0 and line.quiet == 2 and len(answers(line.sent)) == 1


# --- pumpmain: the stdin/stdout line of the unix port -----------------------------------------

class Pipe:
    """A byte pipe wearing the shape of sys.stdin / sys.stdout (with .buffer)."""

    def __init__(self, fd, mode):
        self.buffer = os.fdopen(fd, mode, buffering=0)


def test_stdin_stdout_line_reads_what_arrived_and_writes_all(monkeypatch):
    r_in, w_in = os.pipe()
    r_out, w_out = os.pipe()
    monkeypatch.setattr(sys, "stdin", Pipe(r_in, "rb"))
    monkeypatch.setattr(sys, "stdout", Pipe(w_out, "wb"))
    line = pumpmain._Line()
    try:
        assert not line.wait(0)
        os.write(w_in, b"abc")
        assert line.wait(1000) and line.read() == b"abc"
        line.write(b"answer")
        assert os.read(r_out, 100) == b"answer"
        os.close(w_in)
        assert line.wait(1000) and line.read() == b""  # end of input
    finally:
        sys.stdin.buffer.close()
        sys.stdout.buffer.close()
        os.close(r_out)


def test_stdin_line_without_os_read_reads_byte_by_byte_as_on_micropython(monkeypatch):
    r_in, w_in = os.pipe()
    monkeypatch.setattr(sys, "stdin", Pipe(r_in, "rb"))
    monkeypatch.setattr(pumpmain, "os", None)
    line = pumpmain._Line()
    try:
        assert line.fd is None
        os.write(w_in, b"xyz")
        assert line.wait(1000) and line.read() == b"xyz"
        os.write(w_in, bytes(range(256)) * 2)
        got = line.read()
        assert len(got) == pumpmain.READ_MAX and got == (bytes(range(256)) * 2)[:pumpmain.READ_MAX]
        os.close(w_in)
        assert line.read() == (bytes(range(256)) * 2)[pumpmain.READ_MAX:]
        assert line.read() == b""
    finally:
        sys.stdin.buffer.close()


class NoFlush:
    """A stdout without flush(), as some MicroPython streams are."""

    def __init__(self):
        self.data = bytearray()

    def write(self, b):
        self.data += b


def test_stdout_without_flush_is_written_all_the_same(monkeypatch):
    r_in, w_in = os.pipe()
    out = NoFlush()
    monkeypatch.setattr(sys, "stdin", Pipe(r_in, "rb"))
    monkeypatch.setattr(sys, "stdout", out)  # no .buffer either: written as it is
    try:
        pumpmain._Line().write(b"\x00frame\x00")
        assert bytes(out.data) == b"\x00frame\x00"
    finally:
        sys.stdin.buffer.close()
        os.close(w_in)


# --- both entry points as programs under CPython (the same modules as under the unix port) ----

def test_checkmain_as_a_program_prints_what_it_prints_in_process(kit, monkeypatch, capsys):
    import subprocess

    text = PROGRAMMING + "\n" + SLIP
    proc = subprocess.run([sys.executable, "-m", "firmware.checkmain", kit.lib_path], input=text.encode(),
                          capture_output=True, cwd=ROOT, timeout=120)
    stdin_bytes(monkeypatch, text.encode())
    assert checkmain.main(["checkmain", kit.lib_path]) == 0
    assert proc.returncode == 0 and proc.stdout.decode() == capsys.readouterr().out


def test_pumpmain_as_a_program_answers_info_and_exits_at_end_of_input(kit, tmp_path):
    import subprocess

    proc = subprocess.run([sys.executable, "-m", "firmware.pumpmain", "--state", str(tmp_path / "pump"),
                           "--trust", kit.trust_path, "--id", "cpython-1"], input=link.encode(link.INFO, 9),
                          capture_output=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.decode().startswith("READY pump_id=cpython-1 state=no-library")
    got = answers(proc.stdout)
    assert [(f.ftype, f.seq) for f in got] == [(link.INFO | link.OK, 9)]
    assert logrec.decode_fields(got[0].payload)["pump_id"] == "cpython-1"
