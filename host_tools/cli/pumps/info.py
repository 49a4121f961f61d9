"""`druglib info`: ask a pump which library it runs.

    druglib info --port URL|-p URL [--baud N] [--json]
"""
from host_tools import safetext

from host_tools.cli.pumps import options
from host_tools.link.client import PumpLink


def configure(p):
    options.add_port(p)
    options.add_baud(p)
    p.add_argument("--json", action="store_true", help="machine-readable output")


def run(args):
    args.port = options.port(args)
    with PumpLink(args.port, args.baud) as link:
        info = link.info()
    info["port"] = args.port
    # issue 10 item 1: the active library's digest beside its version (hex; "" if none)
    sha = info.get("library_sha256")
    info["library_sha256"] = bytes(sha).hex() if isinstance(sha, (bytes, bytearray)) else ""
    if args.json:
        print(safetext.dumps(info, indent=2, sort_keys=True))  # issue 10 item 5
        return 0
    if info["state"] == "ok":
        lib = "library %s version %d sha256 %s" % (info["library"], info["version"], info["library_sha256"])
    else:
        lib = "NO usable library (%s): every programming is refused" % (info["fault"] or "NO_LIBRARY")
    print(safetext.text("pump %s on %s: %s; anti-rollback counter %d; event log head #%d (%d bytes)%s"
          % (info["pump_id"], args.port, lib, info["counter"], info["log_seq"], info["log_size"],
             "; unfinished push: %d bytes staged" % info["transfer_have"] if info.get("transfer_have") else "")))
    return 0
