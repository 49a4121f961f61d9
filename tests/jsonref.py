"""The character reader firmware/jsontext.py had before issue 11 item 4 moved
it onto UTF-8 bytes (commit 9d18b47, verbatim but for the imports): the
oracle tests/test_json_fast_paths.py compares the firmware's reader with,
value for value and message for message. Host-only, never imported by the
firmware."""
from firmware.jsontext import MAX_DEPTH, MAX_TEXT, JsonTextError, Number, decode_utf8, quote


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
