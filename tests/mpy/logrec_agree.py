# Run under MicroPython by tests/test_logrec_fast.py (needs input).
# stdin: one case per line, "f JSON" (log fields; {"hex": ..} is a bytes
# value) or "r KIND SEQ PREV_HEX PAYLOAD_HEX" (one record). stdout: per case
# the record bytes in hex, or "error" for a refused one, then "OK logrec_agree".
import json
import sys

from firmware.store import logrec

for line in sys.stdin.read().split("\n"):
    if not line.strip():
        continue
    kind, rest = line.split(" ", 1)
    try:
        if kind == "f":
            f = json.loads(rest)
            for k in f:
                if isinstance(f[k], dict):
                    f[k] = bytes.fromhex(f[k]["hex"])
            print(logrec.encode_fields(f).hex())
        else:
            k, s, p, q = rest.split(" ")
            print(logrec.encode(int(k), int(s), bytes.fromhex(p), bytes.fromhex(q)).hex())
    except ValueError:
        print("error")
print("OK logrec_agree")
