# Fault-injecting in-memory storage (issue 4, deliverable 1; DESIGN.md
# principle 2: "fault-injecting implementations for tests").
#
# Lives in firmware/ (not tests/) because the power-cut enumeration runs under
# the MicroPython unix port too; it is never wired into the device shell.
#
# Model: a Medium is the persistent memory, a dict name -> bytearray. It is
# write-through: each completed write/append/rename/remove is durable at once,
# rename is atomic, exactly the contract of firmware/store/storage.py. (That is also
# what FileStorage gets from littlefs, which commits a file's data when it is
# closed, and FileStorage closes after every write; a write-back cache that
# loses unsynced data is therefore not modelled.) FaultStorage
# is one power-on session over a Medium. It numbers every mutating operation
# (write, append, rename, remove, sync: reads change nothing and are not cut
# points) and can cut power at operation k:
#
#   BEFORE  operation k never happens
#   TORN    write/append k leaves only data[:keep] (+ optional junk bytes,
#           modelling a half-programmed flash page)
#   AFTER   operation k completes, then power is lost
#
# After the cut every call raises PowerCut; "reboot" by making a new
# FaultStorage over the same Medium. PowerCut derives from BaseException so
# the firmware's `except Exception` / `except PumpError` never swallows it.
from firmware.errors import StorageError

BEFORE = "before"
TORN = "torn"
AFTER = "after"
MUTATING = ("write", "append", "rename", "remove", "sync")


class PowerCut(BaseException):
    pass


class Medium:
    """Persistent memory: survives power cuts; copy() snapshots it."""

    def __init__(self, files=None):
        self.files = files if files is not None else {}

    def copy(self):
        out = {}
        for k in self.files:
            out[k] = bytearray(self.files[k])
        return Medium(out)

    def get(self, name):
        f = self.files.get(name)
        return bytes(f) if f is not None else None


class Cut:
    """Where to cut power: operation index (0-based), mode, and for TORN the
    number of bytes kept and junk appended after them."""

    def __init__(self, index, mode=BEFORE, keep=0, junk=b""):
        self.index = index
        self.mode = mode
        self.keep = keep
        self.junk = junk

    def __repr__(self):
        if self.mode == TORN:
            return "Cut(%d, torn keep=%d junk=%d)" % (self.index, self.keep, len(self.junk))
        return "Cut(%d, %s)" % (self.index, self.mode)


class FaultStorage:
    """The storage interface over a Medium, with an optional power cut.

    `trace` records every mutating operation as (kind, name, nbytes) so a test
    can enumerate cut points from a dry run; `hook(kind)` (optional) is called
    on every operation (the memory benchmark samples the heap there)."""

    def __init__(self, medium=None, cut=None, hook=None):
        self.medium = medium if medium is not None else Medium()
        self.cut = cut
        self.ops = 0
        self.dead = False
        self.trace = []
        self.hook = hook

    def arm(self, cut):
        """Cut power at the `cut.index`-th mutating operation from now."""
        self.cut = Cut(self.ops + cut.index, cut.mode, cut.keep, cut.junk) if cut is not None else None

    # --- reads (not cut points) ---
    def _alive(self):
        if self.dead:
            raise PowerCut("storage used after power cut")

    def exists(self, name):
        self._alive()
        return name in self.medium.files

    def size(self, name):
        self._alive()
        f = self.medium.files.get(name)
        if f is None:
            raise StorageError("no such stored file: %s" % name)
        return len(f)

    def read(self, name, offset, n):
        self._alive()
        if self.hook:
            self.hook("read")
        f = self.medium.files.get(name)
        if f is None:
            raise StorageError("cannot open %s" % name)
        return bytes(f[offset:offset + n])

    def listdir(self):
        self._alive()
        return sorted(self.medium.files)

    # --- mutating operations (cut points) ---
    def _begin(self, kind, name, nbytes):
        """Count the operation; return the Cut that applies to it, if any."""
        self._alive()
        if self.hook:
            self.hook(kind)
        k = self.ops
        self.ops += 1
        self.trace.append((kind, name, nbytes))
        c = self.cut
        if c is not None and c.index == k:
            if c.mode == BEFORE:
                self._die()
            return c
        return None

    def _die(self):
        self.dead = True
        raise PowerCut("power cut")

    def _end(self, c):
        if c is not None:  # AFTER, or TORN on an operation that is not a write
            self._die()

    def _store(self, kind, name, data, base):
        c = self._begin(kind, name, len(data))
        if c is not None and c.mode == TORN:
            part = bytes(data[:c.keep]) + c.junk
            self.medium.files[name] = bytearray(base or b"") + part
            self._die()
        self.medium.files[name] = bytearray(base or b"") + bytes(data)
        self._end(c)

    def write(self, name, data):
        self._alive()
        self._store("write", name, data, b"")

    def append(self, name, data):
        self._alive()
        self._store("append", name, data, self.medium.files.get(name, b""))

    def rename(self, src, dst):
        c = self._begin("rename", src, 0)
        f = self.medium.files.get(src)
        if f is None:
            self._end(c)
            raise StorageError("cannot rename %s: no such file" % src)
        self.medium.files[dst] = f  # atomic: one dict update
        del self.medium.files[src]
        self._end(c)

    def remove(self, name):
        c = self._begin("remove", name, 0)
        if name in self.medium.files:
            del self.medium.files[name]
        self._end(c)

    def sync(self):
        c = self._begin("sync", "", 0)
        self._end(c)


def cut_points(trace, torn=True):
    """Every distinct cut for a dry-run `trace` (issue 4: "at every write
    boundary and at a torn point inside every write"): BEFORE each operation
    (which is also AFTER the one before it), AFTER the last one, and for each
    write/append of n >= 2 bytes three torn variants: 1 byte kept, half kept,
    and n-1 bytes kept plus one junk byte (a full-length but damaged write)."""
    out = []
    for i in range(len(trace)):
        kind, _name, n = trace[i]
        out.append(Cut(i, BEFORE))
        if torn and kind in ("write", "append") and n >= 2:
            out.append(Cut(i, TORN, 1))
            if n >= 4:
                out.append(Cut(i, TORN, n // 2))
            out.append(Cut(i, TORN, n - 1, b"\x5a"))
    if trace:
        out.append(Cut(len(trace) - 1, AFTER))
    return out
