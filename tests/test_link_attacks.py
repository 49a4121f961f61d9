"""Attacks on the pump through its serial link, as an attacker on the cable or
a buggy host would make them (docs/protocol.md). Stories: arrange a pump
running a released library, attack, assert that the pump still answers and
that the active library and the event log are unchanged (except for what the
attack may legitimately add, e.g. one check record per programming)."""
import hashlib
import json

import pytest

from conftest_signing import Kit
from firmware.link import frames as link
from firmware.store import logrec
from firmware.errors import StorageError
from firmware.store.faultstorage import FaultStorage, Medium
from firmware.link.server import STAGE
from linkfake import make_server


@pytest.fixture(scope="module")
def kits(tmp_path_factory):
    return {v: Kit(tmp_path_factory.mktemp("v%d" % v), version=v) for v in (2, 3)}


def answers(srv, wire):
    """Feed raw bytes to the pump; -> the frames (and faults) it answered with."""
    return link.Decoder().feed(srv.feed(wire))


def ask(srv, seq, ftype, payload=b""):
    out = [f for f in answers(srv, link.encode(ftype, seq, payload)) if isinstance(f, link.Frame)]
    assert len(out) == 1, out
    f = out[0]
    return f.ftype, (f.payload if f.ftype == link.CHECK | link.OK else logrec.decode_fields(f.payload))


def push(srv, blob, seq=1):
    sha = hashlib.sha256(blob).digest()
    ask(srv, seq, link.BEGIN, link.pack_u32(len(blob)) + sha + b"\x00")
    ask(srv, seq + 1, link.DATA, link.pack_u32(0) + blob)
    return ask(srv, seq + 2, link.END, link.pack_u32(len(blob)) + sha)


def running(kit, storage=None):
    """A pump (in process) running `kit`'s released library."""
    srv = make_server(storage or FaultStorage(), kit.trust)
    t, f = push(srv, kit.blob)
    assert (t, f["status"]) == (link.END | link.OK, "installed")
    return srv


def records(srv):
    return logrec.decode_all(srv.pump.log.read_all())


def kinds(srv):
    return [k for _, k, _ in records(srv)]


def active_bytes(srv):
    store = srv.pump.store
    return store.library_bytes() if store.active is not None else None


# A programming that is wrong in almost every way: its result, with every
# finding's message, is longer than one frame.
EVERYTHING_WRONG = {
    "drug": "blinatumomab", "indication": "relapsed-refractory", "cycle": 1, "day": 1,
    "restart_after_adverse_event": True,
    "patient": {"age_days": 1, "weight_kg": "0.5", "bsa_m2": "9"},
    "dose": {"value": "999", "unit": "mcg/m2/day"},
    "bag": {"blinatumomab_mcg": "99999", "volume_ml": "1", "preservative": True},
    "infusion": {"rate_ml_h": "999", "duration_h": "1", "vtbi_ml": "9999"},
    "line": {"inline_filter": False, "dehp_free": False}, "overrides": ["NOT_A_CODE_" + "X" * 9] * 5}


# --- CHECK ---------------------------------------------------------------

def test_one_check_frame_cannot_flood_the_log_with_many_programmings(kits):
    """Attack: one CHECK frame carrying 680 programmings as JSON Lines. Before
    the fix the pump checked and logged all 680 (rolling the install record
    off the log) and then answered LINK_TOO_LARGE. CHECK is ONE programming
    (docs/protocol.md, "CHECK"): it gets one verdict and one check record."""
    srv = running(kits[3])
    before = kinds(srv)
    t, out = ask(srv, 10, link.CHECK, b"{}\n" * 680)
    assert t == link.CHECK | link.OK
    result = json.loads(out)
    assert result["verdict"] == "reject" and [f["code"] for f in result["findings"]] == ["REQ_MALFORMED"]
    assert kinds(srv) == before + ["check"]
    assert active_bytes(srv) == kits[3].blob
    srv.pump.log.verify()


