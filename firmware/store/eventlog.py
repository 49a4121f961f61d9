# Append-only, hash-chained, bounded event log on the storage interface
# (issue 4, deliverable 3; record bytes in firmware/store/logrec.py and
# docs/storage.md, "Event log").
#
# Files: LOG (the log), NEW (the roll-off's replacement, built a few records
# per append: docs/adr/0017-incremental-roll-off.md), FIX (a boot repair's
# replacement), BAD (evidence copy of a log found corrupt in the middle). The
# log is only ever appended to, or replaced as a whole by an atomic rename of
# NEW or FIX, so a power cut leaves either the old log (maybe with a torn last
# record, which recover() drops) or the new one.
from firmware.store import logrec
from firmware.errors import LogCorruptError, StorageError
from firmware.store.storage import CHUNK
from firmware.store.logrun import Build, Run

LOG = "events.log"
NEW = "events.new"
FIX = "events.fix"
BAD = "events.bad"
DEFAULT_MAX_BYTES = 32768
TEXT_MAX = 120  # longest message kept in a record (messages are ours, clipped not refused)
# Kinds that survive any flood of checks (issue 10 item 3): all but CHECK.
PROTECTED = (logrec.BOOT, logrec.OVERRIDE, logrec.INSTALL, logrec.INSTALL_REJECTED,
             logrec.SELFTEST_FAIL, logrec.LOG_REPAIR, logrec.THERAPY)
MARKER_EST = 160  # bytes a roll-off marker takes at most (estimate for the budget)
# Incremental roll-off (issue 11 item 4, ADR 0017): the build of NEW starts
# when the log passes 3/4 of its budget and walks at least PACE bytes of the
# old log per byte appended, faster if needed to finish before the log comes
# within RESERVE (one record of any size) of its budget.
PACE = 6
RESERVE = logrec.OVERHEAD + logrec.MAX_PAYLOAD


class _Pause(Exception):  # the build's share for this append is done (raised by its visit)
    pass


