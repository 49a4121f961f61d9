"""The host does not believe the pump (issue 11 item 6): every answer's fields
are checked (present, of the right type, in range) before the host acts on
them. A missing or malformed field is one clear LinkError naming the answer
and the field (before: a KeyError, exit 70); a pump that makes no progress
within a bounded number of exchanges is one clear LinkError (before: a stuck
pump got DATA frames forever). Used by host_tools/link/client.py."""
from host_tools.errors import LinkError

# largest event log the host pulls (the pump's log is bounded far below this,
# firmware/store/eventlog.py): a pump announcing more is not believed
MAX_LOG_BYTES = 16 * 1024 * 1024


def _field(fields, name, kind, what):
    if name not in fields:
        raise LinkError("the pump's %s answer has no field `%s`" % (what, name))
    v = fields[name]
    if kind is int and (not isinstance(v, int) or isinstance(v, bool)):
        raise LinkError("the pump's %s answer has `%s` = %r, not an integer" % (what, name, v))
    if kind is not int and not isinstance(v, kind):
        raise LinkError("the pump's %s answer has `%s` of type %s, not %s"
                        % (what, name, type(v).__name__, kind.__name__))
    return v


def _int(fields, name, lo, hi, what):
    v = _field(fields, name, int, what)
    if not lo <= v <= hi:
        raise LinkError("the pump's %s answer has `%s` = %d, outside %d..%d" % (what, name, v, lo, hi))
    return v


def check_have(fields, total, what, most=None):
    """`have` present, an integer, within 0..total (and no more than was ever sent)."""
    return _int(fields, "have", 0, total if most is None else min(total, most), what)


def check_begin(fields, total):
    have = check_have(fields, total, "BEGIN")
    sha = _field(fields, "prefix_sha256", bytes, "BEGIN")
    if len(sha) != 32:
        raise LinkError("the pump's BEGIN answer has a prefix_sha256 of %d bytes, not 32" % len(sha))
    if "window" in fields:
        _int(fields, "window", 1, 1 << 24, "BEGIN")
    if "pump_id" in fields:
        _field(fields, "pump_id", str, "BEGIN")
    return have


def check_same(fields, version):
    """BEGIN answered "same" (issue 10 item 1): the pump says it runs these
    very bytes; it must name the version the pushed library carries."""
    got = _int(fields, "version", 1, 0xFFFFFFFF, "BEGIN")
    if "pump_id" in fields:
        _field(fields, "pump_id", str, "BEGIN")
    if version is not None and got != version:
        raise LinkError("the pump answered BEGIN 'same' with version %d, but version %d was pushed" % (got, version))


def check_end(fields, version):
    """END: a known status; an installed or same library is the version pushed."""
    status = _field(fields, "status", str, "END")
    if status not in ("installed", "same"):
        raise LinkError("the pump's END answer has an unknown status %r" % status)
    got = _int(fields, "version", 0, 0xFFFFFFFF, "END")
    _int(fields, "previous", 0, 0xFFFFFFFF, "END")
    if version is not None and got != version:
        raise LinkError("the pump answered END with version %d, but version %d was pushed" % (got, version))


def check_info(fields):
    """INFO: the fields the host reads are there and of their type (docs/protocol.md "INFO")."""
    for name in ("pump_id", "state"):
        _field(fields, name, str, "INFO")
    for name in ("library", "fault"):
        if name in fields:
            _field(fields, name, str, "INFO")
    _int(fields, "version", 0, 0xFFFFFFFF, "INFO")
    for name in ("proto", "counter", "log_size", "max_payload", "transfer_have"):
        if name in fields:
            _int(fields, name, 0, 0xFFFFFFFF, "INFO")
    if "log_seq" in fields:
        _int(fields, "log_seq", -1, 0xFFFFFFFF, "INFO")
    if "library_sha256" in fields:  # issue 10 item 1: 32 bytes, or empty without a library
        sha = _field(fields, "library_sha256", bytes, "INFO")
        if len(sha) not in (0, 32):
            raise LinkError("the pump's INFO answer has a library_sha256 of %d bytes, not 32" % len(sha))
    return fields


def check_log(fields, offset):
    size = _int(fields, "size", 0, MAX_LOG_BYTES, "LOG")
    seq = _field(fields, "seq", int, "LOG")
    chain = _field(fields, "chain", bytes, "LOG")
    data = _field(fields, "data", bytes, "LOG")
    if offset + len(data) > size:
        raise LinkError("the pump's LOG answer has %d bytes at offset %d of a %d-byte log"
                        % (len(data), offset, size))
    return size, seq, chain, data


def no_progress(url, have, total, n):
    return LinkError("the pump on %s did not answer DATA with progress in %d exchanges (stuck at %d of %d bytes): "
                     "push abandoned" % (url, n, have, total))
