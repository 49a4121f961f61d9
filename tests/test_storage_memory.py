"""Install memory stays flat (issue 4): peak live-heap growth on the
MicroPython unix port for a 256 KiB library is no larger than for a 4 KiB
one (plus a little slack), and a 256 KiB install fits in a 96 KiB heap."""
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "bench"))

import bench_install_memory  # noqa: E402


def test_install_peak_heap_growth_is_flat_from_4k_to_256k():
    small, large, tight = bench_install_memory.measure()
    print("\npeak heap growth: 4 KiB -> %d B, 256 KiB -> %d B, 256 KiB in %s heap -> %d B"
          % (small["peak_growth_bytes"], large["peak_growth_bytes"], tight["heapsize"],
             tight["peak_growth_bytes"]))
    assert large["samples"] > 20 * small["samples"]  # the large install really did more I/O
    assert large["peak_growth_bytes"] <= small["peak_growth_bytes"] + 1024
    assert large["peak_growth_bytes"] < 16 * 1024  # a few chunks, never the library
    assert tight["body_len"] == 256 * 1024
