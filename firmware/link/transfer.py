# A library push on the pump's side of the link (docs/protocol.md "BEGIN",
# "Windowed DATA", "END"; issue 4 and issue 11 item 1): BEGIN / DATA / END
# into a staging file on the pump's own storage (STAGE, described by
# STAGE_META), then installed from there by Pump.install_staged, which
# renames it onto the inactive slot and commits atomically (docs/storage.md,
# docs/adr/0003). The link never holds more than one frame of the library in
# RAM; a power cut or a broken link during the transfer leaves the active
# library untouched, and a transfer resumes where it stopped, even after the
# pump restarted. Each DATA, once stored, is read back and fed to a Scanner
# (Pump.receiver): END finds the library framed, hashed and indexed, and
# neither copies nor decodes it again.
#
# PumpServer (firmware/link/server.py) inherits Transfer: these methods run
# on its storage (self.st), pump (self.pump) and transfer state.
import hashlib

from firmware.link import frames as link
from firmware.errors import PumpError
from firmware.store.storage import CHUNK, reader

STAGE = "push.part"
STAGE_META = "push.meta"
META_MAGIC = b"PSHM"
META_LEN = 4 + 4 + 32 + 4
MAX_LIBRARY = 1048576  # largest library a push may announce
# Receive window a push may keep in flight (issue 11 item 1, docs/protocol.md
# "Windowed DATA"): bytes of DATA frames the host may send before it has the
# answer to the first. The pump's serial input buffer must hold this much
# (pumpmain's stdin pipe: 64 KiB; a board's UART ring: docs/board.md), so the
# pump never drops a frame because it was busy writing the previous one.
# 4 frames of 2044 library bytes cover the round trip of a USB-serial cable
# (2 x 16 ms latency = ~370 bytes at 115200 baud) many times over.
RX_WINDOW = 4 * (link.MAX_PAYLOAD - 4)

class TransferError(PumpError):
    """A library transfer is out of step (no transfer, gap, range, digest)."""
    code = "XFER_ERROR"

    def __init__(self, code, message, have=None):
        super().__init__(message)
        self.code = code
        self.have = have


XFER_NONE = "XFER_NONE"              # DATA/END without a transfer in progress
XFER_MISMATCH = "XFER_MISMATCH"      # END (or a repeated DATA) for another library than the one announced
XFER_GAP = "XFER_GAP"                # DATA offset is not where the pump is (field `have` says where)
XFER_RANGE = "XFER_RANGE"            # DATA past the announced length
XFER_INCOMPLETE = "XFER_INCOMPLETE"  # END before all bytes arrived
XFER_DIGEST = "XFER_DIGEST"          # received bytes do not hash to the announced SHA-256 (discarded)
XFER_TOO_LARGE = "XFER_TOO_LARGE"    # BEGIN announces 0 bytes or more than MAX_LIBRARY

def _meta_encode(total, sha):
    body = META_MAGIC + link.pack_u32(total) + sha
    return body + link.pack_u32(link.crc32(body))


def _meta_decode(b):
    if len(b) != META_LEN or b[:4] != META_MAGIC:
        return None
    if link.crc32(b[:META_LEN - 4]) != link.u32(b, META_LEN - 4):
        return None
    return link.u32(b, 4), bytes(b[8:40])


