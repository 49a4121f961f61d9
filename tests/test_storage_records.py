"""A/B slots (firmware/store/slots.py) against records and slots that lie, and the paths without a log.

Stories: arrange a pump with a library, make its commit record or a slot say
something the bytes do not, reboot or install, and assert the pump refuses
programming (or the install) and leaves the active library, the counter and
the commit record as they were.
"""
import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "mpy"))

import libsample  # noqa: E402
from firmware.errors import (DigestError, LibraryFormatError, NoLibraryError, RollbackError, SelfTestError,  # noqa: E402
                             StorageError)
from firmware.library import container  # noqa: E402
from firmware.store import commitrec, logrec  # noqa: E402
from firmware.store.eventlog import EventLog  # noqa: E402
from firmware.store.faultstorage import FaultStorage  # noqa: E402
from firmware.store.slots import COMMIT, SLOTS, PumpStore, Verdict, default_verify  # noqa: E402


def installed(versions=(3,), log=True):
    st = FaultStorage()
    ps = PumpStore(st, EventLog(st, 8192) if log else None)
    ps.boot()
    for v in versions:
        ps.install(libsample.make_library(v))
    return st, ps


def reboot(st, log=True):
    ps = PumpStore(st, EventLog(st, 8192) if log else None)
    return ps, ps.boot()


def rewrite_commit(st, **fields):
    c = commitrec.decode(st.read(COMMIT, 0, 100))
    for k, v in fields.items():
        setattr(c, k, v)
    st.write(COMMIT, commitrec.encode(c))


def kinds(ps):
    return [k for _s, k, _f in logrec.decode_all(ps.log.read_all())]


def selftest_whys(ps):
    return [f["why"] for _s, k, f in logrec.decode_all(ps.log.read_all()) if k == "selftest-fail"]


def test_default_verifier_is_anti_rollback_only():
    c = container.parse(libsample.make_library(4))
    assert (default_verify(c, 3).status, default_verify(c, 4).status) == ("install", "same")
    with pytest.raises(RollbackError, match="version 4 is older than installed version 5"):
        default_verify(c, 5)


@pytest.mark.parametrize("log", [True, False], ids=["logged", "no-log"])
def test_story_a_commit_record_under_its_own_counter_is_not_trusted(log):
    # Arrange: v3 installed; the record is rewritten to say counter 5 (a v5 was once
    # installed: this v3 would be a rollback hidden in the record).
    st, _ = installed((3,))
    rewrite_commit(st, counter=5)
    # Attack: reboot on it.
    ps, report = reboot(st, log)
    # Assert: no library, a self-test fault, the counter kept at 5, programming refused.
    assert report["state"] == "no-library" and report["code"] == SelfTestError.code
    assert ps.counter == 5 and ps.active is None
    with pytest.raises(NoLibraryError):
        ps.require()
    if log:
        assert selftest_whys(ps) == ["active version 3 is below the anti-rollback counter 5"]


def test_story_a_commit_record_naming_an_empty_slot_fails_the_self_test():
    st, ps = installed((3,))
    st.remove(SLOTS[ps.active.slot])
    ps, report = reboot(st)
    assert report["code"] == SelfTestError.code and ps.version() == 0
    assert selftest_whys(ps) == ["slot 0 is empty"]


def test_story_a_commit_record_claiming_another_version_of_the_same_bytes_is_refused():
    # The length and SHA-256 in the record match the slot, only the version was edited.
    st, _ = installed((3,))
    rewrite_commit(st, version=4, counter=4)
    ps, report = reboot(st)
    assert report["code"] == SelfTestError.code and ps.active is None
    assert selftest_whys(ps) == ["slot 0 holds version 3, commit says 4"]


def test_story_an_unreadable_commit_record_keeps_the_floor_of_the_slot_headers_that_parse():
    # Arrange: v2 and v3 installed; the commit record is garbage and slot 0's header too.
    st, _ = installed((2, 3))
    st.write(COMMIT, b"\xff" * commitrec.LENGTH)
    st.write(SLOTS[0], b"not a library header at all" + bytes(40))
    ps, report = reboot(st)
    # Assert: no library (fail safe), and the counter is slot 1's header version, 3.
    assert report["state"] == "no-library" and report["code"] == StorageError.code
    assert ps.counter == 3
    with pytest.raises(RollbackError):
        ps.install(libsample.make_library(2))


