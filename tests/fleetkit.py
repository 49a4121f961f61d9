"""Shared arrangement of the fleet tests and bench/bench_fleet.py: a private
Mosquitto (host_tools/fleet/broker.py) with one user per role, and pumps in
process (firmware Pump + PumpServer) behind an in-memory link simulator
that paces bytes at a baud rate and can have its cable pulled."""
import os
import threading
import time

from firmware.pump import Pump
from firmware.link.server import PumpServer
from firmware.release import trust as fw_trust
from firmware.store.faultstorage import FaultStorage, Medium
from host_tools.fleet.broker import Broker, find_exe
from host_tools.fleet.mqtt import BrokerSpec

MOSQUITTO = find_exe("mosquitto") and find_exe("mosquitto_passwd")
SKIP_REASON = ("mosquitto is not installed (Debian package mosquitto; `make test` installs it as root): "
               "fleet tests skipped")

USERS = [("release-station", "release", None, "release-pw"),
         ("gateway-icu", "gateway", "icu", "icu-pw"),
         ("gateway-oncology", "gateway", "oncology", "onc-pw"),
         ("fleet-view", "viewer", None, "view-pw")]
PASSWORD = {u[0]: u[3] for u in USERS}


def need_mosquitto():
    if not MOSQUITTO:
        import pytest

        pytest.skip(SKIP_REASON, allow_module_level=True)


def start_broker(folder, users=USERS, tls=None):
    return Broker(str(folder), users, tls=tls).start()


def spec(broker, user, tls=False, cafile=None):
    return BrokerSpec("127.0.0.1", broker.port, tls, user, PASSWORD.get(user, ""), cafile=cafile)


def wait_for(cond, timeout, step=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = cond()
        if v:
            return v
        time.sleep(step)
    return cond()


class Cable:
    """pyserial-like port wired to a PumpServer in process. Bytes take 10 bit
    times each at `baud` (0: instant) in both directions; `pull()` unplugs it:
    reads and writes then fail as a vanished USB-serial adapter does."""

    def __init__(self, server, baud=115200, name="mem"):
        self.server = server
        self.byte_s = 10.0 / baud if baud else 0.0
        self.name = name
        self.inbox = bytearray()
        self.ready_at = 0.0
        self.pulled = False
        self.lock = threading.Lock()  # the server is one device: one host at a time
        self.sent = 0

    def _check(self):
        if self.pulled:
            raise OSError(5, "Input/output error (cable pulled)")

    def write(self, data):
        self._check()
        if self.byte_s:
            time.sleep(len(data) * self.byte_s)
        with self.lock:
            answer = self.server.feed(bytes(data))
        self.sent += len(data)
        if answer:
            self.inbox += answer
            self.ready_at = time.monotonic() + len(answer) * self.byte_s
        return len(data)

    @property
    def in_waiting(self):
        return len(self.inbox) if time.monotonic() >= self.ready_at else 0

    def read(self, n):
        self._check()
        if not self.inbox or time.monotonic() < self.ready_at:
            time.sleep(0.001)
            return b""
        out = bytes(self.inbox[:n])
        del self.inbox[:n]
        return out

    def reset_input_buffer(self):
        self.inbox.clear()

    def close(self):
        pass

    def pull(self):
        self.pulled = True
        self.inbox.clear()

    def plug(self):
        self.pulled = False


class MemPump:
    """A pump in process: its storage in memory, its firmware, its cable."""

    def __init__(self, trust_text, pump_id, baud=115200):
        self.trust = fw_trust.parse(trust_text)
        self.medium = Medium()
        self.pump_id = pump_id
        self.baud = baud
        self.boot()

    def boot(self):
        self.pump = Pump(FaultStorage(self.medium), self.trust)
        self.pump.boot()
        self.server = PumpServer(self.pump, self.pump_id)
        self.cable = Cable(self.server, self.baud, name="mem:%s" % self.pump_id)
        return self

    def version(self):
        return self.pump.store.version() if self.pump.lib is not None else 0

    def rejected(self):
        """(version, code) of every install-rejected record in the pump's own event log."""
        from firmware.store import logrec

        return [(f.get("version"), f.get("code")) for _seq, kind, f in logrec.decode_all(self.pump.log.read_all())
                if kind == "install-rejected"]


def status_msg(pump_id, version, sha=None, now=None, installed_at=None, last_result=None, online=True,
               ward="icu", gateway="gw1", last_error=None):
    """A pump status as a gateway publishes it (host_tools/fleet/workers.py)."""
    import json

    from host_tools.fleet.workers import iso

    now = time.time() if now is None else now
    return json.dumps({"schema": 1, "pump_id": pump_id, "ward": ward, "gateway": gateway, "port": "/dev/x",
                       "online": online, "state": "ok" if version else "no-library", "library": "blinatumomab-v1",
                       "version": version, "library_sha256": sha, "installed_at": iso(installed_at),
                       "last_seen": iso(now), "last_error": last_error, "last_result": last_result,
                       "updated": iso(now), "heartbeat_s": 30}).encode("utf-8")


def kits(tmp_path, versions):
    """Released libraries (Alice + Bob) of the given versions, with the trust store."""
    from conftest_signing import Kit

    out = {}
    for v in versions:
        d = os.path.join(str(tmp_path), "v%d" % v)
        os.makedirs(d, exist_ok=True)
        out[v] = Kit(d, version=v)
    return out
