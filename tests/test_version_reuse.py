"""Issue 10 items 1 and 2 on the firmware, as stories, under CPython and MicroPython.

Item 1, same version, different bytes: arrange a pump running a released
library; attack with another released library (a corrected limit, signed by
the same two trusted people) under the SAME version; assert it is refused
with LIB_VERSION_REUSED and the active library, the commit record and the log
are unchanged (but for the install-rejected record), also after a reboot; the
identical library is recognised at BEGIN, before any DATA.

Item 2, duplicate JSON keys: a trust store with "keys" twice (a reviewer sees
the first list, json.loads keeps the last) or any key twice at any level is
malformed, on both engines.

The stories are tests/mpy/reuse_story.py, run in process (CPython) and under
the MicroPython unix port; both must print the same lines.
"""
import hashlib
import json
import os
import sys

import pytest

from conftest_signing import ALICE, BOB, MALLORY, VERSION, pub, released, trust_text, unsigned_library
from firmware import jsontext
from firmware.errors import VersionReusedError
from firmware.library import container as ct
from firmware.release import trust
from firmware.release import verify as release
from mpyrun import MPY_DIR, run_micropython

sys.path.insert(0, MPY_DIR)
import reuse_story  # noqa: E402  (tests/mpy/reuse_story.py: the stories both engines run)


def corrected_library(version=VERSION):
    """The real library with one limit corrected, released under `version`."""
    from host_tools.library.build import compile_model
    from host_tools.library.encode import encode_library

    model = compile_model(version=version)
    model["drug"]["limits"]["weight_max_g"] -= 50000  # "a corrected limit"
    return released(encode_library(model))


def entry(sk, role):
    return json.dumps(trust.entry_dict(pub(sk), role))


GOOD = trust_text()
# what a reviewer reads first: Alice (author) + Bob (approver); what json.loads
# (both engines) kept: Alice + Mallory as approver
DUP_CASES = {
    "keys-twice": '{"format": "%s", "keys": [%s, %s], "keys": [%s, %s]}' % (
        trust.FORMAT, entry(ALICE, "author"), entry(BOB, "approver"),
        entry(ALICE, "author"), entry(MALLORY, "approver")),
    "format-twice": '{"format": "druglib-trust/0", "format": "%s", "keys": [%s, %s]}' % (
        trust.FORMAT, entry(ALICE, "author"), entry(BOB, "approver")),
    "role-twice-in-a-key": '{"format": "%s", "keys": [%s, %s]}' % (
        trust.FORMAT, entry(ALICE, "author"), entry(MALLORY, "approver")[:-1] + ', "role": "approver"}'),
    "escaped-duplicate": '{"format": "%s", "keys": [%s], "k\\u0065ys": [%s, %s]}' % (
        trust.FORMAT, entry(ALICE, "author"), entry(ALICE, "author"), entry(BOB, "approver")),
}


@pytest.fixture(scope="module")
def libs():
    lib = released(unsigned_library(VERSION))
    fix = corrected_library()
    assert lib != fix and ct.parse(lib).header.library_version == ct.parse(fix).header.library_version == VERSION
    return lib, fix


def story_input(lib, fix):
    lines = ["trust " + GOOD.encode().hex(), "lib " + lib.hex(), "fix " + fix.hex()]
    lines += ["dup %s %s" % (name, text.encode().hex()) for name, text in sorted(DUP_CASES.items())]
    return "\n".join(lines)


def expected(lib):
    v = VERSION
    return [
        "arrange: installed, %d DATA frames" % ((len(lib) + 511) // 512),
        "info: version %d, digest is the library's: True" % v,
        "identical: same-at-BEGIN v%d, 0 DATA frames; unchanged: True; log unchanged: True; nothing staged: True" % v,
        "reused version: LIB_VERSION_REUSED; commit record and slots unchanged: True; "
        "log gained ['install-rejected'] ['LIB_VERSION_REUSED']",
        "still runs: version %d, the first library: True, state ok" % v,
        "after reboot: version %d, the first library: True, unchanged: True, log gained ['boot']" % v,
        "decayed: state no-library, fault LIB_SELFTEST",
        "decayed, reused version: LIB_VERSION_REUSED",
        "decayed, identical: installed (transferred: True); state ok version %d" % v,
    ]


def test_the_stories_on_cpython(libs):
    lib, fix = libs
    out = reuse_story.main(story_input(lib, fix).split("\n"))
    assert out[:9] == expected(lib)
    dups = out[9:-1]
    assert len(dups) == len(DUP_CASES) and out[-1] == "OK reuse_story"
    for line in dups:
        assert ": TRUST_MALFORMED: trust store is not valid JSON: duplicate key" in line, line


def test_the_stories_under_micropython_print_the_same_lines(libs):
    lib, fix = libs
    proc = run_micropython([os.path.join(MPY_DIR, "reuse_story.py")], stdin=story_input(lib, fix).encode())
    got = proc.stdout.decode().rstrip("\n").split("\n")
    assert proc.returncode == 0 and got[-1] == "OK reuse_story", proc.stdout.decode() + proc.stderr.decode()
    assert got == reuse_story.main(story_input(lib, fix).split("\n"))


def test_json_module_would_have_trusted_the_last_list():
    """Why item 2 matters: the json module keeps the last "keys" (the Mallory list)."""
    doc = json.loads(DUP_CASES["keys-twice"])
    assert [k["public_key"] for k in doc["keys"]][1] == pub(MALLORY).hex()
    with pytest.raises(jsontext.JsonTextError):
        jsontext.loads(DUP_CASES["keys-twice"])


def test_verify_blob_tells_identical_from_reused(libs):
    lib, fix = libs
    ts = trust.parse(GOOD)
    digest = hashlib.sha256(lib).digest()
    assert release.verify_blob(lib, ts, VERSION, digest).status == "same"
    assert release.verify_blob(lib, ts, VERSION).status == "same"  # without the digest: not compared
    with pytest.raises(VersionReusedError) as ei:
        release.verify_blob(fix, ts, VERSION, digest)
    assert ei.value.code == "LIB_VERSION_REUSED" and "raise the version" in ei.value.message
    assert release.verify_blob(fix, ts, VERSION - 1, digest).status == "install"  # a newer version: fine


def test_no_firmware_module_parses_json_with_the_json_module():
    """Item 2: the strict reader is the only JSON parser in the firmware."""
    root = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "firmware")
    offenders = []
    for d, _, names in os.walk(root):
        for n in names:
            if n.endswith(".py") and n != "manifest.py":
                with open(os.path.join(d, n)) as fh:
                    for line in fh:
                        s = line.strip()
                        if s.startswith(("import json", "import ujson", "from json", "from ujson")):
                            offenders.append(os.path.join(d, n))
    assert offenders == []
