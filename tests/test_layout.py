"""The layout and its import rules (docs/adr/0006-layout-by-stage.md), read from the source with ast.

- firmware/ never imports host_tools/ (or anything outside firmware/ but the
  MicroPython standard modules the pump has);
- firmware folders import only folders below them in the data-flow order
  (base < library < release < store < check < link < shell), so there is no
  import cycle between folders; host_tools folders have no cycle either;
- the host's stages read, verify and check through the firmware modules (one
  truth for what the pump accepts);
- no module over 400 lines, no folder over 12 modules.

Every import counts, also one inside a function (the pump imports lazily).
"""
import ast
import os

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Firmware layers, lowest first; a module may import its own folder and any
# folder of a lower layer. "base" is the top-level modules every stage may use,
# "shell" the pump shell and its entry points on top. A new folder must be
# placed here and in the ADR before it can import or be imported.
FIRMWARE_LAYERS = ["base", "library", "release", "store", "check", "therapy", "link", "shell"]
FIRMWARE_BASE = {"errors", "bigendian", "jsontext"}
FIRMWARE_SHELL = {"pump", "pumpmain", "checkmain"}
# Build scripts in firmware/ that are not modules of the pump (never imported).
NOT_MODULES = {os.path.join("firmware", "manifest.py")}
# What the pump's interpreter provides (MicroPython standard modules the firmware may use).
MICROPYTHON_STDLIB = {"binascii", "errno", "gc", "hashlib", "io", "json", "machine", "micropython", "os",
                      "select", "struct", "sys", "time"}

MAX_LINES = 400
MAX_MODULES_PER_FOLDER = 12
# Known, tracked exceptions to the size rule (each names the issue that removes it).
OVERSIZE = set()  # none since issue 8 split the checker

# Host stage -> the firmware module it must go through (DESIGN.md: host tools
# import the firmware modules to decode and check; they never re-implement them).
ONE_TRUTH = {
    os.path.join("host_tools", "library", "files.py"): "firmware.library.body",
    os.path.join("host_tools", "engines.py"): "firmware.check.batch",
    os.path.join("host_tools", "cli", "verify.py"): "firmware.release.verify",
    os.path.join("host_tools", "release", "signing.py"): "firmware.release.verify",
    os.path.join("host_tools", "release", "keys.py"): "firmware.release.trust",
    os.path.join("host_tools", "link", "client.py"): "firmware.link.frames",
}


def sources(top):
    out = []
    for dirpath, dirnames, filenames in os.walk(os.path.join(ROOT, top)):
        dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
        for f in sorted(filenames):
            if f.endswith(".py"):
                rel = os.path.relpath(os.path.join(dirpath, f), ROOT)
                if rel not in NOT_MODULES:
                    out.append(rel)
    return out


def module_name(rel):
    name = rel[:-3].replace(os.sep, ".")
    return name[:-len(".__init__")] if name.endswith(".__init__") else name


def is_module(name):
    path = os.path.join(ROOT, *name.split("."))
    return os.path.isfile(path + ".py") or os.path.isfile(os.path.join(path, "__init__.py"))


def imports(rel):
    """Every module `rel` imports: `from a.b import c` counts as a.b.c when that is a module."""
    with open(os.path.join(ROOT, rel)) as f:
        tree = ast.parse(f.read(), rel)
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, "%s:%d: relative import (the layout uses absolute imports)" % (rel, node.lineno)
            out.add(node.module)
            for a in node.names:
                if is_module(node.module + "." + a.name):
                    out.add(node.module + "." + a.name)
    return out


def folder_of(name):
    """`firmware.store.slots` -> "store"; a top-level module `firmware.pump` -> "pump"."""
    parts = name.split(".")
    return parts[1] if len(parts) >= 2 else ""


def firmware_layer(name):
    f = folder_of(name)
    if f == "" or f in FIRMWARE_BASE:  # the package itself (`import firmware`) or a base module
        return "base"
    if f in FIRMWARE_SHELL:
        return "shell"
    return f


FIRMWARE = sources("firmware")
HOST = sources("host_tools")


def test_the_sources_are_found():
    assert os.path.join("firmware", "store", "slots.py") in FIRMWARE
    assert os.path.join("host_tools", "cli", "main.py") in HOST
    assert "firmware.release.ed25519" in imports(os.path.join("firmware", "release", "verify.py"))


@pytest.mark.parametrize("rel", FIRMWARE)
def test_firmware_imports_only_firmware_and_the_pumps_standard_modules(rel):
    for name in sorted(imports(rel)):
        top = name.split(".")[0]
        assert top != "host_tools", "%s imports %s: firmware never imports the host tools" % (rel, name)
        assert top == "firmware" or top in MICROPYTHON_STDLIB, (
            "%s imports %s: the firmware uses only MicroPython standard modules %s"
            % (rel, name, sorted(MICROPYTHON_STDLIB)))


