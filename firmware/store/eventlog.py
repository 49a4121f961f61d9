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
# Kinds that survive any flood of checks (issue 10 item 3): all but CHECK.
PROTECTED = (logrec.BOOT, logrec.OVERRIDE, logrec.INSTALL, logrec.INSTALL_REJECTED,
             logrec.SELFTEST_FAIL, logrec.LOG_REPAIR, logrec.THERAPY)
MARKER_EST = 160  # bytes a roll-off marker takes at most (estimate for the budget)


class _Run:
    """One run of dropped records (old markers merged), gathered record by
    record so a roll-off never lists the log in RAM (issue 11 items 4-5):
    becomes one ROLLOFF marker with fields dropped, first, last (seq range),
    kinds ["check*370", "boot"]."""

    def __init__(self):
        self.counts = {}
        self.order = []
        self.dropped = 0
        self.first = None
        self.last = None  # (seq, chain) of the last record dropped

    def _add(self, name, k):
        if name not in self.counts:
            self.counts[name] = 0
            self.order.append(name)
        self.counts[name] += k

    def add(self, r):
        if r.kind != logrec.ROLLOFF:
            self._add(logrec.KIND_NAMES.get(r.kind, "kind-%d" % r.kind), 1)
            self.dropped += 1
            lo = r.seq
        else:
            f = r.fields()
            k = f.get("dropped", 0)
            k = k if isinstance(k, int) and k >= 0 else 0
            self.dropped += k
            lo = f.get("first", r.seq - k + 1)
            for item in f.get("kinds", ["unknown*%d" % k] if k else []):
                name, _star, cnt = item.partition("*")
                self._add(name, int(cnt) if cnt.isdigit() else 1)
        if self.first is None:
            self.first = lo
        self.last = (r.seq, bytes(r.chain))

    def marker(self):
        kinds = [c if self.counts[c] == 1 else "%s*%d" % (c, self.counts[c]) for c in self.order]
        fields = {"dropped": self.dropped, "first": self.first, "last": self.last[0], "kinds": kinds[:16]}
        return logrec.encode(logrec.ROLLOFF, self.last[0], None, logrec.encode_fields(fields), chain=self.last[1])


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
        self._append_range(start, end, dst)

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
        """Keep about half the budget: checks roll off first (oldest first),
        protected kinds (install, boot, rejected install, self-test, override,
        therapy, repair) only when they alone exceed it (issue 10 item 3,
        docs/adr/0013-log-retention.md). Each run of dropped records
        becomes one ROLLOFF marker (kinds, count, seq range) carrying the
        chain anchor of its last record, so the chain still verifies."""
        target = self.max_bytes // 2 - room
        # Pass 1 keeps 4 bytes per record (kind, length, drop flag), not the
        # records: listing them cost about 100 KiB of heap for a full 32 KiB log
        # on the unix port, so a CHECK that rolled the log off ran out of memory
        # in a small heap (issue 11 items 4-5).
        kinds = bytearray()
        lens = bytearray()

        def note(r):
            kinds.append(r.kind)
            lens.append(r.length >> 8)
            lens.append(r.length & 0xFF)

        self._walk(note)
        n = len(kinds)
        drop = bytearray(n)  # old markers merge into new runs
        est = 0
        runs = 0
        for i in range(n):
            if kinds[i] == logrec.ROLLOFF:
                drop[i] = 1
                runs += 1 if i == 0 or not drop[i - 1] else 0
            else:
                est += (lens[2 * i] << 8) | lens[2 * i + 1]

        for protected in (False, True):
            for i in range(n):
                if est + runs * MARKER_EST <= target:
                    break
                if drop[i] or (not protected and kinds[i] in PROTECTED):
                    continue
                drop[i] = 1
                est -= (lens[2 * i] << 8) | lens[2 * i + 1]
                left = i > 0 and drop[i - 1]
                right = i + 1 < n and drop[i + 1]
                runs += -1 if (left and right) else (1 if not (left or right) else 0)
        # Pass 2: kept runs copied in chunks, each dropped run one marker.
        self.st.write(NEW, b"")
        st = [0, 0, None, None, 0]  # record index, bytes written, kept run start, open _Run, end

        def copy(r):
            i = st[0]
            st[0] = i + 1
            if i >= n:
                return
            if drop[i]:
                if st[2] is not None:
                    st[1] += self._append_range(st[2], r.offset)
                    st[2] = None
                if st[3] is None:
                    st[3] = _Run()
                st[3].add(r)
            else:
                if st[3] is not None:
                    piece = st[3].marker()
                    self.st.append(NEW, piece)
                    st[1] += len(piece)
                    st[3] = None
                if st[2] is None:
                    st[2] = r.offset
            st[4] = r.offset + r.length

        self._walk(copy)
        if st[2] is not None:
            st[1] += self._append_range(st[2], st[4])
        if st[3] is not None:
            piece = st[3].marker()
            self.st.append(NEW, piece)
            st[1] += len(piece)
        size = st[1]
        self._commit_new()
        self.size = size

    def _append_range(self, start, end, dst=NEW):
        """dst += LOG[start:end], in bounded chunks; -> the bytes appended."""
        off = start
        while off < end:
            part = self.st.read(LOG, off, min(CHUNK, end - off))
            if not part:
                raise StorageError("log shorter than expected")
            self.st.append(dst, part)
            off += len(part)
        return end - start

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
