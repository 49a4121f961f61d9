"""The saved therapy state (firmware/therapy/snapshot.py): every state round
trips exactly; damaged bytes (any bit flipped, cut short, junk) never decode
to a state, and loading them never raises."""
from hypothesis import given, settings
from hypothesis import strategies as st

from firmware.store.faultstorage import FaultStorage, Medium
from firmware.therapy import snapshot
from firmware.therapy.course import Record
from firmware.therapy.state import STATES, Bag, Pending, Therapy

ints = st.integers(-1, 10 ** 9)
records = st.builds(Record, st.sampled_from(["mrd", "relapsed-refractory"]), st.integers(1, 9), ints, ints, ints, ints)
bags = st.builds(Bag, st.sampled_from([10000, 5000, 600]), ints, ints, st.integers(0, 1), st.integers(1, 9),
                 st.integers(1, 28), st.sampled_from([24, 48, 168]))


@st.composite
def therapies(draw):
    t = Therapy()
    t.state = draw(st.sampled_from(STATES))
    t.clock_mh = draw(st.integers(0, 10 ** 9))
    t.rec = draw(st.none() | records)
    t.bag = draw(st.none() | bags)
    t.lost = draw(st.integers(0, 1))
    if draw(st.booleans()):
        t.pend = Pending(draw(st.lists(st.sampled_from(["BAG_DOSE_DEVIATION", "COURSE_FREE_INTERVAL_SHORT"]),
                                       max_size=2)), draw(st.none() | records), draw(bags))
    return t


@settings(max_examples=200, deadline=None)
@given(therapies(), st.integers(0, 10 ** 6), st.binary(max_size=40), st.binary(max_size=300))
def test_every_state_round_trips(t, n, key, answer):
    saved = snapshot.decode(snapshot.encode(snapshot.Saved(t, n, key, answer, b"\x00", 7)))
    assert saved is not None and saved.therapy == t
    assert (saved.n, saved.key, saved.answer, saved.log_next) == (n, key, answer, 7)


@settings(max_examples=200, deadline=None)
@given(therapies(), st.data())
def test_damaged_bytes_never_decode_and_never_raise(t, data):
    good = snapshot.encode(snapshot.Saved(t, 3, b"k", b"{}", b"\x00", 1))
    how = data.draw(st.sampled_from(["flip", "cut", "junk"]))
    if how == "flip":
        i = data.draw(st.integers(0, len(good) * 8 - 1))
        bad = bytearray(good)
        bad[i // 8] ^= 1 << (i % 8)
    elif how == "cut":
        bad = good[:data.draw(st.integers(0, len(good) - 1))]
    else:
        bad = good + data.draw(st.binary(min_size=1, max_size=8))
    assert snapshot.decode(bytes(bad)) is None
    m = Medium({snapshot.FILE: bytearray(bad)})
    saved, status = snapshot.load(FaultStorage(m))
    assert (saved, status) == (None, "corrupt") and m.get("therapy.bad") == bytes(bad)
