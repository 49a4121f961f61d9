# The ONE place that produces libraries for the storage tests (issue 4).
# Today: container.assemble over a deterministic pseudo-random body of a
# realistic size. When the real blinatumomab library is buildable, change
# make_library() to return it re-versioned; every storage test follows.
# Runs under CPython and MicroPython (tests/mpy is on MICROPYPATH).
import hashlib

from firmware.bigendian import pack_u16, pack_u32
from firmware.library import container

DEFAULT_BODY_LEN = 6 * 1024  # about the size of a compiled single-drug library


def body_bytes(version, body_len):
    out = bytearray()
    block = hashlib.sha256(b"blinatumomab-sample-%d" % version).digest()
    while len(out) < body_len:
        out += block
        block = hashlib.sha256(block).digest()
    return bytes(out[:body_len])


def real_body():
    """The compiled blinatumomab library body, when the test session built it.

    tests/conftest.py builds the real library from druglib/*.toml once per
    session and names the file in DRUGLIB_REAL_LIBRARY (inherited by the
    MicroPython subprocesses), so the power-cut enumeration installs the very
    library the pumps get.
    """
    import os
    path = os.getenv("DRUGLIB_REAL_LIBRARY")
    if not path:
        return None
    with open(path, "rb") as fh:
        return container.parse(fh.read()).body


def make_library(version, body_len=None, sigs=()):
    """Library bytes (format v1) of `version`: the real blinatumomab body by
    default, or a pseudo-random body of `body_len` bytes (size experiments)."""
    if body_len is None:
        body = real_body()
        if body is not None:
            return container.assemble(version, body, sigs)
        body_len = DEFAULT_BODY_LEN
    return container.assemble(version, body_bytes(version, body_len), sigs)


def stream_library(version, body_len, chunk=512):
    """A `read(n)` producing make_library(version, body_len) without ever
    holding it: the body is generated twice (once to hash it for the header).
    Used by the memory benchmark for 256 KiB libraries."""
    def blocks():
        block = hashlib.sha256(b"blinatumomab-sample-%d" % version).digest()
        left = body_len
        while left:
            b = block[:left] if left < 32 else block
            yield b
            left -= len(b)
            block = hashlib.sha256(block).digest()

    h = hashlib.sha256()
    for b in blocks():
        h.update(b)
    head = (container.MAGIC + bytes((container.FORMAT_VERSION, container.HEADER_LEN)) + pack_u16(0)
            + pack_u32(version) + pack_u32(body_len) + h.digest())
    gen = blocks()
    state = {"pending": head, "phase": 0}

    def read(n):
        out = b""
        while len(out) < n:
            if not state["pending"]:
                if state["phase"] == 0:
                    try:
                        state["pending"] = next(gen)
                    except StopIteration:
                        state["phase"] = 1
                        state["pending"] = b"\x00"  # empty signature block
                        continue
                else:
                    break
            take = n - len(out)
            out += state["pending"][:take]
            state["pending"] = state["pending"][take:]
        return out

    return read
