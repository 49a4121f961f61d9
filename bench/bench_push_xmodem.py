"""Push vs XMODEM-1K over the same simulated cable, side by side (issue 11 item 3).

    .venv/bin/python bench/bench_push_xmodem.py [--baud 115200] [--latency-ms 0,16] [--sizes 4,64,256] [--tiny]

The cable is host_tools/link/cable.py, the same for both: 8N1 pacing on an
absolute schedule (10 bit times per byte) and a fixed latency in each
direction (a USB-serial bridge's latency timer; paid at every change of
direction). `push` is `PumpLink.push` to the real firmware under the
MicroPython unix port through `PumpSim` (pty + that cable), a fresh pump per
run: `push` is BEGIN..END including the pump's verification and atomic
install, `data` is the DATA phase alone (BEGIN's answer to the last DATA
answer). `xmodem` is the PyPI `xmodem` package's XMODEM-1K sender and its
receiver, in this process, over two pipes through the same cable. Libraries
of about 4, 64 and 256 KiB are released formularies of synthetic drugs
(bench/synthrules.py: benchmark-only copies of the blinatumomab rules,
marked synthetic, never shipped).

`cli` is the whole `druglib push` command against another fresh pump on the
same cable, timed from process start to exit (what an outside measurement
driving the command sees: interpreter start, port open, BEGIN..END).

Figures: fraction of the line's limit (bytes / time / (baud / 10)) and the
ratio push/xmodem of throughputs. `--tiny` (tests/test_bench_tiny.py): one
small library once at each latency; its figures prove it runs, nothing more.
"""
import argparse
import os
import shutil
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests"))
sys.path.insert(0, os.path.join(ROOT, "bench"))
sys.path.insert(0, ROOT)

import bench_push  # noqa: E402  (the push measure, beside its raw-line baseline)
from host_tools.link.cable import Direction, LineSim  # noqa: E402


class _End:
    """One end of the cable for the xmodem package: getc(size, timeout), putc(data, timeout)."""

    def __init__(self, rfd, wfd):
        self.rfd, self.wfd = rfd, wfd
        self.buf = bytearray()

    def getc(self, size, timeout=1):
        import select

        deadline = time.monotonic() + timeout
        while len(self.buf) < size:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            r, _, _ = select.select([self.rfd], [], [], left)
            if r:
                data = os.read(self.rfd, 65536)
                if not data:
                    return None
                self.buf += data
        out = bytes(self.buf[:size])
        del self.buf[:size]
        return out

    def putc(self, data, timeout=1):
        os.write(self.wfd, data)
        return len(data)


def xmodem_time(blob, baud, latency_ms):
    import io
    import logging

    import xmodem

    logging.getLogger("xmodem").setLevel(logging.CRITICAL)
    stop = threading.Event()
    lat = latency_ms / 1000.0
    a_r, a_w = os.pipe()  # sender -> cable
    b_r, b_w = os.pipe()  # cable -> receiver
    c_r, c_w = os.pipe()  # receiver -> cable
    d_r, d_w = os.pipe()  # cable -> sender
    dirs = [Direction(LineSim(baud, latency_s=lat), a_r, b_w, stop).start(),
            Direction(LineSim(baud, latency_s=lat), c_r, d_w, stop).start()]
    sender, receiver = _End(d_r, a_w), _End(b_r, c_w)
    got = io.BytesIO()
    result = {}

    def recv():
        result["n"] = xmodem.XMODEM(receiver.getc, receiver.putc).recv(got, crc_mode=1, timeout=5, quiet=True)

    t = threading.Thread(target=recv, daemon=True)
    try:
        t0 = time.perf_counter()
        t.start()
        ok = xmodem.XMODEM(sender.getc, sender.putc, mode="xmodem1k").send(io.BytesIO(blob), timeout=10,
                                                                           quiet=True)
        t.join(30)
        dt = time.perf_counter() - t0
    finally:
        stop.set()
        for d in dirs:
            d.join(2)
        for fd in (a_r, a_w, b_r, b_w, c_r, c_w, d_r, d_w):
            os.close(fd)
    if not ok or got.getvalue()[:len(blob)] != blob:
        raise RuntimeError("xmodem did not deliver the library")
    return dt


def push_time(trust, baud, latency_ms, blob, tmp, n):
    """-> (seconds BEGIN to END, seconds of the DATA phase, retransmissions): bench_push's measure."""
    return bench_push.push_time(trust, baud, blob, tmp, n, latency_ms=latency_ms)
def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--baud", type=int, default=115200)
    ap.add_argument("--latency-ms", default="0,16")
    ap.add_argument("--sizes", default="4,64,256", help="library sizes in KiB (about)")
    ap.add_argument("--tiny", action="store_true", help="one small library once: proves it runs")
    args = ap.parse_args()
    import synthrules

    lats = [int(x) for x in args.latency_ms.split(",")]
    sizes = [2] if args.tiny else [int(x) for x in args.sizes.split(",")]
    limit = args.baud / 10.0
    tmp = tempfile.mkdtemp(prefix="bench-xmodem-")
    rows = []
    try:
        trust, libs = synthrules.released_libraries(tmp, [k * 1024 for k in sizes])
        n = 0
        for lat in lats:
            for kib, blob in zip(sizes, libs):
                n += 1
                push, data, retx = push_time(trust, args.baud, lat, blob, tmp, n)
                cli = bench_push.cli_time(trust, args.baud, blob, tmp, n, latency_ms=lat)
                xm = xmodem_time(blob, args.baud, lat)
                rows.append((lat, kib, len(blob), push, data, xm, retx, cli))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("push vs XMODEM-1K on the same simulated cable: %d baud 8N1 (limit %d B/s), latency per direction"
          % (args.baud, limit))
    print("%7s %8s %9s %9s %9s %9s %9s %8s %8s %8s %8s %5s" % (
        "lat ms", "bytes", "push s", "data s", "cli s", "xmodem s", "push", "data", "cli", "xmodem", "ratio",
        "retx"))
    for lat, kib, size, push, data, xm, retx, cli in rows:
        fp, fd, fc, fx = size / push / limit, size / data / limit, size / cli / limit, size / xm / limit
        print("%7d %8d %9.3f %9.3f %9.3f %9.3f %9.3f %8.3f %8.3f %8.3f %8.3f %5d" % (
            lat, size, push, data, cli, xm, fp, fd, fc, fx, xm / push, retx))
    print("push/data/cli/xmodem = fraction of the line's limit (cli: the whole `druglib push` command, "
          "process start to exit); ratio = push throughput / xmodem throughput")
    for lat, kib, size, push, data, xm, retx, cli in rows:
        print("ratio push/xmodem latency=%dms bytes=%d %.3f (push %.3f, data %.3f, cli %.3f, xmodem %.3f of the line)"
              % (lat, size, xm / push, size / push / limit, size / data / limit, size / cli / limit,
                 size / xm / limit))
    return 0


if __name__ == "__main__":
    sys.exit(main())
