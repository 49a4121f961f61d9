"""`druglib keygen / sign / verify` end to end, as real subprocesses.

Stories of the two-person release as pharmacy would run it, and of every
way a user can get it wrong: each wrong way exits non-zero with exactly one
line on stderr and never a traceback.
"""
import json
import os
import subprocess
import sys

import pytest

from conftest_signing import unsigned_library

DRUGLIB = os.path.join(os.path.dirname(sys.executable), "druglib")


def druglib(cwd, *args, env=None):
    full_env = dict(os.environ)
    full_env.update(env or {})
    return subprocess.run([DRUGLIB] + list(args), cwd=str(cwd), capture_output=True, text=True, env=full_env,
                          timeout=120)


def one_line_error(proc, code=None):
    """A user error: non-zero exit, one stderr line, no traceback; returns that line."""
    assert proc.returncode != 0, proc.stdout
    lines = proc.stderr.strip().split("\n")
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    if code is not None:
        assert code in lines[0], lines[0]
    return lines[0]


@pytest.fixture(scope="module")
def desk(tmp_path_factory):
    """Pharmacy's desk: two people's keys in one trust store, and an unsigned library."""
    d = tmp_path_factory.mktemp("desk")
    (d / "alice.pass").write_text("correct horse battery staple\n")
    r = druglib(d, "keygen", "--role", "author", "--out", "alice.pem", "--passphrase-file", "alice.pass",
                "--trust", "trust.json", "--name", "Alice (pharmacist)")
    assert r.returncode == 0, r.stderr
    r = druglib(d, "keygen", "--role", "approver", "--out", "bob.pem", "--passphrase-env", "BOB_PASS",
                "--trust", "trust.json", "--json", env={"BOB_PASS": "bobs own secret"})
    assert r.returncode == 0, r.stderr
    (d / "bob.json").write_text(r.stdout)  # keygen --json output, checked below
    (d / "unsigned.lib").write_bytes(unsigned_library())
    return d


def sign_as(d, who, lib, *extra):
    if who == "alice":
        return druglib(d, "sign", "--key", "alice.pem", "--passphrase-file", "alice.pass", lib, *extra)
    return druglib(d, "sign", "--key", "bob.pem", "--passphrase-env", "BOB_PASS", lib, *extra,
                   env={"BOB_PASS": "bobs own secret"})


def copy(d, src, dst):
    (d / dst).write_bytes((d / src).read_bytes())
    return dst


def test_keygen_writes_an_encrypted_pem_and_a_trust_store_the_pump_accepts(desk):
    pem = (desk / "bob.pem").read_text()
    assert "-----BEGIN ENCRYPTED PRIVATE KEY-----" in pem and pem.startswith("Druglib-Role: approver\n")
    assert oct(os.stat(desk / "bob.pem").st_mode & 0o777) == "0o600"
    bob = json.loads((desk / "bob.json").read_text())
    assert bob["role"] == "approver" and len(bob["key_id"]) == 16 and len(bob["public_key"]) == 64
    from firmware.release import trust
    store = trust.load(str(desk / "trust.json"))
    assert [k.name for k in store.keys] == ["Alice (pharmacist)", ""]
    assert store.lookup(bytes.fromhex(bob["key_id"])).public_key.hex() == bob["public_key"]


