"""`druglib report LOG`: a quality report over a real pump's event log.
Stories: a shift's programmings are summarised; a hostile drug name or
override reason is only ever text; a log whose chain does not verify is
reported as broken, never summarised as if it were whole."""
import json
import subprocess

import pytest

from conftest_signing import Kit
from firmware.pump import Pump
from firmware.store import logrec
from firmware.store.faultstorage import FaultStorage
from host_tools.views import pages
from host_tools.views.report import RECORD_KINDS, report
from test_views_schedule import DRUGLIB
from viewdata import GOOD, HOSTILE_DRUG, HOSTILE_REASON, pump_log


@pytest.fixture(scope="module")
def log_bytes():
    return pump_log()


def run(*args):
    return subprocess.run([DRUGLIB] + list(args), capture_output=True, text=True, timeout=120)


def test_a_shift_of_programmings_is_summarised(log_bytes):
    r = report(log_bytes)
    assert r["verified"] and r["chain_error"] is None
    assert r["programmings"] == 9
    assert r["verdicts"] == {"accept": 4, "confirm": 1, "reject": 4}
    assert r["through_library"] == 8 and r["share_through_library_pct"] == 88.9  # one before any library
    hard = {s["code"]: s["count"] for s in r["hard_stops"]}
    assert hard["NO_LIBRARY"] == 1 and hard["RATE_NOT_FIXED"] == 1 and hard["FILTER_REQUIRED"] == 1
    assert hard["UNKNOWN_DRUG"] == 1
    assert {s["code"]: s["count"] for s in r["soft_stops"]} == {"PRESERVATIVE_LOW_WEIGHT": 2}
    assert r["overrides"] == [{"seq": 9, "codes": ["PRESERVATIVE_LOW_WEIGHT"], "reasons": [HOSTILE_REASON]}]
    assert r["library_versions"] == [{"version": 3, "seq": 2, "how": "installed"}]
    assert r["blocked_actions"] == [] and r["interruptions"] == []
    assert {d["drug"]: d["in_library"] for d in r["drugs"]} == {"blinatumomab": True, HOSTILE_DRUG: False}


def test_every_record_kind_of_the_firmware_has_its_table_entry():
    """A new record kind (issue 9's therapy records) is one entry in RECORD_KINDS."""
    assert set(logrec.KIND_NAMES.values()) <= set(RECORD_KINDS)


def test_hostile_drug_name_and_override_reason_render_as_text(log_bytes, tmp_path):
    html = pages.report_page(report(log_bytes), "pump.log")
    assert "<script" not in html.lower() and "<img" not in html.lower()
    assert "&lt;script&gt;alert(&#39;drug&#39;)&lt;/script&gt;" in html
    assert "&lt;/td&gt;&lt;script&gt;document.title=&#39;owned&#39;&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;" in html
    assert "\x1b" not in html and "\x07" not in html
    assert '<span class="ctl">\\x1b</span>' in html and '<span class="ctl">\\x07</span>' in html
    log = tmp_path / "pump.log"
    log.write_bytes(log_bytes)
    text = run("report", str(log))
    assert text.returncode == 0 and "\x1b" not in text.stdout and "\\u001b" in text.stdout
    js = run("report", str(log), "--json")
    assert js.returncode == 0 and "\x1b" not in js.stdout
    assert json.loads(js.stdout)["overrides"][0]["reasons"] == [HOSTILE_REASON]


@pytest.mark.parametrize("attack", ["flip a byte", "cut mid-record", "drop a record", "swap two records"])
def test_a_log_whose_chain_does_not_verify_is_reported_as_such(log_bytes, tmp_path, attack):
    offsets = []
    logrec.Walk(logrec.bytes_at(log_bytes), len(log_bytes), lambda rec: offsets.append((rec.offset, rec.length))).run()
    data = bytearray(log_bytes)
    (o3, l3), (o4, l4) = offsets[3], offsets[4]
    if attack == "flip a byte":
        data[o3 + 50] ^= 0x01
    elif attack == "cut mid-record":
        data = data[:o4 + l4 // 2]
    elif attack == "drop a record":
        data = data[:o3] + data[o3 + l3:]
    else:
        data = data[:o3] + data[o4:o4 + l4] + data[o3:o3 + l3] + data[o4 + l4:]
    r = report(bytes(data))
    assert not r["verified"] and r["chain_error"]["index"] in (3, 4)
    assert r["records"] == r["chain_error"]["index"]  # nothing after the break is read
    log = tmp_path / "broken.log"
    log.write_bytes(bytes(data))
    page = tmp_path / "broken.html"
    out = run("report", str(log), "--html", str(page))
    assert out.returncode == 1 and "DOES NOT VERIFY" in out.stdout
    assert len(out.stderr.strip().splitlines()) == 1 and "does not verify" in out.stderr
    assert "THIS LOG DOES NOT VERIFY" in page.read_text()
    for fmt in ([], ["--json"]):
        res = run("report", str(log), *fmt)
        assert res.returncode == 1 and ("DOES NOT VERIFY" in res.stdout or '"verified": false' in res.stdout)


def test_empty_log_and_unknown_record_kinds(tmp_path):
    assert report(b"")["verified"] and report(b"")["records"] == 0
    rec0 = logrec.encode(logrec.BOOT, 0, logrec.ZERO_CHAIN, logrec.encode_fields({"state": "ok", "version": 1, "code": ""}))
    chain0 = rec0[8:40]
    rec1 = logrec.encode(0x30, 1, chain0, logrec.encode_fields({"note": "<b>x</b>"}))
    r = report(rec0 + rec1)
    assert r["verified"] and r["unknown_kinds"] == [{"kind": "kind-48", "count": 1}]
    html = pages.report_page(r, "x.log")
    assert "kind-48" in html and "<b>x</b>" not in html


def test_a_log_whose_oldest_records_rolled_off_says_the_counts_are_partial(tmp_path):
    kit = Kit(tmp_path, version=3)
    pump = Pump(FaultStorage(), kit.trust, log_max_bytes=4 * (1024 + 44))
    pump.boot()
    pump.install(kit.blob)
    for _ in range(80):
        pump.check_text(json.dumps(GOOD))
    r = report(pump.log.read_all())
    assert r["verified"] and r["rolled_off"] > 0 and r["programmings"] < 80
    assert {"kind": "rolloff", "label": "Older records rolled off", "count": 1} in r["kinds"]
    assert "rolled off the pump before this pull" in pages.report_page(r, "pump.log")


def test_therapy_steps_count_blocked_actions_and_interruptions():
    """The table entry waiting for issue 9's records (DESIGN.md simulate step shape)."""
    from host_tools.views.report import summarise

    s = summarise([(0, "therapy", {"action": "start", "result": "ok", "codes": [], "clock": 0}),
                   (1, "therapy", {"action": "flush", "result": "refused", "codes": ["X"], "clock": 3600}),
                   (2, "therapy", {"action": "pause", "result": "ok", "codes": [], "clock": 7200}),
                   (3, "therapy", {"action": "set_rate", "result": "refused", "codes": ["Y"], "clock": 9000})])
    assert [b["action"] for b in s.blocked] == ["flush", "set_rate"]
    assert len(s.interruptions) == 1 and [e["x"] for e in s.events] == [0, 3600, 7200, 9000]


def test_control_and_bidi_characters_are_shown_as_escapes():
    out = str(pages.visible("a\x1b[31m\u202eb<i>\u2028"))
    assert out == ('a<span class="ctl">\\x1b</span>[31m<span class="ctl">\\u202e</span>b&lt;i&gt;'
                   '<span class="ctl">\\u2028</span>')
