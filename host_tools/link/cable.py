"""A simulated serial cable, one direction at a time (issue 11 item 2).

Each direction carries bytes from a source descriptor to a sink descriptor:

- **baud pacing on an absolute schedule**: byte k of a burst leaves the line
  at t0 + 10 k / baud (8N1: 10 bit times per byte). The schedule is computed
  when the bytes are read, never from the time a sleep happened to end, so
  sleep overshoot does not accumulate (before: every overshoot added up and
  the line ran 6 % slow). The line restarts its schedule only when it was
  idle (nothing to send).
- **latency**: every byte is delivered `latency_s` after it left the line,
  as a USB-serial bridge holds received bytes up to its latency timer
  (16 ms by default on common bridges). A request/answer round trip thus
  costs two latencies: one at each change of direction.
- **faults**: each byte dropped with probability `drop`, else one bit
  flipped with probability `corrupt` (seeded).

A reader thread reads and schedules, a delivery thread sleeps until each
piece is due and writes it, so reading never waits for the line and the
sender sees a line that takes bytes as fast as it can (like a driver's
buffer). `lossy` sinks (the host's pty) lose bytes nobody reads within
HOLD_S (a driver's buffering, far more than the pty's 4 KiB), as
a real line does.
"""
import collections
import errno
import os
import random
import select
import threading
import time

PIECE = 16          # bytes per scheduled piece (0.14 ms at 115200 baud)
READ_MAX = 4096
HOLD_S = 2.0        # how long a full sink is waited for before its bytes are lost


class LineSim:
    """The timing and faults of one direction (no I/O): schedule(n) -> when
    the n bytes just read arrive at the far end; apply(data) -> the faulted bytes."""

    def __init__(self, baud, drop=0.0, corrupt=0.0, rng=None, latency_s=0.0):
        self.byte_s = 10.0 / baud if baud else 0.0
        self.latency_s = latency_s
        self.drop, self.corrupt = drop, corrupt
        self.rng = rng or random.Random()
        self.t = 0.0  # when the line is free again (absolute, time.monotonic)
        self.bytes = self.dropped = self.flipped = 0

    def schedule(self, n, now=None):
        now = time.monotonic() if now is None else now
        if self.t < now:
            self.t = now  # the line was idle: the burst starts now
        self.t += n * self.byte_s
        return self.t + self.latency_s

    def apply(self, data):
        self.bytes += len(data)
        if not self.drop and not self.corrupt:
            return data
        out = bytearray()
        rng = self.rng
        for b in data:
            if self.drop and rng.random() < self.drop:
                self.dropped += 1
                continue
            if self.corrupt and rng.random() < self.corrupt:
                b ^= 1 << rng.randrange(8)
                self.flipped += 1
            out.append(b)
        return bytes(out)


class Direction:
    """Bytes from `src` (fd) to `dst` (fd) through `sim`; stop (Event) is set
    when either end is gone."""

    def __init__(self, sim, src, dst, stop, lossy=False):
        self.sim, self.src, self.dst, self.stop, self.lossy = sim, src, dst, stop, lossy
        self.queue = collections.deque()
        self.cv = threading.Condition()
        self.threads = [threading.Thread(target=self._reader, daemon=True),
                        threading.Thread(target=self._deliver, daemon=True)]

    def start(self):
        for t in self.threads:
            t.start()
        return self

    def join(self, timeout):
        with self.cv:
            self.cv.notify_all()
        for t in self.threads:
            t.join(timeout)

    def _reader(self):
        while not self.stop.is_set():
            data = read_some(self.src)
            if data is None:
                continue
            if not data:  # end of file: the sender stopped
                self.stop.set()
                break
            now = time.monotonic()
            with self.cv:
                for i in range(0, len(data), PIECE):
                    piece = data[i:i + PIECE]
                    self.queue.append((self.sim.schedule(len(piece), now), piece))
                self.cv.notify()
        with self.cv:
            self.cv.notify_all()

    def _deliver(self):
        while True:
            with self.cv:
                while not self.queue and not self.stop.is_set():
                    self.cv.wait(0.1)
                if not self.queue:
                    return
                due, piece = self.queue.popleft()
            wait = due - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            out = self.sim.apply(piece)
            if out and not self._write(out):
                self.stop.set()
                return

    def _write(self, out):
        """Write all of `out`. A full sink is waited for up to HOLD_S (the
        buffering of a real serial driver, far more than a pty's 4 KiB: a host
        that was not scheduled for a moment under load lost answers before,
        and a partial write dropped the tail of a piece unseen); after that
        a lossy sink loses the rest, as a line nobody reads does."""
        view = memoryview(out)
        deadline = None
        while view:
            try:
                n = os.write(self.dst, view)
                view = view[n:]
                continue
            except BlockingIOError:
                pass
            except OSError:
                return False
            now = time.monotonic()
            if deadline is None:
                deadline = now + HOLD_S
            if now >= deadline or self.stop.is_set():
                return self.lossy  # nobody reads: lost, as on a real line (or the pump is stuck: stop)
            try:
                select.select([], [self.dst], [], min(0.05, deadline - now))
            except (OSError, ValueError):
                return False
        return True


def read_some(fd):
    """Bytes from fd, b"" at end of file, None if nothing within 0.1 s."""
    try:
        r, _, _ = select.select([fd], [], [], 0.1)
    except (OSError, ValueError):
        return b""
    if not r:
        return None
    try:
        return os.read(fd, READ_MAX)
    except BlockingIOError:
        return None
    except OSError as e:
        return None if e.errno == errno.EIO else b""
