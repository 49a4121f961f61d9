"""Host side of bench/pump_heap_mpy.py (issue 11 item 4), shared by
bench/bench_install_memory.py and bench/bench_check.py: a released formulary
(tests/libfixtures.py: the blinatumomab drug records under other names,
synthetic, never shipped) installed by a whole pump under the MicroPython
unix port, then CHECK frames through its link server."""
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests"))
sys.path.insert(0, ROOT)

from conftest_signing import Kit, released  # noqa: E402
from host_tools.engines import micropython_exe  # noqa: E402
from libfixtures import formulary  # noqa: E402

SCRIPT = os.path.join(ROOT, "bench", "pump_heap_mpy.py")


def pump_run(drugs=1, body_len=0, checks=30, heapsize="8M", drug="blinatumomab"):
    """-> dict: drugs, body_len (library bytes), install_peak, check_alloc, check_us, check_us_max,
    check_cpu_us (check_us less the time in storage calls: the log append and its fsync)."""
    with tempfile.TemporaryDirectory() as tmp:
        kit = Kit(tmp, version=3)
        blob = released(formulary(kit.unsigned, drugs, body_len, 3)[0])
        lib = os.path.join(tmp, "lib.bin")
        with open(lib, "wb") as f:
            f.write(blob)
        env = dict(os.environ, MICROPYPATH=".frozen:" + ROOT)
        proc = subprocess.run([micropython_exe(), "-X", "heapsize=" + heapsize, SCRIPT, lib, kit.trust_path,
                               os.path.join(tmp, "pump"), str(checks), drug],
                              capture_output=True, text=True, env=env, cwd=ROOT, timeout=600)
    if proc.returncode != 0:
        raise RuntimeError("micropython failed:\n" + proc.stdout + proc.stderr)
    peak, alloc, med, mx, n, cpu = (int(x) for x in proc.stdout.split()[-6:])
    return {"drugs": n, "library_bytes": len(blob), "install_peak": peak, "check_alloc": alloc,
            "check_us": med, "check_us_max": mx, "check_cpu_us": cpu}


def plan(tiny):
    """The libraries of issue 11 item 4: 4/64/256 KiB and 1/50/500 drugs (tiny: 1 KiB-ish and 4 drugs)."""
    if tiny:
        return [("1 drug", 1, 0), ("4 drugs", 4, 0)]
    return [("1 drug", 1, 0), ("50 drugs", 50, 0), ("500 drugs", 500, 0),
            ("4 KiB", 1, 4 * 1024), ("64 KiB", 1, 64 * 1024), ("256 KiB", 1, 256 * 1024)]
