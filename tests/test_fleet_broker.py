"""The fleet against a real Mosquitto (own config, password file, ACL) with
pumps in process (firmware Pump + PumpServer behind an in-memory cable):
who may publish what, TLS, a refusal reported once even across a broker
restart, a pump that never answered, a wrong password."""
import datetime
import json
import os

import pytest

from fleetkit import PASSWORD, USERS, MemPump, kits, need_mosquitto, spec, start_broker, wait_for
from firmware.release import trust as fw_trust
from host_tools.fleet import topics, view
from host_tools.fleet.gateway import Gateway
from host_tools.fleet.mqtt import BrokerError, BrokerSpec, Session
from host_tools.fleet.publisher import publish
from host_tools.link.client import PumpLink
from pumpsimproc import druglib

need_mosquitto()


@pytest.fixture
def broker(tmp_path):
    b = start_broker(tmp_path / "broker")
    yield b
    b.stop()


def session(b, user, password=None):
    s = spec(b, user)
    if password is not None:
        s.password = password
    return Session(s, "t-%s-%d" % (user, os.getpid()))


def snapshot(b):
    s = session(b, "fleet-view")
    try:
        return s.retained([topics.ALL], quiet=0.3)
    finally:
        s.close()


def gateway(b, ward, cables, events=None, state=None):
    return Gateway(spec(b, "gateway-" + ward), ward, "gw-" + ward, cables,
                   lambda c: PumpLink(port=c, timeout=0.5, retries=2), poll_s=0.2, heartbeat_s=2,
                   emit=(events.append if events is not None else None), state_path=state).start()


def test_only_the_release_station_publishes_libraries_and_a_gateway_only_under_its_ward(broker):
    s = session(broker, "gateway-icu")
    try:
        with pytest.raises(BrokerError, match="Not authorized"):
            s.publish(topics.RELEASE_LIBRARY, b"a library from a gateway")
        with pytest.raises(BrokerError, match="Not authorized"):
            s.publish(topics.pump_topic("oncology", "p1"), b"{}")
        with pytest.raises(BrokerError, match="Not authorized"):
            s.publish(topics.RELEASE_META, b"{}")
        s.publish(topics.pump_topic("icu", "p1"), b'{"pump_id": "p1"}')  # its own ward: fine
    finally:
        s.close()
    v = session(broker, "fleet-view")
    try:
        with pytest.raises(BrokerError, match="Not authorized"):
            v.publish(topics.RELEASE_LIBRARY, b"x")
        with pytest.raises(BrokerError, match="Not authorized"):
            v.publish(topics.pump_topic("icu", "p1"), b"{}")
    finally:
        v.close()
    held = snapshot(broker)
    assert topics.RELEASE_LIBRARY not in held and topics.pump_topic("oncology", "p1") not in held
    with pytest.raises(BrokerError, match="refused the connection"):
        session(broker, "gateway-icu", password="wrong")
    with pytest.raises(BrokerError, match="refused the connection"):
        Session(BrokerSpec("127.0.0.1", broker.port, False), "anonymous")


def test_publish_as_a_gateway_user_is_one_line_from_the_broker(broker, tmp_path):
    k = kits(tmp_path, [2])[2]
    pw = tmp_path / "pw"
    pw.write_text(PASSWORD["gateway-icu"])
    p = druglib("publish", "--broker", broker.url("gateway-icu"), "--password-file", pw, "--trust", k.trust_path,
                k.lib_path)
    assert p.returncode == 1 and len(p.stderr.strip().splitlines()) == 1
    assert "Not authorized" in p.stderr and "Traceback" not in p.stderr
    assert topics.RELEASE_LIBRARY not in snapshot(broker)


def test_a_refusal_is_reported_once_and_never_retried_even_across_a_broker_restart(broker, tmp_path):
    """Story: two pumps on v2; v1 is put on the topic with valid credentials;
    each pump refuses it once; the broker restarts (the retained v1 comes
    back to the reconnected gateway); no pump is asked again."""
    k = kits(tmp_path, [1, 2])
    trust = fw_trust.parse(k[2].trust_text)
    pumps = [MemPump(k[2].trust_text, "icu-%d" % i) for i in range(2)]
    events = []
    gw = gateway(broker, "icu", [p.cable for p in pumps], events)
    try:
        publish(spec(broker, "release-station"), k[2].blob, trust)
        assert wait_for(lambda: all(p.version() == 2 for p in pumps), 30)
        s = session(broker, "release-station")
        s.publish(topics.RELEASE_LIBRARY, k[1].blob)
        s.close()
        assert wait_for(lambda: all(p.rejected() == [(1, "LIB_ROLLBACK")] for p in pumps), 30)
        sent = [p.cable.sent for p in pumps]
        broker.stop()
        assert wait_for(lambda: any(e["event"] == "disconnected" for e in events), 20)
        broker.start()
        assert wait_for(lambda: sum(e["event"] == "connected" for e in events) >= 2, 30)
        # time for many polls (0.2 s) and the re-delivered retained v1
        wait_for(lambda: False, 2.0)
        assert [p.rejected() for p in pumps] == [[(1, "LIB_ROLLBACK")]] * 2
        assert [p.version() for p in pumps] == [2, 2]
        # what went over the cables since: INFO polls only, never a library again
        assert all(p.cable.sent - before < len(k[1].blob) for p, before in zip(pumps, sent))
        assert sum(e["event"] == "refused" for e in events) == 2
        r = view.build(snapshot(broker))
        assert r["summary"]["refused"] == 2 and {p["code"] for p in r["pumps"]} == {"LIB_ROLLBACK"}
    finally:
        gw.stop()


