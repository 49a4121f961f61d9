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
print("checked %d byte edits, %d deletions, %d swaps" % (len(data), len(bounds) - 1, len(bounds) - 1))
print("OK mpy_eventlog")
