# Ed25519 signature verification, RFC 8032 section 5.1.7, integer arithmetic only.
#
# Verification only: the pump holds no private key. Everything here is public
# data (keys, signatures, library bytes), so the code is variable-time on
# purpose; the one secret-free but security-relevant compare, the final
# encoding check, still goes through ct_equal for good habit.
#
# Speed (the pump verifies two signatures per library under MicroPython):
# - [S]B + [k](-A) by Straus' method: one shared chain of ~253 doublings,
#   scalars in width-w NAF (ref10's slide()), additions from a table of odd
#   multiples of B stored in the module (firmware/release/ed25519_table.py,
#   generated, affine; madd-2008-hwcd-3) and of -A (8 points, built once per
#   key when the trust store loads);
# - one inversion for both signatures of a library (finish_batch).
# The field and point arithmetic (coordinates, inversion, point decoding,
# the odd-multiple tables) lives in firmware/release/ed25519_curve.py; its
# public names are re-exported here for callers and tests.
from firmware.release.ed25519_curve import (  # noqa: F401 (L re-exported)
    A_BOUND, B_BOUND, L, P, Y_MASK, decode_point, encode_point, inv, odd_cached, point_double)
from firmware.release.ed25519_table import BASE
from firmware.release.sha512 import sha512


def ct_equal(a, b):
    """Constant-time equality of two byte strings (time depends on length only)."""
    if len(a) != len(b):
        return False
    acc = 0
    for i in range(len(a)):
        acc |= a[i] ^ b[i]
    return acc == 0


def _slide(b, bound):
    """Width-w NAF ("sliding window", ref10's slide()) of a 32-byte little-endian scalar.

    Returns 256 digits r[i], each 0 or odd with |r[i]| <= bound, and
    sum r[i] 2^i equal to the scalar; non-zero digits are far apart.
    """
    r = []
    for c in b:
        for k in range(8):
            r.append((c >> k) & 1)
    for i in range(256):
        if not r[i]:
            continue
        for s in range(1, 8):
            if i + s >= 256:
                break
            if not r[i + s]:
                continue
            v = r[i + s] << s
            if r[i] + v <= bound:
                r[i] += v
                r[i + s] = 0
            elif r[i] - v >= -bound:
                r[i] -= v
                for k in range(i + s, 256):
                    if not r[k]:
                        r[k] = 1
                        break
                    r[k] = 0
            else:
                break
    return r


def double_scalarmult(sb, ka, at):
    """Projective (X, Y, Z) of [s]B + [k]Q by Straus' method (one shared doubling chain).

    `sb`, `ka`: _slide() digits of s (bound B_BOUND) and k (bound A_BOUND);
    `at`: odd_cached() table of Q. Additions use the base point table in
    affine Niels form (madd-2008-hwcd-3) and Q's table in cached form
    (add-2008-hwcd-3); T is only computed when an addition follows.
    """
    p = P
    bt = BASE
    i = 255
    while i >= 0 and not sb[i] and not ka[i]:
        i -= 1
    X = 0
    Y = 1
    Z = 1
    T = 0
    while i >= 0:
        # dbl-2008-hwcd (a = -1).
        a = X * X % p
        b = Y * Y % p
        c = Z * Z % p
        c += c
        s = X + Y
        e = (s * s - a - b) % p
        g = b - a
        f = g - c
        h = -a - b
        X = e * f % p
        Y = g * h % p
        Z = f * g % p
        v = sb[i]
        u = ka[i]
        if v or u:
            T = e * h % p
        if v:
            # madd with an affine B multiple; -Q swaps y+x and y-x and negates 2dxy.
            if v > 0:
                k = 3 * (v >> 1)
                yp = bt[k]
                ym = bt[k + 1]
                xy = bt[k + 2]
            else:
                k = 3 * ((-v) >> 1)
                yp = bt[k + 1]
                ym = bt[k]
                xy = -bt[k + 2]
            a = (Y - X) * ym % p
            b = (Y + X) * yp % p
            c = T * xy % p
            d = Z + Z
            e = b - a
            f = d - c
            g = d + c
            h = b + a
            X = e * f % p
            Y = g * h % p
            Z = f * g % p
            if u:
                T = e * h % p
        if u:
            if u > 0:
                k = 4 * (u >> 1)
                yp = at[k]
                ym = at[k + 1]
                xy = at[k + 3]
            else:
                k = 4 * ((-u) >> 1)
                yp = at[k + 1]
                ym = at[k]
                xy = -at[k + 3]
            a = (Y - X) * ym % p
            b = (Y + X) * yp % p
            c = T * xy % p
            d = Z * at[k + 2] % p
            e = b - a
            f = d - c
            g = d + c
            h = b + a
            X = e * f % p
            Y = g * h % p
            Z = f * g % p
            # No T: the next operation is a doubling, which does not read it.
        i -= 1
    return X, Y, Z


