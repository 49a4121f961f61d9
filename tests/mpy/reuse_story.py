# Issue 10 items 1 and 2 as stories on the pump's firmware, run alike under
# CPython and the MicroPython unix port (tests/test_version_reuse.py runs this
# file on both engines and asserts the same lines).
#
# stdin, one item a line, hex-encoded bytes:
#   trust HEX      the trust store the pump boots with
#   lib HEX        the released library the pump runs (installed first)
#   fix HEX        another released library under the SAME version ("a corrected limit")
#   dup NAME HEX   a trust store text that must be malformed (duplicate keys)
# stdout: one result line per step, then "OK reuse_story".
import hashlib
import sys

from firmware.errors import PumpError
from firmware.link import frames as link
from firmware.link.server import STAGE, PumpServer
from firmware.pump import Pump
from firmware.release import trust
from firmware.store import logrec
from firmware.store.faultstorage import FaultStorage
from firmware.store.slots import COMMIT, SLOTS

SEQ = [100]


def ask(srv, ftype, payload=b""):
    SEQ[0] += 1
    out = [f for f in link.Decoder().feed(srv.feed(link.encode(ftype, SEQ[0], payload))) if isinstance(f, link.Frame)]
    assert len(out) == 1, out
    return out[0].ftype, logrec.decode_fields(out[0].payload)


def push(srv, blob):
    """BEGIN, DATA..., END as the host does -> (outcome, DATA frames sent)."""
    sha = hashlib.sha256(blob).digest()
    t, f = ask(srv, link.BEGIN, link.pack_u32(len(blob)) + sha + b"\x00")
    if t == link.ERR:
        return f["code"], 0
    if f.get("status") == "same":
        return "same-at-BEGIN v%d" % f["version"], 0
    off, frames = f["have"], 0
    while off < len(blob):
        t, f = ask(srv, link.DATA, link.pack_u32(off) + blob[off:off + 512])
        if t == link.ERR:
            return f["code"], frames
        off, frames = f["have"], frames + 1
    t, f = ask(srv, link.END, link.pack_u32(len(blob)) + sha)
    return (f["code"] if t == link.ERR else f["status"]), frames


def state(st):
    """What a refusal must leave as it was: the commit record and both slots."""
    return (st.medium.get(COMMIT), st.medium.get(SLOTS[0]), st.medium.get(SLOTS[1]))


def kinds(data):
    return [k for _, k, _ in logrec.decode_all(data)]


def added(before, after):
    assert after[:len(before)] == before, "the log was rewritten"
    return after[len(before):]


def boot(medium, ts):
    st = FaultStorage(medium)
    pump = Pump(st, ts)
    pump.boot()
    return st, PumpServer(pump, "story")


def reuse_story(ts, lib, fix, out):
    st, srv = boot(None, ts)
    medium = st.medium
    r = push(srv, lib)
    out.append("arrange: %s, %d DATA frames" % r)
    t, info = ask(srv, link.INFO)
    out.append("info: version %d, digest is the library's: %s" % (
        info["version"], info["library_sha256"] == hashlib.sha256(lib).digest()))

    # the identical library: recognised at BEGIN, no byte sent, nothing changes
    before, log0 = state(st), srv.pump.log.read_all()
    r = push(srv, lib)
    out.append("identical: %s, %d DATA frames; unchanged: %s; log unchanged: %s; nothing staged: %s" % (
        r[0], r[1], state(st) == before, srv.pump.log.read_all() == log0, not st.exists(STAGE)))

    # the attack: other bytes under the installed version
    r = push(srv, fix)
    log1 = srv.pump.log.read_all()
    new = logrec.decode_all(log1)[len(logrec.decode_all(log0)):]
    out.append("reused version: %s; commit record and slots unchanged: %s; log gained %s %s" % (
        r[0], state(st) == before, [k for _, k, _ in new], [f.get("code") for _, _, f in new]))
    t, info = ask(srv, link.INFO)
    out.append("still runs: version %d, the first library: %s, state %s" % (
        info["version"], info["library_sha256"] == hashlib.sha256(lib).digest(), info["state"]))

    # after a reboot, the same
    st2, srv2 = boot(medium, ts)
    t, info = ask(srv2, link.INFO)
    out.append("after reboot: version %d, the first library: %s, unchanged: %s, log gained %s" % (
        info["version"], info["library_sha256"] == hashlib.sha256(lib).digest(), state(st2) == before,
        added(kinds(log1), kinds(srv2.pump.log.read_all()))))

    # the active slot decays: self-test fails; other bytes under the version are
    # still refused (the commit record knows the digest), the identical ones repair
    a = srv2.pump.store.active
    medium.files[SLOTS[a.slot]][-1] ^= 1
    st3, srv3 = boot(medium, ts)
    t, info = ask(srv3, link.INFO)
    out.append("decayed: state %s, fault %s" % (info["state"], info["fault"]))
    out.append("decayed, reused version: %s" % push(srv3, fix)[0])
    r = push(srv3, lib)
    t, info = ask(srv3, link.INFO)
    out.append("decayed, identical: %s (transferred: %s); state %s version %d" % (
        r[0], r[1] > 0, info["state"], info["version"]))


def dup_story(name, text, out):
    """A pump that boots with a trust store with a duplicate key refuses it."""
    try:
        trust.parse(text)
        out.append("dup %s: ACCEPTED" % name)
    except PumpError as e:
        out.append("dup %s: %s: %s" % (name, e.code, e.message))


def main(lines):
    items, dups = {}, []
    for line in lines:
        parts = line.split()
        if not parts:
            continue
        if parts[0] == "dup":
            dups.append((parts[1], bytes.fromhex(parts[2])))
        else:
            items[parts[0]] = bytes.fromhex(parts[1])
    ts = trust.parse(items["trust"])
    out = []
    reuse_story(ts, items["lib"], items["fix"], out)
    for name, text in dups:
        dup_story(name, text, out)
    out.append("OK reuse_story")
    return out


if __name__ == "__main__":
    for line in main(sys.stdin.read().split("\n")):
        print(line)
