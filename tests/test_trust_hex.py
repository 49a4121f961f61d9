"""Hex fields of the trust store (firmware/release/trust._unhex) under both engines.

_unhex turns the hex text of a key or key id into bytes with
binascii.unhexlify, but checks the exact length and every digit itself first:
the built-in differs between the engines on bad input (the MicroPython unix
port skips whitespace between digit pairs, CPython raises), and the pump must
refuse exactly what `druglib verify` refuses. Every case below gives the same
verdict and the same message under CPython and MicroPython.
"""
import binascii
import json

import pytest

from conftest_signing import ALICE, pub, trust_text
from firmware.errors import TrustStoreError
from firmware.release import trust
from mpyrun import MPY_DIR, run_micropython

GOOD = pub(ALICE).hex()
CASES = [
    (GOOD, 32), (GOOD.upper(), 32), ("00ff" * 4, 8), ("AbCdEf0123456789", 8),
    # attack: a pair of digits replaced by whitespace keeps the length right
    (GOOD[:10] + "  " + GOOD[12:], 32), (GOOD[:-2] + "\n ", 32), ("\t" + GOOD[1:], 32),
    # not hex at all, or hex-looking text of other scripts and signs
    ("0g" + GOOD[2:], 32), ("+1" + GOOD[2:], 32), ("0x" + GOOD[2:], 32), ("\u0663" * 16, 8), ("\u00e9" * 16, 8),
    # wrong length by one digit either way, and empty
    (GOOD[:-1], 32), (GOOD + "0", 32), ("", 8),
]


def cpython_verdict(text, nbytes):
    try:
        return ["ok", trust._unhex(text, nbytes, "key").hex()]
    except TrustStoreError as e:
        return ["error", str(e)]


def test_good_hex_gives_exactly_the_bytes_in_either_case():
    assert trust._unhex(GOOD, 32, "key") == pub(ALICE)
    assert trust._unhex(GOOD.upper(), 32, "key") == pub(ALICE)
    assert trust._unhex("AbCdEf0123456789", 8, "key id") == bytes.fromhex("abcdef0123456789")


@pytest.mark.parametrize("text,nbytes", CASES[4:], ids=[repr(c[0][:14]) for c in CASES[4:]])
def test_bad_hex_is_refused_with_a_clear_message(text, nbytes):
    with pytest.raises(TrustStoreError) as e:
        trust._unhex(text, nbytes, "keys[0] public_key")
    msg = str(e.value)
    assert msg.startswith("keys[0] public_key ")
    assert msg.endswith("must be %d hex digits" % (2 * nbytes)) or msg.endswith("is not hexadecimal")


@pytest.mark.parametrize("value", [None, 7, b"00" * 32, ["00"] * 32])
def test_a_hex_field_that_is_not_text_is_refused(value):
    with pytest.raises(TrustStoreError, match="must be 64 hex digits"):
        trust._unhex(value, 32, "key")


def test_cpython_unhexlify_itself_refuses_whitespace():
    # Why _unhex checks digits itself: this is CPython's answer; the MicroPython
    # unix port (1.29) returns two bytes for the same text.
    with pytest.raises(ValueError):
        binascii.unhexlify("12  34")


def test_both_engines_give_the_same_verdict_and_message_for_every_case():
    stdin = "".join(json.dumps([t, n]) + "\n" for t, n in CASES).encode()
    proc = run_micropython([MPY_DIR + "/trust_hex_agree.py"], stdin=stdin)
    out = proc.stdout.decode("utf-8", "replace").split("\n")
    assert proc.returncode == 0, proc.stdout.decode() + proc.stderr.decode()
    assert out[len(CASES)] == "OK trust_hex_agree"
    mpy = [json.loads(line) for line in out[:len(CASES)]]
    assert mpy == [cpython_verdict(t, n) for t, n in CASES]
    assert [v[0] for v in mpy] == ["ok"] * 4 + ["error"] * (len(CASES) - 4)


def test_story_a_key_padded_with_spaces_is_not_trusted():
    # Arrange: a trust store whose first key has two digits replaced by spaces
    # (same length; MicroPython's unhexlify alone would take 31 bytes from it).
    doc = json.loads(trust_text())
    key = doc["keys"][0]["public_key"]
    doc["keys"][0]["public_key"] = key[:20] + "  " + key[22:]
    # Attack + assert: the pump's parser refuses the whole store, naming the field.
    with pytest.raises(TrustStoreError, match="public_key is not hexadecimal"):
        trust.parse(json.dumps(doc))
    assert len(trust.parse(trust_text()).keys) == 3  # the untouched store still parses
