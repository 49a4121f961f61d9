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


# The reader works on the UTF-8 bytes (issue 11 item 4: the CHECK path within
# 1 ms): on MicroPython, indexing a str is a scan from its start (O(n) per
# character, ~1 us at character 500) and makes a str per character, while
# indexing bytes is O(1) and gives a small int. Positions in messages are
# still counted in characters (_err), so every message is the one the
# character reader gave (tests/test_json_fast_paths.py compares them).
# Functions called per value stay small, messages built in helpers: a frame
# over 11 words comes from the heap (py/objfun.c, VM_MAX_STATE_ON_STACK).
_ESC = {0x22: '"', 0x5C: "\\", 0x2F: "/", 0x62: "\b", 0x66: "\f", 0x6E: "\n", 0x72: "\r", 0x74: "\t"}
_HEX = b"0123456789abcdefABCDEF"
_NUMBYTES = b"0123456789+-.eE"  # the bytes of a number's literal (then checked by firmware/check/decimals.py)


def loads(text):
    s = None
    if isinstance(text, (bytes, bytearray)):
        s = bytes(text)
        text = decode_utf8(s)
    if len(text) > MAX_TEXT:
        raise JsonTextError("request longer than %d characters" % MAX_TEXT, MAX_TEXT)
    if s is None:
        s = _encoded(text)
    n = len(s)
    value, pos = _value(s, _skip(s, 0, n), 0, n)
    pos = _skip(s, pos, n)
    if pos != n:
        raise _err(s, "unexpected text after the JSON value", pos)
    return value


def _encoded(text):
    """The text's UTF-8 bytes. A CPython str may hold a lone surrogate (a
    MicroPython one too, if it came from a loose decode): kept as its 3-byte
    form (0xED 0xA0..0xBF ..), which the reader refuses as the character
    reader refused the surrogate."""
    try:
        return text.encode()
    except UnicodeError:
        return text.encode("utf-8", "surrogatepass")


def _err(s, message, i):
    """The error at byte i of s (a character boundary), its position counted in characters."""
    return JsonTextError(message, len(s[:i].decode("utf-8", "surrogatepass")))


def _char_at(s, i):
    """The character whose UTF-8 form starts at byte i (for a message)."""
    return s[i:].decode("utf-8", "surrogatepass")[0]


def _skip(s, i, n):
    while i < n:
        c = s[i]
        if c != 0x20 and c != 0x0A and c != 0x0D and c != 0x09:
            return i
        i += 1
    return i


def _value(s, i, depth, n):
    if i >= n:
        raise _err(s, "unexpected end of text", i)
    c = s[i]
    if c == 0x22:
        return _string(s, i, n)
    if c == 0x7B:
        return _object(s, i, depth + 1, n)
    if c == 0x5B:
        return _array(s, i, depth + 1, n)
    if c == 0x2D or 0x30 <= c <= 0x39:
        return _number(s, i, n)
    if c == 0x74 and s.startswith(b"true", i):
        return True, i + 4
    if c == 0x66 and s.startswith(b"false", i):
        return False, i + 5
    if c == 0x6E and s.startswith(b"null", i):
        return None, i + 4
    raise _unexpected(s, i)


def _unexpected(s, i):
    return _err(s, "unexpected character %s" % quote(_char_at(s, i)), i)


def _object(s, i, depth, n):
    if depth > MAX_DEPTH:
        raise _err(s, "nesting deeper than %d" % MAX_DEPTH, i)
    out = {}
    i = _skip(s, i + 1, n)
    if i < n and s[i] == 0x7D:
        return out, i + 1
    while True:
        if i >= n or s[i] != 0x22:
            raise _err(s, "expected a quoted key", i)
        key, i = _string(s, i, n)
        if key in out:
            raise _err(s, "duplicate key %s" % quote(key), i)
        if i < n and s[i] != 0x3A:  # ':' right after the key is the usual case
            i = _skip(s, i, n)
        if i >= n or s[i] != 0x3A:
            raise _err(s, "expected ':'", i)
        i += 1
        if i < n and s[i] == 0x20:  # one space after ':' is the usual case
            i += 1
        c = s[i] if i < n else 0
        if c == 0x22:
            out[key], i = _string(s, i, n)
        elif 0x30 <= c <= 0x39 or c == 0x2D:
            out[key], i = _number(s, i, n)
        else:
            out[key], i = _value(s, _skip(s, i, n), depth, n)
        c = s[i] if i < n else 0
        if c != 0x2C and c != 0x7D:
            i = _skip(s, i, n)
            c = s[i] if i < n else 0
        if c == 0x2C:
            i += 1
            if i < n and s[i] == 0x20:  # one space after ',' is the usual case
                i += 1
            if i < n and s[i] != 0x22:
                i = _skip(s, i, n)
            continue
        if c == 0x7D:
            return out, i + 1
        raise _err(s, "expected ',' or '}'", i)


