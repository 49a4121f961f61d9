"""Frame codec of the serial link (firmware/link/frames.py, docs/protocol.md "Framing"):
round trip, garbage never crashes the decoder nor yields a frame with a bad
CRC, resynchronisation after garbage, bounded memory."""
from hypothesis import given, settings
from hypothesis import strategies as st
from cobs import cobs

from firmware.link import frames as link

payloads = st.binary(max_size=link.MAX_PAYLOAD)
frames = st.tuples(st.integers(0, 255), st.integers(0, link.SEQ_MOD - 1), st.binary(max_size=600))


def frames_of(items):
    return [i for i in items if isinstance(i, link.Frame)]


@given(st.binary(max_size=3000))
def test_cobs_round_trip_and_no_zero_bytes(data):
    enc = link.cobs_encode(data)
    assert 0 not in enc
    assert len(enc) <= len(data) + len(data) // 254 + 1
    assert link.cobs_decode(enc) == data


# Issue 11 item 6: a zero right after a run of exactly 254 x k non-zero bytes
# was dropped by the encoder. Every multiple of 254, with the zero, with
# bytes around it, checked byte for byte against the PyPI `cobs` package
# (a test-only reference; tests/mpy/mpy_link.py runs the same property
# under MicroPython against a textbook encoder).
runs = st.tuples(st.integers(1, 12), st.binary(max_size=300).map(lambda b: b.replace(b"\x00", b"")),
                 st.binary(max_size=300), st.integers(1, 3), st.integers(0, 255))


@settings(max_examples=200)
@given(runs)
def test_a_zero_after_254_times_k_non_zero_bytes_survives(r):
    k, prefix, suffix, zeros, fill = r
    data = prefix + bytes([fill or 1]) * (254 * k - len(prefix) % 254) + b"\x00" * zeros + suffix
    enc = link.cobs_encode(data)
    assert enc == cobs.encode(data)
    assert 0 not in enc and link.cobs_decode(enc) == data


def test_every_multiple_of_254_up_to_a_frame():
    for k in range(1, link.MAX_ENCODED // 254 + 2):
        for tail in (b"", b"\x00", b"\x00\x00", b"\x00\x07", b"\x07"):
            data = b"\x5a" * (254 * k) + tail
            assert link.cobs_encode(data) == cobs.encode(data), (k, tail)
            assert link.cobs_decode(link.cobs_encode(data)) == data, (k, tail)


@settings(max_examples=300)
@given(st.binary(max_size=3000))
def test_encoder_agrees_with_the_cobs_package_on_every_input(data):
    assert link.cobs_encode(data) == cobs.encode(data)


@settings(max_examples=300)
@given(st.one_of(st.binary(max_size=1200),
                 st.binary(max_size=1200).map(lambda b: cobs.encode(b)),
                 st.binary(min_size=1, max_size=1200).map(lambda b: cobs.encode(b)[:-1])))
def test_decoder_agrees_with_the_cobs_package_on_every_input(enc):
    """Valid encodings decode to the same bytes; what the reference refuses
    (a zero inside, a code past the end) our decoder refuses (None)."""
    try:
        want = cobs.decode(enc)
    except cobs.DecodeError:
        want = None
    assert link.cobs_decode(enc) == want


@given(frames)
def test_frame_round_trip(f):
    ftype, seq, payload = f
    out = link.Decoder().feed(link.encode(ftype, seq, payload))
    assert len(out) == 1
    assert (out[0].ftype, out[0].seq, out[0].payload) == (ftype, seq, payload)


@given(st.lists(frames, max_size=6), st.lists(st.integers(1, 40), max_size=10))
def test_any_split_of_the_stream_gives_the_same_frames(fs, cuts):
    wire = b"".join(link.encode(*f) for f in fs)
    dec = link.Decoder()
    got = []
    pos = 0
    for c in cuts + [len(wire)]:
        got += dec.feed(wire[pos:pos + c])
        pos += c
    got += dec.feed(wire[pos:])
    assert [(g.ftype, g.seq, g.payload) for g in got] == [tuple(f) for f in fs]


@settings(max_examples=300)
@given(st.binary(max_size=5000))
def test_garbage_never_crashes_and_never_yields_a_frame_with_a_bad_crc(junk):
    dec = link.Decoder()
    for item in dec.feed(junk):
        if isinstance(item, link.Frame):
            raw = link.pack(item.ftype, item.seq, item.payload)  # re-packed: the CRC it must have had
            assert link.unpack(raw).payload == item.payload
        else:
            assert item.reason in (link.F_CRC, link.F_COBS, link.F_SHORT, link.F_LONG)
    assert len(dec.buf) <= link.MAX_ENCODED


@given(st.binary(max_size=3000), frames)
def test_resynchronises_after_garbage(junk, f):
    dec = link.Decoder()
    dec.feed(junk)  # whatever it was, the next frame comes through
    out = frames_of(dec.feed(link.encode(*f)))
    assert [(o.ftype, o.seq, o.payload) for o in out][-1:] == [tuple(f)]


@given(frames, st.integers(0, 10 ** 6), st.integers(0, 7))
def test_a_flipped_bit_is_never_delivered_as_a_frame(f, where, bit):
    wire = bytearray(link.encode(*f))
    i = where % len(wire)
    wire[i] ^= 1 << bit
    got = frames_of(link.Decoder().feed(bytes(wire)))
    # a single bit error is within CRC-32's guaranteed detection: no frame at all,
    # unless the flip only touched a delimiter and left the frame itself intact
    for g in got:
        assert (g.ftype, g.seq, g.payload) == tuple(f)


@given(frames, st.integers(0, 10 ** 6))
def test_a_dropped_byte_loses_at_most_that_frame(f, where):
    one = link.encode(*f)
    wire = bytearray(one + one)
    del wire[where % len(one)]
    got = frames_of(link.Decoder().feed(bytes(wire)))
    assert 1 <= len(got) <= 2
    assert all((g.ftype, g.seq, g.payload) == tuple(f) for g in got)


def test_oversized_frames_are_refused_and_memory_stays_bounded():
    dec = link.Decoder()
    out = dec.feed(b"\x00" + b"\x01" * (link.MAX_ENCODED * 3))
    assert out == [] and len(dec.buf) == 0 and dec.discarding
    out = dec.feed(b"\x00" + link.encode(link.INFO, 1))
    assert [o.reason for o in out if isinstance(o, link.Fault)] == [link.F_LONG]
    assert frames_of(out)[0].ftype == link.INFO
    try:
        link.encode(link.DATA, 1, bytes(link.MAX_PAYLOAD + 1))
    except ValueError:
        pass
    else:
        raise AssertionError("an oversized payload was encoded")


def test_largest_frame_round_trips():
    payload = bytes(range(256)) * 8
    wire = link.encode(link.DATA, 65535, payload)
    assert len(wire) <= link.MAX_ENCODED + 2
    assert frames_of(link.Decoder().feed(wire))[0].payload == payload


def test_inter_byte_timeout_reset_drops_the_half_frame():
    dec = link.Decoder()
    wire = link.encode(link.INFO, 7)
    dec.feed(wire[:4])
    assert dec.pending()
    dec.reset()
    assert not dec.pending()
    assert frames_of(dec.feed(wire))[0].seq == 7
