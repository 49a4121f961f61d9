"""FileStorage's failures (firmware/store/storage.py) and the commit record's refusals (commitrec.py).

Fail safe: whatever the filesystem does, the pump sees a StorageError (a
device error with its code, STORAGE_IO), never a raw OSError that would
stop the shell; and a commit record that is not intact in every field is "no
record", never a half-trusted one. Real filesystem conditions where the OS
gives them to root (a file where a folder should be, a folder where a file
should be, a vanished folder); a fake file object where it does not (a short
write, an I/O error mid-read).
"""
import binascii
import os

import pytest

from firmware.bigendian import pack_u16, pack_u32
from firmware.errors import StorageError
from firmware.store import commitrec
from firmware.store import storage as storage_mod
from firmware.store.storage import FileStorage, bytes_reader, reader


@pytest.fixture
def st(tmp_path):
    return FileStorage(str(tmp_path / "pump"))


def test_storage_error_is_a_device_error_with_its_code():
    assert StorageError.code == "STORAGE_IO"


def test_a_storage_folder_that_cannot_be_created_is_refused(tmp_path):
    (tmp_path / "blocker").write_bytes(b"a file where the folder should go")
    with pytest.raises(StorageError, match="cannot create storage directory"):
        FileStorage(str(tmp_path / "blocker" / "pump"))


def test_missing_files_are_storage_errors_not_crashes(st):
    with pytest.raises(StorageError, match="no such stored file: slot0.lib"):
        st.size("slot0.lib")
    with pytest.raises(StorageError, match="cannot open slot0.lib"):
        st.read("slot0.lib", 0, 10)
    with pytest.raises(StorageError, match="cannot rename commit.tmp to commit.rec"):
        st.rename("commit.tmp", "commit.rec")
    st.remove("never-written")  # removing what is not there is no error
    assert st.listdir() == []


@pytest.mark.parametrize("name", ["", ".", "..", "a/b", "/etc"])
def test_names_that_would_leave_the_folder_are_refused(st, name):
    for call in (lambda: st.read(name, 0, 1), lambda: st.write(name, b"x"), lambda: st.exists(name)):
        with pytest.raises(StorageError, match="bad storage name"):
            call()


def test_a_folder_where_a_file_should_be_is_a_storage_error(st, tmp_path):
    os.mkdir(os.path.join(st.root, "slot1.lib"))
    os.mkdir(os.path.join(st.root, "slot1.lib", "inside"))  # not empty: rmdir/remove cannot take it
    with pytest.raises(StorageError, match="cannot open slot1.lib for writing"):
        st.write("slot1.lib", b"library bytes")
    with pytest.raises(StorageError, match="cannot remove slot1.lib"):
        st.remove("slot1.lib")
    with pytest.raises(StorageError):
        st.read("slot1.lib", 0, 4)


def test_a_vanished_storage_folder_cannot_be_listed(st):
    os.rmdir(st.root)
    with pytest.raises(StorageError, match="cannot list"):
        st.listdir()
    st.sync()  # sync of a vanished folder: nothing to make durable, and no crash


def test_reads_past_the_end_give_what_is_there(st):
    st.write("f", b"0123456789")
    st.append("f", b"ab")
    assert st.read("f", 8, 100) == b"89ab"
    assert st.read("f", 50, 10) == b""
    assert st.size("f") == 12


class FakeFile:
    """A file whose write takes fewer bytes than given, or whose read fails."""

    def __init__(self, short=False, fail_read=False, fail_write=False):
        self.short, self.fail_read, self.fail_write = short, fail_read, fail_write
        self.closed = False

    def seek(self, n):
        pass

    def read(self, n):
        if self.fail_read:
            raise OSError(5, "Input/output error")
        return b""

    def write(self, data):
        if self.fail_write:
            raise OSError(28, "No space left on device")
        return len(data) - 1 if self.short else len(data)

    def flush(self):
        pass

    def close(self):
        self.closed = True


