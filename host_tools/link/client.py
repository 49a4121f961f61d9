"""Host side of the serial protocol (docs/protocol.md): one pump over one port.

`PumpLink(url)` opens the port with `serial.serial_for_url`, so device paths
(`/dev/ttyUSB0`, a pumpsim pty `/dev/pts/7`), `socket://host:port` and test
doubles all work. Requests are stop-and-wait: one outstanding request, a
16-bit sequence number, retransmitted byte for byte (same sequence number) on
a timeout, a NAK or a damaged answer; the pump answers a retransmission from
its cache and never applies it twice. After `retries` failed attempts the
request raises LinkError with what went wrong.

The framing and the pump's answers are decoded with the firmware's own
modules (firmware/link/frames.py, firmware/store/logrec.py): one truth for the wire.
"""
import hashlib
import random
import time

from firmware.link import frames as link
from firmware.store import logrec
from firmware.errors import LogCorruptError, PumpError
from host_tools.errors import DruglibError, LinkError
from host_tools.link import answer, pushdata

DEFAULT_BAUD = 115200
DEFAULT_RETRIES = 10
DATA_CHUNK = 512       # library bytes per DATA frame (the pump's storage chunk)
MIN_CHUNK = 64
MAX_WINDOW = 65536     # never more in flight than this, whatever a pump announces
MAX_STUCK = 16         # exchanges (or go-backs) without progress before a push gives up (issue 11 item 6)
LOG_CHUNK = 768        # log bytes asked per LOG request (firmware/pumpserve.LOG_DATA_MAX)
END_EXTRA_S = 2.0      # END waits for verification and the atomic commit on the pump:
END_EXTRA_PER_BYTE_S = 20e-6  # 2 s + 20 us per library byte (hashing, copying, signatures)

# longest answer expected on the wire per request type (bytes), for timeouts
ANSWER_BYTES = {link.LOG: LOG_CHUNK + 300, link.CHECK: link.MAX_FRAME + 12}
ANSWER_BYTES[link.THERAPY] = link.MAX_FRAME + 12

# device codes a pump returns when it verified the library and refused it
VERIFY_PREFIXES = ("LIB_", "SIG_", "TRUST_")


class DeviceError(DruglibError):
    """The pump answered with an error response: its stable code and message."""

    def __init__(self, code, message, fields=None):
        self.code = code
        self.message = message
        self.fields = fields or {}
        super().__init__("%s: %s" % (code, message))


def open_port(url, baud, read_timeout=0.02):
    """Open `url` for this command alone (issue 11 item 7): exclusive=True takes
    pyserial's flock(LOCK_EX | LOCK_NB) on a posix device or pty, so a second
    druglib command on a busy port gets one clear line instead of interleaving
    its frames with the first one's; URL handlers without a lock (loop://,
    socket://) accept the keyword and ignore it (pyserial SerialBase)."""
    import errno

    import serial

    try:
        return serial.serial_for_url(url, baudrate=baud, timeout=read_timeout, write_timeout=10, exclusive=True)
    except (serial.SerialException, ValueError, OSError) as e:
        if getattr(e, "errno", None) in (errno.EAGAIN, errno.EWOULDBLOCK, errno.EACCES) and "lock" in str(e):
            raise LinkError("port %s is busy: another program (or another druglib command) has it open; "
                            "wait for it to finish, then try again" % url) from None
        raise LinkError("cannot open port %s: %s" % (url, e)) from None