class EventLog:
    def __init__(self, storage, max_bytes=DEFAULT_MAX_BYTES):
        if max_bytes < 4 * (logrec.OVERHEAD + logrec.MAX_PAYLOAD):
            raise ValueError("event log too small")
        self.st = storage
        self.max_bytes = max_bytes
        self.start = max_bytes - max_bytes // 4  # a roll-off build starts past this size
        self.size = None  # unknown until recover()
        self.seq = -1
        self.chain = logrec.ZERO_CHAIN
        self.prot = 0     # bytes of protected records in LOG
        self.b = None     # the roll-off being built, or None

    def _walk(self, visit=None, name=LOG):
        w = logrec.Walk(lambda off, n: self.st.read(name, off, n),
                        self.st.size(name) if self.st.exists(name) else 0, visit)
        w.run()
        return w

    # --- the logical stream the host pulls (firmware/link/server.py log_chunk) ---
    def size_bytes(self):
        if self.size is not None:
            return self.size
        return self.st.size(LOG) if self.st.exists(LOG) else 0

    def read(self, offset, n):
        """At most n bytes of the log from offset (b"" at or past its end)."""
        size = self.size_bytes()
        if offset < 0 or offset >= size or n <= 0:
            return b""
        return self.st.read(LOG, offset, min(n, size - offset))

    def recover(self):
        """Boot step: drop a torn last record, set aside a log corrupt in the
        middle (keeping its good prefix), load the head, and pick up a roll-off
        cut short by a power cut where it stopped. Returns None, or a dict
        describing the repair (also logged as a LOG_REPAIR record)."""
        self.st.remove(FIX)  # a repair cut short: the old log is intact
        self.b = None
        head = self._new_head()
        prot = [0]
        found = [None]

        def visit(r):
            if r.kind in PROTECTED:
                prot[0] += r.length
            if head is not None and r.seq == head[1] and bytes(r.chain) == head[2]:
                found[0] = (r.offset + r.length, prot[0])

        w = self._walk(visit)
        self.prot = prot[0]
        self._set_head(w)
        fields = None
        if w.error is not None:
            fields = self._repair(w)
        if found[0] is not None and (fields is None or fields["cause"] == "torn-tail"):
            b = self.b = Build()
            b.off, b.pdone = found[0]
            b.out, b.seq, b.chain, b.pk, b.mk, b.keep_p, b.keep_c = head[0], head[1], head[2], head[3], \
                head[4], head[3] > 0, head[5]
            b.started = 1
        else:
            self.st.remove(NEW)  # nothing to go on from: a later build starts afresh
        return fields

    def _new_head(self):
        """A NEW left by a power cut: (size, seq, chain, protected bytes, marker
        bytes, has a kept check) of its last record if it verifies, else None.
        Its last record is in LOG (same seq and chain) if the build can go on."""
        if not self.st.exists(NEW):
            return None
        acc = [0, 0, False]

        def visit(r):
            if r.kind == logrec.ROLLOFF:
                acc[1] += r.length
            elif r.kind in PROTECTED:
                acc[0] += r.length
            else:
                acc[2] = True

        w = self._walk(visit, NEW)
        if w.error is not None or w.records == 0:
            return None
        return (w.end, w.seq, w.chain, acc[0], acc[1], acc[2])

    def _repair(self, w):
        index, off, msg, is_tail = w.error
        size = w.size
        fields = {"at": off, "dropped_bytes": size - off, "record": index,
                  "cause": "torn-tail" if is_tail else "corrupt",
                  "code": "" if is_tail else LogCorruptError.code, "why": msg[:TEXT_MAX]}
        if not is_tail:  # not a power cut: keep the evidence before cutting it
            self.st.remove(NEW)
            self._copy(BAD, 0, size, None)
        rec = logrec.encode(logrec.LOG_REPAIR, self.seq + 1, self.chain, logrec.encode_fields(fields))
        self._copy(FIX, 0, off, None)
        self.st.append(FIX, rec)
        self._commit(FIX)
        self._advance(rec)
        self.size = off + len(rec)
        self.prot += len(rec)
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
        self._append_range(start, end, dst)

    def _commit(self, src):
        self.st.sync()
        self.st.rename(src, LOG)
        self.st.sync()

    def append(self, kind, fields):
        """Append one record; a share of the roll-off is done first when the
        log is past 3/4 of its budget. Returns the record's sequence number."""
        if self.size is None:
            self.recover()
        payload = logrec.encode_fields(fields)
        n = logrec.OVERHEAD + len(payload)
        if self.b is not None or self.size + n > self.start:
            self._roll(n)  # may repair a log found rotten: encode against the head after it
        rec = logrec.encode(kind, self.seq + 1, self.chain, payload)
        self.st.append(LOG, rec)
        self.size += len(rec)
        if kind in PROTECTED:
            self.prot += len(rec)
        self._advance(rec)
        return self.seq

    # --- roll-off, a few records per append (issue 11 item 4, ADR 0017) ---
    def _roll(self, room):
        """Decide the next share of LOG's records into NEW; switch NEW in when
        every record has been decided. Keeps about half the budget: checks
        roll off first (oldest first), protected kinds (install, boot,
        rejected install, self-test, override, therapy, repair) only when they
        alone exceed it (issue 10 item 3, docs/adr/0013-log-retention.md).
        Each run of dropped records becomes one ROLLOFF marker (kinds, count,
        seq range) carrying the chain anchor of its last record."""
        b = self.b
        if b is None:
            self.st.write(NEW, b"")
            b = self.b = Build()
        if b.room is None:
            b.room = room
        rest = self.size - b.off
        free = self.max_bytes - self.size - room - RESERVE
        # finish before the log comes within RESERVE of its budget: each append
        # adds about `room` to what is left, so walk room * (1 + rest / free)
        work = rest if free <= 0 else max(PACE * room, room + room * rest // free)
        b.work = work
        if rest > 0:
            self._decide_some(b, b.off + work)
            if self.b is None:  # the log was found corrupt and repaired
                return
        if b.off >= self.size:
            self._finish(b)

    def _decide_some(self, b, stop):
        base = b.off
        cache = [b"", 0]

        def read_at(o, n):  # one storage read per CHUNK, not two per record
            a = base + o
            buf, at = cache
            if a < at or a + n > at + len(buf):
                buf = self.st.read(LOG, a, max(n, CHUNK))
                at = a
                cache[0] = buf
                cache[1] = a
            return buf[a - at:a - at + n]

        def visit(r):
            self._decide(b, r, base + r.offset)
            if b.off >= stop:
                raise _Pause()

        w = logrec.Walk(read_at, self.size - base, visit)
        if b.started:
            w.records, w.seq, w.chain = 1, b.seq, b.chain
        try:
            w.run()
        except _Pause:
            pass
        if w.error is not None:  # the log rotted since boot: repair it as a boot would
            self.st.remove(NEW)
            self.b = None
            self.recover()

    def _decide(self, b, r, at):
        ln = r.length
        target = self.max_bytes // 2 - b.room
        pend = MARKER_EST if b.run is not None else 0
        if r.kind == logrec.ROLLOFF:
            drop = True  # old markers merge into the run around them
        elif r.kind in PROTECTED:
            drop = not b.keep_p and b.pk + b.mk + pend + self.prot - b.pdone > target
            b.pdone += ln
            b.keep_p = not drop
        else:
            # what is left to decide grows by `room` per `work` walked until the
            # switch: counted, so the kept log lands near the target
            left = self.size - at
            if b.work > b.room:
                left += left * b.room // (b.work - b.room)
            drop = not b.keep_c and b.out + pend + left > target
            b.keep_c = not drop
        if drop:
            if b.ks is not None:
                self._flush(b)
            if b.run is None:
                b.run = Run()
            b.run.add(r)
        else:
            if b.run is not None:
                self._close_run(b)
            if b.ks is None:
                b.ks = at
            b.ke = at + ln
            b.out += ln
            if r.kind in PROTECTED:
                b.pk += ln
            if b.ke - b.ks >= CHUNK:
                self._flush(b)
        b.off = at + ln
        b.seq = r.seq
        b.chain = bytes(r.chain)
        b.started = 1

    def _flush(self, b):  # the pending kept range goes to NEW
        self._append_range(b.ks, b.ke, NEW)
        b.ks = None

    def _close_run(self, b):
        piece = b.run.marker()
        self.st.append(NEW, piece)
        b.out += len(piece)
        b.mk += len(piece)
        b.run = None

    def _finish(self, b):
        if b.ks is not None:
            self._flush(b)
        if b.run is not None:
            self._close_run(b)
        self._commit(NEW)
        self.size = b.out
        self.prot = b.pk
        self.b = None

    def _append_range(self, start, end, dst):
        """dst += LOG[start:end], in bounded chunks."""
        off = start
        while off < end:
            part = self.st.read(LOG, off, min(CHUNK, end - off))
            if not part:
                raise StorageError("log shorter than expected")
            self.st.append(dst, part)
            off += len(part)

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
    def boot(self, state, version, code="", repair=""):
        fields = {"state": state, "version": version, "code": code}
        if repair:  # issue 10 item 3: "rolled-back" / "rolled-forward" commit at this boot
            fields["repair"] = repair
        return self.append(logrec.BOOT, fields)

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
