"""Release keys on the host: Ed25519 private keys in PKCS#8 PEM files, and the trust store.

A key file is a standard PKCS#8 PEM (encrypted with the passphrase, when one
is given) preceded by two lines of RFC 7468 "explanatory text" that say which
release role the key was made for:

    Druglib-Role: approver
    Druglib-Key-Id: 3f0c9a1be2d45678
    -----BEGIN ENCRYPTED PRIVATE KEY-----
    ...

Those lines only spare the signer a `--role` option; they are not trusted.
The pump trusts its trust store alone (firmware/release/trust.py), and `druglib sign
--trust` checks the key against it before signing.
"""
import json
import os
import sys

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from firmware.release import trust as ftrust
from firmware.errors import TrustStoreError
from host_tools.errors import DruglibError, KeyFileError, UsageError
from host_tools.library.files import write_atomic

ROLES = ("author", "approver")
ROLE_HEADER = "Druglib-Role:"
KEY_ID_HEADER = "Druglib-Key-Id:"
MAX_PASSPHRASE = 1024


def public_raw(private_key):
    return private_key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id_hex(public_key):
    return ftrust.key_id_of(public_key).hex()


def generate(role, passphrase=None):
    """-> (pem file bytes, raw 32-byte public key) for a fresh key made for `role`."""
    if role not in ROLES:
        raise UsageError("role must be author or approver, not %r" % role)
    sk = Ed25519PrivateKey.generate()
    enc = serialization.BestAvailableEncryption(passphrase) if passphrase else serialization.NoEncryption()
    pem = sk.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, enc)
    pub = public_raw(sk)
    head = "%s %s\n%s %s\n" % (ROLE_HEADER, role, KEY_ID_HEADER, key_id_hex(pub))
    return head.encode("ascii") + pem, pub


def read_passphrase(file=None, env=None):
    """The passphrase from a file (first line) or an environment variable; None if neither given."""
    if file and env:
        raise UsageError("give --passphrase-file or --passphrase-env, not both")
    if file:
        try:
            with open(file, "rb") as fh:
                data = fh.read(MAX_PASSPHRASE + 2)
        except OSError as e:
            raise UsageError("cannot read passphrase file %s: %s" % (file, e.strerror or e)) from None
        value = data.split(b"\n", 1)[0].rstrip(b"\r")
        where = "passphrase file %s" % file
    elif env:
        if env not in os.environ:
            raise UsageError("environment variable %s is not set" % env)
        value = os.environ[env].encode("utf-8")
        where = "environment variable %s" % env
    else:
        return None
    if not value:
        raise UsageError("%s holds an empty passphrase" % where)
    if len(value) > MAX_PASSPHRASE:
        raise UsageError("%s holds a passphrase longer than %d bytes" % (where, MAX_PASSPHRASE))
    return value


def write_new(path, data):
    """Create `path` with `data`, readable by its owner only; never overwrite."""
    d = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(d):
        raise UsageError("folder %s does not exist" % d)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise UsageError("%s already exists; refusing to overwrite a key" % path) from None
    except OSError as e:
        raise UsageError("cannot create %s: %s" % (path, e.strerror or e)) from None
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
    except OSError as e:
        remove_quietly(path)  # never leave half a key behind
        raise UsageError("cannot write %s: %s" % (path, e.strerror or e)) from None


def remove_quietly(path):
    try:
        os.unlink(path)
    except OSError:
        pass


def _header_role(data):
    """Role named in the key file's explanatory text, or None."""
    head = data.split(b"-----BEGIN", 1)[0]
    for line in head.decode("utf-8", "replace").splitlines():
        if line.startswith(ROLE_HEADER):
            role = line[len(ROLE_HEADER):].strip()
            if role not in ROLES:
                raise KeyFileError("key file names unknown role %r" % role)
            return role
    return None