class PumpLink:
    """A protocol client. `port` may be any object with read(n), write(b),
    in_waiting, reset_input_buffer() and close() (a pyserial port or a test double)."""

    def __init__(self, url=None, baud=DEFAULT_BAUD, retries=DEFAULT_RETRIES, timeout=None, port=None,
                 seed=None, end_extra=None):
        self.url = url or getattr(port, "name", "port")
        self.baud = baud
        self.retries = retries
        self.base_timeout = timeout
        self.end_extra = end_extra  # None: END_EXTRA_S + END_EXTRA_PER_BYTE_S per byte
        self.port = port if port is not None else open_port(url, baud)
        try:
            self.port.reset_input_buffer()  # late answers of an earlier session
        except Exception:
            pass
        self.dec = link.Decoder()
        rng = random.Random(seed)
        self.seq = rng.randrange(link.SEQ_MOD)  # a fresh session never reuses the last session's numbers
        self.stats = {"requests": 0, "retransmissions": 0, "timeouts": 0, "naks": 0, "bad_frames": 0,
                      "stale": 0}
        self.last_attempts = 0

    def close(self):
        try:
            self.port.close()
        except Exception:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _timeout(self, nbytes, answer, extra=0.0):
        if self.base_timeout is not None:
            return self.base_timeout + extra
        # request + its answer on the wire, three times over, plus the pump's latency
        wire = (nbytes + answer) * 10.0 / self.baud
        return 0.4 + 3 * wire + extra

    def request(self, ftype, payload=b"", extra_timeout=0.0, retries=None, sent=None):
        """Send one request; -> the OK answer's payload. ERR -> DeviceError.

        `sent`: the request was already written once (pushdata.windowed's END
        behind the last DATA frame: {"seq", "frame", "answer"}); its first
        attempt is that one, retransmissions repeat its frame and seq."""
        retries = self.retries if retries is None else retries
        if sent is None:
            self.seq = (self.seq + 1) % link.SEQ_MOD
            seq = self.seq
            frame = link.encode(ftype, seq, payload)
            self.stats["requests"] += 1
        else:
            seq, frame = sent["seq"], sent["frame"]
        timeout = self._timeout(len(frame), ANSWER_BYTES.get(ftype, 300), extra_timeout)
        why = []
        for attempt in range(1, retries + 2):
            self.last_attempts = attempt
            if attempt > 1:
                self.stats["retransmissions"] += 1
            if sent is not None and attempt == 1:
                answer = sent["answer"] or self._await(ftype, seq, timeout, why)
            else:
                try:
                    self.port.write(frame)
                except Exception as e:
                    raise LinkError("cannot write to %s: %s" % (self.url, e)) from None
                answer = self._await(ftype, seq, timeout, why)
            if answer is not None:
                rtype, body = answer
                if rtype == link.ERR:
                    fields = _fields(body)
                    raise DeviceError(str(fields.get("code", "PUMP_ERROR")), str(fields.get("message", "")),
                                      fields)
                return body
        raise LinkError("pump on %s did not answer %s after %d attempts (%s)"
                        % (self.url, link.NAMES.get(ftype, ftype), retries + 1, _summary(why)))

    def _await(self, ftype, seq, timeout, why):
        deadline = time.monotonic() + timeout
        while True:
            if time.monotonic() >= deadline:
                self.stats["timeouts"] += 1
                why.append("timeout")
                return None
            try:
                data = self.port.read(max(1, self.port.in_waiting or 0))
            except Exception as e:
                raise LinkError("cannot read from %s: %s" % (self.url, e)) from None
            if not data:
                continue
            retransmit = False
            found = None
            for item in self.dec.feed(data):
                if isinstance(item, link.Fault):
                    if item.reason != link.F_SHORT:
                        self.stats["bad_frames"] += 1
                        why.append("damaged answer")
                        retransmit = True
                elif item.ftype == link.NAK:
                    self.stats["naks"] += 1
                    why.append("NAK")
                    retransmit = True
                elif item.seq == seq and item.ftype in (ftype | link.OK, link.ERR):
                    found = (item.ftype, item.payload)
                else:
                    self.stats["stale"] += 1  # an answer to an earlier (retransmitted) request
            if found is not None:
                return found
            if retransmit:
                return None

    # --- commands ---
    def info(self):
        return answer.check_info(_fields(self.request(link.INFO)))

    def check(self, text):
        """One programming (JSON text) checked and logged by the pump -> its result JSON."""
        data = text.encode("utf-8")
        if len(data) > link.MAX_PAYLOAD:
            raise DruglibError("a programming of %d bytes does not fit in one frame (at most %d)"
                               % (len(data), link.MAX_PAYLOAD))
        return self.request(link.CHECK, data).decode("utf-8", "replace")

    def therapy(self, action_text):
        """One therapy action (JSON text, docs/therapy.md) -> the pump's step
        result as a dict: result, codes, state, clock_mh, n, record, findings."""
        import json

        data = action_text.encode("utf-8")
        if len(data) > link.MAX_PAYLOAD:
            raise DruglibError("an action of %d bytes does not fit in one frame (at most %d)"
                               % (len(data), link.MAX_PAYLOAD))
        body = self.request(link.THERAPY, data)
        try:
            return json.loads(body.decode("utf-8"))
        except ValueError:
            raise LinkError("the pump sent a therapy answer that is not JSON") from None

    def push(self, blob, progress=None, chunk=None):
        """Install `blob` on the pump: BEGIN, DATA..., END. Resumes a transfer
        the pump already holds part of. -> END's fields {status, version,
        previous} plus "resumed_from" and "pump_id" (BEGIN names the pump); DeviceError if the pump refuses.
        The library the pump already runs is recognised at BEGIN ("same",
        "sent": 0): no DATA is sent (issue 10 item 1).

        A pump that announces a receive `window` in BEGIN's answer gets
        several DATA frames in flight (issue 11 item 1, docs/protocol.md
        "Windowed DATA"); one that does not gets stop-and-wait."""
        total = len(blob)
        sha = hashlib.sha256(blob).digest()
        r = self._begin(total, sha, 0, _header_version(blob))
        if r.get("status") == "same":
            # the pump runs exactly these bytes (issue 10 item 1): nothing to send
            return {"status": "same", "version": r["version"], "previous": r["version"],
                    "resumed_from": 0, "sent": 0, "pump_id": r.get("pump_id")}
        pump_id = r.get("pump_id")  # None from a pump older than issue 11
        have = r["have"]
        if have and hashlib.sha256(blob[:have]).digest() != r["prefix_sha256"]:
            r = self._begin(total, sha, link.BEGIN_RESTART, None)
            have = r["have"]
            if have:
                raise LinkError("the pump on %s kept %d bytes after BEGIN RESTART" % (self.url, have))
        resumed = have
        _progress(progress, have)
        window = r.get("window")
        end = link.pack_u32(total) + sha
        extra = self.end_extra if self.end_extra is not None else END_EXTRA_S + END_EXTRA_PER_BYTE_S * total
        stuck = 0
        try:
            while True:
                if window:
                    # frames as large as a frame may be, but at least 4 per library: a
                    # lost frame then never costs more than a quarter of a small push,
                    # and a cut mid-push leaves a resumable prefix (docs/protocol.md);
                    # END goes right behind the last frame
                    sent = pushdata.windowed(self, blob, have, window, progress,
                                             chunk or max(DATA_CHUNK // 2, min(link.MAX_PAYLOAD - 4, total // 4)),
                                             end)
                else:
                    sent = pushdata.stop_and_wait(self, blob, have, progress, chunk or DATA_CHUNK)
                try:
                    r = _fields(self.request(link.END, end, extra_timeout=extra, sent=sent))
                    break
                except DeviceError as e:
                    # END behind DATA that did not all arrive: the pump says where it is
                    if e.code != "XFER_INCOMPLETE" or "have" not in e.fields:
                        raise
                    new = answer.check_have(e.fields, total, "ERR XFER_INCOMPLETE")
                    stuck = 0 if new > have else stuck + 1
                    if stuck > MAX_STUCK:
                        raise answer.no_progress(self.url, have, total, stuck) from None
                    have = new
                    self.stats["retransmissions"] += 1  # the lost frames go again
        except DeviceError as e:
            # END was sent more than once and the transfer is gone: the pump
            # finished it (and restarted) before its answer reached us. Ask.
            if e.code == "XFER_NONE" and self.last_attempts > 1:
                info = self.info()
                version = _header_version(blob)
                # the pushed BYTES, not only their version (issue 10 item 1: other
                # bytes under that version are refused, so the version alone proves nothing)
                if version is not None and info.get("version") == version and info.get("library_sha256") == sha:
                    return {"status": "installed", "version": version, "previous": None,
                            "resumed_from": resumed, "confirmed_by": "INFO", "pump_id": info.get("pump_id")}
            raise
        answer.check_end(r, _header_version(blob))
        r["resumed_from"] = resumed
        r["pump_id"] = pump_id
        return r

    def _begin(self, total, sha, flags, version):
        r = _fields(self.request(link.BEGIN, link.pack_u32(total) + sha + bytes((flags,))))
        if r.get("status") == "same" and not flags & link.BEGIN_RESTART:
            answer.check_same(r, version)
        else:
            answer.check_begin(r, total)
        return r

    def pull_log(self, tries=3):
        """-> (log bytes, (head seq, head chain), record count), verified with
        firmware/logrec.verify_chain against the head the pump reported."""
        last = None
        for _ in range(tries):
            r = _fields(self.request(link.LOG, link.pack_u32(0) + link.pack_u16(LOG_CHUNK)))
            size, seq, chain, first = answer.check_log(r, 0)
            data = bytearray(first)
            while len(data) < size:
                r = _fields(self.request(link.LOG, link.pack_u32(len(data)) + link.pack_u16(LOG_CHUNK)))
                more = answer.check_log(r, len(data))[3]
                if not more:
                    break
                data += more
            data = bytes(data[:size])
            try:
                count, _s, _c = logrec.verify_chain(data, (seq, chain) if seq >= 0 else None)
                return data, (seq, chain), count
            except LogCorruptError as e:
                last = e
                now = answer.check_log(_fields(self.request(link.LOG, link.pack_u32(0) + link.pack_u16(0))), 0)
                if now[:2] == (size, seq):
                    break  # the log did not move while we read it: it really is corrupt
        raise DeviceError(LogCorruptError.code, "the pump's event log does not verify: %s" % last.message)


def _fields(body):
    try:
        return logrec.decode_fields(body)
    except PumpError:
        raise LinkError("the pump sent an answer that does not decode") from None


def _summary(why):
    if not why:
        return "no answer"
    counts = {}
    for w in why:
        counts[w] = counts.get(w, 0) + 1
    return ", ".join("%s x%d" % (k, v) for k, v in sorted(counts.items()))


def _progress(bar, have):
    if bar is not None:
        bar(have)


def _header_version(blob):
    from firmware.library import container

    try:
        return container.parse_header(blob[:container.HEADER_LEN]).library_version
    except PumpError:
        return None
