"""Issue 11 items 1, 2 and 6: the windowed push, the honest cable, a resend
cache that a CRC-32 collision cannot fool, and a host that does not believe
the pump. Stories: arrange, attack, assert the active library and the log."""
import hashlib
import zlib

import pytest

from conftest_signing import Kit
from firmware.link import frames as link
from firmware.link.server import RX_WINDOW
from firmware.store import logrec
from firmware.store.faultstorage import FaultStorage
from host_tools.errors import LinkError
from host_tools.link import answer
from host_tools.link.cable import LineSim
from host_tools.link.client import PumpLink
from linkfake import FakePort, make_server
from test_manifest import PROGRAMMING


@pytest.fixture(scope="module")
def kit(tmp_path_factory):
    return Kit(tmp_path_factory.mktemp("v3"), version=3)


def ask(srv, seq, ftype, payload=b""):
    out = [f for f in link.Decoder().feed(srv.feed(link.encode(ftype, seq, payload))) if isinstance(f, link.Frame)]
    assert len(out) == 1, out
    return out[0]


def log_kinds(srv):
    return [k for _, k, _ in logrec.decode_all(srv.pump.log.read_all())]


def forge_crc(text, target):
    """`text` + JSON whitespace (spaces and tabs) whose CRC-32 is `target`.

    CRC-32 is affine over GF(2): for equal-length messages crc(a^b^c) =
    crc(a)^crc(b)^crc(c). Each of 48 trailing spaces may become a tab; the
    choice of which is a linear system of 32 equations, solved here."""
    n = 48
    base = bytearray(text + b" " * n)
    c0 = zlib.crc32(bytes(base))
    rows = []
    for i in range(n):
        b = bytearray(base)
        b[len(text) + i] = 0x09
        rows.append((zlib.crc32(bytes(b)) ^ c0, 1 << i))
    want = target ^ c0
    basis = {}  # pivot bit -> (vector, combination)
    for vec, comb in rows:
        for bit in sorted(basis, reverse=True):
            if vec >> bit & 1:
                vec ^= basis[bit][0]
                comb ^= basis[bit][1]
        if vec:
            basis[vec.bit_length() - 1] = (vec, comb)
    comb = 0
    for bit in sorted(basis, reverse=True):
        if want >> bit & 1:
            want ^= basis[bit][0]
            comb ^= basis[bit][1]
    assert want == 0, "no solution"
    for i in range(n):
        if comb >> i & 1:
            base[len(text) + i] = 0x09
    assert zlib.crc32(bytes(base)) == target
    return bytes(base)


def test_a_programming_with_a_colliding_crc_is_checked_not_answered_from_the_cache(kit):
    """Attack (issue 11 item 6): a correct programming is checked ("accept")
    with seq 7; then a 10x-rate programming, forged to the same CRC-32 and
    sent with the same seq. Keyed on the CRC, the pump answered it from its
    resend cache: "accept", unchecked, unlogged. Now it is checked, rejected
    and logged."""
    srv = make_server(FaultStorage(), kit.trust)
    from test_link_attacks import push

    assert push(srv, kit.blob)[1]["status"] == "installed"
    good = PROGRAMMING.encode()
    bad = forge_crc(PROGRAMMING.replace('"rate_ml_h": 10', '"rate_ml_h": 100').encode(), zlib.crc32(good))
    assert zlib.crc32(bad) == zlib.crc32(good) and bad != good  # the premise of the attack
    first = ask(srv, 7, link.CHECK, good)
    assert first.ftype == link.CHECK | link.OK and b'"verdict": "accept"' in first.payload, first.payload
    before = log_kinds(srv)
    active = srv.pump.store.library_bytes()
    second = ask(srv, 7, link.CHECK, bad)
    assert second.ftype == link.CHECK | link.OK and b'"verdict": "reject"' in second.payload, second.payload
    assert log_kinds(srv) == before + ["check"]  # checked and logged once
    assert srv.pump.store.library_bytes() == active
    # a true retransmission (same seq, same bytes) is still answered from the cache, never checked twice
    assert ask(srv, 7, link.CHECK, bad).payload == second.payload
    assert log_kinds(srv) == before + ["check"]