def test_two_person_release_from_unsigned_to_installable(desk):
    lib = copy(desk, "unsigned.lib", "release.lib")
    # Nobody has signed: the pump would refuse.
    one_line_error(druglib(desk, "verify", "--trust", "trust.json", lib), "SIG_ROLE_MISSING")
    # The author signs: still not a release.
    r = sign_as(desk, "alice", lib, "--trust", "trust.json")
    assert r.returncode == 0 and "still needs: approver" in r.stdout, r.stderr
    one_line_error(druglib(desk, "verify", "--trust", "trust.json", lib), "SIG_ROLE_MISSING")
    # The approver signs: released, and installable on a pump with no library or an older one.
    r = sign_as(desk, "bob", lib, "--trust", "trust.json")
    assert r.returncode == 0, r.stderr
    r = druglib(desk, "verify", "--trust", "trust.json", lib, "--json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["verdict"] == "released" and doc["status"] == "install"
    assert sorted(s["role"] for s in doc["signers"]) == ["approver", "author"]
    version = doc["library_version"]
    assert druglib(desk, "verify", "--trust", "trust.json", lib, "--installed-version", str(version - 1)).returncode == 0
    # Same version: a no-op for the pump (exit 3); older: a rollback.
    r = druglib(desk, "verify", "--trust", "trust.json", lib, "--installed-version", str(version))
    assert r.returncode == 3 and "no-op" in r.stdout
    one_line_error(druglib(desk, "verify", "--trust", "trust.json", lib, "--installed-version", str(version + 1)),
                   "LIB_ROLLBACK")


def test_signing_order_does_not_matter(desk):
    a = copy(desk, "unsigned.lib", "order-a.lib")
    b = copy(desk, "unsigned.lib", "order-b.lib")
    assert sign_as(desk, "alice", a).returncode == 0 and sign_as(desk, "bob", a).returncode == 0
    assert sign_as(desk, "bob", b).returncode == 0 and sign_as(desk, "alice", b, "--out", "order-b2.lib").returncode == 0
    assert (desk / "order-a.lib").read_bytes() == (desk / "order-b2.lib").read_bytes()
    assert druglib(desk, "verify", "--trust", "trust.json", "order-b2.lib").returncode == 0


def test_signing_twice_with_one_key_is_refused(desk):
    lib = copy(desk, "unsigned.lib", "twice.lib")
    assert sign_as(desk, "alice", lib).returncode == 0
    before = (desk / lib).read_bytes()
    assert "already signed" in one_line_error(sign_as(desk, "alice", lib))
    assert (desk / lib).read_bytes() == before  # refused means untouched


def test_a_second_signature_for_a_role_is_refused(desk):
    (desk / "carol.pass").write_text("carol\n")
    r = druglib(desk, "keygen", "--role", "author", "--out", "carol.pem", "--passphrase-file", "carol.pass")
    assert r.returncode == 0, r.stderr
    lib = copy(desk, "unsigned.lib", "third.lib")
    assert sign_as(desk, "alice", lib).returncode == 0
    line = one_line_error(druglib(desk, "sign", "--key", "carol.pem", "--passphrase-file", "carol.pass", lib))
    assert "already has an author signature" in line
    # Carol is not in the trust store: with --trust she is refused up front.
    line = one_line_error(druglib(desk, "sign", "--key", "carol.pem", "--passphrase-file", "carol.pass",
                                  "--trust", "trust.json", copy(desk, "unsigned.lib", "carol.lib")))
    assert "not in the trust store" in line


def test_a_library_changed_after_signing_is_caught_by_verify_and_by_the_next_signer(desk):
    lib = copy(desk, "unsigned.lib", "changed.lib")
    assert sign_as(desk, "alice", lib).returncode == 0
    blob = bytearray((desk / lib).read_bytes())
    blob[60] ^= 1
    (desk / lib).write_bytes(bytes(blob))
    one_line_error(druglib(desk, "verify", "--trust", "trust.json", lib), "LIB_DIGEST")
    one_line_error(sign_as(desk, "bob", lib, "--trust", "trust.json"), "LIB_DIGEST")


@pytest.mark.parametrize("story", [
    "keygen over an existing key", "keygen into a missing folder", "keygen with an unknown role",
    "keygen with an empty passphrase file", "wrong passphrase", "no passphrase for an encrypted key",
    "unset passphrase variable", "garbage key file", "not an ed25519 key", "missing key file",
    "missing library", "garbage library", "missing trust store", "malformed trust store",
    "verify without --trust", "negative installed version",
])
def test_user_errors_give_one_clear_line(desk, tmp_path, story):
    (tmp_path / "empty.pass").write_text("\n")
    (tmp_path / "garbage.pem").write_text("-----BEGIN PRIVATE KEY-----\nnot base64 at all\n-----END PRIVATE KEY-----\n")
    (tmp_path / "garbage.lib").write_bytes(b"DLIB not really a library")
    (tmp_path / "bad-trust.json").write_text('{"format": "druglib-trust/1", "keys": [{"role": "author"}]}')
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    (tmp_path / "ec.pem").write_bytes(ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    alice, trust, lib = str(desk / "alice.pem"), str(desk / "trust.json"), str(desk / "unsigned.lib")
    pw = str(desk / "alice.pass")
    runs = {
        "keygen over an existing key": ("keygen", "--role", "author", "--out", alice),
        "keygen into a missing folder": ("keygen", "--role", "author", "--out", "no/such/dir/k.pem"),
        "keygen with an unknown role": ("keygen", "--role", "boss", "--out", "k.pem"),
        "keygen with an empty passphrase file": ("keygen", "--role", "author", "--out", "k.pem",
                                                 "--passphrase-file", "empty.pass"),
        "wrong passphrase": ("sign", "--key", alice, "--passphrase-file", "empty.pass", lib),
        "no passphrase for an encrypted key": ("sign", "--key", alice, lib),
        "unset passphrase variable": ("sign", "--key", alice, "--passphrase-env", "NO_SUCH_VARIABLE_X", lib),
        "garbage key file": ("sign", "--key", "garbage.pem", lib),
        "not an ed25519 key": ("sign", "--key", "ec.pem", lib),
        "missing key file": ("sign", "--key", "nope.pem", lib),
        "missing library": ("sign", "--key", alice, "--passphrase-file", pw, "nope.lib"),
        "garbage library": ("sign", "--key", alice, "--passphrase-file", pw, "garbage.lib"),
        "missing trust store": ("verify", "--trust", "nope.json", lib),
        "malformed trust store": ("verify", "--trust", "bad-trust.json", lib),
        "verify without --trust": ("verify", lib),
        "negative installed version": ("verify", "--trust", trust, lib, "--installed-version", "-1"),
    }
    if story == "wrong passphrase":
        (tmp_path / "empty.pass").write_text("not alice's passphrase\n")
    line = one_line_error(druglib(tmp_path, *runs[story]))
    assert len(line) < 300
    assert not (tmp_path / "k.pem").exists()
