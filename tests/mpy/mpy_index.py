# The library index (firmware/library/index.py, issue 11 item 4) under the
# MicroPython unix port: a 60-drug formulary made from the released library's
# body (its drug's records under other names, as tests/libfixtures.py does),
# indexed in chunks of several sizes: every drug reads back exactly as
# decode_body decodes it, unknown names are None, a damaged body is refused
# with decode_body's message, a name given twice is refused.
import os

from firmware.errors import LibraryFormatError
from firmware.library import container as ct
from firmware.library import index as ix
from firmware.library.body import T_DRUG, decode_body

LIB = os.getenv("DRUGLIB_RELEASED_LIBRARY")
assert LIB, "run through pytest (tests/test_micropython.py), which builds the release"
with open(LIB, "rb") as fh:
    body = ct.parse(fh.read()).body
recs = []
i = 0
while i < len(body):
    n = 3 + (body[i + 1] << 8 | body[i + 2])
    recs.append(body[i:i + n])
    i += n
assert recs[1][0] == T_DRUG


def formulary(names):
    out = [recs[0]]
    for name in names:
        nb = name.encode()
        out.append(bytes((T_DRUG, 0, 1 + len(nb), len(nb))) + nb)
        out += recs[2:]
    return b"".join(out)


names = ["blinatumomab"] + ["formulary-drug-%03d" % k for k in range(1, 60)]
big = formulary(names)
whole = decode_body(big)
for chunk in (1, 7, 512, len(big)):
    x = ix.Indexer(lambda at, n: big[at:at + n])
    for j in range(0, len(big), chunk):
        x.feed(big[j:j + chunk])
    lib = x.finish(3)
    assert lib.count == 60 and lib["library_name"] == whole["library_name"]
    for d in whole["drugs"]:
        assert lib.drug(d["name"]) == d, d["name"]
        assert len(lib.cache) <= ix.CACHE_DRUGS
    assert lib.drug("formulary-drug-060") is None
    assert lib.first_drug() == whole["drugs"][0]
assert ix.index_bytes(big) == ix.index_bytes(big)

bad = bytearray(big)
bad[len(big) // 2] ^= 0x5A
try:
    decode_body(bytes(bad))
    want = None
except LibraryFormatError as e:
    want = e.message
try:
    ix.index_bytes(bytes(bad))
    got = None
except LibraryFormatError as e:
    got = e.message
assert got == want, (got, want)

try:
    ix.index_bytes(formulary(["blinatumomab", "x", "blinatumomab"]))
    raise AssertionError("a drug given twice was accepted")
except LibraryFormatError as e:
    assert "drug blinatumomab given twice" in e.message, e.message
print("OK mpy_index")