def test_begin_announces_the_receive_window(kit):
    srv = make_server(FaultStorage(), kit.trust)
    blob = kit.blob
    f = ask(srv, 1, link.BEGIN, link.pack_u32(len(blob)) + hashlib.sha256(blob).digest() + b"\x00")
    fields = logrec.decode_fields(f.payload)
    assert fields["window"] == RX_WINDOW and RX_WINDOW >= 2 * (link.MAX_PAYLOAD - 4)


class BatchPort(FakePort):
    """Delivers what was written only when the host reads: the host really
    has several frames in flight; `lose` drops whole frames by index."""

    def __init__(self, server, lose=(), **kw):
        super().__init__(server, **kw)
        self.pending = bytearray()
        self.lose = set(lose)
        self.frames = 0
        self.max_pending = 0

    def write(self, data):
        self.frames += 1
        if self.frames - 1 not in self.lose:
            self.pending += data
        self.max_pending = max(self.max_pending, len(self.pending))
        return len(data)

    def read(self, n):
        if self.pending:
            self.inbox += self.server.feed(bytes(self.pending))
            self.pending.clear()
        return super().read(n)


@pytest.mark.parametrize("lose", [(), (2,), (3, 4), (2, 5, 6)])
def test_a_windowed_push_recovers_lost_frames_by_offset(kit, lose):
    """Frames lost mid-window: the pump answers XFER_GAP with `have`, the host
    goes back to it; the library installs whole, exactly once."""
    srv = make_server(FaultStorage(), kit.trust)
    port = BatchPort(srv, lose=lose)
    c = PumpLink(port=port, timeout=0.05, end_extra=0.05, seed=1)
    r = c.push(kit.blob, chunk=128)
    assert r["status"] == "installed" and srv.pump.store.library_bytes() == kit.blob
    assert port.max_pending > 2 * 128  # several frames were in flight at once
    assert log_kinds(srv).count("install") == 1
    if lose:
        assert c.stats["retransmissions"] > 0


class TracingPort(BatchPort):
    """BatchPort that records the order of events: ("w", type) per frame
    written, ("r", type) per answer the host is handed; `mute_answers`
    drops the answers to the requests written at those indices."""

    def __init__(self, server, lose=(), mute_answers=()):
        super().__init__(server, lose=lose)
        self.events = []
        self.mute_answers = set(mute_answers)
        self.answers = link.Decoder()

    def write(self, data):
        for f in link.Decoder().feed(data):
            if isinstance(f, link.Frame):
                self.events.append(("w", f.ftype))
        k = self.frames
        n = super().write(data)
        if k in self.mute_answers and k not in self.lose:
            self.pending = self.pending[:len(self.pending) - len(data)]
            self.server.feed(bytes(data))  # handled, but its answer is lost on the way back
        return n

    def read(self, n):
        out = super().read(n)
        for f in self.answers.feed(out):
            if isinstance(f, link.Frame):
                self.events.append(("r", f.ftype))
        return out


