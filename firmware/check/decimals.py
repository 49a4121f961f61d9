# Exact decimal numbers from text, without floats (DESIGN.md, principle 1).
#
# A request quantity is kept as an exact pair (mantissa, exp10) meaning
# mantissa / 10**exp10, with exp10 >= 0. Nothing is rounded: the checker
# compares quantities against the library's integer limits by
# cross-multiplying, so 0.6 mL/h is exactly 6/10 and 213.8889 mcg exactly
# 2138889/10000. Limits on length keep the integers small enough for a
# microcontroller's long-int support.

from firmware.jsontext import quote

MAX_TEXT = 40      # characters of one number
MAX_EXP10 = 24     # at most 24 decimal places after applying an exponent


class DecimalTextError(Exception):
    def __init__(self, message):
        super().__init__(message)
        self.message = message


def _digits(s):
    if not s:
        return False
    for ch in s:
        if ch < "0" or ch > "9":
            return False
    return True


def parse(text):
    """'-12.50e1' -> (-1250, 1). Raises DecimalTextError for anything else.

    The usual forms, "9000" and "31.5", are read by C-level bytes methods
    (issue 11 item 4: the CHECK path within 1 ms; the character loops took
    about 20 us a number on MicroPython); every other text, and every error,
    goes through _parse, the full grammar. Both give the same pair."""
    q = fast(text) if isinstance(text, str) else None
    return q if q is not None else _parse(text)


def fast(text):
    """parse(text) for the usual forms of a str, "9000" and "31.5"; None for
    any other text (then _parse reads it, or says why not). Its own small
    function: the request reader calls it for each number (issue 11 item 4)."""
    if not 0 < len(text) <= MAX_TEXT:
        return None
    try:
        b = text.encode()
    except UnicodeError:  # CPython: a lone surrogate
        return None
    # bytes.isdigit is ASCII digits only on both engines (str.isdigit is
    # not: CPython takes "\u0661" and "\u00b2" as digits)
    if len(b) != len(text):
        return None
    if b.isdigit():
        return (int(b), 0) if len(b) == 1 or b[0] != 0x30 else None
    whole, dot, frac = b.partition(b".")
    if not (dot and whole.isdigit() and frac.isdigit() and len(frac) <= MAX_EXP10
            and (len(whole) == 1 or whole[0] != 0x30)):
        return None
    mant = int(whole + frac)
    exp10 = len(frac)
    while exp10 > 0 and mant % 10 == 0:
        mant //= 10
        exp10 -= 1
    return (mant, exp10)


def _parse(text):
    """parse() through the whole grammar, with its messages.

    Grammar: JSON's number grammar (RFC 8259 section 6), for JSON numbers and
    decimal strings alike: [-] (0 | [1-9] digits) [. digits] [(e|E) [+|-]
    digits]. No leading zeros ("010"), no spaces, no 'inf'/'nan', no hex, no
    '+' sign in front, no '.5' or '5.'.
    """
    if not isinstance(text, str):
        raise DecimalTextError("not a number")
    if len(text) == 0 or len(text) > MAX_TEXT:
        raise DecimalTextError("number text empty or longer than %d characters" % MAX_TEXT)
    for ch in text:
        if ch not in "0123456789+-.eE":
            raise DecimalTextError("%s is not a number" % quote(text))
    s = text
    neg = False
    if s[0] == "-":
        neg = True
        s = s[1:]
    exp = 0
    cut = -1
    for i in range(len(s)):
        if s[i] == "e" or s[i] == "E":
            cut = i
            break
    if cut >= 0:
        e = s[cut + 1:]
        s = s[:cut]
        esign = 1
        if e and (e[0] == "+" or e[0] == "-"):
            esign = -1 if e[0] == "-" else 1
            e = e[1:]
        if not _digits(s.replace(".", "", 1)):
            raise DecimalTextError("%s is not a number" % quote(text))
        if not _digits(e) or len(e) > 3:
            raise DecimalTextError("malformed exponent in %s" % quote(text))
        exp = esign * int(e)
    if "." in s:
        whole, frac = s.split(".", 1)
        if not _digits(whole) or not _digits(frac):
            raise DecimalTextError("malformed number %s" % quote(text))
    else:
        whole, frac = s, ""
        if not _digits(whole):
            raise DecimalTextError("malformed number %s" % quote(text))
    if len(whole) > 1 and whole[0] == "0":
        raise DecimalTextError("number %s has a leading zero" % quote(text))
    mant = int(whole + frac)
    exp10 = len(frac) - exp
    if exp10 < 0:
        if -exp10 > MAX_EXP10:
            raise DecimalTextError("number %s too large" % quote(text))
        mant = mant * 10 ** (-exp10)
        exp10 = 0
    if exp10 > MAX_EXP10:
        # drop trailing zeros before giving up: 1.000...0 is fine
        while exp10 > MAX_EXP10 and mant % 10 == 0:
            mant //= 10
            exp10 -= 1
        if exp10 > MAX_EXP10:
            raise DecimalTextError("number %s has more than %d decimal places" % (quote(text), MAX_EXP10))
    while exp10 > 0 and mant % 10 == 0:
        mant //= 10
        exp10 -= 1
    return (-mant if neg else mant, exp10)


def as_int(q):
    """The integer value of an exact decimal, or None if it has a fraction."""
    m, e = q
    if e == 0:
        return m
    return None


def cmp_scaled(q, scale, limit):
    """Compare q * scale with the integer `limit`: -1, 0 or 1.

    Example: cmp_scaled(rate_ml_h, 1000, rate_ul_h) compares a requested rate in
    mL/h with a library rate in uL/h, exactly.
    """
    m, e = q
    a = m * scale
    b = limit * 10 ** e
    return (a > b) - (a < b)


def to_text(q):
    """Exact decimal back to text (for messages): (6, 1) -> '0.6'."""
    m, e = q
    sign = "-" if m < 0 else ""
    m = -m if m < 0 else m
    if e == 0:
        return sign + str(m)
    s = str(m)
    if len(s) <= e:
        s = "0" * (e - len(s) + 1) + s
    return sign + s[:-e] + "." + s[-e:]


def fixed_text(num, den, places):
    """num/den rounded half-up to `places` decimals, as text (for messages only)."""
    if den < 0:
        num, den = -num, -den
    sign = ""
    if num < 0:
        sign, num = "-", -num
    scaled = (num * 10 ** places * 2 + den) // (2 * den)
    return sign + to_text((scaled, places)) if places else sign + str(scaled)


def milli_text(n):
    """An integer in thousandths as short text: 600 -> '0.6', 28000 -> '28'."""
    t = to_text((n, 3))
    if "." in t:
        t = t.rstrip("0").rstrip(".")
    return t
