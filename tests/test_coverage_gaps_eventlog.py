"""Branches the rest of the suite missed (issue 10 item 6) in the bounded event
log (firmware/store/eventlog.py): a log too small to hold its own records is
refused at construction, an empty pump has an empty log, and a record so big
that every older record must roll off still leaves a verifiable log whose
marker says how many were dropped."""
import pytest

from firmware.store import logrec
from firmware.store.eventlog import EventLog
from firmware.store.faultstorage import FaultStorage

SMALLEST = 4 * (logrec.OVERHEAD + logrec.MAX_PAYLOAD)


def test_a_log_budget_below_four_full_records_is_refused():
    with pytest.raises(ValueError) as e:
        EventLog(FaultStorage(), SMALLEST - 1)
    assert str(e.value) == "event log too small"
    EventLog(FaultStorage(), SMALLEST)  # the smallest budget that works


def test_a_new_pump_has_an_empty_log_that_verifies():
    log = EventLog(FaultStorage())
    assert log.read_all() == b""
    log.recover()
    assert log.seq == -1 and log.read_all() == b""


def test_when_every_older_record_must_go_the_marker_counts_them_and_the_chain_holds():
    st = FaultStorage()
    log = EventLog(st, SMALLEST)
    log.recover()
    big = "x" * 1000
    for i in range(3):  # three records of about 1060 bytes: 3/4 of the 4272-byte budget
        log.append(logrec.THERAPY, {"n": i, "note": big})
    assert [s for s, _, _ in logrec.decode_all(log.read_all())] == [0, 1, 2]
    # the fourth passes 3/4 and starts a roll-off (ADR 0017); it cannot be spread
    # over later appends (no room left), and keeping even the newest record
    # would leave less than half the budget: all three go, in this append
    seq = log.append(logrec.THERAPY, {"n": 3, "note": big})
    records = logrec.decode_all(log.read_all())
    assert seq == 3 and [(s, k) for s, k, _ in records] == [(2, "rolloff"), (3, "therapy")]
    # the marker says what went (issue 10 item 3): how many, which seqs, which kinds
    assert records[0][2] == {"dropped": 3, "first": 0, "last": 2, "kinds": ["therapy*3"]} and records[1][2]["n"] == 3
    assert log.append(logrec.THERAPY, {"n": 4, "note": big}) == 4
    assert [(s, k) for s, k, _ in logrec.decode_all(log.read_all())] == [(2, "rolloff"), (3, "therapy"), (4, "therapy")]
    assert len(log.read_all()) <= SMALLEST
    log.verify()
    again = EventLog(st, SMALLEST)  # power off, power on: the same head
    assert again.recover() is None and (again.seq, again.chain) == (log.seq, log.chain)
