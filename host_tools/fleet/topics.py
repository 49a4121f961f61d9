"""The topic tree (docs/fleet.md, "Topics"): one place for every name.

    druglib/v1/release/library             retained, QoS 1: the signed library bytes, exactly the file
    druglib/v1/release/meta                retained, QoS 1: JSON {version, sha256, bytes, library, published_at}
    druglib/v1/ward/<ward>/gateway/<id>    retained, QoS 1: JSON gateway liveness (last will: offline)
    druglib/v1/ward/<ward>/pump/<key>      retained, QoS 1: JSON status of one pump

MQTT topic names are UTF-8 and `+`, `#` are wildcards, `/` separates levels
(MQTT 3.1.1 section 4.7); a ward or gateway name is therefore restricted to
letters, digits, `.`, `_` and `-`, and a pump id that is not (it comes from
the device) is replaced by a hash of itself in the topic (its JSON keeps it).
"""
import hashlib
import re

from host_tools.errors import UsageError

ROOT = "druglib/v1"
RELEASE_LIBRARY = ROOT + "/release/library"
RELEASE_META = ROOT + "/release/meta"
RELEASE_ALL = ROOT + "/release/+"
WARD_ALL = ROOT + "/ward/#"
PUMPS_ALL = ROOT + "/ward/+/pump/+"
ALL = ROOT + "/#"

SCHEMA = 1  # of every JSON payload here: a reader ignores what it does not know
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def check_name(value, what):
    """A ward or gateway name usable as one topic level; UsageError otherwise."""
    if not isinstance(value, str) or not NAME_RE.match(value):
        raise UsageError("%s %r: use 1 to 64 letters, digits, '.', '_' or '-' (starting with a letter or digit)"
                         % (what, value))
    return value


def ward_root(ward):
    return "%s/ward/%s" % (ROOT, check_name(ward, "ward"))


def gateway_topic(ward, gateway_id):
    return "%s/gateway/%s" % (ward_root(ward), check_name(gateway_id, "gateway id"))


def pump_key(pump_id=None, port=None):
    """Topic level for a pump: its id when it is a plain name, else a hash of it;
    a pump that never answered is keyed by its port."""
    if pump_id:
        if NAME_RE.match(pump_id):
            return pump_id
        return "id-" + hashlib.sha256(pump_id.encode("utf-8")).hexdigest()[:16]
    return "port-" + hashlib.sha256((port or "").encode("utf-8")).hexdigest()[:16]


def pump_topic(ward, key):
    return "%s/pump/%s" % (ward_root(ward), key)


def parse(topic):
    """-> (kind, ward, name) for a ward topic, ("release", None, "library"|"meta"),
    or None for anything else (ignored by readers)."""
    parts = topic.split("/")
    if len(parts) == 4 and "/".join(parts[:3]) == ROOT + "/release" and parts[3] in ("library", "meta"):
        return "release", None, parts[3]
    if len(parts) == 6 and "/".join(parts[:3]) == ROOT + "/ward" and parts[4] in ("gateway", "pump"):
        return parts[4], parts[3], parts[5]
    return None
