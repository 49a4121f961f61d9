"""Library format v1: round trips, determinism, and a decoder that fails only one documented way."""
import hashlib
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from devmodel import dev_model
from firmware.library import container
from firmware.errors import LibraryFormatError
from firmware.library.body import decode, decode_body
from host_tools.library.encode import EncodeError, encode_body, encode_library

BLOB = encode_library(dev_model())
BODY = container.parse(BLOB).body


def test_model_round_trips_through_the_bytes():
    model = dev_model()
    _, lib = decode(encode_library(model))
    drug = lib["drugs"][0]
    assert lib["library_version"] == model["library_version"]
    assert lib["rules_sha256"] == model["rules_sha256"]
    for key in ("limits", "doses", "restart_dose", "admin", "indications"):
        assert drug[key] == model["drug"][key]


def test_encoding_is_deterministic():
    assert encode_library(dev_model()) == encode_library(dev_model())


def test_the_library_is_compact():
    assert len(BLOB) < 1024


def _with_body(body):
    return container.assemble(1, body)


@settings(max_examples=1500, deadline=None)
@given(st.binary(max_size=700))
def test_arbitrary_bytes_raise_only_the_documented_error(data):
    for blob in (data, BLOB[:48] + data, _with_body(data)):
        try:
            decode(blob)
        except LibraryFormatError:
            pass


@settings(max_examples=1500, deadline=None)
@given(st.integers(0, len(BODY) - 1), st.integers(0, 255), st.integers(0, 3))
def test_mutated_bodies_with_a_fixed_digest_raise_only_the_documented_error(pos, value, mode):
    body = bytearray(BODY)
    if mode == 0:
        body[pos] = value
    elif mode == 1:
        body = body[:pos]
    elif mode == 2:
        body.insert(pos, value)
    else:
        del body[pos]
    try:
        decode(_with_body(bytes(body)))
    except LibraryFormatError:
        pass


def test_every_truncation_of_the_library_is_refused():
    for n in range(len(BLOB)):
        with pytest.raises(LibraryFormatError):
            decode(BLOB[:n])


@pytest.mark.parametrize("attack,code", [
    (lambda b: b"XLIB" + b[4:], "LIB_MALFORMED"),
    (lambda b: b[:4] + b"\x02" + b[5:], "LIB_MALFORMED"),
    (lambda b: b[:60] + bytes([b[60] ^ 1]) + b[61:], "LIB_DIGEST"),
    (lambda b: b + b"\x00", "LIB_MALFORMED"),
    (lambda b: b[:12] + struct.pack(">I", 1 << 24) + b[16:], "LIB_MALFORMED"),
])
def test_structural_attacks_get_their_code(attack, code):
    with pytest.raises(LibraryFormatError) as e:
        decode(attack(BLOB))
    assert e.value.code == code


def test_a_body_missing_a_limit_is_refused():
    model = dev_model()
    del model["drug"]["limits"]["max_daily_ng"]
    with pytest.raises(EncodeError):
        encode_library(model)
    # and a hand-made body without it, fed straight to the device decoder
    body = bytearray(encode_body(dev_model()))
    with pytest.raises(LibraryFormatError):
        decode_body(bytes(body[: len(body) // 2]))


def test_a_schedule_with_a_gap_is_refused_by_the_device():
    model = dev_model()
    model["drug"]["indications"][1]["schedule"][1]["day_from"] = 9  # day 8 uncovered
    with pytest.raises(EncodeError, match="day 8"):
        encode_library(model)


def test_header_digest_is_the_body_sha256():
    assert BLOB[16:48] == hashlib.sha256(BODY).digest()


@pytest.mark.parametrize("key,value,words", [
    ("bsa_weight_k_cm2", 0, "positive"),
    ("bsa_weight_hard_over_ppm", 250000, "upper bands"),
    ("bsa_weight_hard_under_ppm", 1000000, "lower bands"),
    ("bsa_weight_under_ppm", 400000, "lower bands"),
    ("height_max_mm", 300, "height range"),
    ("priming_volume_ul", -1, "priming volume"),
])
def test_the_device_refuses_bsa_bands_that_make_no_sense(key, value, words):
    # issue 8: the limit keys 23-29 are range-checked by the decoder too
    model = dev_model()
    model["drug"]["limits"][key] = value
    with pytest.raises(EncodeError, match=words):
        encode_library(model)


def test_the_issue_8_limit_keys_round_trip():
    drug = decode(BLOB)[1]["drugs"][0]
    for key in ("bsa_weight_k_cm2", "bsa_weight_hard_under_ppm", "bsa_weight_hard_over_ppm",
                "bsa_height_tolerance_cm2", "height_min_mm", "height_max_mm", "priming_volume_ul"):
        assert drug["limits"][key] == dev_model()["drug"]["limits"][key]


def test_a_second_drug_of_the_same_name_is_refused():
    # issue 8: the checker would use one of the two silently
    lib_len = 3 + BODY[1] * 256 + BODY[2]
    with pytest.raises(LibraryFormatError, match="given twice"):
        decode_body(BODY + BODY[lib_len:])
