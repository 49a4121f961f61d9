# Release verification (docs/signing.md): is this library released by two
# trusted people, and newer than what the pump runs?
#
# Each signature signs a 47-byte manifest, never the library itself, so the
# device hashes one SHA-512 block per signature (R || A || M = 32 + 32 + 47 =
# 111 bytes, padded to exactly 128):
#
#   offset size field
#        0    1 alg               1 = Ed25519 (RFC 8032); room for LMS (RFC 8554)
#        1    1 format_version    container format, 1
#        2    1 role              1 = author, 2 = approver
#        3    4 library_version   u32 big-endian
#        7    8 key_id            SHA-256(public key)[:8]
#       15   32 signed_sha256     SHA-256(header + body): everything but signatures
#
# Check order, each failure with its own code (firmware/errors.py):
#   1. structure            LIB_MALFORMED      container.parse / container.scan
#   2. body digest          LIB_DIGEST         container.parse / container.scan
#   3. signatures, against the trust store, in this order over all signatures:
#      a. key id not trusted             SIG_UNKNOWN_KEY
#      b. key trusted for another role   SIG_WRONG_ROLE
#      c. same key signs twice           SIG_DUPLICATE_KEY
#      d. unknown algorithm, bad math    SIG_INVALID
#      e. author or approver missing     SIG_ROLE_MISSING
#   4. version <= installed              LIB_ROLLBACK (older); same -> "same"
#   5. same version, other bytes         LIB_VERSION_REUSED (issue 10 item 1), when
#      the installed library's SHA-256 (of the whole file) is known; the pump's
#      store checks it against its commit record (firmware/store/slots.py)
#
# Pure core: bytes and parsed objects in, a Release or an exception out.
import hashlib

from firmware.bigendian import pack_u32
from firmware.library import container as ct
from firmware.release import ed25519
from firmware.errors import (DuplicateSignerError, KeyRoleError, MissingRoleError, RollbackError,
                             SignatureError, UnknownKeyError, VersionReusedError)
from firmware.release.trust import role_name

MANIFEST_LEN = 47
STATUS_INSTALL = "install"
STATUS_SAME = "same"
REQUIRED_ROLES = (ct.ROLE_AUTHOR, ct.ROLE_APPROVER)


def manifest(alg, role, library_version, key_id, signed_sha256, format_version=ct.FORMAT_VERSION):
    """The 47 bytes one signature signs (layout above); shared by host signer and device."""
    if len(key_id) != ct.KEY_ID_LEN or len(signed_sha256) != 32:
        raise ValueError("manifest needs an 8-byte key id and a 32-byte digest")
    if not (0 <= alg <= 255 and 0 <= role <= 255 and 0 <= format_version <= 255):
        raise ValueError("manifest alg, role and format version are single bytes")
    if not 0 <= library_version <= 0xFFFFFFFF:
        raise ValueError("library version must fit in 32 bits")
    return (bytes((alg, format_version, role)) + pack_u32(library_version)
            + bytes(key_id) + bytes(signed_sha256))


class Release:
    """Outcome of a successful verification."""

    def __init__(self, version, status, signers):
        self.version = version  # library version
        self.status = status  # "install" (newer) or "same" (already installed: no-op)
        self.signers = signers  # list of (role, key_id bytes), signature order


def _kid(key_id):
    return bytes(key_id).hex()


def check_signatures(c, trust):
    """Step 3: every signature valid and trusted, both roles by two keys; returns signers."""
    sigs = c.signatures
    # Each check runs over all signatures before the next one starts.
    keys = []
    for s in sigs:
        k = trust.lookup(s.key_id)
        if k is None:
            raise UnknownKeyError("signature by key %s, which the trust store does not list" % _kid(s.key_id))
        keys.append(k)
    for s, k in zip(sigs, keys):
        if k.role != s.role:
            raise KeyRoleError("key %s signed as %s but is trusted only as %s"
                               % (_kid(s.key_id), role_name(s.role), role_name(k.role)))
    seen = []
    for s in sigs:
        if s.key_id in seen:
            raise DuplicateSignerError("key %s signed more than once; a release needs two different people"
                                       % _kid(s.key_id))
        seen.append(s.key_id)
    parts = []
    fmt = c.header.raw[4]
    for s, k in zip(sigs, keys):
        if s.alg != ct.ALG_ED25519 or k.alg != s.alg:
            raise SignatureError("signature by key %s uses unsupported algorithm %d" % (_kid(s.key_id), s.alg))
        m = manifest(s.alg, s.role, c.header.library_version, s.key_id, c.signed_sha256, fmt)
        parts.append(k.verifier.partial(m, s.signature))
    results = ed25519.finish_batch(parts)
    for s, ok in zip(sigs, results):
        if not ok:
            raise SignatureError("%s signature by key %s does not verify" % (role_name(s.role), _kid(s.key_id)))
    if not sigs:
        raise MissingRoleError("library is not signed: a release needs an author and an approver signature")
    for role in REQUIRED_ROLES:
        if not any(s.role == role for s in sigs):
            raise MissingRoleError("no %s signature: a release needs both author and approver"
                                   % role_name(role))
    return [(s.role, s.key_id) for s in sigs]


def check_version(version, installed_version):
    """Step 4, anti-rollback: STATUS_INSTALL if newer, STATUS_SAME if equal, else RollbackError."""
    if installed_version is None or version > installed_version:
        return STATUS_INSTALL
    if version == installed_version:
        return STATUS_SAME
    raise RollbackError("library version %d is older than installed version %d" % (version, installed_version))


def verify_release(c, trust, installed_version):
    """Verify a framed library (container.parse or container.scan) against `trust`.

    `installed_version` is the version the pump runs, or None when it has no
    library. Returns a Release or raises in the order documented above.
    """
    signers = check_signatures(c, trust)
    status = check_version(c.header.library_version, installed_version)
    return Release(c.header.library_version, status, signers)


def check_same_bytes(version, sha256, installed_sha256):
    """Step 5: a library under the installed version must be the installed
    bytes (SHA-256 of the whole file); else VersionReusedError."""
    if installed_sha256 is not None and bytes(sha256) != bytes(installed_sha256):
        raise VersionReusedError("version %d is already installed with other bytes (sha256 %s..., this "
                                 "library %s...): a re-release must raise the version"
                                 % (version, bytes(installed_sha256).hex()[:16], bytes(sha256).hex()[:16]))


def verify_blob(blob, trust, installed_version, installed_sha256=None):
    """Steps 1 to 5 on an in-memory library (step 5 only when the installed
    library's SHA-256 is given)."""
    rel = verify_release(ct.parse(blob), trust, installed_version)
    if rel.status == STATUS_SAME:
        check_same_bytes(rel.version, hashlib.sha256(bytes(blob)).digest(), installed_sha256)
    return rel
