"""The device's Ed25519 verifier and SHA-512 against RFC 8032, FIPS 180-4 and `cryptography`.

Hypothesis generates keys, messages and tamperings; `cryptography` (OpenSSL)
is the reference verdict. A fixed, seeded set of such vectors is also run
under the MicroPython unix port (the pump's interpreter).
"""
import hashlib
import random

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from hypothesis import given, settings
from hypothesis import strategies as st

import ed25519_table_gen
from firmware.release import ed25519
from firmware.release import ed25519_curve
from firmware.release import sha512
from mpyrun import MPY_DIR, run_micropython

# RFC 8032 section 7.1 (secret key, public key, message, signature): TEST 1, 2, 3, SHA(abc).
RFC8032 = [
    ("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
     "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
     "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"),
    ("4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
     "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
     "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"),
    ("c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
     "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025", "af82",
     "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a"),
    ("833fe62409237b9d62ec77587520911e9a759cec1d19755b7da901b96dca3d42",
     "ec172b93ad5e563bf4932c70e1245034c35467ef2efd4d64ebf819683467e2bf", hashlib.sha512(b"abc").hexdigest(),
     "dc2a4459e7369633a52b1bf277839a00201009a3efbf3ecb69bea2186c26b58909351fc9ac90b3ecfdfbc7c66431e0303dca179c138ac17ad9bef1177331a704"),
]


def raw_pub(sk):
    return sk.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def reference(pk, msg, sig):
    """OpenSSL's verdict (through `cryptography`)."""
    try:
        Ed25519PublicKey.from_public_bytes(pk).verify(sig, msg)
        return True
    except (InvalidSignature, ValueError):
        return False


def tamper(pk, msg, sig, how, where):
    """Damage one part of a (key, message, signature) triple."""
    if how == "sig":
        s = bytearray(sig)
        s[where % 64] ^= 1 << (where % 8)
        return pk, msg, bytes(s)
    if how == "msg":
        if not msg:
            return pk, b"\x00", sig
        m = bytearray(msg)
        m[where % len(m)] ^= 1 << (where % 8)
        return pk, bytes(m), sig
    if how == "key":
        k = bytearray(pk)
        k[where % 32] ^= 1 << (where % 8)
        return bytes(k), msg, sig
    if how == "s+l":  # same signature with S + L: non-canonical, must be rejected
        s = int.from_bytes(sig[32:], "little") + ed25519.L
        return pk, msg, sig[:32] + s.to_bytes(32, "little")
    return pk, msg, sig


@pytest.mark.parametrize("secret, public, msg, sig", RFC8032, ids=["test1", "test2", "test3", "sha_abc"])
def test_rfc8032_vectors_verify_and_their_tamperings_do_not(secret, public, msg, sig):
    pk, m, s = bytes.fromhex(public), bytes.fromhex(msg), bytes.fromhex(sig)
    assert raw_pub(Ed25519PrivateKey.from_private_bytes(bytes.fromhex(secret))) == pk  # transcription check
    assert ed25519.verify(pk, m, s)
    for how in ("sig", "msg", "key", "s+l"):
        assert not ed25519.verify(*tamper(pk, m, s, how, 5)), how


@settings(max_examples=60, deadline=None)
@given(seed=st.binary(min_size=32, max_size=32), msg=st.binary(max_size=300),
       how=st.sampled_from(["none", "sig", "msg", "key", "s+l"]), where=st.integers(0, 10_000))
def test_device_verifier_agrees_with_cryptography(seed, msg, how, where):
    sk = Ed25519PrivateKey.from_private_bytes(seed)
    pk, m, s = tamper(raw_pub(sk), msg, sk.sign(msg), how, where)
    expected = reference(pk, m, s)
    assert ed25519.verify(pk, m, s) == expected
    assert expected == (how == "none")


@settings(max_examples=40, deadline=None)
@given(r=st.binary(min_size=32, max_size=32), s=st.binary(min_size=32, max_size=32), msg=st.binary(max_size=64))
def test_random_signatures_are_rejected_like_openssl_does(r, s, msg):
    pk = RFC8032[0][1]
    assert ed25519.verify(bytes.fromhex(pk), msg, r + s) == reference(bytes.fromhex(pk), msg, r + s) is False


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=700))
def test_pure_sha512_matches_hashlib(data):
    assert sha512.pure_sha512(data) == hashlib.sha512(data).digest()


def test_sha512_block_boundaries():
    for n in range(100, 260):
        assert sha512.pure_sha512(bytes(range(256))[:n]) == hashlib.sha512(bytes(range(256))[:n]).digest()