def load_private_key(path, passphrase=None, ask=None):
    """-> (Ed25519PrivateKey, role named in the file or None); KeyFileError on any problem.

    `ask`: a callable returning the passphrase, used only when the key is
    encrypted and no passphrase was given (an interactive prompt).
    """
    try:
        with open(path, "rb") as fh:
            data = fh.read(1 << 16)
    except FileNotFoundError:
        raise KeyFileError("key file %s does not exist" % path) from None
    except OSError as e:
        raise KeyFileError("cannot read key file %s: %s" % (path, e.strerror or e)) from None
    if b"-----BEGIN" not in data:
        raise KeyFileError("%s is not a PEM key file" % path)
    if b"ENCRYPTED PRIVATE KEY" in data and passphrase is None:
        if ask is None:
            raise KeyFileError("key %s is passphrase-protected: give --passphrase-file or --passphrase-env" % path)
        passphrase = ask()
    try:
        sk = serialization.load_pem_private_key(data, passphrase)
    except TypeError:
        if passphrase is None:
            raise KeyFileError("key %s is passphrase-protected: give --passphrase-file or --passphrase-env"
                               % path) from None
        raise KeyFileError("key %s is not passphrase-protected; do not give a passphrase" % path) from None
    except ValueError as e:
        if "password" in str(e).lower() or "decrypt" in str(e).lower():
            raise KeyFileError("wrong passphrase for key %s" % path) from None
        raise KeyFileError("%s is not a readable PKCS#8 private key" % path) from None
    except Exception:  # cryptography raises various types for exotic garbage
        raise KeyFileError("%s is not a readable PKCS#8 private key" % path) from None
    if not isinstance(sk, Ed25519PrivateKey):
        raise KeyFileError("%s is not an Ed25519 key" % path)
    return sk, _header_role(data)


def prompt_new_passphrase(what):
    """Ask twice on the terminal for the passphrase of a new key; None when stdin
    is not a terminal (callers then refuse: never an unprotected key by default)."""
    if not sys.stdin.isatty():
        return None
    import getpass

    first = getpass.getpass("passphrase for the new key %s: " % what).encode("utf-8")
    if not first:
        raise UsageError("an empty passphrase protects nothing; no key was made (use --no-passphrase for a "
                         "throw-away key)")
    if len(first) > MAX_PASSPHRASE:
        raise UsageError("a passphrase of at most %d bytes, please; no key was made" % MAX_PASSPHRASE)
    if getpass.getpass("the same passphrase again: ").encode("utf-8") != first:
        raise UsageError("the two passphrases differ; no key was made")
    return first


def prompt_passphrase():
    """Interactive prompt when stdin is a terminal; None otherwise (callers then refuse)."""
    if not sys.stdin.isatty():
        return None
    import getpass

    return getpass.getpass("passphrase: ").encode("utf-8")


def read_trust(path):
    """Parse a trust store file with the device's own parser; errors become DruglibError."""
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except FileNotFoundError:
        raise UsageError("trust store %s does not exist" % path) from None
    except OSError as e:
        raise UsageError("cannot read trust store %s: %s" % (path, e.strerror or e)) from None
    try:
        return ftrust.parse(data), data
    except TrustStoreError as e:
        raise DruglibError("trust store %s: %s: %s" % (path, e.code, e.message)) from None


def add_to_trust(path, public_key, role, name=""):
    """Append one key to the trust store at `path` (created if absent), written atomically."""
    write_atomic(path, trust_with(path, public_key, role, name))


def trust_with(path, public_key, role, name=""):
    """The trust store at `path` (empty if absent) with one more key, as bytes the
    device's parser accepts; nothing is written."""
    entries = []
    if os.path.exists(path):
        _, data = read_trust(path)
        entries = json.loads(data.decode("utf-8"))["keys"]
    entries.append(ftrust.entry_dict(public_key, role, name))
    text = json.dumps({"format": ftrust.FORMAT, "keys": entries}, indent=2) + "\n"
    try:
        ftrust.parse(text)  # the device must accept what we write
    except TrustStoreError as e:
        raise DruglibError("cannot add key to trust store %s: %s" % (path, e.message)) from None
    return text.encode("utf-8")
