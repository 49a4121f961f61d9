"""`druglib schedule`: the whole course from the library, every bag accepted by
the device checker. The expectations below are read off the monograph (not
off the library), so they check the plan independently:
- MRD: up to 4 cycles of 28 infusion days + 14 treatment-free days
  (lines 10-13, 148); relapsed/refractory: up to 9 cycles, 14 free days in
  cycles 1-5 and 56 in cycles 6-9 (lines 17-25, 149);
- step-up only in relapsed/refractory cycle 1 days 1-7: 9 mcg/day, or
  5 mcg/m2/day max 9 under 45 kg; otherwise 28 mcg/day, or 15 mcg/m2/day
  max 28 (lines 17, 22);
- 24 h bags at 10 mL/h, 48 h at 5 mL/h, 7 days at 0.6 mL/h without filter
  and with preservative (lines 111-113, 141)."""
import copy
import datetime
import json
import os
import subprocess
import sys
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from firmware.check.batch import check_text
from host_tools.views import course, schedule
from host_tools.views.schedule import Patient, ScheduleError, parse_start
from libfixtures import real_library, real_library_bytes

START = parse_start("2026-01-05")
DRUGLIB = os.path.join(os.path.dirname(sys.executable), "druglib")


def lib():
    return real_library()


def plan(ind="relapsed-refractory", weight="70", bsa="1.8", age=9000, bag="48h", cycles=None, height=None, library=None):
    return schedule.plan(library or lib(), ind, Patient(age, weight, bsa, height), bag, START, cycles)


def expected_mcg_day(ind, cycle, day, weight, bsa):
    step = ind == "relapsed-refractory" and cycle == 1 and day <= 7
    if Decimal(weight) >= 45:
        return Fraction(9 if step else 28)
    per_m2, cap = (5, 9) if step else (15, 28)
    return min(Fraction(per_m2) * Fraction(str(bsa)), Fraction(cap))


def delivered(b):
    return Fraction(str(b.mcg)) / Fraction(str(b.volume_ml)) * Fraction(str(b.rate_ml_h)) * 24


def assert_course(p, ind, weight, bsa, bag):
    max_cycles = 4 if ind == "mrd" else 9
    assert 1 <= len(p.cycles) <= max_cycles
    for i, c in enumerate(p.cycles):
        n = c.number
        assert n == i + 1
        free = 56 if ind == "relapsed-refractory" and n >= 6 else 14
        assert (c.infusion_days, c.free_days) == (28, free)
        if i:
            prev = p.cycles[i - 1]
            assert c.start - prev.start == datetime.timedelta(days=28 + prev.free_days)
        covered = []
        for b in c.bags:
            covered.extend(range(b.day, b.last_day + 1))
            assert b.start == datetime.datetime.combine(c.start, START.time()) + datetime.timedelta(days=b.day - 1)
            step = ind == "relapsed-refractory" and n == 1 and b.day <= 7
            assert (b.level == "step") == step
            assert b.last_day <= 7 or b.day > 7 or not step  # no bag across the step
            want = expected_mcg_day(ind, n, b.day, weight, bsa)
            assert abs(delivered(b) - want) <= want / 200, (n, b.day, delivered(b), want)
            rate = {24: Decimal("10"), 48: Decimal("5"), 168: Decimal("0.6")}[b.duration_h]
            assert b.rate_ml_h == rate
            assert b.preservative == (b.duration_h == 168) and b.inline_filter == (b.duration_h != 168)
            if b.split is None:
                assert b.duration_h == schedule.BAG_IDS[bag]
        assert covered == list(range(1, 29)), "28 infusion days, each covered by exactly one bag"
    # every bag, exactly as printed by --json, is accepted by the device checker
    results = [json.loads(line) for line in check_text(lib(), course.to_json_lines(p))]
    assert len(results) == len(p.bags)
    assert all(r["verdict"] == "accept" for r in results), [r for r in results if r["verdict"] != "accept"][:1]