def test_the_active_library_reads_back_in_bounded_chunks():
    st, ps = installed((3,))
    read = ps.library_reader()
    got = b""
    while True:
        part = read(100)
        if not part:
            break
        assert len(part) <= 100
        got += part
    assert got == libsample.make_library(3) == ps.library_bytes()


def test_self_test_failure_without_a_log_still_blocks_programming():
    st, ps = installed((3,), log=False)
    data = bytearray(st.read(SLOTS[ps.active.slot], 0, 100000))
    data[container.HEADER_LEN + 10] ^= 1
    st.write(SLOTS[ps.active.slot], bytes(data))
    with pytest.raises(SelfTestError):
        ps.selftest()
    with pytest.raises(NoLibraryError):
        ps.require()


def test_install_boots_the_store_first_if_the_shell_did_not():
    ps = PumpStore(FaultStorage(), None)
    assert ps.install(libsample.make_library(1))["status"] == "installed" and ps.booted


def before_after(ps):
    return (ps.version(), ps.counter, ps.active and ps.active.slot, ps.st.read(COMMIT, 0, 100), ps.st.listdir())


def test_story_a_verifier_that_disagrees_with_the_header_is_refused():
    st, ps = installed((3,))
    before = before_after(ps)
    with pytest.raises(LibraryFormatError, match="verifier and header disagree"):
        ps.install(libsample.make_library(4), lambda c, v: Verdict(5, "install"))
    assert before_after(ps) == before
    assert kinds(ps)[-1] == "install-rejected"


def test_story_defence_in_depth_never_commits_below_the_counter():
    # Arrange: v3 active, and the counter moved to 9 behind the store's back.
    st, ps = installed((3,))
    ps.counter = 9
    record = st.read(COMMIT, 0, 100)
    # Attack: v5 is newer than the active library but below the counter.
    with pytest.raises(RollbackError, match="below the anti-rollback counter 9"):
        ps.install(libsample.make_library(5))
    # Assert: nothing committed, the staged copy gone.
    assert ps.version() == 3 and st.read(COMMIT, 0, 100) == record
    assert ps.active.slot == 0 and SLOTS[1] not in st.listdir()


def test_without_a_log_rejections_and_reinstalls_change_nothing():
    st, ps = installed((3,), log=False)
    before = before_after(ps)
    with pytest.raises(RollbackError):
        ps.install(libsample.make_library(2))
    assert ps.install(libsample.make_library(3))["status"] == "same"
    assert before_after(ps) == before


class RemoveFails(FaultStorage):
    def remove(self, name):
        raise StorageError("cannot remove %s: media error" % name)


def test_a_staged_copy_that_cannot_be_removed_does_not_hide_the_rejection():
    st = RemoveFails()
    ps = PumpStore(st, None)
    ps.boot()
    ps.install(libsample.make_library(3))
    with pytest.raises(RollbackError):
        ps.install(libsample.make_library(2))  # refused before any write
    bad = bytearray(libsample.make_library(4))
    bad[container.HEADER_LEN + 1] ^= 1
    with pytest.raises(DigestError):
        ps.install(bytes(bad))  # staged, fails its digest, the discard fails too
    assert ps.version() == 3 and ps.selftest() == 3


def test_more_signatures_than_the_format_allows_are_refused_while_streaming():
    st, ps = installed((3,))
    blob = bytearray(libsample.make_library(4))
    end = container.HEADER_LEN + container.parse(bytes(blob)).header.body_len
    blob[end] = container.MAX_SIGS + 1
    with pytest.raises(LibraryFormatError, match="5 signatures, at most 4 allowed"):
        ps.install(bytes(blob) + bytes(container.SIG_ENTRY_LEN * 5))
    assert ps.version() == 3


@pytest.mark.parametrize("n", [0, 1, container.HEADER_LEN - 1])
def test_a_stream_that_ends_inside_the_header_is_refused(n):
    st, ps = installed((3,))
    with pytest.raises(LibraryFormatError, match="library truncated"):
        ps.install(libsample.make_library(4)[:n])
    assert ps.version() == 3
