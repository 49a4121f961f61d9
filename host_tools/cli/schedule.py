"""`druglib schedule`: a patient's whole course from the library, every bag checked.

    druglib schedule --library LIB --indication mrd|relapsed-refractory --weight-kg W
        [--bsa-m2 B | --height-cm H] --age-days A --start DATE --bag 24h|48h|7d
        [--cycles N] [--csv | --ics FILE | --html FILE | --json]

--json prints one check request per bag change (the check contract), so
`druglib schedule ... --json | druglib check --library LIB -` checks the course.
"""
import re
import sys

from host_tools.errors import UsageError
from host_tools.library.files import load_library, write_atomic

_NUM = re.compile(r"(0|[1-9][0-9]*)(\.[0-9]+)?")


def _decimal(what):
    def conv(text):
        if not _NUM.fullmatch(text):
            raise UsageError("%s %r is not a decimal number such as 70 or 1.85" % (what, text))
        return text
    return conv


def _age(text):
    if not re.fullmatch(r"[0-9]{1,6}", text):
        raise UsageError("--age-days %r is not a whole number of days" % text)
    return int(text)


def _cycles(text):
    if not re.fullmatch(r"[0-9]{1,3}", text):
        raise UsageError("--cycles %r is not a whole number" % text)
    return int(text)


def configure(p):
    p.add_argument("--library", default="out/lib.bin", metavar="LIB",
                   help="library file (default out/lib.bin, as `druglib build` writes it)")
    p.add_argument("--indication", required=True, choices=("mrd", "relapsed-refractory"))
    p.add_argument("--weight-kg", required=True, type=_decimal("--weight-kg"), metavar="W")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--bsa-m2", type=_decimal("--bsa-m2"), metavar="B", help="body surface area")
    g.add_argument("--height-cm", type=_decimal("--height-cm"), metavar="H", help="height: BSA by Mosteller")
    p.add_argument("--age-days", required=True, type=_age, metavar="A")
    p.add_argument("--start", required=True, metavar="DATE", help="cycle 1 day 1: YYYY-MM-DD (09:00) or YYYY-MM-DDTHH:MM")
    p.add_argument("--bag", required=True, choices=("24h", "48h", "7d"), help="bag option asked for")
    p.add_argument("--cycles", type=_cycles, metavar="N", help="number of cycles (default: all the regimen has)")
    out = p.add_mutually_exclusive_group()
    out.add_argument("--csv", action="store_true", help="CSV, one row per calendar day, on stdout")
    out.add_argument("--ics", metavar="FILE", help="write an iCalendar file")
    out.add_argument("--html", metavar="FILE", help="write a self-contained HTML page with a timeline")
    out.add_argument("--json", action="store_true", help="one check request per bag change (JSON Lines)")


def run(args):
    from host_tools.views import course, schedule

    _, _, lib = load_library(args.library)
    patient = schedule.Patient(args.age_days, args.weight_kg, args.bsa_m2, args.height_cm)
    plan = schedule.plan(lib, args.indication, patient, args.bag, schedule.parse_start(args.start), args.cycles)
    if args.json:
        sys.stdout.write(course.to_json_lines(plan))
    elif args.csv:
        sys.stdout.write(course.to_csv(plan))
    elif args.ics:
        write_atomic(args.ics, course.to_ics(plan))
        print("wrote %s: %d bag changes in %d cycles" % (args.ics, len(plan.bags), len(plan.cycles)))
    elif args.html:
        from host_tools.views import pages
        write_atomic(args.html, pages.schedule_page(plan).encode("utf-8"))
        print("wrote %s: %d bag changes in %d cycles" % (args.html, len(plan.bags), len(plan.cycles)))
    else:
        print(course.text_table(plan))
    return 0