def test_relapsed_refractory_adult_48h_bags_step_up_and_splits():
    p = plan()
    c1 = p.cycles[0]
    assert [(b.day, b.days) for b in c1.bags][:5] == [(1, 2), (3, 2), (5, 2), (7, 1), (8, 2)]
    assert c1.bags[3].split and "day 8" in c1.bags[3].split
    assert c1.bags[-1].day == 28 and c1.bags[-1].duration_h == 24 and "treatment-free" in c1.bags[-1].split
    assert str(c1.bags[0].mcg) == "20.2500" and str(c1.bags[4].mcg) == "63.0000"
    assert c1.hospital_days == [(1, 9)] and p.cycles[1].hospital_days == [(1, 2)]
    premed_days = [(b.cycle, b.day) for b in p.bags if course.premedication(b)]
    assert premed_days == [(1, 1), (1, 8)] + [(n, 1) for n in range(2, 10)]
    assert_course(p, "relapsed-refractory", "70", "1.8", "48h")


def test_shared_case_bag_contents():
    """The bag arithmetic the shared cases use: 28 mcg/day in 24 h = 31.5 mcg in 270 mL; 7 days = 110 mL."""
    day = plan(ind="mrd", bag="24h", cycles=1).bags[0]
    assert (str(day.mcg), day.volume_ml, day.vtbi_ml) == ("31.5000", 270, 240)
    week = plan(ind="mrd", bag="7d", weight="108.1", bsa="2.21", cycles=1).bags[0]
    assert (str(week.mcg), week.volume_ml, week.vtbi_ml, week.days) == ("213.8889", 110, Decimal("100.8"), 7)


def test_child_dosed_by_bsa_with_the_cap():
    """Since issue 8 a plausible child's BSA (within 25 % of the weight-based
    estimate) never reaches the label's 9 and 28 mcg/day caps, so the capping
    path is exercised with a library whose caps pharmacy lowered: 40 kg,
    1.4 m2 (1.14 x the estimate)."""
    changed = copy.deepcopy(lib())
    doses = changed["drugs"][0]["doses"]
    doses["target"]["bsa_cap_ng_day"] = 20000  # 15 x 1.4 = 21 -> capped at 20
    doses["step"]["bsa_cap_ng_day"] = 6000     # 5 x 1.4 = 7 -> capped at 6
    p = plan(weight="40", bsa="1.4", age=5000, bag="24h", cycles=2, library=changed)
    b = p.cycles[1].bags[0]
    assert b.order == (Decimal("15"), "mcg/m2/day") and b.capped and b.delivered_mcg_day == Decimal("20.00")
    step = p.cycles[0].bags[0]
    assert step.capped and step.delivered_mcg_day == Decimal("6.00")


def test_a_child_whose_bsa_would_reach_the_label_cap_is_refused():
    """40 kg with 1.95 m2 (1.59 x the estimate): the BSA is impossible for the
    weight, so the plan is refused rather than capped silently (issue 8)."""
    with pytest.raises(ScheduleError, match="BSA_WEIGHT_IMPLAUSIBLE"):
        plan(weight="40", bsa="1.95", age=5000, bag="24h", cycles=2)


def test_bsa_from_height_by_mosteller():
    p = plan(ind="mrd", weight="30", bsa=None, height="135", age=3650, bag="24h", cycles=1)
    assert p.patient.bsa_m2 == Decimal("1.06")  # sqrt(135 x 30 / 3600) = 1.0607
    assert p.bags[0].request["patient"] == {"age_days": 3650, "weight_kg": Decimal("30"), "bsa_m2": Decimal("1.06"),
                                            "height_cm": Decimal("135")}


def test_a_seven_day_bag_that_would_run_into_a_step_is_split():
    """A library whose step runs to day 10: the 7-day bag of days 8-14 would
    cross it, so days 8-10 get shorter bags and day 11 starts a new 7-day bag."""
    changed = copy.deepcopy(lib())
    ind = next(i for i in changed["drugs"][0]["indications"] if i["name"] == "relapsed-refractory")
    for s in ind["schedule"]:
        if s["cycle_from"] == 1 and s["day_to"] == 7:
            s["day_to"] = 10
        elif s["cycle_from"] == 1 and s["day_from"] == 8:
            s["day_from"] = 11
    p = plan(bag="7d", cycles=1, library=changed)
    got = [(b.day, b.days, b.level) for b in p.bags]
    assert got == [(1, 7, "step"), (8, 2, "step"), (10, 1, "step"), (11, 7, "target"), (18, 7, "target"),
                   (25, 2, "target"), (27, 2, "target")]
    assert all(b.split for b in p.bags if b.days < 7)
    assert "the target dose from day 11" in p.bags[1].split
    assert all(b.inline_filter and not b.preservative for b in p.bags if b.days < 7)


