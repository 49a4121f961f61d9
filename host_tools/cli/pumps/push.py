"""`druglib push`: install a released library on one or more pumps over serial.

    druglib push --port URL [--port URL ...] LIB [--baud N] [--json]   (-p URL; default $DRUGLIB_PORT)

The pump is the authority: it verifies the two-person release and refuses
rollbacks and another library under its installed version
(LIB_VERSION_REUSED); this command reports its verdict per pump (installed / same /
rejected with the device code / failed) and exits 0 only if every pump ended
with the library installed or already running it. Pumps are loaded at the
same time, one thread each, with a progress bar per pump on a terminal; each
pump's result prints as it ends, and after several pumps a summary table
(pump, old and new version, result, time) follows.
"""
import json
import sys
import threading
import time

from host_tools import safetext

from host_tools.errors import UsageError
from host_tools.library.files import read_bytes
from host_tools.cli.pumps import options
from host_tools.link.client import VERIFY_PREFIXES, DeviceError, PumpLink
from host_tools.errors import LinkError

OK_OUTCOMES = ("installed", "same")


def configure(p):
    p.add_argument("library", metavar="LIB", help="released library file")
    options.add_port(p, multiple=True)
    options.add_baud(p)
    p.add_argument("--json", action="store_true", help="machine-readable output")


def push_one(port, blob, baud, bar=None):
    """One pump: -> result dict (never raises for a pump's or a link's failure)."""
    res = {"port": port, "pump_id": None, "outcome": "failed", "version": None, "previous": None,
           "code": None, "message": "", "resumed_from": 0, "retransmissions": 0}
    link = None
    try:
        link = PumpLink(port, baud)
        progress = None
        if bar is not None:
            def progress(have):
                bar.update(have - bar.n)
        # No INFO first (issue 11 item 1: a round trip less): BEGIN names the
        # pump and END the version it ran before.
        r = link.push(blob, progress=progress)
        res.update(outcome=r["status"], version=r["version"], resumed_from=r.get("resumed_from", 0),
                   pump_id=r.get("pump_id"), previous=r.get("previous"))
        if res["pump_id"] is None or res["previous"] is None:
            _ask(link, res)  # a pump older than issue 11, or an END confirmed through INFO
    except DeviceError as e:
        res.update(outcome="rejected" if e.code.startswith(VERIFY_PREFIXES) else "failed",
                   code=e.code, message=e.message)
        _ask(link, res)  # who refused, and what it still runs
    except LinkError as e:
        res.update(outcome="failed", code="LINK", message=str(e))
    except Exception as e:  # a bug must not take the other pumps down
        res.update(outcome="failed", code="INTERNAL", message="%s: %s" % (type(e).__name__, e))
    finally:
        if link is not None:
            res["retransmissions"] = link.stats["retransmissions"]
            link.close()
    return res


def _ask(link, res):
    """Fill the pump's id and version from INFO, best effort: the outcome
    stands if the pump does not answer."""
    try:
        info = link.info()
    except (DeviceError, LinkError):
        return
    if res["pump_id"] is None:
        res["pump_id"] = info.get("pump_id")
    if res["previous"] is None and res["outcome"] != "installed":  # after an install INFO says the new one
        res["previous"] = info.get("version")


def _line(r):
    who = r["port"] + (" (%s)" % r["pump_id"] if r["pump_id"] else "")
    if r["outcome"] == "installed":
        extra = ", resumed at byte %d" % r["resumed_from"] if r["resumed_from"] else ""
        was = "unknown" if r["previous"] is None else r["previous"]  # END's answer lost, install confirmed by INFO
        return "%s: installed version %d (was %s%s)" % (who, r["version"], was, extra)
    if r["outcome"] == "same":
        # issue 10 item 1: "same" now means the same bytes (the pump compared
        # SHA-256s at BEGIN); other bytes under its version are REJECTED
        return "%s: same: version %d is already installed (identical bytes), nothing sent" % (who, r["version"])
    if r["outcome"] == "rejected":
        return "%s: REJECTED %s: %s" % (who, r["code"], r["message"])
    return "%s: FAILED %s: %s" % (who, r["code"], r["message"])


def _cell(r):
    if r["outcome"] in OK_OUTCOMES:
        return r["outcome"]
    return "%s %s" % (r["outcome"].upper(), r["code"])


def summary(results):
    """The table after a multi-pump push (issue 11 item 7): pump, old and new
    version, result, time; in the order the ports were given."""
    rows = [("pump", "old", "new", "result", "time")]
    for r in results:
        new = r["version"] if r["outcome"] in OK_OUTCOMES else None
        rows.append((safetext.text(r["port"] + (" (%s)" % r["pump_id"] if r["pump_id"] else "")),
                     "-" if r["previous"] is None else str(r["previous"]), "-" if new is None else str(new),
                     safetext.text(_cell(r)), "%.1f s" % r["seconds"]))
    widths = [max(len(row[c]) for row in rows) for c in range(5)]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    ok = sum(1 for r in results if r["outcome"] in OK_OUTCOMES)
    lines.append("%d of %d pump(s) run the library" % (ok, len(results)))
    return "\n".join(lines)


def run(args):
    ports = options.ports(args)
    blob = read_bytes(args.library, "library")
    if not blob:
        raise UsageError("library %s is empty" % args.library)
    show = not args.json and sys.stderr.isatty()
    bars = [None] * len(ports)
    if show:
        from tqdm import tqdm

        bars = [tqdm(total=len(blob), unit="B", unit_scale=True, desc=p, position=i, leave=True, file=sys.stderr)
                for i, p in enumerate(ports)]
    results = [None] * len(ports)
    out_lock = threading.Lock()

    def work(i):
        t0 = time.monotonic()
        r = push_one(ports[i], blob, args.baud, bars[i])
        r["seconds"] = round(time.monotonic() - t0, 2)
        results[i] = r
        if not args.json:  # each pump's result as it ends (issue 11 item 6), above the bars
            with out_lock:
                if show:
                    from tqdm import tqdm

                    tqdm.write(safetext.text(_line(r)), file=sys.stdout)  # issue 10 item 5
                else:
                    print(safetext.text(_line(r)), flush=True)

    threads = [threading.Thread(target=work, args=(i,), daemon=True) for i in range(len(ports))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for b in bars:
        if b is not None:
            b.close()
    if args.json:
        print(safetext.dumps({"library": args.library, "bytes": len(blob), "pumps": results}, indent=2))
    elif len(results) > 1:
        print(summary(results))
    bad = [r for r in results if r["outcome"] not in OK_OUTCOMES]
    if bad:
        print("error: %d of %d pump(s) did not take %s: %s" % (
            len(bad), len(results), args.library,
            safetext.text("; ".join("%s %s" % (r["port"], r["code"]) for r in bad))), file=sys.stderr)
        return 1
    return 0
