"""`druglib sign`: add one release signature to a library (docs/signing.md).

    druglib sign --key alice.pem --trust trust.json out/blinatumomab-v3.lib

The role comes from the trust store entry of the key (with --trust, the
recommended way: it also checks the signatures already on the library) or,
without it, from the `Druglib-Role:` line that `druglib keygen` writes into
the key file. The library is rewritten atomically (temp file + rename).
"""
import json

from host_tools.release import keys
from host_tools.release import signing
from host_tools.errors import SigningError
from host_tools.library.files import read_bytes, write_atomic


def configure(p):
    p.add_argument("library", metavar="LIB", help="library file to sign")
    p.add_argument("--key", required=True, metavar="KEY.pem", help="your private key (from druglib keygen)")
    p.add_argument("--trust", metavar="TRUST.json",
                   help="device trust store: gives the key's role and checks existing signatures (recommended)")
    p.add_argument("--out", metavar="FILE", help="write the signed library here (default: replace LIB)")
    p.add_argument("--passphrase-file", metavar="FILE", help="key passphrase: first line of FILE")
    p.add_argument("--passphrase-env", metavar="VAR", help="key passphrase: environment variable VAR")
    p.add_argument("--json", action="store_true", help="machine-readable output")


def _role(sk, header_role, trust):
    if trust is None:
        if header_role is None:
            raise SigningError("the key file does not name its role; give --trust TRUST.json")
        return header_role
    kid = keys.key_id_hex(keys.public_raw(sk))
    k = trust.lookup(bytes.fromhex(kid))
    if k is None:
        raise SigningError("key %s is not in the trust store: the pump would reject its signature" % kid)
    role = signing.role_name(k.role)
    if header_role is not None and header_role != role:
        raise SigningError("the key file says %s but the trust store lists key %s as %s" % (header_role, kid, role))
    return role


def run(args):
    passphrase = keys.read_passphrase(args.passphrase_file, args.passphrase_env)
    trust = keys.read_trust(args.trust)[0] if args.trust else None
    sk, header_role = keys.load_private_key(args.key, passphrase, ask=keys.prompt_passphrase)
    role = _role(sk, header_role, trust)
    blob = read_bytes(args.library, "library")
    signed = signing.sign_blob(blob, sk, role, trust, name=args.library)
    out = args.out or args.library
    write_atomic(out, signed)
    kid = keys.key_id_hex(keys.public_raw(sk))
    missing = signing.missing_roles(signed)
    if args.json:
        print(json.dumps({"library": out, "role": role, "key_id": kid,
                          "signatures": signing.describe_signatures(signed),
                          "missing_roles": missing, "checked_against_trust": trust is not None}, indent=2))
    else:
        print("signed %s as %s with key %s" % (out, role, kid))
        if missing:
            print("  still needs: %s signature (another person's key)" % " and ".join(missing))
        else:
            print("  both roles signed; check with: druglib verify --trust TRUST.json %s" % out)
    return 0
