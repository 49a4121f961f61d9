"""`druglib build`: compile druglib/*.toml into a library file (unsigned)."""
import hashlib
import json
import os

from firmware.library.container import parse
from host_tools.library.build import build_library, default_rules_dir
from host_tools.library.files import write_atomic


def configure(p):
    p.add_argument("--out", metavar="FILE", help="output file (default out/blinatumomab-vN.lib)")
    p.add_argument("--rules", metavar="DIR", help="rules folder (default: ./druglib if it holds library.toml, "
                   "else the rules installed with this package); the output names the folder used")
    p.add_argument("--version", type=int, metavar="N", help="library version (default: library.toml's)")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")


def run(args):
    rules_dir = os.path.abspath(args.rules or default_rules_dir())
    blob = build_library(args.version, rules_dir)
    c = parse(blob)
    out = args.out or os.path.join("out", "blinatumomab-v%d.lib" % c.header.library_version)
    if not args.out:
        os.makedirs(os.path.dirname(out), exist_ok=True)
    write_atomic(out, blob)
    from firmware.library.body import decode_body
    lib = decode_body(c.body)
    summary = {
        "library": out,
        "rules_dir": rules_dir,
        "bytes": len(blob),
        "library_name": lib["library_name"],
        "library_version": c.header.library_version,
        "rules_sha256": lib["rules_sha256"].hex(),
        "library_sha256": hashlib.sha256(blob).hexdigest(),
        "signatures": 0,
    }
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print("built %s: %d bytes, %s version %d, unsigned" % (out, len(blob), lib["library_name"], summary["library_version"]))
        print("  rules folder   %s" % rules_dir)
        print("  rules sha256   %s" % summary["rules_sha256"])
        print("  library sha256 %s" % summary["library_sha256"])
    return 0