def test_short_writes_io_errors_and_full_media_are_storage_errors(st, monkeypatch):
    opened = []

    def fake_open(kind):
        def open_(path, mode):
            f = FakeFile(**{kind: True})
            opened.append(f)
            return f
        return open_

    monkeypatch.setattr(storage_mod, "open", fake_open("short"), raising=False)
    with pytest.raises(StorageError, match="short write to slot0.lib"):
        st.write("slot0.lib", b"abc")
    monkeypatch.setattr(storage_mod, "open", fake_open("fail_write"), raising=False)
    with pytest.raises(StorageError, match="cannot write log.bin: .*No space left"):
        st.append("log.bin", b"record")
    monkeypatch.setattr(storage_mod, "open", fake_open("fail_read"), raising=False)
    with pytest.raises(StorageError, match="cannot read slot0.lib: .*Input/output error"):
        st.read("slot0.lib", 0, 512)
    assert len(opened) == 3 and all(f.closed for f in opened)  # every file closed, also on failure


class OsWithout:
    """The storage module's `os` on a port that lacks some calls (MicroPython has no fsync)."""

    def __init__(self, *missing, fsync_fails=False):
        self.missing = missing
        self.fsync_fails = fsync_fails

    def __getattr__(self, name):
        if name in self.missing:
            raise AttributeError(name)
        if name == "fsync" and self.fsync_fails:
            def fsync(fd):
                raise OSError(22, "Invalid argument")
            return fsync
        return getattr(os, name)


@pytest.mark.parametrize("fake", [OsWithout("fsync"), OsWithout("O_RDONLY"), OsWithout(fsync_fails=True)],
                         ids=["no-fsync", "no-O_RDONLY", "fsync-fails"])
def test_writes_and_sync_work_where_fsync_is_missing_or_refused(st, monkeypatch, fake):
    monkeypatch.setattr(storage_mod, "os", fake)
    st.write("commit.tmp", b"record")
    st.sync()
    st.rename("commit.tmp", "commit.rec")
    st.sync()
    assert st.read("commit.rec", 0, 10) == b"record" and st.listdir() == ["commit.rec"]


def test_a_file_object_without_fileno_is_not_fsynced():
    storage_mod._fsync(object())  # nothing to sync, no error


def test_reader_never_asks_storage_for_more_than_a_chunk(st):
    st.write("slot0.lib", bytes(range(256)) * 5)
    asks = []
    real = st.read

    def counting(name, off, n):
        asks.append(n)
        return real(name, off, n)

    st.read = counting
    read = reader(st, "slot0.lib", chunk=100)
    assert read(250) == (bytes(range(256)) * 5)[:250]
    assert read(2000) == (bytes(range(256)) * 5)[250:]
    assert read(10) == b""
    assert max(asks) <= 100
    mem = bytes_reader(b"abcdef")
    assert (mem(4), mem(4), mem(4)) == (b"abcd", b"ef", b"")


# --- commit record ----------------------------------------------------------------------------

def good_commit(**kw):
    f = dict(seq=5, slot=1, version=3, counter=3, lib_len=748, lib_sha256=bytes(range(32)))
    f.update(kw)
    return commitrec.Commit(f["seq"], f["slot"], f["version"], f["counter"], f["lib_len"], f["lib_sha256"])


def resealed(raw):
    """The same 56 bytes with a fresh CRC: an attack that gets past the checksum."""
    body = bytes(raw[:56])
    return body + pack_u32(binascii.crc32(body) & 0xFFFFFFFF)


def test_a_commit_record_round_trips_and_says_what_it_holds():
    c = good_commit()
    raw = commitrec.encode(c)
    assert len(raw) == commitrec.LENGTH == 60
    back = commitrec.decode(raw)
    assert (back.seq, back.slot, back.version, back.counter, back.lib_len, back.lib_sha256) == \
        (5, 1, 3, 3, 748, bytes(range(32)))
    assert repr(back) == "Commit(seq=5, slot=1, v3, counter=3)"


def test_every_damaged_commit_record_is_no_record():
    raw = bytearray(commitrec.encode(good_commit()))
    attacks = {
        "torn": bytes(raw[:59]),
        "longer": bytes(raw) + b"\x00",
        "magic": resealed(b"XCMT" + raw[4:]),
        "format": resealed(raw[:4] + b"\x02" + raw[5:]),
        "crc": bytes(raw[:59]) + bytes([raw[59] ^ 1]),
        "slot 2": resealed(raw[:5] + b"\x02" + raw[6:]),
        "flags": resealed(raw[:6] + pack_u16(1) + raw[8:]),
        "version 0": commitrec.encode(good_commit(version=0, counter=0)),
        "version above counter": commitrec.encode(good_commit(version=4, counter=3)),
    }
    for why, bad in attacks.items():
        assert commitrec.decode(bad) is None, why
    assert commitrec.decode(bytes(raw)) is not None
