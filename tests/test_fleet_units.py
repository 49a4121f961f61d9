"""Fleet pieces that need no broker: topic names, broker URLs, the command
line's refusals, the publisher's decision, the fleet view's classification,
the HTML page, and the shipped broker configuration."""
import json
import os
import time

import pytest

from conftest_signing import MALLORY, Kit, signature, with_signatures
from firmware.release import trust as fw_trust
from host_tools.errors import UsageError
from host_tools.fleet import broker, mqtt, page, topics, view
from host_tools.fleet.publisher import PublishRefused, check, fleet_baseline
from host_tools.fleet.release import Release
from pumpsimproc import ROOT, druglib
from fleetkit import status_msg

NOW = 1800000000


# --- topics ---
def test_names_that_would_break_the_topic_tree_are_refused():
    for bad in ("", "icu/1", "icu+", "#", "a b", "-x", "x" * 65, "ünit"):
        with pytest.raises(UsageError):
            topics.check_name(bad, "ward")
    assert topics.pump_topic("icu", "p1") == "druglib/v1/ward/icu/pump/p1"
    assert topics.parse("druglib/v1/ward/icu/pump/p1") == ("pump", "icu", "p1")
    assert topics.parse("druglib/v1/release/library") == ("release", None, "library")
    assert topics.parse("druglib/v1/ward/icu/other/p1") is None


def test_a_pump_id_from_the_device_never_becomes_a_wildcard_or_a_level():
    for hostile in ("a/b", "+", "#", "x\x00y", "<script>"):
        key = topics.pump_key(hostile)
        assert topics.NAME_RE.match(key) and "/" not in key and key != hostile
    assert topics.pump_key("pump-1") == "pump-1"
    assert topics.pump_key(None, "/dev/ttyUSB0").startswith("port-")


# --- broker URL and credentials ---
class Args:
    def __init__(self, broker, **kw):
        self.broker = broker
        self.password_file = kw.get("password_file")
        self.password_env = kw.get("password_env")
        self.cafile = kw.get("cafile")
        self.certfile = kw.get("certfile")
        self.keyfile = kw.get("keyfile")


def test_broker_urls(tmp_path, monkeypatch):
    monkeypatch.delenv(mqtt.PASSWORD_ENV, raising=False)
    assert mqtt.parse_url("mqtt://gw@host") == ("host", 1883, False, "gw")
    assert mqtt.parse_url("mqtts://gw@host:9000") == ("host", 9000, True, "gw")
    for bad in ("http://host", "mqtt://", "mqtt://host:99999", "mqtt://host/x", None, ""):
        with pytest.raises(UsageError):
            mqtt.parse_url(bad)
    with pytest.raises(UsageError, match="not put the password in the URL"):
        mqtt.parse_url("mqtt://gw:secret@host")
    pw = tmp_path / "pw"
    pw.write_text("s3cret\nignored\n")
    s = mqtt.spec_from_args(Args("mqtt://gw@host", password_file=str(pw)))
    assert (s.user, s.password, s.tls) == ("gw", "s3cret", False)
    monkeypatch.setenv(mqtt.PASSWORD_ENV, "from-env")
    assert mqtt.spec_from_args(Args("mqtt://gw@host")).password == "from-env"
    with pytest.raises(UsageError, match="needs a user"):
        mqtt.spec_from_args(Args("mqtt://host"))
    with pytest.raises(UsageError, match="mqtts"):
        mqtt.spec_from_args(Args("mqtt://gw@host", cafile=str(pw)))


@pytest.mark.parametrize("args, words", [
    (["publish", "--broker", "mqtt://r@127.0.0.1:1", "--trust", "{trust}", "{lib}", "--password-env", "NOPE_X"],
     "NOPE_X is not set"),
    (["publish", "--broker", "ftp://x", "--trust", "{trust}", "{lib}"], "broker URL"),
    (["gateway", "--broker", "mqtt://gateway-icu@127.0.0.1:1", "--port", "p", "--port", "p"], "named twice"),
    (["gateway", "--broker", "mqtt://gateway-icu@127.0.0.1:1", "--port", "p", "--ward", "a/b"], "ward"),
    (["gateway", "--broker", "mqtt://gateway-icu@127.0.0.1:1", "--port", "p", "--poll", "0"], "--poll"),
    (["fleet", "--broker", "mqtt://v@127.0.0.1:1", "--json", "--html", "x.html"], "not allowed with"),
    (["fleet", "--broker", "mqtt://v@127.0.0.1:1"], "cannot reach broker"),
])
def test_command_line_errors_are_one_line(args, words, tmp_path):
    kit = Kit(tmp_path, version=2)
    env_args = [a.format(trust=kit.trust_path, lib=kit.lib_path) for a in args]
    p = druglib(*env_args, timeout=60)
    assert p.returncode != 0
    assert len(p.stderr.strip().splitlines()) == 1, p.stderr
    assert words in p.stderr and "Traceback" not in p.stderr


