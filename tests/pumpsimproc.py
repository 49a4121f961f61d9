"""Run `druglib pumpsim` and the host commands as real subprocesses, with
every wait bounded and every process cleaned up (tests/test_pumpsim_*.py)."""
import json
import os
import select
import signal
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DRUGLIB = [sys.executable, "-m", "host_tools.cli.main"]


def druglib(*args, timeout=120):
    return subprocess.run(DRUGLIB + [str(a) for a in args], capture_output=True, text=True, timeout=timeout,
                          cwd=ROOT)


def wait_for(cond, timeout, step=0.02):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(step)
    return False


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


class Sim:
    """A `druglib pumpsim --json` subprocess; .info is its JSON line."""

    def __init__(self, state, trust, *extra, timeout=60, as_json=True):
        self.proc = subprocess.Popen(DRUGLIB + ["pumpsim", "--state", str(state), "--trust", str(trust)]
                                     + (["--json"] if as_json else []) + [str(e) for e in extra], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     cwd=ROOT, start_new_session=True)
        line = b""
        deadline = time.monotonic() + timeout
        while not line.endswith(b"\n") and time.monotonic() < deadline:
            r, _, _ = select.select([self.proc.stdout], [], [], 0.2)
            if r:
                chunk = os.read(self.proc.stdout.fileno(), 4096)
                if not chunk:
                    break
                line += chunk
        if not line.endswith(b"\n"):
            self.kill()
            raise AssertionError("pumpsim did not start: %r %r" % (line, self.proc.stderr.read()))
        self.proc_stderr = ""
        self.info = json.loads(line) if as_json else {"port": line.decode().strip()}
        self.port = self.info["port"]

    def stop(self, timeout=20, sig=signal.SIGTERM):
        """SIGTERM (or `sig`); -> exit status. The firmware must be gone too."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            status = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError("pumpsim did not stop on SIGTERM")
        fw = self.info.get("firmware_pid")
        assert fw is None or wait_for(lambda: not alive(fw), 10), "firmware still running"
        self._close()
        return status

    def power_cut(self):
        """SIGKILL the firmware (a power cut), then the simulator."""
        fw = self.info.get("firmware_pid")
        if fw and alive(fw):
            os.kill(fw, signal.SIGKILL)
        self.kill()

    def kill(self):
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait(10)
        fw = getattr(self, "info", {}).get("firmware_pid")
        if fw and alive(fw):
            try:
                os.kill(fw, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self._close()

    def _close(self):
        if self.proc.stderr is not None and not self.proc.stderr.closed and self.proc.poll() is not None:
            self.proc_stderr = self.proc.stderr.read().decode("utf-8", "replace")
        for f in (self.proc.stdout, self.proc.stderr):
            if f is not None:
                f.close()
