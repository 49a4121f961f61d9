# Run under MicroPython by tests/test_trust_hex.py (not an mpy_* script: it
# reads its cases from stdin). Each stdin line is a JSON list [text, nbytes];
# prints one JSON line per case: ["ok", hex of the bytes] or ["error", message]
# from firmware.release.trust._unhex, then "OK trust_hex_agree". The CPython
# test computes the same lines in-process and compares.
import json
import sys

from firmware.errors import TrustStoreError
from firmware.release import trust


def verdict(text, nbytes):
    try:
        raw = trust._unhex(text, nbytes, "key")
    except TrustStoreError as e:
        return ["error", str(e)]
    return ["ok", "".join("%02x" % b for b in raw)]


for line in sys.stdin:
    line = line.strip()
    if line:
        text, nbytes = json.loads(line)
        print(json.dumps(verdict(text, nbytes)))
print("OK trust_hex_agree")
