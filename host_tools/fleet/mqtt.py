"""Talking to the broker with paho-mqtt (MQTT 5): URL, credentials, TLS, and
three things every fleet command needs: connect (bounded wait), read the
retained messages under some topics, publish and wait for the broker's
acknowledgement with its reason code (MQTT 5 section 3.4.2.1: an ACL
refusal is "Not authorized", 0x87, not silence).

    --broker mqtt://USER@HOST[:PORT]     plain TCP, default port 1883
    --broker mqtts://USER@HOST[:PORT]    TLS (certificate checked), default 8883
    password: --password-file FILE, --password-env VAR, or $DRUGLIB_MQTT_PASSWORD

A password inside the URL is refused: it would show in the process list.
"""
import os
import ssl
import threading
import time
import urllib.parse

from host_tools.errors import DruglibError, UsageError

CONNECT_TIMEOUT_S = 15
ACK_TIMEOUT_S = 30
PASSWORD_ENV = "DRUGLIB_MQTT_PASSWORD"
BROKER_ENV = "DRUGLIB_BROKER"


class BrokerError(DruglibError):
    """The broker cannot be reached, refused the login, or refused a publication."""


def add_options(p):
    p.add_argument("--broker", default=os.environ.get(BROKER_ENV), metavar="URL",
                   help="mqtt://USER@HOST[:PORT] or mqtts://... (TLS); default $%s" % BROKER_ENV)
    p.add_argument("--password-file", metavar="FILE", help="file whose first line is the broker password")
    p.add_argument("--password-env", metavar="VAR",
                   help="environment variable holding the broker password (default %s)" % PASSWORD_ENV)
    p.add_argument("--cafile", metavar="PEM", help="CA certificate(s) to check the broker's TLS certificate")
    p.add_argument("--certfile", metavar="PEM", help="client certificate for TLS (if the broker asks for one)")
    p.add_argument("--keyfile", metavar="PEM", help="key of the client certificate")


class BrokerSpec:
    def __init__(self, host, port, tls, user=None, password=None, cafile=None, certfile=None, keyfile=None):
        self.host, self.port, self.tls = host, port, tls
        self.user, self.password = user, password
        self.cafile, self.certfile, self.keyfile = cafile, certfile, keyfile

    def __str__(self):
        return "%s://%s%s:%d" % ("mqtts" if self.tls else "mqtt", self.user + "@" if self.user else "",
                                 self.host, self.port)


def parse_url(url):
    """-> (host, port, tls, user) from mqtt[s]://[user@]host[:port]."""
    if not url:
        raise UsageError("give --broker mqtt://USER@HOST[:PORT] (or set %s)" % BROKER_ENV)
    u = urllib.parse.urlsplit(url)
    if u.scheme not in ("mqtt", "mqtts"):
        raise UsageError("broker URL %r: use mqtt://USER@HOST[:PORT] or mqtts://USER@HOST[:PORT]" % url)
    try:
        port = u.port
    except ValueError:
        raise UsageError("broker URL %r: the port is not a number from 1 to 65535" % url) from None
    if u.password is not None:
        raise UsageError("broker URL: do not put the password in the URL (it shows in the process list); "
                         "use --password-file or --password-env")
    if not u.hostname or u.path not in ("", "/") or u.query or u.fragment:
        raise UsageError("broker URL %r: use mqtt://USER@HOST[:PORT]" % url)
    tls = u.scheme == "mqtts"
    return u.hostname, port or (8883 if tls else 1883), tls, (urllib.parse.unquote(u.username) if u.username else None)


def spec_from_args(args):
    from host_tools.release.keys import read_passphrase

    host, port, tls, user = parse_url(args.broker)
    pw = read_passphrase(args.password_file, args.password_env)
    if pw is None and os.environ.get(PASSWORD_ENV):
        pw = os.environ[PASSWORD_ENV].encode("utf-8")
    if pw is not None and not user:
        raise UsageError("a broker password needs a user: --broker mqtt://USER@HOST")
    for name in ("cafile", "certfile", "keyfile"):
        path = getattr(args, name)
        if path and not os.path.isfile(path):
            raise UsageError("--%s %s does not exist" % (name, path))
    if (args.cafile or args.certfile) and not tls:
        raise UsageError("--cafile/--certfile need an mqtts:// broker URL")
    return BrokerSpec(host, port, tls, user, pw.decode("utf-8") if pw is not None else None,
                      args.cafile, args.certfile, args.keyfile)


def make_client(spec, client_id, will=None):
    """A paho client (MQTT 5, callback API 2), credentials and TLS set, not connected.
    `will`: (topic, payload bytes) published retained, QoS 1, if we vanish."""
    import paho.mqtt.client as mqtt

    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
    if spec.user:
        c.username_pw_set(spec.user, spec.password)
    if spec.tls:
        c.tls_set(ca_certs=spec.cafile, certfile=spec.certfile, keyfile=spec.keyfile,
                  cert_reqs=ssl.CERT_REQUIRED, tls_version=ssl.PROTOCOL_TLS_CLIENT)
    if will is not None:
        c.will_set(will[0], will[1], qos=1, retain=True)
    return c


