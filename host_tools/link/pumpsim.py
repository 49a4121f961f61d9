"""A simulated pump on a pseudo-terminal (DESIGN.md, "Real components").

    pty slave (/dev/pts/N)  <- host tools open it with pyserial
    pty master  <->  link simulator (host_tools/link/cable.py: baud pacing on an
                     absolute schedule, latency per direction, dropped bytes, flipped bits)
                <->  pipes  <->  micropython -m firmware.pumpmain (the real firmware)

The slave stays open here too, so the master never sees a hang-up between two
host commands. Bytes the host does not read in time are lost, as on a real
line. `echo=True` puts a loopback plug where the firmware would be (raw link
throughput, bench/bench_push.py).
"""
import fcntl
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import tty

from host_tools.engines import FIRMWARE_ROOT, micropython_env, micropython_exe
from host_tools.errors import DruglibError, UsageError
from host_tools.link.cable import Direction, LineSim

READY_TIMEOUT_S = 60
STOP_TIMEOUT_S = 10


class PumpSim:
    def __init__(self, state, trust, baud=115200, drop=0.0, corrupt=0.0, seed=None, pump_id=None,
                 echo=False, log=None, latency_ms=0):
        self.state, self.trust = state, trust
        self.baud = baud
        self.seed = seed if seed is not None else random.randrange(1 << 32)
        self.latency_ms = latency_ms
        lat = latency_ms / 1000.0
        self.to_pump = LineSim(baud, drop, corrupt, random.Random("%d/to-pump" % self.seed), lat)
        self.to_host = LineSim(baud, drop, corrupt, random.Random("%d/to-host" % self.seed), lat)
        self.pump_id = pump_id
        self.echo = echo
        self.log = log or (lambda text: print("pumpsim: " + text, file=sys.stderr, flush=True))
        self.stop = threading.Event()
        self.ready = threading.Event()
        self.ready_info = {}
        self.fault = None
        self.proc = None
        self.aliases = []  # folder of short symlinks for long paths (firmware_command)
        self.threads = []
        self.dirs = []
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
        # host -> pump: not lossy (the firmware's input pipe holds 64 KiB: its
        # receive buffer, docs/protocol.md "Windowed DATA"); pump -> host:
        # lossy, bytes nobody reads are lost as on a real line
        self.dirs = [Direction(self.to_pump, self.master, self.pump_in, self.stop).start(),
                     Direction(self.to_host, self.pump_out, self.master, self.stop, lossy=True).start()]
        return self.describe()

    def _start_firmware(self):
        cmd = firmware_command(self.state, self.trust, self.pump_id, self.aliases)
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
                "latency_ms": self.latency_ms,
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
        for d in self.dirs:
            d.join(2)
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
        drop_aliases(self.aliases)
        return status


# The MicroPython unix port dies before any Python runs ("FATAL: uncaught
# NLR", exit 1) on a command-line argument of 256 bytes or more (measured on
# the pip wheel and on v1.28.0): a deep --state or --trust path is passed
# through a short symlink instead, and a pump id is at most PUMP_ID_MAX.
MPY_ARG_MAX = 255
PUMP_ID_MAX = 64  # what the pump stores and reads back (firmware/pumpmain.py, ID_FILE)


def check_pump_id(pump_id):
    """A given pump id: 1 to 64 bytes (what the pump stores; it is answered in
    every INFO and BEGIN). Any text otherwise: a hostile id is escaped
    wherever it is shown (host_tools/safetext.py; tests/test_safetext_e2e.py
    starts such a pump)."""
    if pump_id is None:
        return None
    if not pump_id or len(pump_id.encode("utf-8")) > PUMP_ID_MAX:
        raise UsageError("--id must be 1 to %d bytes of text, got %d" % (PUMP_ID_MAX, len(pump_id.encode("utf-8"))))
    return pump_id


def short_path(path, aliases):
    """`path` made absolute; if too long for the firmware's command line, a
    short symlink to it in a private temporary folder (added to `aliases`,
    which the caller removes when the firmware has ended)."""
    full = os.path.abspath(path)
    if len(full.encode("utf-8")) <= MPY_ARG_MAX:
        return full
    if not aliases:
        aliases.append(tempfile.mkdtemp(prefix="druglib-"))
    link = os.path.join(aliases[0], "p%d" % len(os.listdir(aliases[0])))
    os.symlink(full, link)
    return link


def firmware_command(state, trust, pump_id=None, aliases=None):
    """The pump firmware under the MicroPython unix port, on its stdin/stdout.
    `aliases` (a list) receives the folder of any short symlinks made for
    long paths; remove it with drop_aliases() when the firmware has ended."""
    aliases = [] if aliases is None else aliases
    if len(os.path.abspath(state).encode("utf-8")) > MPY_ARG_MAX:
        os.makedirs(state, exist_ok=True)  # the symlink must name a folder that exists
    cmd = [micropython_exe(), "-X", "heapsize=8M", "-m", "firmware.pumpmain",
           "--state", short_path(state, aliases), "--trust", short_path(trust, aliases)]
    if check_pump_id(pump_id):
        cmd += ["--id", pump_id]
    return cmd


def drop_aliases(aliases):
    for folder in aliases:
        shutil.rmtree(folder, ignore_errors=True)
    del aliases[:]


def run_stdio(state, trust, pump_id=None):
    """`druglib pumpsim --stdio` (issue 11 item 2): the firmware on THIS
    process's stdin and stdout, no pty, no line simulator, so an external
    cable simulator can sit in front. Status lines (READY ...) on stderr.
    -> the firmware's exit status (0 when its input ended)."""
    import signal

    aliases = []
    proc = subprocess.Popen(firmware_command(state, trust, pump_id, aliases), env=micropython_env(),
                            cwd=FIRMWARE_ROOT, start_new_session=True)
    # SIGTERM/SIGINT: close our side and let the firmware finish what it does
    old = {s: signal.signal(s, lambda *_: proc.terminate()) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        return proc.wait()
    finally:
        for s, h in old.items():
            signal.signal(s, h)
        drop_aliases(aliases)


def _close(fd):
    if fd is not None:
        try:
            os.close(fd)
        except OSError:
            pass
