# The firmware's one strict JSON reader (RFC 8259): programming requests,
# therapy actions and the trust store (firmware/release/trust.py) all read
# with it. It lives in the base layer so every stage may use it (issue 10
# item 2: it was in check/, which release/ may not import, so the trust store
# read with the json module, whose duplicate keys keep the LAST value on both
# CPython and MicroPython: a reviewer saw the first "keys" list, the pump
# trusted the second).
#
# Why not the json module: MicroPython's json turns every number with a
# fraction into a float, and the checker must never see a float (DESIGN.md,
# principle 1). Here numbers stay as their literal text (class Number), and
# firmware/check/decimals.py turns them into exact decimals. Duplicate keys are
# an error (RFC 8259 section 4 leaves them undefined; on a pump, ambiguity
# must be refused), as are nesting deeper than MAX_DEPTH and text longer than
# MAX_TEXT.

MAX_TEXT = 65536
MAX_DEPTH = 16


class JsonTextError(Exception):
    def __init__(self, message, pos):
        super().__init__(message)
        self.message = "%s at character %d" % (message, pos + 1)


class Number:
    """A JSON number, kept as the exact text that was written."""

    def __init__(self, text):
        self.text = text

    def __eq__(self, other):
        return isinstance(other, Number) and other.text == self.text

    def __repr__(self):
        return "Number(%r)" % self.text


_WS = " \t\n\r"
_ESC = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}
_NUMCH = "0123456789+-.eE"


def loads(text):
    if isinstance(text, (bytes, bytearray)):
        text = decode_utf8(text)
    if len(text) > MAX_TEXT:
        raise JsonTextError("request longer than %d characters" % MAX_TEXT, MAX_TEXT)
    value, pos = _value(text, _skip(text, 0), 0)
    pos = _skip(text, pos)
    if pos != len(text):
        raise JsonTextError("unexpected text after the JSON value", pos)
    return value


def _skip(s, i):
    n = len(s)
    while i < n and s[i] in _WS:
        i += 1
    return i


def _value(s, i, depth):
    if i >= len(s):
        raise JsonTextError("unexpected end of text", i)
    c = s[i]
    if c == "{":
        return _object(s, i, depth + 1)
    if c == "[":
        return _array(s, i, depth + 1)
    if c == '"':
        return _string(s, i)
    if c == "-" or ("0" <= c <= "9"):
        return _number(s, i)
    for word, val in (("true", True), ("false", False), ("null", None)):
        if s.startswith(word, i):
            return val, i + len(word)
    raise JsonTextError("unexpected character %s" % quote(c), i)


def _object(s, i, depth):
    if depth > MAX_DEPTH:
        raise JsonTextError("nesting deeper than %d" % MAX_DEPTH, i)
    out = {}
    i = _skip(s, i + 1)
    if i < len(s) and s[i] == "}":
        return out, i + 1
    while True:
        if i >= len(s) or s[i] != '"':
            raise JsonTextError("expected a quoted key", i)
        key, i = _string(s, i)
        if key in out:
            raise JsonTextError("duplicate key %s" % quote(key), i)
        i = _skip(s, i)
        if i >= len(s) or s[i] != ":":
            raise JsonTextError("expected ':'", i)
        val, i = _value(s, _skip(s, i + 1), depth)
        out[key] = val
        i = _skip(s, i)
        if i < len(s) and s[i] == ",":
            i = _skip(s, i + 1)
            continue
        if i < len(s) and s[i] == "}":
            return out, i + 1
        raise JsonTextError("expected ',' or '}'", i)


def _array(s, i, depth):
    if depth > MAX_DEPTH:
        raise JsonTextError("nesting deeper than %d" % MAX_DEPTH, i)
    out = []
    i = _skip(s, i + 1)
    if i < len(s) and s[i] == "]":
        return out, i + 1
    while True:
        val, i = _value(s, i, depth)
        out.append(val)
        i = _skip(s, i)
        if i < len(s) and s[i] == ",":
            i = _skip(s, i + 1)
            continue
        if i < len(s) and s[i] == "]":
            return out, i + 1
        raise JsonTextError("expected ',' or ']'", i)


def _printable_ascii(t):
    """Every character in U+0020..U+007E (t not empty). Over the UTF-8 bytes:
    min/max of bytes run in C without making a string per character."""
    try:
        b = t.encode()
    except Exception:  # CPython: a lone surrogate cannot be encoded
        return False
    return len(b) == len(t) and min(b) >= 0x20 and max(b) <= 0x7E


def _string(s, i):
    # Fast path (issue 11 item 4: the CHECK path within 1 ms): a string of
    # printable ASCII without escapes is its own text; min/max run in C on
    # both engines. Anything else takes the character loop below.
    j = s.find('"', i + 1)
    if j > i + 1:
        t = s[i + 1:j]
        if "\\" not in t and _printable_ascii(t):
            return t, j + 1
    elif j == i + 1:
        return "", j + 1
    i += 1
    parts = []
    start = i
    n = len(s)
    while True:
        if i >= n:
            raise JsonTextError("unterminated string", start - 1)
        c = s[i]
        if c == '"':
            parts.append(s[start:i])
            return "".join(parts), i + 1
        if c == "\\":
            parts.append(s[start:i])
            if i + 1 >= n:
                raise JsonTextError("unterminated escape", i)
            e = s[i + 1]
            if e == "u":
                cp = _hex4(s, i)
                i += 6
                if 0xDC00 <= cp <= 0xDFFF:
                    raise JsonTextError("lone low surrogate \\u%04X" % cp, i - 6)
                if 0xD800 <= cp <= 0xDBFF:
                    # RFC 8259 section 7: a character outside the Basic
                    # Multilingual Plane is a UTF-16 surrogate pair of escapes
                    if s[i:i + 2] != "\\u":
                        raise JsonTextError("lone high surrogate \\u%04X" % cp, i - 6)
                    lo = _hex4(s, i)
                    if not 0xDC00 <= lo <= 0xDFFF:
                        raise JsonTextError("lone high surrogate \\u%04X" % cp, i - 6)
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00)
                    i += 6
                parts.append(chr(cp))
            elif e in _ESC:
                parts.append(_ESC[e])
                i += 2
            else:
                raise JsonTextError("bad escape %s" % quote("\\" + e), i)
            start = i
            continue
        o = ord(c)
        if o < 0x20:
            raise JsonTextError("control character in string", i)
        if 0xD800 <= o <= 0xDFFF:
            raise JsonTextError("lone surrogate in string", i)
        i += 1


