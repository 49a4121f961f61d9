# The power-cut enumeration of tests/mpy/powercut.py under the real
# MicroPython unix port (issue 4: "run it under CPython and MicroPython").
# Same library size as the CPython test (libsample.DEFAULT_BODY_LEN).
import powercut
import libsample
from firmware.store.slots import PumpStore

OLD_V, NEW_V = 4, 5
old = libsample.make_library(OLD_V)
new = libsample.make_library(NEW_V)

res = powercut.run(old, new, OLD_V, NEW_V)
print("power-cut points tried: %d during install, %d during boot repair, %d total"
      % (res.first, res.second, res.total()))
assert res.first > 20, res.first
assert res.second > res.first, res.second
assert not res.violations, res.violations[:3]


class InPlace(PumpStore):
    """Test of the test: overwrite the active slot in place."""

    def _target_slot(self):
        return self.commit.slot if self.commit is not None else 0


bad = powercut.run(old, new, OLD_V, NEW_V, InPlace, second=False, stop_at=1)
assert bad.violations, "the enumeration failed to catch an in-place overwrite"
print("in-place variant caught:", bad.violations[0][0], "->", bad.violations[0][2][:60])
# issue 11 item 1: the END of a push renames the staging file onto the slot
res = powercut.run(old, new, OLD_V, NEW_V, staged=True)
print("power-cut points tried (push END): %d during install, %d during boot repair" % (res.first, res.second))
assert res.first >= 8, res.first
assert not res.violations, res.violations[:3]
bad = powercut.run(old, new, OLD_V, NEW_V, InPlace, second=False, stop_at=1, staged=True)
assert bad.violations, "the enumeration failed to catch a push renamed onto the active slot"
print("OK mpy_storage_powercut")
