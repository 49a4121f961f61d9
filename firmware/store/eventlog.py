# Append-only, hash-chained, bounded event log on the storage interface
# (issue 4, deliverable 3; record bytes in firmware/store/logrec.py and
# docs/storage.md, "Event log").
#
# Files: LOG (the log), NEW (a replacement being built), BAD (evidence copy of
# a log found corrupt in the middle). The log is only ever appended to, or
# replaced as a whole by an atomic rename of NEW (roll-off and repair), so a
# power cut leaves either the old log (maybe with a torn last record, which
# recover() drops) or the new one.
from firmware.store import logrec
from firmware.errors import LogCorruptError, StorageError
from firmware.store.storage import CHUNK

LOG = "events.log"
NEW = "events.new"
BAD = "events.bad"
DEFAULT_MAX_BYTES = 32768
TEXT_MAX = 120  # longest message kept in a record (messages are ours, clipped not refused)


class EventLog:
    def __init__(self, storage, max_bytes=DEFAULT_MAX_BYTES):
        if max_bytes < 4 * (logrec.OVERHEAD + logrec.MAX_PAYLOAD):
            raise ValueError("event log too small")
        self.st = storage
        self.max_bytes = max_bytes
        self.size = None  # unknown until recover()
        self.seq = -1
        self.chain = logrec.ZERO_CHAIN

    def _read_at(self, off, n):
        return self.st.read(LOG, off, n)

    def _walk(self, visit=None):
        size = self.st.size(LOG) if self.st.exists(LOG) else 0
        w = logrec.Walk(self._read_at, size, visit)
        w.run()
        return w

    def recover(self):
        """Boot step: drop a torn last record, set aside a log corrupt in the
        middle (keeping its good prefix), load the head. Returns None, or a
        dict describing the repair (also logged as a LOG_REPAIR record)."""
        self.st.remove(NEW)  # a roll-off or repair cut short: the old log is intact
        w = self._walk()
        self._set_head(w)
        if w.error is None:
            return None
        index, off, msg, is_tail = w.error
        size = w.size
        fields = {"at": off, "dropped_bytes": size - off, "record": index,
                  "cause": "torn-tail" if is_tail else "corrupt",
                  "code": "" if is_tail else LogCorruptError.code, "why": msg[:TEXT_MAX]}
        if not is_tail:  # not a power cut: keep the evidence before cutting it
            self._copy(BAD, 0, size, None)
        rec = logrec.encode(logrec.LOG_REPAIR, self.seq + 1, self.chain, logrec.encode_fields(fields))
        self._copy(NEW, 0, off, None)
        self.st.append(NEW, rec)
        self._commit_new()
        self._advance(rec)
        self.size = off + len(rec)
        return fields

    def _set_head(self, w):
        self.size = w.end
        if w.records:
            self.seq = w.seq
            self.chain = w.chain
        else:
            self.seq = -1
            self.chain = logrec.ZERO_CHAIN

    def _advance(self, rec):
        self.seq = logrec._get_u32(rec, 4)
        self.chain = bytes(rec[8:40])

    def _copy(self, dst, start, end, first):
        """dst := first + LOG[start:end], in bounded chunks."""
        self.st.write(dst, first if first is not None else b"")
        off = start
        while off < end:
            part = self.st.read(LOG, off, min(CHUNK, end - off))
            if not part:
                raise StorageError("log shorter than expected")
            self.st.append(dst, part)
            off += len(part)

    def _commit_new(self):
        self.st.sync()
        self.st.rename(NEW, LOG)
        self.st.sync()

    def append(self, kind, fields):
        """Append one record; rolls the oldest records off first if needed.
        Returns the record's sequence number."""
        if self.size is None:
            self.recover()
        payload = logrec.encode_fields(fields)
        rec = logrec.encode(kind, self.seq + 1, self.chain, payload)
        if self.size + len(rec) > self.max_bytes:
            self._roll_off(len(rec))
        self.st.append(LOG, rec)
        self.size += len(rec)
        self._advance(rec)
        return self.seq

    def _roll_off(self, room):
        """Keep the newest records (about half the budget) behind a ROLLOFF
        marker carrying the chain anchor of the last record dropped."""
        target = self.max_bytes // 2 - room
        size = self.size
        # One pass keeping O(1) state (issue 11 items 4-5): before, every
        # record's (offset, seq, chain) was listed first, about 100 KiB of heap
        # for a full 32 KiB log on the unix port, so a CHECK that rolled the log
        # off ran out of memory in a small heap. `cut` is the first record
        # (not the first of all) whose tail fits the target; the marker takes
        # the seq and chain of the record before it.
        st = [0, None, None, None]  # records seen, (seq, chain) of the last one, the cut found

        def visit(r):
            if st[3] is None and st[0] >= 1 and size - r.offset + 64 <= target:
                st[3] = (st[0], st[1], st[2], r.offset)
            st[0] += 1
            st[1], st[2] = r.seq, r.chain

        self._walk(visit)
        if st[3] is not None:
            cut, last_seq, last_chain, start = st[3]
        else:
            cut, last_seq, last_chain, start = st[0], st[1], st[2], size
        marker = logrec.encode(logrec.ROLLOFF, last_seq, None,
                               logrec.encode_fields({"dropped": cut}), chain=last_chain)
        self._copy(NEW, start, size, marker)
        self._commit_new()
        self.size = len(marker) + size - start

    def read_all(self):
        """The whole log as bytes (host pull; the log is bounded by max_bytes)."""
        if not self.st.exists(LOG):
            return b""
        return self.st.read(LOG, 0, self.st.size(LOG))

    def verify(self):
        """verify_chain over the stored log, with the head this session knows."""
        head = (self.seq, self.chain) if self.size is not None and self.seq >= 0 else None
        return logrec.verify_chain(self.read_all(), head)

    # --- typed helpers (issue 4: what the log must record) ---
    def boot(self, state, version, code=""):
        return self.append(logrec.BOOT, {"state": state, "version": version, "code": code})

    def check(self, verdict, codes, drug=""):
        return self.append(logrec.CHECK, {"verdict": verdict, "codes": list(codes), "drug": drug[:TEXT_MAX]})

    def override(self, codes, reasons):
        return self.append(logrec.OVERRIDE, {"codes": list(codes),
                                             "reasons": [str(r)[:TEXT_MAX] for r in reasons]})

    def install(self, version, previous, status="installed"):
        return self.append(logrec.INSTALL, {"version": version, "previous": previous, "status": status})

    def install_rejected(self, version, code, message=""):
        return self.append(logrec.INSTALL_REJECTED, {"version": version, "code": code,
                                                     "why": str(message)[:TEXT_MAX]})

    def selftest_failed(self, code, message=""):
        return self.append(logrec.SELFTEST_FAIL, {"code": code, "why": str(message)[:TEXT_MAX]})
