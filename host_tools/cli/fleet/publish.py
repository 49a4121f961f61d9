"""`druglib publish`: publish a released library to the whole fleet over MQTT.

    druglib publish --broker mqtt://release-station@HOST LIB --trust TRUST.json
                    [--password-file F | --password-env VAR] [--cafile CA.pem] [--json]

Runs the pump's release verification against the trust store first and
refuses (exit 1, the device's code on stderr) what a pump would refuse,
including a rollback below what the fleet runs. Then the signed bytes go on
druglib/v1/release/library, retained, QoS 1, with version and SHA-256 on
druglib/v1/release/meta (docs/fleet.md).
"""
import json

from host_tools.fleet import mqtt
from host_tools.fleet.publisher import PublishRefused, publish
from host_tools.library.files import read_bytes
from host_tools.release import keys


def configure(p):
    p.add_argument("library", metavar="LIB", help="released library file")
    p.add_argument("--trust", required=True, metavar="TRUST.json", help="the pumps' trust store")
    mqtt.add_options(p)
    p.add_argument("--json", action="store_true", help="machine-readable output")


def run(args):
    spec = mqtt.spec_from_args(args)
    trust = keys.read_trust(args.trust)[0]
    blob = read_bytes(args.library, "library")
    try:
        r = publish(spec, blob, trust)
    except PublishRefused as e:
        if args.json:
            print(json.dumps({"published": False, "code": e.code, "message": e.message,
                              "library": args.library}, indent=2))
        raise
    if args.json:
        print(json.dumps(r, indent=2))
    else:
        again = " (same version and bytes as before: published again)" if r["kind"] == "same" else ""
        print("published %s version %d (sha256 %s, %d bytes) on %s at %s%s"
              % (r["library"], r["version"], r["sha256"], r["bytes"], r["topic"], r["broker"], again))
    return 0
