"""Issue 10 items 1 and 2 at the command line: real subprocesses, the real
firmware under MicroPython behind a real pty (`druglib pumpsim`).

Stories: arrange a pump running the released v3; attack with a corrected
library released under v3 again (same version, other bytes) and with a
trust store that lists "keys" twice; assert the commands say so in one line
with a non-zero exit, and the pump's library, commit record and log are
unchanged (but for the install-rejected record).
"""
import hashlib
import json
import os

import pytest

from conftest_signing import ALICE, BOB, MALLORY, pub, released
from firmware.release import trust
from pumpsimproc import Sim, druglib

LIB = os.environ["DRUGLIB_RELEASED_LIBRARY"]
TRUST = os.environ["DRUGLIB_TRUST"]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    from host_tools.library.build import compile_model
    from host_tools.library.encode import encode_library

    d = tmp_path_factory.mktemp("reuse")
    model = compile_model(version=3)
    model["drug"]["limits"]["weight_max_g"] -= 50000  # "a corrected limit", released under v3 again
    fix = released(encode_library(model))
    paths = {"fix": str(d / "corrected-v3.lib"), "dup": str(d / "dup-trust.json")}
    with open(paths["fix"], "wb") as f:
        f.write(fix)
    e = [json.dumps(trust.entry_dict(pub(k), r)) for k, r in ((ALICE, "author"), (BOB, "approver"),
                                                             (MALLORY, "approver"))]
    with open(paths["dup"], "w") as f:  # a reviewer reads Alice + Bob; json.loads would keep Alice + Mallory
        f.write('{"format": "%s",\n "keys": [%s, %s],\n "keys": [%s, %s]}\n' % (trust.FORMAT, e[0], e[1], e[0], e[2]))
    return paths


def info(port):
    p = druglib("info", "--port", port, "--json")
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)


def records(port):
    p = druglib("log", "--port", port, "--json")
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)
    assert doc["verified"]
    return doc["records"]


def state_files(d):
    """The pump's stored state that a refusal must leave alone (the staging file aside)."""
    out = {}
    for n in sorted(os.listdir(d)):
        if not n.startswith("push."):
            with open(os.path.join(d, n), "rb") as fh:
                out[n] = fh.read()
    return out


def one_line(p, *words):
    assert p.returncode != 0 and "Traceback" not in p.stderr, p.stderr
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1, p.stderr
    for w in words:
        assert w in lines[0], lines[0]
    return lines[0]


def test_push_of_the_same_version_with_other_bytes_is_refused(files, tmp_path):
    sha = hashlib.sha256(open(LIB, "rb").read()).hexdigest()
    s = Sim(tmp_path / "pump", TRUST)
    try:
        assert druglib("push", "--port", s.port, LIB).returncode == 0
        i = info(s.port)
        assert (i["version"], i["library_sha256"]) == (3, sha)  # the digest beside the version
        p = druglib("info", "--port", s.port)
        assert p.returncode == 0 and "version 3 sha256 %s" % sha in p.stdout

        # the identical library: recognised at BEGIN, exit 0, nothing sent, nothing logged
        before_log, before_files = records(s.port), state_files(tmp_path / "pump")
        p = druglib("push", "--port", s.port, LIB)
        assert p.returncode == 0 and p.stderr == "", p.stderr
        assert "same: version 3 is already installed (identical bytes), nothing sent" in p.stdout
        assert records(s.port) == before_log and state_files(tmp_path / "pump") == before_files

        # the attack: a corrected library under the installed version
        p = druglib("push", "--port", s.port, files["fix"])
        assert p.returncode == 1
        assert "REJECTED LIB_VERSION_REUSED" in p.stdout and "raise the version" in p.stdout
        one_line(p, "LIB_VERSION_REUSED")
        after = records(s.port)
        assert after[:len(before_log)] == before_log
        assert [(r["kind"], r["fields"].get("code")) for r in after[len(before_log):]] == \
            [("install-rejected", "LIB_VERSION_REUSED")]
        i = info(s.port)
        assert (i["version"], i["library_sha256"], i["state"]) == (3, sha, "ok")
        p = druglib("push", "--port", s.port, files["fix"], "--json")
        assert p.returncode == 1 and json.loads(p.stdout)["pumps"][0]["outcome"] == "rejected"
        assert s.stop() == 0
    finally:
        s.kill()
    s = Sim(tmp_path / "pump", TRUST)  # after a restart: still the first library
    try:
        i = info(s.port)
        assert (i["version"], i["library_sha256"], i["state"]) == (3, sha, "ok")
    finally:
        s.kill()


