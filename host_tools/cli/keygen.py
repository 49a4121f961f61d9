"""`druglib keygen`: make an Ed25519 release key for one role (docs/signing.md).

    druglib keygen --role author --out ~/druglib-keys/alice.pem --trust out/trust.json --name Alice

A key is passphrase-protected unless asked otherwise: the passphrase comes
from --passphrase-file or --passphrase-env, or is asked for twice on the
terminal; with none of those and no terminal, keygen refuses. `--no-passphrase`
makes a key stored in clear (throw-away demo and test keys only).

All or nothing: when the trust store cannot be written, the new key file is
removed again, so a failed keygen leaves nothing behind.
"""
import json
import os

from host_tools.errors import DruglibError, UsageError
from host_tools.library.files import write_atomic
from host_tools.release import keys


def configure(p):
    p.add_argument("--role", required=True, choices=keys.ROLES, help="release role this key signs as")
    p.add_argument("--out", required=True, metavar="KEY.pem",
                   help="private key file to create (never overwritten); keep it outside any source tree")
    how = p.add_mutually_exclusive_group()
    how.add_argument("--passphrase-file", metavar="FILE", help="encrypt the key with the first line of FILE")
    how.add_argument("--passphrase-env", metavar="VAR", help="encrypt the key with environment variable VAR")
    how.add_argument("--no-passphrase", action="store_true",
                     help="store the key in clear (throw-away demo or test keys only)")
    p.add_argument("--trust", metavar="TRUST.json",
                   help="also add the public key, with its role, to this device trust store (created if absent)")
    p.add_argument("--name", default="", help="label for the trust store entry, e.g. the person's name")
    p.add_argument("--json", action="store_true", help="machine-readable output")


def _passphrase(args):
    if args.no_passphrase:
        return None
    given = keys.read_passphrase(args.passphrase_file, args.passphrase_env)
    if given is not None:
        return given
    asked = keys.prompt_new_passphrase(args.out)
    if asked is None:
        raise UsageError("a release key needs a passphrase and there is no terminal to ask for one: give "
                         "--passphrase-file FILE or --passphrase-env VAR (or --no-passphrase for a throw-away key)")
    return asked


def run(args):
    # Refuse everything we can before asking for a passphrase or making a key.
    if os.path.lexists(args.out):
        raise UsageError("%s already exists; refusing to overwrite a key" % args.out)
    out_dir = os.path.dirname(os.path.abspath(args.out))
    if not os.path.isdir(out_dir):
        raise UsageError("folder %s does not exist" % out_dir)
    if args.trust:
        trust_dir = os.path.dirname(os.path.abspath(args.trust))
        if not os.path.isdir(trust_dir):
            raise UsageError("folder %s (for the trust store) does not exist" % trust_dir)
        if os.path.exists(args.trust):
            keys.read_trust(args.trust)  # refuse before making a key we could not register
    passphrase = _passphrase(args)
    pem, pub = keys.generate(args.role, passphrase)
    trust_bytes = keys.trust_with(args.trust, pub, args.role, args.name) if args.trust else None
    keys.write_new(args.out, pem)
    if args.trust:
        try:
            write_atomic(args.trust, trust_bytes)
        except DruglibError as e:
            keys.remove_quietly(args.out)
            raise DruglibError("%s; the new key %s was removed again (nothing changed)" % (e, args.out)) from None
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