def test_publish_refuses_what_a_pump_would_refuse_before_touching_the_broker(tmp_path):
    """Nothing listens on port 1: a refusal that came from the broker would say
    'cannot reach'; these come from the pump's own verification first."""
    kit = Kit(tmp_path, version=4)
    forged = tmp_path / "forged.lib"
    forged.write_bytes(with_signatures(kit.unsigned, [signature(kit.unsigned, MALLORY, "author"),
                                                      signature(kit.unsigned, MALLORY, "approver")]))
    unsigned = tmp_path / "unsigned.lib"
    unsigned.write_bytes(kit.unsigned)
    tampered = tmp_path / "tampered.lib"
    t = bytearray(kit.blob)
    t[100] ^= 0x80
    tampered.write_bytes(bytes(t))
    for lib, code in ((forged, "SIG_UNKNOWN_KEY"), (unsigned, "SIG_ROLE_MISSING"), (tampered, "LIB_DIGEST")):
        p = druglib("publish", "--broker", "mqtt://release-station@127.0.0.1:1", "--trust", kit.trust_path, lib)
        assert p.returncode == 1
        assert p.stderr.strip() == p.stderr.strip().splitlines()[0] and "REJECTED %s" % code in p.stderr


# --- the publisher's decision against the fleet ---
def test_the_fleet_baseline_and_what_would_split_or_roll_back_the_fleet(tmp_path):
    os.makedirs(tmp_path / "a")
    os.makedirs(tmp_path / "b")
    k2, k3 = Kit(tmp_path / "a", 2), Kit(tmp_path / "b", 3)
    trust = fw_trust.parse(k2.trust_text)
    empty = fleet_baseline({}, trust)
    assert empty == (None, None, None) and check(Release(k2.blob), trust, empty) == "new"
    held = {topics.RELEASE_LIBRARY: k3.blob}
    base = fleet_baseline(held, trust)
    assert base[:2] == (3, Release(k3.blob).sha256)
    with pytest.raises(PublishRefused) as e:
        check(Release(k2.blob), trust, base)
    assert e.value.code == "LIB_ROLLBACK"
    assert check(Release(k3.blob), trust, base) == "same"
    # the same version with other (validly released) bytes would split the fleet
    from conftest_signing import released
    from host_tools.library.build import compile_model
    from host_tools.library.encode import encode_library

    model = compile_model(None, 3)
    model["library_name"] = "blinatumomab-other"
    v3b = released(encode_library(model))
    with pytest.raises(PublishRefused) as e:
        check(Release(v3b), trust, base)
    assert e.value.code == "PUBLISH_VERSION_REUSED"
    # a forged library on the broker is no baseline; a pump's report is
    forged = with_signatures(k3.unsigned, [signature(k3.unsigned, MALLORY, "author"),
                                           signature(k3.unsigned, MALLORY, "approver")])
    held = {topics.RELEASE_LIBRARY: forged, topics.pump_topic("icu", "p1"): status_msg("p1", version=3)}
    assert fleet_baseline(held, trust)[0] == 3
    assert fleet_baseline({topics.RELEASE_LIBRARY: forged}, trust)[0] is None


# --- the fleet view ---
def _messages(k2, statuses, gateways=(("icu", "gw1", True),), meta_at=NOW - 3600):
    rel = Release(k2.blob)
    m = {topics.RELEASE_LIBRARY: k2.blob,
         topics.RELEASE_META: rel.meta(time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(meta_at)), "t")}
    for ward, gid, online in gateways:
        m[topics.gateway_topic(ward, gid)] = json.dumps({"gateway": gid, "ward": ward, "online": online,
                                                         "reason": None if online else "connection lost"}).encode()
    for i, st in enumerate(statuses):
        m[topics.pump_topic(st.get("ward", "icu"), "p%d" % i)] = json.dumps(st).encode()
    return m


