"""The Scanner (issue 11 item 1): the pump frames and hashes a pushed library
as each DATA frame is stored, instead of re-reading it at END. It must frame
every library, good or broken, exactly as the pull-based scan did (kept as
the oracle in tests/mpy/scanref.py), however the bytes are split, and report
the whole file's length and SHA-256 (the transfer's digest). The same
comparison runs under MicroPython in tests/mpy/mpy_scanner.py."""
import hashlib
import os
import sys

from hypothesis import given, settings, strategies as st

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "mpy"))

import scanref  # noqa: E402
from firmware.errors import LibraryFormatError  # noqa: E402
from firmware.library import container  # noqa: E402

BLOB = scanref.sample(3, 1500)


def test_every_listed_variant_is_framed_as_the_oracle_frames_it():
    for v in scanref.variants(BLOB):
        want = scanref.by_oracle(v)
        for step in (1, 48, 513, len(v) + 1):
            assert scanref.by_scanner(v, range(step, len(v), step)) == want


def test_a_good_library_gives_the_container_parse_gives():
    c = container.Scanner()
    c.feed(BLOB)
    got = c.finish()
    ref = container.parse(BLOB)
    assert got.header.raw == ref.header.raw and got.signed_sha256 == ref.signed_sha256
    assert c.finish() is got  # finishing twice gives the same container


def test_a_fault_is_raised_again_on_a_second_finish():
    s = container.Scanner()
    s.feed(BLOB[:-1])
    for _ in range(2):
        try:
            s.finish()
            raise AssertionError("a truncated library framed")
        except LibraryFormatError as e:
            assert "signature block is" in e.message


def test_bytes_fed_after_finish_are_ignored():
    s = container.Scanner()
    s.feed(BLOB)
    s.finish()
    s.feed(b"more")
    assert s.n == len(BLOB) and s.file_sha256 == hashlib.sha256(BLOB).digest()


def test_the_body_sink_sees_exactly_the_body():
    seen = bytearray()
    s = container.Scanner(seen.extend)
    for i in range(0, len(BLOB), 100):
        s.feed(BLOB[i:i + 100])
    s.finish()
    h = container.parse_header(BLOB)
    assert bytes(seen) == BLOB[container.HEADER_LEN:container.HEADER_LEN + h.body_len]


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_any_mutation_split_anywhere_is_framed_as_the_oracle_frames_it(data):
    blob = bytearray(data.draw(st.sampled_from(scanref.variants(BLOB))))
    for _ in range(data.draw(st.integers(0, 3))):
        op = data.draw(st.sampled_from(["flip", "cut", "grow"]))
        if op == "flip" and blob:
            i = data.draw(st.integers(0, len(blob) - 1))
            blob[i] ^= data.draw(st.integers(1, 255))
        elif op == "cut":
            del blob[data.draw(st.integers(0, len(blob))):]
        else:
            blob += data.draw(st.binary(max_size=200))
    blob = bytes(blob)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(blob)), max_size=8)))
    assert scanref.by_scanner(blob, cuts) == scanref.by_oracle(blob)
