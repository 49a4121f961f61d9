# The roll-off's working state (issue 11 items 4-5, docs/adr/0017-incremental-roll-off.md):
# one run of dropped records becoming one ROLLOFF marker (docs/adr/0013-log-retention.md),
# and the build of events.new that firmware/store/eventlog.py carries from append
# to append. A few numbers and the open run: never a list of records.
from firmware.store import logrec


class Build:
    """State of the roll-off being built in NEW (RAM: a few numbers, the open
    run and at most one pending range, never a list of records)."""

    def __init__(self):
        self.off = 0        # next record of LOG to decide
        self.seq = -1       # seq/chain of the last record decided (the walk goes on from it)
        self.chain = None
        self.started = 0
        self.out = 0        # bytes of NEW, written or pending
        self.pk = 0         # protected bytes kept in NEW
        self.mk = 0         # marker bytes in NEW
        self.pdone = 0      # protected bytes of LOG before off
        self.keep_p = False  # a protected record was kept: all later ones are (oldest go first)
        self.keep_c = False  # the same for checks
        self.run = None     # open Run of dropped records
        self.ks = None      # pending kept range LOG[ks:ke], not yet copied
        self.ke = 0
        self.room = None    # size of the record whose append started (or resumed) the build
        self.work = 1       # bytes walked per append at the last share


class Run:
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