@pytest.mark.parametrize("rel", FIRMWARE)
def test_firmware_imports_only_its_own_folder_and_lower_layers(rel):
    me = firmware_layer(module_name(rel))
    assert me in FIRMWARE_LAYERS, (
        "new firmware folder %r: place it in FIRMWARE_LAYERS (tests/test_layout.py) and in "
        "docs/adr/0006-layout-by-stage.md" % me)
    for name in sorted(imports(rel)):
        if name.split(".")[0] != "firmware":
            continue
        them = firmware_layer(name)
        assert them in FIRMWARE_LAYERS, "%s imports %s from an unknown folder %r" % (rel, name, them)
        assert me == them or FIRMWARE_LAYERS.index(them) < FIRMWARE_LAYERS.index(me), (
            "%s (layer %s) imports %s (layer %s): a stage imports only the stages below it, %s"
            % (rel, me, name, them, " < ".join(FIRMWARE_LAYERS)))


def folder_graph(rels, folder):
    graph = {}
    for rel in rels:
        me = folder(module_name(rel))
        for name in imports(rel):
            them = folder(name)
            if name.split(".")[0] == rel.split(os.sep)[0] and them != me:
                graph.setdefault(me, set()).add(them)
    return graph


def cycle(graph):
    """One cycle of folders in `graph` as a list, or None."""
    state = {}

    def visit(n, path):
        state[n] = "open"
        for m in sorted(graph.get(n, ())):
            if state.get(m) == "open":
                return path[path.index(m):] + [m]
            if m not in state:
                found = visit(m, path + [m])
                if found:
                    return found
        state[n] = "done"
        return None

    for n in sorted(graph):
        if n not in state:
            found = visit(n, [n])
            if found:
                return found
    return None


def test_cycle_finder_finds_a_cycle():
    assert cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert cycle({"a": {"b"}, "b": {"c"}}) is None


def test_no_import_cycle_between_firmware_folders():
    graph = folder_graph(FIRMWARE, firmware_layer)
    assert cycle(graph) is None, "firmware folders import each other in a cycle: %s" % cycle(graph)


def test_no_import_cycle_between_host_tools_folders():
    graph = folder_graph(HOST, folder_of)
    assert cycle(graph) is None, "host_tools folders import each other in a cycle: %s" % cycle(graph)


@pytest.mark.parametrize("rel,firmware_module", sorted(ONE_TRUTH.items()))
def test_host_stages_go_through_the_firmware(rel, firmware_module):
    assert firmware_module in imports(rel), (
        "%s no longer imports %s: the host must decode, verify and check with the pump's own code"
        % (rel, firmware_module))


@pytest.mark.parametrize("rel", FIRMWARE + HOST + sources("bench"))
def test_no_module_over_400_lines(rel):
    with open(os.path.join(ROOT, rel)) as f:
        n = sum(1 for _ in f)
    if rel in OVERSIZE:
        return  # tracked above, with the issue that splits it
    assert n <= MAX_LINES, "%s has %d lines (limit %d): split it by what it holds" % (rel, n, MAX_LINES)


def test_no_folder_over_12_modules():
    count = {}
    for rel in FIRMWARE + HOST:
        if os.path.basename(rel) != "__init__.py":
            count[os.path.dirname(rel)] = count.get(os.path.dirname(rel), 0) + 1
    big = {d: n for d, n in count.items() if n > MAX_MODULES_PER_FOLDER}
    assert not big, "folders over %d modules (split by stage): %s" % (MAX_MODULES_PER_FOLDER, big)


def test_every_firmware_folder_is_a_package():
    for rel in FIRMWARE:
        d = os.path.dirname(rel)
        assert os.path.isfile(os.path.join(ROOT, d, "__init__.py")), "%s has no __init__.py" % d


def test_every_micropython_script_is_run_by_a_test():
    """tests/mpy/mpy_*.py run by tests/test_micropython.py; every other script there is a
    helper some test names (run or imported), so none is left behind by a move."""
    mpy_dir = os.path.join(ROOT, "tests", "mpy")
    texts = []
    for top in ("tests", "bench"):
        for rel in sources(top):
            with open(os.path.join(ROOT, rel)) as f:
                texts.append(f.read())
    every = "\n".join(texts)
    for name in sorted(os.listdir(mpy_dir)):
        if not name.endswith(".py") or name.startswith("mpy_"):
            continue
        stem = name[:-3]
        assert ("import " + stem) in every or (name in every) or ('"%s"' % stem) in every, (
            "tests/mpy/%s is neither an mpy_* script nor used by any test or benchmark" % name)
