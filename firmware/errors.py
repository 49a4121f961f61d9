# One exception hierarchy for the device side (style of python-tuf's
# exceptions.py). Every error carries a stable `code` used on the wire and in
# the event log; docs/reason-codes.md lists them all.
# MicroPython: call super().__init__() explicitly; there is no exception
# chaining, so never rely on __cause__.


class PumpError(Exception):
    """Base of every device error."""
    code = "PUMP_ERROR"

    def __init__(self, message=""):
        super().__init__(message)
        self.message = message

    def __str__(self):
        return self.message


# --- library bytes (format v1, docs/format.md) ---
class LibraryFormatError(PumpError):
    """Any malformed library: bad magic, length, offset, field or record."""
    code = "LIB_MALFORMED"


# --- release verification (docs/signing.md) ---
class TrustStoreError(PumpError):
    """The trust store file is malformed (bad key, role, length or duplicate)."""
    code = "TRUST_MALFORMED"


class DigestError(LibraryFormatError):
    """The body does not match the header's SHA-256 (a LibraryFormatError with its own code)."""
    code = "LIB_DIGEST"


class SignatureError(PumpError):
    """A signature does not verify, or names an unknown algorithm."""
    code = "SIG_INVALID"


class UnknownKeyError(PumpError):
    """A signature's key id is not in the trust store."""
    code = "SIG_UNKNOWN_KEY"


class KeyRoleError(PumpError):
    """A key signed in a role the trust store does not give it."""
    code = "SIG_WRONG_ROLE"


class DuplicateSignerError(PumpError):
    """The same key signed twice: two people are required."""
    code = "SIG_DUPLICATE_KEY"


class MissingRoleError(PumpError):
    """The author or the approver signature is missing: not released."""
    code = "SIG_ROLE_MISSING"


class RollbackError(PumpError):
    """The library is older than the installed one (anti-rollback)."""
    code = "LIB_ROLLBACK"


class VersionReusedError(PumpError):
    """Other bytes under the installed version: a re-release must raise the version."""
    # issue 10 item 1: the pump keeps the library it has and says why
    code = "LIB_VERSION_REUSED"


# --- storage, install, boot, event log (docs/storage.md) ---
class StorageError(PumpError):
    """The pump's storage failed to read or write."""
    code = "STORAGE_IO"


class NoLibraryError(PumpError):
    """No valid library is active: every programming is refused."""
    code = "NO_LIBRARY"


class SelfTestError(PumpError):
    """The active library no longer matches its digest (integrity self-test)."""
    code = "LIB_SELFTEST"


class LogCorruptError(PumpError):
    """An event-log record was edited, deleted, reordered or torn."""
    code = "LOG_CORRUPT"


# --- programming requests ---
class RequestError(PumpError):
    """A request that cannot be parsed at all (not JSON, not an object)."""
    code = "REQ_MALFORMED"
