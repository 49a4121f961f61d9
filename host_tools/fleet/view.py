"""The fleet at a glance (docs/fleet.md, "Fleet view"): pure, from the
retained messages to one report. What pumps run is what their gateways say
(authenticated by the broker's users and ACL); the pump itself stays the
authority (`druglib info`, `druglib log` on its cable).

Each pump gets one status, first that applies:
  offline    its gateway says so, the gateway is gone (last will), or no status
             for 3 heartbeats
  refused    the pump refused the release now on the broker (code shown)
  outdated   it runs an older version than the fleet's newest
  current    it runs the newest version
"""
import json
import time
from calendar import timegm

from host_tools.fleet import topics
from host_tools.fleet.release import Release, read_meta


def parse_time(text):
    try:
        return timegm(time.strptime(text, "%Y-%m-%dT%H:%M:%SZ"))
    except (TypeError, ValueError):
        return None


def _json(payload):
    try:
        d = json.loads(payload.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        return None
    return d if isinstance(d, dict) else None


def _int(v):
    return v if isinstance(v, int) and not isinstance(v, bool) else None


def _str(v):
    return v if isinstance(v, str) else None


def build(messages, now=None, trust=None, broker=""):
    """messages: {topic: payload} retained under druglib/v1/# -> the report dict."""
    now = time.time() if now is None else now
    rel = meta = None
    gateways, statuses = {}, []
    for topic, payload in messages.items():
        t = topics.parse(topic)
        if t is None:
            continue
        kind, ward, name = t
        if kind == "release" and name == "library":
            rel = Release(payload)
        elif kind == "gateway":
            d = _json(payload)
            if d is not None:
                gateways[(ward, name)] = d
        elif kind == "pump":
            d = _json(payload)
            if d is not None:
                statuses.append((ward, name, d))
    release = None
    if rel is not None:
        meta = read_meta(messages.get(topics.RELEASE_META, b""), rel)
        published = parse_time(meta.get("published_at")) if meta else None
        release = {"version": rel.version, "sha256": rel.sha256, "bytes": rel.size, "library": rel.library,
                   "published_at": meta.get("published_at") if meta else None,
                   "age_s": int(now - published) if published is not None else None,
                   "verdict": (rel.verdict(trust) or "released") if trust is not None else None}

    pumps = {}
    for ward, key, d in statuses:
        gw = gateways.get((ward, _str(d.get("gateway")) or ""))
        row = _row(ward, key, d, gw, now)
        pid = row["pump_id"] or "%s/%s" % (ward, key)
        old = pumps.get(pid)  # a pump moved between wards: its newest status wins
        if old is None or (row["_seen"] or 0) > (old["_seen"] or 0):
            pumps[pid] = row
    rows = sorted(pumps.values(), key=lambda r: (r["ward"], r["pump_id"] or "", r["port"] or ""))
    versions = [r["version"] for r in rows if r["version"]]
    if _counts(release, rows):
        versions.append(release["version"])
    newest = max(versions) if versions else None
    newest_sha = None
    if newest is not None and release is not None and release["version"] == newest:
        newest_sha = release["sha256"]
    for r in rows:
        _classify(r, release, newest, newest_sha)
        t_pub = parse_time(release["published_at"]) if release else None
        t_inst = parse_time(r["installed_at"])
        if t_pub is not None and t_inst is not None and r["on_newest"] and release["version"] == r["version"]:
            r["activation_delay_s"] = max(0, t_inst - t_pub)  # the delay studies of smart-pump fleets report
        del r["_seen"]
    counts = {s: sum(1 for r in rows if r["status"] == s) for s in ("current", "outdated", "refused", "offline")}
    on_newest = sum(1 for r in rows if r["on_newest"])
    gw_rows = [{"ward": w, "gateway": g, "online": bool(d.get("online")), "since": _str(d.get("since")),
                "pumps": _int(d.get("pumps")), "reason": _str(d.get("reason"))}
               for (w, g), d in sorted(gateways.items())]
    warnings = []
    if release is not None and newest is not None and release["version"] is not None and release["version"] < newest:
        warnings.append("the library on the broker (version %d) is older than what pumps run (version %d): "
                        "pumps refuse it" % (release["version"], newest))
    if release is not None and release["verdict"] not in (None, "released"):
        warnings.append("the library on the broker does not verify against the trust store: %s" % release["verdict"])
    return {"schema": topics.SCHEMA, "broker": broker, "generated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                                                                    time.gmtime(now)),
            "release": release, "newest": {"version": newest, "sha256": newest_sha},
            "summary": dict(counts, pumps=len(rows), on_newest=on_newest,
                            share_on_newest=round(on_newest / len(rows), 4) if rows else None,
                            gateways=len(gw_rows), gateways_offline=sum(1 for g in gw_rows if not g["online"])),
            "warnings": warnings, "gateways": gw_rows, "pumps": rows}


def _counts(release, rows):
    """Does the release on the broker count as the fleet's newest library? Not
    if it fails the trust store, nor (without one) if every pump that was
    given it refused it: a forged or tampered library is nobody's target."""
    if release is None or release["version"] is None or release["verdict"] not in (None, "released"):
        return False
    if release["verdict"] == "released":
        return True
    tried = [r["last_result"]["outcome"] for r in rows
             if r["last_result"] and r["last_result"].get("release_sha256") == release["sha256"]]
    return not tried or any(o != "refused" for o in tried)


def _row(ward, key, d, gw, now):
    seen = parse_time(d.get("last_seen"))
    updated = parse_time(d.get("updated"))
    hb = d.get("heartbeat_s") if isinstance(d.get("heartbeat_s"), (int, float)) else 30
    why = None
    if not d.get("online"):
        why = _str(d.get("last_error")) or "the gateway cannot reach it"
    elif gw is None or not gw.get("online"):
        why = "its gateway is offline" + (" (%s)" % gw["reason"] if gw and _str(gw.get("reason")) else "")
    elif updated is None or now - updated > 3 * hb + 10:
        why = "no news from its gateway for %s s" % (int(now - updated) if updated else "?")
    lr = d.get("last_result") if isinstance(d.get("last_result"), dict) else {}
    return {"pump_id": _str(d.get("pump_id")), "ward": ward, "gateway": _str(d.get("gateway")),
            "port": _str(d.get("port")), "library": _str(d.get("library")), "version": _int(d.get("version")),
            "library_sha256": _str(d.get("library_sha256")), "online": why is None, "offline_reason": why,
            "last_seen": _str(d.get("last_seen")), "last_seen_age_s": int(now - seen) if seen else None,
            "installed_at": _str(d.get("installed_at")),
            "last_result": {k: lr.get(k) for k in ("outcome", "code", "message", "release_version",
                                                    "release_sha256", "at")} if lr else None,
            "activation_delay_s": None, "_seen": seen}


def _classify(r, release, newest, newest_sha):
    lr = r["last_result"] or {}
    r["on_newest"] = newest is not None and r["version"] == newest and \
        (newest_sha is None or r["library_sha256"] in (None, newest_sha))
    r["outdated"] = newest is not None and (r["version"] or 0) < newest
    r["refused"] = bool(release and lr.get("outcome") == "refused" and lr.get("release_sha256") == release["sha256"])
    r["code"] = lr.get("code") if r["refused"] else None
    if not r["online"]:
        r["status"] = "offline"
    elif r["refused"]:
        r["status"] = "refused"
    elif r["outdated"]:
        r["status"] = "outdated"
    else:
        r["status"] = "current"
