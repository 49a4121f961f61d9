"""`druglib pumpsim`: a simulated pump (the real firmware under MicroPython) on a pseudo-terminal.

    druglib pumpsim --state DIR --trust TRUST.json [--baud N] [--latency-ms N] [--drop P] [--corrupt P]
                    [--seed S] [--id PUMP_ID] [--echo] [--json]
    druglib pumpsim --stdio --state DIR --trust TRUST.json [--id PUMP_ID]

Prints the port (e.g. /dev/pts/7; with --json one JSON line with the port,
process ids and settings) once the pump has booted, then runs until SIGTERM,
SIGINT (Ctrl-C) or until the firmware stops. `--latency-ms N` delays each
direction by N ms (a USB-serial bridge's latency timer, issue 11 item 2).
`--stdio` runs the firmware on this command's own stdin and stdout (no pty,
no line simulator): an external cable simulator can sit in front; the READY
line goes to stderr. Details: docs/protocol.md.
"""
import os
import signal

from host_tools import safetext
from host_tools.cli.pumps import options
from host_tools.errors import DruglibError, UsageError
from host_tools.link.pumpsim import PumpSim, check_pump_id, run_stdio


def _probability(text):
    try:
        p = float(text)
    except ValueError:
        raise UsageError("a probability must be a number from 0 to 0.5, not %r" % text) from None
    if not 0.0 <= p <= 0.5:
        raise UsageError("a probability must be from 0 to 0.5, not %s" % text)
    return p


def configure(p):
    p.add_argument("--state", required=True, metavar="DIR", help="the pump's storage folder (created if missing)")
    p.add_argument("--trust", required=True, metavar="TRUST.json", help="the pump's trust store")
    options.add_baud(p, "line speed to simulate")
    p.add_argument("--latency-ms", type=int, default=0, metavar="N",
                   help="latency of each direction in ms, paid at each change of direction (default 0)")
    p.add_argument("--stdio", action="store_true",
                   help="the firmware on this command's stdin/stdout (no pty, no line simulator)")
    p.add_argument("--drop", default="0", metavar="P", help="probability that a byte is lost (each direction)")
    p.add_argument("--corrupt", default="0", metavar="P", help="probability that a byte has one bit flipped")
    p.add_argument("--seed", type=int, metavar="S", help="seed of the fault generator (default: random, printed)")
    p.add_argument("--id", dest="pump_id", metavar="PUMP_ID", help="pump identity (default: made at first boot)")
    p.add_argument("--echo", action="store_true", help="a loopback plug instead of the pump (link tests)")
    p.add_argument("--json", action="store_true", help="print the port and settings as one JSON line")


def run(args):
    if not 0 <= args.latency_ms <= 1000:
        raise UsageError("--latency-ms must be from 0 to 1000")
    drop, corrupt = _probability(args.drop), _probability(args.corrupt)
    if not os.path.isfile(args.trust):
        raise UsageError("trust store %s does not exist" % args.trust)
    parent = os.path.dirname(os.path.abspath(args.state))
    if not os.path.isdir(parent):
        raise UsageError("folder %s does not exist" % parent)
    if os.path.exists(args.state) and not os.path.isdir(args.state):
        raise UsageError("--state %s is not a folder" % args.state)
    check_pump_id(args.pump_id)  # the firmware's command line and INFO carry it
    if args.stdio:
        if args.echo or drop or corrupt or args.latency_ms or args.json:
            raise UsageError("--stdio runs the bare firmware: no --echo, --drop, --corrupt, --latency-ms or --json")
        status = run_stdio(args.state, args.trust, args.pump_id)
        if status != 0:
            raise DruglibError("the pump's firmware stopped (exit status %s)" % status)
        return 0
    sim = PumpSim(args.state, args.trust, args.baud, drop, corrupt, args.seed, args.pump_id, args.echo,
                  latency_ms=args.latency_ms)
    stop = sim.stop
    old = {s: signal.signal(s, lambda *_: stop.set()) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        info = sim.start()
        if args.json:
            print(safetext.dumps(info), flush=True)  # issue 10 item 5
        else:
            print(info["port"], flush=True)
            sim.log("pump %s ready on %s (library version %d, %s); %d baud, latency %d ms, drop %g, corrupt %g, "
                    "seed %d; Ctrl-C to stop" % (safetext.text(info["pump_id"]), info["port"], info["version"], info["state"],
                                                 args.baud, args.latency_ms, drop, corrupt, sim.seed))
        sim.wait()
        exited = sim.firmware_exit()
        status = sim.close()
    finally:
        if sim.master is not None:
            sim.close()
        for s, h in old.items():
            signal.signal(s, h)
    if exited is not None and exited != 0:
        raise DruglibError("the simulated pump's firmware stopped (exit status %s)" % exited)
    if not args.json:
        sim.log("stopped (firmware exit status %s)" % status)
    return 0
