"""Issue 10 item 3 as stories: a flood of checks cannot flush the audit trail.

Arrange a pump with an installed library, attack with a flood of `{}` CHECK
frames, assert the install record (and the other protected kinds) survive,
each run of rolled-off records is one marker saying what was dropped (kinds,
count, seq range), and the whole chain still verifies against the head.
Design: docs/adr/0013-log-retention.md."""
import json
import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "mpy"))
import libsample  # noqa: E402
from conftest_signing import Kit  # noqa: E402
from firmware.errors import LogCorruptError  # noqa: E402
from firmware.pump import Pump  # noqa: E402
from firmware.store import logrec  # noqa: E402
from firmware.store.eventlog import EventLog  # noqa: E402
from firmware.store.faultstorage import FaultStorage, Medium  # noqa: E402
from firmware.store.slots import COMMIT, COMMIT_TMP, SLOTS, PumpStore  # noqa: E402


def kinds_of(data):
    return [k for _s, k, _f in logrec.decode_all(data)]


def markers(data):
    return [(s, f) for s, k, f in logrec.decode_all(data) if k == "rolloff"]


def test_ten_thousand_empty_checks_do_not_flush_the_install_record(tmp_path):
    kit = Kit(tmp_path, version=3)
    pump = Pump(FaultStorage(), kit.trust)
    pump.boot()
    assert pump.install(kit.blob)["status"] == "installed"
    before = pump.store.version()
    install = [f for _s, k, f in logrec.decode_all(pump.log.read_all()) if k == "install"]
    # attack: 10,000 CHECK frames of {} (issue 10 item 3: 375 flushed it before)
    for _ in range(10000):
        pump.check_text("{}")
    data = pump.log.read_all()
    recs = logrec.decode_all(data)
    assert [f for _s, k, f in recs if k == "install"] == install
    assert "boot" in kinds_of(data)
    assert pump.store.version() == before
    count, seq, chain = logrec.verify_chain(data, (pump.log.seq, pump.log.chain))
    assert seq == pump.log.seq and count == len(recs)
    # what was dropped is said: only checks, counts add up to the seq gaps
    ms = markers(data)
    assert ms, "the flood must have rolled something off"
    dropped = sum(f["dropped"] for _s, f in ms)
    assert all(f["kinds"][0].startswith("check") and len(f["kinds"]) == 1 for _s, f in ms)
    assert dropped + sum(1 for _s, k, _f in recs if k != "rolloff") == pump.log.seq + 1
    assert len(data) <= pump.log.max_bytes
    # after power off/on the log still verifies and the install is still there
    again = Pump(pump.log.st, kit.trust)
    again.boot()
    again.log.verify()
    assert "install" in kinds_of(again.log.read_all())


def test_protected_records_roll_off_only_when_they_alone_overflow():
    st = FaultStorage()
    log = EventLog(st, 8192)
    log.recover()
    log.install(1, 0)
    for i in range(400):  # a flood of boots is not a flood of checks: oldest go, marked
        log.boot("ok", 1, "")
    data = log.read_all()
    logrec.verify_chain(data, (log.seq, log.chain))
    ms = markers(data)
    assert ms and any("install" in item for _s, f in ms for item in f["kinds"])
    assert len(data) <= 8192


def test_a_forged_gap_marker_that_hides_records_is_refused():
    st = FaultStorage()
    log = EventLog(st, 8192)
    log.recover()
    for i in range(6):
        log.override(["X"], ["r%d" % i])
    raw = log.read_all()
    offs = []
    w = logrec.Walk(logrec.bytes_at(raw), len(raw), lambda r: offs.append((r.offset, r.length, r.seq, r.chain)))
    w.run()
    # attack: cut records 2..3 and claim only one was dropped
    o2, o3 = offs[2], offs[3]
    lie = logrec.encode(logrec.ROLLOFF, o3[2], None,
                        logrec.encode_fields({"dropped": 1, "first": 3, "last": 3, "kinds": ["check"]}), chain=o3[3])
    forged = raw[:o2[0]] + lie + raw[o3[0] + o3[1]:]
    with pytest.raises(LogCorruptError, match="does not account"):
        logrec.verify_chain(forged)


def _store(storage=None):
    st = storage or FaultStorage()
    log = EventLog(st, 8192)
    ps = PumpStore(st, log)
    ps.boot()
    return st, ps


def test_a_commit_rolled_back_by_a_power_cut_leaves_a_record():
    st, ps = _store()
    ps.install(libsample.make_library(1))
    old = st.medium.copy()
    ps.install(libsample.make_library(2))
    new_commit = st.medium.get(COMMIT)
    m = old.copy()
    m.files[SLOTS[1]] = bytearray(st.medium.get(SLOTS[1])[:-5])  # slot damaged: roll back
    m.files[COMMIT_TMP] = bytearray(new_commit)
    _s, ps2 = _store(FaultStorage(m))
    assert ps2.version() == 1
    last = logrec.decode_all(ps2.log.read_all())[-1]
    assert last[1] == "boot" and last[2]["repair"] == "rolled-back"
    ps2.log.verify()


from hypothesis import given, settings, strategies as hs  # noqa: E402

KINDS = [logrec.CHECK] * 6 + [logrec.BOOT, logrec.INSTALL, logrec.OVERRIDE, logrec.THERAPY]


@settings(max_examples=25, deadline=None)
@given(hs.lists(hs.tuples(hs.sampled_from(KINDS), hs.integers(0, 300)), min_size=1, max_size=400))
def test_any_mix_of_records_keeps_a_verifiable_chain_and_accounts_for_every_seq(ops):
    # property (issue 10 item 3): whatever is appended, the log stays within
    # its budget, verifies against its head, and every seq is either kept or
    # counted by exactly one marker.
    st = FaultStorage()
    log = EventLog(st, 4 * (logrec.OVERHEAD + logrec.MAX_PAYLOAD))
    log.recover()
    for kind, pad in ops:
        log.append(kind, {"pad": "x" * pad})
        assert st.size("events.log") <= log.max_bytes and log.size_bytes() == st.size("events.log")
    data = log.read_all()
    logrec.verify_chain(data, (log.seq, log.chain))
    recs = logrec.decode_all(data)
    kept = [s for s, k, _f in recs if k != "rolloff"]
    counted = sum(f["dropped"] for _s, k, f in recs if k == "rolloff")
    assert len(kept) + counted == log.seq + 1


def test_report_lists_what_each_roll_off_dropped():
    from host_tools.views.report import report
    st = FaultStorage()
    log = EventLog(st, 8192)
    log.recover()
    log.install(3, 0)
    for _ in range(300):
        log.check("reject", ["NO_LIBRARY"], "")
    r = report(log.read_all())
    assert r["verified"] and r["installs"]
    assert r["rolloffs"] and all(m["kinds"][0].startswith("check*") for m in r["rolloffs"])
    assert r["rolled_off"] == sum(m["dropped"] for m in r["rolloffs"])
    assert all(m["last"] - m["first"] + 1 == m["dropped"] for m in r["rolloffs"])
