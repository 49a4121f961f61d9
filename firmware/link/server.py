# The pump's command server on the serial link (docs/protocol.md). Pure-ish:
# bytes in (feed), bytes out (returned), over a Pump and its storage; no
# serial port, no clock (the shell calls idle() after an inter-byte timeout).
#
# A library push (BEGIN / DATA / END) is received by the Transfer half of
# this server, firmware/link/transfer.py: into a staging file, installed
# from there with one atomic commit (docs/storage.md).
import hashlib

from firmware.link import frames as link
from firmware.store import logrec
from firmware.link.answers import Built as _Built, result_payload as _result_payload
from firmware.jsontext import decode_utf8
from firmware.errors import PumpError
from firmware.link.transfer import Transfer
from firmware.link.transfer import MAX_LIBRARY, RX_WINDOW, STAGE, STAGE_META, TransferError  # noqa: F401 (re-exported)

LOG_DATA_MAX = 768  # log bytes per LOG response (fields are limited to logrec.MAX_PAYLOAD)
NAK_CREDIT_MAX = 2 * link.MAX_ENCODED  # received bytes a burst of NAKs may draw on


# --- link-level errors (stable codes, docs/protocol.md "Error codes") ---
class LinkRequestError(PumpError):
    """A request the pump cannot parse (unknown type, wrong payload length)."""
    code = "LINK_BAD_REQUEST"


class LinkTooLargeError(PumpError):
    """An answer that does not fit in one frame."""
    code = "LINK_TOO_LARGE"


LINK_TOO_LARGE = "LINK_TOO_LARGE"    # a response would not fit in one frame

# requests that change state: a retransmission (same seq, same bytes) gets the
# cached response and is never executed twice
_MUTATING = (link.BEGIN, link.DATA, link.END, link.ABORT, link.CHECK, link.THERAPY)


