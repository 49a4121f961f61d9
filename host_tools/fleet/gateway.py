"""A ward gateway (docs/fleet.md, "Gateway"): the broker on one side, the
ward's pumps on serial on the other.

- subscribes to druglib/v1/release/library; every new release (other bytes)
  wakes every pump worker (workers.py), which pushes it, in parallel;
- publishes each pump's status, retained, under druglib/v1/ward/<ward>/pump/,
  on every change and every `heartbeat_s`;
- publishes its own liveness, retained, with a last will saying offline;
- after a broker outage paho reconnects by itself (backing off 1 to 10 s) and
  on every connection the gateway subscribes again (the broker hands it the
  retained release), says it is online and publishes every pump's latest
  status again: it resynchronises without anyone's help. Pumps are served
  meanwhile from the release it already holds.
"""
import json
import os
import socket
import threading
import time

from host_tools.errors import DruglibError
from host_tools.fleet import topics
from host_tools.fleet.mqtt import make_client
from host_tools.fleet.release import Release
from host_tools.fleet.workers import PumpWorker, iso
from host_tools.library.files import write_atomic

# CONNACK reason codes that no retry will cure (MQTT 5 section 3.2.2.2)
DUPLICATE_WINDOW_S = 5.0
FATAL_CONNACK = ("Bad user name or password", "Not authorized", "Client identifier not valid", "Banned")


class Memory:
    """What each pump settled (by pump id), kept in a JSON file when one is
    given (`druglib gateway --state FILE`), so that a gateway restarted, even
    one restarted in a loop by its supervisor, never offers a pump a release
    it already refused: each refusal is a record in the pump's bounded log."""

    def __init__(self, path):
        self.path = path
        self.lock = threading.Lock()
        self.pumps = {}
        if path:
            folder = os.path.dirname(os.path.abspath(path))
            if not os.path.isdir(folder):
                raise DruglibError("gateway state %s: folder %s does not exist" % (path, folder))
            try:
                with open(path, "rb") as f:
                    data = json.loads(f.read().decode("utf-8"))
                if isinstance(data, dict) and isinstance(data.get("pumps"), dict):
                    self.pumps = data["pumps"]
            except FileNotFoundError:
                pass
            except (OSError, ValueError, UnicodeDecodeError) as e:
                raise DruglibError("gateway state %s cannot be read (%s): move it away to start afresh"
                                   % (path, e)) from None

    def recall(self, pump_id):
        with self.lock:
            return json.loads(json.dumps(self.pumps.get(pump_id) or {}))

    def keep(self, pump_id, entry):
        if not pump_id:
            return
        with self.lock:
            self.pumps[pump_id] = entry
            if self.path:
                write_atomic(self.path, json.dumps({"schema": topics.SCHEMA, "pumps": self.pumps},
                                                   sort_keys=True).encode("utf-8"))


def default_id():
    host = "".join(ch if ch.isalnum() or ch in "._-" else "-" for ch in socket.gethostname())[:48]
    return host if topics.NAME_RE.match(host or "") else "gateway"


