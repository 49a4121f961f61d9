# Run under MicroPython by tests/test_json_fast_paths.py (needs input).
# stdin: one case per line, "j HEX" (a JSON text, its UTF-8 bytes in hex) or
# "d HEX" (a decimal text for firmware/check/decimals.py). stdout: per case
# its outcome as one line of JSON (the shape outcome() of the test gives),
# then "OK jsontext_agree".
import sys

from firmware import jsontext
from firmware.check import decimals
from firmware.jsontext import Number


def canon(v):
    if isinstance(v, dict):
        return ["object", sorted([[k, canon(v[k])] for k in v], key=lambda p: p[0])]
    if isinstance(v, list):
        return ["array", [canon(x) for x in v]]
    if isinstance(v, Number):
        return ["number", v.text]
    if v is True or v is False or v is None:
        return ["literal", str(v)]
    return ["string", v]


for line in sys.stdin.read().split("\n"):
    if not line.strip():
        continue
    kind, hexed = line.split(" ")
    text = bytes.fromhex(hexed).decode()
    if kind == "j":
        try:
            out = canon(jsontext.loads(text))
        except jsontext.JsonTextError as e:
            out = ["error", e.message]
    else:
        try:
            out = ["decimal", list(decimals.parse(text))]
        except decimals.DecimalTextError as e:
            out = ["error", e.message]
    print(jsontext.dumps(out))
print("OK jsontext_agree")
