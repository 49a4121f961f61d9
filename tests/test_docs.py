"""The documentation stays in step with the code it describes."""
import os

from conftest import ROOT
from firmware import errors
from firmware.check.codes import CODES
from firmware.library.body import LIMIT_KEYS


def _read(*parts):
    with open(os.path.join(ROOT, *parts)) as fh:
        return fh.read()


def test_every_reason_code_is_documented_with_its_severity_and_message():
    doc = _read("docs", "reason-codes.md")
    for code, (sev, msg) in CODES.items():
        assert "| `%s` | %s | %s |" % (code, sev, msg) in doc, code


def test_the_reason_code_page_is_exactly_what_docgen_writes():
    from host_tools.docgen import reason_codes_md
    assert _read("docs", "reason-codes.md") == reason_codes_md()


def test_every_device_error_code_is_documented():
    doc = _read("docs", "reason-codes.md")
    for name in dir(errors):
        cls = getattr(errors, name)
        if isinstance(cls, type) and issubclass(cls, errors.PumpError):
            assert "`%s`" % cls.code in doc, name


def test_every_limit_key_is_in_the_format_spec():
    doc = _read("docs", "format.md")
    for kid, name in LIMIT_KEYS:
        assert "| %d | `%s` |" % (kid, name) in doc, name


def test_readme_starts_with_the_two_commands():
    readme = _read("README.md")
    first = [line for line in readme.splitlines() if line.startswith("make ")][:2]
    assert first == ["make demo", "make test"]