def test_an_empty_check_is_refused_and_logged_not_silently_ignored(kits):
    srv = running(kits[3])
    before = kinds(srv)
    t, out = ask(srv, 10, link.CHECK, b"   ")
    assert t == link.CHECK | link.OK and json.loads(out)["verdict"] == "reject"
    assert kinds(srv) == before + ["check"]


def test_a_check_whose_result_exceeds_one_frame_still_gets_its_verdict_and_codes(kits):
    """Attack: a programming wrong in so many ways that its result text is
    longer than a frame. Before the fix the pump logged the check and answered
    LINK_TOO_LARGE: the host never saw the verdict of a check the pump made.
    Now the messages are shortened; verdict, codes and severities are whole."""
    srv = running(kits[3])
    text = json.dumps(EVERYTHING_WRONG)
    raw = srv.pump.check_text(text)[0]  # the same check in process (logged too)
    assert len(raw.encode()) > link.MAX_PAYLOAD  # the premise of the attack
    full = json.loads(raw)
    before = kinds(srv)
    t, out = ask(srv, 10, link.CHECK, text.encode())
    assert t == link.CHECK | link.OK and len(out) <= link.MAX_PAYLOAD
    got = json.loads(out)
    assert got["verdict"] == full["verdict"] == "reject"
    assert [(f["code"], f["severity"]) for f in got["findings"]] == \
        [(f["code"], f["severity"]) for f in full["findings"]]
    assert all(f["message"] for f in got["findings"])
    assert kinds(srv) == before + ["check"]
    assert records(srv)[-1][2]["codes"] == [f["code"] for f in full["findings"]]


def test_a_check_with_many_repeated_findings_is_still_logged_and_answered(kits):
    """Attack: 60 overrides of codes that do not exist (one OVERRIDE_NOT_APPLICABLE
    finding each). Before the fix the check record did not fit in the log
    (ValueError), so the programming was checked but NOT logged and the link
    answered PUMP_ERROR. Now it is logged, each code once with its count, and
    the host gets the verdict even though the result cannot fit in a frame."""
    srv = running(kits[3])
    before = kinds(srv)
    text = json.dumps(dict(EVERYTHING_WRONG, overrides=["NOPE"] * 60)).encode()
    t, f = ask(srv, 10, link.CHECK, text)
    assert (t, f["code"]) == (link.ERR, "LINK_TOO_LARGE")
    assert "verdict reject" in f["message"] and "logged" in f["message"]
    assert kinds(srv) == before + ["check"]
    rec = records(srv)[-1][2]
    assert rec["verdict"] == "reject" and "OVERRIDE_NOT_APPLICABLE*60" in rec["codes"]
    assert "AGE_BELOW_MINIMUM" in rec["codes"]
    srv.pump.log.verify()
    assert active_bytes(srv) == kits[3].blob


@pytest.mark.parametrize("payload", [b"\xff\xfe", b"[" * 2000, b'{"drug": ' * 200, b"{" + b" " * 2040 + b"}",
                                     b'{"a": 1e99999}', b'"' + b"\\u0041" * 340 + b'"', b"\x00" * 2048])
def test_malformed_check_json_is_a_rejection_not_a_crash(kits, payload):
    srv = running(kits[3])
    before = kinds(srv)
    t, f = ask(srv, 10, link.CHECK, payload)
    if t == link.ERR:
        assert f["code"] == "LINK_BAD_REQUEST"  # not UTF-8: refused before checking
        assert kinds(srv) == before
    else:
        assert t == link.CHECK | link.OK and json.loads(f)["verdict"] == "reject"
        assert kinds(srv) == before + ["check"]
    assert ask(srv, 11, link.INFO)[1]["version"] == 3
    assert active_bytes(srv) == kits[3].blob


# --- the pump never speaks unasked ----------------------------------------

