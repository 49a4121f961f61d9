"""One thread per pump of a ward gateway: ask the pump what it runs, push the
release it does not have yet, say what happened (docs/fleet.md, "Gateway").

The pump decides. The worker pushes every release whose bytes differ from
what it has settled with this pump, with the existing push
(host_tools/link/client.py PumpLink.push: resumable from the bytes the pump
has staged), and settles it when the pump answers:

  installed / same    settled; the pump runs it
  refused             the pump's verification said no (LIB_*, SIG_*, TRUST_*:
                      rollback, unknown key, tampered): reported ONCE, never
                      pushed again, unless the pump's own state changes (a
                      different version or a different pump on the port)
  failed              the line or the pump failed: tried again at the next
                      poll, backing off (a push resumes where it stopped);
                      after MAX_DEVICE_FAILURES errors answered by the pump
                      itself (storage, transfer) the release is given up for
                      that pump until its state changes or a new release comes
"""
import threading
import time

from host_tools.errors import LinkError
from host_tools.fleet import topics
from host_tools.link.client import VERIFY_PREFIXES, DeviceError

MAX_BACKOFF = 16  # times the poll interval, after repeated failed pushes
MAX_DEVICE_FAILURES = 5
# the pump's final word on a release: its verification (LIB_*, SIG_*, TRUST_*)
# or a library larger than it can take; retrying cannot change it
REFUSAL_PREFIXES = tuple(VERIFY_PREFIXES) + ("LINK_TOO_LARGE",)


def iso(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t)) if t is not None else None


