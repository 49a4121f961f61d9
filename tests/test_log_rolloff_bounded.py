"""Issue 11 item 4: a log roll-off does not spike a check. The roll-off is
built in events.new a bounded share per append and switched in by one rename
(docs/adr/0017-incremental-roll-off.md). Stories: a flood into logs of 8 to
128 KiB does the same bounded storage work per append whatever the size; a
power cut mid-build loses no progress and no record; a stale or torn
events.new, a log rotted mid-build or corrupt at boot are each handled with
the log still verifying. No timing is asserted: work is counted in storage
calls and bytes read."""
import pytest

from firmware.store import logrec
from firmware.store.eventlog import BAD, LOG, NEW, EventLog
from firmware.store.faultstorage import TORN, Cut, FaultStorage, Medium, PowerCut
from firmware.store.storage import CHUNK


class Counting(FaultStorage):
    """FaultStorage that counts the bytes read (reads are not cut points)."""
    read_bytes = 0
    reads = 0

    def read(self, name, offset, n):
        data = super().read(name, offset, n)
        self.reads += 1
        self.read_bytes += len(data)
        return data


def check(log):
    return log.check("reject", ["NO_LIBRARY"], "")


def accounted(log):
    data = log.read_all()
    logrec.verify_chain(data, (log.seq, log.chain))
    recs = logrec.decode_all(data)
    kept = sum(1 for _s, k, _f in recs if k != "rolloff")
    return kept + sum(f["dropped"] for _s, k, f in recs if k == "rolloff") == log.seq + 1


