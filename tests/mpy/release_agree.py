# Run under MicroPython by tests/test_signing_micropython.py (needs input).
# stdin: line 1 = the trust store as one line of JSON; then one case per
# line, "installed_version_or_- library_hex". stdout: per case the pump's
# verdict ("install", "same" or the error code), then "OK release_agree".
import sys

from firmware.release import verify as release
from firmware.release import trust
from firmware.errors import PumpError

lines = sys.stdin.read().split("\n")
store = trust.parse(lines[0])
for line in lines[1:]:
    line = line.strip()
    if not line:
        continue
    installed, lib = line.split(" ")
    try:
        rel = release.verify_blob(bytes.fromhex(lib), store, None if installed == "-" else int(installed))
        print(rel.status)
    except PumpError as e:
        print(e.code)
print("OK release_agree")
