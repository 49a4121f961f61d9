"""One exception hierarchy for the host side (style of python-tuf's exceptions.py).

Every user error is a DruglibError; the CLI prints its message on one line of
stderr and exits non-zero, never with a traceback.
"""


class DruglibError(Exception):
    """Base of every error the host tools report to a user."""

    exit_code = 1


class UsageError(DruglibError):
    """Bad command-line arguments or an unreadable input file."""

    exit_code = 2


class RulesError(DruglibError):
    """A rules file is invalid; the message names file, key and line."""

    def __init__(self, path, key, line, message):
        self.path, self.key, self.line = path, key, line
        where = str(path)
        if line:
            where += ":%d" % line
        if key:
            where += " [%s]" % key
        super().__init__("%s: %s" % (where, message))


class LintError(DruglibError):
    """The rules load but contradict themselves (one message per finding)."""

    def __init__(self, findings):
        self.findings = list(findings)
        super().__init__("rules contradict themselves:\n  " + "\n  ".join(self.findings))


class SourcesError(DruglibError):
    """The rules do not match the pinned texts they cite (issue 10): a changed
    source, or an `as_written` quotation that is not on its cited line."""

    def __init__(self, problems):
        self.problems = list(problems)
        sep = " " if len(self.problems) == 1 else "\n  "
        super().__init__("the rules do not match their pinned sources:" + sep + sep.join(self.problems))


class LibraryError(DruglibError):
    """A library file cannot be used (the device's code and message inside)."""


class KeyFileError(DruglibError):
    """A key file is missing, unreadable, of the wrong kind, or its passphrase is wrong."""


class SigningError(DruglibError):
    """A library cannot be signed as asked."""


class LinkError(DruglibError):
    """The serial link failed or the pump did not answer."""
