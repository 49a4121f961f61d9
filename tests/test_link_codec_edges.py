"""Edges of the frame codec (firmware/link/frames.py, docs/protocol.md
"Framing") that the properties of tests/test_link_codec.py reach rarely:
out-of-range headers, raw frames too short, too long or with a bad CRC,
COBS that points past its end or decodes past the buffer, and input that is
not bytes. Each is a clear outcome (ValueError for our own bad call, a Fault
for bytes from the line), never a crash."""
import pytest

from firmware.link import frames as link


def test_a_frame_and_a_fault_say_what_they_are():
    assert repr(link.Frame(0x07, 5, b"abc")) == "Frame(0x07, 5, 3 bytes)"
    assert repr(link.Fault(link.F_CRC, 12)) == "Fault(%s, 12)" % link.F_CRC


@pytest.mark.parametrize("ftype,seq", [(-1, 0), (256, 0), (1, -1), (1, link.SEQ_MOD)])
def test_packing_a_header_out_of_range_is_refused(ftype, seq):
    with pytest.raises(ValueError, match="out of range"):
        link.pack(ftype, seq, b"")


def test_unpack_names_short_long_and_damaged_frames():
    good = link.pack(link.INFO, 9, b"hello")
    assert link.unpack(good).payload == b"hello"
    assert link.unpack(good[:link.MIN_FRAME - 1]).reason == link.F_SHORT
    assert link.unpack(bytes(link.MAX_FRAME + 1)).reason == link.F_LONG
    bad = bytearray(good)
    bad[-1] ^= 1
    assert link.unpack(bytes(bad)).reason == link.F_CRC


def test_cobs_into_a_buffer_refuses_what_is_not_cobs_or_does_not_fit():
    dst = bytearray(8)
    assert link.cobs_decode_into(b"\x03ab\x02c", 5, dst) == 4 and dst[:4] == b"ab\x00c"
    assert link.cobs_decode_into(b"\x02a\x00b", 4, dst) == -1       # a zero inside the encoding
    assert link.cobs_decode_into(b"\x05ab", 3, dst) == -1           # a code past the end
    assert link.cobs_decode_into(b"\x0a" + b"x" * 9, 10, dst) == -1  # 9 bytes into 8
    assert link.cobs_decode_into(b"\x09" + b"x" * 8 + b"\x01", 10, dst) == -1  # the implied zero has no room


def test_the_decoder_takes_any_bytes_like_input():
    frame = link.encode(link.INFO, 3, b"")
    for data in (bytearray(frame), memoryview(frame), list(frame)):
        out = link.Decoder().feed(data)
        assert [(f.ftype, f.seq) for f in out if isinstance(f, link.Frame)] == [(link.INFO, 3)]


def test_a_valid_encoding_that_decodes_past_a_frame_is_a_long_fault():
    raw = bytes(range(1, 256)) * 9  # no zeros: COBS of it decodes to more than MAX_FRAME bytes
    out = link.Decoder().feed(b"\x00" + link.cobs_encode(raw)[:link.MAX_ENCODED - 2] + b"\x00")
    assert out and all(isinstance(f, link.Fault) for f in out)
