"""Strings from a pump or a log, made safe for the operator's terminal (issue 10 item 5).

A pump id, a logged drug name or an error message may carry ESC sequences
("\\x1b[2J\\x1b[31mOK") that would clear the screen or forge a verdict if
printed raw. Every host tool prints such text through this one module:

- text(s): C0 (0x00-0x1f), DEL (0x7f) and C1 (0x80-0x9f) become \\xNN, and a
  backslash becomes \\\\ so an escaped ESC cannot be faked by sending the four
  characters "\\x1b"; bidi overrides and line separators become \\uXXXX.
  Everything else (accents, CJK) stays readable.
- deep(obj): text() on every string (and dict key) inside dicts/lists, for
  tables, CSV and HTML (Jinja's autoescape handles <>&, not control chars).
- dumps(obj, **kw): json.dumps that is terminal-safe but keeps the values
  exact: ensure_ascii=True escapes C0 and C1 as \\uXXXX; DEL, which JSON
  leaves raw, becomes \\u007f too. A JSON consumer reads the true string back.

Decision record: docs/adr/0013-log-retention.md ("Escaping").
"""
import json


def _bad(o):
    # C0, DEL, C1; line/paragraph separators and bidi overrides/isolates,
    # which reorder what a terminal shows (the same set as views/pages.visible)
    return (o < 0x20 or 0x7F <= o <= 0x9F or o in (0x2028, 0x2029) or 0x202A <= o <= 0x202E
            or 0x2066 <= o <= 0x2069)


def _esc(c):
    o = ord(c)
    if c == "\\":
        return "\\\\"
    if _bad(o):
        return "\\x%02x" % o if o < 0x100 else "\\u%04x" % o
    return c


def text(s):
    """Any value as a terminal-safe string (non-strings go through str())."""
    if not isinstance(s, str):
        s = str(s)
    for c in s:  # fast path: nothing to escape
        if c == "\\" or _bad(ord(c)):
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


def finalize(v):
    """Jinja `finalize`: every {{ value }} of a page through text() (issue 10
    item 5); pre-built Markup keeps its markup, control characters escaped."""
    if isinstance(v, str):
        # only the control characters: a backslash is harmless in HTML, and the
        # `visible` filter's grey \x1b spans must stay as they are
        for c in v:
            if _bad(ord(c)):
                t = "".join(_esc(ch) if ch != "\\" else ch for ch in v)
                return type(v)(t) if hasattr(v, "__html__") else t
    return v


def dumps(obj, **kw):
    kw["ensure_ascii"] = True
    out = json.dumps(obj, **kw)  # ASCII only: bidi and separators are \\uXXXX already
    return out.replace("\x7f", "\\u007f")