def _array(s, i, depth, n):
    if depth > MAX_DEPTH:
        raise _err(s, "nesting deeper than %d" % MAX_DEPTH, i)
    out = []
    i = _skip(s, i + 1, n)
    if i < n and s[i] == 0x5D:
        return out, i + 1
    while True:
        val, i = _value(s, i, depth, n)
        out.append(val)
        i = _skip(s, i, n)
        if i < n and s[i] == 0x2C:
            i = _skip(s, i + 1, n)
            continue
        if i < n and s[i] == 0x5D:
            return out, i + 1
        raise _err(s, "expected ',' or ']'", i)


def _string(s, i, n):
    # Fast path: no escape, control character or surrogate form (0xED 0xA0..:
    # a CPython str's lone surrogate) between the quotes: the text is the
    # bytes (the quotes are ASCII). Anything else: _string_slow.
    j = s.find(b'"', i + 1)
    if j > i + 1:
        t = s[i + 1:j]
        if b"\\" not in t and min(t) >= 0x20 and b"\xed" not in t:
            return t.decode(), j + 1
    elif j == i + 1:
        return "", j + 1
    return _string_slow(s, i, n)


def _string_slow(s, i, n):
    i += 1
    parts = []
    start = i
    while True:
        if i >= n:
            raise _err(s, "unterminated string", start - 1)
        c = s[i]
        if c == 0x22:
            parts.append(s[start:i].decode())
            return "".join(parts), i + 1
        if c == 0x5C:
            parts.append(s[start:i].decode())
            if i + 1 >= n:
                raise _err(s, "unterminated escape", i)
            e = s[i + 1]
            if e == 0x75:  # \uXXXX
                cp = _hex4(s, i)
                i += 6
                if 0xDC00 <= cp <= 0xDFFF:
                    raise _err(s, "lone low surrogate \\u%04X" % cp, i - 6)
                if 0xD800 <= cp <= 0xDBFF:
                    # RFC 8259 section 7: a character outside the Basic
                    # Multilingual Plane is a UTF-16 surrogate pair of escapes
                    if s[i:i + 2] != b"\\u":
                        raise _err(s, "lone high surrogate \\u%04X" % cp, i - 6)
                    lo = _hex4(s, i)
                    if not 0xDC00 <= lo <= 0xDFFF:
                        raise _err(s, "lone high surrogate \\u%04X" % cp, i - 6)
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00)
                    i += 6
                parts.append(chr(cp))
            elif e in _ESC:
                parts.append(_ESC[e])
                i += 2
            else:
                raise _err(s, "bad escape %s" % quote("\\" + _char_at(s, i + 1)), i)
            start = i
            continue
        if c < 0x20:
            raise _err(s, "control character in string", i)
        if c == 0xED and i + 1 < n and s[i + 1] >= 0xA0:
            raise _err(s, "lone surrogate in string", i)
        i += 1


def _hex4(s, i):
    """The code unit of the escape \\uXXXX at s[i]."""
    h = s[i + 2:i + 6]
    if len(h) != 4 or not all(ch in _HEX for ch in h):
        raise _err(s, "bad \\u escape", i)
    return int(h.decode(), 16)


def _number(s, i, n):
    j = i + 1  # s[i] is '-' or a digit
    while j < n and s[j] in _NUMBYTES:
        j += 1
    # RFC 8259 section 6: no leading zeros, digits after '.', digits in exponent
    k = i + 1 if s[i] == 0x2D else i
    if k >= j or not 0x30 <= s[k] <= 0x39:
        raise _err(s, "malformed number", i)
    if j - k > 1 and s[k] == 0x30 and 0x30 <= s[k + 1] <= 0x39:
        raise _err(s, "number with a leading zero", i)
    return Number(s[i:j].decode()), j


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


def _printable_ascii(t):
    """Every character in U+0020..U+007E (t not empty). Over the UTF-8 bytes:
    min/max of bytes run in C without making a string per character."""
    try:
        b = t.encode()
    except Exception:  # CPython: a lone surrogate cannot be encoded
        return False
    # as many bytes as characters: ASCII; then no DEL, no control (issue 11 item 4: no max loop)
    return len(b) == len(t) and b"\x7f" not in b and min(b) >= 0x20


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