def _hex4(s, i):
    """The code unit of the escape \\uXXXX at s[i]."""
    h = s[i + 2:i + 6]
    if len(h) != 4 or not all(ch in "0123456789abcdefABCDEF" for ch in h):
        raise JsonTextError("bad \\u escape", i)
    return int(h, 16)


def _number(s, i):
    j = i
    n = len(s)
    while j < n and s[j] in _NUMCH:
        j += 1
    text = s[i:j]
    # RFC 8259 section 6: no leading zeros, digits after '.', digits in exponent
    body = text[1:] if text.startswith("-") else text
    if not body or not ("0" <= body[0] <= "9"):
        raise JsonTextError("malformed number", i)
    if len(body) > 1 and body[0] == "0" and "0" <= body[1] <= "9":
        raise JsonTextError("number with a leading zero", i)
    return Number(text), j


def dumps(value):
    """Deterministic JSON text (sorted keys are NOT used: callers pass lists of
    pairs via OrderedObject to fix the key order identically on every engine)."""
    if isinstance(value, OrderedObject):
        return "{" + ", ".join(_qs(k) + ": " + dumps(v) for k, v in value.pairs) + "}"
    if isinstance(value, dict):
        return "{" + ", ".join(_qs(k) + ": " + dumps(value[k]) for k in sorted(value)) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(dumps(v) for v in value) + "]"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is None:
        return "null"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Number):
        return value.text
    if isinstance(value, str):
        return _qs(value)
    raise TypeError("cannot serialise %r" % (value,))


class OrderedObject:
    def __init__(self, pairs):
        self.pairs = pairs


def _qs(s):
    # fast path (issue 11 item 4): printable ASCII with nothing to escape
    if not s:
        return '""'
    if '"' not in s and "\\" not in s and _printable_ascii(s):
        return '"' + s + '"'
    out = ['"']
    for c in s:
        if c == '"':
            out.append('\\"')
        elif c == "\\":
            out.append("\\\\")
        elif c == "\n":
            out.append("\\n")
        elif c == "\r":
            out.append("\\r")
        elif c == "\t":
            out.append("\\t")
        elif ord(c) < 0x20 or ord(c) > 0x7E:
            o = ord(c)
            if o > 0xFFFF:
                o -= 0x10000
                out.append("\\u%04x\\u%04x" % (0xD800 + (o >> 10), 0xDC00 + (o & 0x3FF)))
            else:
                out.append("\\u%04x" % o)
        else:
            out.append(c)
    out.append('"')
    return "".join(out)


quote_json = _qs  # a JSON string literal (firmware/check/batch.py writes results with it)

QUOTE_MAX = 32  # characters of a value the user typed, quoted back in a message


def quote(s):
    """A value the user typed, for a message: the same text on every engine
    (never repr(): CPython and MicroPython differ for non-ASCII), and a long
    value cut to a short prefix ("aaaa..." (60000 characters))."""
    if not isinstance(s, str):
        s = str(s)
    if len(s) <= QUOTE_MAX:
        return "'" + s + "'"
    return "'%s...' (%d characters)" % (s[:QUOTE_MAX], len(s))


def decode_utf8(data):
    """Bytes -> str, strictly (RFC 3629): no overlong forms, no encoded
    surrogates, nothing above U+10FFFF. MicroPython's bytes.decode accepts all
    three, so the check is ours and both engines give the same answer."""
    data = bytes(data)
    try:
        text = data.decode("utf-8")
    except Exception:
        text = None
    if text is not None and len(text) == len(data):
        return text  # all ASCII
    bad = utf8_error(data)
    if bad >= 0 or text is None:
        raise JsonTextError("not UTF-8 text (byte %d)" % (bad + 1 if bad >= 0 else 1), max(bad, 0))
    return text


def utf8_error(data):
    """Offset of the first byte that is not well-formed UTF-8, or -1."""
    i = 0
    n = len(data)
    while i < n:
        b = data[i]
        if b < 0x80:
            i += 1
            continue
        if 0xC2 <= b <= 0xDF:
            k, lo, hi = 1, 0x80, 0xBF
        elif 0xE0 <= b <= 0xEF:
            k = 2
            lo = 0xA0 if b == 0xE0 else 0x80
            hi = 0x9F if b == 0xED else 0xBF  # 0xED 0xA0.. are surrogates
        elif 0xF0 <= b <= 0xF4:
            k = 3
            lo = 0x90 if b == 0xF0 else 0x80
            hi = 0x8F if b == 0xF4 else 0xBF
        else:
            return i
        c = data[i + 1] if i + 1 < n else -1
        if not lo <= c <= hi:
            return i
        for j in range(2, k + 1):
            if i + j >= n or not 0x80 <= data[i + j] <= 0xBF:
                return i
        i += k + 1
    return -1