@pytest.mark.parametrize("size", [8192, 32768, 131072])
def test_each_append_of_a_flood_does_bounded_work_whatever_the_log_size(size):
    st = Counting()
    log = EventLog(st, size)
    log.recover()
    log.install(3, 0)
    worst_bytes = worst_reads = worst_ops = switches = 0
    for _ in range(3 * size // 100):
        before, b0, r0, o0 = log.size, st.read_bytes, st.reads, st.ops
        check(log)
        worst_bytes = max(worst_bytes, st.read_bytes - b0)
        worst_reads = max(worst_reads, st.reads - r0)
        worst_ops = max(worst_ops, st.ops - o0)
        switches += log.size < before
        assert log.size <= size
    assert switches >= 2, "the flood must have rolled the log off"
    # the same bound at 8, 32 and 128 KiB (the old roll-off read the whole log twice)
    assert worst_bytes <= 8 * CHUNK, worst_bytes
    assert worst_reads <= 12 and worst_ops <= 8, (worst_reads, worst_ops)
    assert "install" in [k for _s, k, _f in logrec.decode_all(log.read_all())]
    assert accounted(log)


def building(size=8192):
    st = FaultStorage()
    log = EventLog(st, size)
    log.recover()
    log.install(3, 0)
    while log.b is None or log.b.out == 0:
        check(log)
    return st, log


def test_a_reboot_mid_build_goes_on_where_it_stopped():
    st, log = building()
    off, out, new = log.b.off, log.b.out, st.medium.get(NEW)
    again = EventLog(FaultStorage(st.medium), 8192)  # power off, power on
    assert again.recover() is None
    # what events.new holds is kept; only the open run of dropped records (in
    # RAM) is decided again, from the record after the last one written
    assert again.b is not None and again.b.out == out == len(new) and st.medium.get(NEW) == new
    assert 0 < again.b.off <= off
    assert (again.seq, again.chain) == (log.seq, log.chain)
    switched = 0
    for _ in range(40):
        before = again.size
        check(again)
        switched += again.size < before
    assert switched >= 1  # the resumed build was switched in
    assert accounted(again) and "install" in [k for _s, k, _f in logrec.decode_all(again.read_all())]


def test_a_torn_events_new_is_dropped_and_the_build_starts_again():
    st, log = building()
    dry = FaultStorage(st.medium.copy())
    lg = EventLog(dry, 8192)
    lg.recover()
    start = dry.ops
    while not any(name == NEW and kind == "append" for kind, name, _n in dry.trace[start:]):
        check(lg)
    k = [i for i, (kind, name, _n) in enumerate(dry.trace[start:]) if name == NEW and kind == "append"][0]
    st2 = FaultStorage(st.medium)
    log = EventLog(st2, 8192)
    log.recover()
    st2.arm(Cut(k, TORN, 7))  # the next write to events.new is torn
    with pytest.raises(PowerCut):
        while True:
            check(log)
    again = EventLog(FaultStorage(st.medium), 8192)
    again.recover()
    assert again.b is None and not st.medium.get(NEW)
    for _ in range(120):
        check(again)
        assert again.size <= again.max_bytes == 8192
    assert accounted(again)


def test_a_stale_events_new_whose_last_record_is_not_in_the_log_is_discarded():
    # an older firmware's repair cut before its rename left events.new = a
    # prefix + a log-repair record the log never got
    st = FaultStorage()
    log = EventLog(st)
    log.recover()
    for _ in range(5):
        check(log)
    rec = logrec.encode(logrec.LOG_REPAIR, log.seq + 1, log.chain, logrec.encode_fields({"cause": "x"}))
    st.medium.files[NEW] = bytearray(log.read_all() + rec)
    before = log.read_all()
    again = EventLog(FaultStorage(st.medium))
    assert again.recover() is None and again.b is None and NEW not in st.medium.files
    assert again.read_all() == before


def test_an_upgraded_pump_picks_up_the_old_firmware_roll_off_cut_short():
    # the old roll-off wrote events.new = kept records and markers, then renamed
    # it; cut before the rename, its events.new is a valid prefix: going on from
    # it keeps every record of the single events.log the old firmware left
    st = FaultStorage()
    log = EventLog(st)
    log.recover()
    log.install(2, 0)
    for _ in range(20):
        check(log)
    data = log.read_all()
    cut = []
    logrec.Walk(logrec.bytes_at(data), len(data), lambda r: cut.append(r.offset + r.length)).run()
    st.medium.files[NEW] = bytearray(data[:cut[3]])
    again = EventLog(FaultStorage(st.medium))
    assert again.recover() is None and again.b is not None and again.b.off == cut[3]
    assert again.read_all() == data and again.seq == log.seq


def test_a_log_corrupt_at_boot_drops_the_build_and_keeps_the_evidence():
    st, log = building()
    st.medium.files[LOG][60] ^= 0xFF
    again = EventLog(FaultStorage(st.medium), 8192)
    fields = again.recover()
    assert fields["code"] == "LOG_CORRUPT" and again.b is None
    assert NEW not in st.medium.files and st.medium.get(BAD)
    again.verify()


def test_a_log_that_rots_mid_build_is_repaired_in_the_append_that_finds_it():
    st, log = building()
    off = log.b.off
    st.medium.files[LOG][off + 50] ^= 0x01  # a record the build has not reached yet
    for _ in range(10):
        check(log)
    recs = logrec.decode_all(log.read_all())
    assert "log-repair" in [k for _s, k, _f in recs]
    repair = [f for _s, k, f in recs if k == "log-repair"][0]
    assert repair["code"] == "LOG_CORRUPT" and st.medium.get(BAD)
    log.verify()


def test_the_log_stream_accessors():
    st = FaultStorage(Medium())
    log = EventLog(st)
    assert log.size_bytes() == 0 and log.read(0, 10) == b""
    log.recover()
    check(log)
    data = log.read_all()
    fresh = EventLog(st)  # before recover(): read from storage
    assert fresh.size_bytes() == len(data) == log.size_bytes()
    assert fresh.read(3, 10) == data[3:13] and log.read(len(data) - 2, 100) == data[-2:]
    assert log.read(len(data), 5) == b"" and log.read(-1, 5) == b"" and log.read(0, 0) == b""
