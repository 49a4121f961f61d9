"""Exhaustive power-cut enumeration of a library install (issue 4).

Story: the pump runs library v4; v5 is pushed; power is cut at every write
boundary, at torn points inside every write and at every rename/remove/sync of
the install; then again at every cut point of the boot that repairs it. After
the final reboot the pump must run v4 or v5 byte for byte, its anti-rollback
counter must not have gone down, and its event log must verify.

The same enumeration (tests/mpy/powercut.py) runs under MicroPython in
tests/mpy/mpy_storage_powercut.py.
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "mpy"))

import libsample  # noqa: E402
import powercut  # noqa: E402
from firmware.store.slots import PumpStore  # noqa: E402

OLD_V, NEW_V = 4, 5


class InPlacePumpStore(PumpStore):
    """Deliberately broken: installs by overwriting the ACTIVE slot in place."""

    def _target_slot(self):
        return self.commit.slot if self.commit is not None else 0


def test_every_power_cut_during_install_and_repair_leaves_old_or_new_library():
    # the real blinatumomab library (about 600 bytes: two 512-byte chunks)
    old, new = libsample.make_library(OLD_V), libsample.make_library(NEW_V)
    res = powercut.run(old, new, OLD_V, NEW_V)
    print("\npower-cut points tried: %d during install, %d during boot repair, %d total"
          % (res.first, res.second, res.total()))
    assert res.first >= 20
    assert res.second > 4 * res.first
    assert res.violations == []


def test_every_power_cut_with_a_6_kib_library():
    old, new = libsample.make_library(OLD_V, 6 * 1024), libsample.make_library(NEW_V, 6 * 1024)
    res = powercut.run(old, new, OLD_V, NEW_V)
    print("\npower-cut points tried (6 KiB library): %d during install, %d during boot repair, %d total"
          % (res.first, res.second, res.total()))
    assert res.first >= 60
    assert res.second > 4 * res.first
    assert res.violations == []


def test_every_power_cut_during_the_end_of_a_push_leaves_old_or_new_library():
    # issue 11 item 1: END renames the staging file onto the inactive slot
    # instead of copying it; every cut of that install and of the repairing
    # boot still leaves v4 or v5 byte for byte
    old, new = libsample.make_library(OLD_V, 6 * 1024), libsample.make_library(NEW_V, 6 * 1024)
    res = powercut.run(old, new, OLD_V, NEW_V, staged=True)
    print("\npower-cut points tried (push END, 6 KiB): %d during install, %d during boot repair"
          % (res.first, res.second))
    assert res.first >= 8
    assert res.second > 4 * res.first
    assert res.violations == []


def test_the_staged_enumeration_catches_an_in_place_overwrite():
    old, new = libsample.make_library(OLD_V), libsample.make_library(NEW_V)
    bad = powercut.run(old, new, OLD_V, NEW_V, InPlacePumpStore, second=False, stop_at=1, staged=True)
    assert bad.violations, "renaming the push onto the ACTIVE slot must be caught"


def test_power_cuts_with_a_large_library_and_small_chunks():
    # 32 KiB body: 64 chunk writes, each with three torn variants.
    old, new = libsample.make_library(OLD_V, 32 * 1024), libsample.make_library(NEW_V, 32 * 1024)
    res = powercut.run(old, new, OLD_V, NEW_V, second=False)
    print("\npower-cut points tried (32 KiB library): %d" % res.first)
    assert res.first > 250
    assert res.violations == []


def test_first_install_on_an_empty_pump_is_all_or_nothing():
    # Before any library: a cut leaves either no library (refusing) or v1.
    from firmware.store.faultstorage import Medium, PowerCut, cut_points

    lib = libsample.make_library(1)
    trace = powercut.trace_of(Medium(), lambda ps: ps.install(lib))
    outcomes = set()
    for cut in cut_points(trace):
        m = Medium()
        st, ps = powercut.booted(m, PumpStore)
        st.arm(cut)
        try:
            ps.install(lib)
        except PowerCut:
            pass
        _st, ps2 = powercut.open_store(m)
        rep = ps2.boot()
        if ps2.active is None:
            assert rep["code"] == "NO_LIBRARY"
            outcomes.add(0)
        else:
            assert ps2.library_bytes() == lib
            outcomes.add(1)
        ps2.log.verify()
    assert outcomes == {0, 1}


def test_the_enumeration_catches_an_in_place_overwrite():
    # Test of the test: the broken variant must be caught.
    old, new = libsample.make_library(OLD_V), libsample.make_library(NEW_V)
    res = powercut.run(old, new, OLD_V, NEW_V, InPlacePumpStore, second=False)
    print("\nin-place variant: %d violations in %d cut points" % (len(res.violations), res.first))
    assert res.violations, "the power-cut enumeration did not notice an in-place overwrite"
    assert any("no valid library" in v[2] for v in res.violations)
