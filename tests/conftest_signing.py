"""Shared arrangement for the signing tests: keys, a trust store and ONE released library.

Every signing test gets its library bytes from `released_library(tmp_path)`.
It uses the real blinatumomab library (`host_tools.library.build.build_library`) when
that builds, and otherwise a synthetic ~1.5 KB body, so the same tests run on
the real library as soon as it exists.

Keys are fixed (derived from their names) so failures reproduce exactly.
Test modules import the fixtures they use: `from conftest_signing import ...`.
"""
import hashlib
import json
import os

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from firmware.library import container as ct
from firmware.release import verify as release
from firmware.release import trust

VERSION = 7
ROLE = {"author": ct.ROLE_AUTHOR, "approver": ct.ROLE_APPROVER}


def fixed_key(name):
    """A deterministic test key: seed = SHA-256 of its name."""
    return Ed25519PrivateKey.from_private_bytes(hashlib.sha256(b"druglib test key " + name.encode()).digest())


def pub(sk):
    return sk.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def kid(sk):
    return trust.key_id_of(pub(sk))


# The people: two trusted signers, a spare author, and an intruder the pump does not know.
ALICE = fixed_key("alice (author)")
BOB = fixed_key("bob (approver)")
CAROL = fixed_key("carol (second author)")
MALLORY = fixed_key("mallory (not trusted)")


def trust_text(entries=((ALICE, "author"), (BOB, "approver"), (CAROL, "author"))):
    return json.dumps({"format": trust.FORMAT,
                       "keys": [trust.entry_dict(pub(sk), role) for sk, role in entries]}, indent=2)


def unsigned_library(version=VERSION, salt=b""):
    """Library bytes without signatures: the real blinatumomab library, or (with
    a salt, for "a signature moved to another library") a different synthetic one."""
    if not salt:
        from host_tools.library.build import build_library

        return build_library(version)
    body = b"".join(hashlib.sha256(b"synthetic body %d %s" % (i, salt)).digest() for i in range(48))  # 1536 bytes
    return ct.assemble(version, body)


def signature(blob, sk, role, alg=ct.ALG_ED25519, key_id=None, manifest_role=None):
    """One signature entry over `blob`'s signed part, built the way the host signer does."""
    c = ct.parse(blob)
    key_id = kid(sk) if key_id is None else key_id
    r = ROLE[role] if isinstance(role, str) else role
    mr = r if manifest_role is None else manifest_role
    m = release.manifest(alg, mr, c.header.library_version, key_id, c.signed_sha256)
    return ct.Signature(alg, r, key_id, sk.sign(m))


def with_signatures(blob, sigs):
    """Replace `blob`'s signature block."""
    c = ct.parse(blob)
    return bytes(blob[:ct.HEADER_LEN + c.header.body_len]) + ct.pack_sigblock(list(sigs))


def released(blob):
    return with_signatures(blob, [signature(blob, ALICE, "author"), signature(blob, BOB, "approver")])


class Kit:
    """Everything a release test needs, also written to files for the CLI tests."""

    def __init__(self, tmp_path, version=VERSION):
        self.version = version
        self.unsigned = unsigned_library(version)
        self.blob = released(self.unsigned)
        self.trust_text = trust_text()
        self.trust = trust.parse(self.trust_text)
        self.dir = tmp_path
        self.lib_path = os.path.join(str(tmp_path), "blinatumomab.lib")
        self.trust_path = os.path.join(str(tmp_path), "trust.json")
        with open(self.lib_path, "wb") as f:
            f.write(self.blob)
        with open(self.trust_path, "w") as f:
            f.write(self.trust_text)


@pytest.fixture
def released_library(tmp_path):
    """THE released library of the signing tests (author Alice + approver Bob), with its trust store."""
    return Kit(tmp_path)
