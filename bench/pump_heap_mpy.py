# Run under the MicroPython unix port by bench/bench_install_memory.py and
# bench/bench_check.py (issue 11 item 4): a whole pump (firmware/pump.py, the
# library index) on real files installs a released library, then its link
# server (firmware/link/server.py) answers CHECK frames.
#
# argv: library trust.json state-dir checks drug-name
# Prints one line: "install_peak check_alloc check_us_median check_us_max drugs cpu_us_median"
#   install_peak: live-heap peak during Pump.install over the heap after boot
#                 (gc.collect(); gc.mem_alloc() at every storage operation)
#   check_alloc:  bytes allocated by one CHECK (feed of the frame -> answer
#                 bytes) with the collector off: an upper bound of its peak growth
#   check_us:     one CHECK through PumpServer.feed, median and max of `checks`
#   cpu_us:       the same CHECKs less the time inside storage calls (the event
#                 log's append: open, write, flush, close; on the unix port the
#                 flush is an fsync(2)), median
import gc
import os
import sys
import time

from firmware.link import frames as link
from firmware.link.server import PumpServer
from firmware.pump import Pump
from firmware.release import trust
from firmware.store.storage import FileStorage

PROG = ('{"drug": "%s", "indication": "mrd", "cycle": 1, "day": 1, "restart_after_adverse_event": false,'
        ' "patient": {"age_days": 9000, "weight_kg": 70, "bsa_m2": 1.8}, "dose": {"value": 28, "unit": "mcg/day"},'
        ' "bag": {"blinatumomab_mcg": 31.5, "volume_ml": 270, "preservative": false},'
        ' "infusion": {"rate_ml_h": 10, "duration_h": 24, "vtbi_ml": 240},'
        ' "line": {"inline_filter": true, "dehp_free": true}, "overrides": []}')


class Sampling:
    """Storage wrapper: samples the live heap before each call."""

    def __init__(self, inner):
        self.inner = inner
        self.peak = 0
        self.on = False
        self.io_us = 0  # time spent in storage calls

    def __getattr__(self, name):
        fn = getattr(self.inner, name)

        def call(*args):
            if self.on:
                gc.collect()
                a = gc.mem_alloc()
                if a > self.peak:
                    self.peak = a
            t = time.ticks_us()
            try:
                return fn(*args)
            finally:
                self.io_us += time.ticks_diff(time.ticks_us(), t)

        return call


def main():
    lib_path, trust_path, root, checks, drug = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
    st = Sampling(FileStorage(root))
    pump = Pump(st, trust.load(trust_path))
    pump.boot()
    srv = PumpServer(pump, "bench")
    f = open(lib_path, "rb")
    gc.collect()
    base = gc.mem_alloc()
    st.peak = base
    st.on = True
    assert pump.install(f.read)["status"] == "installed"
    st.on = False
    f.close()
    install_peak = st.peak - base
    frames = [link.encode(link.CHECK, 1000 + i, (PROG % drug).encode()) for i in range(checks)]
    times = []
    cpu = []
    alloc = 0
    for i in range(checks):
        fr = frames[i]
        if i == checks - 1:  # the last one with the collector off: what one CHECK allocates
            gc.collect()
            gc.disable()
            a0 = gc.mem_alloc()
        st.io_us = 0
        t0 = time.ticks_us()
        out = srv.feed(fr)
        times.append(time.ticks_diff(time.ticks_us(), t0))
        cpu.append(times[-1] - st.io_us)
        if i == checks - 1:
            alloc = gc.mem_alloc() - a0
            gc.enable()
        assert b"accept" in link.cobs_decode(out[1:-1]), out
    times.sort()
    cpu.sort()
    print("%d %d %d %d %d %d" % (install_peak, alloc, times[len(times) // 2], times[-1], pump.lib.count,
                                 cpu[len(cpu) // 2]))
    for name in os.listdir(root):
        os.remove(root + "/" + name)
    os.rmdir(root)


main()
