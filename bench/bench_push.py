"""Push time over the simulated serial line vs the raw throughput of the same
line, in the same run (ratio = protocol efficiency).

    .venv/bin/python bench/bench_push.py [--baud 115200] [--latency-ms 16] [--reps 3] [--json] [--tiny]

The cable (host_tools/link/cable.py) paces on an absolute schedule and
delays each direction by --latency-ms (default 16: a USB-serial bridge).

Both go through `host_tools.link.pumpsim` (pty + the link simulator pacing 10 bit
times per byte): `raw` sends the bytes through a loopback plug (`--echo`) and
times until the last one is back; `push` is `PumpLink.push` (BEGIN, DATA...,
END) to the real firmware under the MicroPython unix port, each rep on a
fresh pump, so END includes the release verification and the atomic commit.
Two sizes: the released blinatumomab library, and a formulary of about
32 KiB: the blinatumomab drug records repeated under distinct drug names, as a
hospital library holds many drugs. Both are released (Alice + Bob), verify,
decode and install exactly as a real release does (the pump decodes the body
before it commits). `data` is the DATA phase alone (BEGIN's answer to the
last DATA answer). Median of N reps. `--tiny` (run by `make test`, see
tests/test_bench_tiny.py) is one rep with a 4-drug formulary, same baud,
same line: it proves the benchmark runs, its figures mean nothing.
"""
import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests"))
sys.path.insert(0, ROOT)

import libfixtures  # noqa: E402
from conftest_signing import Kit, released  # noqa: E402
from firmware.library import body as fw  # noqa: E402
from host_tools.link.client import PumpLink  # noqa: E402
from host_tools.link.pumpsim import PumpSim  # noqa: E402


def formulary(unsigned, min_body_len, version):
    """A library of several drugs, at least `min_body_len` body bytes: the library record of
    `unsigned`, then its drug's records once per drug, each drug under its own name
    (tests/libfixtures.py builds it; checked here to decode as the pump will)."""
    blob, k = libfixtures.formulary(unsigned, 1, min_body_len, version)
    lib = fw.decode(blob)[1]  # decodes as the pump will before it commits
    assert len(lib["drugs"]) == k, k
    return blob, k


def raw_time(trust, baud, blob, tmp, latency_ms=0):
    sim = PumpSim(os.path.join(tmp, "echo"), trust, baud, echo=True, log=lambda t: None, latency_ms=latency_ms)
    sim.start()
    try:
        import serial

        port = serial.serial_for_url(sim.port, baudrate=baud, timeout=0.05)
        port.reset_input_buffer()
        import threading

        t0 = time.perf_counter()
        # write from a thread: the line takes the bytes at its own pace, we read meanwhile
        writer = threading.Thread(target=port.write, args=(blob,), daemon=True)
        writer.start()
        got = bytearray()
        deadline = t0 + 10 + len(blob) * 20.0 / baud
        while len(got) < len(blob) and time.perf_counter() < deadline:
            got += port.read(max(1, port.in_waiting))
        dt = time.perf_counter() - t0
        writer.join(10)
        port.close()
        if bytes(got) != blob:
            raise RuntimeError("loopback lost bytes (%d of %d)" % (len(got), len(blob)))
        return dt
    finally:
        sim.close()


def push_time(trust, baud, blob, tmp, n, latency_ms=0):
    state = os.path.join(tmp, "pump%d" % n)
    sim = PumpSim(state, trust, baud, log=lambda t: None, latency_ms=latency_ms)
    sim.start()
    try:
        with PumpLink(sim.port, baud) as link:
            link.info()  # the pump is up and the line is clean
            marks = {}

            def progress(have):
                if "data0" not in marks:  # called with 0 right after BEGIN's answer
                    marks["data0"] = time.perf_counter()
                if have == len(blob):
                    marks["data1"] = time.perf_counter()

            t0 = time.perf_counter()
            r = link.push(blob, progress=progress)
            dt = time.perf_counter() - t0
            if r["status"] != "installed":
                raise RuntimeError("push ended %s" % r["status"])
            data = marks["data1"] - marks["data0"]
            return dt, data, link.stats["retransmissions"]
    finally:
        sim.close()
        shutil.rmtree(state, ignore_errors=True)


