"""END of a push installs the staged library by renaming it onto the inactive
slot, framed and indexed as it arrived (issue 11 item 1; docs/protocol.md
"END", docs/adr/0015-windowed-push.md): stories of what END writes, and of
the cases where the pump cannot trust what it saw while the DATA arrived and
scans the staged file instead. Arrange, act or attack, assert the active
library, the answers and the log."""
import hashlib
import os

import pytest

from conftest_signing import Kit
from firmware.link import frames as link
from firmware.link.server import STAGE, PumpServer
from firmware.store import logrec
from firmware.store.faultstorage import FaultStorage, Medium
from firmware.store.slots import SLOTS
from host_tools.link.client import DeviceError, PumpLink
from linkfake import FakePort, make_server

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
with open(os.path.join(ROOT, "examples", "requests.jsonl")) as fh:
    PROGRAMMINGS = [line for line in fh.read().splitlines() if line.strip()]


@pytest.fixture(scope="module")
def kits(tmp_path_factory):
    return {v: Kit(tmp_path_factory.mktemp("v%d" % v), version=v) for v in (2, 3)}


def client(server):
    return PumpLink(port=FakePort(server), timeout=0.05, retries=10, end_extra=0.05)


def verdicts(pump):
    return [pump.check(p).verdict for p in PROGRAMMINGS]


def reference_verdicts(kit):
    pump = make_server(FaultStorage(), kit.trust).pump
    pump.install(kit.blob)
    return verdicts(pump)


def kinds(srv):
    return [k for _, k, _ in logrec.decode_all(srv.pump.log.read_all())]


def send_all(c, blob, chunk=700):
    sha = hashlib.sha256(blob).digest()
    c.request(link.BEGIN, link.pack_u32(len(blob)) + sha + b"\x00")
    for off in range(0, len(blob), chunk):
        c.request(link.DATA, link.pack_u32(off) + blob[off:off + chunk])
    return sha


def staged(kit, st):
    """A pump on storage `st` that has received all of `kit`'s library: (server, client, sha256)."""
    srv = make_server(st, kit.trust)
    c = client(srv)
    return srv, c, send_all(c, kit.blob)


def end(c, blob, sha):
    return logrec.decode_fields(c.request(link.END, link.pack_u32(len(blob)) + sha))


def test_end_renames_the_staged_library_onto_the_inactive_slot_and_writes_it_nowhere_else(kits):
    kit = kits[3]
    st = FaultStorage(Medium())
    srv, c, sha = staged(kit, st)
    start = len(st.trace)
    r = end(c, kit.blob, sha)
    end_ops = st.trace[start:]
    assert r["status"] == "installed"
    # the library's bytes are not written again: one rename, then the commit record
    assert not [op for op in end_ops if op[0] in ("write", "append") and op[1] in SLOTS]
    assert ("rename", STAGE, 0) in [(k, n, 0) for k, n, _ in end_ops if k == "rename"]
    assert st.medium.files[SLOTS[0]] == kit.blob and not st.exists(STAGE)
    # indexed while it arrived, it reads its drugs from the slot now: checks as a direct install does
    assert kinds(srv)[-1] == "install"
    assert verdicts(srv.pump) == reference_verdicts(kit)


class MisreadOnce(FaultStorage):
    """A marginal flash read: the first read back of the staged file past its
    start returns one flipped bit; the stored bytes are right."""

    def __init__(self, medium):
        super().__init__(medium)
        self.misread = False

    def read(self, name, offset, n):
        data = super().read(name, offset, n)
        if name == STAGE and offset > 0 and not self.misread and data:
            self.misread = True
            data = bytes([data[0] ^ 0x10]) + data[1:]
        return data


def test_a_misread_while_the_data_arrived_makes_end_scan_the_stored_file(kits):
    kit = kits[3]
    st = MisreadOnce(Medium())
    srv, c, sha = staged(kit, st)
    assert st.misread  # the scanner framed a wrong byte...
    r = end(c, kit.blob, sha)
    # ...END re-hashed the staged file, found the announced digest, and scanned
    # what storage holds: the right library is installed and checks right
    assert (r["status"], r["version"]) == ("installed", 3)
    assert srv.pump.store.library_bytes() == kit.blob
    assert verdicts(srv.pump) == reference_verdicts(kit)


class ShortReadOnce(MisreadOnce):
    """The first read back of the staged file past its start comes back short."""

    def read(self, name, offset, n):
        data = FaultStorage.read(self, name, offset, n)
        if name == STAGE and offset > 0 and not self.misread and len(data) > 1:
            self.misread = True
            data = data[:-1]
        return data


def test_a_short_read_back_makes_end_scan_the_stored_file(kits):
    kit = kits[3]
    srv, c, sha = staged(kit, ShortReadOnce(Medium()))
    assert srv.st.misread and srv.scan is None
    r = end(c, kit.blob, sha)
    assert r["status"] == "installed" and srv.pump.store.library_bytes() == kit.blob
    assert verdicts(srv.pump) == reference_verdicts(kit)


