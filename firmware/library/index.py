# The library index (issue 11 item 4; docs/adr/0014-library-index.md,
# docs/format.md "Limits of the decoder"): the pump checks against the
# library as stored, through a small index, instead of a decoded copy of the
# whole library (which cost about 9 bytes of heap per library byte).
#
# Indexer is fed the body once, in chunks, while install (or boot) hashes the
# stored slot: every record is checked as body.decode_body checks it, one drug
# at a time, and each drug leaves one 16-byte entry: name hash u32 | offset
# u32 | length u32 | CRC-32 u32 of its records (big-endian, sorted by hash).
# A CHECK then reads and decodes only the drug it names, from storage, its
# CRC-32 checked (flash that rots after boot is never read as limits), or
# takes it from a cache of the last CACHE_DRUGS drugs. The heap holds the
# entries (16 bytes per drug), one chunk and one drug: flat in the library's size.
import binascii

from firmware.bigendian import pack_u32, u32
from firmware.library import body as fmt
from firmware.errors import LibraryFormatError, PumpError

ENTRY = 16
CACHE_DRUGS = 2
HASH_MASK = 0x3FFFFF  # 22 bits: every step stays a small int on a 32-bit board
NAME_READ = 3 + 1 + fmt.MAX_NAME  # a drug record: tag, length, name length, name


def name_hash(name):
    """A drug name's (bytes or str) 22-bit hash; equal names, equal hashes."""
    if isinstance(name, str):
        name = name.encode()
    h = 5381
    for b in name:
        h = ((h << 5) + h + b) & HASH_MASK
    return h


def _find(entries, h):
    """Index of the first entry whose hash is >= h (binary search)."""
    lo, hi = 0, len(entries) // ENTRY
    while lo < hi:
        mid = (lo + hi) // 2
        if u32(entries, mid * ENTRY) < h:
            lo = mid + 1
        else:
            hi = mid
    return lo


def _drug_name(read, at):
    """The name of the drug record at body offset `at` (to tell two drugs apart)."""
    head = read(at, NAME_READ)
    n = head[3] if len(head) > 3 else 0
    return bytes(head[4:4 + n]).decode()


class Indexer:
    """Feed the body in chunks of any size, then finish() -> LibraryIndex.

    `read(offset, n)` reads the body as stored (the slot being hashed); it is
    used only when two drug names share a hash, to refuse a second drug of
    the same name (issue 8) without keeping every name in RAM."""

    def __init__(self, read):
        self.read = read
        self.dec = fmt.BodyDecoder(keep=False)
        self.dec.on_drug = self._drug
        self.dec.on_drug_end = self._drug_end
        self.pending = None
        self.error = None
        self.done = None
        self.entries = bytearray()
        self.carry = b""
        self.pos = 0  # body offset of carry[0]
        self.first = None  # body offset of the first drug
        self.count = 0

    def feed(self, part):
        """Never raises: the first fault is kept for finish(), so that the
        verifier's order of checks (digest, signatures, then the body) holds."""
        if self.error is not None:
            return
        data = self.carry + bytes(part) if self.carry else part
        try:
            used = self.dec.feed(data, self.pos)
        except LibraryFormatError as e:
            self.error = e
            self.carry = b""
            return
        self.carry = bytes(data[used:])
        self.pos += used

    def _drug(self, name, at):
        h = name_hash(name)
        e = self.entries
        k = _find(e, h)
        j = k
        while j * ENTRY < len(e) and u32(e, j * ENTRY) == h:
            if _drug_name(self.read, u32(e, j * ENTRY + 4)) == name:
                raise LibraryFormatError("drug %s given twice" % name)
            j += 1
        self.pending = (h, at, k)

    def _drug_end(self, drug, at, length, crc):
        h, _, k = self.pending
        e = self.entries
        e.extend(bytes(ENTRY))
        m = memoryview(e)  # released before the next extend (CPython refuses to resize an exported buffer)
        if k * ENTRY < len(e) - ENTRY:  # insert in hash order: shift the tail up one entry, in place
            m[(k + 1) * ENTRY:] = m[k * ENTRY:len(e) - ENTRY]
        m[k * ENTRY:(k + 1) * ENTRY] = pack_u32(h) + pack_u32(at) + pack_u32(length) + pack_u32(crc)
        m = None
        if self.first is None:
            self.first = at
        self.count += 1

    def finish(self, version=0):
        """The index (the same one if called again); LibraryFormatError if the
        body does not decode."""
        if self.done is None:
            if self.error is not None:
                raise self.error
            lib = self.dec.finish(len(self.carry))
            self.carry = b""
            self.done = LibraryIndex(lib["library_name"], lib["rules_sha256"], version, self.entries,
                                     self.first, self.count, self.read)
            self.entries = None
        return self.done


