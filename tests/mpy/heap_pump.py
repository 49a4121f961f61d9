# Issue 11 item 5 ("never out of memory, never silent"), run under the
# MicroPython unix port by tests/test_heap_pump.py and bench/bench_heap_pump.py,
# over the mpy-cross-compiled firmware in a small heap (-X heapsize=192K):
# the whole shell (firmware/pumpmain.main, its serve loop) boots, a released
# library (64 KiB) is pushed over the protocol (BEGIN, DATA, END), a
# programming is checked, then FUZZ fuzzed frames arrive (garbage, bit flips,
# valid frames of every type with random or mutated payloads). Every request
# gets exactly one answer, the loop never ends, and afterwards the same
# library is active and the same programming is accepted.
#
# argv (after the script): library trust.json state-dir fuzz-count seed [strict|survive|breakdown MODULE...]
# Prints "OK heap_pump frames=N answers=N errors=N naks=N us_per_frame=N".
# "breakdown" (bench/bench_heap_pump.py --breakdown) is "strict" that first
# imports the MODULEs (one argument each, dependencies first: an argument of
# 256 characters or more crashes the unix port, "FATAL: uncaught NLR") and
# prints "MODULE name bytes" (the live heap it adds), then samples the live
# heap (gc.collect(); gc.mem_alloc()) at every storage call and line step and
# prints "STEP name bytes" (the live heap after each step of the boot) and
# "PEAK phase bytes" for boot, install, check and fuzz.
import gc

gc.collect()
START = gc.mem_alloc()  # this harness's own code is loaded already
import hashlib  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

MODE = sys.argv[6] if len(sys.argv) > 6 else "strict"
if MODE == "breakdown":
    for _name in sys.argv[7:]:
        gc.collect()
        _a = gc.mem_alloc()
        __import__(_name)
        gc.collect()
        print("MODULE %s %d" % (_name, gc.mem_alloc() - _a))
    _name = _a = None

from firmware import pumpmain  # noqa: E402
from firmware.link import frames as link  # noqa: E402

LIB, TRUST, STATE, FUZZ, SEED = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
# "strict": every step answered as it must be; "survive" (a heap too small for
# the whole scenario): every request answered, with its result or an error
STRICT = MODE != "survive"
PEAKS = {} if MODE == "breakdown" else None
PHASE = ["boot"]


def sample():
    if PEAKS is not None:
        gc.collect()
        a = gc.mem_alloc()
        if a > PEAKS.get(PHASE[0], 0):
            PEAKS[PHASE[0]] = a


class Sampled:
    """breakdown: pumpmain's storage, sampling the live heap before each call."""

    def __init__(self, inner):
        self.inner = inner

    def __getattr__(self, name):
        fn = getattr(self.inner, name)
        if not callable(fn):
            return fn

        def call(*args):
            sample()
            return fn(*args)

        return call


def step(name, value):
    """breakdown: the live heap after one step of pumpmain.main's boot."""
    gc.collect()
    print("STEP %s %d" % (name, gc.mem_alloc()))
    return value


if PEAKS is not None:
    _File, _Pump, _Server, _load = pumpmain.FileStorage, pumpmain.Pump, pumpmain.PumpServer, pumpmain.trust.load

    class _Trust:
        load = staticmethod(lambda path: step("trust.load", _load(step("main", path))))

    class _BootPump(_Pump):
        def boot(self):
            step("Pump()", None)
            return step("pump.boot()", _Pump.boot(self))

    pumpmain.trust = _Trust
    pumpmain.FileStorage = lambda root: Sampled(_File(root))
    pumpmain.Pump = _BootPump
    pumpmain.PumpServer = lambda pump, pid: step("PumpServer()", _Server(pump, pid))
PROG = ('{"drug": "blinatumomab", "indication": "mrd", "cycle": 1, "day": 1, "restart_after_adverse_event": false,'
        ' "patient": {"age_days": 9000, "weight_kg": 70, "bsa_m2": 1.8}, "dose": {"value": 28, "unit": "mcg/day"},'
        ' "bag": {"blinatumomab_mcg": 31.5, "volume_ml": 270, "preservative": false},'
        ' "infusion": {"rate_ml_h": 10, "duration_h": 24, "vtbi_ml": 240},'
        ' "line": {"inline_filter": true, "dehp_free": true}, "overrides": []}')
TYPES = (link.INFO, link.BEGIN, link.DATA, link.END, link.ABORT, link.LOG, link.CHECK, link.THERAPY, 0x09, 0x7F)


class Rand:
    """A deterministic generator (the same fuzz on every run of a seed)."""

    def __init__(self, seed):
        self.s = seed or 1

    def next(self):
        self.s = (self.s * 1103515245 + 12345) & 0x7FFFFFFF
        return self.s >> 8

    def below(self, n):
        return self.next() % n

    def bytes(self, n):
        return bytes(self.next() & 0xFF for _ in range(n))


def u32(v):
    return bytes(((v >> 24) & 255, (v >> 16) & 255, (v >> 8) & 255, v & 255))


