"""`druglib publish`: put a released library on the broker, once, for the whole fleet.

Before anything is sent, the library goes through the pump's release
verification against the trust store (firmware/release/verify.py, then the
body must decode, as firmware/pump.py installs), and against what the fleet
already runs: the release now on the broker (if it verifies) and the highest
version any pump reports. A library a pump would refuse is never published:

  - not released, tampered, unknown key ...    the device's code (SIG_*, LIB_*)
  - older than the fleet's newest               LIB_ROLLBACK (a pump refuses it)
  - the same version as the fleet's, other bytes  PUBLISH_VERSION_REUSED (pumps on
    that version would refuse it, LIB_VERSION_REUSED, issue 10 item 1: a
    re-release must raise the version)

This is a courtesy check, not the safety: the pump verifies whatever reaches it.
"""
import json
import time

from firmware.errors import PumpError
from firmware.release import verify as fw_verify
from host_tools.errors import DruglibError
from host_tools.fleet import topics
from host_tools.fleet.mqtt import Session, client_id
from host_tools.fleet.release import Release


class PublishRefused(DruglibError):
    def __init__(self, code, message):
        self.code, self.message = code, message
        super().__init__("REJECTED %s: %s" % (code, message))


def utc_now():
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def fleet_baseline(messages, trust):
    """-> (version, sha256 or None, where) of the newest library the fleet holds:
    the release on the broker if it verifies, and every pump's reported version."""
    best = (None, None, None)
    lib = messages.get(topics.RELEASE_LIBRARY)
    if lib:
        cur = Release(lib)
        if cur.verdict(trust) is None:
            best = (cur.version, cur.sha256, "the release on the broker")
    for topic, payload in messages.items():
        t = topics.parse(topic)
        if not t or t[0] != "pump":
            continue
        try:
            st = json.loads(payload.decode("utf-8"))
            v = st.get("version")
        except (ValueError, UnicodeDecodeError, AttributeError):
            continue
        if isinstance(v, int) and not isinstance(v, bool) and v > 0 and (best[0] is None or v > best[0]):
            sha = st.get("library_sha256") if isinstance(st.get("library_sha256"), str) else None
            best = (v, sha, "pump %s (ward %s)" % (st.get("pump_id"), t[1]))
    return best


def check(rel, trust, baseline):
    """Raise PublishRefused if a pump would refuse `rel` or it would split the fleet."""
    try:
        rel.verify(trust)
    except PumpError as e:
        raise PublishRefused(e.code, e.message) from None
    version, sha, where = baseline
    if version is None:
        return "new"
    try:
        status = fw_verify.check_version(rel.version, version)
    except PumpError as e:
        raise PublishRefused(e.code, "%s; the fleet runs version %d (%s): every pump would refuse it"
                             % (e.message, version, where)) from None
    if status == fw_verify.STATUS_SAME:
        if sha is not None and sha != rel.sha256:
            raise PublishRefused("PUBLISH_VERSION_REUSED", "version %d is already released with other bytes "
                                 "(sha256 %s, %s); pumps on it would keep theirs: give the new library a "
                                 "new version" % (version, sha[:16], where))
        return "same"
    return "new"


def publish(spec, blob, trust, publisher="druglib publish", quiet=0.5):
    """-> dict of what was published; PublishRefused or BrokerError otherwise."""
    rel = Release(blob)
    from host_tools.release.signing import synthetic_names

    if synthetic_names(blob):  # benchmark-only drugs are never published (issue 11 item 3)
        raise PublishRefused("LIB_SYNTHETIC", "a synthetic benchmark library is never published")
    try:
        rel.verify(trust)  # before touching the broker at all
    except PumpError as e:
        raise PublishRefused(e.code, e.message) from None
    s = Session(spec, client_id("publish"))
    try:
        held = s.retained([topics.RELEASE_LIBRARY, topics.PUMPS_ALL], quiet=quiet)
        baseline = fleet_baseline(held, trust)
        kind = check(rel, trust, baseline)
        at = utc_now()
        # version and digest beside the bytes, in the same message (MQTT 5 user
        # properties) and on the meta topic; readers compute their own anyway
        s.publish(topics.RELEASE_LIBRARY, rel.blob, user_properties=[
            ("version", rel.version), ("sha256", rel.sha256), ("library", rel.library), ("published_at", at)])
        s.publish(topics.RELEASE_META, rel.meta(at, publisher))
    finally:
        s.close()
    return {"published": True, "kind": kind, "library": rel.library, "version": rel.version,
            "sha256": rel.sha256, "bytes": rel.size, "published_at": at, "topic": topics.RELEASE_LIBRARY,
            "meta_topic": topics.RELEASE_META, "broker": str(spec),
            "fleet_before": {"version": baseline[0], "where": baseline[2]}}
