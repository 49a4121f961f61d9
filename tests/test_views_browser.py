"""The pages in a real browser (headless Chromium over the DevTools protocol):
each page loads from a file with no network request and no console error,
shows its timeline/charts and tables, prints on A4, fits a phone's width, and
a hostile log renders as text. Screenshots go to out/screenshots/ (README)."""
import json
import os
import re

import pytest

from browser import CHROMIUM

if CHROMIUM is None:
    pytest.skip("chromium is not installed: browser tests skipped (make test installs Debian chromium when it can)",
                allow_module_level=True)

from browser import Browser  # noqa: E402
from conftest_signing import ALICE, BOB, pub, released  # noqa: E402
from firmware.release import trust as ftrust  # noqa: E402
from host_tools.library.files import load_library  # noqa: E402
from host_tools.views import librarydoc, pages, schedule  # noqa: E402
from host_tools.views.diff import diff  # noqa: E402
from host_tools.views.report import report  # noqa: E402
from libfixtures import real_library, real_library_bytes  # noqa: E402
from viewdata import HOSTILE_DRUG, HOSTILE_REASON, changed_library, pump_log  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHOTS = os.path.join(ROOT, "out", "screenshots")


@pytest.fixture(scope="module")
def browser():
    b = Browser()
    yield b
    b.close()


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    d = tmp_path_factory.mktemp("pages")
    lib_path = d / "lib.bin"
    lib_path.write_bytes(real_library_bytes())
    p = schedule.plan(real_library(), "relapsed-refractory", schedule.Patient(2084, "17.8", "0.75"), "48h",
                      schedule.parse_start("2026-01-05"))
    released_path = d / "released.lib"
    released_path.write_bytes(released(real_library_bytes()))
    named = ftrust.parse(json.dumps({"format": ftrust.FORMAT, "keys": [
        ftrust.entry_dict(pub(ALICE), "author", "Alice Martin, PharmD (author)"),
        ftrust.entry_dict(pub(BOB), "approver", "Bob Okafor, PharmD (approver)")]}))
    blob, c, lib = load_library(str(released_path))
    doc = librarydoc.document(blob, c, lib, [os.path.join(ROOT, "druglib")], named)
    new_path, new_rules = changed_library(d, os.path.join(ROOT, "druglib"))
    changed = librarydoc.document(*load_library(new_path), [new_rules])
    log = pump_log()
    broken = bytearray(log)
    broken[300] ^= 1
    out = {"schedule": (pages.schedule_page(p), p), "library": (pages.library_page(doc), doc),
           "diff": (pages.diff_page(doc, changed, diff(doc, changed)), None),
           "report": (pages.report_page(report(log), "pump.log"), None),
           "report-broken": (pages.report_page(report(bytes(broken)), "broken.log"), None)}
    paths = {}
    for name, (html, _) in out.items():
        path = d / (name + ".html")
        path.write_text(html, encoding="utf-8")
        paths[name] = str(path)
    return paths, p


def load(browser, path, **kw):
    browser.open(path, **kw)
    assert browser.errors() == []
    assert [u for u in browser.requests() if not u.startswith("file://")] == [], "offline: no request leaves the file"


def shot(browser, name):
    os.makedirs(SHOTS, exist_ok=True)
    data = browser.screenshot(os.path.join(SHOTS, name + ".png"), full_page=False)
    assert data.startswith(b"\x89PNG")


def count(browser, selector):
    return browser.evaluate("document.querySelectorAll(%r).length" % selector)


def test_schedule_page_has_the_timeline_and_every_bag(browser, site):
    paths, p = site
    load(browser, paths["schedule"], height=1400)
    assert count(browser, "svg#timeline g.cycle-row") == len(p.cycles) == 9
    assert count(browser, "svg#timeline rect.bag") == len(p.bags)
    assert count(browser, "svg#timeline rect.bag.step") == sum(b.level == "step" for b in p.bags) == 4
    assert count(browser, "table.bags") == 9
    assert count(browser, "table.bags tbody tr") == len(p.bags) + 9  # + one treatment-free row per cycle
    assert browser.evaluate("document.querySelector('svg#timeline').getBoundingClientRect().width") > 600
    shot(browser, "schedule")


@pytest.mark.parametrize("name, selectors", [
    ("library", ["table#release", "table#signers", "#release-check.ok", "table.limits", "tr[id='limit/max_daily_ng']"]),
    ("diff", ["table#changes", "tr[id='limit/preservative_min_weight_g']", "#verdict"]),
    ("report", ["svg#stops-chart rect", "svg#events-chart circle", "table#stops", "table#overrides", "table#drugs"]),
])
def test_review_pages_show_their_tables_and_charts(browser, site, name, selectors):
    load(browser, site[0][name], height=1400)
    for s in selectors:
        assert count(browser, s) >= 1, s
    shot(browser, name)


def test_hostile_log_strings_render_as_text(browser, site):
    load(browser, site[0]["report"])
    assert count(browser, "script") == 0 and count(browser, "img") == 0
    assert browser.evaluate("document.title") == "Pump event log report"
    reason = browser.evaluate("document.querySelector('table#overrides tbody td:nth-child(3)').textContent")
    assert reason == HOSTILE_REASON.replace("\x1b", "\\x1b").replace("\x07", "\\x07")
    drugs = browser.evaluate("document.querySelector('table#drugs').textContent")
    assert HOSTILE_DRUG.replace("\x1b", "\\x1b").split("\\x1b")[0] in drugs


def test_a_broken_log_says_so_first(browser, site):
    load(browser, site[0]["report-broken"])
    banner = browser.evaluate("document.querySelector('#chain').textContent")
    assert "THIS LOG DOES NOT VERIFY" in banner and "CRC mismatch" in banner


@pytest.mark.parametrize("name", ["schedule", "library", "diff", "report"])
def test_pages_read_on_a_phone_and_print_on_a4(browser, site, name):
    load(browser, site[0][name], width=390, height=844, mobile=True, scale=2)
    # the page itself never scrolls sideways; wide tables and charts scroll in their own box
    assert browser.evaluate("document.documentElement.scrollWidth") <= 391
    if name == "schedule":
        shot(browser, "schedule-phone")
    pdf = browser.pdf_a4()
    assert pdf.startswith(b"%PDF")
    boxes = set(re.findall(rb"/MediaBox ?\[0 0 ([0-9.]+) ([0-9.]+)\]", pdf))
    assert boxes and all(abs(float(w) - 595.3) < 1 and abs(float(h) - 841.9) < 1 for w, h in boxes), boxes  # A4
