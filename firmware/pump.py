# The pump's shell over its pure parts: storage (firmware/store/slots.py), the
# release verifier (firmware/release/verify.py), the decoder and the checker, and
# the event log (firmware/store/eventlog.py). Issue 4: "every check with its verdict
# and codes, overrides with reasons" goes to the log; with no valid library
# every programming is refused with NO_LIBRARY.
from firmware.release import verify as release
from firmware.check.checker import Findings, _verdict
from firmware import jsontext
from firmware.check.batch import result_json, split_requests
from firmware.check.checker import check as check_parsed
from firmware.errors import PumpError, SelfTestError
from firmware.store import logrec
from firmware.store.eventlog import EventLog
from firmware.library import container
from firmware.library.container import HEADER_LEN
from firmware.library.index import Indexer
from firmware.store.slots import SLOTS, PumpStore
from firmware.therapy.device import TherapyDevice


class Pump:
    def __init__(self, storage, trust, log_max_bytes=32768):
        self.trust = trust
        self.log = EventLog(storage, log_max_bytes)
        self.store = PumpStore(storage, self.log)
        self.store.indexer = self._indexer
        self.lib = None  # the active library's index (firmware/library/index.py), or None
        self.lib_rec = None  # the Commit self.lib indexes
        self.fault = None
        self.therapy = TherapyDevice(storage, self.log)

    def boot(self):
        report = self.store.boot()
        self._load_active()
        self.therapy.boot()
        return report

    def act(self, text, key=None):
        """One therapy action (JSON text) -> its step result (JSON bytes), logged
        and, when it changes the state, saved (firmware/therapy/device.py)."""
        return self.therapy.act(text, self.lib, key)

    def _indexer(self, name):
        """A library index fed while slot `name` is hashed; it reads the drug a
        check needs from that slot (issue 11 item 4: no decoded copy in RAM)."""
        return Indexer(self._body_read(name))

    def _body_read(self, name):
        st = self.store.st

        def read(at, n):
            return st.read(name, HEADER_LEN + at, n)

        return read

    def receiver(self, name):
        """A container.Scanner for a push being stored in file `name`, feeding
        a library index (issue 11 item 1): the link feeds it each DATA frame
        as stored, and install_staged() then neither reads nor copies the
        library again."""
        sink = self._indexer(name)
        s = container.Scanner(sink.feed)
        s.index = sink
        return s

    def _load_active(self):
        """Index the active library; a library that no longer decodes is no library.

        The index was built while boot or install hashed the slot
        (store.scanned): the body is read once (issue 11 item 4)."""
        active = self.store.active
        if active is None:
            self.lib = None
            self.fault = self.store.fault
            return
        if self.lib is not None and self.lib_rec is active:
            return  # unchanged (an install refused, or "same")
        self.lib = None
        scanned = self.store.scanned
        try:
            if scanned is not None and scanned[0] is active:
                sink = scanned[1]
            else:  # not indexed as it was read (a store booted without the shell): read it now
                sink = self._indexer(SLOTS[active.slot])
                read = self.store.library_reader()
                container.scan(read, self.store.chunk, sink.feed)
            self.lib = sink.finish(active.version)
            self.lib_rec = active
            self.fault = None
        except PumpError as e:
            self.fault = SelfTestError.code
            self.store.active = None
            self.log.selftest_failed(SelfTestError.code, "active library does not decode: %s" % e.message)
        self.store.scanned = None

    def install(self, source):
        """Install a released library (bytes or read(n)); raises the device error, logged.

        Verified before the commit, as stored in the inactive slot: release
        (signatures, anti-rollback), then the body must decode with THIS
        firmware (the index built while the slot was hashed: one read, issue
        11 item 4). A signed library this firmware cannot use (built for
        another format, or broken) is refused and the old library stays active."""
        return self._install(lambda verify: self.store.install(source, verify))

    def install_staged(self, name, scanner=None):
        """Install the library a push stored in file `name` (renamed onto the
        inactive slot; `scanner`: Pump.receiver's, fed as it was stored, or
        None to scan it now). Same verification and outcome as install()."""
        return self._install(lambda verify: self.store.install_staged(name, verify, scanner))

    def _install(self, run):
        trust = self.trust

        def verify(c, installed):
            result = release.verify_release(c, trust, installed)
            # the index reads drugs from where the library now lies (a pushed
            # library was indexed as it arrived, in the staging file)
            c.index.read = self._body_read(c.stored_as)
            c.index.finish(c.header.library_version)  # LibraryFormatError (LIB_MALFORMED) if unusable
            return result

        try:
            return run(verify)
        finally:
            # Whatever happened (even a fault AFTER the commit, such as the
            # install record not fitting on a full flash), the library the
            # pump checks with is the one its storage has committed: before,
            # such a fault left the old decoded library checking programmings
            # while the storage and INFO said the new one (issue 4: the pump
            # checks against its active library; DESIGN.md principle 3).
            self._load_active()

    def runs(self, length, sha256):
        """The version of the library this pump checks with if it is exactly
        these bytes (length and SHA-256 of the whole file), else None: the
        link's BEGIN recognises the identical library before any DATA
        (issue 10 item 1). With no usable library, None: the same bytes may
        be installed again (a repair)."""
        return self.store.same_as_active(length, sha256) if self.lib is not None else None

    def selftest(self):
        try:
            return self.store.selftest()
        except PumpError:
            self.lib = None
            self.fault = SelfTestError.code
            raise

    def check(self, text, answer=None):
        """One programming (JSON text) -> its result, logged with verdict and codes.

        The text is parsed once (issue 7): the checker, the log's drug name and
        the override record all read the same parsed programming. `answer(result)`,
        if given, runs before the log: the link builds its answer there, so a
        MemoryError leaves the check unanswered AND unlogged (issue 11 item 5)."""
        obj, bad = _parsed(text)
        if self.lib is None:
            f = Findings()
            f.add("NO_LIBRARY", self.fault or "")
            result = _verdict(f, [])
        elif bad is not None:
            f = Findings()
            f.add("REQ_MALFORMED", bad)
            result = _verdict(f, [])
        else:
            result = check_parsed(self.lib, obj)
            if self.lib.damaged is not None:
                result = self._damaged()
        if answer is not None:
            answer(result)
        codes = [c for c, s, m in result.findings]
        drug = _drug_of(obj)
        try:
            self.log.check(result.verdict, codes, drug)
        except ValueError:
            # The record would not fit (logrec.MAX_PAYLOAD): a request can make
            # a code repeat, e.g. one OVERRIDE_NOT_APPLICABLE per override it
            # lists. Before, such a programming was checked but NOT logged and
            # the link answered PUMP_ERROR. Every check is logged (issue 4):
            # each code once, with its count, "CODE*40".
            self.log.check(result.verdict, logrec.counted_codes(codes), drug)
        overridden = _overridden(obj, result)
        if overridden:
            self.log.override(overridden, [_reason_of(obj)])
        return result

    def _damaged(self):
        """A drug's stored records no longer match what was verified (flash
        rot after boot; firmware/library/index.py): the pump stops checking
        with that library, as a failed self-test does (issue 11 item 4;
        DESIGN.md principle 3), and this programming is refused."""
        why = self.lib.damaged
        self.lib = None
        self.store.active = None
        self.fault = self.store.fault = SelfTestError.code
        self.log.selftest_failed(SelfTestError.code, "stored library changed: %s" % why)
        f = Findings()
        f.add("NO_LIBRARY", self.fault)
        return _verdict(f, [])

    def check_text(self, text):
        return [result_json(self.check(t)) for t in split_requests(text)]


def _parsed(text):
    """The programming parsed once -> (JSON value, None), or (None, message)
    when the text is not JSON (as batch.check_one words it). A JSON value that
    is not an object goes to the checker, which rejects it with REQ_MALFORMED."""
    try:
        return jsontext.loads(text), None
    except jsontext.JsonTextError as e:
        return None, e.message


def _drug_of(obj):
    d = obj.get("drug") if isinstance(obj, dict) else None
    return d if isinstance(d, str) else ""


def _reason_of(obj):
    r = obj.get("override_reason") if isinstance(obj, dict) else None
    return r if isinstance(r, str) else "(no reason given)"


def _overridden(obj, result):
    """Soft codes crossed and overridden by the clinician, logged only when the
    override took effect (verdict accept). An override without a reason leaves
    the programming at confirm (issue 8, OVERRIDE_REASON_REQUIRED): nothing
    was overridden, so nothing is logged as an override."""
    if result.verdict != "accept":
        return []
    ov = obj.get("overrides") if isinstance(obj, dict) else None
    if not isinstance(ov, list):
        return []
    soft = [c for c, s, m in result.findings if s == "soft"]
    return [c for c in soft if c in ov]
