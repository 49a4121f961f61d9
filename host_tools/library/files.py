"""Reading library files on the host, through the device's own decoder."""
import os

from firmware.errors import PumpError
from firmware.library import container
from firmware.library.body import decode
from host_tools.errors import LibraryError, UsageError

# The largest file format v1 allows: header, the largest body, a full signature block.
MAX_LIBRARY_BYTES = container.HEADER_LEN + container.MAX_BODY_LEN + 1 + container.MAX_SIGS * container.SIG_ENTRY_LEN


def read_bytes(path, what="file", max_bytes=None):
    """The whole file; with max_bytes, refuse (without reading it all) a larger one."""
    if path == "-":
        raise UsageError("a library must be a file, not standard input")
    try:
        with open(path, "rb") as fh:
            if max_bytes is None:
                return fh.read()
            data = fh.read(max_bytes + 1)
            if len(data) > max_bytes:
                raise UsageError("%s %s is larger than %d bytes: too large to be a %s" % (what, path, max_bytes, what))
            return data
    except FileNotFoundError:
        raise UsageError("%s %s does not exist" % (what, path)) from None
    except IsADirectoryError:
        raise UsageError("%s %s is a directory" % (what, path)) from None
    except OSError as e:
        raise UsageError("cannot read %s %s: %s" % (what, path, e.strerror or e)) from None


def load_library(path):
    """-> (bytes, container, library dict); device errors become LibraryError."""
    blob = read_bytes(path, "library", MAX_LIBRARY_BYTES)
    try:
        container, lib = decode(blob)
    except PumpError as e:
        raise LibraryError("%s is not a usable library: %s: %s" % (path, e.code, e.message)) from None
    return blob, container, lib


def write_atomic(path, data):
    """Write a file so that a crash leaves the old file or the new one, never half."""
    d = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(d):
        raise UsageError("folder %s does not exist" % d)
    tmp = os.path.join(d, ".%s.tmp-%d" % (os.path.basename(path), os.getpid()))
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as e:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise UsageError("cannot write %s: %s" % (path, e.strerror or e)) from None
