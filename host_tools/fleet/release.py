"""What a library on the broker is, read with the pump's own code (one truth
for what a pump accepts): its header's version, its SHA-256, its name, and
whether the pump's release verification passes against a trust store."""
import hashlib
import json

from firmware.errors import PumpError
from firmware.library import container
from firmware.library.body import decode
from firmware.release import verify as fw_verify


class Release:
    def __init__(self, blob):
        self.blob = bytes(blob)
        self.sha256 = hashlib.sha256(self.blob).hexdigest()
        self.size = len(self.blob)
        self.version = None
        self.library = None
        try:
            self.version = container.parse_header(self.blob[:container.HEADER_LEN]).library_version
        except PumpError:
            pass
        try:
            self.library = decode(self.blob)[1]["library_name"]
        except (PumpError, KeyError, TypeError):
            pass

    def verify(self, trust, installed_version=None):
        """The pump's check order (firmware/release/verify.py), then the body must
        decode with this firmware (firmware/pump.py install). -> status
        "install" / "same"; raises the device error (PumpError with .code)."""
        rel = fw_verify.verify_blob(self.blob, trust, installed_version)
        decode(self.blob)
        return rel.status

    def verdict(self, trust):
        """-> None if a fresh pump would install it, else the device code."""
        try:
            self.verify(trust)
            return None
        except PumpError as e:
            return e.code

    def meta(self, published_at, publisher):
        return json.dumps({"schema": 1, "version": self.version, "sha256": self.sha256, "bytes": self.size,
                           "library": self.library, "published_at": published_at,
                           "publisher": publisher}, sort_keys=True).encode("utf-8")


def read_meta(payload, release):
    """The meta message, only if it describes exactly these bytes; else None."""
    try:
        m = json.loads(payload.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(m, dict) or release is None or m.get("sha256") != release.sha256:
        return None
    return m