def test_a_transfer_resumed_by_a_restarted_pump_is_scanned_at_end(kits):
    kit = kits[3]
    medium = Medium()
    srv = make_server(FaultStorage(medium), kit.trust)
    c = client(srv)
    sha = hashlib.sha256(kit.blob).digest()
    c.request(link.BEGIN, link.pack_u32(len(kit.blob)) + sha + b"\x00")
    c.request(link.DATA, link.pack_u32(0) + kit.blob[:500])
    # the pump restarts: a new server over the same storage has no scanner
    srv2 = make_server(FaultStorage(medium), kit.trust)
    assert srv2.have == 500 and srv2.scan is None
    r = client(srv2).push(kit.blob)
    assert (r["status"], r["resumed_from"]) == ("installed", 500)
    assert srv2.pump.store.library_bytes() == kit.blob
    assert verdicts(srv2.pump) == reference_verdicts(kit)


def test_a_library_whose_body_is_not_its_digest_is_refused_and_leaves_nothing(kits):
    # arrange: v2 runs; attack: v3 with one body byte changed, pushed with the
    # SHA-256 of the changed bytes (so the transfer itself is whole)
    srv = make_server(FaultStorage(), kits[2].trust)
    srv.pump.install(kits[2].blob)
    before_log = kinds(srv)
    bad = bytearray(kits[3].blob)
    bad[60] ^= 1
    c = client(srv)
    with pytest.raises(DeviceError) as e:
        c.push(bytes(bad))
    assert e.value.code == "LIB_DIGEST"
    assert srv.pump.store.library_bytes() == kits[2].blob and srv.pump.store.version() == 2
    assert kinds(srv) == before_log + ["install-rejected"]
    assert not srv.st.exists(STAGE) and not srv.st.exists(SLOTS[1])  # the unverified copy is gone
    assert verdicts(srv.pump) == reference_verdicts(kits[2])


def test_a_library_cut_inside_its_signature_block_is_refused_as_malformed(kits):
    srv = make_server(FaultStorage(), kits[3].trust)
    c = client(srv)
    with pytest.raises(DeviceError) as e:
        c.push(kits[3].blob[:-10])
    assert e.value.code == "LIB_MALFORMED" and "signature block" in e.value.message
    assert srv.pump.store.active is None and not srv.st.exists(STAGE) and not srv.st.exists(SLOTS[0])


def test_a_server_made_without_a_scanner_still_installs(kits):
    # a shell that feeds no scanner (Pump.receiver replaced by None) gets the scan at END
    srv = make_server(FaultStorage(), kits[3].trust)
    srv.pump.receiver = lambda name: None
    r = client(srv).push(kits[3].blob)
    assert r["status"] == "installed" and srv.pump.store.library_bytes() == kits[3].blob
    assert isinstance(srv, PumpServer)


# --- druglib push asks no INFO first: BEGIN names the pump (issue 11 item 1) ---
def push_one_on(monkeypatch, srv, blob):
    from host_tools.cli.pumps import push as push_cmd

    seen = []
    handle = srv.handle

    def counting(frame):
        seen.append(frame.ftype)
        return handle(frame)

    srv.handle = counting
    monkeypatch.setattr(push_cmd, "PumpLink", lambda port, baud: client(srv))
    return push_cmd.push_one("fake", blob, 115200), seen


def test_a_push_names_the_pump_and_its_old_version_without_asking_info(kits, monkeypatch):
    srv = make_server(FaultStorage(), kits[3].trust)
    srv.pump.install(kits[2].blob)
    res, seen = push_one_on(monkeypatch, srv, kits[3].blob)
    assert (res["outcome"], res["pump_id"], res["previous"], res["version"]) == ("installed", "test-pump", 2, 3)
    assert link.INFO not in seen and seen[0] == link.BEGIN


def test_a_refused_push_asks_info_to_name_the_pump_and_what_it_still_runs(kits, monkeypatch):
    srv = make_server(FaultStorage(), kits[3].trust)
    srv.pump.install(kits[3].blob)
    res, seen = push_one_on(monkeypatch, srv, kits[2].blob)  # a rollback
    assert (res["outcome"], res["code"], res["pump_id"], res["previous"]) == ("rejected", "LIB_ROLLBACK",
                                                                               "test-pump", 3)
    assert seen[-1] == link.INFO and seen.count(link.INFO) == 1


def test_a_pump_whose_begin_does_not_name_it_is_asked_info_after_the_push(kits, monkeypatch):
    srv = make_server(FaultStorage(), kits[3].trust)
    begin = srv.begin

    def old_begin(total, sha, flags):
        r = begin(total, sha, flags)
        r.pop("pump_id")  # firmware older than issue 11
        return r

    srv.begin = old_begin
    res, seen = push_one_on(monkeypatch, srv, kits[3].blob)
    assert (res["outcome"], res["pump_id"], res["previous"]) == ("installed", "test-pump", 0)
    assert seen.count(link.INFO) == 1 and seen[-1] == link.INFO


def test_out_of_memory_while_framing_a_data_frame_costs_only_ends_speed(kits):
    # issue 11 item 5: the DATA is stored and answered; END scans the file
    srv = make_server(FaultStorage(), kits[3].trust)
    real = srv.pump.receiver

    def receiver(name):
        s = real(name)
        feed = s.feed

        def starving(part):
            if s.n:  # the second frame runs out of heap while it is framed
                raise MemoryError
            feed(part)

        s.feed = starving
        return s

    srv.pump.receiver = receiver
    c = client(srv)
    sha = send_all(c, kits[3].blob)
    assert srv.scan is None and srv.have == len(kits[3].blob)
    r = logrec.decode_fields(c.request(link.END, link.pack_u32(len(kits[3].blob)) + sha))
    assert r["status"] == "installed" and srv.pump.store.library_bytes() == kits[3].blob
    assert verdicts(srv.pump) == reference_verdicts(kits[3])
