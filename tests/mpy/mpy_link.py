# The serial link's firmware side under the MicroPython unix port: the frame
# codec round trip and resynchronisation, then the pump server driven by raw
# bytes: INFO, a released library pushed in chunks (with a retransmitted
# chunk and a retransmitted END), LOG, and a rollback refused.
import os

from firmware.link import frames as link
from firmware.store import logrec
from firmware.release import trust
from firmware.store.faultstorage import FaultStorage
from firmware.pump import Pump
from firmware.link.server import PumpServer

import hashlib

LIB = os.getenv("DRUGLIB_RELEASED_LIBRARY")
TRUST = os.getenv("DRUGLIB_TRUST")
assert LIB and TRUST, "run through pytest (tests/test_micropython.py), which builds the release"

# --- codec ---
for n in (0, 1, 253, 254, 255, 508, 2048):
    data = bytes([(i * 7) % 256 for i in range(n)])
    enc = link.cobs_encode(data)
    assert 0 not in enc
    assert link.cobs_decode(enc) == data, n

# issue 11 item 6: a zero after a run of exactly 254 x k non-zero bytes, under this engine
for k in range(1, link.MAX_ENCODED // 254 + 2):
    for head in (b"", b"\x00", b"\x03\x00"):
        for tail in (b"", b"\x00", b"\x00\x00", b"\x00\x07", b"\x07"):
            data = head + b"\x5a" * (254 * k) + tail
            enc = link.cobs_encode(data)
            assert 0 not in enc and link.cobs_decode(enc) == data, (k, head, tail)
    # the layout the PyPI `cobs` package gives (tests/test_link_codec.py checks them equal)
    assert link.cobs_encode(b"\x5a" * (254 * k) + b"\x00") == (b"\xff" + b"\x5a" * 254) * k + b"\x01\x01", k
    assert link.cobs_encode(b"\x5a" * (254 * k)) == (b"\xff" + b"\x5a" * 254) * k, k
dec = link.Decoder()
wire = link.encode(link.DATA, 513, b"\x00abc\x00\x00")
out = dec.feed(b"\x13\x00\x55\xff" + wire[:5]) + dec.feed(wire[5:])
frames = [f for f in out if isinstance(f, link.Frame)]
assert len(frames) == 1 and frames[0].seq == 513 and frames[0].payload == b"\x00abc\x00\x00", out
bad = bytearray(wire)
bad[6] ^= 0x10
assert not [f for f in link.Decoder().feed(bytes(bad)) if isinstance(f, link.Frame)]

# --- server over raw bytes ---
with open(LIB, "rb") as fh:
    blob = fh.read()
ts = trust.load(TRUST)
pump = Pump(FaultStorage(), ts)
pump.boot()
srv = PumpServer(pump, "mpy-pump")
seq = [100]


def ask(ftype, payload=b"", again=False):
    if not again:
        seq[0] += 1
    out = link.Decoder().feed(srv.feed(link.encode(ftype, seq[0], payload)))
    assert len(out) == 1 and out[0].seq == seq[0], out
    return out[0].ftype, out[0].payload


t, p = ask(link.INFO)
info = logrec.decode_fields(p)
assert t == link.INFO | link.OK and info["state"] == "no-library" and info["pump_id"] == "mpy-pump", info
sha = hashlib.sha256(blob).digest()
t, p = ask(link.BEGIN, link.pack_u32(len(blob)) + sha + b"\x00")
assert logrec.decode_fields(p)["have"] == 0
off = 0
while off < len(blob):
    chunk = blob[off:off + 300]
    t, p = ask(link.DATA, link.pack_u32(off) + chunk)
    t2, p2 = ask(link.DATA, link.pack_u32(off) + chunk, again=True)  # retransmission: same answer
    assert (t, p) == (t2, p2)
    off = logrec.decode_fields(p)["have"]
assert off == len(blob)
t, p = ask(link.END, link.pack_u32(len(blob)) + sha)
assert logrec.decode_fields(p)["status"] == "installed", p
t, p2 = ask(link.END, link.pack_u32(len(blob)) + sha, again=True)
assert p2 == p  # never installed twice
t, p = ask(link.INFO)
assert logrec.decode_fields(p)["version"] == 3
kinds = [k for _, k, _ in logrec.decode_all(pump.log.read_all())]
assert kinds.count("install") == 1, kinds

t, p = ask(link.LOG, link.pack_u32(0) + link.pack_u16(768))
f = logrec.decode_fields(p)
assert f["size"] == len(f["data"]) and logrec.verify_chain(f["data"], (f["seq"], f["chain"]))[0] == len(kinds)

t, p = ask(link.CHECK, b"not json")
assert t == link.CHECK | link.OK and b"REQ_MALFORMED" in p, p
t, p = ask(0x42)
assert t == link.ERR and logrec.decode_fields(p)["code"] == "LINK_BAD_REQUEST"
print("OK mpy_link")
