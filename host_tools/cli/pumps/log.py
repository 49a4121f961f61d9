"""`druglib log`: pull a pump's event log, verify its hash chain, print it.

    druglib log --port URL|-p URL [--baud N] [--json] [--out FILE]

The whole log is verified with the firmware's own verifier
(firmware/logrec.verify_chain) against the head the pump reports, so an
edited, deleted, reordered or cut-off record is an error (LOG_CORRUPT).
--out saves the raw verified log bytes.
"""
import json

from host_tools import safetext

from firmware.store import logrec
from host_tools.library.files import write_atomic
from host_tools.cli.pumps import options
from host_tools.link.client import PumpLink


def configure(p):
    options.add_port(p)
    options.add_baud(p)
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--out", metavar="FILE", help="also save the raw log bytes (after verification)")


def _value(v):
    if isinstance(v, bytes):
        return v.hex()
    return v


def _text(v):
    # issue 10 item 5: every string from the log escaped (host_tools/safetext.py)
    if isinstance(v, list):
        return ",".join(safetext.text(x) for x in v) if v else "-"
    if isinstance(v, bytes):
        return v.hex()
    if isinstance(v, str):
        t = safetext.text(v)
        return t if t and " " not in t else '"%s"' % t.replace('"', '\\"')
    return str(v)


def run(args):
    args.port = options.port(args)
    with PumpLink(args.port, args.baud) as link:
        info = link.info()
        data, (seq, chain), count = link.pull_log()
    if args.out:
        write_atomic(args.out, data)
    records = logrec.decode_all(data)
    if args.json:
        print(safetext.dumps({"port": args.port, "pump_id": info.get("pump_id"), "verified": True, "records": [
            {"seq": s, "kind": k, "fields": {f: _value(v) for f, v in sorted(fields.items())}}
            for s, k, fields in records], "head_seq": seq, "head_chain": chain.hex() if seq >= 0 else None,
            "bytes": len(data)}, indent=2))
        return 0
    for s, k, fields in records:
        print("#%-5d %-16s %s" % (s, k, " ".join("%s=%s" % (safetext.text(f), _text(v)) for f, v in sorted(fields.items()))))
    print("event log of pump %s verified: %d records, %d bytes, head #%d, chain %s"
          % (safetext.text(info.get("pump_id")), count, len(data), seq, chain.hex()[:16] if seq >= 0 else "-"))
    return 0
