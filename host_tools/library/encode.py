"""Model -> library bytes, format v1 (docs/format.md). The inverse of firmware/library/body.py.

Deterministic: the same model gives the same bytes (DESIGN.md, principle 5),
because every list is emitted in the model's order and nothing else (no time,
no host name) enters the body.
"""
import struct

from firmware.library import container
from firmware.library import body as fw
from firmware.errors import PumpError
from host_tools.errors import DruglibError

_LIMIT_ID = {name: kid for kid, name in fw.LIMIT_KEYS}
_LEVEL = {v: k for k, v in fw.LEVELS.items()}
_REQ = {v: k for k, v in fw.REQUIRE.items()}
_POP = {v: k for k, v in fw.POPULATIONS.items()}


class EncodeError(DruglibError):
    pass


def _rec(tag, payload):
    if len(payload) > 0xFFFF:
        raise EncodeError("record 0x%02x too long" % tag)
    return bytes([tag]) + struct.pack(">H", len(payload)) + payload


def _name(s):
    b = s.encode("ascii")
    if not 1 <= len(b) <= fw.MAX_NAME or any(c < 0x21 or c > 0x7E for c in b):
        raise EncodeError("name %r must be 1-%d printable ASCII characters without spaces" % (s, fw.MAX_NAME))
    return bytes([len(b)]) + b


def encode_body(model):
    out = [_rec(fw.T_LIBRARY, _name(model["library_name"]) + bytes(model["rules_sha256"]))]
    # every drug of the library, each its own record group (issue 11 item 3)
    for drug in model.get("drugs") or [model["drug"]]:
        _encode_drug(out, drug)
    body = b"".join(out)
    # One truth for what the pump accepts: the device decoder must take it back.
    fw.decode_body(body)
    return body


def _encode_drug(out, drug):
    out.append(_rec(fw.T_DRUG, _name(drug["name"])))
    for kid, key in fw.LIMIT_KEYS:
        out.append(_rec(fw.T_LIMIT, struct.pack(">Bi", kid, drug["limits"][key])))
    unknown = set(drug["limits"]) - set(_LIMIT_ID)
    if unknown:
        raise EncodeError("limits unknown to format v1: %s" % ", ".join(sorted(unknown)))
    for level in ("step", "target"):
        d = drug["doses"][level]
        out.append(_rec(fw.T_DOSE, struct.pack(">BIII", _LEVEL[level], d["fixed_ng_day"],
                                               d["bsa_ng_m2_day"], d["bsa_cap_ng_day"])))
    out.append(_rec(fw.T_RESTART, bytes([_LEVEL[drug["restart_dose"]]])))
    for a in drug["admin"]:
        out.append(_rec(fw.T_ADMIN, struct.pack(">HIIBB", a["duration_h"], a["rate_ul_h"], a["vtbi_ul"],
                                                _REQ[a["preservative"]], _REQ[a["filter"]])))
    for ind in drug["indications"]:
        out.append(_rec(fw.T_INDICATION, _name(ind["name"]) + bytes([ind["max_cycles"]])))
        for p in ind["phases"]:
            out.append(_rec(fw.T_PHASE, bytes([p["cycle_from"], p["cycle_to"], p["infusion_days"],
                                               p["free_days"]]) + _name(p["name"])))
        for s in ind["schedule"]:
            out.append(_rec(fw.T_SCHEDULE, bytes([s["cycle_from"], s["cycle_to"], s["day_from"],
                                                  s["day_to"], _LEVEL[s["dose"]]])))
        for h in ind["hospitalization"]:
            out.append(_rec(fw.T_HOSP, bytes([h["cycle_from"], h["cycle_to"], h["day_from"], h["day_to"]])))
        for p in ind["premedication"]:
            out.append(_rec(fw.T_PREMED, bytes([p["cycle_from"], p["cycle_to"], p["day"], _POP[p["population"]]])))


def encode_library(model):
    """Unsigned library bytes (signature block with zero signatures)."""
    try:
        return container.assemble(model["library_version"], encode_body(model))
    except PumpError as e:
        raise EncodeError("model breaks the device's format rules: %s" % e.message)
    except (KeyError, TypeError, ValueError, struct.error) as e:
        raise EncodeError("model cannot be encoded: %s: %s" % (type(e).__name__, e))