def index_bytes(body, version=0):
    """The index of an in-memory body (tests, host tools)."""
    ix = Indexer(lambda at, n: body[at:at + n])
    ix.feed(body)
    return ix.finish(version)


class LibraryIndex:
    """What the pump checks with: the library's identity, and its drugs one at
    a time from storage. Reads like the decoded library for the fields the
    shell shows (lib["library_name"], lib["library_version"])."""

    def __init__(self, library_name, rules_sha256, version, entries, first, count, read):
        self.fields = {"library_name": library_name, "rules_sha256": rules_sha256,
                       "library_version": version}
        self.entries = entries
        self.first = first
        self.count = count
        self.read = read
        self.cache = []  # [(name, drug dict)], most recent first, at most CACHE_DRUGS
        self.damaged = None  # why a stored drug no longer reads back as verified

    def __getitem__(self, key):
        return self.fields[key]

    def __eq__(self, other):
        return (isinstance(other, LibraryIndex) and self.fields == other.fields
                and self.entries == other.entries)

    def __ne__(self, other):
        return not self.__eq__(other)

    def _load(self, k):
        e = self.entries
        at, length = u32(e, k * ENTRY + 4), u32(e, k * ENTRY + 8)
        try:
            span = self.read(at, length)
            if len(span) != length or binascii.crc32(span) & 0xFFFFFFFF != u32(e, k * ENTRY + 12):
                raise LibraryFormatError("drug records at offset %d changed in storage since the library "
                                         "was verified" % at)
            return fmt.decode_drug(span, at)
        except PumpError as e:
            self.damaged = e.message  # the shell stops checking with this library (Pump.check)
            raise

    def _keep(self, name, drug):
        self.cache.insert(0, (name, drug))
        del self.cache[CACHE_DRUGS:]
        return drug

    def drug(self, name):
        """The drug dict named `name`, or None. Raises LibraryFormatError if the
        stored bytes no longer decode (a fault the self-test also finds)."""
        for i in range(len(self.cache)):
            if self.cache[i][0] == name:
                if i:
                    self.cache.insert(0, self.cache.pop(i))
                return self.cache[0][1]
        h = name_hash(name)
        e = self.entries
        j = _find(e, h)
        while j * ENTRY < len(e) and u32(e, j * ENTRY) == h:
            d = self._load(j)
            if d["name"] == name:
                return self._keep(name, d)
            j += 1
        return None

    def first_drug(self):
        """The first drug in the body (the therapy shell's default)."""
        e = self.entries
        for k in range(len(e) // ENTRY):
            if u32(e, k * ENTRY + 4) == self.first:
                d = self._load(k)
                return self._keep(d["name"], d)
        return None


def drug_named(lib, name):
    """The drug `name` of a library, an index (the pump) or a decoded dict (host
    tools, checkmain): one lookup for the checker and the therapy shell."""
    if isinstance(lib, LibraryIndex):
        return lib.drug(name)
    for d in lib["drugs"]:
        if d["name"] == name:
            return d  # names are unique: the decoder refuses a second one
    return None


def first_drug(lib):
    if isinstance(lib, LibraryIndex):
        return lib.first_drug()
    return lib["drugs"][0] if lib["drugs"] else None
