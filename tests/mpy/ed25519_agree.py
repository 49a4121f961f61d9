# Run under MicroPython by tests/test_signing_ed25519.py (not an mpy_* script:
# it needs input). stdin: one vector per line, "public_key_hex msg_hex sig_hex"
# (msg may be "-" for empty). stdout: "1" or "0" per vector (the device's
# verdict), then "OK ed25519_agree".
import sys

from firmware.release import ed25519


def unhex(s):
    return b"" if s == "-" else bytes.fromhex(s)


n = 0
for line in sys.stdin.read().split("\n"):
    line = line.strip()
    if not line:
        continue
    pk, msg, sig = line.split(" ")
    print("1" if ed25519.verify(unhex(pk), unhex(msg), unhex(sig)) else "0")
    n += 1
print("checked %d vectors" % n)
print("OK ed25519_agree")
