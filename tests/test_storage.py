"""Pump library storage stories (issue 4): arrange a pump, attack it, assert
the active library, the anti-rollback counter and the log are unchanged."""
import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "mpy"))

import libsample  # noqa: E402
from firmware.store import commitrec
from firmware.store import logrec  # noqa: E402
from firmware.errors import (DigestError, LibraryFormatError, NoLibraryError, RollbackError,  # noqa: E402
                             SelfTestError, SignatureError)
from firmware.store.eventlog import EventLog  # noqa: E402
from firmware.store.faultstorage import FaultStorage, Medium  # noqa: E402
from firmware.store.slots import COMMIT, COMMIT_TMP, SLOTS, PumpStore, Verdict  # noqa: E402
from firmware.store.storage import FileStorage  # noqa: E402


def pump(storage=None):
    st = storage if storage is not None else FaultStorage()
    ps = PumpStore(st, EventLog(st, 8192))
    ps.boot()
    return st, ps


def state(ps):
    """Everything a rejected install must leave alone."""
    return (ps.version(), ps.counter, ps.active and ps.active.slot,
            ps.st.read(COMMIT, 0, 100) if ps.st.exists(COMMIT) else None)


def kinds(ps):
    return [k for _s, k, _f in logrec.decode_all(ps.log.read_all())]


def last(ps):
    return logrec.decode_all(ps.log.read_all())[-1]


def test_a_new_pump_refuses_every_programming_until_a_library_is_installed():
    _st, ps = pump()
    with pytest.raises(NoLibraryError) as ei:
        ps.require()
    assert ei.value.code == "NO_LIBRARY"
    with pytest.raises(NoLibraryError):
        ps.selftest()
    res = ps.install(libsample.make_library(1))
    assert res == {"status": "installed", "version": 1, "previous": 0}
    assert ps.require().version == 1
    assert kinds(ps) == ["boot", "install"]


def test_install_alternates_slots_and_survives_reboot():
    st, ps = pump()
    for v in (1, 2, 3):
        ps.install(libsample.make_library(v))
        assert ps.active.slot == (v - 1) % 2
    _st, ps2 = pump(FaultStorage(st.medium))
    assert ps2.version() == 3 and ps2.counter == 3
    assert ps2.library_bytes() == libsample.make_library(3)
    assert ps2.selftest() == 3


@pytest.mark.parametrize("attack, error", [
    ("older version", RollbackError),
    ("corrupted body", DigestError),
    ("truncated", LibraryFormatError),
    ("trailing bytes", LibraryFormatError),
    ("bad magic", LibraryFormatError),
    ("verifier refuses the signature", SignatureError),
])
def test_rejected_installs_leave_library_counter_and_log_chain_intact(attack, error):
    st, ps = pump()
    ps.install(libsample.make_library(5))
    before = state(ps)
    lib = libsample.make_library(6)
    verify = None
    if attack == "older version":
        lib = libsample.make_library(4)
    elif attack == "corrupted body":
        lib = bytearray(lib)
        lib[100] ^= 1
        lib = bytes(lib)
    elif attack == "truncated":
        lib = lib[:-10]
    elif attack == "trailing bytes":
        lib = lib + b"\x00"
    elif attack == "bad magic":
        lib = b"XLIB" + lib[4:]
    else:
        def verify(c, installed):
            raise SignatureError("approver signature does not verify")
    with pytest.raises(error) as ei:
        ps.install(lib, verify)
    assert state(ps) == before
    assert not st.exists(SLOTS[1 - ps.active.slot])  # no uncommitted copy left behind
    _seq, kind, fields = last(ps)
    assert kind == "install-rejected" and fields["code"] == ei.value.code
    ps.log.verify()
    _st, ps2 = pump(FaultStorage(st.medium))  # and after a reboot
    assert state(ps2) == before


def test_reinstalling_the_same_version_is_a_no_op():
    st, ps = pump()
    ps.install(libsample.make_library(5))
    before = state(ps)
    res = ps.install(libsample.make_library(5))
    assert res["status"] == "same"
    assert state(ps) == before
    assert last(ps)[2]["status"] == "same"


def test_verification_is_injected_and_runs_on_the_stored_copy():
    st, ps = pump()
    seen = []

    def verify(c, installed):
        seen.append((c.header.library_version, installed, c.body))
        return Verdict(c.header.library_version, "install")

    ps.install(libsample.make_library(2), verify)
    assert seen == [(2, 0, None)]  # streamed from storage: the body is never held
    ps.install(libsample.make_library(3), verify)
    assert seen[-1][:2] == (3, 2)


def test_real_release_verifier_plugs_in_with_one_line():
    from firmware.release import verify as release
    from firmware.release.trust import TrustStore

    st, ps = pump()
    trust = TrustStore([])
    with pytest.raises(Exception) as ei:
        ps.install(libsample.make_library(2), lambda c, v: release.verify_release(c, trust, v))
    assert ei.value.code.startswith("SIG_")
    assert ps.active is None and last(ps)[2]["code"] == ei.value.code


