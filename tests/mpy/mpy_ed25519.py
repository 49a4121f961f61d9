# Ed25519 and SHA-512 on the MicroPython unix port: RFC 8032 section 7.1
# test vectors, FIPS 180-4 known answers, encodings RFC 8032 rejects.
from firmware.release import ed25519
from firmware.release import sha512

# RFC 8032 section 7.1: TEST 1, TEST 2, TEST 3 and TEST SHA(abc).
VECTORS = (
    ("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
     "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"),
    ("3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
     "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"),
    ("fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025", "af82",
     "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a"),
    ("ec172b93ad5e563bf4932c70e1245034c35467ef2efd4d64ebf819683467e2bf",
     "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
     "dc2a4459e7369633a52b1bf277839a00201009a3efbf3ecb69bea2186c26b58909351fc9ac90b3ecfdfbc7c66431e0303dca179c138ac17ad9bef1177331a704"),
)

# FIPS 180-4 examples (and lengths around the one-block boundary of 111/112 bytes).
assert sha512.pure_sha512(b"abc").hex() == VECTORS[3][1]
assert sha512.pure_sha512(b"").hex().startswith("cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce")
assert sha512.sha512(b"abc") == sha512.pure_sha512(b"abc")
for n in (110, 111, 112, 127, 128, 129, 255):
    assert len(sha512.pure_sha512(bytes(n))) == 64

for pk, msg, sig in VECTORS:
    pk, msg, sig = bytes.fromhex(pk), bytes.fromhex(msg), bytes.fromhex(sig)
    key = ed25519.PublicKey(pk)
    assert key.verify(msg, sig)
    assert not key.verify(msg + b"\x00", sig)
    for i in (0, 31, 32, 63):  # R and S, first and last byte
        bad = bytearray(sig)
        bad[i] ^= 0x01
        assert not key.verify(msg, bytes(bad))
    # S + L: the same S, non-canonical; RFC 8032 section 5.1.7 step 1 rejects it.
    s = int.from_bytes(sig[32:], "little") + ed25519.L
    assert not key.verify(msg, sig[:32] + s.to_bytes(32, "little"))

# The two signatures of a library, checked with one shared inversion.
k1 = ed25519.PublicKey(bytes.fromhex(VECTORS[0][0]))
k2 = ed25519.PublicKey(bytes.fromhex(VECTORS[1][0]))
parts = [k1.partial(b"", bytes.fromhex(VECTORS[0][2])), k2.partial(b"\x72", bytes.fromhex(VECTORS[1][2])),
         k2.partial(b"\x73", bytes.fromhex(VECTORS[1][2])), k1.partial(b"", b"short")]
assert ed25519.finish_batch(parts) == [True, True, False, False]

# Encodings RFC 8032 section 5.1.3 rejects, and small-order keys.
P = ed25519.P


def enc(y, sign=0):
    return (y | (sign << 255)).to_bytes(32, "little")


for bad in (enc(P), enc(P + 1), enc((1 << 255) - 1), enc(1, 1), enc(2)):
    try:
        ed25519.decode_point(bad)
        assert False, "accepted " + bad.hex()
    except ValueError:
        pass
for small in (enc(1), enc(P - 1), enc(0), enc(0, 1)):
    try:
        ed25519.PublicKey(small)
        assert False, "accepted small-order key " + small.hex()
    except ValueError:
        pass
assert not ed25519.verify(enc(1), b"", bytes(64))

assert ed25519.ct_equal(b"abc", b"abc") and not ed25519.ct_equal(b"abc", b"abd")
assert not ed25519.ct_equal(b"abc", b"ab") and ed25519.ct_equal(b"", b"")
print("OK mpy_ed25519")
