# A small, strict JSON reader for programming requests (RFC 8259).
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
        try:
            text = bytes(text).decode("utf-8")
        except Exception:
            raise JsonTextError("not UTF-8 text", 0)
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
    raise JsonTextError("unexpected character %r" % c, i)


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
            raise JsonTextError("duplicate key %r" % key, i)
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


def _string(s, i):
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
                h = s[i + 2:i + 6]
                if len(h) != 4 or not all(ch in "0123456789abcdefABCDEF" for ch in h):
                    raise JsonTextError("bad \\u escape", i)
                parts.append(chr(int(h, 16)))
                i += 6
            elif e in _ESC:
                parts.append(_ESC[e])
                i += 2
            else:
                raise JsonTextError("bad escape \\%s" % e, i)
            start = i
            continue
        if ord(c) < 0x20:
            raise JsonTextError("control character in string", i)
        i += 1


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
