"""`druglib gateway`: a ward gateway between the broker and the ward's pumps.

    druglib gateway --broker mqtt://gateway-icu@HOST --port /dev/ttyUSB0 [--port ...]
                    [--ward icu] [--id NAME] [--poll S] [--heartbeat S] [--baud N] [--json]

Runs until SIGTERM or Ctrl-C (exit 0). Pushes every new release on
druglib/v1/release/library to each pump (the pump verifies and decides),
publishes each pump's status and its own liveness (docs/fleet.md). One
line per event on stdout (`--json`: one JSON object per line). The ward
defaults to the broker user's name after "gateway-".
"""
import json
import signal
import sys
import threading

from host_tools.errors import DruglibError, UsageError
from host_tools.fleet import mqtt, topics
from host_tools.fleet.gateway import Gateway, default_id
from host_tools.fleet.workers import iso
from host_tools.cli.pumps import options
from host_tools.link.client import PumpLink


def configure(p):
    mqtt.add_options(p)
    options.add_port(p, multiple=True, help_="serial port or pyserial URL of a pump of the ward")
    p.add_argument("--ward", metavar="NAME", help="ward name (default: from the broker user gateway-NAME)")
    p.add_argument("--id", dest="gateway_id", metavar="NAME", help="this gateway's name (default: host name)")
    p.add_argument("--poll", type=float, default=10.0, metavar="S", help="seconds between looks at each pump")
    p.add_argument("--heartbeat", type=float, default=30.0, metavar="S",
                   help="seconds between status messages of a pump that did not change")
    options.add_baud(p)
    p.add_argument("--state", metavar="FILE",
                   help="remember what each pump settled across restarts (a refused release is never offered again)")
    p.add_argument("--json", action="store_true", help="one JSON object per event on stdout")


def _line(e):
    who = (" %s" % e["port"] + (" (%s)" % e["pump_id"] if e.get("pump_id") else "")) if "port" in e else ""
    kind = e["event"]
    rel = " version %s" % e["release_version"] if "release_version" in e else ""
    if kind == "release":
        return "release%s (sha256 %s, %d bytes) on the broker" % (rel, e["release_sha256"], e["bytes"])
    if kind == "installed":
        extra = ", resumed at byte %d" % e["resumed_from"] if e.get("resumed_from") else ""
        return "%s: installed%s (was %s%s)" % (who.strip(), rel, e.get("previous"), extra)
    if kind == "same":
        return "%s: same:%s already installed, kept" % (who.strip(), rel)
    if kind == "refused":
        return "%s: REFUSED%s: %s: %s" % (who.strip(), rel, e.get("code"), e.get("message", ""))
    if kind == "failed":
        return "%s: push of%s failed: %s: %s (tried again)" % (who.strip(), rel, e.get("code"), e.get("message", ""))
    if kind in ("offline", "online"):
        return "%s: %s%s" % (who.strip(), kind, ": " + e["message"] if e.get("message") else "")
    return "%s%s%s" % (kind, who, ": " + e["message"] if e.get("message") else "")


def run(args):
    spec = mqtt.spec_from_args(args)
    args.port = options.ports(args)
    if not 0.05 <= args.poll <= 3600 or not 0.1 <= args.heartbeat <= 86400:
        raise UsageError("--poll must be from 0.05 to 3600 s and --heartbeat from 0.1 to 86400 s")
    ward = args.ward
    if ward is None:
        user = spec.user or ""
        ward = user[len("gateway-"):] if user.startswith("gateway-") else "default"
    topics.check_name(ward, "ward")
    gid = args.gateway_id or default_id()
    topics.check_name(gid, "gateway id")
    out_lock = threading.Lock()

    def emit(e):
        with out_lock:
            print(json.dumps(e, sort_keys=True) if args.json else "%s %s" % (e["at"], _line(e)), flush=True)

    baud = args.baud
    gw = Gateway(spec, ward, gid, args.port, lambda url: PumpLink(url, baud), poll_s=args.poll,
                 heartbeat_s=args.heartbeat, emit=emit, state_path=args.state)
    done = threading.Event()

    def on_signal(signum, frame):
        done.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    gw.start()
    emit({"event": "started", "at": iso(gw.started), "ward": ward, "gateway": gid, "message": "%d pump port(s), broker %s" % (len(args.port), spec)})
    while not done.wait(0.2):
        if gw.fatal:
            break
    gw.stop()
    if gw.fatal:
        raise DruglibError(gw.fatal)
    return 0
