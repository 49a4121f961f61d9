"""`druglib`: one command table (like mpremote's), thin handlers over library functions.

Each command lives in a module exposing `configure(parser)` and `run(args) -> int`.
Modules are imported only when their command runs, so a slow or missing
optional piece never breaks the other commands.
"""
import argparse
import importlib
import sys

from host_tools import safetext
from host_tools.errors import DruglibError

# name -> (module, one-line help)
COMMANDS = {
    "build": ("host_tools.cli.build", "compile druglib/*.toml into a library file"),
    "inspect": ("host_tools.cli.inspect", "show every entry and limit of a library"),
    "check": ("host_tools.cli.check", "check programmings against a library (device checker)"),
    "keygen": ("host_tools.cli.keygen", "make an Ed25519 signing key for a release role"),
    "sign": ("host_tools.cli.sign", "add one release signature to a library"),
    "verify": ("host_tools.cli.verify", "verify a library as the pump would"),
    "pumpsim": ("host_tools.cli.pumps.pumpsim", "run a simulated pump (firmware under MicroPython) on a pseudo-terminal"),
    "ports": ("host_tools.cli.pumps.ports", "list this computer's serial ports (to find the pump's cable)"),
    "push": ("host_tools.cli.pumps.push", "install a released library on one or more pumps over serial"),
    "info": ("host_tools.cli.pumps.info", "ask a pump which library it runs"),
    "log": ("host_tools.cli.pumps.log", "pull and verify a pump's event log"),
    "schedule": ("host_tools.cli.schedule", "plan a patient's whole course from the library, every bag checked"),
    "diff": ("host_tools.cli.diff", "show what changed between two libraries (exit 1 when they differ)"),
    "report": ("host_tools.cli.report", "summarise a pulled event log: programmings, stops, overrides"),
    "simulate": ("host_tools.cli.pumps.simulate", "drive a pump through a whole infusion from a scenario (therapy state machine)"),
    "publish": ("host_tools.cli.fleet.publish", "publish a released library to the fleet over MQTT (verified first)"),
    "gateway": ("host_tools.cli.fleet.gateway", "ward gateway: push each new release from the broker to the ward's pumps"),
    "fleet": ("host_tools.cli.fleet.fleet", "every pump of the fleet: ward, version, outdated, offline, refused"),
}


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise _ArgError("%s: %s" % (self.prog, message))


class _ArgError(Exception):
    pass


def version():
    """The installed distribution's version (pyproject.toml), as pip recorded it."""
    from importlib import metadata

    try:
        return metadata.version("druglib")
    except metadata.PackageNotFoundError:
        return "unknown (not installed: run `make install` or `pip install .`)"


class _Version(argparse.Action):
    """--version, looked up only when asked (importlib.metadata costs ~20 ms
    of every command's start, a push's included)."""

    def __call__(self, parser, namespace, values, option_string=None):
        print("druglib %s" % version())
        parser.exit()


def make_parser(selected=None):
    """The argument parser; only the selected command's module is imported."""
    parser = _Parser(prog="druglib", description="Blinatumomab drug library tools for the infusion pump.")
    parser.add_argument("--version", action=_Version, nargs=0, help="show the version and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name, (module, help_) in COMMANDS.items():
        p = sub.add_parser(name, help=help_, description=help_)
        p.set_defaults(_module=module)
        if name == selected:
            importlib.import_module(module).configure(p)
    return parser


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    try:
        selected = next((a for a in argv if not a.startswith("-")), None)
        parser = make_parser(selected)
        args = parser.parse_args(argv)
        if not getattr(args, "command", None):
            parser.print_help()
            return 2
        return importlib.import_module(args._module).run(args) or 0
    except _ArgError as e:
        print("error: %s" % safetext.text(e), file=sys.stderr)  # issue 10 item 5
        return 2
    except DruglibError as e:
        print("error: %s" % safetext.text(e), file=sys.stderr)  # issue 10 item 5
        return e.exit_code
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 1
    except Exception as e:  # a bug: still one line, never a traceback to a user
        print("error: internal error (%s: %s); please report it" % (type(e).__name__, safetext.text(e)), file=sys.stderr)
        return 70


if __name__ == "__main__":
    sys.exit(main())
