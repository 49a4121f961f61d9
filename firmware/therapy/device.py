# The pump's therapy shell (docs/therapy.md): the only part of firmware/therapy
# that touches storage and the event log. One action (JSON text) in, the
# contract's step result (JSON text) out.
#
# Order of writes for an action that changes the state:
#   1. the new state is saved (snapshot.save: write therapy.new, atomic rename)
#      with the action's number n, its request key, its answer and its log
#      record;
#   2. the log record (kind THERAPY) is appended.
# A power cut before the rename leaves the old state and no record (the host
# gets no answer and retransmits: the action runs once, later). A cut after
# the rename and before the record is complete is repaired at boot: the
# log holds no therapy record with the snapshot's action number n (and the
# seq it was to get, log_next, has not rolled off), so the stored record is
# appended then ("replayed": 1). Either way state and log agree, and a
# retransmission of the request that made the stored state gets the stored
# answer (exactly once, across a reboot too). A refused action changes
# nothing: it is only logged.
from firmware import jsontext
from firmware.store import logrec
from firmware.therapy import actions, machine, snapshot
from firmware.therapy.machine import Therapy

MAX_ANSWER = 2048  # one link frame (firmware/link/frames.py MAX_PAYLOAD)


class TherapyDevice:
    def __init__(self, storage, log):
        self.st = storage
        self.log = log
        self.t = Therapy()
        self.n = 0          # number of the last action logged
        self.key = b""      # request key of the stored state
        self.answer = b""   # its answer
        self.status = "fresh"

    def boot(self):
        saved, self.status = snapshot.load(self.st)
        if saved is not None:
            self.t = saved.therapy
            self.key = saved.key
            self.answer = saved.answer
        logged, reported = self._scan_log(saved)
        self.n = max(logged, saved.n if saved is not None else 0)
        if self.status == "corrupt":
            # Fail safe: without its course record the pump cannot tell which
            # cycle and day may follow; it refuses every programming until
            # the nurse confirms the course with new_patient (docs/therapy.md).
            self.t = Therapy()
            self.t.lost = 1
            self.n += 1
            fields = {"n": self.n, "action": "power-on", "result": "record-lost", "state": self.t.state,
                      "codes": ["COURSE_RECORD_LOST"], "clock_mh": 0}
            snapshot.save(self.st, snapshot.Saved(self.t, self.n, b"", b"", logrec.encode_fields(fields),
                                                  self.log.seq + 1))
            self.status = "lost"
            self.log.append(logrec.THERAPY, fields)
        elif saved is not None and not reported and saved.log_payload:
            # the state was saved but its record did not reach the log: append it now
            fields = logrec.decode_fields(saved.log_payload)
            fields["replayed"] = 1
            self.log.append(logrec.THERAPY, fields)
        return self.status

    def _scan_log(self, saved):
        """-> (highest therapy action number in the log, whether the saved
        state's record is there). It is there if a therapy record carries the
        saved n (the one appended with it, or a replay after a repair), or if
        the seq it was to get (log_next) has rolled off the log (the marker's
        anchor is at or past it: it was written, then dropped)."""
        size = self.log.size_bytes()
        found = [0, False]
        want = saved.log_next if saved is not None else -1
        mine = saved.n if saved is not None else -1

        def visit(r):
            if r.kind == logrec.ROLLOFF:
                if 0 <= want <= r.seq:
                    found[1] = True
                return
            if r.kind != logrec.THERAPY:
                return
            try:
                n = r.fields().get("n", 0)
            except Exception:
                return
            if isinstance(n, int):
                found[0] = max(found[0], n)
                if n == mine:
                    found[1] = True

        logrec.Walk(self.log.read, size, visit).run()
        return found[0], found[1]

    def act(self, text, lib, key=None):
        """One action (UTF-8 JSON text) -> the answer (UTF-8 JSON bytes)."""
        if key is not None and key == self.key and self.answer:
            return self.answer  # the request that made the stored state, sent again
        try:
            action = actions.parse(jsontext.loads(text))
        except (jsontext.JsonTextError, actions.ActionError) as e:
            outcome = machine.Outcome(machine.REFUSED, [machine._finding("ACTION_MALFORMED", e.message[:200])],
                                      self.t)
            return self._finish("malformed", outcome, key)
        now = self.t.clock_mh + (action.args["hours"] if action.name == "advance" else 0)
        outcome = machine.step(self.t, action, now, lib)
        return self._finish(action.name, outcome, key, action)

    def _finish(self, name, outcome, key, action=None):
        self.n += 1
        after = outcome.after
        fields = {"n": self.n, "action": name, "result": outcome.result, "state": after.state,
                  "clock_mh": after.clock_mh, "codes": logrec.counted_codes(outcome.codes())}
        if after.rec is not None:
            fields["cycle"] = after.rec.cycle
            fields["infused_mh"] = after.rec.inf_mh
        if after.bag is not None and name in ("program", "bag_change", "override") and outcome.result == "ok":
            fields["day"] = after.bag.day
        if action is not None and name == "override":
            # issue 4: overrides are logged with their reasons
            fields["overridden"] = [str(c)[:60] for c in action.args["codes"][:16]]
            fields["reason"] = action.args["reason"][:120]
        answer = answer_json(outcome, self.n)
        if outcome.result != machine.REFUSED:
            payload = logrec.encode_fields(fields)
            snapshot.save(self.st, snapshot.Saved(after, self.n, key or b"", answer, payload, self.log.seq + 1))
            self.t = after
            self.key = key or b""
            self.answer = answer
        self.log.append(logrec.THERAPY, fields)
        return answer

    def status_fields(self):
        t = self.t
        out = {"state": t.state, "clock_mh": t.clock_mh, "n": self.n}
        if t.rec is not None:
            out["indication"] = t.rec.ind
            out["cycle"] = t.rec.cycle
            out["infused_mh"] = t.rec.inf_mh
        return out


def record_json(rec):
    if rec is None:
        return None
    return jsontext.OrderedObject([
        ("indication", rec.ind), ("cycle", rec.cycle), ("infused_mh", rec.inf_mh),
        ("next_day", rec.next_day()), ("complete", rec.complete()), ("last_infused_mh", rec.last_mh),
        ("ended_mh", rec.ended_mh())])


def answer_json(outcome, n):
    """The step result: the contract's fields (result, codes, state) and, for
    the readable table, the clock, the course record and each finding's text."""
    t = outcome.after
    head = [("result", outcome.result), ("codes", outcome.codes()), ("state", t.state), ("clock_mh", t.clock_mh),
            ("n", n), ("record", record_json(t.rec))]
    full = jsontext.OrderedObject(head + [("findings", [
        jsontext.OrderedObject([("code", c), ("severity", s), ("message", m)]) for c, s, m in outcome.findings])])
    data = jsontext.dumps(full).encode("utf-8")
    if len(data) <= MAX_ANSWER:
        return data
    short = jsontext.OrderedObject(head + [("findings", [
        jsontext.OrderedObject([("code", c), ("severity", s), ("message", m[:40] + "...")])
        for c, s, m in outcome.findings])])
    data = jsontext.dumps(short).encode("utf-8")
    if len(data) <= MAX_ANSWER:
        return data
    return jsontext.dumps(jsontext.OrderedObject(head + [("findings", [])])).encode("utf-8")