def test_non_canonical_and_invalid_encodings_are_rejected():
    P = ed25519.P

    def enc(y, sign=0):
        return (y | (sign << 255)).to_bytes(32, "little")

    # Arrange: the first y above 1 that has no x on the curve.
    y_off = next(y for y in range(2, 100) if not _decodes(enc(y)))
    for bad in (enc(P), enc(P + 3), enc((1 << 255) - 1), enc(1, 1), enc(y_off)):
        with pytest.raises(ValueError):
            ed25519.decode_point(bad)
    # A signature whose R is a non-canonical encoding never verifies.
    pk, m, s = (bytes.fromhex(x) for x in RFC8032[0][1:])
    assert not ed25519.verify(pk, m, enc(P + 1) + s[32:])


def _decodes(b):
    try:
        ed25519.decode_point(b)
        return True
    except ValueError:
        return False


def _times(n, pt):
    acc = (0, 1, 1, 0)
    while n:
        if n & 1:
            acc = ed25519_curve.point_add(acc, pt)
        pt = ed25519_curve.point_double(pt)
        n >>= 1
    return acc


def test_small_order_keys_are_refused():
    # Arrange: torsion points as L * Q for a few curve points Q.
    torsion = set()
    for y in range(3, 60):
        try:
            x, yy = ed25519.decode_point(y.to_bytes(32, "little"))
        except ValueError:
            continue
        X, Y, Z, _ = _times(ed25519.L, (x, yy, 1, x * yy % ed25519.P))
        zi = ed25519.inv(Z)
        torsion.add(ed25519.encode_point(X * zi % ed25519.P, Y * zi % ed25519.P))
    assert len(torsion) >= 4
    for enc in torsion:
        with pytest.raises(ValueError):
            ed25519.PublicKey(enc)


def test_batch_finish_names_each_signature():
    keys = [Ed25519PrivateKey.from_private_bytes(bytes([i]) * 32) for i in range(1, 4)]
    parts, expect = [], []
    for i, sk in enumerate(keys):
        sig = sk.sign(b"m%d" % i)
        ok = i != 1
        parts.append(ed25519.PublicKey(raw_pub(sk)).partial(b"m%d" % i if ok else b"other", sig))
        expect.append(ok)
    parts.append(None)
    expect.append(False)
    assert ed25519.finish_batch(parts) == expect
    assert ed25519.finish_batch([]) == []


def test_ct_equal():
    assert ed25519.ct_equal(b"", b"") and ed25519.ct_equal(b"\x00" * 32, bytes(32))
    assert not ed25519.ct_equal(b"a", b"b") and not ed25519.ct_equal(b"ab", b"a")
    assert ed25519.ct_equal(bytearray(b"xy"), b"xy")


def test_base_point_table_module_is_what_the_generator_makes():
    with open(ed25519_table_gen.PATH) as f:
        assert f.read() == ed25519_table_gen.render()


def fixed_vectors(n=48, seed=8032):
    """Seeded (key, message, signature) vectors, half of them tampered, with OpenSSL's verdicts."""
    rnd = random.Random(seed)
    out = []
    hows = ["none", "sig", "msg", "key", "s+l", "none"]
    for i in range(n):
        sk = Ed25519PrivateKey.from_private_bytes(bytes(rnd.getrandbits(8) for _ in range(32)))
        msg = bytes(rnd.getrandbits(8) for _ in range(rnd.choice([0, 1, 47, 100, 200])))
        pk, m, s = tamper(raw_pub(sk), msg, sk.sign(msg), hows[i % len(hows)], rnd.getrandbits(16))
        out.append((pk, m, s, reference(pk, m, s)))
    return out


def test_fixed_vectors_agree_under_micropython():
    vectors = fixed_vectors() + [(bytes.fromhex(p), bytes.fromhex(m), bytes.fromhex(s), True)
                                 for _, p, m, s in RFC8032]
    lines = ["%s %s %s" % (pk.hex(), m.hex() or "-", s.hex()) for pk, m, s, _ in vectors]
    proc = run_micropython([MPY_DIR + "/ed25519_agree.py"], stdin="\n".join(lines).encode())
    out = proc.stdout.decode().split("\n")
    assert proc.returncode == 0 and "OK ed25519_agree" in out, proc.stdout.decode() + proc.stderr.decode()
    got = [line == "1" for line in out[:len(vectors)]]
    assert got == [v[3] for v in vectors]
    assert any(got) and not all(got)