def test_a_looped_back_line_does_not_make_the_pump_talk_to_itself_forever(kits):
    """Attack: the line echoes everything (a loopback plug, an RS-485
    adapter's echo, two pumps cabled together). Before the fix the pump
    answered its own answer with LINK_BAD_REQUEST, forever. Answers, ERR and
    NAK frames are never requests: the pump ignores them (docs/protocol.md)."""
    srv = running(kits[3])
    before = kinds(srv)
    wire = link.encode(link.INFO, 7)
    rounds = 0
    while wire and rounds < 20:
        wire = srv.feed(wire)  # whatever the pump says comes straight back to it
        rounds += 1
    assert rounds == 2 and wire == b""  # INFO answered once, then silence
    wire = b"\x00\x05\x00"  # a damaged frame: NAK, which also comes back
    for _ in range(3):
        wire = srv.feed(wire)
    assert wire == b""
    for ftype in (link.ERR, link.NAK, link.INFO | link.OK, link.END | link.OK):
        assert srv.feed(link.encode(ftype, 9, b"\x00")) == b""
    assert kinds(srv) == before


def test_garbage_on_the_line_is_never_amplified_by_naks(kits):
    """Attack: a flood of tiny damaged frames ('\\x02\\x00': 2 bytes each, a
    14-byte NAK each before the fix, 7 times the attacker's bandwidth, which
    stalls the pump's output and delays real answers by seconds). The pump now
    sends at most as many NAK bytes as it received; a real damaged request
    still gets its NAK at once."""
    srv = running(kits[3])
    sent = got = 0
    for junk in (b"\x02\x00" * 2000, b"\x00\x05\x00" * 1000, bytes(range(1, 9)) * 500 + b"\x00",
                 (b"\x09" + b"\x01" * 8 + b"\x00") * 400) * 3:
        out = srv.feed(junk)
        sent, got = sent + len(junk), got + len(out)
        assert all(isinstance(f, link.Frame) and f.ftype == link.NAK for f in link.Decoder().feed(out))
    # never more than the bytes received
    assert got <= sent, (got, sent)
    wire = bytearray(link.encode(link.DATA, 77, link.pack_u32(0) + bytes(500)))
    wire[100] ^= 0x04  # a damaged request
    naks = [f for f in answers(srv, bytes(wire)) if isinstance(f, link.Frame)]
    assert [f.ftype for f in naks] == [link.NAK]
    assert ask(srv, 78, link.INFO)[1]["version"] == 3


# --- the install's in-memory state follows the committed one -------------

class FailLogAfterCommit(FaultStorage):
    """Storage whose event-log append fails once armed (a full flash)."""

    armed = False
    arm_at_commit = False

    def append(self, name, data):
        if self.armed and name == "events.log":
            raise StorageError("no space left for %s" % name)
        return super().append(name, data)

    def rename(self, src, dst):
        super().rename(src, dst)
        if dst == "commit.rec" and self.arm_at_commit:
            self.armed = True  # the commit is made: now the log write fails


def test_a_fault_after_the_commit_never_leaves_the_pump_checking_with_the_old_library(kits):
    """Attack: the log cannot be written after v3's commit (flash full). Before
    the fix the pump answered STORAGE_IO but kept checking with the decoded
    v2 while its storage and INFO said v3. Now the pump checks with the library
    its storage has committed, whatever failed after the commit."""
    st = FailLogAfterCommit()
    srv = running(kits[2], st)
    st.arm_at_commit = True
    t, f = push(srv, kits[3].blob, seq=20)
    assert (t, f["code"]) == (link.ERR, "STORAGE_IO")
    pump = srv.pump
    assert pump.store.version() == 3
    st.armed = False
    # the pump's view equals a fresh boot's view of the same storage
    fresh = make_server(FaultStorage(st.medium), kits[3].trust)
    assert ask(srv, 30, link.INFO)[1]["version"] == ask(fresh, 1, link.INFO)[1]["version"] == 3
    text = json.dumps(EVERYTHING_WRONG)
    assert srv.pump.check_text(text) == fresh.pump.check_text(text)
    assert srv.pump.lib == fresh.pump.lib


# --- DATA: a failed append must not put the pump out of step --------------

