"""A CHECK answer that would not fit in one frame keeps its verdict and every
finding's code and severity, and only shortens messages (firmware/link/answers.py,
docs/protocol.md "CHECK"). Story: findings whose messages escape to several
bytes per character (control characters and non-ASCII letters), so a clip
counted in characters is still too long and must shrink again."""
import json

from firmware.check.verdict import Result
from firmware.link import frames as link
from firmware.link.answers import result_payload


def result(message, n):
    return Result("reject", [("FIELD_INVALID", "hard", message)] * n)


def test_messages_that_escape_long_are_clipped_until_the_answer_fits():
    for message in ("\x01" * 400, "é" * 400, "\u2028" * 400, "a" * 400):
        text = result_payload(result(message, 12))
        assert len(text) <= link.MAX_PAYLOAD
        doc = json.loads(text.decode("utf-8"))
        assert doc["verdict"] == "reject" and len(doc["findings"]) == 12
        assert all(f["code"] == "FIELD_INVALID" and f["message"].endswith("...") for f in doc["findings"])


def test_a_short_answer_is_sent_as_it_is():
    text = result_payload(result("weight_kg must be a number", 2))
    assert json.loads(text.decode("utf-8"))["findings"][0]["message"] == "weight_kg must be a number"


def test_when_no_clip_fits_the_text_is_returned_for_the_server_to_refuse():
    # 20 findings whose messages escape to 6 bytes a character: even clipped
    # to a few characters each the answer is over a frame; the server then
    # answers LINK_TOO_LARGE (the check itself is in the event log)
    text = result_payload(result("\x01" * 400, 20))
    assert len(text) > link.MAX_PAYLOAD
    assert json.loads(text.decode("utf-8"))["verdict"] == "reject"