class Session:
    """A connected client for a short command (publish, fleet): connect, read
    retained messages, publish with acknowledgement, disconnect."""

    def __init__(self, spec, client_id, timeout=CONNECT_TIMEOUT_S):
        self.spec = spec
        self.client = make_client(spec, client_id)
        self.cv = threading.Condition()
        self.connected = None  # reason code once CONNACK arrived
        self.acks = {}  # mid -> reason code
        self.subacks = {}
        self.messages = {}  # topic -> payload (latest)
        self.properties = {}  # topic -> MQTT 5 user properties of that message
        self.last_message = 0.0
        self.client.on_connect = self._on_connect
        self.client.on_publish = self._on_publish
        self.client.on_subscribe = self._on_subscribe
        self.client.on_message = self._on_message
        try:
            self.client.connect(spec.host, spec.port, keepalive=30)
        except ssl.SSLError as e:
            raise BrokerError("TLS with broker %s failed: %s" % (spec, e.reason or e)) from None
        except (OSError, ValueError) as e:
            raise BrokerError("cannot reach broker %s: %s" % (spec, getattr(e, "strerror", None) or e)) from None
        self.client.loop_start()
        with self.cv:
            self.cv.wait_for(lambda: self.connected is not None, timeout)
        if self.connected is None:
            self.close()
            raise BrokerError("broker %s did not answer the connection within %d s" % (spec, timeout))
        if self.connected.is_failure:
            self.close()
            raise BrokerError("broker %s refused the connection: %s" % (spec, self.connected))

    def _on_connect(self, client, userdata, flags, reason_code, properties):
        with self.cv:
            self.connected = reason_code
            self.cv.notify_all()

    def _on_publish(self, client, userdata, mid, reason_code, properties):
        with self.cv:
            self.acks[mid] = reason_code
            self.cv.notify_all()

    def _on_subscribe(self, client, userdata, mid, reason_codes, properties):
        with self.cv:
            self.subacks[mid] = reason_codes
            self.cv.notify_all()

    def _on_message(self, client, userdata, msg):
        with self.cv:
            self.messages[msg.topic] = bytes(msg.payload)
            props = getattr(msg, "properties", None)
            self.properties[msg.topic] = list(getattr(props, "UserProperty", None) or [])
            self.last_message = time.monotonic()
            self.cv.notify_all()

    def retained(self, topics, quiet=0.5, cap=10.0):
        """Subscribe to `topics` and collect what arrives until `quiet` seconds
        pass without a message (the broker sends retained messages right after
        its SUBACK), at most `cap` s. -> {topic: payload} (empty payloads, i.e.
        deleted retained messages, left out)."""
        res, mid = self.client.subscribe([(t, 1) for t in topics])
        if res != 0:
            raise BrokerError("cannot subscribe on broker %s (error %s)" % (self.spec, res))
        with self.cv:
            if not self.cv.wait_for(lambda: mid in self.subacks, ACK_TIMEOUT_S):
                raise BrokerError("broker %s did not acknowledge the subscription" % self.spec)
            bad = [str(rc) for rc in self.subacks[mid] if rc.is_failure]
            if bad:
                raise BrokerError("broker %s refused the subscription: %s" % (self.spec, ", ".join(bad)))
            self.last_message = time.monotonic()
            end = time.monotonic() + cap
            while True:
                now = time.monotonic()
                wait = min(self.last_message + quiet, end) - now
                if wait <= 0:
                    break
                self.cv.wait(wait)
            return {t: p for t, p in self.messages.items() if p}

    def publish(self, topic, payload, retain=True, timeout=ACK_TIMEOUT_S, user_properties=None):
        """QoS 1; waits for PUBACK and raises BrokerError on a refusal.
        `user_properties`: [(name, value)] sent with the message (MQTT 5 section 3.3.2.3.7)."""
        props = None
        if user_properties:
            from paho.mqtt.packettypes import PacketTypes
            from paho.mqtt.properties import Properties

            props = Properties(PacketTypes.PUBLISH)
            props.UserProperty = [(str(k), str(v)) for k, v in user_properties]
        info = self.client.publish(topic, payload, qos=1, retain=retain, properties=props)
        if info.rc != 0:
            raise BrokerError("cannot publish on %s (error %s)" % (topic, info.rc))
        with self.cv:
            if not self.cv.wait_for(lambda: info.mid in self.acks, timeout):
                raise BrokerError("broker %s did not acknowledge the publication on %s within %d s"
                                  % (self.spec, topic, timeout))
            rc = self.acks[info.mid]
        if rc.is_failure:
            raise BrokerError("broker %s refused the publication on %s: %s (user %s)"
                              % (self.spec, topic, rc, self.spec.user or "anonymous"))

    def close(self):
        try:
            self.client.disconnect()
        except Exception:
            pass
        self.client.loop_stop()


def client_id(prefix):
    return "%s-%d-%d" % (prefix, os.getpid(), int(time.time() * 1000) % 1000000)
