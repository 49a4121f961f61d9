# Library body, format v1 (docs/format.md, "Body records").
#
# The body is a sequence of records: tag u8 | length u16 BE | value[length].
# Every length is checked before it is read; every field is range-checked;
# anything malformed raises LibraryFormatError, the one documented error for
# bad library bytes. decode() returns plain dicts in the same shape as the
# host compiler's model (docs/rules.md), integers and strings only.
import binascii

from firmware.bigendian import u16, u32
from firmware.library.container import ROLE_NAMES, parse  # noqa: F401 (ROLE_NAMES re-exported)
from firmware.errors import LibraryFormatError

T_LIBRARY = 0x01
T_DRUG = 0x02
T_LIMIT = 0x10
T_DOSE = 0x11
T_RESTART = 0x12
T_ADMIN = 0x20
T_INDICATION = 0x30
T_PHASE = 0x31
T_SCHEDULE = 0x32
T_HOSP = 0x33
T_PREMED = 0x34

# Limit keys (docs/format.md, "Limit keys"). Every key is required exactly once.
LIMIT_KEYS = (
    (1, "weight_band_g"), (2, "min_age_days"), (3, "min_age_confirm_days"),
    (4, "max_daily_ng"), (5, "max_daily_allowance_ppm"), (6, "dose_soft_ppm"),
    (7, "dose_hard_ppm"), (8, "vtbi_tolerance_ul"), (9, "preservative_min_weight_g"),
    (10, "dehp_free_required"), (11, "weight_min_g"), (12, "weight_max_g"),
    (13, "bsa_min_cm2"), (14, "bsa_max_cm2"), (15, "age_max_days"),
    (16, "restart_step_days"), (17, "interruption_continue_max_days"),
    (18, "reinitiation_hours"), (19, "adult_age_days"),
    (20, "bsa_weight_under_ppm"), (21, "bsa_weight_over_ppm"),
    (22, "preservative_hard_min_weight_g"),
    # issue 8 (before the first release: docs/format.md, "Versioning")
    (23, "bsa_weight_k_cm2"), (24, "bsa_weight_hard_under_ppm"), (25, "bsa_weight_hard_over_ppm"),
    (26, "bsa_height_tolerance_cm2"), (27, "height_min_mm"), (28, "height_max_mm"),
    (29, "priming_volume_ul"),
)
LIMIT_BY_ID = dict(LIMIT_KEYS)
LEVELS = {1: "step", 2: "target"}
REQUIRE = {0: "forbidden", 1: "required", 2: "allowed"}
POPULATIONS = {1: "adult", 2: "pediatric", 3: "all"}
MAX_NAME = 64


def _fail(msg):
    raise LibraryFormatError(msg)


class _Reader:
    def __init__(self, data, what):
        self.d = data
        self.i = 0
        self.what = what

    def need(self, n):
        if self.i + n > len(self.d):
            _fail("%s record too short" % self.what)

    def u8(self):
        self.need(1)
        self.i += 1
        return self.d[self.i - 1]

    def u16(self):
        self.need(2)
        self.i += 2
        return u16(self.d, self.i - 2)

    def u32(self):
        self.need(4)
        self.i += 4
        return u32(self.d, self.i - 4)

    def i32(self):
        v = self.u32()
        return v - (1 << 32) if v & 0x80000000 else v

    def name(self):
        n = self.u8()
        if n == 0 or n > MAX_NAME:
            _fail("%s: name length %d out of range" % (self.what, n))
        self.need(n)
        raw = bytes(self.d[self.i:self.i + n])
        self.i += n
        for b in raw:
            if b < 0x21 or b > 0x7E:
                _fail("%s: name is not printable ASCII" % self.what)
        return raw.decode()

    def raw(self, n):
        self.need(n)
        self.i += n
        return bytes(self.d[self.i - n:self.i])

    def end(self):
        if self.i != len(self.d):
            _fail("%s record has %d unexpected trailing bytes" % (self.what, len(self.d) - self.i))


