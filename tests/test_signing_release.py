"""Release verification on the pump (firmware/release/verify.py), told as stories.

Each test arranges a library, attacks it one way, and asserts the pump
rejects it with that attack's own code (docs/signing.md, "Check order").
"""
import io

import pytest

from conftest_signing import (ALICE, BOB, CAROL, MALLORY, VERSION, kid, released, released_library,  # noqa: F401
                              signature, unsigned_library, with_signatures)
from firmware.library import container as ct
from firmware.release import verify as release
from firmware.errors import PumpError


def verdict(blob, kit, installed=None):
    """The pump's answer: "install", "same", or the error code."""
    try:
        return release.verify_blob(blob, kit.trust, installed).status
    except PumpError as e:
        return e.code


# --- the happy path ----------------------------------------------------------

def test_a_released_library_installs_on_a_pump_with_no_library(released_library):
    rel = release.verify_blob(released_library.blob, released_library.trust, None)
    assert (rel.version, rel.status) == (VERSION, "install")
    assert sorted(rel.signers) == sorted([(ct.ROLE_AUTHOR, kid(ALICE)), (ct.ROLE_APPROVER, kid(BOB))])


def test_a_newer_library_installs_over_an_older_one(released_library):
    assert verdict(released_library.blob, released_library, installed=VERSION - 1) == "install"


def test_reinstalling_the_same_version_is_a_no_op_not_an_error(released_library):
    assert verdict(released_library.blob, released_library, installed=VERSION) == "same"


def test_streaming_scan_gives_the_same_answer_as_parse(released_library):
    c = ct.scan(io.BytesIO(released_library.blob).read, chunk=64)
    rel = release.verify_release(c, released_library.trust, VERSION - 1)
    assert (rel.version, rel.status) == (VERSION, "install")


def test_either_signing_order_releases_the_library(released_library):
    u = released_library.unsigned
    a, b = signature(u, ALICE, "author"), signature(u, BOB, "approver")
    assert verdict(with_signatures(u, [b, a]), released_library) == "install"
    assert verdict(with_signatures(u, [a, b]), released_library) == "install"


def test_a_second_author_may_release_with_the_approver(released_library):
    u = released_library.unsigned
    blob = with_signatures(u, [signature(u, CAROL, "author"), signature(u, BOB, "approver")])
    assert verdict(blob, released_library) == "install"


def test_manifest_is_47_bytes_so_r_a_m_is_one_sha512_block():
    m = release.manifest(ct.ALG_ED25519, ct.ROLE_AUTHOR, 0x01020304, b"K" * 8, b"D" * 32)
    assert len(m) == release.MANIFEST_LEN == 47
    assert m[:7] == bytes((1, 1, 1, 1, 2, 3, 4)) and m[7:15] == b"K" * 8 and m[15:] == b"D" * 32
    assert 32 + 32 + len(m) + 1 + 16 == 128  # R || A || M, then SHA-512 padding fills one block


# --- structure and digest ------------------------------------------------------

def test_every_truncation_is_malformed(released_library):
    blob = released_library.blob
    for n in range(len(blob)):
        assert verdict(blob[:n], released_library) == "LIB_MALFORMED", n


def test_extension_by_any_trailing_bytes_is_malformed(released_library):
    for tail in (b"\x00", b"\xff", b"\x00" * 74, bytes(75)):
        assert verdict(released_library.blob + tail, released_library) == "LIB_MALFORMED"


def test_a_changed_body_fails_its_digest_before_any_signature_is_checked(released_library):
    blob = bytearray(released_library.blob)
    blob[ct.HEADER_LEN + 5] ^= 0x40
    assert verdict(bytes(blob), released_library) == "LIB_DIGEST"


def test_body_and_digest_rewritten_together_break_the_signatures(released_library):
    # The attacker edits the body and fixes up the header's body_sha256: framing
    # and digest pass, but signed_sha256 changed, so both signatures fail.
    c = ct.parse(released_library.blob)
    body = bytearray(c.body)
    body[10] ^= 1
    forged = ct.assemble(VERSION, bytes(body), c.signatures)
    assert verdict(forged, released_library) == "SIG_INVALID"


# --- signatures ---------------------------------------------------------------------

def test_an_unsigned_library_lacks_both_roles(released_library):
    assert verdict(released_library.unsigned, released_library) == "SIG_ROLE_MISSING"


def test_one_person_cannot_release_alone(released_library):
    u = released_library.unsigned
    assert verdict(with_signatures(u, [signature(u, ALICE, "author")]), released_library) == "SIG_ROLE_MISSING"
    assert verdict(with_signatures(u, [signature(u, BOB, "approver")]), released_library) == "SIG_ROLE_MISSING"


