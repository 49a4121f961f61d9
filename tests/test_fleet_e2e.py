"""End to end, every part real: a Mosquitto broker (own config, password
file, ACL) on 127.0.0.1, two `druglib gateway` processes with two simulated
pumps each (the firmware under MicroPython on ptys, `druglib pumpsim`),
`druglib publish` and `druglib fleet` as subprocesses.

One story, in order: v2 reaches every pump; `publish` of v1 is refused; v1
put on the library topic directly with the release station's own
credentials is refused by every pump, which stays on v2; so is a tampered
v3; then the real v3 is published, the broker is restarted and a cable is
pulled in the middle of a push: everything converges on v3, and each pump's
own event log shows each bad library refused exactly once."""
import hashlib
import json
import os
import signal
import socket
import subprocess
import threading
import time

import pytest

from fleetkit import PASSWORD, kits, need_mosquitto, spec, start_broker, wait_for
from host_tools.fleet import topics, view
from host_tools.fleet.mqtt import Session
from pumpsimproc import DRUGLIB, ROOT, Sim, druglib

need_mosquitto()

SLOW_BAUD = 4800  # the pump whose cable is pulled: slow enough to catch it mid-push


class Relay:
    """A cable we can pull: the gateway opens socket://127.0.0.1:P (pyserial),
    the relay moves the bytes to and from the pumpsim pty. pull() drops the
    connection and refuses new ones (the gateway's reads fail, as with a
    USB-serial adapter unplugged) and loses the bytes still in the cable
    (host -> pump is delivered at SLOW_BAUD from the relay's own queue, as
    an adapter's FIFO drains: the host may have written a whole small push,
    END included, before the pump has read its first frame); plug() lets it
    reconnect."""

    def __init__(self, pty):
        import serial

        self.ser = serial.serial_for_url(pty, baudrate=SLOW_BAUD, timeout=0.02)
        self.srv = socket.socket()
        self.srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.srv.bind(("127.0.0.1", 0))
        self.srv.listen(4)
        self.srv.settimeout(0.1)
        self.url = "socket://127.0.0.1:%d" % self.srv.getsockname()[1]
        self.conn = None
        self.cut = False
        self.running = True
        self.lock = threading.Lock()
        self.queue = bytearray()  # host -> pump bytes not yet through the cable
        self.threads = [threading.Thread(target=f, daemon=True) for f in (self._accept, self._to_host, self._drain)]
        for t in self.threads:
            t.start()

    def _accept(self):
        while self.running:
            try:
                c, _ = self.srv.accept()
            except OSError:
                continue
            if self.cut:
                c.close()
                continue
            with self.lock:
                if self.conn is not None:
                    self.conn.close()
                self.conn = c
            threading.Thread(target=self._to_pump, args=(c,), daemon=True).start()

    def _to_pump(self, c):
        while self.running:
            try:
                data = c.recv(4096)
            except OSError:
                return
            if not data:
                return
            with self.lock:
                if not self.cut:
                    self.queue += data

    def _drain(self):
        step = 16  # bytes per tick, at SLOW_BAUD (10 bits per byte)
        while self.running:
            with self.lock:
                data = bytes(self.queue[:step])
                del self.queue[:step]
            if data:
                self.ser.write(data)
            time.sleep(step * 10.0 / SLOW_BAUD)

    def _to_host(self):
        while self.running:
            data = self.ser.read(4096)
            with self.lock:
                c = self.conn
            if data and c is not None and not self.cut:
                try:
                    c.sendall(data)
                except OSError:
                    pass

    def pull(self):
        self.cut = True
        with self.lock:
            self.queue.clear()  # what was still in the cable is lost
            if self.conn is not None:
                try:
                    self.conn.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                self.conn.close()
                self.conn = None

    def plug(self):
        self.cut = False

    def close(self):
        self.running = False
        self.pull()
        for t in self.threads:
            t.join(2)
        self.srv.close()
        self.ser.close()


class GatewayProc:
    def __init__(self, broker, ward, ports, tmp, *extra):
        pw = tmp / ("pw-" + ward)
        pw.write_text(PASSWORD["gateway-" + ward] + "\n")
        cmd = DRUGLIB + ["gateway", "--broker", broker.url("gateway-" + ward), "--password-file", str(pw),
                         "--ward", ward, "--id", "gw-" + ward, "--poll", "0.3", "--heartbeat", "2", "--json"] + list(extra)
        for p in ports:
            cmd += ["--port", p]
        self.proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                     start_new_session=True)
        self.events = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.proc.stdout:
            try:
                self.events.append(json.loads(line))
            except ValueError:
                self.events.append({"event": "garbage", "line": line})

    def of(self, kind, **match):
        return [e for e in self.events if e["event"] == kind and all(e.get(k) == v for k, v in match.items())]

    def stop(self, sig=signal.SIGTERM):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            status = self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            status = self.proc.wait(10)
        self.reader.join(5)
        self.stderr = self.proc.stderr.read()
        self.proc.stderr.close()
        return status


