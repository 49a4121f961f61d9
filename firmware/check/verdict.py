# Findings and the verdict (DESIGN.md, "Contract: checking a programming").
#
# reject:  a hard limit is crossed.
# confirm: only soft limits are crossed and not all are in `overrides` with an
#          `override_reason` that is a string that is not blank (issue 8).
# accept:  nothing blocks; advisories may still be listed.
from firmware.check import codes
from firmware.jsontext import quote

# Longest override reason: what one event-log record keeps whole
# (firmware/store/eventlog.py, TEXT_MAX), so the logged reason is the one given.
REASON_MAX = 120


class Findings:
    def __init__(self):
        self.items = []  # (code, severity, message)

    def add(self, code, detail=""):
        sev, msg = codes.CODES[code]  # codes.severity and codes.text in one lookup
        if detail:
            msg = msg + " (" + detail + ")"
        self.items.append((code, sev, msg))  # the tuple the result holds (no copy in decide)

    def has(self, code):
        for it in self.items:
            if it[0] == code:
                return True
        return False


class Result:
    def __init__(self, verdict, findings):
        self.verdict = verdict
        self.findings = findings  # list of (code, severity, message)


def reason_problem(reason):
    """Why `override_reason` cannot release a soft stop, or None if it can."""
    if reason is None:
        return "no override_reason given"
    if not isinstance(reason, str):
        return "override_reason must be text, not a number or other value"
    if _blank(reason):
        return "override_reason is blank"
    if len(reason) > REASON_MAX:
        return "override_reason is longer than %d characters (%d)" % (REASON_MAX, len(reason))
    return None


# Characters that are no reason: spaces (Unicode Zs and the like) and format
# marks. Listed here rather than str.strip(), which differs between CPython
# and MicroPython (MicroPython strips ASCII only): one verdict on both engines.
_SPACES = "\u00a0\u1680\u180e\u200b\u200c\u200d\u2028\u2029\u202f\u205f\u2060\u3000\ufeff"


def _blank(s):
    for c in s:
        o = ord(c)
        if o <= 0x20 or 0x7F <= o <= 0x9F or 0x2000 <= o <= 0x200A or c in _SPACES:
            continue
        return False
    return True


def decide(f, overrides, reason=None):
    """The verdict of the findings in `f`, given the codes the clinician
    overrides and the raw `override_reason` (None: not given)."""
    hard = False
    pending = False
    crossed = []
    for code, sev, _ in f.items:
        if sev == codes.HARD:
            hard = True
        elif sev == codes.SOFT:
            crossed.append(code)
            if code not in overrides:
                pending = True
    released = False
    for code in overrides:
        if code in crossed:
            released = True
        else:
            f.add("OVERRIDE_NOT_APPLICABLE", quote(code))
    if released and not hard:
        problem = reason_problem(reason)
        if problem is not None:
            # the override takes no effect without its reason: still confirm
            f.add("OVERRIDE_REASON_REQUIRED", problem)
            pending = True
    verdict = "reject" if hard else ("confirm" if pending else "accept")
    return Result(verdict, list(f.items))


def _verdict(f, overrides, reason=None):
    """Former name of decide() (firmware/pump.py and batch.py use it)."""
    return decide(f, overrides, reason)
