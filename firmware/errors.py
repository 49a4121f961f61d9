# One exception hierarchy for the device side (style of python-tuf's
# exceptions.py). Every error carries a stable `code` used on the wire and in
# the event log; docs/reason-codes.md lists them all.
# MicroPython: call super().__init__() explicitly; there is no exception
# chaining, so never rely on __cause__.


class PumpError(Exception):
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
    code = "TRUST_MALFORMED"


class DigestError(LibraryFormatError):
    """The body does not match the header's SHA-256 (a LibraryFormatError with its own code)."""
    code = "LIB_DIGEST"


class SignatureError(PumpError):
    code = "SIG_INVALID"


class UnknownKeyError(PumpError):
    code = "SIG_UNKNOWN_KEY"


class KeyRoleError(PumpError):
    code = "SIG_WRONG_ROLE"


class DuplicateSignerError(PumpError):
    code = "SIG_DUPLICATE_KEY"


class MissingRoleError(PumpError):
    code = "SIG_ROLE_MISSING"


class RollbackError(PumpError):
    code = "LIB_ROLLBACK"


# --- storage, install, boot, event log (docs/storage.md) ---
class StorageError(PumpError):
    code = "STORAGE_IO"


class NoLibraryError(PumpError):
    code = "NO_LIBRARY"


class SelfTestError(PumpError):
    code = "LIB_SELFTEST"


class LogCorruptError(PumpError):
    code = "LOG_CORRUPT"


# --- programming requests ---
class RequestError(PumpError):
    """A request that cannot be parsed at all (not JSON, not an object)."""
    code = "REQ_MALFORMED"
