# MicroPython entry point of `druglib check --engine micropython`:
#   micropython -m firmware.checkmain LIBRARY < requests
# Decodes the library (structure and digest: a preview, signatures are the
# installer's job), checks every request on stdin and prints one JSON result
# per line. A library that cannot be used is reported on stderr with its
# device code and exit status 3.
import sys

import gc

from firmware.check.batch import iter_results
from firmware.errors import PumpError
from firmware.library.body import decode


def main(argv):
    if len(argv) != 2:
        sys.stderr.write("usage: micropython -m firmware.checkmain LIBRARY < REQUESTS\n")
        return 2
    try:
        with open(argv[1], "rb") as fh:
            blob = fh.read()
        lib = decode(blob)[1]
    except PumpError as e:
        sys.stderr.write("%s: %s\n" % (e.code, e.message))
        return 3
    except OSError as e:
        sys.stderr.write("cannot read library: %s\n" % e)
        return 3
    # Bytes go to the checker as they are: a line that is not UTF-8 gets its
    # own reject and every other line its verdict (firmware/check/batch.py).
    data = sys.stdin.buffer.read() if hasattr(sys.stdin, "buffer") else sys.stdin.read()
    n = 0
    for line in iter_results(lib, data):
        sys.stdout.write(line + "\n")
        n += 1
        if n % 32 == 0:
            gc.collect()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
