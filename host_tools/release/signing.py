"""Adding release signatures to a library (docs/signing.md), on the host.

Pure functions over bytes; the file handling lives in cmd_sign.py. The
signed manifest comes from firmware.release.verify.manifest, the very function the
pump uses, and every new signature is checked with the pump's own verifier
before it is written.
"""
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from firmware.library import container as ct
from firmware.release import ed25519
from firmware.release import verify as release
from firmware.errors import PumpError
from firmware.release.trust import ROLES, key_id_of, role_name
from host_tools.errors import LibraryError, SigningError
from host_tools.release.keys import public_raw

ALG_NAMES = {ct.ALG_ED25519: "ed25519"}


def frame(blob, name="the library"):
    """container.parse with the device's errors turned into a one-line LibraryError."""
    try:
        return ct.parse(blob)
    except PumpError as e:
        raise LibraryError("%s is not a usable library: %s: %s" % (name, e.code, e.message)) from None


def _check_existing(c, trust):
    """Every signature already present must be one the pump would accept (signatures only)."""
    for s in c.signatures:
        k = trust.lookup(s.key_id)
        if k is None:
            raise SigningError("the library carries a signature by key %s, which the trust store does not list"
                               % s.key_id.hex())
        if k.role != s.role:
            raise SigningError("the library carries a signature by key %s as %s, but the key is trusted as %s"
                               % (s.key_id.hex(), role_name(s.role), role_name(k.role)))
        m = release.manifest(s.alg, s.role, c.header.library_version, s.key_id, c.signed_sha256, c.header.raw[4])
        if s.alg != ct.ALG_ED25519 or not k.verifier.verify(m, s.signature):
            raise SigningError("the existing %s signature by key %s does not verify: the library changed after "
                               "it was signed, or the signature is corrupt" % (role_name(s.role), s.key_id.hex()))


SYNTHETIC_PREFIX = "synthetic-"  # names of benchmark-only libraries and drugs (bench/synthrules.py)


def synthetic_names(blob):
    """The library's and drugs' names that mark it benchmark-only (issue 11
    item 3): a name starting with "synthetic-". Empty list: a real library."""
    from firmware.library import body as fw

    try:
        lib = fw.decode_body(ct.parse(blob).body)
    except PumpError:
        return []  # not decodable: refused elsewhere with its own error
    names = [lib["library_name"]] + [d["name"] for d in lib.get("drugs", ())]
    return [n for n in names if n.startswith(SYNTHETIC_PREFIX)]


def refuse_synthetic(blob, name="the library", what="signed"):
    """SigningError if `blob` is a synthetic (benchmark-only) library: never released."""
    found = synthetic_names(blob)
    if found:
        raise SigningError("%s is a synthetic benchmark library (%s): it is never %s for release"
                           % (name, ", ".join(found[:3]) + (", ..." if len(found) > 3 else ""), what))


def sign_blob(blob, private_key, role, trust=None, name="the library", allow_synthetic=False):
    """Library bytes with one more signature, by `private_key` as `role` ("author" | "approver").

    Refuses (SigningError): a second signature by the same key, a second
    signature for a role, a full signature block; with `trust`, a key the
    trust store does not list for `role` and existing signatures that do not
    verify. Signatures are kept sorted by (role, key id), so signing in
    either order gives the same bytes. A synthetic library (benchmark-only
    drugs, bench/synthrules.py) is refused unless `allow_synthetic` (used by
    the benches only, through this API; no command-line option sets it).
    """
    if not isinstance(private_key, Ed25519PrivateKey):
        raise SigningError("only Ed25519 keys can sign")
    if role not in ROLES:
        raise SigningError("unknown role %r (author or approver)" % role)
    role_num = ROLES[role]
    c = frame(blob, name)
    if not allow_synthetic:
        refuse_synthetic(blob, name)
    pub = public_raw(private_key)
    kid = key_id_of(pub)
    if trust is not None:
        k = trust.lookup(kid)
        if k is None:
            raise SigningError("key %s is not in the trust store: the pump would reject its signature" % kid.hex())
        if k.role != role_num:
            raise SigningError("key %s is trusted as %s, not %s" % (kid.hex(), role_name(k.role), role))
        _check_existing(c, trust)
    for s in c.signatures:
        if s.key_id == kid:
            raise SigningError("this key (%s) has already signed the library; the second signature must come "
                               "from another person's key" % kid.hex())
        if s.role == role_num:
            raise SigningError("the library already has an %s signature (key %s)" % (role, s.key_id.hex()))
    if len(c.signatures) >= ct.MAX_SIGS:
        raise SigningError("the library already carries %d signatures" % len(c.signatures))
    m = release.manifest(ct.ALG_ED25519, role_num, c.header.library_version, kid, c.signed_sha256,
                         c.header.raw[4])
    sig = private_key.sign(m)
    if not ed25519.verify(pub, m, sig):  # the pump's verifier must agree before we write anything
        raise SigningError("internal error: the device verifier rejects the new signature")
    sigs = list(c.signatures) + [ct.Signature(ct.ALG_ED25519, role_num, kid, sig)]
    sigs.sort(key=lambda s: (s.role, s.key_id))
    end = ct.HEADER_LEN + c.header.body_len
    return bytes(blob[:end]) + ct.pack_sigblock(sigs)


def describe_signatures(blob):
    """Signers a library claims, in file order: [{"role", "key_id", "alg"}] (not verified).

    Reads only the framing (header and signature block), so it also works on
    a library whose body was damaged; LibraryError if the framing is broken.
    """
    try:
        h = ct.parse_header(blob)
        sigs = ct.parse_sigblock(blob[ct.HEADER_LEN + h.body_len:])
    except PumpError as e:
        raise LibraryError("not a usable library: %s: %s" % (e.code, e.message)) from None
    return [{"role": role_name(s.role), "key_id": s.key_id.hex(), "alg": ALG_NAMES.get(s.alg, "alg %d" % s.alg)}
            for s in sigs]


def missing_roles(blob):
    """Roles without a signature yet (claims only; `druglib verify` checks them)."""
    have = set(d["role"] for d in describe_signatures(blob))
    return [r for r in ROLES if r not in have]
