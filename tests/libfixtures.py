"""Libraries for tests: the real blinatumomab library built from druglib/*.toml."""
import functools
import json
import os

from conftest import SHARED

CASES = os.path.join(SHARED, "cases", "check-cases.jsonl")


@functools.lru_cache(maxsize=None)
def real_library_bytes(version=None):
    from host_tools.library.build import build_library

    return build_library(version)


def real_library():
    from firmware.library.body import decode

    return decode(real_library_bytes())[1]


def shared_cases():
    with open(CASES) as fh:
        return [json.loads(line) for line in fh if line.strip()]
