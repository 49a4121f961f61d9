"""EVERY single-bit flip of a released library is rejected by the pump (exhaustive).

The library comes from conftest_signing.released_library (the real
blinatumomab library when it builds). For each flipped bit the test also
checks that the rejection names the right kind of damage for where the bit
sits: header fields, body, or one of the fields of a signature entry.
"""
from conftest_signing import released_library  # noqa: F401
from firmware.library import container as ct
from firmware.release import verify as release
from firmware.errors import PumpError

MALFORMED, DIGEST, INVALID = "LIB_MALFORMED", "LIB_DIGEST", "SIG_INVALID"


def expected_codes(offset, body_len, version):
    """Codes a flip at byte `offset` may legitimately produce."""
    if offset < 8:  # magic, format version, header length, flags
        return {MALFORMED}
    if offset < 12:  # library version: changes the signed part (or becomes the forbidden 0)
        return {INVALID, MALFORMED}
    if offset < 16:  # body length: framing breaks (or, by luck, frames and fails the digest)
        return {MALFORMED, DIGEST}
    if offset < ct.HEADER_LEN + body_len:  # body digest field and the body itself
        return {DIGEST}
    off = offset - ct.HEADER_LEN - body_len
    if off == 0:  # signature count
        return {MALFORMED}
    field = (off - 1) % ct.SIG_ENTRY_LEN
    if field == 0:  # alg: unknown algorithm
        return {INVALID}
    if field == 1:  # role: the key is trusted for another role
        return {"SIG_WRONG_ROLE"}
    if field < 10:  # key id: no longer in the trust store
        return {"SIG_UNKNOWN_KEY"}
    return {INVALID}  # R or S


def test_every_single_bit_flip_is_rejected_with_the_right_code(released_library):
    kit = released_library
    blob = kit.blob
    c = ct.parse(blob)
    body_len = c.header.body_len
    assert release.verify_blob(blob, kit.trust, None).status == "install"  # the unflipped library is good
    wrong = []
    work = bytearray(blob)
    for offset in range(len(blob)):
        allowed = expected_codes(offset, body_len, kit.version)
        for bit in range(8):
            work[offset] ^= 1 << bit
            try:
                release.verify_blob(bytes(work), kit.trust, None)
                got = "ACCEPTED"
            except PumpError as e:
                got = e.code
            work[offset] ^= 1 << bit
            if got not in allowed:
                wrong.append((offset, bit, got, sorted(allowed)))
    assert bytes(work) == blob
    assert not wrong, "%d flips not rejected as expected, first: %r" % (len(wrong), wrong[:5])