@pytest.mark.parametrize("weight, code", [("15", "PRESERVATIVE_LOW_WEIGHT"), ("5", "PRESERVATIVE_INFANT")])
def test_seven_day_bag_under_the_preservative_weight_is_an_error_not_a_change_of_plan(weight, code):
    with pytest.raises(ScheduleError) as e:
        plan(ind="mrd", weight=weight, bsa="0.3" if weight == "5" else "0.62", age=700, bag="7d")
    assert code in str(e.value) and "--bag 24h or --bag 48h" in str(e.value)


@pytest.mark.parametrize("kw, words", [
    (dict(weight="30", bsa=None), "--bsa-m2 or --height-cm"),
    (dict(cycles=10), "1 to 9 cycles"),
    (dict(ind="mrd", cycles=5), "1 to 4 cycles"),
    (dict(cycles=0), "1 to 9 cycles"),
    (dict(age=20), "AGE_BELOW_MINIMUM"),
    (dict(age=29), "AGE_UNDER_ONE_MONTH"),
    (dict(weight="30", bsa="3.0"), "BSA_WEIGHT_IMPLAUSIBLE"),
    (dict(weight="30", bsa="1.3"), "BSA_WEIGHT_MISMATCH"),
    (dict(weight="400"), "PATIENT_VALUE_IMPLAUSIBLE"),
])
def test_a_patient_the_library_cannot_dose_is_a_clear_error(kw, words):
    with pytest.raises(ScheduleError) as e:
        plan(**kw)
    assert words in str(e.value)


def meeh(weight):
    return 0.1 * float(weight) ** (2 / 3)


@st.composite
def patients(draw):
    weight = Decimal(draw(st.integers(60, 2000))) / 10  # 6.0-200.0 kg
    ratio = draw(st.integers(85, 125)) / 100  # real patients: 85-125% of Meeh's estimate
    bsa = Decimal(str(round(meeh(weight) * ratio, 2)))
    bsa = min(max(bsa, Decimal("0.10")), Decimal("3.50"))  # the library's plausible BSA range
    age = draw(st.integers(31, 40000))
    return weight, bsa, age


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(patients(), st.sampled_from(["mrd", "relapsed-refractory"]), st.sampled_from(["24h", "48h", "7d"]),
       st.integers(1, 9))
def test_every_scheduled_bag_is_accepted_for_random_patients(pt, ind, bag, cycles):
    weight, bsa, age = pt
    cycles = min(cycles, 4 if ind == "mrd" else 9)
    if bag == "7d" and weight < 22:
        with pytest.raises(ScheduleError, match="PRESERVATIVE"):
            plan(ind, str(weight), str(bsa), age, bag, cycles)
        return
    p = plan(ind, str(weight), str(bsa), age, bag, cycles)
    assert len(p.cycles) == cycles
    assert_course(p, ind, weight, bsa, bag)


def test_ics_parses_back_with_icalendar():
    from icalendar import Calendar

    p = plan(cycles=2)
    cal = Calendar.from_ical(course.to_ics(p))
    events = [e for e in cal.walk("VEVENT")]
    bags = [e for e in events if str(e["summary"]).startswith("Blinatumomab bag change")]
    premed = [e for e in events if str(e["summary"]).startswith("Premedication")]
    hosp = [e for e in events if "hospitalization" in str(e["summary"])]
    assert len(bags) == len(p.bags) and len(premed) == 3 and len(hosp) == 2
    assert bags[0].decoded("dtstart") == START
    assert premed[0].decoded("dtstart") == START - datetime.timedelta(hours=1)
    assert hosp[0].decoded("dtstart") == START.date() and hosp[0].decoded("dtend") == datetime.date(2026, 1, 14)
    assert len({str(e["uid"]) for e in events}) == len(events)
    assert "Do not flush" in str(bags[0]["description"])