def test_other_bytes_under_the_fleets_version_are_refused_by_every_pump(broker, tmp_path):
    """Issue 10 item 1. Story: two pumps run v2; a corrected library released
    under v2 again is put on the topic directly (publish would refuse it,
    PUBLISH_VERSION_REUSED); each pump refuses it once with
    LIB_VERSION_REUSED and keeps its library; the view says refused, and the
    pumps' status carries the digest they run."""
    import hashlib

    from conftest_signing import released
    from host_tools.library.build import compile_model
    from host_tools.library.encode import encode_library

    k = kits(tmp_path, [2])
    trust = fw_trust.parse(k[2].trust_text)
    model = compile_model(None, 2)
    model["drug"]["limits"]["weight_max_g"] -= 50000
    v2b = released(encode_library(model))
    pumps = [MemPump(k[2].trust_text, "ward-%d" % i) for i in range(2)]
    events = []
    gw = gateway(broker, "icu", [p.cable for p in pumps], events)
    try:
        publish(spec(broker, "release-station"), k[2].blob, trust)
        assert wait_for(lambda: all(p.version() == 2 for p in pumps), 30)
        before = [p.pump.store.commit.lib_sha256 for p in pumps]
        s = session(broker, "release-station")
        s.publish(topics.RELEASE_LIBRARY, v2b)
        s.close()
        assert wait_for(lambda: all(p.rejected() == [(2, "LIB_VERSION_REUSED")] for p in pumps), 30)
        assert [p.pump.store.commit.lib_sha256 for p in pumps] == before == [hashlib.sha256(k[2].blob).digest()] * 2
        assert wait_for(lambda: sum(e["event"] == "refused" for e in events) == 2, 10)
        r = view.build(snapshot(broker))
        assert {p["code"] for p in r["pumps"]} == {"LIB_VERSION_REUSED"}
        assert {p["library_sha256"] for p in r["pumps"]} == {hashlib.sha256(k[2].blob).hexdigest()}
    finally:
        gw.stop()


def test_a_new_pump_on_the_port_is_a_new_pump(broker, tmp_path):
    """Refusals belong to a pump: another pump on the same port is offered the release."""
    k = kits(tmp_path, [1, 2])
    old = MemPump(k[2].trust_text, "old")
    gw = gateway(broker, "icu", [old.cable])
    try:
        s = session(broker, "release-station")
        s.publish(topics.RELEASE_LIBRARY, k[2].blob)
        s.close()
        assert wait_for(lambda: old.version() == 2, 30)
        fresh = MemPump(k[2].trust_text, "fresh")
        old.cable.server = fresh.server  # swap the pump behind the cable
        assert wait_for(lambda: fresh.version() == 2, 30)
        r = wait_for(lambda: (lambda r: r if {p["pump_id"] for p in r["pumps"]} == {"old", "fresh"} else None)(
            view.build(snapshot(broker))), 20)
        assert r, view.build(snapshot(broker))
    finally:
        gw.stop()


def test_a_pump_that_never_answered_is_listed_by_port_until_it_does(broker, tmp_path):
    k = kits(tmp_path, [2])
    p = MemPump(k[2].trust_text, "late")
    p.cable.pull()
    gw = gateway(broker, "icu", [p.cable])
    try:
        r = wait_for(lambda: (lambda r: r if r["pumps"] else None)(view.build(snapshot(broker))), 20)
        assert r and r["pumps"][0]["pump_id"] is None and r["pumps"][0]["status"] == "offline"
        assert "cable pulled" in r["pumps"][0]["offline_reason"]
        p.cable.plug()
        held = wait_for(lambda: (lambda h: h if topics.pump_topic("icu", "late") in h else None)(snapshot(broker)), 20)
        assert held and not [t for t in held if "/pump/port-" in t]  # the port-keyed status is gone
    finally:
        gw.stop()


