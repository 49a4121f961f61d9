"""`druglib ports`: the serial ports this computer has, to find the pump's cable
(issue 11 item 7).

    druglib ports [--json]

It lists what pyserial's `serial.tools.list_ports.comports()` finds (USB-serial
bridges, on-board UARTs with a driver): device, description and hardware id
(USB VID:PID and serial number). A `druglib pumpsim` pseudo-terminal is not a
serial device and is not listed: use the port pumpsim prints. No port found is
not an error: one line says so (exit 0; with --json an empty list).
"""
import json

FIELDS = ("device", "description", "hwid", "vid", "pid", "serial_number", "manufacturer", "product",
          "location", "interface")


def configure(p):
    p.add_argument("--json", action="store_true", help="machine-readable output (a JSON list)")


def found():
    """-> one dict per port, sorted by device name."""
    from serial.tools import list_ports

    return [{f: getattr(info, f, None) for f in FIELDS}
            for info in sorted(list_ports.comports(), key=lambda i: i.device)]


def _text(v):
    return "-" if v in (None, "", "n/a") else str(v)


def table(ports):
    """The text table; `ports` as `found()` returns them."""
    if not ports:
        return ("no serial ports found: plug in the pump's USB-serial cable (a pumpsim pseudo-terminal "
                "is not listed: use the port it prints)")
    rows = [("device", "description", "hardware id")] + [
        (_text(p["device"]), _text(p["description"]), _text(p["hwid"])) for p in ports]
    widths = [max(len(r[c]) for r in rows) for c in range(3)]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(r, widths)).rstrip() for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    lines.append("%d port(s); use one with --port (-p) or $DRUGLIB_PORT" % len(ports))
    return "\n".join(lines)


def run(args):
    ports = found()
    print(json.dumps(ports, indent=2) if args.json else table(ports))
    return 0
