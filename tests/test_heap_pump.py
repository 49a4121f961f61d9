"""Issue 11 item 5, "never out of memory, never silent": the mpy-cross-compiled
pump (the frozen set of firmware/manifest.py, as tests/test_manifest.py stages
it) runs its whole shell (firmware/pumpmain.main and its serve loop) under the
MicroPython unix port in a small heap (HEAP below; the goal is 192 KiB, an RP2040-class board): it boots, a
released 64 KiB library (a formulary, tests/libfixtures.py) is pushed and
installed over the protocol, a programming is checked, then fuzzed frames
arrive (tests/mpy/heap_pump.py). Every request is answered, the loop never
ends, and the same library still accepts the same programming afterwards.

`make test` runs 2,000 fuzzed frames; DRUGLIB_SLOW_TESTS=1 runs the goal's
10,000 (bench/bench_heap_pump.py runs 10,000 too).
"""
import os
import subprocess

import pytest

from conftest_signing import Kit, released
from host_tools.engines import micropython_exe
from libfixtures import formulary
from test_manifest import run_manifest
from test_mpy_cross import _mpy_cross

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = os.path.join(ROOT, "tests", "mpy", "heap_pump.py")
FUZZ = 10000 if os.environ.get("DRUGLIB_SLOW_TESTS") else 2000
# Not the goal's 192 KiB: on the 64-bit unix port the imported firmware
# modules alone take about 214 KiB of heap (frozen on a board, they stay in
# flash). 352 KiB is the smallest 8 KiB step this scenario passes in on the
# pip wheel (measured 2026-12-02, docs/board.md "Heap: figures"); the goal
# itself is tested on a 32-bit build with the firmware frozen, below.
HEAP = os.environ.get("DRUGLIB_HEAP_PUMP", "352K")


