"""The library index the pump checks through (firmware/library/index.py; issue 11
item 4, docs/adr/0014-library-index.md): the same drugs as the whole
decoded library, the same refusals with the same messages whatever the chunks
the body streams in, two names sharing a hash told apart, a bounded cache, and
a pump whose stored drug is corrupted after boot rejecting, never accepting."""
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest_signing import Kit, released
from firmware.errors import LibraryFormatError
from firmware.library import container as ct
from firmware.library import index as ix
from firmware.library.body import decode_body
from firmware.pump import Pump
from firmware.store.faultstorage import FaultStorage
from firmware.store.slots import SLOTS
from libfixtures import formulary, real_library_bytes

UNSIGNED = real_library_bytes()
BLOB50, _ = formulary(UNSIGNED, 50)
BODY50 = ct.parse(BLOB50).body
GOOD = {"drug": "blinatumomab", "indication": "mrd", "cycle": 1, "day": 1, "restart_after_adverse_event": False,
        "patient": {"age_days": 9000, "weight_kg": 70, "bsa_m2": 1.8}, "dose": {"value": 28, "unit": "mcg/day"},
        "bag": {"blinatumomab_mcg": 31.5, "volume_ml": 270, "preservative": False},
        "infusion": {"rate_ml_h": 10, "duration_h": 24, "vtbi_ml": 240},
        "line": {"inline_filter": True, "dehp_free": True}, "overrides": []}


def streamed(body, cuts):
    """The index of `body` fed in the chunks `cuts` says, or the error it raises."""
    x = ix.Indexer(lambda at, n: body[at:at + n])
    pos = 0
    for c in cuts:
        x.feed(body[pos:pos + c])
        pos += c
    x.feed(body[pos:])
    return x.finish(7)


def test_every_drug_of_a_formulary_is_the_decoded_one():
    whole = decode_body(BODY50)
    lib = ix.index_bytes(BODY50, 7)
    assert lib.count == 50 and lib["library_name"] == whole["library_name"] and lib["library_version"] == 7
    assert lib["rules_sha256"] == whole["rules_sha256"]
    for d in whole["drugs"]:
        assert lib.drug(d["name"]) == d
        assert len(lib.cache) <= ix.CACHE_DRUGS
    assert lib.drug("formulary-drug-050") is None and lib.drug("") is None and lib.drug("x" * 300) is None
    assert lib.first_drug() == whole["drugs"][0]
    assert ix.drug_named(whole, "formulary-drug-007") == ix.drug_named(lib, "formulary-drug-007")


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(1, 700), max_size=12))
def test_any_chunking_gives_the_same_index(cuts):
    assert streamed(BODY50, cuts) == ix.index_bytes(BODY50, 7)


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_a_damaged_body_is_refused_exactly_as_decode_body_refuses_it(data):
    body = bytearray(ct.parse(formulary(UNSIGNED, 3)[0]).body)
    for _ in range(data.draw(st.integers(1, 3))):
        i = data.draw(st.integers(0, len(body) - 1))
        body[i] = data.draw(st.integers(0, 255))
    if data.draw(st.booleans()):
        del body[data.draw(st.integers(0, len(body) - 1)):]
    body = bytes(body)
    cuts = data.draw(st.lists(st.integers(1, 300), max_size=6))
    try:
        want = decode_body(body)
    except LibraryFormatError as e:
        with pytest.raises(LibraryFormatError) as got:
            streamed(body, cuts)
        assert got.value.message == e.message
        return
    lib = streamed(body, cuts)
    for d in want["drugs"]:
        assert lib.drug(d["name"]) == d


def colliding_names():
    seen = {}
    k = 0
    while True:
        name = "drug-%d" % k
        h = ix.name_hash(name)
        if h in seen:
            return seen[h], name
        seen[h] = name
        k += 1


def renamed(unsigned, names):
    return ct.parse(formulary(unsigned, len(names), names=names)[0]).body


def test_two_names_sharing_a_hash_are_told_apart_and_a_name_given_twice_is_refused():
    a, b = colliding_names()
    assert ix.name_hash(a) == ix.name_hash(b) and a != b
    body = renamed(UNSIGNED, ["blinatumomab", a, b])
    lib = ix.index_bytes(body)
    assert lib.drug(a)["name"] == a and lib.drug(b)["name"] == b and lib.drug("blinatumomab")
    twice = renamed(UNSIGNED, ["blinatumomab", a, "blinatumomab"])
    with pytest.raises(LibraryFormatError, match="drug blinatumomab given twice"):
        ix.index_bytes(twice)
    with pytest.raises(LibraryFormatError, match="drug blinatumomab given twice"):
        decode_body(twice)


def test_a_drug_whose_records_pass_the_bound_is_refused_before_it_is_held():
    body = ct.parse(UNSIGNED).body
    recs, i = [], 0
    while i < len(body):
        n = 3 + body[i + 1] * 256 + body[i + 2]
        recs.append(body[i:i + n])
        i += n
    rec = [r for r in recs if r[0] == 0x32][0]  # a schedule record, repeated past the bound
    big = body + rec * (17000 // len(rec))
    with pytest.raises(LibraryFormatError, match="records pass 16384 bytes"):
        decode_body(big)
    with pytest.raises(LibraryFormatError, match="records pass 16384 bytes"):
        ix.index_bytes(big)


def test_a_pump_whose_stored_drug_is_corrupted_after_boot_rejects_never_accepts(tmp_path):
    # Arrange: a pump with a released 50-drug formulary, booted (index built)
    kit = Kit(tmp_path, version=3)
    blob = released(formulary(kit.unsigned, 50)[0])
    st = FaultStorage()
    pump = Pump(st, kit.trust)
    pump.boot()
    assert pump.install(blob)["status"] == "installed"
    prog = json.dumps(dict(GOOD, drug="formulary-drug-020"))
    assert json.loads(pump.check_text(prog)[0])["verdict"] == "accept"
    # Attack: the flash under that drug rots (its cache entry pushed out first)
    for name in ("formulary-drug-001", "formulary-drug-002"):
        pump.check_text(json.dumps(dict(GOOD, drug=name)))
    slot = SLOTS[pump.store.active.slot]
    raw = bytearray(st.medium.files[slot])
    at = raw.find(b"formulary-drug-020")
    raw[at + 40] ^= 0xFF
    st.medium.files[slot] = bytearray(raw)
    # Assert: never a verdict from bytes that no longer read back as verified:
    # NO_LIBRARY (self-test failed, logged), and so for every drug after it
    out = json.loads(pump.check_text(prog)[0])
    assert out["verdict"] == "reject" and out["findings"][0]["code"] == "NO_LIBRARY", out
    assert pump.fault == "LIB_SELFTEST" and pump.lib is None
    again = json.loads(pump.check_text(json.dumps(GOOD))[0])
    assert again["findings"][0]["code"] == "NO_LIBRARY"
    from firmware.store import logrec
    kinds = [k for _, k, _ in logrec.decode_all(pump.log.read_all())]
    assert "selftest" in " ".join(kinds), kinds
