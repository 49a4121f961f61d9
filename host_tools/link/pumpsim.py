"""A simulated pump on a pseudo-terminal (DESIGN.md, "Real components").

    pty slave (/dev/pts/N)  <- host tools open it with pyserial
    pty master  <->  link simulator (baud pacing, dropped bytes, flipped bits)
                <->  pipes  <->  micropython -m firmware.pumpmain (the real firmware)

The slave stays open here too, so the master never sees a hang-up between two
host commands. Bytes the host does not read in time are lost, as on a real
line. `echo=True` puts a loopback plug where the firmware would be (raw link
throughput, bench/bench_push.py).
"""
import errno
import fcntl
import os
import random
import select
import subprocess
import sys
import threading
import time
import tty

from host_tools.engines import FIRMWARE_ROOT, micropython_env, micropython_exe
from host_tools.errors import DruglibError

READY_TIMEOUT_S = 60
STOP_TIMEOUT_S = 10
PIECE = 16  # bytes moved per pacing step


class LineSim:
    """One direction of the cable: 10 bit times per byte at `baud`; each byte
    dropped with probability `drop`, else one bit flipped with `corrupt`."""

    def __init__(self, baud, drop=0.0, corrupt=0.0, rng=None):
        self.byte_s = 10.0 / baud if baud else 0.0
        self.drop, self.corrupt = drop, corrupt
        self.rng = rng or random.Random()
        self.t = 0.0
        self.bytes = self.dropped = self.flipped = 0

    def pace(self, n):
        now = time.monotonic()
        self.t = max(self.t, now) + n * self.byte_s
        if self.t > now:
            time.sleep(self.t - now)

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