def test_csv_has_one_row_per_day():
    import csv
    import io

    p = plan(ind="mrd", bag="7d", cycles=2)
    rows = list(csv.DictReader(io.StringIO(course.to_csv(p))))
    assert len(rows) == 2 * 42
    assert sum(r["kind"] == "infusion" for r in rows) == 56
    assert [r["day"] for r in rows if r["bag_change"]] == ["1", "8", "15", "22"] * 2
    assert rows[0]["date"] == "2026-01-05" and rows[42]["date"] == "2026-02-16" and rows[0]["inline_filter"] == "no"
    assert all(r["dose_mcg_day"] == "" for r in rows if r["kind"] == "free")


def run(*args, stdin=None):
    return subprocess.run([DRUGLIB] + list(args), input=stdin, capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def lib_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("sched") / "lib.bin"
    path.write_bytes(real_library_bytes())
    return str(path)


def test_json_piped_into_druglib_check_accepts_the_whole_course(lib_file):
    """The issue's pipeline, as real processes: schedule --json | check --library LIB -."""
    sched = run("schedule", "--library", lib_file, "--indication", "relapsed-refractory", "--weight-kg", "17.8",
                "--bsa-m2", "0.75", "--age-days", "2084", "--start", "2026-01-05T08:30", "--bag", "48h", "--json")
    assert sched.returncode == 0, sched.stderr
    lines = sched.stdout.splitlines()
    assert len(lines) == 127 and json.loads(lines[0])["cycle"] == 1
    checked = run("check", "--library", lib_file, "-", stdin=sched.stdout)
    assert checked.returncode == 0, checked.stderr
    verdicts = [json.loads(x)["verdict"] for x in checked.stdout.splitlines()]
    assert verdicts == ["accept"] * 127


def test_cli_outputs_and_errors(lib_file, tmp_path):
    base = ["schedule", "--library", lib_file, "--indication", "mrd", "--weight-kg", "70", "--bsa-m2", "1.8",
            "--age-days", "9000", "--start", "2026-01-05"]
    table = run(*base, "--bag", "24h", "--cycles", "1")
    assert table.returncode == 0 and "Cycle 1 (induction)" in table.stdout and "31.5 mcg in 270 mL" in table.stdout
    ics = tmp_path / "course.ics"
    out = run(*base, "--bag", "7d", "--ics", str(ics))
    assert out.returncode == 0 and ics.read_bytes().startswith(b"BEGIN:VCALENDAR")
    html = tmp_path / "course.html"
    assert run(*base, "--bag", "48h", "--html", str(html)).returncode == 0
    assert "<svg" in html.read_text() and "http" not in html.read_text().replace("http-equiv", "")
    for bad, words in ((["--bag", "7d", "--weight-kg", "15", "--bsa-m2", "0.62"], "PRESERVATIVE_LOW_WEIGHT"),
                       (["--bag", "24h", "--start", "2026-02-30"], "not a date"),
                       (["--bag", "24h", "--weight-kg", "7O"], "not a decimal number"),
                       (["--bag", "96h"], "invalid choice")):
        r = run(*(base + bad))
        assert r.returncode != 0 and r.stdout == "", (bad, r.stdout)
        assert len(r.stderr.strip().splitlines()) == 1 and words in r.stderr and "Traceback" not in r.stderr
    r = run(*base, "--bag", "24h", "--bsa-m2", "1.8", "--height-cm", "170")
    assert r.returncode == 2 and "not allowed with" in r.stderr


def test_the_course_is_accepted_by_the_checker_under_micropython_too(lib_file):
    from host_tools import engines

    p = plan(ind="mrd", weight="30", bsa=None, height="135", age=3650, bag="7d")
    text = course.to_json_lines(p)
    assert engines.run_micropython(lib_file, text) == check_text(lib(), text)
    assert all(json.loads(x)["verdict"] == "accept" for x in engines.run_micropython(lib_file, text))
