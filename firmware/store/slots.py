# Library storage on the pump: atomic A/B install, boot-time selection and
# repair, anti-rollback counter, integrity self-test (issue 4, deliverable 2;
# design and safety argument in docs/adr/0003-atomic-install.md, files and
# algorithms in docs/storage.md).
#
# Files: SLOTS[0], SLOTS[1] hold raw library containers; COMMIT names the
# active slot, its SHA-256 and the anti-rollback counter (firmware/store/commitrec.py).
# Install never touches the slot COMMIT names; it becomes visible only through
# the atomic rename COMMIT_TMP -> COMMIT. Pure over the storage interface.
from firmware.store import commitrec
from firmware.library import container
from firmware.errors import (LibraryFormatError, NoLibraryError, PumpError, RollbackError,
                             SelfTestError, StorageError, VersionReusedError)
from firmware.store.storage import CHUNK, bytes_reader, reader

SLOTS = ("slot0.lib", "slot1.lib")
COMMIT = "commit.rec"
COMMIT_TMP = "commit.tmp"

OK = "ok"
NO_LIBRARY = "no-library"


class Verdict:
    """What a verifier returns: the library's version and "install" or "same"
    (the shape of firmware/release/verify.py's result)."""

    def __init__(self, version, status):
        self.version = version
        self.status = status


def default_verify(c, installed_version):
    """Structure and digest were checked by container.scan; this adds
    anti-rollback. The shell replaces it with
    `lambda c, v: release.verify_release(c, trust, v)` (one line)."""
    v = c.header.library_version
    if v < installed_version:
        raise RollbackError("library version %d is older than installed version %d" % (v, installed_version))
    return Verdict(v, "same" if v == installed_version else "install")


