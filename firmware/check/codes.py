# Reason codes of the rate checker: the one table (DESIGN.md, principle 7).
# docs/reason-codes.md is generated from this table and a test keeps the two
# in step. Codes are stable: never renumber or reuse one; add new ones.
#
# code -> (severity, what the nurse reads). Checker findings add specifics
# (the value entered, the value expected) after the fixed text.

HARD = "hard"
SOFT = "soft"
ADVISORY = "advisory"

CODES = {
    # --- the request itself ---
    "REQ_MALFORMED": (HARD, "The programming could not be read."),
    "FIELD_MISSING": (HARD, "A required entry is missing."),
    "FIELD_INVALID": (HARD, "An entry has the wrong form."),
    "NO_LIBRARY": (HARD, "No valid drug library is installed; the pump cannot check this infusion."),
    "UNKNOWN_DRUG": (HARD, "This drug is not in the drug library."),
    "UNKNOWN_INDICATION": (HARD, "This indication is not in the drug library for this drug."),
    # --- patient ---
    "PATIENT_VALUE_IMPLAUSIBLE": (HARD, "A patient value is outside the plausible range; re-enter it."),
    "AGE_BELOW_MINIMUM": (HARD, "Blinatumomab is not established in patients younger than 1 month."),
    "AGE_UNDER_ONE_MONTH": (SOFT, "The patient may be younger than one calendar month; confirm the date of birth."),
    "BSA_WEIGHT_MISMATCH": (SOFT, "The BSA does not fit the weight; check both (a wrong BSA gives a wrong dose)."),
    "BSA_REQUIRED": (HARD, "Under 45 kg the dose is by body surface area: enter the BSA."),
    # --- regimen: cycle and day ---
    "CYCLE_OUT_OF_RANGE": (HARD, "This cycle number is outside the regimen."),
    "DAY_OUT_OF_RANGE": (HARD, "This day is outside the cycle."),
    "DAY_IN_FREE_INTERVAL": (HARD, "This day is in the treatment-free interval: no blinatumomab is given."),
    "BAG_INTO_FREE_INTERVAL": (HARD, "This bag would run into the treatment-free interval."),
    "BAG_SPANS_DOSE_STEP": (HARD, "This bag would run across a dose change (step-up day); use a bag that ends before it."),
    # --- dose ---
    "DOSE_UNIT_UNKNOWN": (HARD, "The dose unit must be mcg/day or mcg/m2/day."),
    "DOSE_UNIT_WRONG_FOR_WEIGHT": (HARD, "Wrong dose basis for the weight: 45 kg or more is dosed in mcg/day, under 45 kg in mcg/m2/day."),
    "STEP_DOSE_REQUIRED": (HARD, "Relapsed/refractory cycle 1 days 1-7 need the step dose (9 mcg/day, or 5 mcg/m2/day under 45 kg)."),
    "RESTART_STEP_DOSE_REQUIRED": (HARD, "A restart after an adverse-event interruption needs the step dose (9 mcg/day, or 5 mcg/m2/day under 45 kg) for 7 days."),
    "DOSE_BELOW_REGIMEN": (SOFT, "The ordered dose is the lower step dose where the regimen gives the target dose; confirm with the prescriber."),
    "DOSE_NOT_IN_REGIMEN": (HARD, "The ordered dose is not the regimen's dose for this cycle and day."),
    "MAX_DAILY_DOSE_EXCEEDED": (HARD, "This bag would deliver more than the maximum daily dose of blinatumomab."),
    "BAG_DOSE_MISMATCH": (HARD, "The bag's concentration at this rate does not deliver the ordered dose; check the bag preparation."),
    "BAG_DOSE_DEVIATION": (SOFT, "The bag delivers slightly less than the ordered dose; confirm the bag preparation."),
    # --- administration ---
    "DURATION_NOT_ALLOWED": (HARD, "Blinatumomab bags run for 24 h, 48 h or 7 days only."),
    "RATE_NOT_FIXED": (HARD, "The rate must be the fixed rate for this bag: 10 mL/h (24 h), 5 mL/h (48 h) or 0.6 mL/h (7 days)."),
    "VTBI_MISMATCH": (HARD, "The volume to be infused must equal rate x duration."),
    "VTBI_EXCEEDS_BAG": (HARD, "The volume to be infused is more than the bag holds."),
    "BAG_NO_OVERFILL": (SOFT, "The bag holds exactly the volume to infuse: it is prepared with overfill to prime the line. Was the line primed with saline (not allowed)?"),
    "BAG_VOLUME_INVALID": (HARD, "The bag volume or drug amount must be more than zero."),
    "PRESERVATIVE_REQUIRED": (HARD, "A 7-day bag must be prepared with preservative (bacteriostatic saline with benzyl alcohol)."),
    "PRESERVATIVE_NOT_ALLOWED": (HARD, "24 h and 48 h bags are prepared preservative-free."),
    "PRESERVATIVE_INFANT": (HARD, "No preservative (benzyl alcohol) bag for an infant this small: use a preservative-free 24 h or 48 h bag."),
    "PRESERVATIVE_LOW_WEIGHT": (SOFT, "Preservative (benzyl alcohol) bags are not recommended for this low weight; prefer a preservative-free bag."),
    "FILTER_REQUIRED": (HARD, "24 h and 48 h bags need a 0.2 micron low-protein-binding in-line filter."),
    "FILTER_FORBIDDEN": (HARD, "Do not use an in-line filter with the 7-day bag."),
    "FLUSH_NOT_ALLOWED": (HARD, "No flush, bolus or keep-vein-open rate on a blinatumomab line: it gives an excess dose."),
    "DEHP_SET": (HARD, "Use a DEHP-free set (polyolefin, DEHP-free PVC or EVA): DEHP causes particles with blinatumomab."),
    # --- advisories: never block ---
    "NO_FLUSH": (ADVISORY, "Do not flush the line or catheter, especially at bag changes: a flush gives a bolus of blinatumomab. Dedicated lumen; do not prime with saline; do not change the rate during the infusion."),
    "HOSPITALIZATION": (ADVISORY, "Hospitalization is recommended for this part of the regimen."),
    "SUPERVISION": (ADVISORY, "Cycle start or re-initiation: supervision by a health care professional or hospitalization is recommended."),
    "PREMEDICATION": (ADVISORY, "Corticosteroid premedication is recommended before this dose."),
    "PRESERVATIVE_MONITORING": (ADVISORY, "Preservative bag in a child: monitor for new or worsening metabolic acidosis."),
    "FIELD_IGNORED": (ADVISORY, "Retired (issue 8): an entry the pump does not know is now FIELD_UNKNOWN, a hard stop."),
    "OVERRIDE_NOT_APPLICABLE": (ADVISORY, "An override was given for a limit that is not soft or not crossed; it has no effect."),
    # --- issue 8 (clinical red team) ---
    "FIELD_UNKNOWN": (HARD, "An entry the pump does not know: check its spelling (a mistyped safety entry is never ignored)."),
    "BSA_WEIGHT_IMPLAUSIBLE": (HARD, "The BSA is impossible for this weight: re-enter the BSA and the weight (the BSA sets a child's dose)."),
    "BSA_HEIGHT_MISMATCH": (HARD, "The BSA is not the one the height and weight give (Mosteller): re-enter the BSA, height and weight."),
    "BAG_OVERFILL_LOW": (SOFT, "The bag holds too little overfill to prime the line: was the line primed with saline (not allowed), or will the bag run dry early?"),
    "DOSE_CAPPED": (ADVISORY, "The dose by body surface area is above the daily maximum and is capped to it."),
    "OVERRIDE_REASON_REQUIRED": (SOFT, "An override takes effect only with a reason: enter why the soft limit is overridden."),
    # --- the pump through a whole infusion (firmware/therapy/, docs/therapy.md) ---
    "ACTION_NOT_ALLOWED": (HARD, "This action is not possible in the pump's present state; nothing was changed."),
    "ACTION_MALFORMED": (HARD, "The pump could not read this action; nothing was changed."),
    "RATE_CHANGE_LOCKED": (HARD, "The rate of a blinatumomab infusion cannot be changed: it runs at the fixed rate of its bag. Do not adjust the pump during the infusion."),
    "BOLUS_LOCKED": (HARD, "No bolus on a blinatumomab line: it gives an excess dose."),
    "FLUSH_LOCKED": (HARD, "Do NOT flush the infusion line or catheter, especially when changing bags: a flush gives a bolus of blinatumomab."),
    "SALINE_PRIME_LOCKED": (HARD, "Do NOT prime the tubing with 0.9% sodium chloride: prime only with the prepared infusion solution (the bag has overfill for it)."),
    "OVERRIDE_INCOMPLETE": (HARD, "An override must name every soft limit crossed and give a reason; the programming still waits."),
    "RESUME_INTERRUPTION_TOO_LONG": (HARD, "Interrupted for more than 7 days: the cycle cannot be resumed; a new cycle (day 1 of the next cycle) is needed."),
    "COURSE_INDICATION_CHANGED": (HARD, "The indication differs from the patient's course record; for another patient end the course (new patient)."),
    "COURSE_CYCLE_MISMATCH": (HARD, "This cycle does not follow the patient's course record."),
    "COURSE_DAY_MISMATCH": (HARD, "This day does not follow the course record: days count infusion days (1 + whole days infused in this cycle), not calendar days."),
    "COURSE_NEW_CYCLE_REQUIRED": (HARD, "The cycle is complete or was interrupted for more than 7 days: only day 1 of the next cycle can be programmed."),
    "COURSE_FREE_INTERVAL_SHORT": (SOFT, "The treatment-free interval after the last cycle (14 or 56 days) has not passed yet; confirm with the prescriber."),
    "BAG_EMPTY": (ADVISORY, "The bag has delivered its volume to be infused: hang the next bag (bag change), do not flush."),
    "CYCLE_COMPLETE": (ADVISORY, "The cycle's 28 infusion days are complete: the treatment-free interval begins."),
    "COURSE_RECORD_LOST": (HARD, "The pump could not read its saved course record: confirm the patient's course (new patient) before programming."),
}


def severity(code):
    return CODES[code][0]


def text(code):
    return CODES[code][1]
