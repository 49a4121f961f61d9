# Device side of the blinatumomab drug library: MicroPython-compatible,
# standard library only (DESIGN.md, principle 6).