def data_frames(blob, chunk):
    return -(-len(blob) // chunk)


def test_end_goes_right_behind_the_last_data_frame(kit):
    """One round trip less per push (issue 11 item 1): END is written before
    the answer to the last DATA frame is read; it installs once."""
    srv = make_server(FaultStorage(), kit.trust)
    port = TracingPort(srv)
    c = PumpLink(port=port, timeout=0.05, end_extra=0.05, seed=1)
    assert c.push(kit.blob, chunk=128)["status"] == "installed"
    writes = [e for e in port.events if e[0] == "w"]
    assert writes[-1] == ("w", link.END) and writes.count(("w", link.END)) == 1
    end_at = port.events.index(("w", link.END))
    answers_after = [e for e in port.events[end_at:] if e == ("r", link.DATA | link.OK)]
    assert answers_after, "END waited for every DATA answer"
    assert log_kinds(srv).count("install") == 1 and srv.pump.store.library_bytes() == kit.blob


@pytest.mark.parametrize("what", ["last DATA lost", "END lost", "END's answer lost",
                                  "last DATA and END lost"])
def test_a_loss_around_the_pipelined_end_still_installs_once(kit, what):
    srv = make_server(FaultStorage(), kit.trust)
    n = data_frames(kit.blob, 128)  # frames written: 0 BEGIN, 1..n DATA, n+1 END
    lose, mute = {"last DATA lost": ((n,), ()), "END lost": ((n + 1,), ()),
                  "END's answer lost": ((), (n + 1,)), "last DATA and END lost": ((n, n + 1), ())}[what]
    port = TracingPort(srv, lose=lose, mute_answers=mute)
    c = PumpLink(port=port, timeout=0.05, end_extra=0.05, seed=1)
    r = c.push(kit.blob, chunk=128)
    assert r["status"] == "installed" and srv.pump.store.library_bytes() == kit.blob
    assert log_kinds(srv).count("install") == 1  # never installed twice, never "same" by a second END
    assert c.stats["retransmissions"] > 0


class IncompletePort(FakePort):
    """A pump that answers END with XFER_INCOMPLETE at the same `have`, forever."""

    def write(self, data):
        for f in link.Decoder().feed(data):
            if isinstance(f, link.Frame):
                if f.ftype == link.END:
                    body = {"code": "XFER_INCOMPLETE", "message": "received 100 of 800 bytes", "have": 100}
                    self.inbox += link.encode(link.ERR, f.seq, logrec.encode_fields(body))
                    continue
                if f.ftype == link.BEGIN:
                    body = {"have": 0, "prefix_sha256": hashlib.sha256(b"").digest(), "window": 4096}
                else:  # DATA: it never gets past byte 100
                    body = {"have": 100}
                self.inbox += link.encode(f.ftype | link.OK, f.seq, logrec.encode_fields(body))
        return len(data)


def test_an_end_that_never_completes_is_one_clear_error(kit):
    c = PumpLink(port=IncompletePort(None), timeout=0.02, end_extra=0.02, seed=1)
    with pytest.raises(LinkError, match="progress"):
        c.push(kit.blob, chunk=128)
    assert c.stats["requests"] < 2000  # bounded


class StuckPort(FakePort):
    """A pump that answers every DATA with the same `have` (a stuck pump)."""

    def write(self, data):
        for f in link.Decoder().feed(data):
            if isinstance(f, link.Frame):
                if f.ftype == link.BEGIN:
                    body = {"have": 0, "prefix_sha256": hashlib.sha256(b"").digest(), "window": 4096}
                else:
                    body = {"have": 0}
                self.inbox += link.encode(f.ftype | link.OK, f.seq, logrec.encode_fields(body))
        return len(data)


def test_a_stuck_pump_is_one_clear_error_not_data_forever(kit):
    c = PumpLink(port=StuckPort(None), timeout=0.02, end_extra=0.05, seed=1)
    with pytest.raises(LinkError, match=r"did not answer DATA with progress in \d+ exchanges"):
        c.push(kit.blob, chunk=128)
    assert c.stats["requests"] < 500  # bounded


class LyingPort(FakePort):
    """A pump whose BEGIN (or INFO) answer is replaced by `fields`."""

    def __init__(self, fields, ftype):
        super().__init__(None)
        self.fields, self.ftype = fields, ftype

    def write(self, data):
        for f in link.Decoder().feed(data):
            if isinstance(f, link.Frame) and f.ftype == self.ftype:
                self.inbox += link.encode(f.ftype | link.OK, f.seq, logrec.encode_fields(self.fields))
        return len(data)


SHA0 = hashlib.sha256(b"").digest()


@pytest.mark.parametrize("fields,words", [
    ({}, "no field `have`"),
    ({"have": "0", "prefix_sha256": SHA0}, "not an integer"),
    ({"have": 10 ** 9, "prefix_sha256": SHA0}, "outside"),
    ({"have": 0}, "no field `prefix_sha256`"),
    ({"have": 0, "prefix_sha256": b"x"}, "not 32"),
    ({"have": 0, "prefix_sha256": SHA0, "window": 0}, "window"),
])
def test_a_begin_answer_with_missing_or_wrong_fields_is_a_clear_error(kit, fields, words):
    c = PumpLink(port=LyingPort(fields, link.BEGIN), timeout=0.02, end_extra=0.05, seed=1)
    with pytest.raises(LinkError, match=words):
        c.push(kit.blob)


@pytest.mark.parametrize("fields,words", [
    ({"pump_id": "p"}, "no field `state`"),
    ({"pump_id": "p", "state": "ok", "version": -1}, "outside"),
    ({"pump_id": 3, "state": "ok", "version": 1}, "pump_id"),
])
def test_an_info_answer_with_missing_or_wrong_fields_is_a_clear_error(fields, words):
    c = PumpLink(port=LyingPort(fields, link.INFO), timeout=0.02, seed=1)
    with pytest.raises(LinkError, match=words):
        c.info()


def test_an_end_answer_naming_another_version_is_refused():
    with pytest.raises(LinkError, match="version 2 was pushed"):
        answer.check_end({"status": "installed", "version": 9, "previous": 1}, 2)
    with pytest.raises(LinkError, match="unknown status"):
        answer.check_end({"status": "great", "version": 2, "previous": 1}, 2)
    with pytest.raises(LinkError, match="outside"):
        answer.check_log({"size": answer.MAX_LOG_BYTES + 1, "seq": 0, "chain": b"", "data": b""}, 0)


def test_the_pacer_keeps_an_absolute_schedule():
    """Issue 11 item 2: the schedule never absorbs a late wake-up: pieces
    read while the line is busy are due exactly 10 bit times per byte apart,
    whatever the clock said when they were read; latency is added to each."""
    sim = LineSim(115200, latency_s=0.016)
    t0 = 1000.0
    due = [sim.schedule(16, now=t0 + 0.0001 * k) for k in range(1000)]  # read late, all while busy
    byte_s = 10.0 / 115200
    assert due[0] == pytest.approx(t0 + 16 * byte_s + 0.016)
    assert due[-1] == pytest.approx(t0 + 16000 * byte_s + 0.016)  # exactly the baud rate over 16,000 bytes
    # an idle line restarts its schedule at the time the next bytes come
    assert sim.schedule(1, now=t0 + 100) == pytest.approx(t0 + 100 + byte_s + 0.016)


from hypothesis import HealthCheck, given, settings, strategies as st  # noqa: E402

REQ_TYPES = [link.INFO, link.BEGIN, link.DATA, link.END, link.ABORT, link.LOG, link.CHECK, link.THERAPY, 0x09, 0x7F]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.sampled_from(REQ_TYPES), st.integers(0, 3), st.binary(max_size=80)), max_size=12),
       st.binary(max_size=200))
def test_fuzzed_frames_never_escape_the_loop_nor_touch_the_library(kit, reqs, noise):
    """Issue 11 item 6 (CPython engine): valid frames of every request type
    with random payloads, and raw noise: never an exception out of feed(),
    always an answer per request, the active library unchanged."""
    srv = fuzz_server(kit)
    active = srv.pump.store.library_bytes()
    for ftype, seq, payload in reqs:
        out = link.Decoder().feed(srv.feed(link.encode(ftype, seq, payload)))
        # one answer per request (a NAK may precede it: the noise of an earlier example)
        assert len([f for f in out if isinstance(f, link.Frame) and f.ftype != link.NAK]) == 1
    srv.feed(noise)
    assert srv.pump.store.library_bytes() == active


_FUZZ = {}


def fuzz_server(kit):
    """One pump running kit's library per test session (cheap to reuse: the
    property asserts the library never changes)."""
    if "srv" not in _FUZZ:
        from test_link_attacks import push

        srv = make_server(FaultStorage(), kit.trust)
        assert push(srv, kit.blob)[1]["status"] == "installed"
        _FUZZ["srv"] = srv
    return _FUZZ["srv"]
