"""`druglib verify`: run the pump's own release verifier (firmware/release/verify.py) on a library.

    druglib verify --trust trust.json LIB [--installed-version N [--installed-digest HEX]] [--json]

Exit status: 0 released and newer than the installed version (the pump would
install it); 1 rejected (the device code and why on stderr); 3 released but
the same version as installed (the pump would keep what it has: a no-op).

--installed-digest is the SHA-256 of the library the pump runs (`druglib info`
shows it): with it, a library of the installed version is told apart. The
same bytes -> 3 (no-op); other bytes -> 1, LIB_VERSION_REUSED, as the pump
refuses it (issue 10 item 1). Without it, the same version is reported as 3
with a warning that the bytes were not compared.
"""
import json
import sys

from firmware.release import verify as release
from firmware.errors import PumpError
from host_tools.release import keys
from host_tools.errors import UsageError
from host_tools.library.files import read_bytes
from host_tools.release.signing import ALG_NAMES, role_name

EXIT_REJECTED = 1
EXIT_SAME = 3


def configure(p):
    p.add_argument("library", metavar="LIB", help="library file")
    p.add_argument("--trust", required=True, metavar="TRUST.json", help="device trust store")
    p.add_argument("--installed-version", type=int, metavar="N",
                   help="version the pump runs now (default: none installed)")
    p.add_argument("--installed-digest", metavar="HEX",
                   help="SHA-256 (64 hex digits) of the library the pump runs, as `druglib info` shows it; "
                        "needs --installed-version")
    p.add_argument("--json", action="store_true", help="machine-readable output")


def _digest(text):
    t = text.strip().lower()
    if len(t) != 64 or any(c not in "0123456789abcdef" for c in t):
        raise UsageError("--installed-digest must be 64 hex digits (a SHA-256), got %r" % text[:80])
    return bytes.fromhex(t)


def run(args):
    if args.installed_version is not None and not 0 <= args.installed_version <= 0xFFFFFFFF:
        raise UsageError("--installed-version must be from 0 to 4294967295")
    digest = None
    if args.installed_digest is not None:
        if args.installed_version is None:
            raise UsageError("--installed-digest needs --installed-version (the version that digest belongs to)")
        digest = _digest(args.installed_digest)
    trust = keys.read_trust(args.trust)[0]
    blob = read_bytes(args.library, "library")
    try:
        rel = release.verify_blob(blob, trust, args.installed_version, digest)
    except PumpError as e:
        if args.json:
            print(json.dumps({"verdict": "rejected", "code": e.code, "message": e.message,
                              "library": args.library}, indent=2))
        # The one line a user needs: the device's code and its plain message.
        print("error: REJECTED %s: %s" % (e.code, e.message), file=sys.stderr)
        return EXIT_REJECTED
    signers = [{"role": role_name(r), "key_id": k.hex(), "alg": ALG_NAMES[1]} for r, k in rel.signers]
    if args.json:
        print(json.dumps({"verdict": "released", "status": rel.status, "library_version": rel.version,
                          "installed_version": args.installed_version,
                          "installed_digest": digest.hex() if digest is not None else None,
                          "bytes_compared": digest is not None, "signers": signers,
                          "library": args.library}, indent=2))
    else:
        who = ", ".join("%s %s" % (s["role"], s["key_id"]) for s in signers)
        if rel.status == release.STATUS_INSTALL:
            print("released: %s version %d, signed by %s; the pump would install it" % (args.library, rel.version, who))
        elif digest is not None:
            print("released: %s version %d, signed by %s; already installed (identical bytes), the pump would "
                  "keep it (no-op)" % (args.library, rel.version, who))
        else:
            print("released: %s version %d, signed by %s; the same version as installed: a no-op if the bytes "
                  "are identical, else the pump refuses it (LIB_VERSION_REUSED); give --installed-digest to "
                  "compare" % (args.library, rel.version, who))
    return 0 if rel.status == release.STATUS_INSTALL else EXIT_SAME