class PumpServer(Transfer):
    def __init__(self, pump, pump_id=""):
        self.pump = pump
        self.st = pump.store.st
        self.pump_id = pump_id
        self.dec = link.Decoder()
        self.last = None  # ((seq, type, whole payload), encoded response)
        self.naks = 0
        self.nak_credit = 0
        self.oom = logrec.encode_fields({"code": PumpError.code, "message": "out of memory"})
        self.seq = 0
        self._init_transfer()  # BEGIN / DATA / END: firmware/link/transfer.py

    # --- bytes in, bytes out ---
    def feed(self, data):
        out = []
        # NAK budget (docs/protocol.md, "Framing"): the pump never sends more
        # NAK bytes than it received, so garbage on the line (an attacker's
        # 2-byte fragments drew 14-byte NAKs: 7x their bandwidth) can never
        # make the pump's answers fall behind the line.
        self.nak_credit = min(self.nak_credit + len(data), NAK_CREDIT_MAX)
        for item in self.dec.feed(data):
            if isinstance(item, link.Frame):
                if item.ftype & link.OK:
                    # An answer, ERR or NAK is never a request: the line echoes
                    # (loopback plug, RS-485 echo, two pumps cabled together).
                    # Answering it made the pump talk to itself forever; the
                    # pump never speaks unasked (docs/protocol.md).
                    continue
                try:
                    out.append(self.handle(item))
                except MemoryError:
                    # issue 11 item 5: never out of memory, never silent. The
                    # answer of a request that ran out of heap (wherever:
                    # dispatch, encoding, the resend cache) is an error, its
                    # payload formatted at start-up; the loop goes on.
                    out.append(self.out_of_memory(item.seq))
            elif item.reason != link.F_SHORT:  # short fragments are line noise: no answer
                nak = link.encode(link.NAK, 0, item.reason.encode())
                if self.nak_credit >= len(nak):
                    self.nak_credit -= len(nak)
                    self.naks += 1
                    out.append(nak)
        if len(out) == 1:
            return out[0]  # the usual case: no joined copy (a CHECK's answer is built before its log)
        return b"".join(out)

    def out_of_memory(self, seq):
        """The ERR frame for a request that ran out of heap (issue 11 item 5):
        its payload was formatted at start-up; b"" if even framing fails
        (the host resends after its timeout)."""
        try:
            return link.encode(link.ERR, seq, self.oom)
        except MemoryError:
            return b""

    def idle(self):
        """Inter-byte timeout: forget an unfinished frame."""
        self.dec.reset()

    def handle(self, frame):
        # The resend cache is keyed on the sequence number, the type and the
        # WHOLE payload (issue 11 item 6): keyed on its CRC-32, a different
        # programming with a colliding CRC and the same seq got the earlier
        # answer ("accept") unchecked. Bounded: one payload of <= MAX_PAYLOAD.
        key = (frame.seq, frame.ftype, bytes(frame.payload))
        if self.last is not None and self.last[0] == key:
            return self.last[1]  # a retransmission: answer again, never apply twice
        # THERAPY: kept with the state it makes, so a resend after a reboot
        # runs once. 7 bytes in the saved state (seq, type, 4 bytes of the
        # payload's SHA-256): not its CRC-32, which a crafted payload can match
        # (issue 11 item 6); the saved format keeps its size.
        self.key = (frame.seq, frame.ftype, hashlib.sha256(bytes(frame.payload)).digest()[:4])
        self.seq = frame.seq
        try:
            rtype, fields = self._dispatch(frame.ftype, frame.payload)
            if isinstance(fields, _Built):  # a CHECK: its answer frame was built before its log
                self.last = (key, fields.frame)
                return fields.frame
        except PumpError as e:
            rtype, fields = link.ERR, {"code": e.code, "message": e.message[:200]}
            have = getattr(e, "have", None)
            if have is not None:
                fields["have"] = have
        except MemoryError:  # no room to format a message: the one formatted at start-up
            rtype, fields = link.ERR, self.oom
            key = None  # not cached: a resend runs again (a CHECK that ran out was not logged)
        except Exception as e:  # never let a request crash the pump's link
            rtype, fields = link.ERR, {"code": PumpError.code, "message": ("internal error: %r" % e)[:200]}
        try:  # CHECK answers with the result text itself, the others with fields
            payload = fields if isinstance(fields, bytes) else logrec.encode_fields(fields)
        except ValueError:  # fields over logrec.MAX_PAYLOAD
            payload = None
        if payload is None or len(payload) > link.MAX_PAYLOAD:
            payload = logrec.encode_fields({"code": LINK_TOO_LARGE, "message": "response too large for one frame"})
            rtype = link.ERR
        resp = link.encode(rtype, frame.seq, payload)
        if frame.ftype in _MUTATING and key is not None:
            self.last = (key, resp)
        return resp

    def _dispatch(self, ftype, p):
        if ftype == link.INFO:
            _empty(ftype, p)
            return link.INFO | link.OK, self.info()
        if ftype == link.BEGIN:
            if len(p) != 37:
                raise LinkRequestError("BEGIN needs 37 bytes, got %d" % len(p))
            return link.BEGIN | link.OK, self.begin(link.u32(p, 0), bytes(p[4:36]), p[36])
        if ftype == link.DATA:
            if len(p) < 5:
                raise LinkRequestError("DATA needs an offset and at least one byte")
            return link.DATA | link.OK, self.data(link.u32(p, 0), p[4:])
        if ftype == link.END:
            if len(p) != 36:
                raise LinkRequestError("END needs 36 bytes, got %d" % len(p))
            return link.END | link.OK, self.end(link.u32(p, 0), bytes(p[4:36]))
        if ftype == link.ABORT:
            _empty(ftype, p)
            self._clear()
            return link.ABORT | link.OK, {}
        if ftype == link.LOG:
            if len(p) != 6:
                raise LinkRequestError("LOG needs 6 bytes, got %d" % len(p))
            return link.LOG | link.OK, self.log_chunk(link.u32(p, 0), link.u16(p, 4))
        if ftype == link.CHECK:
            try:
                # the checker's own strict UTF-8 (issue 8): MicroPython's decode()
                # accepts encoded surrogates and overlong forms that CPython refuses
                text = decode_utf8(bytes(p))
            except Exception:
                raise LinkRequestError("CHECK payload is not UTF-8 text")
            # ONE programming per CHECK (docs/protocol.md, "CHECK"): the text is
            # never split into JSON Lines. Splitting let one 2 KB frame check
            # and log ~700 programmings (rolling the install records off the
            # event log) and then answer LINK_TOO_LARGE. JSON Lines text is
            # now one malformed programming: rejected, logged once.
            # Issue 11 item 5: the answer frame is built BEFORE the check is
            # logged; a MemoryError while building it leaves the check
            # unlogged and answered ERR. Before, the verdict was logged and
            # then answered "out of memory".
            built = _Built()
            seq = self.seq

            def answer(result):
                payload = _result_payload(result)
                if len(payload) <= link.MAX_PAYLOAD:
                    built.frame = link.encode(link.CHECK | link.OK, seq, payload)

            result = self.pump.check(text, answer)
            if built.frame is None:
                raise LinkTooLargeError("the result of %d findings does not fit in one frame (verdict %s); "
                                        "the check is logged" % (len(result.findings), result.verdict))
            return link.CHECK | link.OK, built
        if ftype == link.THERAPY:
            return link.THERAPY | link.OK, self.therapy(p)
        raise LinkRequestError("unknown request type 0x%02x" % ftype)

    # --- THERAPY: one action of the infusion (docs/therapy.md) ---
    def therapy(self, p):
        try:
            text = decode_utf8(bytes(p))  # strict on both engines, as CHECK (issue 8)
        except Exception:
            raise LinkRequestError("THERAPY payload is not UTF-8 text")
        seq, ftype, digest4 = self.key
        key = link.pack_u16(seq) + bytes((ftype,)) + digest4
        return self.pump.act(text, key)

    # --- INFO ---
    def info(self):
        pump = self.pump
        lib = pump.lib
        log = pump.log
        return {"proto": link.PROTO_VERSION, "pump_id": self.pump_id,
                "state": "ok" if lib is not None else "no-library",
                "library": lib["library_name"] if lib is not None else "",
                "version": pump.store.version() if lib is not None else 0,
                # issue 10 item 1: the digest beside the version (whole file, commit record)
                "library_sha256": bytes(pump.store.active.lib_sha256) if lib is not None else b"",
                "counter": pump.store.counter, "fault": pump.fault or "",
                "log_seq": log.seq, "log_size": log.size or 0,
                "max_payload": link.MAX_PAYLOAD,
                "transfer_have": self.have if self.xfer is not None else 0}

    # --- LOG ---
    def log_chunk(self, offset, n):
        log = self.pump.log  # the log's own accessors (store/eventlog.py: size_bytes, read)
        return {"size": log.size_bytes(), "seq": log.seq, "chain": bytes(log.chain),
                "data": log.read(offset, min(n, LOG_DATA_MAX))}


def _empty(ftype, p):
    if len(p):
        raise LinkRequestError("%s takes no payload, got %d bytes" % (link.NAMES.get(ftype, ftype), len(p)))
