# Ed25519 signature verification, RFC 8032 section 5.1, integer arithmetic only.
#
# Verification only: the pump holds no private key. Everything here is public
# data (keys, signatures, library bytes), so the code is variable-time on
# purpose; the one secret-free but security-relevant compare, the final
# encoding check, still goes through ct_equal for good habit.
#
# Speed (the pump verifies two signatures per library under MicroPython,
# where one 255-bit multiply-and-reduce costs ~2 us and dominates):
# - points in extended twisted Edwards coordinates (X:Y:Z:T), x = X/Z,
#   y = Y/Z, xy = T/Z (Hisil, Wong, Carter, Dawson 2008, "Twisted Edwards
#   curves revisited", formulas dbl-2008-hwcd and madd-2008-hwcd-3, a = -1);
# - [S]B + [k](-A) by Straus' method: one shared chain of ~253 doublings,
#   scalars in width-w NAF (ref10's slide()), additions from a table of odd
#   multiples of B stored in the module (firmware/release/ed25519_table.py,
#   generated, affine) and of -A (8 points, built once per key when the
#   trust store loads);
# - one inversion for both signatures of a library (finish_batch);
# - inversion and square root by the addition chains of the ref10 code
#   (254 squarings + 11 multiplications), cheaper than pow(x, e, p);
# - sums and differences stay unreduced; every product is reduced with % P.
from firmware.release.ed25519_table import BASE
from firmware.release.sha512 import sha512

P = (1 << 255) - 19  # field prime p, RFC 8032 section 5.1
L = (1 << 252) + 27742317777372353535851937790883648493  # group order
D = 0x52036cee2b6ffe738cc740797779e89800700a4d4141d8ab75eb4dca135978a3  # -121665/121666
D2 = 0x2406d9dc56dffce7198e80f2eef3d13000e0149a8283b156ebd69b9426b2f159  # 2d
SQRT_M1 = 0x2b8324804fc1df0b2b4d00993dfbd7a72f431806ad2fe478c4ee1b274a0ea0b0  # 2^((p-1)/4)
_Y_MASK = (1 << 255) - 1
B_BOUND = 63  # base point digits are odd in [-63, 63]: table of B, 3B, ..., 63B
A_BOUND = 15  # key digits are odd in [-15, 15]: table of A, 3A, ..., 15A
A_TABLE_SIZE = (A_BOUND + 1) // 2


def ct_equal(a, b):
    """Constant-time equality of two byte strings (time depends on length only)."""
    if len(a) != len(b):
        return False
    acc = 0
    for i in range(len(a)):
        acc |= a[i] ^ b[i]
    return acc == 0


# --- field GF(p) -----------------------------------------------------------

def _sqn(x, n):
    p = P
    for _ in range(n):
        x = x * x % p
    return x


def _chain(z):
    """Return (z^(2^250 - 1), z^11): the shared prefix of ref10's fe_invert/fe_pow22523."""
    p = P
    z2 = z * z % p
    z9 = _sqn(z2, 2) * z % p
    z11 = z9 * z2 % p
    z5 = z11 * z11 % p * z9 % p  # 2^5 - 1
    z10 = _sqn(z5, 5) * z5 % p  # 2^10 - 1
    z20 = _sqn(z10, 10) * z10 % p
    z40 = _sqn(z20, 20) * z20 % p
    z50 = _sqn(z40, 10) * z10 % p
    z100 = _sqn(z50, 50) * z50 % p
    z200 = _sqn(z100, 100) * z100 % p
    return _sqn(z200, 50) * z50 % p, z11


def inv(z):
    """z^(p-2) = 1/z mod p (Fermat); p - 2 = (2^250 - 1) * 2^5 + 11."""
    t, z11 = _chain(z % P)
    return _sqn(t, 5) * z11 % P


def _pow22523(z):
    """z^((p-5)/8) mod p; (p - 5)/8 = (2^250 - 1) * 4 + 1."""
    t, _ = _chain(z)
    return _sqn(t, 2) * z % P


# --- points ------------------------------------------------------------------

def decode_point(b):
    """Decode a 32-byte point encoding, RFC 8032 section 5.1.3, to affine (x, y).

    Raises ValueError for a wrong length, a non-canonical y (y >= p), a y
    with no x on the curve, and the non-canonical "negative zero" x.
    """
    if len(b) != 32:
        raise ValueError("point encoding must be 32 bytes")
    n = int.from_bytes(bytes(b), "little")
    sign = n >> 255
    y = n & _Y_MASK
    if y >= P:
        raise ValueError("non-canonical point encoding (y >= p)")
    p = P
    # Step 2: x^2 = u/v with u = y^2 - 1, v = d y^2 + 1; candidate x = u v^3 (u v^7)^((p-5)/8).
    yy = y * y % p
    u = (yy - 1) % p
    v = (D * yy + 1) % p
    v3 = v * v % p * v % p
    x = u * v3 % p * _pow22523(u * v3 % p * v3 % p * v % p) % p
    # Step 3: fix up the root, or there is none.
    vxx = v * x % p * x % p
    if vxx != u:
        if vxx != (p - u) % p:
            raise ValueError("invalid point encoding (not on the curve)")
        x = x * SQRT_M1 % p
    # Step 4: the sign bit selects x or p - x; x = 0 with sign 1 is invalid.
    if x == 0 and sign:
        raise ValueError("non-canonical point encoding (x = 0 with sign bit)")
    if (x & 1) != sign:
        x = p - x
    return x, y


