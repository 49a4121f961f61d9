# The pump's serial shell under the MicroPython unix port (docs/protocol.md):
#
#   micropython -m firmware.pumpmain --state DIR --trust TRUST.json [--id PUMP_ID]
#
# Raw protocol bytes in on stdin, out on stdout (`druglib pumpsim` wires them
# to a pseudo-terminal); human-readable status on stderr, starting with one
# line "READY pump_id=... state=... version=..." once the pump has booted.
# Exits 0 at end of input; 3 if the trust store or storage cannot be used, or
# the heap cannot hold the booted pump (docs/board.md, "Out of memory").
import gc
import sys

import select

from firmware.release import trust
from firmware.errors import PumpError
from firmware.pump import Pump
from firmware.link import frames as link
from firmware.link.server import PumpServer
from firmware.store.storage import FileStorage

try:
    import os
except ImportError:  # pragma: no cover
    os = None

IDLE_MS = 1000  # an unfinished frame is dropped after this long without a byte
POLL_MS = 100
READ_MAX = 256  # bytes taken from the line per server step
ID_FILE = "pump.id"


def _ticks_ms():
    import time
    if hasattr(time, "ticks_ms"):
        return time.ticks_ms()
    return int(time.monotonic() * 1000)


def _elapsed(t0):
    import time
    if hasattr(time, "ticks_diff"):
        return time.ticks_diff(time.ticks_ms(), t0)
    return _ticks_ms() - t0


def _err(text):
    sys.stderr.write(text + "\n")


def _options(argv):
    opts = {}
    i = 1
    while i < len(argv):
        a = argv[i]
        if a in ("--state", "--trust", "--id") and i + 1 < len(argv):
            opts[a[2:]] = argv[i + 1]
            i += 2
        else:
            return None
    if "state" not in opts or "trust" not in opts:
        return None
    return opts


def _pump_id(st, given):
    """The pump's identity: given, or the one stored at first boot (random)."""
    if given:
        return given
    if st.exists(ID_FILE):
        stored = st.read(ID_FILE, 0, 64)
        try:
            text = stored.decode("utf-8").strip()
        except Exception:
            text = ""
        if text:
            return text
    raw = os.urandom(6) if os is not None and hasattr(os, "urandom") else bytes(6)
    text = "pump-" + "".join("%02x" % b for b in raw)
    st.write(ID_FILE, text.encode("utf-8"))
    st.sync()
    return text


class _Line:
    """stdin/stdout as a byte line: read whatever has arrived, write all."""

    def __init__(self):
        self.inp = sys.stdin.buffer if hasattr(sys.stdin, "buffer") else sys.stdin
        self.out = sys.stdout.buffer if hasattr(sys.stdout, "buffer") else sys.stdout
        self.poll = select.poll()
        self.poll.register(self.inp, select.POLLIN)
        # CPython: os.read on the descriptor (a buffered read(1) would hide
        # bytes from poll); MicroPython: read(1) while poll says more is there
        self.fd = self.inp.fileno() if os is not None and hasattr(os, "read") else None

    def wait(self, ms):
        return bool(self.poll.poll(ms))

    def read(self):
        """Bytes now available (b"" at end of input)."""
        if self.fd is not None:
            return os.read(self.fd, READ_MAX)
        buf = bytearray()
        while len(buf) < READ_MAX:
            c = self.inp.read(1)
            if not c:
                break
            buf += c
            if not self.poll.poll(0):
                break
        return bytes(buf)

    def write(self, data):
        self.out.write(data)
        if hasattr(self.out, "flush"):
            self.out.flush()


def serve(server, line):
    # Issue 11 item 5: the loop never ends on a MemoryError. A request that
    # ran out of heap inside the server is answered ERR there (PumpServer.feed);
    # one lost before it was even read (in the line or the frame decoder) is
    # answered with a NAK framed at start-up, so the host resends it.
    nak = link.encode(link.NAK, 0, b"memory")
    last = _ticks_ms()
    while True:
        if not line.wait(POLL_MS):
            if server.dec.pending() and _elapsed(last) > IDLE_MS:
                server.idle()
            continue
        try:
            data = line.read()
        except MemoryError:
            gc.collect()
            continue
        if not data:
            return 0
        last = _ticks_ms()
        try:
            out = server.feed(data)
        except MemoryError:
            data = out = None
            gc.collect()
            server.idle()  # the unfinished frame is gone with it
            out = nak
        if out:
            line.write(out)


def main(argv, line=None):
    """Boot the pump and serve the line until it ends. `line` (wait/read/write,
    as _Line) defaults to stdin/stdout; a board passes its UART (docs/board.md)."""
    opts = _options(argv)
    if opts is None:
        _err("usage: micropython -m firmware.pumpmain --state DIR --trust TRUST.json [--id PUMP_ID]")
        return 2
    try:
        ts = trust.load(opts["trust"])
        st = FileStorage(opts["state"])
        pump = Pump(st, ts)
        report = pump.boot()
        pump_id = _pump_id(st, opts.get("id"))
        server = PumpServer(pump, pump_id)
    except PumpError as e:
        _err("FAULT %s: %s" % (e.code, e.message))
        return 3
    except MemoryError:
        # Issue 11 item 5, the documented fail-safe state (docs/board.md,
        # "Out of memory"): no READY line, no answer on the line, nothing
        # installed or checked; storage is as after a power cut at that
        # point, which every write already survives (docs/storage.md).
        pump = server = None
        gc.collect()
        _err("FAULT %s: out of memory at boot; the pump does not serve and refuses every programming"
             % PumpError.code)
        return 3
    _err("READY pump_id=%s state=%s version=%d code=%s" % (pump_id, report["state"], report["version"],
                                                          report["code"] or "-"))
    return serve(server, line if line is not None else _Line())


if __name__ == "__main__":
    sys.exit(main(sys.argv))
