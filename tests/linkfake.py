"""Test doubles for the serial link: a pyserial-like port wired straight to a
PumpServer in process, with a seeded fault-injecting line in both directions."""
import random
import time

from firmware.pump import Pump
from firmware.link.server import PumpServer


def flip(rng, data, drop, corrupt):
    """Each byte dropped with probability `drop`, else one bit flipped with `corrupt`."""
    if not drop and not corrupt:
        return bytes(data)
    out = bytearray()
    for b in data:
        if drop and rng.random() < drop:
            continue
        if corrupt and rng.random() < corrupt:
            b ^= 1 << rng.randrange(8)
        out.append(b)
    return bytes(out)


class FakePort:
    """write() hands the (faulted) bytes to the server; its answer (faulted) is read back."""

    name = "fake"

    def __init__(self, server, drop=0.0, corrupt=0.0, seed=0, mute=False):
        self.server = server
        self.drop, self.corrupt = drop, corrupt
        self.rng = random.Random(seed)
        self.inbox = bytearray()
        self.mute = mute  # a pump that never answers (unplugged cable)
        self.sent = 0

    def write(self, data):
        self.sent += len(data)
        if self.mute:
            return len(data)
        answer = self.server.feed(flip(self.rng, data, self.drop, self.corrupt))
        self.inbox += flip(self.rng, answer, self.drop, self.corrupt)
        return len(data)

    @property
    def in_waiting(self):
        return len(self.inbox)

    def read(self, n):
        if not self.inbox:
            time.sleep(0.001)
            return b""
        out = bytes(self.inbox[:n])
        del self.inbox[:n]
        return out

    def reset_input_buffer(self):
        self.inbox.clear()

    def close(self):
        pass


def make_server(storage, trust, pump_id="test-pump"):
    pump = Pump(storage, trust)
    pump.boot()
    return PumpServer(pump, pump_id)
