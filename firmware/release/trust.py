# The pump's trust store (docs/signing.md, "Trust store"): which public keys
# may release a library, and in which role.
#
# File format, UTF-8 JSON, written by `druglib keygen --trust` on the host:
#
#   {"format": "druglib-trust/1",
#    "keys": [{"key_id": "<16 hex>", "role": "author" | "approver",
#              "alg": "ed25519", "public_key": "<64 hex>", "name": "<label>"}]}
#
# key_id = first 8 bytes of SHA-256(raw 32-byte public key); it is stored for
# people reading the file and checked against the key. "name" is optional.
# Anything else is malformed (TrustStoreError): bad JSON (read with the
# firmware's strict reader, firmware/jsontext.py: a key twice in any object,
# "keys" or a key's "role", is malformed on both engines, issue 10 item 2;
# the json module kept the last), unknown or missing
# fields, bad hex, wrong lengths, an unknown role or algorithm, an invalid
# Ed25519 point, the same key (or key id) twice, no keys, too many keys. A key
# holds exactly one role: the two-person rule needs two different keys.
#
# Pure core: parse(text) -> TrustStore; load(path) is the only file access.
import binascii
import hashlib

from firmware import jsontext
from firmware.release import ed25519
from firmware.library.container import ALG_ED25519, KEY_ID_LEN, ROLE_APPROVER, ROLE_AUTHOR, ROLE_NAMES
from firmware.errors import TrustStoreError

FORMAT = "druglib-trust/1"
MAX_KEYS = 16
MAX_NAME = 64
ROLES = {"author": ROLE_AUTHOR, "approver": ROLE_APPROVER}
ALGS = {"ed25519": ALG_ED25519}
_FIELDS = ("key_id", "role", "alg", "public_key", "name")
_HEX = "0123456789abcdef"


def key_id_of(public_key):
    """Key id of a raw public key: the first 8 bytes of its SHA-256."""
    return hashlib.sha256(bytes(public_key)).digest()[:KEY_ID_LEN]


def _unhex(text, nbytes, what):
    """Exactly `nbytes` bytes from exactly 2 * nbytes hex digits (either case), else TrustStoreError.

    The digits are checked here, not left to binascii.unhexlify: the engines
    differ on bad input (MicroPython 1.29 skips whitespace, "12 34" gives two
    bytes; CPython raises), and the pump must refuse what `druglib verify`
    refuses (tests/test_trust_hex.py, tests/mpy/mpy_trust_hex.py).
    """
    if not isinstance(text, str) or len(text) != 2 * nbytes:
        raise TrustStoreError("%s must be %d hex digits" % (what, 2 * nbytes))
    for c in text.lower():
        if c not in _HEX:
            raise TrustStoreError("%s is not hexadecimal" % what)
    return binascii.unhexlify(text)


class TrustedKey:
    def __init__(self, key_id, role, alg, public_key, verifier, name):
        self.key_id = key_id  # 8 bytes
        self.role = role  # ROLE_AUTHOR or ROLE_APPROVER
        self.alg = alg  # ALG_ED25519
        self.public_key = public_key  # raw 32 bytes
        self.verifier = verifier  # ed25519.PublicKey, decoded once here
        self.name = name


class TrustStore:
    def __init__(self, keys):
        self.keys = keys  # list of TrustedKey, file order
        self._by_id = {}
        for k in keys:
            self._by_id[k.key_id] = k

    def lookup(self, key_id):
        """The trusted key with this 8-byte id, or None."""
        return self._by_id.get(bytes(key_id))


def _shown(v):
    """A JSON value as the file spells it: 1, not Number('1')."""
    return v.text if isinstance(v, jsontext.Number) else repr(v)


def _entry(n, item):
    where = "key %d" % n
    if not isinstance(item, dict):
        raise TrustStoreError("%s is not an object" % where)
    for field in item:
        if field not in _FIELDS:
            raise TrustStoreError("%s has unknown field %r" % (where, field))
    for field in ("key_id", "role", "alg", "public_key"):
        if field not in item:
            raise TrustStoreError("%s lacks %r" % (where, field))
    role = ROLES.get(item["role"]) if isinstance(item["role"], str) else None
    if role is None:
        raise TrustStoreError("%s has unknown role %s (author or approver)" % (where, _shown(item["role"])))
    alg = ALGS.get(item["alg"]) if isinstance(item["alg"], str) else None
    if alg is None:
        raise TrustStoreError("%s has unsupported algorithm %s" % (where, _shown(item["alg"])))
    raw = _unhex(item["public_key"], 32, where + " public_key")
    kid = _unhex(item["key_id"], KEY_ID_LEN, where + " key_id")
    if kid != key_id_of(raw):
        raise TrustStoreError("%s key_id does not match its public key" % where)
    name = item.get("name", "")
    if not isinstance(name, str) or len(name) > MAX_NAME:
        raise TrustStoreError("%s name must be text of at most %d characters" % (where, MAX_NAME))
    try:
        verifier = ed25519.PublicKey(raw)
    except ValueError as e:
        raise TrustStoreError("%s public key is not a valid Ed25519 key: %s" % (where, e))
    return TrustedKey(kid, role, alg, raw, verifier, name)


def parse(text):
    """Parse trust store text (str or bytes); TrustStoreError on anything malformed."""
    if isinstance(text, (bytes, bytearray)):
        try:
            # the strict decoder: the same verdict on both engines
            text = jsontext.decode_utf8(bytes(text))
        except Exception:
            raise TrustStoreError("trust store is not UTF-8 text")
    if len(text) > jsontext.MAX_TEXT:  # the reader's own limit, named for what this is
        raise TrustStoreError("trust store longer than %d characters" % jsontext.MAX_TEXT)
    try:
        doc = jsontext.loads(text)
    except jsontext.JsonTextError as e:
        raise TrustStoreError("trust store is not valid JSON: %s" % e.message)
    except Exception:
        raise TrustStoreError("trust store is not valid JSON")
    if not isinstance(doc, dict):
        raise TrustStoreError("trust store must be a JSON object")
    for field in doc:
        if field not in ("format", "keys"):
            raise TrustStoreError("trust store has unknown field %r" % field)
    if doc.get("format") != FORMAT:
        raise TrustStoreError("trust store format must be %r" % FORMAT)
    items = doc.get("keys")
    if not isinstance(items, list) or not items:
        raise TrustStoreError("trust store lists no keys")
    if len(items) > MAX_KEYS:
        raise TrustStoreError("trust store lists %d keys, at most %d allowed" % (len(items), MAX_KEYS))
    keys = []
    seen = {}
    for n, item in enumerate(items):
        k = _entry(n, item)
        if k.key_id in seen:
            raise TrustStoreError("key %d repeats key %d (%s); a key holds one role only"
                                  % (n, seen[k.key_id], k.key_id.hex()))
        seen[k.key_id] = n
        keys.append(k)
    return TrustStore(keys)


def load(path):
    """Read and parse the trust store file at `path` (the only I/O here)."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        raise TrustStoreError("cannot read trust store %s" % path)
    return parse(data)


def entry_dict(public_key, role, name=""):
    """The JSON object for one key (host side writes these; ROLE as a name)."""
    if role not in ROLES:
        raise TrustStoreError("unknown role %r (author or approver)" % role)
    d = {"key_id": key_id_of(public_key).hex(), "role": role, "alg": "ed25519",
         "public_key": bytes(public_key).hex()}
    if name:
        d["name"] = name
    return d


def role_name(role):
    return ROLE_NAMES.get(role, "role %d" % role)