class PumpSim:
    def __init__(self, state, trust, baud=115200, drop=0.0, corrupt=0.0, seed=None, pump_id=None,
                 echo=False, log=None):
        self.state, self.trust = state, trust
        self.baud = baud
        self.seed = seed if seed is not None else random.randrange(1 << 32)
        self.to_pump = LineSim(baud, drop, corrupt, random.Random("%d/to-pump" % self.seed))
        self.to_host = LineSim(baud, drop, corrupt, random.Random("%d/to-host" % self.seed))
        self.pump_id = pump_id
        self.echo = echo
        self.log = log or (lambda text: print("pumpsim: " + text, file=sys.stderr, flush=True))
        self.stop = threading.Event()
        self.ready = threading.Event()
        self.ready_info = {}
        self.fault = None
        self.proc = None
        self.threads = []
        self.master = self.slave = None
        self.port = None

    # --- start ---
    def start(self):
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)
        tty.setraw(self.master)
        fl = fcntl.fcntl(self.master, fcntl.F_GETFL)
        fcntl.fcntl(self.master, fcntl.F_SETFL, fl | os.O_NONBLOCK)
        self.port = os.ttyname(self.slave)
        if self.echo:
            r, w = os.pipe()
            self.pump_in, self.pump_out = w, r
            self.ready_info = {"pump_id": "echo", "state": "echo", "version": "0", "code": "-"}
            self.ready.set()
        else:
            self._start_firmware()
        self._thread(self._host_to_pump)
        self._thread(self._pump_to_host)
        return self.describe()

    def _start_firmware(self):
        cmd = [micropython_exe(), "-X", "heapsize=8M", "-m", "firmware.pumpmain",
               "--state", os.path.abspath(self.state), "--trust", os.path.abspath(self.trust)]
        if self.pump_id:
            cmd += ["--id", self.pump_id]
        # its own session: a Ctrl-C meant for pumpsim must not interrupt the
        # firmware mid-install; pumpsim stops it by closing its input
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     env=micropython_env(), cwd=FIRMWARE_ROOT, start_new_session=True, bufsize=0)
        self.pump_in, self.pump_out = self.proc.stdin.fileno(), self.proc.stdout.fileno()
        self._thread(self._firmware_stderr)
        deadline = time.monotonic() + READY_TIMEOUT_S
        while not self.ready.wait(0.05):
            if self.proc.poll() is not None or self.fault or time.monotonic() > deadline:
                time.sleep(0.1)
                why = self.fault or ("exit status %s" % self.proc.poll() if self.proc.poll() is not None
                                     else "no READY within %d s" % READY_TIMEOUT_S)
                self.close()
                raise DruglibError("the simulated pump did not start: %s" % why)

    def describe(self):
        info = dict(self.ready_info)
        return {"port": self.port, "pid": os.getpid(), "firmware_pid": self.proc.pid if self.proc else None,
                "pump_id": info.get("pump_id", ""), "state": info.get("state", ""),
                "version": int(info.get("version", "0") or 0), "baud": self.baud,
                "drop": self.to_pump.drop, "corrupt": self.to_pump.corrupt, "seed": self.seed,
                "echo": self.echo}

    def _thread(self, fn):
        t = threading.Thread(target=fn, daemon=True)
        t.start()
        self.threads.append(t)

    def _firmware_stderr(self):
        for raw in iter(self.proc.stderr.readline, b""):
            line = raw.decode("utf-8", "replace").rstrip()
            if line.startswith("READY ") and not self.ready.is_set():
                self.ready_info = dict(kv.split("=", 1) for kv in line[6:].split() if "=" in kv)
                self.ready.set()
            elif line.startswith("FAULT "):
                self.fault = line[6:]
            elif line:
                self.log("firmware: " + line)

    # --- the two directions of the cable ---
    def _host_to_pump(self):
        while not self.stop.is_set():
            data = self._read(self.master)
            if data is None:
                continue
            if not self._forward(self.to_pump, data, self.pump_in, lossy=False):
                return  # the firmware is gone

    def _pump_to_host(self):
        while not self.stop.is_set():
            data = self._read(self.pump_out)
            if data is None:
                continue
            if not data:  # end of the firmware's output: it stopped
                self.stop.set()
                return
            # lossy: if nobody reads the port, the bytes are lost, as on a real line
            if not self._forward(self.to_host, data, self.master, lossy=True):
                return

    def _forward(self, sim, data, fd, lossy):
        """Send `data` through the line simulator `sim` to `fd`, paced piece by
        piece. False (and stop) when the other end is gone."""
        for i in range(0, len(data), PIECE):
            piece = data[i:i + PIECE]
            sim.pace(len(piece))
            out = sim.apply(piece)
            if not out:
                continue
            try:
                os.write(fd, out)
            except BlockingIOError:
                if not lossy:
                    self.stop.set()
                    return False
            except OSError:
                self.stop.set()
                return False
        return True

    def _read(self, fd):
        """Bytes from fd, b"" at end of file, None if nothing within 0.1 s."""
        try:
            r, _, _ = select.select([fd], [], [], 0.1)
        except (OSError, ValueError):
            return b""
        if not r:
            return None
        try:
            return os.read(fd, 256)
        except BlockingIOError:
            return None
        except OSError as e:
            return None if e.errno == errno.EIO else b""

    # --- stop ---
    def firmware_exit(self):
        return self.proc.poll() if self.proc is not None else None

    def wait(self, poll_s=0.2):
        """Until stop is set (signal) or the firmware's output ended."""
        while not self.stop.wait(poll_s):
            pass

    def close(self):
        self.stop.set()
        status = None
        if self.proc is not None:
            try:
                self.proc.stdin.close()  # end of input: pumpmain finishes what it does and exits 0
            except OSError:
                pass
            try:
                status = self.proc.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                status = self.proc.wait(5)
        for t in self.threads:
            t.join(2)
        if self.proc is not None:
            for f in (self.proc.stdout, self.proc.stderr):
                try:
                    f.close()
                except OSError:
                    pass
        elif self.echo:
            for fd in (self.pump_in, self.pump_out):
                _close(fd)
        for fd in (self.master, self.slave):
            _close(fd)
        self.master = self.slave = None
        return status


def _close(fd):
    if fd is not None:
        try:
            os.close(fd)
        except OSError:
            pass