class Gateway:
    def __init__(self, spec, ward, gateway_id, ports, open_link, poll_s=10.0, heartbeat_s=30.0, emit=None,
                 state_path=None):
        self.spec = spec
        self.ward = topics.check_name(ward, "ward")
        self.gateway_id = topics.check_name(gateway_id, "gateway id")
        self.topic = topics.gateway_topic(ward, gateway_id)
        self.poll_s, self.heartbeat_s = poll_s, heartbeat_s
        self.emit = emit or (lambda event: None)
        self.stopping = threading.Event()
        self.fatal = None
        self.release = None
        self.lock = threading.Lock()
        self.published = {}  # topic -> (payload without timestamps, monotonic time sent)
        self.latest = {}  # topic -> payload (for the resync after a reconnection)
        self.started = time.time()
        self.instance = os.urandom(6).hex()  # this run of this gateway
        self.memory = Memory(state_path)
        self.workers = [PumpWorker(self, p, open_link) for p in ports]
        # the will is fixed when connecting: it cannot know when the connection is lost
        will = json.dumps(self._liveness(False, "connection lost", since=False)).encode("utf-8")
        self.client = make_client(spec, "gw-%s-%s" % (self.ward, self.gateway_id), will=(self.topic, will))
        self.client.reconnect_delay_set(1, 10)
        self.client.on_connect = self._on_connect
        self.client.on_connect_fail = self._on_connect_fail
        self.unreachable = False
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message
        self.client.on_publish = self._on_publish
        self.connected = threading.Event()
        self.connected_at, self.rival, self.flaps, self.duplicate = 0.0, False, 0, False
        self.refused_publications = 0

    # --- life ---
    def start(self):
        try:
            self.client.connect_async(self.spec.host, self.spec.port, keepalive=15)
        except (OSError, ValueError) as e:
            raise DruglibError("cannot use broker %s: %s" % (self.spec, e)) from None
        self.client.loop_start()
        for w in self.workers:
            w.thread.start()
        return self

    def stop(self, timeout=10):
        self.stopping.set()
        for w in self.workers:
            w.wake.set()
        for w in self.workers:
            w.thread.join(timeout)
        if self.client.is_connected() and not self.duplicate:  # the other one is online
            info = self.client.publish(self.topic, json.dumps(self._liveness(False, "stopped")), qos=1, retain=True)
            try:
                info.wait_for_publish(5)
            except (RuntimeError, ValueError):
                pass
        self.client.disconnect()
        self.client.loop_stop()

    def _liveness(self, online, reason=None, since=True):
        d = {"schema": topics.SCHEMA, "gateway": self.gateway_id, "ward": self.ward, "online": online,
             "instance": self.instance,
             "since": iso(self.started if online else time.time()) if since else None,
             "pumps": len(self.workers), "poll_s": self.poll_s, "heartbeat_s": self.heartbeat_s}
        if reason:
            d["reason"] = reason
        return d

    # --- broker side ---
    def _on_connect(self, client, userdata, flags, reason_code, properties):
        if reason_code.is_failure:
            if str(reason_code) in FATAL_CONNACK:
                self.fatal = "broker %s refused the gateway: %s" % (self.spec, reason_code)
                self.event("fatal", None, message=self.fatal)
                self.stopping.set()
            return
        self.connected_at, self.rival = time.monotonic(), False
        # our own liveness topic first: its retained message tells whether
        # another gateway with our id is online (see _on_disconnect)
        client.subscribe([(self.topic, 1), (topics.RELEASE_LIBRARY, 1)])
        client.publish(self.topic, json.dumps(self._liveness(True)), qos=1, retain=True)
        with self.lock:
            again = list(self.latest.items())
        for topic, payload in again:  # resynchronise: the broker may have lost or missed them
            client.publish(topic, payload, qos=1, retain=True)
        self.connected.set()
        self.unreachable = False
        self.event("connected", None, message=str(self.spec))

    def _on_connect_fail(self, client, userdata):
        if not self.unreachable:  # once per outage; paho keeps trying
            self.unreachable = True
            self.event("unreachable", None, message="cannot reach broker %s; trying again" % self.spec)

    def _on_disconnect(self, client, userdata, flags, reason_code, properties):
        # Another gateway with our id takes the session from us and we from it,
        # forever (MQTT 5 section 3.1.4; Mosquitto just closes the socket): seen
        # as connections that end within seconds, each finding the other run's
        # liveness retained on our topic. Twice in a row: we stop.
        short = time.monotonic() - self.connected_at < DUPLICATE_WINDOW_S
        self.flaps = self.flaps + 1 if (short and self.rival) or str(reason_code) == "Session taken over" else 0
        if self.flaps >= 2 and not self.stopping.is_set():
            self.duplicate = True
            self.fatal = "another gateway connects as %s (ward %s): give each gateway its own --id" % (
                self.gateway_id, self.ward)
            self.event("fatal", None, message=self.fatal)
            self.stopping.set()
        if self.connected.is_set():
            self.connected.clear()
            self.event("disconnected", None, message=str(reason_code))

    def _on_publish(self, client, userdata, mid, reason_code, properties):
        if reason_code.is_failure:
            self.refused_publications += 1
            if self.refused_publications == 1:  # once: the ACL does not change by itself
                self.event("error", None, message="the broker refuses this gateway's publications (%s): "
                           "check the ACL for ward %s" % (reason_code, self.ward))

    def _on_message(self, client, userdata, msg):
        if msg.topic == self.topic:
            if msg.retain:
                try:
                    d = json.loads(msg.payload.decode("utf-8"))
                except (ValueError, UnicodeDecodeError):
                    return
                # another run's message (its "online", or the will the broker sent
                # for it when we took its session) is there when we connect
                if isinstance(d, dict) and d.get("instance") not in (None, self.instance):
                    self.rival = True
            return
        if msg.topic != topics.RELEASE_LIBRARY:
            return
        if not msg.payload:
            return  # withdrawn: pumps keep what they run
        rel = Release(msg.payload)
        if self.release is not None and self.release.sha256 == rel.sha256:
            return  # the same release again (a reconnection): nothing to do
        self.release = rel
        self.event("release", None, release_version=rel.version, release_sha256=rel.sha256, bytes=rel.size)
        for w in self.workers:
            w.wake.set()

    # --- what workers call ---
    def status(self, worker, force=False):
        st = worker.status()
        topic = topics.pump_topic(self.ward, worker.key)
        stable = json.dumps({k: v for k, v in st.items() if k not in ("updated", "last_seen")}, sort_keys=True)
        now = time.monotonic()
        with self.lock:
            prev = self.published.get(topic)
            if not force and prev is not None and prev[0] == stable and now - prev[1] < self.heartbeat_s:
                return
            payload = json.dumps(st, sort_keys=True).encode("utf-8")
            self.latest[topic] = payload
            if not self.client.is_connected():
                return  # sent again on the next connection
            self.published[topic] = (stable, now)
        self.client.publish(topic, payload, qos=1, retain=True)

    def forget(self, worker, old_key):
        """A pump's topic changed (its id became known): clear the old retained status."""
        topic = topics.pump_topic(self.ward, old_key)
        with self.lock:
            self.latest.pop(topic, None)
            had = self.published.pop(topic, None)
        if had is not None and self.client.is_connected():
            self.client.publish(topic, b"", qos=1, retain=True)

    def event(self, kind, worker, **fields):
        e = {"event": kind, "at": iso(time.time()), "ward": self.ward, "gateway": self.gateway_id}
        if worker is not None:
            e.update(port=worker.label, pump_id=worker.pump_id, version=worker.version)
        e.update({k: v for k, v in fields.items() if v is not None})
        try:
            self.emit(e)
        except Exception:
            pass
