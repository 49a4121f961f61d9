# Reading a programming request (DESIGN.md, "Contract: checking a programming")
# into exact values, collecting a finding for every missing or malformed field
# instead of raising: the checker must answer every request.
from firmware.check import decimals as decimal_text
from firmware.jsontext import Number

MISSING = object()
BROKEN = object()  # a parent object is missing or not an object: reported once already

# Known fields (DESIGN.md, the request); anything else, at any level, is the
# hard stop FIELD_UNKNOWN naming the field: a typo in a safety field
# ("flush_mL", "kvo_ml_hr") must never pass as an accept (issue 8).
KNOWN = {
    "": ("drug", "indication", "cycle", "day", "restart_after_adverse_event", "patient", "dose",
         "bag", "infusion", "line", "overrides", "override_reason"),
    "patient": ("age_days", "weight_kg", "bsa_m2", "height_cm"),
    "dose": ("value", "unit"),
    "bag": ("blinatumomab_mcg", "volume_ml", "preservative"),
    "infusion": ("rate_ml_h", "duration_h", "vtbi_ml", "bolus_ml", "kvo_ml_h"),
    "line": ("inline_filter", "dehp_free", "flush_ml"),
}


def dotted(path):
    """A field's name as the messages write it: "patient.weight_kg" for
    ("patient", "weight_kg") (the checker's paths are pairs: issue 11 item 4)."""
    return ".".join(path) if isinstance(path, tuple) else path


class Reader:
    """Typed access to a parsed request; problems go to `findings.add`."""

    def __init__(self, obj, findings):
        self.obj = obj
        self.f = findings
        self.reported = []  # parent paths already reported: one cause, one finding

    # Issue 11 item 4: each field of a programming is read through _get and
    # one typed method, about 20 a CHECK. On the MicroPython unix port a
    # function whose locals and value stack pass 11 words gets its frame from
    # the heap (py/objfun.c, VM_MAX_STATE_ON_STACK); so _get and the typed
    # methods stay small, paths are (parent, key) pairs (no string is cut),
    # and every finding is written in a helper (_broken, _not_valid,
    # _decimal_text), on the error path only. The order of the findings and
    # their words are those of before (tests/test_checker_*.py).
    def _get(self, path, required=True):
        """`path`: a top-level key, or (parent, key), the checker's paths (no
        string is cut on the CHECK path; issue 11 item 4)."""
        if isinstance(path, tuple):
            v = self.obj.get(path[0])
            if isinstance(v, dict):
                return v.get(path[1], MISSING)
            return self._broken(path[0], v, required)
        return self.obj.get(path, MISSING)  # the request is a dict (checker._check)

    def _broken(self, parent, v, required):
        """A parent object missing (v None) or not an object: reported once."""
        if v is None:
            # "patient" missing: one FIELD_MISSING, not one per entry in it
            if required and parent not in self.reported:
                self.reported.append(parent)
                self.missing(parent)
            return BROKEN
        # "dose": [28]: one FIELD_INVALID, not one per entry in it
        if parent not in self.reported:
            self.reported.append(parent)
            self.f.add("FIELD_INVALID", "%s must be an object" % parent)
        return BROKEN

    def present(self, path):
        v = self._get(path, False)
        return v is not MISSING and v is not BROKEN and v is not None

    def missing(self, path):
        self.f.add("FIELD_MISSING", "%s is missing" % dotted(path))

    def _not_valid(self, path, v, what, required=True):
        """None, after the finding a value that is not `what` calls for."""
        if v is BROKEN:
            return None
        if v is MISSING or v is None:
            if required:
                self.missing(path)
            return None
        self.f.add("FIELD_INVALID", "%s must be %s" % (dotted(path), what))
        return None

    def string(self, path):
        v = self._get(path)
        if isinstance(v, str):
            return v
        return self._not_valid(path, v, "text")

    def boolean(self, path):
        v = self._get(path)
        if v is True or v is False:
            return v
        return self._not_valid(path, v, "true or false")

    def decimal(self, path, required=True):
        """An exact decimal (mantissa, exp10) from a JSON number or a decimal string."""
        v = self._get(path, required)
        if isinstance(v, Number):
            v = v.text
        elif not isinstance(v, str):
            return self._not_valid(path, v, "a number", required)
        q = decimal_text.fast(v) if isinstance(v, str) else None
        return q if q is not None else self._decimal_text(path, v)

    def _decimal_text(self, path, text):
        try:
            return decimal_text.parse(text)
        except decimal_text.DecimalTextError as e:
            self.f.add("FIELD_INVALID", "%s: %s" % (dotted(path), e.message))
            return None

    def integer(self, path):
        q = self.decimal(path)
        if q is None:
            return None
        if q[1] == 0:  # decimal_text.as_int
            return q[0]
        self.f.add("FIELD_INVALID", "%s must be a whole number" % dotted(path))
        return None

    def string_list(self, path):
        v = self._get(path, False)
        if v is BROKEN or v is MISSING or v is None:
            return []
        if not isinstance(v, list):
            self.f.add("FIELD_INVALID", "%s must be a list of codes" % dotted(path))
            return None
        for x in v:
            if not isinstance(x, str):
                self.f.add("FIELD_INVALID", "%s must hold codes as text" % dotted(path))
                return None
        return v

    def unknown_fields(self):
        """Every field the contract does not know, at any level, sorted."""
        out = []
        for section in KNOWN:
            node = self.obj if section == "" else self.obj.get(section)
            if not isinstance(node, dict):
                continue
            for k in node:
                if k not in KNOWN[section]:
                    out.append(k if section == "" else section + "." + k)
        out.sort()
        return out
