# The therapy state and course record on the pump's storage, kept across
# power loss (docs/therapy.md, "Persistence"; the same discipline as the
# library commit record, firmware/store/commitrec.py).
#
#  off  len  field
#   0    4   magic "PTHR"
#   4    1   format = 1
#   5    2   fields_len u16
#   7    .   fields (firmware/store/logrec.py field encoding): the state, the
#            clock, the action number n, the course record, the bag, the
#            pending programming, the key of the request that made this state
#            and the log record that reports it
#   .    2   answer_len u16
#   .    .   answer: the reply sent for that request (UTF-8 JSON)
#   .    4   crc32 (IEEE) of everything before it
# Big-endian. Saved by writing therapy.new, then one atomic rename over
# therapy.rec (storage contract 1): a power cut leaves the old or the new
# state, never a mix; a torn therapy.new is removed at boot.
import binascii

from firmware.bigendian import pack_u16, pack_u32, u16, u32
from firmware.store import logrec
from firmware.therapy.course import Record
from firmware.therapy.state import STATES, Bag, Pending, Therapy

MAGIC = b"PTHR"
FORMAT = 1
FILE = "therapy.rec"
NEW = "therapy.new"
MAX_LEN = 4096


class Saved:
    """What is stored: the Therapy, the number of the last action that
    changed it, that request's key and answer, and its log record payload."""

    def __init__(self, therapy, n=0, key=b"", answer=b"", log_payload=b"", log_next=-1):
        self.therapy = therapy
        self.n = n
        self.log_next = log_next  # the event-log seq its record was to get
        self.key = key
        self.answer = answer
        self.log_payload = log_payload


def _ints(prefix, values, out):
    for i in range(len(values)):
        out["%s%d" % (prefix, i)] = values[i]


def _get_ints(prefix, f, n):
    return [f["%s%d" % (prefix, i)] for i in range(n)]


def encode(saved):
    t = saved.therapy
    f = {"state": t.state, "clock": t.clock_mh, "lost": t.lost, "n": saved.n, "key": bytes(saved.key),
         "log": bytes(saved.log_payload), "log_next": saved.log_next}
    if t.rec is not None:
        f["r_ind"] = t.rec.ind
        _ints("r", t.rec.as_list()[1:], f)
    if t.bag is not None:
        _ints("b", t.bag.as_list(), f)
    if t.pend is not None:
        f["p_soft"] = list(t.pend.soft)
        _ints("pb", t.pend.bag.as_list(), f)
        if t.pend.rec is not None:
            f["pr_ind"] = t.pend.rec.ind
            _ints("pr", t.pend.rec.as_list()[1:], f)
    fields = logrec.encode_fields(f)
    body = MAGIC + bytes((FORMAT,)) + pack_u16(len(fields)) + fields + pack_u16(len(saved.answer)) + bytes(saved.answer)
    return body + pack_u32(binascii.crc32(body) & 0xFFFFFFFF)


def _rec(ind, vals):
    return Record(ind, vals[0], vals[1], vals[2], vals[3], vals[4])


def decode(b):
    """A Saved, or None when the bytes are not one intact snapshot."""
    try:
        if len(b) < 13 or bytes(b[0:4]) != MAGIC or b[4] != FORMAT:
            return None
        if u32(b, len(b) - 4) != binascii.crc32(bytes(b[:len(b) - 4])) & 0xFFFFFFFF:
            return None
        flen = u16(b, 5)
        f = logrec.decode_fields(bytes(b[7:7 + flen]))
        alen = u16(b, 7 + flen)
        if 7 + flen + 2 + alen + 4 != len(b):
            return None
        answer = bytes(b[9 + flen:9 + flen + alen])
        t = Therapy()
        t.state = f["state"]
        if t.state not in STATES:
            return None
        t.clock_mh = f["clock"]
        t.lost = f["lost"]
        if "r_ind" in f:
            t.rec = _rec(f["r_ind"], _get_ints("r", f, 5))
        if "b0" in f:
            t.bag = Bag(*_get_ints("b", f, 7))
        if "p_soft" in f:
            prec = _rec(f["pr_ind"], _get_ints("pr", f, 5)) if "pr_ind" in f else None
            t.pend = Pending(list(f["p_soft"]), prec, Bag(*_get_ints("pb", f, 7)))
        return Saved(t, f["n"], f["key"], answer, f["log"], f["log_next"])
    except Exception:
        return None


def save(st, saved):
    data = encode(saved)
    st.write(NEW, data)
    st.sync()
    st.rename(NEW, FILE)
    st.sync()


def load(st):
    """-> (Saved or None, status): "fresh" (nothing stored), "ok", or
    "corrupt" (a snapshot that does not verify: it is kept aside as
    therapy.bad, the caller logs it)."""
    st.remove(NEW)  # a save cut short: the old snapshot is intact
    if not st.exists(FILE):
        return None, "fresh"
    size = st.size(FILE)
    data = st.read(FILE, 0, min(size, MAX_LEN + 1))
    saved = decode(data) if size <= MAX_LEN else None
    if saved is None:
        st.write("therapy.bad", data)
        st.remove(FILE)
        st.sync()
        return None, "corrupt"
    return saved, "ok"
