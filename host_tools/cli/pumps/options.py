"""The port and line-speed options of every command that talks to a pump
(issue 11 item 7): `--port`/`-p` with `DRUGLIB_PORT` as its default, and one
`--baud` check, so push, info, log, simulate, gateway and pumpsim accept and
refuse the same values with the same message.
"""
import argparse
import os

from host_tools.errors import UsageError
from host_tools.link.client import DEFAULT_BAUD

ENV_PORT = "DRUGLIB_PORT"
BAUD_MIN = 300       # the slowest standard rate of a UART
BAUD_MAX = 4000000   # the fastest rate common USB-serial bridges (FT232H, CP2105) take


def baud_rate(text):
    """argparse type of --baud: a whole number of bit/s from BAUD_MIN to BAUD_MAX.
    USB-serial bridges take non-standard rates, so any integer in the range is
    accepted; anything else is refused, never rounded or clamped (README rules)."""
    t = text.strip()
    if not t.isdigit() or not BAUD_MIN <= int(t) <= BAUD_MAX:
        raise argparse.ArgumentTypeError("must be a whole number of bits per second from %d to %d (got %r)"
                                         % (BAUD_MIN, BAUD_MAX, text))
    return int(t)


def add_baud(p, what="line speed"):
    p.add_argument("--baud", type=baud_rate, default=DEFAULT_BAUD, metavar="N",
                   help="%s in bit/s, %d to %d (default %d)" % (what, BAUD_MIN, BAUD_MAX, DEFAULT_BAUD))


class _Ports(argparse.Action):
    """append, except that the first --port given replaces the $DRUGLIB_PORT default."""

    def __call__(self, parser, namespace, values, option_string=None):
        current = getattr(namespace, self.dest)
        if current is self.default or current is None:
            current = []
        setattr(namespace, self.dest, current + [values])


def add_port(p, multiple=False, required=True, help_=None):
    """--port/-p URL (repeatable when `multiple`); default $DRUGLIB_PORT.
    When required and neither is given, `ports(args)` raises one clear line."""
    env = os.environ.get(ENV_PORT) or None
    text = help_ or "serial port or pyserial URL of the pump"
    text += " (default $%s%s)" % (ENV_PORT, ", now %s" % env if env else "")
    if multiple:
        text += "; repeat for several pumps"
        p.add_argument("--port", "-p", action=_Ports, default=[env] if env else None, metavar="URL", help=text)
    else:
        p.add_argument("--port", "-p", default=env, metavar="URL", help=text)
    p.set_defaults(_port_required=required)


def ports(args):
    """The port list of a `multiple` port option, checked: -> [url, ...]."""
    got = args.port or []
    if isinstance(got, str):
        got = [got]
    if not got and getattr(args, "_port_required", True):
        raise UsageError("no pump port: give --port URL (or -p URL), or set %s" % ENV_PORT)
    for url in got:
        if not url.strip():
            raise UsageError("an empty port name was given (--port or %s)" % ENV_PORT)
    if len(set(got)) != len(got):
        raise UsageError("a port is named twice")
    return got


def port(args):
    """The one port of a single port option, checked."""
    got = ports(args)
    return got[0] if got else None