class PumpWorker:
    def __init__(self, gateway, port, open_link):
        self.gw = gateway
        self.port = port
        self.label = port if isinstance(port, str) else str(getattr(port, "name", "port"))
        self.open_link = open_link
        self.link = None
        self.pump_id = None
        self.key = topics.pump_key(None, self.label)
        self.online = False
        self.state = None
        self.library = None
        self.version = None
        self.library_sha256 = None
        self.installed_at = None
        self.last_seen = None
        self.last_result = None
        self.settled = {}  # release sha256 -> pump version right after it settled
        self.known = {}  # version -> sha256 this gateway saw installed on this pump
        self.failures = 0
        self.device_failures = {}  # release sha256 -> errors the pump answered
        self.last_error = None
        self.wake = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True, name="pump %s" % self.label)

    # --- the loop ---
    def run(self):
        while not self.gw.stopping.is_set():
            try:
                delay = self.cycle()
            except Exception as e:  # a bug must not silence the other pumps, nor this one for good
                self.gw.event("error", self, message="%s: %s" % (type(e).__name__, e))
                self._close()
                delay = self.gw.poll_s
            self.wake.wait(delay)
            self.wake.clear()
        self._close()

    def cycle(self):
        """One look at the pump (and one push if needed) -> seconds until the next."""
        rel = self.gw.release
        try:
            if self.link is None:
                self.link = self.open_link(self.port)
            info = self.link.info()
        except (LinkError, DeviceError) as e:
            self._close()
            self._offline(str(e))
            return self.gw.poll_s
        self._seen(info)
        if rel is not None and self.settled.get(rel.sha256, -1) != self.version:
            return self._push(rel)
        self.gw.status(self)
        return self.gw.poll_s

    def _seen(self, info):
        pid = str(info.get("pump_id") or "") or None
        if pid != self.pump_id:
            old = self.key
            if self.pump_id is not None:
                # another pump on this port: the one we knew is gone from here
                # (its last status says so), and nothing we knew holds for this one
                self.online, self.last_error = False, "pump %s answers on this port now" % pid
                self.gw.status(self, force=True)
                self.settled, self.known, self.device_failures = {}, {}, {}
                self.last_result = self.installed_at = self.library_sha256 = None
                self.online = False
            self.pump_id, self.key = pid, topics.pump_key(pid, self.label)
            if old != self.key and old.startswith("port-"):
                self.gw.forget(self, old)  # its status was keyed by port until it told its id
            self._recall()
        version = info.get("version") or 0
        version = version if isinstance(version, int) and not isinstance(version, bool) and version >= 0 else 0
        if version != self.version:
            self.library_sha256 = self.known.get(version)
        self.version = version
        self.state = info.get("state")
        self.library = info.get("library") or None
        reported = info.get("library_sha256") or info.get("sha256")  # a firmware that tells its digest
        if isinstance(reported, (bytes, bytearray)) and len(reported) == 32:
            self.library_sha256 = bytes(reported).hex()
        if not self.online:
            self.online = True
            self.gw.event("online", self)
        self.last_seen = time.time()
        self.last_error = None

    def _recall(self):
        """What this gateway settled with this pump before it restarted (Memory)."""
        m = self.gw.memory.recall(self.pump_id)
        settled = m.get("settled")
        if isinstance(settled, dict):
            self.settled = {k: v for k, v in settled.items() if isinstance(v, int)}
        known = m.get("known")
        if isinstance(known, dict):
            self.known = {int(k): v for k, v in known.items() if k.isdigit() and isinstance(v, str)}
        if isinstance(m.get("last_result"), dict):
            self.last_result = m["last_result"]
        if isinstance(m.get("installed_at"), (int, float)):
            self.installed_at = m["installed_at"]

    def _keep(self):
        self.gw.memory.keep(self.pump_id, {"settled": self.settled, "last_result": self.last_result,
                                           "known": {str(k): v for k, v in self.known.items()},
                                           "installed_at": self.installed_at})

    def _offline(self, why):
        announce = self.online or self.last_error is None  # once per outage
        self.online, self.last_error = False, why
        if announce:
            self.gw.event("offline", self, message=why)
        self.gw.status(self)

    def _push(self, rel):
        before = self.version
        t0 = time.time()
        try:
            r = self.link.push(rel.blob)
        except DeviceError as e:
            if e.code.startswith(REFUSAL_PREFIXES):
                self.settled[rel.sha256] = self.version
                self._result(rel, "refused", e.code, e.message, t0)
                self.failures = 0
                return self.gw.poll_s
            n = self.device_failures[rel.sha256] = self.device_failures.get(rel.sha256, 0) + 1
            if n >= MAX_DEVICE_FAILURES:
                self.settled[rel.sha256] = self.version
                self.failures = 0
                self._result(rel, "failed", e.code, "%s (given up after %d attempts)" % (e.message, n), t0)
                return self.gw.poll_s
            return self._failed(rel, e.code, e.message, t0)
        except LinkError as e:
            self._close()
            return self._failed(rel, "LINK", str(e), t0)
        outcome = r.get("status")
        version = r.get("version")
        if outcome not in ("installed", "same") or not isinstance(version, int):
            return self._failed(rel, "PUSH_ANSWER", "unexpected END answer %r" % (r,), t0)
        self.failures = 0
        self.version = version
        if outcome == "installed":
            self.known[version] = rel.sha256
            self.library_sha256 = rel.sha256
            self.installed_at = time.time()
        else:
            # "same" means the same bytes (issue 10 item 1): the pump compared
            # SHA-256s; other bytes under its version are refused with
            # LIB_VERSION_REUSED (a refusal above, shown as "refused")
            self.known[version] = rel.sha256
            self.library_sha256 = rel.sha256
        self.settled[rel.sha256] = version
        self._result(rel, outcome, None, "", t0, previous=before, resumed_from=r.get("resumed_from", 0))
        return self.gw.poll_s

    def _failed(self, rel, code, message, t0):
        self.failures += 1
        first = self.last_result is None or self.last_result.get("outcome") != "failed" \
            or self.last_result.get("code") != code or self.last_result.get("release_sha256") != rel.sha256
        self._result(rel, "failed", code, message, t0, announce=first)
        return self.gw.poll_s * min(2 ** (self.failures - 1), MAX_BACKOFF)

    def _result(self, rel, outcome, code, message, t0, announce=True, **extra):
        self.last_result = {"outcome": outcome, "code": code, "message": message,
                            "release_version": rel.version, "release_sha256": rel.sha256,
                            "at": iso(time.time()), "seconds": round(time.time() - t0, 3)}
        self.last_result.update(extra)
        if announce:
            self.gw.event(outcome, self, code=code, message=message, release_version=rel.version,
                          release_sha256=rel.sha256, **extra)
        if rel.sha256 in self.settled:
            self._keep()
        self.gw.status(self, force=True)

    def _close(self):
        if self.link is not None:
            try:
                self.link.close()
            except Exception:
                pass
            self.link = None

    def status(self):
        """The retained status message of this pump (docs/fleet.md, "Pump status")."""
        return {"schema": topics.SCHEMA, "pump_id": self.pump_id, "ward": self.gw.ward,
                "gateway": self.gw.gateway_id, "port": self.label, "online": self.online,
                "state": self.state, "library": self.library, "version": self.version,
                "library_sha256": self.library_sha256, "installed_at": iso(self.installed_at),
                "last_seen": iso(self.last_seen), "last_error": self.last_error,
                "last_result": self.last_result, "updated": iso(time.time()),
                "heartbeat_s": self.gw.heartbeat_s}