def cli_time(trust, baud, blob, tmp, n, latency_ms=0):
    """Seconds of the whole `druglib push` command (a new process: start,
    port open, BEGIN..END, exit) to a fresh simulated pump over the same cable,
    as an outside measurement that drives the command sees it."""
    import subprocess

    state = os.path.join(tmp, "clipump%d" % n)
    path = os.path.join(tmp, "cli%d.lib" % n)
    with open(path, "wb") as fh:
        fh.write(blob)
    sim = PumpSim(state, trust, baud, log=lambda t: None, latency_ms=latency_ms)
    sim.start()
    try:
        exe = os.path.join(os.path.dirname(sys.executable), "druglib")
        t0 = time.perf_counter()
        proc = subprocess.run([exe, "push", "--port", sim.port, "--baud", str(baud), path],
                              capture_output=True, text=True, timeout=600)
        dt = time.perf_counter() - t0
        if proc.returncode != 0 or "installed version" not in proc.stdout:
            raise RuntimeError("druglib push failed: %s %s" % (proc.stdout, proc.stderr))
        return dt
    finally:
        sim.close()
        shutil.rmtree(state, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--baud", type=int, default=115200)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--latency-ms", type=int, default=16,
                    help="cable latency per direction (a USB-serial bridge's latency timer; issue 11 item 2)")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--tiny", action="store_true", help="one rep, a 4-drug formulary: proves it runs")
    args = ap.parse_args()
    if args.tiny:
        args.reps = 1
    size = 2 * 1024 if args.tiny else 32 * 1024
    tmp = tempfile.mkdtemp(prefix="bench-push-")
    try:
        kit = Kit(tmp, version=3)
        big, drugs = formulary(kit.unsigned, size, kit.version)
        big = released(big)
        rows = []
        for name, blob in (("blinatumomab", kit.blob), ("formulary-%d" % drugs, big)):
            raws, pushes, datas, retx = [], [], [], 0
            for i in range(args.reps):
                raws.append(raw_time(kit.trust_path, args.baud, blob, tmp, args.latency_ms))
                p, d, r = push_time(kit.trust_path, args.baud, blob, tmp, i, args.latency_ms)
                pushes.append(p)
                datas.append(d)
                retx += r
            raw, push, data = (statistics.median(x) for x in (raws, pushes, datas))
            rows.append({"library": name, "bytes": len(blob), "baud": args.baud,
                         "line_ms": round(len(blob) * 10000.0 / args.baud, 1),
                         "raw_ms": round(raw * 1000, 1), "push_ms": round(push * 1000, 1),
                         "data_ms": round(data * 1000, 1),
                         "efficiency": round(raw / push, 3), "data_efficiency": round(raw / data, 3),
                         "raw_Bps": round(len(blob) / raw), "push_Bps": round(len(blob) / push),
                         "retransmissions": retx, "reps": args.reps})
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    print("push over the simulated line at %d baud, %d ms latency per direction, vs raw bytes on the same line "
          "(median of %d)" % (args.baud, args.latency_ms, args.reps))
    print("%-14s %7s %9s %9s %9s %9s %10s %10s" % ("library", "bytes", "line ms", "raw ms", "push ms", "data ms",
                                                 "push/raw", "data/raw"))
    for r in rows:
        print("%-14s %7d %9.1f %9.1f %9.1f %9.1f %10.3f %10.3f" % (
            r["library"], r["bytes"], r["line_ms"], r["raw_ms"], r["push_ms"], r["data_ms"], r["efficiency"],
            r["data_efficiency"]))
    print("efficiency = raw time / push time (1.0 = the protocol costs nothing); `data` = DATA phase only")
    for r in rows:
        print("ratio push/raw %s %.3f (data/raw %.3f, %d retransmissions)" % (
            r["library"], r["efficiency"], r["data_efficiency"], r["retransmissions"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
