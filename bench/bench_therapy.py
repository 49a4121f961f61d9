"""The therapy state machine: a whole 28-day cycle simulated under the
MicroPython unix port, and one action over the serial link, each beside a
baseline measured in the same run.

    .venv/bin/python bench/bench_therapy.py [--tiny]

1. A relapsed/refractory cycle 1 of 24 h bags (program, 27 bag changes, 28
   starts and 28 advances: 84 actions) through the pure machine and through
   the pump's therapy shell (state saved with an atomic rename, every action
   logged; real files in a temporary folder), against the baseline of its 28 programmings
   through the checker alone.
2. Over a real pty to the firmware under MicroPython at 115200 baud
   (druglib pumpsim): THERAPY actions (a refused flush: logged only; an
   advance of 0 h: saved and logged) against INFO round trips, and the whole
   cycle through the link (what `druglib simulate` does).
--tiny: a 3-day cycle and 5 link actions (a smoke run).
"""
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from host_tools.engines import micropython_env, micropython_exe  # noqa: E402
from host_tools.library.build import build_library  # noqa: E402


def mpy_cycle(lib_path, days):
    state = tempfile.mkdtemp(prefix="bench-therapy-files-")
    try:
        p = subprocess.run([micropython_exe(), "-X", "heapsize=8M", os.path.join(ROOT, "bench", "therapy_mpy.py"),
                            lib_path, str(days), state], capture_output=True, text=True, env=micropython_env(),
                            cwd=ROOT, check=True)
    finally:
        shutil.rmtree(state, ignore_errors=True)
    m = re.search(r"RESULT actions=(\d+) checks=(\d+) base_us=(\d+) pure_us=(\d+) shell_us=(\d+)", p.stdout)
    return [int(x) for x in m.groups()]


def link_part(n, days):
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    sys.path.insert(0, os.path.join(ROOT, "bench"))
    from therapy_mpy import cycle

    from host_tools.link.client import PumpLink
    from host_tools.link.pumpsim import PumpSim
    from host_tools.release.keys import add_to_trust, public_raw
    from host_tools.release.signing import sign_blob

    d = tempfile.mkdtemp(prefix="bench-therapy-")
    trust = os.path.join(d, "trust.json")
    blob = build_library()
    for role in ("author", "approver"):
        sk = Ed25519PrivateKey.generate()
        add_to_trust(trust, public_raw(sk), role)
        blob = sign_blob(blob, sk, role)
    sim = PumpSim(os.path.join(d, "pump"), trust, log=lambda t: None)
    sim.start()
    try:
        link = PumpLink(sim.port)
        link.push(blob)
        out = {}
        for name, fn in (("INFO (baseline)", link.info),
                         ("THERAPY flush (refused: logged)", lambda: link.therapy('{"action": "flush"}')),
                         ("THERAPY advance 0 h (saved + logged)", lambda: link.therapy('{"action": "advance", "hours": 0}'))):
            times = []
            for _ in range(n):
                t = time.perf_counter()
                fn()
                times.append(time.perf_counter() - t)
            out[name] = statistics.median(times)
        link.therapy('{"action": "new_patient"}')
        texts = cycle(days)
        t = time.perf_counter()
        for text in texts:
            last = link.therapy(text)
        whole = time.perf_counter() - t
        link.close()
        return out, whole, len(texts), last["state"]
    finally:
        sim.close()
        shutil.rmtree(d, ignore_errors=True)


def main():
    tiny = "--tiny" in sys.argv
    days, n = (3, 5) if tiny else (28, 30)
    lib_path = os.path.join(ROOT, "out", "bench-therapy.lib")
    os.makedirs(os.path.dirname(lib_path), exist_ok=True)
    with open(lib_path, "wb") as fh:
        fh.write(build_library())
    actions, checks, base, pure, shell = mpy_cycle(lib_path, days)
    print("a %d-day cycle of 24 h bags (%d actions) under the MicroPython unix port:" % (days, actions))
    print("  baseline: its %d programmings through the checker alone   %7.1f ms" % (checks, base / 1e3))
    print("  pure state machine (each programming checked too)        %7.1f ms  ratio %.2f" % (pure / 1e3, pure / base))
    print("  pump's therapy shell (saved + logged, real files)      %7.1f ms  ratio %.2f" % (shell / 1e3, shell / base))
    print("  per action through the shell                              %7.2f ms" % (shell / 1e3 / actions))
    print("ratio pure state machine / checker alone %.2f" % (pure / base))
    out, whole, count, state = link_part(n, days)
    base_rt = out["INFO (baseline)"]
    print("over the link (pty, firmware under MicroPython, 115200 baud; median of %d):" % n)
    for name, v in out.items():
        print("  %-40s %7.1f ms  ratio %.2f" % (name, v * 1e3, v / base_rt))
    print("  the whole %d-day cycle (%d actions) through the link      %7.2f s (ends %s)" % (days, count, whole, state))


if __name__ == "__main__":
    main()
