"""Edges of the release code (firmware/release/): the manifest's own guards, SHA-512 without hashlib's,
malformed keys and signatures, and the trust store writer's role check."""
import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest_signing import ALICE, pub
from firmware.errors import TrustStoreError
from firmware.release import ed25519, ed25519_curve, sha512, trust
from firmware.release import verify as release
from test_signing_ed25519 import RFC8032

KID = bytes(8)
DIGEST = bytes(32)


def test_the_manifest_refuses_what_its_47_bytes_cannot_hold():
    assert len(release.manifest(1, 2, 0xFFFFFFFF, KID, DIGEST)) == release.MANIFEST_LEN == 47
    bad = [
        dict(key_id=bytes(7)), dict(key_id=bytes(9)), dict(signed_sha256=bytes(31)),
        dict(alg=256), dict(role=-1), dict(format_version=300),
        dict(library_version=-1), dict(library_version=1 << 32),
    ]
    for change in bad:
        args = dict(alg=1, role=1, library_version=3, key_id=KID, signed_sha256=DIGEST)
        args.update(change)
        with pytest.raises(ValueError):
            release.manifest(**args)


@pytest.mark.parametrize("n", [0, 1, 111, 112, 127, 128, 129, 240, 1000])
def test_sha512_falls_back_to_pure_python_where_hashlib_has_none(monkeypatch, n):
    # The MicroPython unix port's hashlib has no sha512: sha512() must give the same digest.
    data = bytes((i * 7) & 0xFF for i in range(n))
    monkeypatch.setattr(sha512, "_HW", None)
    assert sha512.sha512(data) == hashlib.sha512(data).digest()
    assert sha512.sha512(bytearray(data)) == hashlib.sha512(data).digest()


def test_a_point_encoding_of_the_wrong_length_is_refused():
    for n in (0, 31, 33, 64):
        with pytest.raises(ValueError, match="32 bytes"):
            ed25519_curve.decode_point(bytes(n))
    assert not ed25519.verify(bytes(31), b"", bytes(64))


def test_a_signature_of_the_wrong_length_never_verifies():
    pk, msg, sig = (bytes.fromhex(x) for x in RFC8032[1][1:])
    key = ed25519.PublicKey(pk)
    assert key.verify(msg, sig)
    for bad in (sig[:63], sig + b"\x00", b"", sig * 2):
        assert key.partial(msg, bad) is None
        assert not key.verify(msg, bad)
    assert ed25519.finish_batch([key.partial(msg, sig[:63]), key.partial(msg, sig)]) == [False, True]


def test_the_trust_store_writer_refuses_an_unknown_role():
    assert trust.entry_dict(pub(ALICE), "author", "Alice")["role"] == "author"
    for role in ("reviewer", "Author", "", None):
        with pytest.raises(TrustStoreError, match="unknown role"):
            trust.entry_dict(pub(ALICE), role)


@settings(max_examples=300, deadline=None)
@given(st.integers(0, (1 << 253) - 1), st.sampled_from([ed25519.A_BOUND, ed25519.B_BOUND]))
def test_sliding_window_digits_recompose_the_scalar(scalar, bound):
    # ref10's slide(): every digit 0 or odd within the window bound, and the
    # digits sum back to the scalar (S < L and k mod L are below 2^253).
    digits = ed25519._slide(scalar.to_bytes(32, "little"), bound)
    assert len(digits) == 256
    assert all(d == 0 or (d % 2 == 1 and -bound <= d <= bound) for d in digits)
    assert sum(d << i for i, d in enumerate(digits)) == scalar
