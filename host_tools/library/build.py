"""Rules -> library bytes: compile (host_tools.rules.compiler), then encode (format v1).

Every path that makes a library from rules comes through compile_model, and so
through load_rules, which refuses rules whose pinned sources or `as_written`
quotations do not match (issue 10).
"""
import os
import re

from host_tools.library.encode import encode_library
from host_tools.errors import UsageError

MANIFEST = "library.toml"
MAX_VERSION = 0xFFFFFFFF  # format v1 header: u32 library_version (docs/format.md)


def packaged_rules_dir():
    """The rules shipped with the installed package (the `druglib` data package)."""
    from importlib import resources

    try:
        where = resources.files("druglib")
    except ModuleNotFoundError:
        raise UsageError("no rules are installed with this package; give --rules DIR") from None
    path = str(where)
    if not os.path.isfile(os.path.join(path, MANIFEST)):
        raise UsageError("the installed rules folder %s has no %s; give --rules DIR" % (path, MANIFEST))
    return path


def default_rules_dir():
    """./druglib when the current folder holds rules (a checkout), else the packaged rules."""
    here = os.path.join(os.getcwd(), "druglib")
    if os.path.isfile(os.path.join(here, MANIFEST)):
        return here
    return packaged_rules_dir()


def check_rules_dir(rules_dir):
    if not os.path.exists(rules_dir):
        raise UsageError("rules folder %s does not exist" % rules_dir)
    if not os.path.isdir(rules_dir):
        raise UsageError("--rules %s is a file, not a folder: give the folder that holds %s" % (rules_dir, MANIFEST))
    if not os.path.isfile(os.path.join(rules_dir, MANIFEST)):
        raise UsageError("rules folder %s has no %s" % (rules_dir, MANIFEST))


def check_version(version):
    """A version the pump can install AND move on from (it refuses rollback and re-release)."""
    if not 1 <= version <= MAX_VERSION:
        raise UsageError("--version must be from 1 to %d, not %d" % (MAX_VERSION - 1, version))
    if version == MAX_VERSION:
        raise UsageError("--version %d is the highest version format v1 holds: a pump that installs it could "
                         "never take another library (it refuses a rollback); use at most %d"
                         % (MAX_VERSION, MAX_VERSION - 1))


def _name_for_version(name, version):
    """A trailing -vN in library_name follows the version built: blinatumomab-v1 built
    with --version 7 is blinatumomab-v7, never a version 7 library named v1."""
    m = re.fullmatch(r"(.*-v)([0-9]+)", name)
    return m.group(1) + str(version) if m else name


def compile_model(rules_dir=None, version=None):
    from host_tools.rules.compiler import load_rules

    rules_dir = rules_dir or default_rules_dir()
    check_rules_dir(rules_dir)
    if version is not None:
        check_version(version)
    model = load_rules(rules_dir)
    if version is not None:
        model["library_version"] = version
    model["library_name"] = _name_for_version(model["library_name"], model["library_version"])
    return model


def build_library(version=None, rules_dir=None):
    """Unsigned library bytes from the rules; deterministic (DESIGN.md, principle 5)."""
    return encode_library(compile_model(rules_dir, version))
