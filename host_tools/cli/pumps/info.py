"""`druglib info`: ask a pump which library it runs.

    druglib info --port URL [--baud N] [--json]
"""
from host_tools import safetext

from host_tools.link.client import DEFAULT_BAUD, PumpLink


def configure(p):
    p.add_argument("--port", required=True, metavar="URL", help="serial port or pyserial URL of the pump")
    p.add_argument("--baud", type=int, default=DEFAULT_BAUD, help="line speed (default 115200)")
    p.add_argument("--json", action="store_true", help="machine-readable output")


def run(args):
    with PumpLink(args.port, args.baud) as link:
        info = link.info()
    info["port"] = args.port
    if args.json:
        print(safetext.dumps(info, indent=2, sort_keys=True))  # issue 10 item 5
        return 0
    if info["state"] == "ok":
        lib = "library %s version %d" % (info["library"], info["version"])
    else:
        lib = "NO usable library (%s): every programming is refused" % (info["fault"] or "NO_LIBRARY")
    print(safetext.text("pump %s on %s: %s; anti-rollback counter %d; event log head #%d (%d bytes)%s"
          % (info["pump_id"], args.port, lib, info["counter"], info["log_seq"], info["log_size"],
             "; unfinished push: %d bytes staged" % info["transfer_have"] if info.get("transfer_have") else "")))
    return 0