def _enum(table, v, what):
    if v not in table:
        _fail("%s: unknown value %d" % (what, v))
    return table[v]


def _range4(r, what, max_cycle, max_day):
    cf, ct, df, dt = r.u8(), r.u8(), r.u8(), r.u8()
    if not (1 <= cf <= ct <= max_cycle):
        _fail("%s: cycles %d-%d outside 1-%d" % (what, cf, ct, max_cycle))
    if not (1 <= df <= dt <= max_day):
        _fail("%s: days %d-%d outside 1-%d" % (what, df, dt, max_day))
    return cf, ct, df, dt


MAX_RECORD = 255  # no record of format v1 is longer than 97 value bytes (docs/format.md)
MAX_DRUG_BYTES = 16384  # one drug's records, bounded so a check decodes it in bounded heap (issue 11 item 4)


class BodyDecoder:
    """The body's records one at a time, checked as they come (issue 11 item 4:
    a library is streamed once at install, never held whole).

    keep=True collects every drug into lib["drugs"] (decode_body); keep=False
    keeps only the drug being read: on_drug(name, offset) is told of each drug
    as it starts, and finds a second drug of the same name (issue 8);
    on_drug_end(drug, offset, length, crc32) once it is complete and checked."""

    def __init__(self, keep=True, drug_only=False):
        self.keep = keep
        self.lib = {"library_name": "", "rules_sha256": b"", "drugs": []} if drug_only else None
        self.drug = None
        self.ind = None
        self.drug_at = 0
        self.on_drug = None
        self.on_drug_end = None
        self.end_at = 0
        self.crc = 0

    def feed(self, body, base=0):
        """Every whole record of `body` (bytes at body offset `base`); returns
        the length consumed (the start of an unfinished record, if any)."""
        i = 0
        n = len(body)
        while n - i >= 3:
            ln = u16(body, i + 1)
            if ln > MAX_RECORD:
                _fail("record at offset %d is %d bytes, longer than any record (%d)" % (base + i, ln, MAX_RECORD))
            if i + 3 + ln > n:
                break
            tag = body[i]
            self.record(tag, body[i + 3:i + 3 + ln], base + i)
            if self.on_drug_end is not None:  # CRC-32 of the drug's records as stored
                self.crc = binascii.crc32(body[i:i + 3 + ln], 0 if tag == T_DRUG else self.crc)
            i += 3 + ln
        return i

    def record(self, tag, value, at):
        lib, drug = self.lib, self.drug
        r = _Reader(value, "tag 0x%02x at offset %d" % (tag, at))
        self.end_at = at + 3 + len(value)
        if lib is None:
            if tag != T_LIBRARY:
                _fail("body must start with the library record")
            self.lib = {"library_name": r.name(), "rules_sha256": r.raw(32), "drugs": []}
            r.end()
            return
        if tag == T_LIBRARY:
            _fail("second library record")
        if tag == T_DRUG:
            if drug is not None:
                self._end_drug(at)
            drug = self.drug = {"name": r.name(), "limits": {}, "doses": {}, "restart_dose": None,
                                "admin": [], "indications": []}
            self.drug_at = at
            self.ind = None
            r.end()
            if self.keep:
                for other in lib["drugs"]:
                    # a second drug of the same name would make the checker use one
                    # of the two silently (issue 8): refuse the library
                    if other["name"] == drug["name"]:
                        _fail("drug %s given twice" % drug["name"])
                lib["drugs"].append(drug)
            elif self.on_drug is not None:
                self.on_drug(drug["name"], at)
            return
        if drug is None:
            _fail("record 0x%02x before any drug record" % tag)
        if at + 3 + len(value) - self.drug_at > MAX_DRUG_BYTES:
            _fail("drug %s: its records pass %d bytes" % (drug["name"], MAX_DRUG_BYTES))
        _drug_record(tag, r, drug, self)
        r.end()

    def _end_drug(self, at):
        _finish_drug(self.drug)
        if self.on_drug_end is not None:
            self.on_drug_end(self.drug, self.drug_at, at - self.drug_at, self.crc & 0xFFFFFFFF)

    def finish(self, rest=0):
        """The end of the body; `rest` bytes of an unfinished record were left."""
        if rest:
            if rest < 3:
                _fail("record header truncated at offset %d" % self.end_at)
            _fail("record at offset %d overruns the body" % self.end_at)
        if self.lib is None:
            _fail("empty body")
        if self.drug is None:
            _fail("library has no drug")
        self._end_drug(self.end_at)
        return self.lib