def test_a_gateway_with_a_wrong_password_stops_with_one_line(broker, tmp_path):
    pw = tmp_path / "pw"
    pw.write_text("not the password\n")
    p = druglib("gateway", "--broker", broker.url("gateway-icu"), "--password-file", pw, "--port", "/dev/null-x",
                timeout=60)
    assert p.returncode == 1
    assert p.stderr.strip().splitlines() == [p.stderr.strip()] and "refused the gateway" in p.stderr


def _tls_files(folder):
    """A CA and a broker certificate for 127.0.0.1 (cryptography)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    import ipaddress

    now = datetime.datetime.now(datetime.timezone.utc)

    def cert(subject, issuer, key, sign_key, ca, san=None):
        b = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer).public_key(key.public_key())
             .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
             .not_valid_after(now + datetime.timedelta(days=1))
             .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
        if san:
            b = b.add_extension(x509.SubjectAlternativeName(san), critical=False)
        return b.sign(sign_key, hashes.SHA256())

    ca_key, srv_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "druglib test CA")])
    srv_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    ca = cert(ca_name, ca_name, ca_key, ca_key, True)
    srv = cert(srv_name, ca_name, srv_key, ca_key, False, [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))])
    paths = [os.path.join(folder, n) for n in ("ca.crt", "broker.crt", "broker.key")]
    os.makedirs(folder, exist_ok=True)
    with open(paths[0], "wb") as f:
        f.write(ca.public_bytes(serialization.Encoding.PEM))
    with open(paths[1], "wb") as f:
        f.write(srv.public_bytes(serialization.Encoding.PEM))
    with open(paths[2], "wb") as f:
        f.write(srv_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                      serialization.NoEncryption()))
    return paths


def test_tls_where_configured_and_the_certificate_is_checked(tmp_path):
    ca, crt, key = _tls_files(str(tmp_path / "tls"))
    other_ca = _tls_files(str(tmp_path / "other"))[0]
    b = start_broker(tmp_path / "broker", USERS, tls=(ca, crt, key))
    try:
        k = kits(tmp_path, [2])[2]
        pw = tmp_path / "pw"
        pw.write_text(PASSWORD["release-station"])
        args = ["publish", "--broker", b.url("release-station", tls=True), "--password-file", pw,
                "--trust", k.trust_path, k.lib_path, "--json"]
        p = druglib(*args, "--cafile", ca)
        assert p.returncode == 0, p.stderr
        assert json.loads(p.stdout)["version"] == 2
        p = druglib(*args, "--cafile", other_ca)  # a broker we cannot authenticate: nothing sent
        assert p.returncode == 1 and "TLS" in p.stderr and len(p.stderr.strip().splitlines()) == 1
    finally:
        b.stop()


class StubPump:
    """A pump that answers INFO and refuses every BEGIN with one device code."""

    def __init__(self, code):
        from firmware.link import frames

        self.frames, self.code = frames, code
        self.dec = frames.Decoder()
        self.begins = 0

    def feed(self, data):
        from firmware.store import logrec

        f, out = self.frames, b""
        for item in self.dec.feed(data):
            if not isinstance(item, f.Frame):
                continue
            if item.ftype == f.INFO:
                body = {"pump_id": "stub", "state": "no-library", "version": 0, "library": ""}
                out += f.encode(f.INFO | f.OK, item.seq, logrec.encode_fields(body))
            else:
                self.begins += item.ftype == f.BEGIN
                out += f.encode(f.ERR, item.seq, logrec.encode_fields({"code": self.code, "message": "stub"}))
        return out


@pytest.mark.parametrize("code, outcome, tries", [("STORAGE_IO", "failed", 5), ("LINK_TOO_LARGE", "refused", 1)])
def test_a_pump_that_keeps_answering_an_error_is_not_pushed_forever(broker, tmp_path, code, outcome, tries):
    from fleetkit import Cable
    from host_tools.fleet import workers

    k = kits(tmp_path, [2])[2]
    stub = StubPump(code)
    events = []
    gw = Gateway(spec(broker, "gateway-icu"), "icu", "gw-icu", [Cable(stub, 0, "stub")],
                 lambda c: PumpLink(port=c, timeout=0.5, retries=1), poll_s=0.05, heartbeat_s=2,
                 emit=events.append).start()
    try:
        s = session(broker, "release-station")
        s.publish(topics.RELEASE_LIBRARY, k.blob)
        s.close()
        assert wait_for(lambda: stub.begins >= tries, 30)
        wait_for(lambda: False, 0.05 * workers.MAX_BACKOFF * 2 + 1)  # long enough for many more polls
        assert stub.begins == tries
        assert len([e for e in events if e["event"] == outcome]) == (1 if outcome == "refused" else 2)
        r = view.build(snapshot(broker))
        assert r["pumps"][0]["last_result"]["outcome"] == outcome and r["pumps"][0]["last_result"]["code"] == code
    finally:
        gw.stop()


def test_a_gateway_started_before_its_broker_connects_when_the_broker_comes(tmp_path):
    from host_tools.fleet.broker import Broker

    k = kits(tmp_path, [2])[2]
    b = Broker(str(tmp_path / "broker"), USERS)  # configured, not started
    pump = MemPump(k.trust_text, "early")
    events = []
    gw = gateway(b, "icu", [pump.cable], events)
    try:
        assert wait_for(lambda: any(e["event"] == "online" for e in events), 10)
        b.start()
        publish(spec(b, "release-station"), k.blob, fw_trust.parse(k.trust_text))
        assert wait_for(lambda: pump.version() == 2, 40)
        r = wait_for(lambda: (lambda r: r if r["summary"]["current"] == 1 else None)(view.build(snapshot(b))), 20)
        assert r and r["gateways"][0]["online"]
    finally:
        gw.stop()
        b.stop()


def test_publish_puts_version_and_digest_beside_the_bytes(broker, tmp_path):
    k = kits(tmp_path, [2])[2]
    r = publish(spec(broker, "release-station"), k.blob, fw_trust.parse(k.trust_text))
    s = session(broker, "fleet-view")
    try:
        held = s.retained([topics.RELEASE_ALL], quiet=0.3)
        props = dict(s.properties[topics.RELEASE_LIBRARY])
    finally:
        s.close()
    assert held[topics.RELEASE_LIBRARY] == k.blob  # the file, byte for byte
    meta = json.loads(held[topics.RELEASE_META])
    assert (meta["version"], meta["sha256"], meta["bytes"]) == (2, r["sha256"], len(k.blob))
    assert props["version"] == "2" and props["sha256"] == r["sha256"] == meta["sha256"]


def test_a_gateway_restarted_with_its_state_does_not_offer_a_refused_release_again(broker, tmp_path):
    """A gateway its supervisor restarts in a loop must not fill the pumps'
    bounded logs with the same refusal: `--state` keeps what each pump settled."""
    k = kits(tmp_path, [1, 2])
    pump = MemPump(k[2].trust_text, "icu-1")
    state = str(tmp_path / "gw-state.json")
    s = session(broker, "release-station")
    s.publish(topics.RELEASE_LIBRARY, k[2].blob)
    gw = gateway(broker, "icu", [pump.cable], state=state)
    try:
        assert wait_for(lambda: pump.version() == 2, 30)
        s.publish(topics.RELEASE_LIBRARY, k[1].blob)
        assert wait_for(lambda: pump.rejected() == [(1, "LIB_ROLLBACK")], 30)
    finally:
        gw.stop()
        s.close()
    for _restart in range(3):
        events = []
        gw = gateway(broker, "icu", [pump.cable], events, state=state)
        try:
            assert wait_for(lambda: any(e["event"] == "release" for e in events), 20)
            assert wait_for(lambda: any(e["event"] == "online" for e in events), 20)
            wait_for(lambda: False, 1.0)  # several polls
        finally:
            gw.stop()
        assert not [e for e in events if e["event"] in ("refused", "installed", "failed")]
    assert pump.rejected() == [(1, "LIB_ROLLBACK")] and pump.version() == 2
    r = view.build(snapshot(broker))
    assert r["pumps"][0]["last_result"]["code"] == "LIB_ROLLBACK"  # remembered, still shown


def test_an_unreadable_gateway_state_is_one_line(tmp_path):
    bad = tmp_path / "state.json"
    bad.write_text("{not json")
    p = druglib("gateway", "--broker", "mqtt://gateway-icu@127.0.0.1:1", "--port", "/dev/null-x", "--state", bad,
                timeout=60)
    assert p.returncode == 1 and len(p.stderr.strip().splitlines()) == 1 and "move it away" in p.stderr


def test_two_gateways_with_one_id_do_not_fight_for_the_session(broker, tmp_path):
    """Misconfigured: two gateways with the same ward and id take the MQTT
    session from each other forever. One of them stops, saying why; the
    other stays connected and online."""
    k = kits(tmp_path, [2])[2]
    a = gateway(broker, "icu", [MemPump(k.trust_text, "a").cable])
    b = None
    try:
        assert a.connected.wait(20)
        b = gateway(broker, "icu", [MemPump(k.trust_text, "b").cable])
        assert wait_for(lambda: a.fatal or b.fatal, 40)
        loser, winner = (a, b) if a.fatal else (b, a)
        assert "give each gateway its own --id" in loser.fatal and not winner.fatal
        loser.stop()
        assert winner.connected.wait(20)
        wait_for(lambda: False, 3)
        assert winner.connected.is_set() and not winner.fatal
        r = view.build(snapshot(broker))
        assert [g["online"] for g in r["gateways"]] == [True]
    finally:
        a.stop()
        if b is not None:
            b.stop()
