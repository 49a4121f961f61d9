"""Reading rule files: TOML text -> data, key path -> line, quantity text -> integers.

tomllib gives no line numbers for keys, so `KeyLines` scans the (already
valid) TOML text once and maps every key path to the line it is written on.
Quantities are strings "<decimal> <unit>" turned into integers in the target
unit by exact integer arithmetic (never through float).
"""
import decimal
import re
import tomllib

from host_tools.errors import RulesError


def format_key(path):
    """('indication', 0, 'regimen', 3, 'dose') -> 'indication[0].regimen[3].dose'."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += "[%d]" % part
        else:
            out += ("." if out else "") + part
    return out


def read_toml(path):
    """Parse one rules file; returns (data, KeyLines). Syntax errors -> RulesError."""
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as e:
        raise RulesError(path, None, None, "cannot read: %s" % (e.strerror or e))
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        raise RulesError(path, None, line, "not UTF-8 text")
    try:
        # parse_float keeps every non-integer exactly (no binary float ever exists).
        data = tomllib.loads(text, parse_float=decimal.Decimal)
    except tomllib.TOMLDecodeError as e:
        m = re.search(r"\(at line (\d+), column \d+\)", str(e))
        line = int(m.group(1)) if m else None
        msg = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(e))
        raise RulesError(path, None, line, "TOML syntax error: %s" % msg)
    return data, KeyLines(text)


_BARE = re.compile(r"[A-Za-z0-9_-]+")


class KeyLines:
    """Line numbers of key paths in a TOML text that tomllib has accepted."""

    def __init__(self, text):
        self.text = text
        self.lines = {}
        self._scan()

    def line(self, path):
        """Line of `path`; for a key that is absent, the line of its table."""
        path = tuple(path)
        while True:
            if path in self.lines:
                return self.lines[path]
            # an implicit table (e.g. [parameter], made by [parameter.x]): its first key
            n = len(path)
            inside = [ln for p, ln in self.lines.items() if p[:n] == path]
            if inside:
                return min(inside)
            if not path:
                return 1
            path = path[:-1]

    # -- scanner ----------------------------------------------------------
    def _scan(self):
        t = self.text
        n = len(t)
        i = 0
        line = 1
        arrays = {}
        current = ()
        while i < n:
            c = t[i]
            if c == "\n":
                line += 1
                i += 1
            elif c in " \t\r":
                i += 1
            elif c == "#":
                i = self._eol(i)
            elif c == "[":
                double = t.startswith("[[", i)
                parts, j = self._key(i + (2 if double else 1))
                concrete = []
                for k, part in enumerate(parts):
                    concrete.append(part)
                    last = k == len(parts) - 1
                    if last and double:
                        idx = arrays.get(tuple(concrete), 0)
                        arrays[tuple(concrete)] = idx + 1
                        concrete.append(idx)
                    elif tuple(concrete) in arrays:
                        concrete.append(arrays[tuple(concrete)] - 1)
                current = tuple(concrete)
                self.lines.setdefault(current, line)
                i = self._eol(j)
            else:
                parts, j = self._key(i)
                path = current + tuple(parts)
                self.lines.setdefault(path, line)
                j = t.index("=", j) + 1
                end = self._value(j)
                line += t.count("\n", i, end)
                i = end

    def _eol(self, i):
        j = self.text.find("\n", i)
        return len(self.text) if j < 0 else j

    def _key(self, i):
        t = self.text
        parts = []
        while True:
            while t[i] in " \t":
                i += 1
            if t[i] in "\"'":
                j = self._string(i)
                parts.append(tomllib.loads("k = " + t[i:j])["k"])
                i = j
            else:
                m = _BARE.match(t, i)
                parts.append(m.group(0))
                i = m.end()
            while i < len(t) and t[i] in " \t":
                i += 1
            if i < len(t) and t[i] == ".":
                i += 1
                continue
            return parts, i

    def _string(self, i):
        """Index just past the string starting at i (any of the four kinds)."""
        t = self.text
        q = t[i]
        if t.startswith(q * 3, i):
            j = i + 3
            while True:
                k = t.index(q * 3, j)
                if q == '"' and _escaped(t, k):
                    j = k + 1
                    continue
                # a closing run may be up to 5 quotes long ("""" is a quote then the end)
                while t.startswith(q, k + 3):
                    k += 1
                return k + 3
        j = i + 1
        while True:
            k = t.index(q, j)
            if q == '"' and _escaped(t, k):
                j = k + 1
                continue
            return k + 1

    def _value(self, i):
        """Index of the end of the value starting at i (the newline after it)."""
        t = self.text
        depth = 0
        while i < len(t):
            c = t[i]
            if c in "\"'":
                i = self._string(i)
                continue
            if c == "#":
                i = self._eol(i)
                continue
            if c in "[{":
                depth += 1
            elif c in "]}":
                depth -= 1
            elif c == "\n" and depth == 0:
                return i
            i += 1
        return i