def test_the_view_says_who_is_current_outdated_refused_offline(tmp_path):
    k2 = Kit(tmp_path, 2)
    sha = Release(k2.blob).sha256
    refused = {"outcome": "refused", "code": "SIG_UNKNOWN_KEY", "release_version": 2, "release_sha256": sha}
    sts = [json.loads(status_msg("a", version=2, sha=sha, now=NOW, installed_at=NOW - 600)),
           json.loads(status_msg("b", version=1, now=NOW)),
           json.loads(status_msg("c", version=1, now=NOW, last_result=refused)),
           json.loads(status_msg("d", version=2, now=NOW, online=False)),
           json.loads(status_msg("e", version=2, now=NOW - 3600)),  # its gateway went quiet
           json.loads(status_msg("f", version=2, now=NOW, ward="onc", gateway="gw2"))]
    r = view.build(_messages(k2, sts, gateways=(("icu", "gw1", True), ("onc", "gw2", False))), now=NOW)
    by = {p["pump_id"]: p for p in r["pumps"]}
    assert {k: v["status"] for k, v in by.items()} == {"a": "current", "b": "outdated", "c": "refused",
                                                       "d": "offline", "e": "offline", "f": "offline"}
    assert by["c"]["code"] == "SIG_UNKNOWN_KEY"
    assert "gateway is offline (connection lost)" in by["f"]["offline_reason"]
    assert by["a"]["activation_delay_s"] == 3000  # published an hour ago, installed 10 min ago
    assert r["release"]["age_s"] == 3600 and r["newest"] == {"version": 2, "sha256": sha}
    s = r["summary"]
    assert (s["pumps"], s["on_newest"], s["share_on_newest"], s["gateways_offline"]) == (6, 4, 0.6667, 1)
    assert (s["current"], s["outdated"], s["refused"], s["offline"]) == (1, 1, 1, 3)


def test_a_release_every_pump_refused_is_not_the_fleets_newest(tmp_path):
    k2 = Kit(tmp_path, 5)
    sha = Release(k2.blob).sha256
    refused = {"outcome": "refused", "code": "SIG_UNKNOWN_KEY", "release_version": 5, "release_sha256": sha}
    sts = [json.loads(status_msg(n, version=2, now=NOW, last_result=refused)) for n in "ab"]
    r = view.build(_messages(k2, sts), now=NOW)
    assert r["newest"]["version"] == 2 and r["summary"]["share_on_newest"] == 1.0
    assert r["summary"]["refused"] == 2


def test_a_moved_pump_is_listed_once_where_it_was_seen_last(tmp_path):
    k2 = Kit(tmp_path, 2)
    sts = [json.loads(status_msg("a", version=2, now=NOW - 100)),
           json.loads(status_msg("a", version=2, now=NOW, ward="onc", gateway="gw2"))]
    r = view.build(_messages(k2, sts, gateways=(("icu", "gw1", True), ("onc", "gw2", True))), now=NOW)
    assert [(p["pump_id"], p["ward"]) for p in r["pumps"]] == [("a", "onc")]


def test_garbage_on_the_status_topics_is_ignored(tmp_path):
    k2 = Kit(tmp_path, 2)
    m = _messages(k2, [json.loads(status_msg("a", version=2, now=NOW))])
    m[topics.pump_topic("icu", "junk")] = b"\xff\xfe not json"
    m[topics.pump_topic("icu", "list")] = b"[1, 2]"
    m[topics.pump_topic("icu", "types")] = json.dumps({"pump_id": 7, "version": "2", "online": True}).encode()
    m["druglib/v1/elsewhere"] = b"x"
    r = view.build(m, now=NOW)
    assert sorted(str(p["pump_id"]) for p in r["pumps"]) == ["None", "a"]


def test_the_html_page_escapes_what_the_field_sends_and_needs_no_network(tmp_path):
    k2 = Kit(tmp_path, 2)
    evil = "<img src=x onerror=alert(1)>"
    sts = [json.loads(status_msg(evil, version=2, now=NOW, last_error="<b>cable</b>", online=False))]
    html = page.render(view.build(_messages(k2, sts), now=NOW, broker="mqtt://v@h:1"))
    assert evil not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "<b>cable</b>" not in html
    assert "<script" not in html.lower() and "http://" not in html and "https://" not in html
    assert "<link" not in html.lower() and "@import" not in html
    assert "offline" in html and "cable" in html
    assert html.startswith("<!DOCTYPE html>")


# --- shipped broker configuration ---
def test_the_shipped_acl_is_what_the_generator_writes():
    with open(os.path.join(ROOT, "deploy", "mosquitto", "acl")) as f:
        assert f.read() == broker.acl_text(broker.EXAMPLE_USERS)
    with open(os.path.join(ROOT, "deploy", "mosquitto", "mosquitto.conf")) as f:
        conf = f.read()
    for line in ("allow_anonymous false", "persistence true", "password_file ", "acl_file ", "listener 8883",
                 "certfile ", "tls_version tlsv1.2"):
        assert line in conf
    acl = broker.acl_text(broker.EXAMPLE_USERS)
    block = acl.split("user gateway-icu\n")[1].split("\n\n")[0]
    assert block == "topic read druglib/v1/release/#\ntopic readwrite druglib/v1/ward/icu/#"