class Script:
    """The host side: a list of steps, each a request, and what its answer must be."""

    def __init__(self):
        self.seq = 0
        self.sent = 0
        self.pending = None  # (seq, expected type or None) of the request in flight
        self.got = []
        self.answers = 0
        self.errors = 0
        self.naks = 0
        self.oom = 0
        self.dec = link.Decoder()
        self.steps = self.gen()

    def frame(self, ftype, payload, expect):
        self.sent += 1
        self.seq = (self.seq + 1) % link.SEQ_MOD
        self.pending = (self.seq, expect)
        return link.encode(ftype, self.seq, payload)

    def gen(self):
        f = open(LIB, "rb")  # streamed, as a host sends it: the harness holds no library either
        h = hashlib.sha256()
        total = 0
        while True:
            b = f.read(1024)
            if not b:
                break
            h.update(b)
            total += len(b)
        sha = h.digest()
        h = b = None
        PHASE[0] = "install"
        yield self.frame(link.INFO, b"", link.INFO | link.OK)
        yield self.frame(link.BEGIN, u32(total) + sha + bytes((link.BEGIN_RESTART,)), link.BEGIN | link.OK)
        off = 0
        while off < total:
            f.seek(off)
            part = f.read(link.MAX_PAYLOAD - 4)
            yield self.frame(link.DATA, u32(off) + part, link.DATA | link.OK)
            off += len(part)
        f.close()
        part = None
        gc.collect()
        yield self.frame(link.END, u32(total) + sha, link.END | link.OK)
        PHASE[0] = "check"
        yield self.frame(link.CHECK, PROG.encode(), "accept")
        PHASE[0] = "fuzz"
        r = Rand(SEED)
        for i in range(FUZZ):
            k = r.below(10)
            if k == 0:  # garbage, no frame at all
                self.pending = None
                yield r.bytes(r.below(600)) + b"\x00"
                continue
            ftype = TYPES[r.below(len(TYPES))]
            if k <= 3:
                payload = r.bytes(r.below(link.MAX_PAYLOAD + 1))
            elif k <= 6:  # a mutated programming
                p = bytearray(PROG.encode())
                for _ in range(1 + r.below(6)):
                    p[r.below(len(p))] = r.next() & 0x7F
                payload = bytes(p) * (1 + r.below(4))
                ftype = link.CHECK if k <= 5 else ftype
            else:
                payload = r.bytes(r.below(48))
            wire = self.frame(ftype, payload[:link.MAX_PAYLOAD], "any")
            if k == 9:  # a flipped bit: NAK or nothing, never a frame
                w = bytearray(wire)
                w[1 + r.below(len(w) - 2)] ^= 1 << r.below(8)
                self.pending = None
                wire = bytes(w)
            yield wire
        yield self.frame(link.INFO, b"", link.INFO | link.OK)
        yield self.frame(link.CHECK, PROG.encode(), "accept")

    def answer(self, data):
        for item in self.dec.feed(data):
            if not isinstance(item, link.Frame):
                raise AssertionError("a damaged answer: %r" % item)
            if item.ftype == link.NAK:
                self.naks += 1
                continue
            assert self.pending is not None and item.seq == self.pending[0], (item, self.pending)
            self.answers += 1
            want = self.pending[1]
            if item.ftype == link.ERR:
                self.errors += 1
                if b"out of memory" in item.payload:
                    self.oom += 1
            if want == "any" or (not STRICT and item.ftype == link.ERR):
                pass
            elif want == "accept":
                assert item.ftype == link.CHECK | link.OK and b'"verdict": "accept"' in item.payload, (
                    self.sent, item.payload)
            elif want is not None:
                assert item.ftype == want, (self.sent, item, item.payload[:200])
            self.got = [self.got[-1] if self.got else None, item.ftype]  # the last two (bounded)
            self.pending = None


class Line:
    """pumpmain's line (wait/read/write): the script's frames in, answers checked."""

    def __init__(self, script):
        self.s = script
        self.frames = 0
        self.failed = None
        self.live_max = 0
        self.live_500 = 0

    def wait(self, ms):
        return True

    def read(self):
        sample()
        if self.s.pending is not None and self.s.pending[1] is not None:
            raise AssertionError("no answer to request %r" % (self.s.pending,))
        self.s.pending = None
        try:
            wire = next(self.s.steps)
        except StopIteration:
            return b""
        except MemoryError:  # the harness's own failure, never the pump's: reported, not retried
            self.failed = "the test harness ran out of heap at frame %d" % self.frames
            return b""
        self.frames += 1
        if self.frames % 250 == 0:  # the live heap after a collection: must not grow with the fuzz
            gc.collect()
            a = gc.mem_alloc()
            self.live_max = max(self.live_max, a)
            if self.frames == 500:
                self.live_500 = a
        return wire

    def write(self, data):
        sample()
        self.s.answer(data)


script = Script()
line = Line(script)
t0 = time.ticks_ms()
rc = pumpmain.main(["pumpmain", "--state", STATE, "--trust", TRUST, "--id", "heap"], line)
ms = time.ticks_diff(time.ticks_ms(), t0)
assert line.failed is None, line.failed
assert rc == 0, rc
if STRICT:
    assert script.got[-2:] == [link.INFO | link.OK, link.CHECK | link.OK], script.got[-2:]
print("OK heap_pump frames=%d answers=%d errors=%d out_of_memory=%d naks=%d us_per_frame=%d live_at_500=%d live_max=%d"
      % (line.frames, script.answers, script.errors, script.oom, script.naks, ms * 1000 // max(1, line.frames),
         line.live_500, line.live_max))
if PEAKS is not None:
    print("START %d" % START)
    for _p in ("boot", "install", "check", "fuzz"):
        print("PEAK %s %d" % (_p, PEAKS.get(_p, 0)))