def _escaped(t, k):
    backslashes = 0
    while k - 1 - backslashes >= 0 and t[k - 1 - backslashes] == "\\":
        backslashes += 1
    return backslashes % 2 == 1


# --- quantities ------------------------------------------------------------
# kind -> {unit as written: factor to the integer target unit}. A value that
# is not a whole number of target units is an error, never rounded.
KINDS = {
    "weight_g": {"kg": 1000},
    "bsa_cm2": {"m2": 10000},
    "age_days": {"days": 1},
    "days": {"days": 1},
    "duration_h": {"h": 1, "days": 24},
    "rate_ul_h": {"mL/h": 1000},
    "volume_ul": {"mL": 1000},
    "fixed_ng_day": {"mcg/day": 1000},
    "bsa_ng_m2_day": {"mcg/m2/day": 1000},
    "dose_ng_day": {"mcg/day": 1000, "mcg/m2/day": 1000},  # either; the linter checks the band
    "ppm": {"%": 10000},
    "height_mm": {"cm": 10},
    "bsa_coefficient_cm2": {"m2/kg^(2/3)": 10000},  # k of k x W^(2/3): cm2 per kg^(2/3)
}

RESOLUTION = {
    "weight_g": "1 g", "bsa_cm2": "1 cm2", "age_days": "1 day", "days": "1 day",
    "duration_h": "1 h", "rate_ul_h": "1 uL/h", "volume_ul": "1 uL",
    "fixed_ng_day": "1 ng/day", "bsa_ng_m2_day": "1 ng/m2/day", "dose_ng_day": "1 ng/day",
    "ppm": "1 ppm (0.0001 %)",
    "height_mm": "1 mm", "bsa_coefficient_cm2": "1 cm2/kg^(2/3)",
}

_DECIMAL = re.compile(r"[+-]?[0-9]+(\.[0-9]+)?\Z")


class Quantity(tuple):
    """(value in the target unit as int, unit as written, text as written)."""

    __slots__ = ()

    def __new__(cls, value, unit, text):
        return tuple.__new__(cls, (value, unit, text))

    value = property(lambda self: self[0])
    unit = property(lambda self: self[1])
    text = property(lambda self: self[2])

    def __repr__(self):
        return "Quantity(%r)" % self.text


def parse_decimal_scaled(number, factor):
    """'0.6', 1000 -> 600 exactly; None if the result is not a whole number."""
    if not _DECIMAL.match(number):
        raise ValueError("malformed decimal %r" % number)
    sign = -1 if number.startswith("-") else 1
    digits = number.lstrip("+-")
    whole, _, frac = digits.partition(".")
    scaled = int(whole + frac) * factor
    den = 10 ** len(frac)
    if scaled % den:
        return None
    return sign * (scaled // den)


def parse_quantity(text, kind):
    """Returns Quantity or raises ValueError with a message for the reviewer."""
    units = KINDS[kind]
    example = "%s %s" % ("28" if "mcg" in next(iter(units)) else "1", next(iter(units)))
    if not isinstance(text, str):
        raise ValueError('expected a quantity string "<decimal> <unit>" (e.g. "%s"), got %s %r'
                         % (example, _typename(text), text))
    parts = text.split()
    if len(parts) != 2 or " ".join(parts) != text:
        raise ValueError('expected "<decimal> <unit>" with one space (e.g. "%s"), got %r' % (example, text))
    number, unit = parts
    if not _DECIMAL.match(number):
        raise ValueError("malformed decimal %r in %r (write digits with an optional '.' part, no exponent)"
                         % (number, text))
    if unit not in units:
        raise ValueError("bad unit %r in %r (allowed here: %s)" % (unit, text, ", ".join(sorted(units))))
    value = parse_decimal_scaled(number, units[unit])
    if value is None:
        raise ValueError("%r is not exact at the library's resolution of %s: it would have to be rounded"
                         % (text, RESOLUTION[kind]))
    return Quantity(value, unit, text)


def _typename(v):
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, int):
        return "integer"
    if isinstance(v, decimal.Decimal):
        return "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, list):
        return "array"
    if isinstance(v, dict):
        return "table"
    return type(v).__name__


typename = _typename
