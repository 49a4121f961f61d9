# The rate checker: one programming against the active library
# (DESIGN.md, "Contract: checking a programming"). Pure core: values in,
# result out; it never raises (a checker fault becomes a reject).
#
# Arithmetic is exact and integer-only (DESIGN.md, principle 1): request
# quantities are exact decimals (mantissa, exp10); library limits are integers
# with the unit in the name; comparisons cross-multiply.
#
# The rules live in modules named for what they hold: patient.py (age,
# weight, height, BSA), regimen.py (cycle, day, schedule advisories), bag.py
# (bag, infusion, line), dose.py (ordered, capped and delivered dose) and
# verdict.py (findings, overrides and their reason, the verdict).
from firmware.check.bag import check_administration
from firmware.check.dose import check_dose
from firmware.jsontext import quote
from firmware.library.index import drug_named
from firmware.check.patient import check_patient
from firmware.check.regimen import advisories, check_regimen
from firmware.check.request import Reader, dotted
from firmware.check.verdict import Findings, Result, _verdict, decide  # noqa: F401 (re-exported)


def check(lib, request):
    """Check one parsed request (dict from jsontext.loads) against a decoded library."""
    f = Findings()
    reason = None
    try:
        overrides, reason = _check(lib, request, f)
    except Exception as e:  # fail safe: never crash, never accept on a fault
        f.add("REQ_MALFORMED", "internal check fault: %s" % type(e).__name__)
        overrides = []
    return decide(f, overrides or [], reason)


def _check(lib, req, f):
    if not isinstance(req, dict):
        f.add("REQ_MALFORMED", "a programming must be a JSON object")
        return [], None
    r = Reader(req, f)
    if lib is None:
        f.add("NO_LIBRARY")
        return [], None
    name = r.string("drug")
    # Every field the contract does not know is a hard stop naming it.
    for k in r.unknown_fields():
        f.add("FIELD_UNKNOWN", quote(k))
    if name is None:
        return [], None
    # the stored library through its index on the pump, a decoded dict on the
    # host (issue 11 item 4); names are unique: the decoder refuses a second one
    drug = drug_named(lib, name)
    if drug is None:
        f.add("UNKNOWN_DRUG", quote(name))
        return [], None
    overrides = r.string_list("overrides")
    p = Programming(r, drug)
    check_patient(p, drug["limits"], f)
    check_regimen(p, drug, f)
    check_administration(p, drug, f)
    check_dose(p, drug, f)
    advisories(p, drug, f)
    return overrides, req.get("override_reason")


class Programming:
    """The request's values, read once; None where missing or malformed."""

    def __init__(self, r, drug):
        self.indication_name = r.string("indication")
        self.ind = None
        if self.indication_name is not None:
            for ind in drug["indications"]:
                if ind["name"] == self.indication_name:
                    self.ind = ind
            if self.ind is None:
                r.f.add("UNKNOWN_INDICATION", quote(self.indication_name))
        self.cycle = r.integer("cycle")
        self.day = r.integer("day")
        self.restart = r.boolean("restart_after_adverse_event")
        self.age_days = r.integer(("patient", "age_days"))
        self.weight_kg = r.decimal(("patient", "weight_kg"))
        self.bsa_m2 = r.decimal(("patient", "bsa_m2"), required=False)
        self.height_cm = r.decimal(("patient", "height_cm"), required=False)
        self.dose_value = r.decimal(("dose", "value"))
        self.dose_unit = r.string(("dose", "unit"))
        self.bag_mcg = r.decimal(("bag", "blinatumomab_mcg"))
        self.bag_ml = r.decimal(("bag", "volume_ml"))
        self.preservative = r.boolean(("bag", "preservative"))
        self.rate_ml_h = r.decimal(("infusion", "rate_ml_h"))
        self.duration_h = r.integer(("infusion", "duration_h"))
        self.vtbi_ml = r.decimal(("infusion", "vtbi_ml"))
        self.filter = r.boolean(("line", "inline_filter"))
        self.dehp_free = r.boolean(("line", "dehp_free"))
        # Optional extension fields (docs/check-contract.md): a programmed flush,
        # bolus or KVO rate must be absent or zero ("Do NOT flush the infusion line").
        self.extra_volumes = []
        for path in (("line", "flush_ml"), ("infusion", "bolus_ml"), ("infusion", "kvo_ml_h")):
            q = r.decimal(path, required=False)
            if q is not None:
                self.extra_volumes.append((dotted(path), q))
        self.admin = None       # the administration option matching duration_h
        self.bsa_band = None    # True: dosed by BSA (weight < band); None: unknown
        self.bsa_invalid = False  # a BSA was entered but is implausible
        self.days = None        # (first, last) infusion day this bag covers
        self.adult = None


_Programming = Programming