def decode_body(body):
    """Body bytes -> library dict. Raises LibraryFormatError."""
    d = BodyDecoder()
    used = d.feed(body)
    return d.finish(len(body) - used)


def decode_drug(span, at=0):
    """One drug's records (a span the library index names) -> its dict, checked
    as decode_body checks it. Raises LibraryFormatError."""
    if not span or span[0] != T_DRUG:
        _fail("no drug record at offset %d" % at)
    d = BodyDecoder(drug_only=True)
    used = d.feed(span, at)
    d.finish(len(span) - used)
    return d.lib["drugs"][0]


def _drug_record(tag, r, drug, state):
    if tag == T_LIMIT:
        key = _enum(LIMIT_BY_ID, r.u8(), "limit key")
        if key in drug["limits"]:
            _fail("limit %s given twice" % key)
        drug["limits"][key] = r.i32()
    elif tag == T_DOSE:
        level = _enum(LEVELS, r.u8(), "dose level")
        if level in drug["doses"]:
            _fail("dose level %s given twice" % level)
        drug["doses"][level] = {"fixed_ng_day": r.u32(), "bsa_ng_m2_day": r.u32(),
                                "bsa_cap_ng_day": r.u32()}
    elif tag == T_RESTART:
        if drug["restart_dose"] is not None:
            _fail("restart dose given twice")
        drug["restart_dose"] = _enum(LEVELS, r.u8(), "restart dose level")
    elif tag == T_ADMIN:
        a = {"duration_h": r.u16(), "rate_ul_h": r.u32(), "vtbi_ul": r.u32(),
             "preservative": _enum(REQUIRE, r.u8(), "preservative"),
             "filter": _enum(REQUIRE, r.u8(), "filter")}
        if a["duration_h"] == 0 or a["duration_h"] % 24 or a["rate_ul_h"] == 0:
            _fail("administration option with duration %d h, rate %d uL/h" % (a["duration_h"], a["rate_ul_h"]))
        if a["vtbi_ul"] != a["rate_ul_h"] * a["duration_h"]:
            _fail("administration option %d h: volume is not rate x duration" % a["duration_h"])
        for b in drug["admin"]:
            if b["duration_h"] == a["duration_h"]:
                _fail("administration option %d h given twice" % a["duration_h"])
        drug["admin"].append(a)
    elif tag == T_INDICATION:
        name = r.name()
        mc = r.u8()
        if mc < 1:
            _fail("indication %s with no cycles" % name)
        for o in drug["indications"]:
            if o["name"] == name:
                _fail("indication %s given twice" % name)
        state.ind = {"name": name, "max_cycles": mc, "phases": [], "schedule": [],
                     "hospitalization": [], "premedication": []}
        drug["indications"].append(state.ind)
    elif tag in (T_PHASE, T_SCHEDULE, T_HOSP, T_PREMED):
        if state.ind is None:
            _fail("record 0x%02x before any indication record" % tag)
        _indication_record(tag, r, state.ind)
    else:
        _fail("unknown record tag 0x%02x" % tag)


