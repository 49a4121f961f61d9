# Issue 11 item 1 under MicroPython: the Scanner the link feeds with each DATA
# frame frames every variant of a library exactly as the old pull-based scan
# did (tests/mpy/scanref.py), however the bytes are split.
import scanref

blob = scanref.sample()
n = 0
for v in scanref.variants(blob):
    want = scanref.by_oracle(v)
    for step in (1, 7, 48, 49, 512, 2044, len(v) + 1):
        cuts = list(range(step, len(v), step))
        got = scanref.by_scanner(v, cuts)
        assert got == want, (len(v), step, got[:3], want[:3])
        n += 1
print("scanner agrees with the oracle on %d splits" % n)
print("OK mpy_scanner")
