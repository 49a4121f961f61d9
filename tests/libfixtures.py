"""Libraries for tests: the real blinatumomab library built from druglib/*.toml."""
import functools
import json

from conftest import SHARED_CASES as CASES, SHARED_MISSING


@functools.lru_cache(maxsize=None)
def real_library_bytes(version=None):
    from host_tools.library.build import build_library

    return build_library(version)


def real_library():
    from firmware.library.body import decode

    return decode(real_library_bytes())[1]


def shared_cases():
    """The shared check cases; without ../shared the calling test module is skipped, saying why."""
    if SHARED_MISSING:
        import pytest

        pytest.skip(SHARED_MISSING, allow_module_level=True)
    with open(CASES) as fh:
        return [json.loads(line) for line in fh if line.strip()]