def _indication_record(tag, r, ind):
    mc = ind["max_cycles"]
    if tag == T_PHASE:
        cf, ct, inf, free = r.u8(), r.u8(), r.u8(), r.u8()
        name = r.name()
        if not (1 <= cf <= ct <= mc) or inf < 1:
            _fail("phase %s: cycles %d-%d / %d infusion days invalid" % (name, cf, ct, inf))
        ind["phases"].append({"name": name, "cycle_from": cf, "cycle_to": ct,
                              "infusion_days": inf, "free_days": free})
        return
    if tag == T_SCHEDULE:
        cf, ct, df, dt = _range4(r, "schedule", mc, 255)
        ind["schedule"].append({"cycle_from": cf, "cycle_to": ct, "day_from": df, "day_to": dt,
                                "dose": _enum(LEVELS, r.u8(), "schedule dose level")})
    elif tag == T_HOSP:
        cf, ct, df, dt = _range4(r, "hospitalization", mc, 255)
        ind["hospitalization"].append({"cycle_from": cf, "cycle_to": ct, "day_from": df, "day_to": dt})
    else:
        cf, ct, day, pop = r.u8(), r.u8(), r.u8(), r.u8()
        if not (1 <= cf <= ct <= mc) or day < 1:
            _fail("premedication: cycles %d-%d day %d invalid" % (cf, ct, day))
        ind["premedication"].append({"cycle_from": cf, "cycle_to": ct, "day": day,
                                     "population": _enum(POPULATIONS, pop, "population")})


def _finish_drug(drug):
    """Completeness and consistency: a checker must never meet a half library."""
    name = drug["name"]
    for _, key in LIMIT_KEYS:
        if key not in drug["limits"]:
            _fail("drug %s: limit %s missing" % (name, key))
    _bsa_limits(name, drug["limits"])
    for level in ("step", "target"):
        if level not in drug["doses"]:
            _fail("drug %s: dose level %s missing" % (name, level))
    if drug["restart_dose"] is None:
        _fail("drug %s: restart dose missing" % name)
    if not drug["admin"]:
        _fail("drug %s: no administration option" % name)
    if not drug["indications"]:
        _fail("drug %s: no indication" % name)
    for ind in drug["indications"]:
        covered = [0] * (ind["max_cycles"] + 1)
        for ph in ind["phases"]:
            for c in range(ph["cycle_from"], ph["cycle_to"] + 1):
                covered[c] += 1
        for c in range(1, ind["max_cycles"] + 1):
            if covered[c] != 1:
                _fail("indication %s: cycle %d is in %d phases" % (ind["name"], c, covered[c]))
            days = phase_of(ind, c)["infusion_days"]
            seen = [0] * (days + 1)
            for s in ind["schedule"]:
                if s["cycle_from"] <= c <= s["cycle_to"]:
                    if s["day_to"] > days:
                        _fail("indication %s cycle %d: schedule past day %d" % (ind["name"], c, days))
                    for d in range(s["day_from"], s["day_to"] + 1):
                        seen[d] += 1
            for d in range(1, days + 1):
                if seen[d] != 1:
                    _fail("indication %s cycle %d day %d: %d schedule entries" % (ind["name"], c, d, seen[d]))


def _bsa_limits(name, lim):
    """The checker's BSA bands must make sense (issue 8): a positive estimate,
    soft bands inside hard bands, a hard lower band short of 100 %."""
    if lim["bsa_weight_k_cm2"] <= 0:
        _fail("drug %s: bsa_weight_k_cm2 must be positive" % name)
    if not 0 <= lim["bsa_weight_under_ppm"] < lim["bsa_weight_hard_under_ppm"] < 1000000:
        _fail("drug %s: BSA lower bands out of order" % name)
    if not 0 <= lim["bsa_weight_over_ppm"] < lim["bsa_weight_hard_over_ppm"]:
        _fail("drug %s: BSA upper bands out of order" % name)
    if not 0 < lim["height_min_mm"] < lim["height_max_mm"]:
        _fail("drug %s: height range empty" % name)
    if lim["bsa_height_tolerance_cm2"] < 0 or lim["priming_volume_ul"] < 0:
        _fail("drug %s: negative BSA tolerance or priming volume" % name)


def phase_of(ind, cycle):
    for ph in ind["phases"]:
        if ph["cycle_from"] <= cycle <= ph["cycle_to"]:
            return ph
    return None


def decode(blob):
    """Whole library bytes -> (container, library dict)."""
    c = parse(blob)
    lib = decode_body(c.body)
    lib["library_version"] = c.header.library_version
    return c, lib
