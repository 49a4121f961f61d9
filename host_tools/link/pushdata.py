"""The DATA phase of a push (docs/protocol.md "Windowed DATA"; issue 11
item 1): windowed for a pump that announces a receive window, stop-and-wait
for one that does not. Called by host_tools/link/client.py PumpLink.push."""
import time

from firmware.link import frames as link
from host_tools.errors import LinkError
from host_tools.link import answer


def stop_and_wait(lk, blob, have, progress, chunk):
    # client imports this module: its names are taken at call time
    from host_tools.link.client import MAX_STUCK, MAX_WINDOW, MIN_CHUNK, DeviceError, _fields  # noqa: F401

    total = len(blob)
    size = max(MIN_CHUNK, min(chunk, link.MAX_PAYLOAD - 4))
    clean = 0
    stuck = 0  # exchanges without progress (issue 11 item 6: bounded)
    while have < total:
        n = min(size, total - have)
        try:
            # while frames can still shrink, give up on a size sooner and halve it
            r = _fields(lk.request(link.DATA, link.pack_u32(have) + blob[have:have + n],
                                     retries=2 if size > MIN_CHUNK else None))
        except LinkError:
            if size > MIN_CHUNK:
                size = max(MIN_CHUNK, size // 2)
                clean = 0
                continue
            raise
        except DeviceError as e:
            if e.code in ("XFER_GAP", "XFER_MISMATCH") and "have" in e.fields:
                new = answer.check_have(e.fields, total, "ERR %s" % e.code)
                stuck = 0 if new > have else stuck + 1
                if stuck > MAX_STUCK:
                    raise answer.no_progress(lk.url, have, total, stuck) from None
                have = new  # the pump says where it is: go on from there
                _progress(progress, have)
                continue
            raise
        new = answer.check_have(r, total, "DATA")
        stuck = 0 if new > have else stuck + 1
        if stuck > MAX_STUCK:
            raise answer.no_progress(lk.url, have, total, stuck)
        have = new
        _progress(progress, have)
        # adapt the frame size to the line: halve after a retransmission, grow back when clean
        if lk.last_attempts > 1:
            size = max(MIN_CHUNK, size // 2)
            clean = 0
        else:
            clean += 1
            if clean >= 4 and size < chunk:
                size = min(chunk, size * 2)
                clean = 0

def windowed(lk, blob, have, window, progress, chunk, end=None):
    """DATA frames pipelined up to `window` bytes in flight (issue 11 item 1).

    Every DATA frame has its own sequence number; the pump handles them
    in order and answers each with its cumulative `have`, so one answer
    acknowledges every frame before it (a lost answer costs nothing).
    A lost or damaged frame makes the next ones land past `have`: the
    pump answers XFER_GAP with `have`, the host forgets what it had in
    flight, ignores answers to frames sent before, and sends again from
    `have` (go-back-N by offset). A silent line: after a timeout, the
    same. Safety is the pump's, as before: bytes are only appended at
    `have`, repeats must be equal, and END installs only if the whole
    staged library hashes to the SHA-256 announced at BEGIN.

    `end` (END's payload): END is sent right behind the last DATA frame, not
    after its answer (one round trip less per push). The pump handles frames
    in order, so END's answer follows every DATA answer: `installed` if all
    arrived, XFER_INCOMPLETE (with `have`) if one was lost. A go-back
    forgets it (its answer is stale) and END is sent again behind the
    resent frames. Returns None, or {"seq", "frame", "answer"} of the END
    in flight (answer: (type, payload) if it came, else None) for
    PumpLink.request to await and, if need be, retransmit with the same
    sequence number; also when a timeout hits with END in flight (the pump
    may be installing, or have installed: sending DATA again would find no
    transfer)."""
    # client imports this module: its names are taken at call time
    from host_tools.link.client import MAX_STUCK, MAX_WINDOW, MIN_CHUNK, DeviceError, _fields  # noqa: F401

    total = len(blob)
    size = max(MIN_CHUNK, min(chunk, link.MAX_PAYLOAD - 4))
    window = max(size, min(int(window), MAX_WINDOW))
    inflight = []  # [seq, offset, end] in send order
    pending = None  # the END sent behind the last DATA frame (see above)
    sent_end = most = have  # `most`: the highest offset sent (the pump cannot have more)
    clean = 0      # frames answered since the last go-back: the frame size grows back
    stuck = 0      # go-backs without progress (issue 11 item 6: bounded)
    timeout = lk._timeout(window + 2 * size, 64 * (window // size + 2))
    deadline = time.monotonic() + timeout
    while have < total:
        if clean >= 4 and size < chunk:
            size = min(chunk, size * 2)
            clean = 0
        # fill the window
        while sent_end < total and (sent_end - have) + min(size, total - sent_end) <= window:
            n = min(size, total - sent_end)
            lk.seq = (lk.seq + 1) % link.SEQ_MOD
            frame = link.encode(link.DATA, lk.seq, link.pack_u32(sent_end) + blob[sent_end:sent_end + n])
            try:
                lk.port.write(frame)
            except Exception as e:
                raise LinkError("cannot write to %s: %s" % (lk.url, e)) from None
            lk.stats["requests"] += 1
            inflight.append((lk.seq, sent_end, sent_end + n))
            sent_end += n
            most = max(most, sent_end)
        if end is not None and pending is None and sent_end == total:
            lk.seq = (lk.seq + 1) % link.SEQ_MOD
            pending = {"seq": lk.seq, "frame": link.encode(link.END, lk.seq, end), "answer": None}
            try:
                lk.port.write(pending["frame"])
            except Exception as e:
                raise LinkError("cannot write to %s: %s" % (lk.url, e)) from None
            lk.stats["requests"] += 1
        try:
            data = lk.port.read(max(1, lk.port.in_waiting or 0))
        except Exception as e:
            raise LinkError("cannot read from %s: %s" % (lk.url, e)) from None
        go_back = False
        for item in lk.dec.feed(data) if data else ():
            if isinstance(item, link.Fault):
                if item.reason != link.F_SHORT:
                    lk.stats["bad_frames"] += 1
                continue  # a damaged answer: a later one (cumulative) says as much
            if item.ftype == link.NAK:
                lk.stats["naks"] += 1  # a damaged DATA: the next ones get XFER_GAP
                continue
            if pending is not None and item.seq == pending["seq"] and item.ftype in (link.END | link.OK, link.ERR):
                pending["answer"] = (item.ftype, item.payload)
                continue
            pos = _find(inflight, item.seq)
            if pos < 0 or item.ftype not in (link.DATA | link.OK, link.ERR):
                lk.stats["stale"] += 1
                continue
            fields = _fields(item.payload)
            if item.ftype == link.ERR:
                code = fields.get("code")
                if code not in ("XFER_GAP", "XFER_MISMATCH") or "have" not in fields:
                    raise DeviceError(str(code or "PUMP_ERROR"), str(fields.get("message", "")), fields)
                new = answer.check_have(fields, total, "ERR %s" % code, most)
                go_back = True
            else:
                new = answer.check_have(fields, total, "DATA", most)
            if new > have:
                have = new
                stuck = 0
                clean += 1
                _progress(progress, have)
            elif not go_back:
                stuck += 1  # an answer that does not move `have`: a stuck pump is bounded too
                if stuck > MAX_STUCK * (window // size + 1):
                    raise answer.no_progress(lk.url, have, total, stuck)
            del inflight[:pos + 1]  # answered in order: every earlier frame is done with
            deadline = time.monotonic() + timeout
            if go_back:
                have = new  # the pump says where it is (it may be below: a resume by offset)
                break
        if not go_back and not inflight and sent_end > have:
            go_back = True  # every frame answered, yet the pump is behind: send again from its `have`
        if not go_back and inflight and time.monotonic() >= deadline:
            lk.stats["timeouts"] += 1
            if pending is not None:
                return pending  # END is in flight: await (or resend) it, never DATA past a finished transfer
            go_back = True
        if go_back:
            pending = None  # its answer (XFER_INCOMPLETE) is stale now; END goes again behind the resent frames
            stuck += 1
            if stuck > MAX_STUCK:
                raise answer.no_progress(lk.url, have, total, stuck)
            lk.stats["retransmissions"] += len(inflight)
            # a noisy line: smaller frames get through (halve; grow back when clean)
            size = max(MIN_CHUNK, size // 2)
            clean = 0
            inflight = []
            sent_end = have
            deadline = time.monotonic() + timeout
    return pending


def _find(inflight, seq):
    for i, entry in enumerate(inflight):
        if entry[0] == seq:
            return i
    return -1


def _progress(bar, have):
    if bar is not None:
        bar(have)
