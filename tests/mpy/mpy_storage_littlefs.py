# FileStorage + PumpStore on a real littlefs (VfsLfs2) volume, with power cut
# at every block erase/program of an install (issue 4: "files on the device
# filesystem (works on ... littlefs boards)"). The block device freezes a
# snapshot of the flash at the cut (for a program: half of it applied, a
# torn program); the pump then "reboots" on a fresh mount of that snapshot.
# Also exercises FileStorage on the unix port's POSIX filesystem.
import os

import libsample
from firmware.store.eventlog import EventLog
from firmware.store.slots import PumpStore
from firmware.store.storage import FileStorage

BLOCK = 512
NBLOCKS = 128
MOUNT = "/lfs"


class FlashDev:
    """RAM block device that freezes a snapshot at block operation `cut`."""

    def __init__(self, data, cut=-1):
        self.data = data
        self.ops = 0
        self.cut = cut
        self.frozen = None

    def _op(self, block_num, buf, offset):
        if self.ops == self.cut:
            snap = bytearray(self.data)
            if buf is not None:  # torn program: the first half lands
                addr = block_num * BLOCK + offset
                half = len(buf) // 2
                snap[addr:addr + half] = buf[:half]
            self.frozen = snap
        self.ops += 1

    def readblocks(self, block_num, buf, offset=0):
        addr = block_num * BLOCK + offset
        buf[:] = self.data[addr:addr + len(buf)]

    def writeblocks(self, block_num, buf, offset=None):
        if offset is None:
            offset = 0
        self._op(block_num, buf, offset)
        addr = block_num * BLOCK + offset
        self.data[addr:addr + len(buf)] = buf

    def ioctl(self, op, arg):
        if op == 4:
            return NBLOCKS
        if op == 5:
            return BLOCK
        if op == 6:  # erase
            self._op(arg, None, 0)
            for i in range(arg * BLOCK, (arg + 1) * BLOCK):
                self.data[i] = 0xFF
            return 0
        return 0


def mount(dev):
    try:
        os.umount(MOUNT)
    except OSError:
        pass
    os.mount(os.VfsLfs2(dev), MOUNT)
    st = FileStorage(MOUNT + "/pump")
    return st, PumpStore(st, EventLog(st, 8192))


OLD_V, NEW_V = 4, 5
old = libsample.make_library(OLD_V, 1536)
new = libsample.make_library(NEW_V, 1536)

# baseline flash: formatted, v4 installed
dev = FlashDev(bytearray(b"\xff" * (BLOCK * NBLOCKS)))
os.VfsLfs2.mkfs(dev)
st, ps = mount(dev)
ps.boot()
ps.install(old)
base = bytes(dev.data)

# dry run: how many block operations does installing v5 take?
dev = FlashDev(bytearray(base))
st, ps = mount(dev)
ps.boot()
start = dev.ops
ps.install(new)
total = dev.ops - start

tried = 0
for k in range(total):
    dev = FlashDev(bytearray(base))
    st, ps = mount(dev)
    ps.boot()
    dev.cut = dev.ops + k
    ps.install(new)
    assert dev.frozen is not None
    st2, ps2 = mount(FlashDev(dev.frozen))
    rep = ps2.boot()
    assert ps2.active is not None, (k, rep)
    v = ps2.version()
    assert ps2.library_bytes() == {OLD_V: old, NEW_V: new}[v], k
    assert ps2.counter >= OLD_V
    ps2.log.verify()
    tried += 1
os.umount(MOUNT)
print("littlefs block-operation cut points tried: %d" % tried)
assert tried > 10

# FileStorage on the unix port's own filesystem
import binascii

root = "/tmp/mpy_storage_" + str(binascii.hexlify(os.urandom(4)), "ascii")
st = FileStorage(root)
for name in st.listdir():
    st.remove(name)
ps = PumpStore(st, EventLog(st))
ps.boot()
ps.install(old)
ps.install(new)
ps3 = PumpStore(FileStorage(root), EventLog(FileStorage(root)))
assert ps3.boot()["version"] == NEW_V and ps3.selftest() == NEW_V
for name in st.listdir():
    st.remove(name)
os.rmdir(root)
print("OK mpy_storage_littlefs")
