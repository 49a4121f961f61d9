# Runs under the MicroPython unix port (bench/bench_install_memory.py starts
# it): install a library of BODY bytes streamed from a generator into
# FileStorage, sampling the live heap (gc.collect(); gc.mem_alloc()) at every
# storage operation. Prints one line: "body_len peak_growth samples".
# Issue 4: "peak heap growth stays flat from a 4 KiB to a 256 KiB library".
import gc
import os
import sys

import libsample
from firmware.store.slots import PumpStore
from firmware.store.storage import FileStorage


class Sampling:
    """Storage wrapper: samples the live heap before each call."""

    def __init__(self, inner):
        self.inner = inner
        self.peak = 0
        self.samples = 0

    def sample(self):
        gc.collect()
        a = gc.mem_alloc()
        if a > self.peak:
            self.peak = a
        self.samples += 1

    def __getattr__(self, name):
        fn = getattr(self.inner, name)

        def call(*args):
            self.sample()
            return fn(*args)

        return call


body_len = int(sys.argv[1]) if len(sys.argv) > 1 else 4096
root = sys.argv[2] if len(sys.argv) > 2 else "/tmp/bench_install_memory"
inner = FileStorage(root)
for name in inner.listdir():
    inner.remove(name)
st = Sampling(inner)
ps = PumpStore(st, None)
ps.boot()
source = libsample.stream_library(1, body_len)
gc.collect()
base = gc.mem_alloc()
st.peak = base
ps.install(source)
st.sample()
assert ps.version() == 1
ps.selftest()
for name in inner.listdir():
    inner.remove(name)
os.rmdir(root)
print("%d %d %d" % (body_len, st.peak - base, st.samples))
