# A CHECK's answer on the serial link (docs/protocol.md, "CHECK"): the result
# text of the check contract in one frame, its messages shortened if it would
# not fit, and the frame built before the check is logged (issue 11 item 5).
# Split from firmware/link/server.py (module size rule).
from firmware.check.batch import result_json
from firmware.link import frames as link


def result_payload(result):
    """A CHECK result as the UTF-8 JSON text of the check contract, in one frame.

    A programming wrong in many ways has a result longer than a frame; before,
    the pump checked and logged it but answered LINK_TOO_LARGE, so the host
    never saw the verdict. The verdict, every finding's code and severity are
    always sent whole; only if the text does not fit are the messages
    shortened (ending in "..."; the full text of each code is in
    docs/reason-codes.md). If even that cannot fit (hundreds of findings),
    PumpServer.handle answers LINK_TOO_LARGE; the check is in the event log."""
    text = result_json(result).encode("utf-8")
    if len(text) <= link.MAX_PAYLOAD:
        return text
    findings = result.findings
    fixed = len(result_json(_Shown(result.verdict, [(c, s, "") for c, s, m in findings])).encode("utf-8"))
    room = (link.MAX_PAYLOAD - fixed) // max(1, len(findings)) - 4
    if room < 4:
        return text  # too large whatever we do: LINK_TOO_LARGE
    while room >= 4:
        short = [(c, s, _clip(m, room)) for c, s, m in findings]
        text = result_json(_Shown(result.verdict, short)).encode("utf-8")
        if len(text) <= link.MAX_PAYLOAD:
            return text
        room -= 8  # escapes and multi-byte characters took more than counted
    return text


def _clip(message, n):
    return message if len(message) <= n else message[:n - 3] + "..."


class Built:
    """A CHECK's answer frame, encoded before the check was logged."""

    def __init__(self):
        self.frame = None


class _Shown:
    """A result as sent (the shape result_json reads)."""

    def __init__(self, verdict, findings):
        self.verdict = verdict
        self.findings = findings
