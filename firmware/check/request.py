# Reading a programming request (DESIGN.md, "Contract: checking a programming")
# into exact values, collecting a finding for every missing or malformed field
# instead of raising: the checker must answer every request.
from firmware.check import decimals as decimal_text
from firmware.check.jsontext import Number

MISSING = object()

# Known fields; anything else is reported (FIELD_IGNORED) and ignored.
KNOWN = {
    "": ("drug", "indication", "cycle", "day", "restart_after_adverse_event", "patient", "dose",
         "bag", "infusion", "line", "overrides", "override_reason"),
    "patient": ("age_days", "weight_kg", "bsa_m2"),
    "dose": ("value", "unit"),
    "bag": ("blinatumomab_mcg", "volume_ml", "preservative"),
    "infusion": ("rate_ml_h", "duration_h", "vtbi_ml", "bolus_ml", "kvo_ml_h"),
    "line": ("inline_filter", "dehp_free", "flush_ml"),
}


class Reader:
    """Typed access to a parsed request; problems go to `findings.add`."""

    def __init__(self, obj, findings):
        self.obj = obj
        self.f = findings

    def _get(self, path):
        node = self.obj
        parts = path.split(".")
        for i in range(len(parts)):
            if not isinstance(node, dict):
                return MISSING
            if parts[i] not in node:
                return MISSING
            node = node[parts[i]]
            if i < len(parts) - 1 and node is not MISSING and not isinstance(node, dict):
                self.f.add("FIELD_INVALID", "%s must be an object" % ".".join(parts[:i + 1]))
                return MISSING
        return node

    def present(self, path):
        v = self._get(path)
        return v is not MISSING and v is not None

    def missing(self, path):
        self.f.add("FIELD_MISSING", "%s is missing" % path)

    def string(self, path):
        v = self._get(path)
        if v is MISSING or v is None:
            self.missing(path)
            return None
        if not isinstance(v, str):
            self.f.add("FIELD_INVALID", "%s must be text" % path)
            return None
        return v

    def boolean(self, path):
        v = self._get(path)
        if v is MISSING or v is None:
            self.missing(path)
            return None
        if v is not True and v is not False:
            self.f.add("FIELD_INVALID", "%s must be true or false" % path)
            return None
        return v

    def decimal(self, path, required=True):
        """An exact decimal (mantissa, exp10) from a JSON number or a decimal string."""
        v = self._get(path)
        if v is MISSING or v is None:
            if required:
                self.missing(path)
            return None
        if isinstance(v, Number):
            text = v.text
        elif isinstance(v, str):
            text = v
        else:
            self.f.add("FIELD_INVALID", "%s must be a number" % path)
            return None
        try:
            return decimal_text.parse(text)
        except decimal_text.DecimalTextError as e:
            self.f.add("FIELD_INVALID", "%s: %s" % (path, e.message))
            return None

    def integer(self, path):
        q = self.decimal(path)
        if q is None:
            return None
        n = decimal_text.as_int(q)
        if n is None:
            self.f.add("FIELD_INVALID", "%s must be a whole number" % path)
        return n

    def string_list(self, path):
        v = self._get(path)
        if v is MISSING or v is None:
            return []
        if not isinstance(v, list):
            self.f.add("FIELD_INVALID", "%s must be a list of codes" % path)
            return None
        for x in v:
            if not isinstance(x, str):
                self.f.add("FIELD_INVALID", "%s must hold codes as text" % path)
                return None
        return v

    def unknown_fields(self):
        out = []
        for section in KNOWN:
            node = self.obj if section == "" else self._get(section)
            if not isinstance(node, dict):
                continue
            for k in node:
                if k not in KNOWN[section]:
                    out.append(k if section == "" else section + "." + k)
        out.sort()
        return out