class PublicKey:
    """A decoded Ed25519 public key A (-A's affine coordinates).

    Raises ValueError for an encoding RFC 8032 section 5.1.3 rejects, and for
    a point of small order (8A = identity), which no honest key generator
    produces and for which signatures are trivially forgeable.

    The table of -A's odd multiples that verification needs is built per
    verification and dropped with it (issue 11 item 5, docs/board.md "Heap"):
    kept per key it was 32 big integers, about 2.4 KiB of heap on a 32-bit
    port, 38 KiB for a full trust store (MAX_KEYS = 16), for the pump's whole
    life; building it costs a few per cent of one verification.
    """

    def __init__(self, raw):
        raw = bytes(raw)
        x, y = decode_point(raw)
        q = (x, y, 1, x * y % P)
        for _ in range(3):
            q = point_double(q)
        if q[0] == 0:
            raise ValueError("public key is a point of small order")
        self.raw = raw
        self._nx = (P - x) % P
        self._y = y

    def verify(self, msg, sig):
        """True iff `sig` is a valid signature of `msg`, RFC 8032 section 5.1.7."""
        return _finish(self.partial(msg, sig))

    def partial(self, msg, sig):
        """Everything but the final inversion: (X, Y, Z, R), or None if `sig` is malformed."""
        if len(sig) != 64:
            return None
        sig = bytes(sig)
        r = sig[:32]
        # Step 1: S must be canonical (0 <= S < L); R's y must be canonical too.
        if int.from_bytes(sig[32:], "little") >= L:
            return None
        if int.from_bytes(r, "little") & Y_MASK >= P:
            return None
        # Step 2: k = SHA-512(dom2(F, C) || R || A || PH(M)) mod L; dom2 is empty for Ed25519.
        k = int.from_bytes(sha512(r + self.raw + bytes(msg)), "little") % L
        # Step 3, cofactorless: encode([S]B + [k](-A)) == R. The encoding is
        # canonical, so an R that is non-canonical or off the curve never matches.
        X, Y, Z = double_scalarmult(_slide(sig[32:], B_BOUND), _slide(k.to_bytes(32, "little"), A_BOUND),
                                    odd_cached(self._nx, self._y))
        return X, Y, Z, r


def _finish(part):
    if part is None:
        return False
    X, Y, Z, r = part
    zi = inv(Z)
    return ct_equal(encode_point(X * zi % P, Y * zi % P), r)


def finish_batch(parts):
    """Final checks of several partial() results with one shared inversion (Montgomery's trick).

    Returns a list of booleans in the same order.
    """
    live = [q for q in parts if q is not None]
    acc = 1
    prefix = []
    for q in live:
        prefix.append(acc)
        acc = acc * q[2] % P
    acc = inv(acc) if live else 1
    ok = {}
    for i in range(len(live) - 1, -1, -1):
        X, Y, Z, r = live[i]
        zi = acc * prefix[i] % P
        acc = acc * Z % P
        ok[i] = ct_equal(encode_point(X * zi % P, Y * zi % P), r)
    out = []
    n = 0
    for q in parts:
        if q is None:
            out.append(False)
        else:
            out.append(ok[n])
            n += 1
    return out


def verify(public_key, msg, sig):
    """RFC 8032 section 5.1.7 verification from raw bytes; False for a malformed key."""
    try:
        key = PublicKey(public_key)
    except ValueError:
        return False
    return key.verify(msg, sig)
