# The therapy machine's rules, pure, under the real MicroPython unix port (the
# same rules tests/test_therapy_machine.py checks under CPython): lockouts in
# every state, refused actions returning the very state, the 4 h and 168 h
# thresholds, the day continuity, the treatment-free interval soft stop.
from firmware import jsontext
from firmware.therapy import actions, machine
import therapy_powercut as tp

LIB = tp.library()


def bag(cycle, day, hours=24, rate="10", mcg="31.5", ml="270", pres="false", filt="true", vtbi="240"):
    return ('{"drug": "blinatumomab", "indication": "relapsed-refractory", "cycle": %d, "day": %d,'
            ' "restart_after_adverse_event": false, "patient": {"age_days": 15000, "weight_kg": 70, "bsa_m2": 1.8},'
            ' "dose": {"value": 28, "unit": "mcg/day"}, "bag": {"blinatumomab_mcg": %s, "volume_ml": %s,'
            ' "preservative": %s}, "infusion": {"rate_ml_h": %s, "duration_h": %d, "vtbi_ml": %s},'
            ' "line": {"inline_filter": %s, "dehp_free": true}, "overrides": []}'
            % (cycle, day, mcg, ml, pres, rate, hours, vtbi, filt))


def seven_day(cycle, day):
    return bag(cycle, day, 168, "0.6", "213.8889", "110", "true", "false", "100.8")


def P(text, name="program"):
    return '{"action": "%s", "request": %s}' % (name, text)


def A(h):
    return '{"action": "advance", "hours": "%s"}' % h


START, PAUSE, RESUME, STOP = ('{"action": "%s"}' % n for n in ("start", "pause", "resume", "stop"))


def run(texts):
    t = machine.Therapy()
    out = []
    for text in texts:
        a = actions.parse(jsontext.loads(text))
        o = machine.step(t, a, t.clock_mh + a.args.get("hours", 0), LIB)
        assert o.result != "refused" or o.after is t, text
        t = o.after
        out.append(o)
    return out


def last(texts):
    o = run(texts)[-1]
    return o.result, o.after.state, o.codes()


LOCKS = (('{"action": "flush"}', "FLUSH_LOCKED"), ('{"action": "bolus", "volume_ml": 1}', "BOLUS_LOCKED"),
         ('{"action": "set_rate", "rate_ml_h": "0.6"}', "RATE_CHANGE_LOCKED"),
         ('{"action": "prime", "fluid": "saline"}', "SALINE_PRIME_LOCKED"))
for pre in ([], [P(bag(2, 1))], [P(bag(2, 1)), START], [P(bag(2, 1)), START, PAUSE], [P(bag(2, 1)), START, A(24)]):
    for text, code in LOCKS:
        r = last(pre + [text])
        assert r[0] == "refused" and r[2] == [code], (pre, text, r)

assert last([P(bag(2, 1)), START, A(23), A("0.999"), A("0.001")])[:2] == ("ok", "bag-empty")
assert last([P(bag(2, 1)), START, A(24), P(bag(2, 3), "bag_change")])[2][-1] == "COURSE_DAY_MISMATCH"
assert last([P(bag(2, 1)), START, A(24), P(bag(2, 2), "bag_change")])[:2] == ("ok", "programmed")
assert last([P(bag(2, 1, rate="6"))])[0] == "refused"
base = [P(bag(2, 1)), START, A(2), PAUSE]
assert last(base + [A("3.999"), RESUME]) == ("ok", "running", [])
assert last(base + [A(4), RESUME]) == ("ok", "running", ["SUPERVISION", "PREMEDICATION"])
assert last(base + [A(168), RESUME])[:2] == ("ok", "running")
assert last(base + [A("168.001"), RESUME]) == ("refused", "paused", ["RESUME_INTERRUPTION_TOO_LONG"])
assert last(base + [A(169), P(bag(2, 1), "bag_change")])[2][-1] == "COURSE_NEW_CYCLE_REQUIRED"
assert last(base + [A(169), P(bag(3, 1), "bag_change")])[:2] == ("ok", "programmed")
cycle = [P(seven_day(2, 1))]
for d in (8, 15, 22):
    cycle += [START, A(168), P(seven_day(2, d), "bag_change")]
cycle += [START, A(168)]
assert last(cycle) == ("ok", "cycle-complete", ["CYCLE_COMPLETE"])
assert last(cycle + [STOP, A(335), P(bag(3, 1))])[:2] == ("confirm", "pending")
assert last(cycle + [STOP, A(336), P(bag(3, 1))])[:2] == ("ok", "programmed")
assert last([P(bag(2, 1)), STOP, '{"action": "new_patient"}', STOP]) == ("refused", "idle", ["ACTION_NOT_ALLOWED"])
print("OK mpy_therapy_rules")
