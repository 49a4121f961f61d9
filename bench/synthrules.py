"""Benchmark-only rules folders with many drugs (issue 11 item 3).

    .venv/bin/python bench/synthrules.py OUT_DIR N      # writes a rules folder of N synthetic drugs

Copies druglib/ (its manifest, its pinned sources) and writes N copies of the
blinatumomab rules, each under its own name `synthetic-drug-NNN` with
`synthetic = true` in [drug]; the library is named `synthetic-bench-N`.
These are NOT drugs: the dosing is blinatumomab's, copied. `druglib sign`
and `druglib publish` refuse any library with a `synthetic-` name
(host_tools/release/signing.py refuse_synthetic); the benches sign through
the API with allow_synthetic=True, with the test keys of
tests/conftest_signing.py. Never shipped: nothing under bench/ is packaged.
"""
import math
import os
import re
import shutil
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests"))
sys.path.insert(0, ROOT)

DRUGLIB = os.path.join(ROOT, "druglib")
PREFIX = "synthetic-"


def make_rules(dest, n, version=1):
    """A rules folder at `dest` with `n` synthetic drugs -> dest."""
    if n < 1:
        raise ValueError("at least one drug")
    shutil.copytree(os.path.join(DRUGLIB, "sources"), os.path.join(dest, "sources"))
    with open(os.path.join(DRUGLIB, "blinatumomab.toml"), encoding="utf-8") as f:
        drug = f.read()
    files = []
    for k in range(n):
        name = "%sdrug-%03d" % (PREFIX, k)
        text, count = re.subn(r'(?m)^\[drug\]\nname = "blinatumomab"\n',
                              '[drug]\nname = "%s"\nsynthetic = true  # benchmark-only copy: never released\n' % name,
                              drug)
        if count != 1:
            raise RuntimeError("blinatumomab.toml has no [drug] name line to rename")
        files.append(name + ".toml")
        with open(os.path.join(dest, files[-1]), "w", encoding="utf-8") as f:
            f.write(text)
    with open(os.path.join(DRUGLIB, "library.toml"), encoding="utf-8") as f:
        man = f.read()
    man = re.sub(r'(?m)^library_name = ".*"$', 'library_name = "%sbench-%d"' % (PREFIX, n), man, count=1)
    man = re.sub(r'(?m)^library_version = \d+$', "library_version = %d" % version, man, count=1)
    man = re.sub(r'(?m)^drug_files = \[.*\]$', "drug_files = [%s]" % ", ".join('"%s"' % f for f in files), man,
                 count=1)
    with open(os.path.join(dest, "library.toml"), "w", encoding="utf-8") as f:
        f.write(man)
    return dest


def build(rules_dir):
    """Unsigned library bytes of a rules folder (the real compiler and encoder)."""
    from host_tools.library.encode import encode_library
    from host_tools.rules.compiler import load_rules

    return encode_library(load_rules(rules_dir))


def release_for_bench(blob):
    """Signed by the test author and approver, through the API's bench-only override."""
    from conftest_signing import ALICE, BOB
    from host_tools.release.signing import sign_blob

    blob = sign_blob(blob, ALICE, "author", allow_synthetic=True)
    return sign_blob(blob, BOB, "approver", allow_synthetic=True)


def released_libraries(tmp, sizes, version=3):
    """-> (trust store path, [released library of about `size` bytes for each size])."""
    from conftest_signing import trust_text

    trust_path = os.path.join(tmp, "trust.json")
    with open(trust_path, "w") as f:
        f.write(trust_text())
    one = len(build(make_rules(os.path.join(tmp, "rules-1"), 1, version)))
    two = len(build(make_rules(os.path.join(tmp, "rules-2"), 2, version)))
    per_drug = two - one
    out = []
    for size in sizes:
        n = max(1, int(math.ceil((size - (one - per_drug)) / float(per_drug))))
        out.append(release_for_bench(build(make_rules(os.path.join(tmp, "rules-%d-%d" % (len(out), n)), n,
                                                      version))))
    return trust_path, out


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: synthrules.py OUT_DIR N")
    print(make_rules(sys.argv[1], int(sys.argv[2])))
