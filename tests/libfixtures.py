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


def formulary(unsigned, drugs=1, min_body_len=0, version=None, names=None):
    """A library of several drugs (issue 11 items 3-4, the byte-level formulary of
    bench/bench_push.py): the library record of `unsigned`, then its one drug's
    records once per drug, each under its own name (synthetic, never shipped),
    until there are `drugs` drugs and at least `min_body_len` body bytes
    (`names`: the drugs' names instead).
    Returns (unsigned library bytes, number of drugs)."""
    from firmware.bigendian import pack_u16, u16
    from firmware.library import body as fw
    from firmware.library import container as ct

    c = ct.parse(unsigned)
    body = c.body
    recs = []
    i = 0
    while i < len(body):
        n = 3 + u16(body, i + 1)
        recs.append(bytes(body[i:i + n]))
        i += n
    assert recs[0][0] == fw.T_LIBRARY and recs[1][0] == fw.T_DRUG
    assert fw.T_DRUG not in [r[0] for r in recs[2:]]
    out = [recs[0]]
    k = 0
    size = len(recs[0])
    while k < drugs or size < min_body_len:
        name = (b"blinatumomab" if k == 0 else b"formulary-drug-%03d" % k)
        if names is not None:
            name = names[k].encode()
        out.append(bytes((fw.T_DRUG,)) + pack_u16(1 + len(name)) + bytes((len(name),)) + name)
        out += recs[2:]
        size += len(out[-len(recs) + 1]) + sum(len(r) for r in recs[2:])
        k += 1
    blob = ct.assemble(version or c.header.library_version, b"".join(out))
    return blob, k
