# Storage interface for the pump (issue 4, deliverable 1; docs/storage.md,
# "Storage interface").
#
# Everything the install, boot and event-log code does to persistent memory
# goes through these few calls, so a fault-injecting implementation
# (firmware/store/faultstorage.py) can cut power at each of them:
#
#   read(name, offset, n) -> bytes   at most n bytes (fewer at end of file)
#   size(name) -> int                raises StorageError if missing
#   exists(name) -> bool
#   write(name, data)                create or replace the file with data
#   append(name, data)               add data at the end (creates the file)
#   rename(src, dst)                 ATOMIC replace of dst by src
#   remove(name)                     no error if missing
#   sync()                           make everything written so far durable
#   listdir() -> list of names
#
# Power-safety contract the commit protocol relies on (docs/adr/0003):
#   1. rename(src, dst) is atomic: after a power cut dst holds either its old
#      content or the complete content of src, never a mix, never nothing.
#   2. Once write/append/rename/remove returned and sync() returned, the
#      change survives a power cut.
#   3. A write or append cut by power loss may leave any prefix of its data.
#
# FileStorage maps these onto files in one directory. It is power-safe on the
# MicroPython unix port (POSIX rename(2)) and on littlefs (VfsLfs2), whose
# rename is an atomic metadata commit and whose file data is committed when
# the file is closed. It is NOT power-safe on FAT (VfsFat): FAT's rename is a
# directory-entry rewrite plus FAT-table updates with no journal, so a cut can
# leave both names, neither, or a lost cluster chain. Never put the pump's
# storage directory on a FAT volume (docs/storage.md, "FAT warning").
import os

from firmware.errors import StorageError

CHUNK = 512  # bounded read/write unit used by install and self-test


class FileStorage:
    """The storage interface over files in directory `root`."""

    def __init__(self, root):
        self.root = root
        try:
            os.stat(root)
        except OSError:
            try:
                os.mkdir(root)
            except OSError as e:
                raise StorageError("cannot create storage directory %s: %s" % (root, e))

    def _path(self, name):
        if "/" in name or name in ("", ".", ".."):
            raise StorageError("bad storage name %r" % name)
        return self.root + "/" + name

    def exists(self, name):
        try:
            os.stat(self._path(name))
            return True
        except OSError:
            return False

    def size(self, name):
        try:
            return os.stat(self._path(name))[6]
        except OSError:
            raise StorageError("no such stored file: %s" % name)

    def read(self, name, offset, n):
        try:
            f = open(self._path(name), "rb")
        except OSError:
            raise StorageError("cannot open %s" % name)
        try:
            f.seek(offset)
            data = f.read(n)
        except OSError as e:
            raise StorageError("cannot read %s: %s" % (name, e))
        finally:
            f.close()
        return data if data else b""

    def _put(self, name, data, mode):
        try:
            f = open(self._path(name), mode)
        except OSError as e:
            raise StorageError("cannot open %s for writing: %s" % (name, e))
        try:
            n = f.write(data)
            if n is not None and n != len(data):
                raise StorageError("short write to %s" % name)
            f.flush()
            _fsync(f)
        except OSError as e:
            raise StorageError("cannot write %s: %s" % (name, e))
        finally:
            f.close()  # littlefs commits the file's data on close

    def write(self, name, data):
        self._put(name, data, "wb")

    def append(self, name, data):
        self._put(name, data, "ab")

    def rename(self, src, dst):
        try:
            os.rename(self._path(src), self._path(dst))
        except OSError as e:
            raise StorageError("cannot rename %s to %s: %s" % (src, dst, e))

    def remove(self, name):
        if self.exists(name):
            try:
                os.remove(self._path(name))
            except OSError as e:
                raise StorageError("cannot remove %s: %s" % (name, e))

    def sync(self):
        # CPython: fsync the directory so renames are durable. MicroPython has
        # no fsync; littlefs makes rename and close durable by themselves.
        if hasattr(os, "fsync") and hasattr(os, "O_RDONLY"):
            try:
                fd = os.open(self.root, os.O_RDONLY)
                try:
                    os.fsync(fd)
                finally:
                    os.close(fd)
            except OSError:
                pass

    def listdir(self):
        try:
            return sorted(os.listdir(self.root))
        except OSError as e:
            raise StorageError("cannot list %s: %s" % (self.root, e))


def _fsync(f):
    if hasattr(os, "fsync") and hasattr(f, "fileno"):
        try:
            os.fsync(f.fileno())
        except OSError:
            pass


def reader(storage, name, chunk=CHUNK):
    """A `read(n) -> bytes` over a stored file that never reads more than `chunk`
    bytes per storage call (container.scan feeds on it during verification)."""
    pos = [0]

    def read(n):
        out = b""
        while n > 0:
            part = storage.read(name, pos[0], min(n, chunk))
            if not part:
                break
            pos[0] += len(part)
            n -= len(part)
            out = part if not out else out + part
        return out

    return read


def bytes_reader(blob):
    """A `read(n) -> bytes` over an in-memory library (tests, host tools)."""
    pos = [0]

    def read(n):
        start = pos[0]
        pos[0] = min(len(blob), start + n)
        return bytes(blob[start:pos[0]])

    return read