def test_commit_record_and_slots_survive_the_refusal_byte_for_byte(files, tmp_path):
    s = Sim(tmp_path / "pump", TRUST)
    try:
        assert druglib("push", "--port", s.port, LIB).returncode == 0
        before = state_files(tmp_path / "pump")
        assert druglib("push", "--port", s.port, files["fix"]).returncode == 1
        after = state_files(tmp_path / "pump")
        changed = sorted(n for n in set(before) | set(after) if before.get(n) != after.get(n))
        assert changed == [n for n in sorted(after) if "log" in n]  # only the event log moved
        assert s.stop() == 0
    finally:
        s.kill()


def test_verify_with_the_installed_digest(files):
    sha = hashlib.sha256(open(LIB, "rb").read()).hexdigest()
    p = druglib("verify", "--trust", TRUST, LIB, "--installed-version", "3", "--installed-digest", sha)
    assert p.returncode == 3 and "identical bytes" in p.stdout and "no-op" in p.stdout
    p = druglib("verify", "--trust", TRUST, files["fix"], "--installed-version", "3", "--installed-digest", sha)
    assert p.returncode == 1 and p.stdout == ""
    one_line(p, "REJECTED LIB_VERSION_REUSED", "raise the version")
    p = druglib("verify", "--trust", TRUST, files["fix"], "--installed-version", "3", "--installed-digest",
                sha.upper(), "--json")
    assert p.returncode == 1 and json.loads(p.stdout)["code"] == "LIB_VERSION_REUSED"
    p = druglib("verify", "--trust", TRUST, files["fix"], "--installed-version", "2", "--installed-digest", sha)
    assert p.returncode == 0  # a newer version: the digest of the older one does not matter
    # without the digest the bytes are not compared, and the output says so
    p = druglib("verify", "--trust", TRUST, files["fix"], "--installed-version", "3", "--json")
    assert p.returncode == 3
    doc = json.loads(p.stdout)
    assert doc["status"] == "same" and doc["bytes_compared"] is False
    p = druglib("verify", "--trust", TRUST, files["fix"], "--installed-version", "3")
    assert p.returncode == 3 and "--installed-digest" in p.stdout
    # usage errors: one line, exit 2
    for args, words in ((["--installed-digest", sha], "needs --installed-version"),
                        (["--installed-version", "3", "--installed-digest", sha[:-1]], "64 hex digits"),
                        (["--installed-version", "3", "--installed-digest", "zz" * 32], "64 hex digits")):
        p = druglib("verify", "--trust", TRUST, LIB, *args)
        assert p.returncode == 2
        one_line(p, words)


def test_a_trust_store_with_keys_twice_is_refused_everywhere(files, tmp_path):
    msg = "TRUST_MALFORMED: trust store is not valid JSON: duplicate key 'keys'"
    # druglib verify: the host reads the trust store with the pump's parser
    one_line(druglib("verify", "--trust", files["dup"], LIB), msg)
    # druglib keygen adding a key to it
    one_line(druglib("keygen", "--role", "author", "--out", tmp_path / "k.pem", "--trust", files["dup"],
                     "--no-passphrase"), msg)
    # the pump: arrange a pump running v3, restart it with the edited trust store
    s = Sim(tmp_path / "pump", TRUST)
    try:
        assert druglib("push", "--port", s.port, LIB).returncode == 0
        assert s.stop() == 0
    finally:
        s.kill()
    before = state_files(tmp_path / "pump")
    p = druglib("pumpsim", "--state", tmp_path / "pump", "--trust", files["dup"], "--json", timeout=60)
    assert p.stdout == ""
    one_line(p, "TRUST_MALFORMED", "duplicate key 'keys'")
    assert state_files(tmp_path / "pump") == before  # the library, commit record and log untouched
    s = Sim(tmp_path / "pump", TRUST)
    try:
        assert info(s.port)["version"] == 3
    finally:
        s.kill()
