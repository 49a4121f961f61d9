"""`druglib keygen`: make an Ed25519 release key for one role (docs/signing.md).

    druglib keygen --role author --out alice.pem --passphrase-file alice.pass --trust trust.json
"""
import json
import os

from host_tools.release import keys
from host_tools.errors import UsageError


def configure(p):
    p.add_argument("--role", required=True, choices=keys.ROLES, help="release role this key signs as")
    p.add_argument("--out", required=True, metavar="KEY.pem", help="private key file to create (never overwritten)")
    p.add_argument("--passphrase-file", metavar="FILE", help="encrypt the key with the first line of FILE")
    p.add_argument("--passphrase-env", metavar="VAR", help="encrypt the key with environment variable VAR")
    p.add_argument("--trust", metavar="TRUST.json",
                   help="also add the public key, with its role, to this device trust store (created if absent)")
    p.add_argument("--name", default="", help="label for the trust store entry, e.g. the person's name")
    p.add_argument("--json", action="store_true", help="machine-readable output")


def run(args):
    passphrase = keys.read_passphrase(args.passphrase_file, args.passphrase_env)
    if os.path.exists(args.out):
        raise UsageError("%s already exists; refusing to overwrite a key" % args.out)
    if args.trust and os.path.exists(args.trust):
        keys.read_trust(args.trust)  # refuse before making a key we could not register
    pem, pub = keys.generate(args.role, passphrase)
    keys.write_new(args.out, pem)
    if args.trust:
        keys.add_to_trust(args.trust, pub, args.role, args.name)
    kid = keys.key_id_hex(pub)
    if args.json:
        print(json.dumps({"key_file": args.out, "role": args.role, "key_id": kid, "alg": "ed25519",
                          "public_key": pub.hex(), "encrypted": passphrase is not None,
                          "trust_store": args.trust}, indent=2))
    else:
        print("created %s key %s in %s%s" % (args.role, kid, args.out,
                                              "" if passphrase else " (NOT passphrase-protected)"))
        print("  public key %s" % pub.hex())
        if args.trust:
            print("  added to trust store %s" % args.trust)
    return 0
