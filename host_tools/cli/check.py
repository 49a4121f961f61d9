"""`druglib check --library LIB REQUESTS`: the device's checker on a built library (a preview tool)."""
import sys

from host_tools import engines
from host_tools.errors import UsageError
from host_tools.library.files import load_library, read_bytes


def configure(p):
    p.add_argument("--library", required=True, metavar="LIB", help="library file (signed or not)")
    p.add_argument("requests", metavar="REQUESTS", help="file or - : one JSON object or JSON Lines")
    p.add_argument("--engine", choices=("cpython", "micropython"), default="cpython",
                   help="run the firmware checker in-process (default) or under the MicroPython unix port")
    p.add_argument("--json", action="store_true", help="JSON Lines output (the default and only format)")


def read_requests(path):
    if path == "-":
        data = sys.stdin.buffer.read()
    else:
        data = read_bytes(path, "requests file")
    # Bytes, as read: a line that is not UTF-8 gets its own reject from the
    # checker and every other line its verdict (issue 8).
    if not data.strip():
        where = "standard input" if path == "-" else "requests file %s" % path
        raise UsageError("%s holds no requests (it is empty): give one JSON object or JSON Lines" % where)
    return data


def run(args):
    _, _, lib = load_library(args.library)
    text = read_requests(args.requests)
    if args.engine == "micropython":
        lines = engines.run_micropython(args.library, text)
    else:
        lines = engines.run_cpython(lib, text)
    out = sys.stdout
    for line in lines:
        out.write(line + "\n")
    out.flush()
    return 0
