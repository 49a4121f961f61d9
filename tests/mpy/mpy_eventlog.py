# The event log's tamper evidence under MicroPython (issue 4): every byte
# edit, every deletion and swap of records is detected; a torn last record is
# dropped at boot with earlier records kept; roll-off keeps the chain valid.
from firmware.store import logrec
from firmware.errors import LogCorruptError
from firmware.store.eventlog import EventLog
from firmware.store.faultstorage import TORN, Cut, FaultStorage, PowerCut


def raises(data):
    try:
        logrec.verify_chain(data)
    except LogCorruptError as e:
        return e
    return None


st = FaultStorage()
log = EventLog(st)
log.boot("ok", 4)
log.check("reject", ["RATE_NOT_FIXED", "FILTER_REQUIRED"], "blinatumomab")
log.override(["DOSE_ABOVE_SOFT"], ["attending approved"])
log.install(5, 4)
log.install_rejected(3, "LIB_ROLLBACK", "older")
log.selftest_failed("LIB_SELFTEST", "slot 1 mismatch")
data = log.read_all()
assert log.verify()[0] == 6
fields = logrec.decode_all(data)[1][2]
assert fields == {"verdict": "reject", "codes": ["RATE_NOT_FIXED", "FILTER_REQUIRED"], "drug": "blinatumomab"}, fields

bounds = []
logrec.Walk(logrec.bytes_at(data), len(data), lambda r: bounds.append((r.offset, r.length))).run()
for pos in range(len(data)):
    bad = bytearray(data)
    bad[pos] ^= 0x80
    assert raises(bytes(bad)) is not None, pos
for i in range(len(bounds) - 1):
    off, ln = bounds[i]
    assert raises(data[:off] + data[off + ln:]).index == i
    (a, la), (b, lb) = bounds[i], bounds[i + 1]
    assert raises(data[:a] + data[b:b + lb] + data[a:a + la] + data[b + lb:]).index == i

# torn tail
st.arm(Cut(0, TORN, 30))
try:
    log.check("accept", [], "blinatumomab")
    assert False, "no power cut"
except PowerCut:
    pass
log2 = EventLog(FaultStorage(st.medium))
assert log2.recover()["cause"] == "torn-tail"
assert log2.read_all().startswith(data)
assert log2.verify()[0] == 7

# roll-off
log3 = EventLog(FaultStorage(), 4 * (logrec.OVERHEAD + logrec.MAX_PAYLOAD))
for i in range(300):
    log3.check("accept", ["ADVISORY_NO_FLUSH"], "blinatumomab")
n, seq, _ = log3.verify()
assert seq == 299 and n < 300
assert logrec.decode_all(log3.read_all())[0][1] == "rolloff"
# incremental roll-off (issue 11 item 4, ADR 0017): a share per append into
# events.new, picked up after a reboot, switched in by one rename
st4 = FaultStorage()
log4 = EventLog(st4, 8192)
log4.install(3, 0)
while log4.b is None or log4.b.out == 0:
    log4.check("reject", ["NO_LIBRARY"], "")
out = log4.b.out
log5 = EventLog(FaultStorage(st4.medium), 8192)  # power off, power on
assert log5.recover() is None and log5.b is not None and log5.b.out == out
switched = 0
for i in range(200):
    before = log5.size
    ops = log5.st.ops
    log5.check("reject", ["NO_LIBRARY"], "")
    assert log5.st.ops - ops <= 8 and log5.size <= 8192, (i, log5.st.ops - ops, log5.size)
    switched += log5.size < before
assert switched >= 2
recs = logrec.decode_all(log5.read_all())
assert "install" in [k for _s, k, _f in recs]
assert sum(f["dropped"] for _s, k, f in recs if k == "rolloff") + sum(1 for _s, k, _f in recs if k != "rolloff") \
    == log5.seq + 1
log5.verify()
assert log5.read(0, 10) == log5.read_all()[:10] and log5.size_bytes() == len(log5.read_all())
print("checked %d byte edits, %d deletions, %d swaps" % (len(data), len(bounds) - 1, len(bounds) - 1))
print("OK mpy_eventlog")