class FailAppendOnce(FaultStorage):
    """The next append to the staging file writes half its bytes, then fails."""

    fail = False

    def append(self, name, data):
        if self.fail and name == STAGE:
            self.fail = False
            super().append(name, bytes(data[:len(data) // 2]))
            raise StorageError("write error on %s" % name)
        return super().append(name, data)


def test_a_failed_staging_write_does_not_corrupt_the_transfer(kits):
    """Attack (or a flash hiccup): a DATA append fails half-way. Before the fix
    the pump's `have` no longer matched the staging file, so every later chunk
    landed at the wrong place and the whole transfer ended in XFER_DIGEST.
    Now `have` is re-read from the staging file and the host goes on from
    there; the push completes."""
    st = FailAppendOnce()
    srv = running(kits[2], st)
    blob = kits[3].blob
    sha = hashlib.sha256(blob).digest()
    ask(srv, 20, link.BEGIN, link.pack_u32(len(blob)) + sha + b"\x00")
    ask(srv, 21, link.DATA, link.pack_u32(0) + blob[:200])
    st.fail = True
    t, f = ask(srv, 22, link.DATA, link.pack_u32(200) + blob[200:400])
    assert (t, f["code"]) == (link.ERR, "STORAGE_IO")
    have = ask(srv, 23, link.BEGIN, link.pack_u32(len(blob)) + sha + b"\x00")[1]
    assert have["have"] == 300 and have["prefix_sha256"] == hashlib.sha256(blob[:300]).digest()
    ask(srv, 24, link.DATA, link.pack_u32(300) + blob[300:])
    t, f = ask(srv, 25, link.END, link.pack_u32(len(blob)) + sha)
    assert (t, f["status"], f["version"]) == (link.END | link.OK, "installed", 3)


# --- requests that are well framed but wrong ------------------------------

@pytest.mark.parametrize("ftype,payload", [(link.INFO, b"junk"), (link.ABORT, b"\x00")])
def test_requests_that_take_no_payload_refuse_one(kits, ftype, payload):
    srv = running(kits[3])
    blob = kits[3].blob
    sha = hashlib.sha256(blob).digest()
    ask(srv, 20, link.BEGIN, link.pack_u32(len(blob)) + sha + b"\x01")
    ask(srv, 21, link.DATA, link.pack_u32(0) + blob[:100])
    t, f = ask(srv, 22, ftype, payload)
    assert (t, f["code"]) == (link.ERR, "LINK_BAD_REQUEST")
    assert srv.have == 100  # an ABORT with a payload did not abort


def test_transfer_attacks_leave_the_library_and_the_log_unchanged(kits):
    """BEGIN with 0 / over-limit / 2**32-1 bytes; DATA past the end, out of
    order, overlapping, repeated with other bytes; END with a wrong digest or
    length; a second BEGIN for another library mid-transfer; INFO, LOG and
    CHECK interleaved; sequence numbers wrapping 65535 -> 0."""
    srv = running(kits[3])
    blob, other = kits[3].blob, kits[2].blob
    sha = hashlib.sha256(blob).digest()
    before = kinds(srv)
    seq = [65530]

    def go(ftype, payload=b""):
        seq[0] = (seq[0] + 1) % link.SEQ_MOD
        return ask(srv, seq[0], ftype, payload)

    def code(ftype, payload=b""):
        t, f = go(ftype, payload)
        assert t == link.ERR, f
        return f["code"]

    assert code(link.BEGIN, link.pack_u32(0) + sha + b"\x00") == "XFER_TOO_LARGE"
    assert code(link.BEGIN, link.pack_u32(1048577) + sha + b"\x00") == "XFER_TOO_LARGE"
    assert code(link.BEGIN, link.pack_u32(0xFFFFFFFF) + sha + b"\xff") == "XFER_TOO_LARGE"
    assert code(link.DATA, link.pack_u32(0) + b"x") == "XFER_NONE"
    go(link.BEGIN, link.pack_u32(len(other)) + hashlib.sha256(other).digest() + b"\x00")
    go(link.DATA, link.pack_u32(0) + other[:100])
    # the installed library itself: "same" at BEGIN, the transfer of `other` is untouched (issue 10 item 1) and BEGIN names the pump (issue 11 item 1)
    assert go(link.BEGIN, link.pack_u32(len(blob)) + sha + b"\x00")[1] == {"have": 0, "status": "same", "version": 3, "pump_id": "test-pump"}
    assert srv.xfer == (len(other), hashlib.sha256(other).digest()) and srv.have == 100
    # BEGIN_RESTART: the host asks for the transfer anyway; another library: starts over
    go(link.BEGIN, link.pack_u32(len(blob)) + sha + b"\x01")
    assert go(link.DATA, link.pack_u32(0) + blob[:100])[1]["have"] == 100
    assert code(link.DATA, link.pack_u32(0xFFFFFFFF) + b"x") == "XFER_RANGE"
    assert code(link.DATA, link.pack_u32(len(blob) - 1) + b"xy") == "XFER_RANGE"
    assert code(link.DATA, link.pack_u32(300) + blob[300:400]) == "XFER_GAP"
    assert code(link.DATA, link.pack_u32(50) + blob[50:150]) == "XFER_GAP"  # overlaps `have`
    assert code(link.DATA, link.pack_u32(50) + b"z" * 50) == "XFER_MISMATCH"
    assert go(link.DATA, link.pack_u32(50) + blob[50:100])[1]["have"] == 100
    assert go(link.INFO)[1]["transfer_have"] == 100
    assert go(link.LOG, link.pack_u32(0xFFFFFFFF) + link.pack_u16(0xFFFF))[1]["data"] == b""
    assert json.loads(go(link.CHECK, b"{}")[1])["verdict"] == "reject"
    before.append("check")
    assert code(link.END, link.pack_u32(len(blob)) + sha) == "XFER_INCOMPLETE"
    assert go(link.DATA, link.pack_u32(100) + blob[100:])[1]["have"] == len(blob)
    assert code(link.END, link.pack_u32(len(blob)) + bytes(32)) == "XFER_MISMATCH"
    assert code(link.END, link.pack_u32(len(blob) + 1) + sha) == "XFER_MISMATCH"
    assert seq[0] < 65530  # wrapped
    assert go(link.END, link.pack_u32(len(blob)) + sha)[1]["status"] == "same"
    assert kinds(srv) == before + ["install"]  # the "same" record
    assert active_bytes(srv) == blob and not srv.st.exists(STAGE)


def test_log_pull_at_every_offset_and_size(kits):
    srv = running(kits[3])
    log = srv.pump.log.read_all()
    for off in list(range(len(log) + 3)) + [0x7FFFFFFF, 0xFFFFFFFF]:
        for n in (0, 1, 768, 769, 0xFFFF):
            t, f = ask(srv, 5, link.LOG, link.pack_u32(off) + link.pack_u16(n))
            assert t == link.LOG | link.OK and f["size"] == len(log)
            assert f["data"] == log[off:off + min(n, 768)]


def test_replays_after_a_reboot_do_no_harm(kits):
    """An attacker records a whole push of v2 (then v3 is installed), reboots the
    pump (the retransmission cache is gone) and replays the recording."""
    medium = Medium()
    srv = make_server(FaultStorage(medium), kits[3].trust)
    blob = kits[2].blob
    sha = hashlib.sha256(blob).digest()
    tape = [link.encode(link.BEGIN, 1, link.pack_u32(len(blob)) + sha + b"\x00"),
            link.encode(link.DATA, 2, link.pack_u32(0) + blob),
            link.encode(link.END, 3, link.pack_u32(len(blob)) + sha)]
    for w in tape:
        srv.feed(w)
    push(srv, kits[3].blob, seq=4)
    srv = make_server(FaultStorage(medium), kits[3].trust)  # reboot
    before = kinds(srv)
    out = [f for w in tape for f in answers(srv, w)]
    last = logrec.decode_fields(out[-1].payload)
    assert (out[-1].ftype, last["code"]) == (link.ERR, "LIB_ROLLBACK")
    assert active_bytes(srv) == kits[3].blob
    assert kinds(srv) == before + ["install-rejected"]