def stage_frozen(out):
    """firmware/**.mpy of the frozen set, compiled by mpy-cross (no source)."""
    _, frozen, _ = run_manifest()
    for rel in frozen:
        dest = os.path.join(out, "firmware", rel[:-3] + ".mpy")
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        proc = subprocess.run([_mpy_cross(), "-o", dest, os.path.join(ROOT, "firmware", rel)],
                              capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(proc.stderr)
    return out


def run_heap_pump(tmp, fuzz, heapsize=None, body_len=64 * 1024, seed=11, mode="strict", exe=None, frozen=False,
                  extra=()):
    """Run tests/mpy/heap_pump.py. `exe`: another MicroPython unix port binary
    (bench/bench_heap_pump.py --micropython, e.g. a 32-bit build, docs/board.md
    "Heap"); `frozen`: that binary has firmware/manifest.py frozen in, so the
    firmware comes from its `.frozen` (code and constants outside the heap, as
    on a board) and only the harness is staged."""
    kit = Kit(tmp, version=3)
    blob = released(formulary(kit.unsigned, 1, body_len, 3)[0])
    lib = os.path.join(str(tmp), "formulary.lib")
    with open(lib, "wb") as f:
        f.write(blob)
    board = os.path.join(str(tmp), "board")
    if frozen:
        os.makedirs(board)
    else:
        stage_frozen(board)
    # the harness compiled too, so that compiling it takes no heap
    proc = subprocess.run([_mpy_cross(), "-o", os.path.join(board, "heap_pump.mpy"), SCRIPT],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    env = dict(os.environ, MICROPYPATH=(".frozen:" + board) if frozen else board)
    proc = subprocess.run([exe or micropython_exe(), "-X", "heapsize=" + (heapsize or HEAP), "-m", "heap_pump", lib,
                           kit.trust_path, os.path.join(str(tmp), "pump"), str(fuzz), str(seed), mode] + list(extra),
                          capture_output=True, text=True, env=env, cwd=str(tmp), timeout=1800)
    return proc, len(blob)


def figures(proc):
    return dict(kv.split("=") for kv in proc.stdout.split("OK heap_pump", 1)[1].split("\n", 1)[0].split())


def assert_survived(proc, size):
    assert size >= 64 * 1024
    assert proc.returncode == 0 and "OK heap_pump" in proc.stdout, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    f = figures(proc)
    assert int(f["frames"]) >= FUZZ and int(f["out_of_memory"]) == 0, f
    # the live heap after a collection does not grow with the fuzz (nothing kept per request)
    assert int(f["live_max"]) - int(f["live_at_500"]) < 16 * 1024, f


def test_the_compiled_pump_installs_checks_and_survives_fuzz_in_a_small_heap(tmp_path):
    proc, size = run_heap_pump(tmp_path, FUZZ)
    assert_survived(proc, size)
    print("heap %s, %d-byte library, %d fuzzed frames: %s" % (HEAP, size, FUZZ, proc.stdout.strip()))


# Issue 11 item 5's goal itself, 192 KiB, on a 32-bit unix port with the
# firmware frozen in (docs/board.md "Heap" says how to build it; CI has no
# such binary, so without DRUGLIB_MICROPYTHON_FROZEN32 this test is skipped,
# with its reason printed).
FROZEN32 = os.environ.get("DRUGLIB_MICROPYTHON_FROZEN32", "")
GOAL_HEAP = "192K"


def _stale_sources(exe):
    built = os.path.getmtime(exe)
    _, frozen, _ = run_manifest()
    return [rel for rel in frozen if os.path.getmtime(os.path.join(ROOT, "firmware", rel)) > built]


@pytest.mark.skipif(not os.path.isfile(FROZEN32),
                    reason="DRUGLIB_MICROPYTHON_FROZEN32 names no binary: the 192 KiB goal on a 32-bit port with "
                           "frozen firmware is NOT tested (docs/board.md, \"Heap: figures\")")
def test_the_frozen_pump_on_a_32_bit_port_meets_the_192_kib_goal(tmp_path):
    # Arrange: the binary is a 32-bit port, and it froze today's firmware
    probe = subprocess.run([FROZEN32, "-c", "import sys; import firmware.pump; print(sys.maxsize)"],
                           capture_output=True, text=True, env=dict(os.environ, MICROPYPATH=".frozen"))
    assert probe.stdout.strip() == str(2 ** 31 - 1), "not a 32-bit port with the firmware frozen in: %s%s" % (
        probe.stdout, probe.stderr)
    stale = _stale_sources(FROZEN32)
    assert not stale, "%s was built before these firmware changes; rebuild it (docs/board.md): %s" % (FROZEN32, stale)
    # Act: boot, install 64 KiB, check, fuzz in the goal's heap
    proc, size = run_heap_pump(tmp_path, FUZZ, heapsize=GOAL_HEAP, exe=FROZEN32, frozen=True)
    # Assert: every request answered, never out of memory, the library still accepts
    assert_survived(proc, size)
    print("32-bit, frozen, heap %s, %d-byte library, %d fuzzed frames: %s" % (GOAL_HEAP, size, FUZZ,
                                                                           proc.stdout.strip()))


def test_out_of_memory_at_boot_is_the_documented_fail_safe_state(tmp_path):
    # Arrange: a heap that holds the modules and this harness but not the
    # booted pump: the smallest of these in which pumpmain.main is reached
    # (it prints FAULT or READY), so a kilobyte more or less of firmware
    # code does not move the test off its point.
    for kib in range(280, 344, 8):
        (tmp_path / str(kib)).mkdir()
        proc, _ = run_heap_pump(tmp_path / str(kib), 0, heapsize="%dK" % kib)
        if "FAULT" in proc.stderr or "READY" in proc.stderr:
            break
    # Assert: one FAULT line naming it, exit 3 (no READY, nothing served), never a traceback out of main
    assert "FAULT PUMP_ERROR: out of memory at boot" in proc.stderr, proc.stdout + proc.stderr
    assert "READY" not in proc.stderr


KEY_HEAP = """
import gc
from firmware.release import ed25519
raw = bytes([0x58]) + bytes([0x66] * 31)  # the base point B, RFC 8032 section 5.1: a valid key
keys = []
gc.collect()
a = gc.mem_alloc()
for _ in range(16):
    keys.append(ed25519.PublicKey(raw))
gc.collect()
print(gc.mem_alloc() - a)
"""


def test_a_full_trust_store_keeps_little_heap_for_its_keys():
    # Issue 11 item 5 (docs/board.md "Heap"): a decoded key keeps -A, not the
    # table of its odd multiples (32 big integers, 3.5 KiB each on this 64-bit
    # port, 2.4 KiB on a 32-bit one, for the pump's whole life): the table is
    # built per verification. Arrange: MAX_KEYS (16) keys decoded as at boot.
    proc = subprocess.run([micropython_exe(), "-c", KEY_HEAP], capture_output=True, text=True,
                          env=dict(os.environ, MICROPYPATH=ROOT), cwd=ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # Assert: 16 keys keep well under 1 KiB each (measured 246 bytes each, 2026-12-02)
    assert int(proc.stdout) < 16 * 512, proc.stdout


def test_the_breakdown_names_every_module_the_pump_loads_and_each_phase(tmp_path):
    # bench/bench_heap_pump.py --breakdown (docs/board.md "Heap: figures"), briefly:
    # every module of the pump's import closure measured, the boot steps and the four phases
    import sys
    sys.path.insert(0, os.path.join(ROOT, "bench"))
    from bench_heap_pump import pump_modules
    mods = pump_modules()
    assert "firmware.release.ed25519_table" in mods and mods[-1] == "firmware.pumpmain"
    assert mods.index("firmware.release.ed25519") > mods.index("firmware.release.ed25519_curve")
    proc, _ = run_heap_pump(tmp_path, 50, heapsize="8M", mode="breakdown", extra=mods)
    assert proc.returncode == 0 and "OK heap_pump" in proc.stdout, proc.stdout + proc.stderr
    lines = [line.split() for line in proc.stdout.splitlines()]
    assert [w[1] for w in lines if w[0] == "MODULE"] == mods
    assert all(int(w[2]) > 0 for w in lines if w[0] == "MODULE")
    assert [w[1] for w in lines if w[0] == "STEP"] == ["main", "trust.load", "Pump()", "pump.boot()", "PumpServer()"]
    assert [w[1] for w in lines if w[0] == "PEAK"] == ["boot", "install", "check", "fuzz"]
    f = figures(proc)
    assert int(f["frames"]) > 50 and f["out_of_memory"] == "0", f  # the push, the check, the 50 fuzzed