class PumpStore:
    def __init__(self, storage, log=None, chunk=CHUNK):
        self.st = storage
        self.log = log
        self.chunk = chunk
        self.commit = None  # the COMMIT record in force (None: never installed or unreadable)
        self.active = None  # == self.commit once its slot verified; None: refuse programming
        self.counter = 0  # anti-rollback floor
        self.fault = NoLibraryError.code
        self.booted = False
        self.incoming = 0  # version of the library being received (for the log)
        # issue 11 item 4: indexer(slot name) -> a sink fed the body while a slot
        # is hashed (the shell's library index), so boot and install read it once;
        # scanned = (Commit, sink) of the last slot so read that is (or became) active
        self.indexer = None
        self.scanned = None

    # --- boot (issue 4: pick the newest slot that verifies, repair, self-test) ---
    def boot(self):
        """Returns a report dict: state, version, counter, code, repair, log."""
        self.booted = True
        log_repair = self.log.recover() if self.log is not None else None
        cur, cur_bad = self._load(COMMIT)
        repair = None
        if self.st.exists(COMMIT_TMP):
            # An interrupted commit. Candidates are COMMIT_TMP (seq n+1) and
            # COMMIT (seq n): take the newest one whose slot verifies.
            tmp, _ = self._load(COMMIT_TMP)
            floor = cur.counter if cur is not None else (self._slot_floor() if cur_bad else 0)
            if (tmp is not None and (cur is None or tmp.seq == cur.seq + 1)
                    and tmp.counter >= floor and self._matches(tmp) is None):
                self.st.rename(COMMIT_TMP, COMMIT)
                cur, cur_bad, repair = tmp, False, "rolled-forward"
            else:
                self.st.remove(COMMIT_TMP)
                repair = "rolled-back"
            self.st.sync()
        self.commit = cur
        self.active = None
        if cur is None:
            self.counter = self._slot_floor() if cur_bad else 0
            self.fault = StorageError.code if cur_bad else NoLibraryError.code
        else:
            self.counter = cur.counter
            why = self._matches(cur, True)
            if why is None and cur.version < cur.counter:
                why = "active version %d is below the anti-rollback counter %d" % (cur.version, cur.counter)
            if why is None:
                self.active = cur
                self.fault = None
            else:
                self.fault = SelfTestError.code
                if self.log is not None:
                    self.log.selftest_failed(SelfTestError.code, why)
        state = OK if self.active is not None else NO_LIBRARY
        if self.log is not None:
            # issue 10 item 3: a commit rolled back (or forward) by a power cut
            # leaves a record: the boot record names the repair.
            self.log.boot(state, self.version(), self.fault or "", repair or "")
        return {"state": state, "version": self.version(), "counter": self.counter,
                "code": self.fault, "repair": repair, "log": log_repair}

    def _load(self, name):
        """(Commit or None, True if the file exists but is not a valid record)."""
        if not self.st.exists(name):
            return None, False
        c = commitrec.decode(self.st.read(name, 0, commitrec.LENGTH + 1))
        return c, c is None

    def _slot_floor(self):
        """COMMIT unreadable (media fault, never a power cut): the counter is
        at least the highest version any slot header claims (fail safe)."""
        floor = 0
        for name in SLOTS:
            if self.st.exists(name):
                try:
                    floor = max(floor, container.parse_header(self.st.read(name, 0, container.HEADER_LEN))
                                .library_version)
                except LibraryFormatError:
                    pass
        return floor

    def _scan(self, name, sink=None):
        """Re-read a slot in bounded chunks: (Container, length, SHA-256 of the
        file), the body also fed to `sink` (an indexer) if given. Raises
        LibraryFormatError/DigestError/StorageError."""
        s = container.Scanner(sink.feed if sink is not None else None)
        off = 0
        while s.error is None:
            part = self.st.read(name, off, self.chunk)
            if not part:
                break
            off += len(part)
            s.feed(part)
        return _scanned(s, sink)

    def _matches(self, rec, index=False):
        """None if the slot `rec` names holds exactly the library it records,
        else the reason it does not. index=True: feed the shell's indexer too
        (self.scanned) as the slot is read (boot)."""
        name = SLOTS[rec.slot]
        if not self.st.exists(name):
            return "slot %d is empty" % rec.slot
        sink = self.indexer(name) if index and self.indexer is not None else None
        try:
            c, length, digest = self._scan(name, sink)
        except PumpError as e:
            return "slot %d: %s" % (rec.slot, e.message)
        if length != rec.lib_len or digest != rec.lib_sha256:
            return "slot %d does not match its commit record" % rec.slot
        if c.header.library_version != rec.version:
            return "slot %d holds version %d, commit says %d" % (rec.slot, c.header.library_version, rec.version)
        if sink is not None:
            self.scanned = (rec, sink)
        return None

    # --- queries used by the checker and the shell ---
    def version(self):
        return self.active.version if self.active is not None else 0

    def require(self):
        """The active Commit; with no valid library every programming is
        refused (issue 4: NO_LIBRARY)."""
        if self.active is None:
            raise NoLibraryError("no valid drug library is installed (%s); programming refused"
                                 % (self.fault or NoLibraryError.code))
        return self.active

    def library_reader(self):
        """A bounded-chunk `read(n)` over the active library's bytes."""
        return reader(self.st, SLOTS[self.require().slot], self.chunk)

    def library_bytes(self):
        a = self.require()
        return self.st.read(SLOTS[a.slot], 0, a.lib_len)

    def selftest(self):
        """Re-hash the active library and compare with its commit record (at
        boot and periodically). On failure the pump refuses programming."""
        a = self.require()
        why = self._matches(a)
        if why is not None:
            self.active = None
            self.fault = SelfTestError.code
            if self.log is not None:
                self.log.selftest_failed(SelfTestError.code, why)
            raise SelfTestError("drug library failed its integrity self-test: " + why)
        return a.version

    # --- install (issue 4: inactive slot, verify there, one atomic commit) ---
    def _target_slot(self):
        """The slot install writes: never the one COMMIT names."""
        return 1 - self.commit.slot if self.commit is not None else 0

    def install(self, source, verify=None):
        """Install a library from bytes or a `read(n) -> bytes` stream.

        Returns {"status": "installed" | "same", "version", "previous"}.
        Raises the verifier's PumpError (logged as a rejected install) leaving
        the active library and the counter unchanged."""
        read = source if callable(source) else bytes_reader(source)

        def put(target, installed):
            self._receive(read, target, installed)
            self.st.sync()
            return None  # scan it there, as stored

        return self._install(put, verify)

    def install_staged(self, name, verify=None, scanner=None):
        """Install the library a finished push left in file `name` (issue 11
        item 1): the file is RENAMED onto the inactive slot, not copied, so
        END does not write the library a second time. `scanner` is the
        container.Scanner the link fed with the bytes as they were stored
        (read back after each append, so it frames what storage holds);
        None: the slot is scanned now, as install() does. Same checks, same
        log records, same atomic commit as install() (docs/adr/0003): the
        inactive slot is never the one COMMIT names, and a power cut before
        the commit leaves the old library active."""

        def put(target, installed):
            self._early(container.parse_header(self.st.read(name, 0, container.HEADER_LEN)), installed)
            self.st.rename(name, target)
            self.st.sync()
            return scanner

        return self._install(put, verify)

    def _install(self, put, verify):
        """put(slot name, installed version) stores the library in the
        inactive slot and returns a Scanner that framed it as stored, or None."""
        if not self.booted:
            self.boot()
        verify = verify or default_verify
        previous = self.version()
        installed = self.active.version if self.active is not None else self.counter
        self.incoming = 0
        slot = self._target_slot()
        try:
            scanner = put(SLOTS[slot], installed)
            sink = self.indexer(SLOTS[slot]) if self.indexer is not None and scanner is None else None
            if scanner is None:
                c, length, digest = self._scan(SLOTS[slot], sink)  # verify it THERE, as stored (and index it)
            else:
                c, length, digest = _scanned(scanner, scanner.index)
            c.stored_as = SLOTS[slot]  # lets a verifier read the staged bytes back
            result = verify(c, installed)
            if result.version != c.header.library_version:
                raise LibraryFormatError("verifier and header disagree on the version")
            version = result.version
            if version < self.counter:  # defence in depth: never commit below the counter
                raise RollbackError("library version %d is below the anti-rollback counter %d"
                                    % (version, self.counter))
            if result.status == "same":
                self._same_bytes(version, length, digest)
        except PumpError as e:
            self._discard(slot)
            if self.log is not None:
                self.log.install_rejected(self.incoming, e.code, e.message)
            raise
        if result.status == "same" and self.active is not None:
            self._discard(slot)
            if self.log is not None:
                self.log.install(version, previous, "same")
            return {"status": "same", "version": version, "previous": previous}
        seq = self.commit.seq + 1 if self.commit is not None else 1
        rec = commitrec.Commit(seq, slot, version, max(self.counter, version), length, digest)
        # The commit: one atomic rename (docs/adr/0003). Before it the old
        # library is active; after it the new one is.
        self.st.write(COMMIT_TMP, commitrec.encode(rec))
        self.st.sync()
        self.st.rename(COMMIT_TMP, COMMIT)
        self.st.sync()
        self.commit = self.active = rec
        self.scanned = (rec, c.index) if c.index is not None else None
        self.counter = rec.counter
        self.fault = None
        if self.log is not None:
            self.log.install(version, previous, "installed")
        return {"status": "installed", "version": version, "previous": previous}

    def _same_bytes(self, version, length, digest):
        """Issue 10 item 1: a library under the committed version must be the
        committed bytes (length and SHA-256 of the whole file, as the commit
        record holds them); another library under that version is refused
        (LIB_VERSION_REUSED), never kept as "same". Checked against the commit
        record, not only the active library: after a failed self-test the same
        bytes may be installed again (a repair), other bytes may not. With no
        readable commit record there is nothing to compare with."""
        rec = self.commit
        if rec is not None and rec.version == version and (rec.lib_len != length or rec.lib_sha256 != digest):
            raise VersionReusedError("version %d is already installed with other bytes (sha256 %s..., this "
                                     "library %s...): a re-release must raise the version"
                                     % (version, bytes(rec.lib_sha256).hex()[:16], bytes(digest).hex()[:16]))

    def same_as_active(self, length, sha256):
        """The active library's version if it is exactly these bytes (length
        and whole-file SHA-256, as pushed), else None: lets the link recognise
        an identical library at BEGIN, before any byte is sent (issue 10 item 1)."""
        a = self.active
        if a is not None and a.lib_len == length and a.lib_sha256 == bytes(sha256):
            return a.version
        return None

    def _discard(self, slot):
        """Drop an uncommitted copy from the inactive slot so no unverified
        header can later raise the counter floor (_slot_floor)."""
        try:
            if self.st.exists(SLOTS[slot]):
                self.st.remove(SLOTS[slot])
        except PumpError:
            pass

    def _early(self, h, installed):
        """The header's version, before the body is stored: a rollback is
        refused early (spare the flash a doomed write)."""
        self.incoming = h.library_version
        if h.library_version < installed:
            raise RollbackError("library version %d is older than installed version %d"
                                % (h.library_version, installed))

    def _receive(self, read, name, installed):
        """Stream the container into slot `name` in chunks of at most
        self.chunk bytes (never the whole library in RAM)."""
        head = _read_exact(read, container.HEADER_LEN)
        h = container.parse_header(head)
        self._early(h, installed)
        self.st.write(name, head)
        left = h.body_len
        while left:
            part = read(min(self.chunk, left))
            if not part:
                raise LibraryFormatError("library truncated inside its body")
            self.st.append(name, part)
            left -= len(part)
        count = _read_exact(read, 1)
        if count[0] > container.MAX_SIGS:
            raise LibraryFormatError("%d signatures, at most %d allowed" % (count[0], container.MAX_SIGS))
        self.st.append(name, count + _read_exact(read, count[0] * container.SIG_ENTRY_LEN))
        if read(1):
            raise LibraryFormatError("bytes after the signature block")


def _scanned(s, sink):
    """(Container, length, SHA-256) of a finished Scanner (raises its fault)."""
    c = s.finish()
    c.index = sink
    return c, s.n, s.file_sha256


def _read_exact(read, n):
    out = b""
    while len(out) < n:
        part = read(n - len(out))
        if not part:
            raise LibraryFormatError("library truncated: expected %d more bytes" % (n - len(out)))
        out += part
    return out
