"""Issue 11 item 5, "never out of memory, never silent", with MemoryError
injected where the heap can run out (a fault-injecting fake, as DESIGN.md's
principle 2 asks): tests/mpy/mpy_oom.py, run here under CPython and by
tests/test_micropython.py under the MicroPython unix port. The real thing,
the compiled pump in a small heap, is tests/test_heap_pump.py."""
import os
import runpy

from mpyrun import MPY_DIR


def test_out_of_memory_paths_under_cpython(capsys):
    runpy.run_path(os.path.join(MPY_DIR, "mpy_oom.py"), run_name="__main__")
    assert "OK mpy_oom" in capsys.readouterr().out


def test_the_frame_decoder_allocates_its_buffers_once():
    from firmware.link import frames as link

    dec = link.Decoder()
    bufs = (dec._enc, dec._raw)
    wire = link.encode(link.DATA, 3, bytes(range(256)) * 8)
    for cut in (1, 7, 300, len(wire)):
        out = []
        for i in range(0, len(wire), cut):
            out += dec.feed(wire[i:i + cut])
        assert [(f.seq, len(f.payload)) for f in out] == [(3, 2048)]
    assert (dec._enc, dec._raw) == bufs and all(a is b for a, b in zip((dec._enc, dec._raw), bufs))
    assert len(dec._enc) == link.MAX_ENCODED and len(dec._raw) == link.MAX_FRAME