class Transfer:
    """The push half of the pump's server (see the top of this file)."""

    def _init_transfer(self):
        self.xfer = None  # (total, sha256) of the transfer in progress
        self.have = 0
        # issue 11 item 1: frames and hashes the transfer as each DATA is
        # stored (Pump.receiver), so END neither re-reads nor copies it;
        # None when it has not seen every stored byte from 0 (a transfer
        # resumed after a restart): END then scans the staged file.
        self.scan = None
        self._load_transfer()

    def _load_transfer(self):
        self.xfer = None
        self.have = 0
        try:
            if self.st.exists(STAGE_META):
                self.xfer = _meta_decode(self.st.read(STAGE_META, 0, META_LEN + 1))
            if self.xfer is not None:
                self.have = self.st.size(STAGE) if self.st.exists(STAGE) else 0
                if self.have > self.xfer[0]:
                    self._clear()
        except PumpError:
            self.xfer = None
            self.have = 0

    def _clear(self):
        self.scan = None
        self.st.remove(STAGE)
        self.st.remove(STAGE_META)
        self.st.sync()
        self.xfer = None
        self.have = 0

    def _stage_sha(self, n):
        h = hashlib.sha256()
        read = reader(self.st, STAGE, CHUNK)
        left = n
        while left:
            b = read(min(CHUNK, left))
            if not b:
                break
            h.update(b)
            left -= len(b)
        return h.digest()

    def begin(self, total, sha, flags):
        if total == 0 or total > MAX_LIBRARY:
            raise TransferError(XFER_TOO_LARGE, "a library of %d bytes cannot be pushed (1 to %d)"
                                % (total, MAX_LIBRARY))
        # issue 10 item 1: the library the pump runs is recognised before any DATA;
        # nothing staged, written or logged (docs/protocol.md, "BEGIN")
        same = None if flags & link.BEGIN_RESTART else self.pump.runs(total, sha)
        if same is not None:
            return {"have": 0, "status": "same", "version": same, "pump_id": self.pump_id}
        if flags & link.BEGIN_RESTART or self.xfer != (total, sha):
            # a new transfer: forget the old one first, then announce the new
            self._clear()
            self.st.write(STAGE_META, _meta_encode(total, sha))
            self.st.write(STAGE, b"")
            self.st.sync()
            self.xfer = (total, sha)
            self.have = 0
            self.scan = self.pump.receiver(STAGE)
        # pump_id: the host names the pump without asking INFO first (issue 11 item 1:
        # one round trip less per push)
        return {"have": self.have, "prefix_sha256": self._stage_sha(self.have), "window": RX_WINDOW,
                "pump_id": self.pump_id}

    def _need_xfer(self):
        if self.xfer is None:
            raise TransferError(XFER_NONE, "no library transfer in progress (send BEGIN)")

    def data(self, offset, chunk):
        self._need_xfer()
        total = self.xfer[0]
        end = offset + len(chunk)
        if end > total:
            raise TransferError(XFER_RANGE, "bytes %d..%d are past the announced length %d"
                                % (offset, end, total), self.have)
        if offset == self.have:
            try:
                self.st.append(STAGE, chunk)
            except PumpError:
                # A failed append may have written a prefix of the chunk (the
                # storage contract). Those bytes are the right ones at the right
                # offsets: take `have` from the file, so the host goes on from
                # there (BEGIN, XFER_GAP) instead of every later chunk landing
                # out of place and the transfer ending in XFER_DIGEST.
                self._resync_have()
                raise
            self.have = end
            self._scan_stored(offset, len(chunk))
        elif end <= self.have:  # a repeat of bytes already received: must be the same bytes
            if self.st.read(STAGE, offset, len(chunk)) != bytes(chunk):
                raise TransferError(XFER_MISMATCH, "bytes at offset %d differ from those received before"
                                    % offset, self.have)
        else:
            raise TransferError(XFER_GAP, "expected offset %d, got %d" % (self.have, offset), self.have)
        return {"have": self.have}

    def _scan_stored(self, offset, n):
        """Feed the scanner the chunk AS STORED (read back): install then
        verifies what storage holds, as a re-read at END would."""
        s = self.scan
        if s is None:
            return
        try:
            s.feed(self.st.read(STAGE, offset, n))
        except (PumpError, MemoryError):
            # END scans the staged file instead; the DATA itself was stored
            # and is answered (issue 11 item 5: out of memory is never silent,
            # and here it costs only END's speed)
            self.scan = None
            return
        if s.n != offset + n:  # a short read back, or a scanner out of step: END scans the file
            self.scan = None

    def _resync_have(self):
        self.scan = None  # a torn append: END scans what the file holds
        try:
            size = self.st.size(STAGE) if self.st.exists(STAGE) else 0
        except PumpError:
            return
        if self.xfer is not None and size <= self.xfer[0]:
            self.have = size

    def end(self, total, sha):
        self._need_xfer()
        if self.xfer != (total, sha):
            raise TransferError(XFER_MISMATCH, "END names another library than the transfer in progress",
                                self.have)
        if self.have != total:
            raise TransferError(XFER_INCOMPLETE, "received %d of %d bytes" % (self.have, total), self.have)
        # The staged file is hashed as it is NOW (a C-speed read, ~1 ms per
        # 64 KiB): flash that rotted since its DATA arrived is caught here.
        got = self._stage_sha(total)
        if got != sha:
            self._clear()
            raise TransferError(XFER_DIGEST, "received bytes do not match the announced SHA-256; "
                                "transfer discarded", 0)
        scan = self.scan if self.scan is not None and self.scan.n == total else None
        if scan is not None:
            try:
                scan.finish()
            except PumpError:
                pass  # a malformed library: install refuses it with its code, below
            if scan.file_sha256 != got:
                scan = None  # it framed other bytes than storage holds now: install scans the file
        try:
            result = self.pump.install_staged(STAGE, scan)
        finally:
            self._clear()  # installed, same or rejected: the staged copy is done with
        return {"status": result["status"], "version": result["version"], "previous": result["previous"]}
