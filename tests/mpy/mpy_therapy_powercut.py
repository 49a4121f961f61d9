# The therapy power-cut enumeration of tests/mpy/therapy_powercut.py under the
# real MicroPython unix port (issue 9).
import therapy_powercut as tp

res = tp.run(tp.library())
print("therapy power-cut points: %d during actions, %d during boot repair" % (res.first, res.second))
assert res.first >= 30, res.first
assert res.second > res.first, res.second
assert not res.violations, res.violations[:3]
print("OK mpy_therapy_powercut")