def test_two_authors_without_an_approver_are_not_a_release(released_library):
    u = released_library.unsigned
    blob = with_signatures(u, [signature(u, ALICE, "author"), signature(u, CAROL, "author")])
    assert verdict(blob, released_library) == "SIG_ROLE_MISSING"


def test_the_same_key_twice_is_rejected(released_library):
    u = released_library.unsigned
    sig = signature(u, ALICE, "author")
    assert verdict(with_signatures(u, [sig, sig]), released_library) == "SIG_DUPLICATE_KEY"


def test_an_unknown_key_is_rejected(released_library):
    u = released_library.unsigned
    blob = with_signatures(u, [signature(u, MALLORY, "author"), signature(u, BOB, "approver")])
    assert verdict(blob, released_library) == "SIG_UNKNOWN_KEY"


def test_a_key_signing_in_a_role_it_does_not_hold_is_rejected(released_library):
    # Alice is an author; she signs (validly) as approver to release alone.
    u = released_library.unsigned
    blob = with_signatures(u, [signature(u, ALICE, "author"), signature(u, ALICE, "approver")])
    assert verdict(blob, released_library) == "SIG_WRONG_ROLE"


def test_a_role_byte_changed_in_the_block_breaks_the_manifest(released_library):
    # Bob's key holds the approver role, but the manifest he signed said author.
    u = released_library.unsigned
    sig = signature(u, BOB, "approver", manifest_role=ct.ROLE_AUTHOR)
    assert verdict(with_signatures(u, [signature(u, ALICE, "author"), sig]), released_library) == "SIG_INVALID"


def test_an_unknown_algorithm_is_rejected_as_invalid(released_library):
    u = released_library.unsigned
    blob = with_signatures(u, [signature(u, ALICE, "author", alg=2), signature(u, BOB, "approver")])
    assert verdict(blob, released_library) == "SIG_INVALID"


def test_a_signature_moved_from_another_library_is_rejected(released_library):
    u = released_library.unsigned
    other = unsigned_library(VERSION, salt=b"another library")
    stolen = signature(other, BOB, "approver")
    blob = with_signatures(u, [signature(u, ALICE, "author"), stolen])
    assert verdict(blob, released_library) == "SIG_INVALID"


def test_a_signature_moved_to_another_version_of_the_same_body_is_rejected(released_library):
    c = ct.parse(released_library.blob)
    relabelled = ct.assemble(VERSION + 1, c.body, c.signatures)  # same body, higher version, old signatures
    assert verdict(relabelled, released_library) == "SIG_INVALID"


# --- version --------------------------------------------------------------------------

def test_an_older_library_is_a_rollback(released_library):
    assert verdict(released_library.blob, released_library, installed=VERSION + 1) == "LIB_ROLLBACK"


# --- the order of the checks ------------------------------------------------------------

@pytest.mark.parametrize("attack, expected", [
    ("digest+unknown", "LIB_DIGEST"),
    ("unknown+wrongrole", "SIG_UNKNOWN_KEY"),
    ("wrongrole+duplicate", "SIG_WRONG_ROLE"),
    ("duplicate+badmath", "SIG_DUPLICATE_KEY"),
    ("badmath+missing", "SIG_INVALID"),
    ("badsig+rollback", "SIG_INVALID"),
    ("missing+rollback", "SIG_ROLE_MISSING"),
])
def test_with_two_faults_the_earlier_check_speaks(released_library, attack, expected):
    u = released_library.unsigned
    good_a, good_b = signature(u, ALICE, "author"), signature(u, BOB, "approver")
    bad_b = ct.Signature(good_b.alg, good_b.role, good_b.key_id, bytes(64))
    installed = None
    if attack == "digest+unknown":
        blob = bytearray(with_signatures(u, [signature(u, MALLORY, "author"), good_b]))
        blob[ct.HEADER_LEN] ^= 1
        blob = bytes(blob)
    elif attack == "unknown+wrongrole":
        blob = with_signatures(u, [signature(u, ALICE, "approver"), signature(u, MALLORY, "author")])
    elif attack == "wrongrole+duplicate":
        blob = with_signatures(u, [good_a, good_a, signature(u, BOB, "author")])
    elif attack == "duplicate+badmath":
        blob = with_signatures(u, [bad_b, good_a, good_a])
    elif attack == "badmath+missing":
        blob = with_signatures(u, [bad_b])
    elif attack == "badsig+rollback":
        blob, installed = with_signatures(u, [good_a, bad_b]), VERSION + 5
    else:
        blob, installed = with_signatures(u, [good_a]), VERSION + 5
    assert verdict(blob, released_library, installed) == expected


def test_released_helper_matches_the_fixture(released_library):
    assert released(released_library.unsigned) == released_library.blob
