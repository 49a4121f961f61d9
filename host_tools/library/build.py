"""Rules -> library bytes: compile (host_tools.rules.compiler), then encode (format v1)."""
import os

from host_tools.library.encode import encode_library
from host_tools.engines import FIRMWARE_ROOT
from host_tools.errors import UsageError


def default_rules_dir():
    here = os.path.join(os.getcwd(), "druglib")
    if os.path.isfile(os.path.join(here, "library.toml")):
        return here
    return os.path.join(FIRMWARE_ROOT, "druglib")


def compile_model(rules_dir=None, version=None):
    from host_tools.rules.compiler import load_rules

    rules_dir = rules_dir or default_rules_dir()
    if not os.path.isdir(rules_dir):
        raise UsageError("rules folder %s does not exist" % rules_dir)
    model = load_rules(rules_dir)
    if version is not None:
        if not 1 <= version <= 0xFFFFFFFF:
            raise UsageError("--version must be from 1 to 4294967295")
        model["library_version"] = version
    return model


def build_library(version=None, rules_dir=None):
    """Unsigned library bytes from the rules; deterministic (DESIGN.md, principle 5)."""
    return encode_library(compile_model(rules_dir, version))