def test_a_flipped_bit_in_the_active_library_fails_the_self_test_and_blocks_programming():
    st, ps = pump()
    ps.install(libsample.make_library(7))
    st.medium.files[SLOTS[ps.active.slot]][300] ^= 0x10  # inside the body
    with pytest.raises(SelfTestError) as ei:
        ps.selftest()
    assert ei.value.code == "LIB_SELFTEST"
    with pytest.raises(NoLibraryError):
        ps.require()
    assert last(ps)[1] == "selftest-fail"
    # at boot too, and the pump does NOT fall back to an older library
    _st, ps2 = pump(FaultStorage(st.medium))
    assert ps2.active is None and ps2.fault == "LIB_SELFTEST" and ps2.counter == 7
    # a fresh copy of the same version (or newer) repairs it; older is refused
    with pytest.raises(RollbackError):
        ps2.install(libsample.make_library(6))
    assert ps2.install(libsample.make_library(7))["status"] == "installed"
    assert ps2.selftest() == 7


def test_a_corrupted_commit_record_fails_safe_and_keeps_a_counter_floor():
    st, ps = pump()
    ps.install(libsample.make_library(3))
    ps.install(libsample.make_library(4))
    with pytest.raises(SignatureError):  # a rejected v99 must not raise the floor later
        ps.install(libsample.make_library(99), lambda c, v: (_ for _ in ()).throw(SignatureError("forged")))
    st.medium.files[COMMIT][9] ^= 1
    _st, ps2 = pump(FaultStorage(st.medium))
    assert ps2.active is None and ps2.fault == "STORAGE_IO"
    assert ps2.counter == 4  # highest version any slot holds
    with pytest.raises(RollbackError):
        ps2.install(libsample.make_library(3))
    ps2.install(libsample.make_library(4))
    assert ps2.version() == 4


def test_an_interrupted_commit_is_rolled_forward_only_if_its_slot_verifies():
    st, ps = pump()
    ps.install(libsample.make_library(1))
    old = st.medium.copy()
    ps.install(libsample.make_library(2))
    new_commit = st.medium.get(COMMIT)
    # commit intent written, rename never happened
    m = old.copy()
    m.files[SLOTS[1]] = bytearray(st.medium.get(SLOTS[1]))
    m.files[COMMIT_TMP] = bytearray(new_commit)
    _s, ps2 = pump(FaultStorage(m))
    assert ps2.version() == 2 and not m.get(COMMIT_TMP)
    assert kinds(ps2)[-1] == "boot"
    # same, but the slot it names is damaged: roll back to v1
    m = old.copy()
    m.files[SLOTS[1]] = bytearray(st.medium.get(SLOTS[1])[:-5])
    m.files[COMMIT_TMP] = bytearray(new_commit)
    _s, ps3 = pump(FaultStorage(m))
    assert ps3.version() == 1 and COMMIT_TMP not in m.files


def test_install_streams_from_a_reader_in_bounded_chunks():
    st, ps = pump()
    sizes = []

    class Watch(FaultStorage):
        def append(self, name, data):
            sizes.append(len(data))
            FaultStorage.append(self, name, data)

    st = Watch()
    ps = PumpStore(st, None, chunk=256)
    ps.boot()
    ps.install(libsample.stream_library(9, 64 * 1024))
    assert ps.version() == 9 and max(sizes) <= 256
    assert ps.library_bytes() == libsample.make_library(9, 64 * 1024)


def test_file_storage_on_disk(tmp_path):
    st, ps = pump(FileStorage(str(tmp_path / "pump")))
    ps.install(libsample.make_library(1))
    ps.install(libsample.make_library(2))
    assert sorted(os.listdir(tmp_path / "pump")) == ["commit.rec", "events.log", "slot0.lib", "slot1.lib"]
    _st, ps2 = pump(FileStorage(str(tmp_path / "pump")))
    assert ps2.version() == 2 and ps2.selftest() == 2
    assert kinds(ps2) == ["boot", "install", "install", "boot"]
    rec = commitrec.decode((tmp_path / "pump" / "commit.rec").read_bytes())
    assert (rec.seq, rec.slot, rec.version, rec.counter) == (2, 1, 2, 2)


def test_file_storage_interface(tmp_path):
    st = FileStorage(str(tmp_path / "s"))
    assert not st.exists("a")
    st.write("a", b"hello")
    st.append("a", b" world")
    assert st.read("a", 6, 100) == b"world" and st.size("a") == 11
    st.write("b", b"x")
    st.rename("a", "b")
    assert st.read("b", 0, 5) == b"hello" and not st.exists("a")
    st.remove("b")
    st.remove("b")
    st.sync()
    assert st.listdir() == []
    with pytest.raises(Exception):
        st.write("../escape", b"")


def test_fault_medium_models_torn_writes_and_atomic_renames():
    from firmware.store.faultstorage import TORN, Cut, PowerCut

    m = Medium()
    st = FaultStorage(m)
    st.write("a", b"old")
    st.arm(Cut(0, TORN, 2, b"?"))
    with pytest.raises(PowerCut):
        st.append("a", b"new data")
    with pytest.raises(PowerCut):
        st.read("a", 0, 1)  # dead until reboot
    assert m.get("a") == b"oldne?"
    st = FaultStorage(m)
    st.write("b", b"B")
    st.arm(Cut(0, "after"))
    with pytest.raises(PowerCut):
        st.rename("b", "a")
    assert m.get("a") == b"B" and m.get("b") is None
    assert [k for k, _n, _l in FaultStorage(m).trace] == []
