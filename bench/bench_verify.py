"""Release verification time (both signatures of a library) on the MicroPython
unix port vs CPython, same firmware code, same library, printed side by side.

    .venv/bin/python bench/bench_verify.py [--reps N] [--json] [--tiny]

`verify_release` is firmware.release.verify.verify_blob on a released library:
framing, body SHA-256, both Ed25519 signatures (shared final inversion) and
the version check. `trust_load` is parsing the trust store, which decodes
every key once (the pump does it once per boot). Issue 3 targets <= 25 ms
for verify_release under the unix port. Median, min and max of N runs.
`--tiny` (run by `make test`, tests/test_bench_tiny.py) is one run: it proves
the benchmark runs, its figures mean nothing.
"""
import json
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests"))
sys.path.insert(0, ROOT)

from conftest_signing import released, trust_text, unsigned_library  # noqa: E402
from mpyrun import micropython_exe  # noqa: E402

sys.path.insert(0, os.path.join(ROOT, "bench"))
import verify_mpy  # noqa: E402

TARGET_US = 25000


def run_micropython(trust_path, lib_path, reps):
    env = dict(os.environ)
    env["MICROPYPATH"] = ".frozen:" + ROOT
    proc = subprocess.run([micropython_exe(), "-X", "heapsize=8M", os.path.join(ROOT, "bench", "verify_mpy.py"),
                           trust_path, lib_path, str(reps)], capture_output=True, text=True, env=env, cwd=ROOT,
                          timeout=600)
    if proc.returncode != 0:
        raise RuntimeError("micropython failed:\n" + proc.stdout + proc.stderr)
    rows = {}
    for line in proc.stdout.split("\n"):
        if line.strip():
            name, med, lo, hi = line.split()
            rows[name] = (int(med), int(lo), int(hi))
    return rows


def main(argv):
    reps = int(argv[argv.index("--reps") + 1]) if "--reps" in argv else 21
    if "--tiny" in argv:
        reps = 1
    blob = released(unsigned_library())
    with tempfile.TemporaryDirectory() as tmp:
        trust_path, lib_path = os.path.join(tmp, "trust.json"), os.path.join(tmp, "lib.bin")
        with open(trust_path, "w") as f:
            f.write(trust_text())
        with open(lib_path, "wb") as f:
            f.write(blob)
        cpy = dict(verify_mpy.measure(trust_path, lib_path, reps))
        mpy = run_micropython(trust_path, lib_path, reps)
    if "--json" in argv:
        print(json.dumps({"library_bytes": len(blob), "reps": reps, "target_us": TARGET_US,
                          "cpython_us": cpy, "micropython_us": mpy}))
        return 0
    print("release verification, %d-byte library, 2 signatures, %d runs (median [min-max], microseconds)"
          % (len(blob), reps))
    print("%-16s %24s %24s %8s" % ("", "MicroPython unix port", "CPython", "ratio"))
    for name in ("verify_release", "trust_load"):
        m, c = mpy[name], cpy[name]
        print("%-16s %8d [%6d-%6d] %8d [%6d-%6d] %7.1fx" % (name, m[0], m[1], m[2], c[0], c[1], c[2],
                                                              m[0] / max(1, c[0])))
    print("ratio MicroPython / CPython verify_release %.2f" % (mpy["verify_release"][0] / max(1, cpy["verify_release"][0])))
    ok = mpy["verify_release"][0] <= TARGET_US
    print("target: verify_release <= %d us under MicroPython: %s" % (TARGET_US, "met" if ok else "NOT met"))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
