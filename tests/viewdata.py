"""A real pump event log for the report tests: the firmware pump (in memory)
installs a released library and checks programmings, good, wrong and hostile."""
import copy
import json
import tempfile

from conftest_signing import Kit
from firmware.pump import Pump
from firmware.store.faultstorage import FaultStorage

GOOD = {"drug": "blinatumomab", "indication": "mrd", "cycle": 2, "day": 5, "restart_after_adverse_event": False,
        "patient": {"age_days": 12000, "weight_kg": 80, "bsa_m2": 1.9},
        "dose": {"value": 28, "unit": "mcg/day"},
        "bag": {"blinatumomab_mcg": 31.5, "volume_ml": 270, "preservative": False},
        "infusion": {"rate_ml_h": 10, "duration_h": 24, "vtbi_ml": 240},
        "line": {"inline_filter": True, "dehp_free": True}, "overrides": []}

HOSTILE_DRUG = "<script>alert('drug')</script>\x1b[2J\x1b[31mblinatumomab"
HOSTILE_REASON = "</td><script>document.title='owned'</script><img src=x onerror=alert(1)>\x1b]0;pwned\x07 ok"


def variant(**parts):
    r = copy.deepcopy(GOOD)
    for k, v in parts.items():
        r[k] = v
    return r


def programmings():
    soft = variant(patient={"age_days": 3000, "weight_kg": 15, "bsa_m2": 0.65},
                   dose={"value": 15, "unit": "mcg/m2/day"},
                   bag={"blinatumomab_mcg": 76.1979, "volume_ml": 110, "preservative": True},
                   infusion={"rate_ml_h": 0.6, "duration_h": 168, "vtbi_ml": 100.8},
                   line={"inline_filter": False, "dehp_free": True})
    overridden = dict(soft, overrides=["PRESERVATIVE_LOW_WEIGHT"], override_reason=HOSTILE_REASON)
    return [GOOD, GOOD, variant(infusion={"rate_ml_h": 100, "duration_h": 24, "vtbi_ml": 240}),
            variant(line={"inline_filter": False, "dehp_free": True}), soft, overridden,
            variant(drug=HOSTILE_DRUG), GOOD]


def pump_log(version=3):
    kit = Kit(tempfile.mkdtemp(prefix="druglib-viewlog-"), version=version)
    pump = Pump(FaultStorage(), kit.trust)
    pump.boot()
    pump.check_text(json.dumps(GOOD))  # before any library: NO_LIBRARY
    pump.install(kit.blob)
    for r in programmings():
        pump.check_text(json.dumps(r))
    return pump.log.read_all()


def changed_library(folder, rules_root):
    """A second library built from a copy of the rules in which pharmacy moved
    the preservative soft limit from 22 kg to 10 kg (value and note).
    -> (library path, rules folder)."""
    import os
    import shutil

    from host_tools.library.build import build_library

    rules = os.path.join(str(folder), "rules-v2")
    shutil.copytree(rules_root, rules)
    path = os.path.join(rules, "blinatumomab.toml")
    with open(path) as fh:
        text = fh.read()
    i = text.index("[parameter.preservative_min_weight]")
    j = text.index('value = "22 kg"', i)
    text = text[:j] + 'value = "10 kg"' + text[j + len('value = "22 kg"'):]
    old_note = "the library keeps the more \\\nprotective 22 kg, as a SOFT limit"
    assert old_note in text
    text = text.replace(old_note, "pharmacy sets \\\n10 kg (a local decision), as a SOFT limit", 1)
    with open(path, "w") as fh:
        fh.write(text)
    lib = os.path.join(str(folder), "v2.lib")
    with open(lib, "wb") as fh:
        fh.write(build_library(version=2, rules_dir=rules))
    return lib, rules
