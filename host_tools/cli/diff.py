"""`druglib diff OLD NEW [--json | --html FILE]`: what changed between two libraries.

Exit status 0 when the two files are the same library, 1 when they differ
(as diff(1)), 2 on a usage error. Each changed limit shows its old and new
value and its rule citation (from a rules folder whose hash matches the
library: --rules DIR, repeatable; default druglib/).
"""
import json

from host_tools.errors import DruglibError
from host_tools.library.files import load_library, write_atomic


class DiffTrouble(DruglibError):
    """As diff(1): 0 same, 1 different, 2 trouble (an unreadable library is never "different")."""

    exit_code = 2


def configure(p):
    p.add_argument("old", metavar="OLD", help="the library in use (or the last one approved)")
    p.add_argument("new", metavar="NEW", help="the library to review")
    out = p.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="machine-readable output")
    out.add_argument("--html", metavar="FILE", help="write the review page of the changes")
    p.add_argument("--rules", metavar="DIR", action="append", default=None,
                   help="rules folder(s) for the citations; each library takes the one whose hash it records")


def _rules_dirs(given):
    if given:
        return given
    from host_tools.library.build import default_rules_dir
    return [default_rules_dir()]


def document(path, rules):
    from host_tools.views.librarydoc import document as doc

    blob, c, lib = load_library(path)
    return doc(blob, c, lib, _rules_dirs(rules))


def write_library_page(path, blob, c, lib, rules, trust_path=None):
    from host_tools.views import librarydoc, pages

    trust = None
    if trust_path:
        from host_tools.release.keys import read_trust
        trust = read_trust(trust_path)[0]
    doc = librarydoc.document(blob, c, lib, _rules_dirs(rules), trust)
    write_atomic(path, pages.library_page(doc).encode("utf-8"))
    print("wrote %s: %d limits%s%s" % (path, len(doc["rows"]), "" if doc["cited_from"] else
                                       " (no citations: no rules folder matches this library)",
                                       "" if doc["release"] is None else "; release %s" % (
                                           "verified" if doc["release"]["verified"] else
                                           "REFUSED: %s" % doc["release"]["code"])))
    return 0


def _text(d):
    if d["identical"]:
        return "identical"
    L = []
    for h in d["header"]:
        L.append("release  %-44s %s -> %s" % (h["name"], h["old"], h["new"]))
    for c in d["changes"]:
        cite = "; ".join(c["cite"]) if c["cite"] else "no citation"
        if c["kind"] == "changed":
            L.append("changed  %-44s %s -> %s   [%s]" % (c["name"], c["old"], c["new"], cite))
        elif c["kind"] == "added":
            L.append("added    %-44s %s   [%s]" % (c["name"], c["new"], cite))
        else:
            L.append("removed  %-44s %s   [%s]" % (c["name"], c["old"], cite))
    if not d["changes"]:
        L.append("same limits; release data differ")
    return "\n".join(L)


def run(args):
    from host_tools.views import pages
    from host_tools.views.diff import diff

    try:
        old, new = document(args.old, args.rules), document(args.new, args.rules)
    except DruglibError as e:
        raise DiffTrouble(str(e)) from None
    d = diff(old, new)
    if args.json:
        print(json.dumps({"identical": d["identical"], "header": d["header"], "changes": d["changes"],
                          "old": {k: old[k] for k in ("name", "version", "sha256", "rules_sha256")},
                          "new": {k: new[k] for k in ("name", "version", "sha256", "rules_sha256")}}, indent=2))
    elif args.html:
        write_atomic(args.html, pages.diff_page(old, new, d).encode("utf-8"))
        print("wrote %s: %s" % (args.html, "identical" if d["identical"] else "%d change(s)" % len(d["changes"])))
    else:
        print(_text(d))
    return 0 if d["identical"] else 1
