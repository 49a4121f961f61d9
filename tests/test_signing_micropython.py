"""The pump's release verifier under the MicroPython unix port gives the same verdicts as under CPython.

Arrange: the released library and a set of attacked copies (from
conftest_signing); act: run firmware/release/verify.py under `micropython` on each;
assert: the same status or error code as the CPython run of the same code.
"""
import json

from conftest_signing import (ALICE, BOB, CAROL, MALLORY, VERSION, released_library,  # noqa: F401
                              signature, with_signatures)
from firmware.library import container as ct
from firmware.release import verify as release
from firmware.errors import PumpError
from mpyrun import MPY_DIR, run_micropython


def cases(kit):
    u, blob = kit.unsigned, kit.blob
    a, b = signature(u, ALICE, "author"), signature(u, BOB, "approver")
    flipped = bytearray(blob)
    flipped[-1] ^= 0x80
    body = bytearray(blob)
    body[ct.HEADER_LEN + 1] ^= 1
    return [
        ("released", None, blob),
        ("newer", VERSION - 1, blob),
        ("same", VERSION, blob),
        ("rollback", VERSION + 1, blob),
        ("truncated", None, blob[:-1]),
        ("extended", None, blob + b"\x00"),
        ("body flip", None, bytes(body)),
        ("signature flip", None, bytes(flipped)),
        ("unsigned", None, u),
        ("author only", None, with_signatures(u, [a])),
        ("same key twice", None, with_signatures(u, [a, a])),
        ("unknown key", None, with_signatures(u, [signature(u, MALLORY, "author"), b])),
        ("wrong role", None, with_signatures(u, [a, signature(u, CAROL, "approver")])),
        ("other author", None, with_signatures(u, [signature(u, CAROL, "author"), b])),
    ]


def cpython_verdict(kit, installed, blob):
    try:
        return release.verify_blob(blob, kit.trust, installed).status
    except PumpError as e:
        return e.code


def test_micropython_and_cpython_agree_on_every_case(released_library):
    kit = released_library
    cs = cases(kit)
    lines = [json.dumps(json.loads(kit.trust_text))]
    lines += ["%s %s" % ("-" if inst is None else inst, blob.hex()) for _, inst, blob in cs]
    proc = run_micropython([MPY_DIR + "/release_agree.py"], stdin="\n".join(lines).encode())
    out = proc.stdout.decode().split("\n")
    assert proc.returncode == 0 and "OK release_agree" in out, proc.stdout.decode() + proc.stderr.decode()
    got = dict(zip([name for name, _, _ in cs], out))
    want = dict((name, cpython_verdict(kit, inst, blob)) for name, inst, blob in cs)
    assert got == want
    assert want["released"] == "install" and want["same"] == "same" and want["rollback"] == "LIB_ROLLBACK"
