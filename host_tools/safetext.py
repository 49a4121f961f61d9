"""Strings from a pump or a log, made safe for the operator's terminal (issue 10 item 5).

A pump id, a logged drug name or an error message may carry ESC sequences
("\\x1b[2J\\x1b[31mOK") that would clear the screen or forge a verdict if
printed raw. Every host tool prints such text through this one module:

- text(s): C0 (0x00-0x1f), DEL (0x7f) and C1 (0x80-0x9f) become \\xNN, and a
  backslash becomes \\\\ so an escaped ESC cannot be faked by sending the four
  characters "\\x1b". Everything else (accents, CJK) stays readable.
- deep(obj): text() on every string (and dict key) inside dicts/lists, for
  tables, CSV and HTML (Jinja's autoescape handles <>&, not control chars).
- dumps(obj, **kw): json.dumps that is terminal-safe but keeps the values
  exact: ensure_ascii=True escapes C0 and C1 as \\uXXXX; DEL, which JSON
  leaves raw, becomes \\u007f too. A JSON consumer reads the true string back.

Decision record: docs/adr/0008-i10log-log-retention.md ("Escaping").
"""
import json


def _esc(c):
    o = ord(c)
    if c == "\\":
        return "\\\\"
    if o < 0x20 or o == 0x7F or 0x80 <= o <= 0x9F:
        return "\\x%02x" % o
    return c


def text(s):
    """Any value as a terminal-safe string (non-strings go through str())."""
    if not isinstance(s, str):
        s = str(s)
    for c in s:  # fast path: nothing to escape
        o = ord(c)
        if o < 0x20 or c == "\\" or 0x7F <= o <= 0x9F:
            return "".join(_esc(ch) for ch in s)
    return s


def deep(obj):
    if isinstance(obj, str):
        return text(obj)
    if isinstance(obj, dict):
        return {deep(k) if isinstance(k, str) else k: deep(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [deep(v) for v in obj]
    return obj


def dumps(obj, **kw):
    kw["ensure_ascii"] = True
    return json.dumps(obj, **kw).replace("\x7f", "\\u007f")