def encode_point(x, y):
    """RFC 8032 section 5.1.2: y little-endian with the low bit of x on top."""
    return (y | ((x & 1) << 255)).to_bytes(32, "little")


def _dbl(pt):
    """Extended doubling dbl-2008-hwcd with a = -1 (RFC 8032 section 5.1.4)."""
    X, Y, Z, _ = pt
    p = P
    a = X * X % p
    b = Y * Y % p
    c = 2 * Z * Z % p
    s = X + Y
    e = (s * s - a - b) % p
    g = b - a
    f = g - c
    h = -a - b
    return e * f % p, g * h % p, f * g % p, e * h % p


def _add(p1, p2):
    """Extended addition add-2008-hwcd-3 with a = -1, k = 2d (RFC 8032 section 5.1.4)."""
    X1, Y1, Z1, T1 = p1
    X2, Y2, Z2, T2 = p2
    p = P
    a = (Y1 - X1) * (Y2 - X2) % p
    b = (Y1 + X1) * (Y2 + X2) % p
    c = T1 * D2 % p * T2 % p
    d = 2 * Z1 * Z2 % p
    e = b - a
    f = d - c
    g = d + c
    h = b + a
    return e * f % p, g * h % p, f * g % p, e * h % p


def odd_multiples(x, y, n):
    """Affine "Niels" form (y+x, y-x, 2dxy) of P, 3P, ..., (2n-1)P, flattened (3 ints each).

    Used to generate the base point table (firmware/release/ed25519_table.py); one
    inversion for all points by Montgomery's trick.
    """
    p = P
    pt = (x, y, 1, x * y % p)
    twice = _dbl(pt)
    pts = [pt]
    for _ in range(n - 1):
        pts.append(_add(pts[-1], twice))
    prefix = []
    acc = 1
    for q in pts:
        prefix.append(acc)
        acc = acc * q[2] % p
    acc = inv(acc)
    out = [0] * (3 * n)
    for i in range(n - 1, -1, -1):
        X, Y, Z, _ = pts[i]
        zi = acc * prefix[i] % p
        acc = acc * Z % p
        ax = X * zi % p
        ay = Y * zi % p
        out[3 * i] = (ay + ax) % p
        out[3 * i + 1] = (ay - ax) % p
        out[3 * i + 2] = D2 * ax % p * ay % p
    return tuple(out)


def _odd_cached(x, y):
    """Projective "cached" form (Y+X, Y-X, 2Z, 2dT) of P, 3P, ..., 15P (4 ints each)."""
    p = P
    pt = (x, y, 1, x * y % p)
    twice = _dbl(pt)
    out = []
    for i in range(A_TABLE_SIZE):
        if i:
            pt = _add(pt, twice)
        X, Y, Z, T = pt
        out += [(Y + X) % p, (Y - X) % p, 2 * Z % p, D2 * T % p]
    return tuple(out)


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
    `at`: _odd_cached() table of Q. Additions use the base point table in
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
    """A decoded Ed25519 public key A, with a small table of -A's odd multiples.

    Raises ValueError for an encoding RFC 8032 section 5.1.3 rejects, and for
    a point of small order (8A = identity), which no honest key generator
    produces and for which signatures are trivially forgeable.
    """

    def __init__(self, raw):
        raw = bytes(raw)
        x, y = decode_point(raw)
        q = (x, y, 1, x * y % P)
        for _ in range(3):
            q = _dbl(q)
        if q[0] == 0:
            raise ValueError("public key is a point of small order")
        self.raw = raw
        self.table = _odd_cached((P - x) % P, y)

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
        if int.from_bytes(r, "little") & _Y_MASK >= P:
            return None
        # Step 2: k = SHA-512(dom2(F, C) || R || A || PH(M)) mod L; dom2 is empty for Ed25519.
        k = int.from_bytes(sha512(r + self.raw + bytes(msg)), "little") % L
        # Step 3, cofactorless: encode([S]B + [k](-A)) == R. The encoding is
        # canonical, so an R that is non-canonical or off the curve never matches.
        X, Y, Z = double_scalarmult(_slide(sig[32:], B_BOUND), _slide(k.to_bytes(32, "little"), A_BOUND),
                                    self.table)
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