def fleet_now(broker):
    s = Session(spec(broker, "fleet-view"), "test-view-%d" % os.getpid())
    try:
        return view.build(s.retained([topics.ALL], quiet=0.3))
    finally:
        s.close()


def fleet_cli(broker, tmp, *extra):
    pw = tmp / "pw-view"
    pw.write_text(PASSWORD["fleet-view"] + "\n")
    p = druglib("fleet", "--broker", broker.url("fleet-view"), "--password-file", pw, *extra)
    assert p.returncode == 0, p.stderr
    return p.stdout


def publish_cli(broker, tmp, lib, trust):
    pw = tmp / "pw-release"
    pw.write_text(PASSWORD["release-station"] + "\n")
    return druglib("publish", "--broker", broker.url("release-station"), "--password-file", pw,
                   "--trust", trust, lib)


def bypass(broker, blob):
    """Straight onto the library topic with the release station's valid credentials."""
    s = Session(spec(broker, "release-station"), "bypass-%d" % os.getpid())
    try:
        s.publish(topics.RELEASE_LIBRARY, blob)
    finally:
        s.close()


def versions(report):
    return sorted((p["pump_id"], p["version"]) for p in report["pumps"])


def test_a_fleet_converges_and_refuses_what_its_pumps_refuse(tmp_path):
    k = kits(tmp_path, [1, 2, 3])
    trust = k[2].trust_path
    tampered = bytearray(k[3].blob)
    tampered[200] ^= 0x01  # one bit of the body, after signing
    broker = start_broker(tmp_path / "broker")
    sims, gws, relay = [], [], None
    try:
        for i, name in enumerate(("icu-a", "icu-b", "onc-a", "onc-b")):
            extra = ["--id", name] + (["--baud", str(SLOW_BAUD)] if name == "icu-b" else [])
            sims.append(Sim(tmp_path / name, trust, *extra))
        relay = Relay(sims[1].port)
        # the icu gateway's timeouts follow its slowest line
        gws = [GatewayProc(broker, "icu", [sims[0].port, relay.url], tmp_path, "--baud", str(SLOW_BAUD),
                           "--state", str(tmp_path / "gw-icu.json")),
               GatewayProc(broker, "oncology", [sims[2].port, sims[3].port], tmp_path)]
        assert wait_for(lambda: len(fleet_now(broker)["pumps"]) == 4, 60)

        # 1. publish v2: every pump runs v2, and `fleet` says so
        p = publish_cli(broker, tmp_path, k[2].lib_path, trust)
        assert p.returncode == 0, p.stderr
        assert "published blinatumomab-v2 version 2" in p.stdout  # named after its version (issue 7)
        r = wait_for(lambda: (lambda r: r if r["summary"]["on_newest"] == 4 else None)(fleet_now(broker)), 60)
        assert r, fleet_now(broker)
        out = json.loads(fleet_cli(broker, tmp_path, "--json"))
        assert versions(out) == [("icu-a", 2), ("icu-b", 2), ("onc-a", 2), ("onc-b", 2)]
        assert out["summary"]["share_on_newest"] == 1.0 and out["summary"]["current"] == 4
        assert out["release"]["version"] == 2 and out["release"]["published_at"]
        assert {p["ward"] for p in out["pumps"]} == {"icu", "oncology"}
        assert "100 % of the fleet on it (4 of 4 pumps)" in fleet_cli(broker, tmp_path)

        # 2. `publish` of v1 afterwards: refused, nothing sent
        p = publish_cli(broker, tmp_path, k[1].lib_path, trust)
        assert p.returncode == 1 and "LIB_ROLLBACK" in p.stderr
        assert len(p.stderr.strip().splitlines()) == 1 and "Traceback" not in p.stderr
        assert fleet_now(broker)["release"]["version"] == 2

        # 3. v1 put on the topic directly: every pump refuses it and stays on v2
        bypass(broker, k[1].blob)

        def refused(code_prefix):
            r = fleet_now(broker)
            ok = r["summary"]["refused"] == 4 and all(p["code"].startswith(code_prefix) for p in r["pumps"])
            return r if ok else None

        r = wait_for(lambda: refused("LIB_ROLLBACK"), 60)
        assert r, fleet_now(broker)
        assert versions(r) == [("icu-a", 2), ("icu-b", 2), ("onc-a", 2), ("onc-b", 2)]
        assert r["newest"]["version"] == 2 and r["summary"]["on_newest"] == 4
        assert any("older than what pumps run" in w for w in r["warnings"])
        text = fleet_cli(broker, tmp_path)
        assert text.count("LIB_ROLLBACK") == 4 and "refused 4" in text

        # 4. a tampered library from such a publisher: refused everywhere
        bypass(broker, bytes(tampered))
        r = wait_for(lambda: refused("LIB_"), 60)
        assert r, fleet_now(broker)
        assert {p["code"] for p in r["pumps"]} == {"LIB_DIGEST"}
        assert versions(r) == [("icu-a", 2), ("icu-b", 2), ("onc-a", 2), ("onc-b", 2)]
        out = json.loads(fleet_cli(broker, tmp_path, "--json", "--trust", trust))
        assert out["release"]["verdict"] == "LIB_DIGEST" and out["summary"]["share_on_newest"] == 1.0

        # 5. the real v3; the broker restarts and icu-b's cable is pulled mid-push
        p = publish_cli(broker, tmp_path, k[3].lib_path, trust)
        assert p.returncode == 0, p.stderr
        part = tmp_path / "icu-b" / "push.part"
        assert wait_for(lambda: part.exists() and 0 < part.stat().st_size < len(k[3].blob), 60, step=0.01)
        relay.pull()
        broker.stop()
        assert wait_for(lambda: all(g.of("disconnected") for g in gws), 30)
        assert wait_for(lambda: gws[0].of("failed", port=relay.url) or gws[0].of("offline", port=relay.url), 60)
        broker.start()
        relay.plug()
        r = wait_for(lambda: (lambda r: r if r["summary"]["on_newest"] == 4 and r["newest"]["version"] == 3
                              else None)(fleet_now(broker)), 90)
        assert r, fleet_now(broker)
        assert versions(r) == [("icu-a", 3), ("icu-b", 3), ("onc-a", 3), ("onc-b", 3)]
        assert r["summary"]["gateways"] == 2 and r["summary"]["gateways_offline"] == 0
        resumed = gws[0].of("installed", port=relay.url, release_version=3)
        assert len(resumed) == 1 and resumed[0]["resumed_from"] > 0  # the push went on from the staged bytes
        assert all(len(g.of("connected")) >= 2 for g in gws)  # each reconnected by itself

        # 6. a gateway that vanishes: its last will marks it and its pumps offline
        assert gws[1].stop(signal.SIGKILL) == -signal.SIGKILL
        r = wait_for(lambda: (lambda r: r if r["summary"]["offline"] == 2 else None)(fleet_now(broker)), 30)
        assert r and [g["online"] for g in r["gateways"]] == [True, False]
        assert {p["pump_id"] for p in r["pumps"] if p["status"] == "offline"} == {"onc-a", "onc-b"}
        html = tmp_path / "fleet.html"
        fleet_cli(broker, tmp_path, "--html", html)
        page = html.read_text()
        assert "onc-a" in page and "offline" in page
        assert "<script" not in page and "http://" not in page and "https://" not in page  # offline, no CDN
        assert gws[0].stop() == 0
        remembered = json.loads((tmp_path / "gw-icu.json").read_text())["pumps"]
        assert sorted(remembered) == ["icu-a", "icu-b"] and all(len(m["settled"]) == 4 for m in remembered.values())
        for g in gws:
            assert "Traceback" not in g.stderr and not [e for e in g.events if e["event"] in ("error", "garbage")]
        for g in gws:  # each refusal reported once per pump, never retried
            for bad in (k[1].blob, bytes(tampered)):
                digest = hashlib.sha256(bad).hexdigest()
                for port in {e["port"] for e in g.of("online")}:
                    assert len(g.of("refused", port=port, release_sha256=digest)) == 1
    finally:
        for g in gws:
            if g.proc.poll() is None:
                g.stop()
        if relay is not None:
            relay.close()
        broker.stop()

    # the pumps' own logs, over their cables: one refusal of each bad library, then v3
    for s in sims:
        p = druglib("info", "--port", s.port, "--json")
        assert p.returncode == 0, p.stderr
        assert json.loads(p.stdout)["version"] == 3
        p = druglib("log", "--port", s.port, "--json")
        assert p.returncode == 0, p.stderr
        log = json.loads(p.stdout)
        assert log["verified"]
        rejected = [(r["fields"]["version"], r["fields"]["code"]) for r in log["records"]
                    if r["kind"] == "install-rejected"]
        assert rejected == [(1, "LIB_ROLLBACK"), (3, "LIB_DIGEST")]
        assert s.stop() == 0
