"""The pump's trust store (firmware/release/trust.py): what it accepts, and every way it refuses."""
import json

import pytest

from conftest_signing import ALICE, BOB, CAROL, kid, pub, trust_text
from firmware.library import container as ct
from firmware.release import trust
from firmware.errors import TrustStoreError


def doc():
    return json.loads(trust_text())


def test_a_good_trust_store_lists_each_key_with_its_role():
    store = trust.parse(trust_text())
    assert [k.role for k in store.keys] == [ct.ROLE_AUTHOR, ct.ROLE_APPROVER, ct.ROLE_AUTHOR]
    assert store.lookup(kid(BOB)).public_key == pub(BOB)
    assert store.lookup(b"\x00" * 8) is None
    assert trust.parse(trust_text().encode()).lookup(kid(ALICE)).role == ct.ROLE_AUTHOR


def test_key_id_is_the_first_8_bytes_of_sha256_of_the_raw_key():
    import hashlib
    assert trust.key_id_of(pub(CAROL)) == hashlib.sha256(pub(CAROL)).digest()[:8]


def test_load_reads_a_file_and_refuses_a_missing_one(tmp_path):
    p = tmp_path / "trust.json"
    p.write_text(trust_text())
    assert len(trust.load(str(p)).keys) == 3
    with pytest.raises(TrustStoreError):
        trust.load(str(tmp_path / "missing.json"))


def _mutations():
    def entry(f):
        d = doc()
        f(d["keys"][0])
        return json.dumps(d)

    def top(f):
        d = doc()
        f(d)
        return json.dumps(d)

    small_order = (1).to_bytes(32, "little")  # the identity point: valid encoding, order 1
    off_curve = (2).to_bytes(32, "little")
    return {
        "not json": "{keys: [",
        "not utf-8": b"\xff\xfe{}",
        "not an object": "[]",
        "wrong format": top(lambda d: d.update(format="druglib-trust/2")),
        "unknown top field": top(lambda d: d.update(comment="x")),
        "no keys": top(lambda d: d.update(keys=[])),
        "keys not a list": top(lambda d: d.update(keys={})),
        "too many keys": top(lambda d: d.update(keys=d["keys"] * 6)),
        "entry not an object": top(lambda d: d["keys"].append("abc")),
        "unknown entry field": entry(lambda e: e.update(expires="never")),
        "missing role": entry(lambda e: e.pop("role")),
        "unknown role": entry(lambda e: e.update(role="admin")),
        "role not text": entry(lambda e: e.update(role=1)),
        "unknown alg": entry(lambda e: e.update(alg="lms")),
        "bad hex": entry(lambda e: e.update(public_key="zz" + e["public_key"][2:])),
        "short key": entry(lambda e: e.update(public_key=e["public_key"][:62])),
        "key not text": entry(lambda e: e.update(public_key=12)),
        "key id mismatch": entry(lambda e: e.update(key_id=kid(BOB).hex())),
        "short key id": entry(lambda e: e.update(key_id=e["key_id"][:14])),
        "name too long": entry(lambda e: e.update(name="x" * 65)),
        "off-curve key": entry(lambda e: e.update(public_key=off_curve.hex(), key_id=trust.key_id_of(off_curve).hex())),
        "small-order key": entry(lambda e: e.update(public_key=small_order.hex(),
                                                    key_id=trust.key_id_of(small_order).hex())),
        "same key twice": top(lambda d: d["keys"].append(dict(d["keys"][0]))),
        "same key in both roles": top(lambda d: d["keys"].append(dict(d["keys"][0], role="approver"))),
    }


@pytest.mark.parametrize("case", sorted(_mutations()))
def test_a_malformed_trust_store_is_refused(case):
    with pytest.raises(TrustStoreError) as err:
        trust.parse(_mutations()[case])
    assert err.value.code == "TRUST_MALFORMED"
    assert err.value.message


def test_upper_case_hex_is_accepted():
    d = doc()
    d["keys"][0]["public_key"] = d["keys"][0]["public_key"].upper()
    assert trust.parse(json.dumps(d)).lookup(kid(ALICE)) is not None


def test_a_wrong_role_or_algorithm_is_named_as_the_file_spells_it():
    # a reviewer reading the error finds the value in the file: 1, not Number('1')
    for field, value, shown in (("role", 1, "unknown role 1 "), ("alg", 2.50, "unsupported algorithm 2.5"),
                                ("role", "admin", "unknown role 'admin' ")):
        d = doc()
        d["keys"][0][field] = value
        with pytest.raises(TrustStoreError) as err:
            trust.parse(json.dumps(d))
        assert shown in err.value.message and "Number(" not in err.value.message, err.value.message


def test_a_trust_store_past_the_reader_limit_says_trust_store_not_request():
    d = doc()
    d["keys"][0]["name"] = "x" * 70000
    with pytest.raises(TrustStoreError) as err:
        trust.parse(json.dumps(d))
    assert err.value.message.startswith("trust store longer than") and "request" not in err.value.message
