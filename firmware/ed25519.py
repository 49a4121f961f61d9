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
# - [S]B - [k]A as ONE signed radix-16 comb over precomputed affine tables
#   (16 positions x 8 multiples) for both B (firmware/ed25519_table.py,
#   generated) and -A (built once per trusted key by PublicKey): 12 shared
#   doublings and at most 128 mixed additions per signature;
# - inversion and square root by the addition chains of the ref10 code
#   (254 squarings + 11 multiplications), cheaper than pow(x, e, p);
# - sums and differences stay unreduced; every product is reduced with % P.
from firmware.ed25519_table import BASE
from firmware.sha512 import sha512

P = (1 << 255) - 19  # field prime p, RFC 8032 section 5.1
L = (1 << 252) + 27742317777372353535851937790883648493  # group order
D = 0x52036cee2b6ffe738cc740797779e89800700a4d4141d8ab75eb4dca135978a3  # -121665/121666
D2 = 0x2406d9dc56dffce7198e80f2eef3d13000e0149a8283b156ebd69b9426b2f159  # 2d
SQRT_M1 = 0x2b8324804fc1df0b2b4d00993dfbd7a72f431806ad2fe478c4ee1b274a0ea0b0  # 2^((p-1)/4)
_Y_MASK = (1 << 255) - 1
COMB_POSITIONS = 16  # table rows: multiples of 2^(16 j) P, j = 0..15
COMB_MULTIPLES = 8  # signed radix-16 digits are in [-8, 8]


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


def comb_table(x, y):
    """Flat table of affine "Niels" points (y+x, y-x, 2dxy) for m * 2^(16 j) * (x, y).

    Entry (j, m) for j in 0..15, m in 1..8 starts at index 3 * (8 j + m - 1).
    One batched inversion turns the 128 projective points affine.
    """
    p = P
    pts = []
    base = (x, y, 1, x * y % p)
    for j in range(COMB_POSITIONS):
        if j:
            for _ in range(16):
                base = _dbl(base)
        q = base
        pts.append(q)
        for m in range(2, COMB_MULTIPLES + 1):
            q = _add(q, base)
            pts.append(q)
    # Montgomery's trick: one inversion for all Z.
    prefix = []
    acc = 1
    for pt in pts:
        prefix.append(acc)
        acc = acc * pt[2] % p
    acc = inv(acc)
    out = [0] * (3 * len(pts))
    for i in range(len(pts) - 1, -1, -1):
        X, Y, Z, _ = pts[i]
        zi = acc * prefix[i] % p
        acc = acc * Z % p
        ax = X * zi % p
        ay = Y * zi % p
        out[3 * i] = (ay + ax) % p
        out[3 * i + 1] = (ay - ax) % p
        out[3 * i + 2] = D2 * ax % p * ay % p
    return tuple(out)


def _radix16(b):
    """Signed radix-16 digits e[0..63] in [-8, 8] of a 32-byte little-endian scalar < 2^253."""
    e = []
    for c in b:
        e.append(c & 15)
        e.append(c >> 4)
    carry = 0
    for i in range(63):
        v = e[i] + carry
        carry = (v + 8) >> 4
        e[i] = v - (carry << 4)
    e[63] += carry
    return e


def double_comb(tb, eb, ta, ea):
    """Projective (X, Y, Z) of sum_i eb[i] 16^i Pb + ea[i] 16^i Pa, given comb tables of Pb, Pa.

    Digit i = 4 j + r multiplies row j (= 2^(16 j) P) in pass r; passes run
    r = 3..0 with four doublings between them (Horner in 16^r).
    """
    p = P
    X = 0
    Y = 1
    Z = 1
    T = 0
    for r in (3, 2, 1, 0):
        if r != 3:
            for k in range(4):
                # dbl-2008-hwcd; T only after the last doubling (additions need it).
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
                if k == 3:
                    T = e * h % p
        for tbl, ds in ((tb, eb), (ta, ea)):
            i = r
            o = 0
            while i < 64:
                v = ds[i]
                if v:
                    # madd-2008-hwcd-3 with an affine Niels point; -Q swaps y+x, y-x and negates 2dxy.
                    if v > 0:
                        k = o + 3 * v - 3
                        ym = tbl[k + 1]
                        yp = tbl[k]
                        xy = tbl[k + 2]
                    else:
                        k = o - 3 * v - 3
                        ym = tbl[k]
                        yp = tbl[k + 1]
                        xy = -tbl[k + 2]
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
                    T = e * h % p
                i += 4
                o += 24
    return X, Y, Z


class PublicKey:
    """A decoded Ed25519 public key A with the comb table of -A, built once.

    Raises ValueError for an encoding RFC 8032 section 5.1.3 rejects, and for
    a point of small order (8A = identity), which no honest key generator
    produces and which would make signatures forgeable.
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
        self.table = comb_table((P - x) % P, y)

    def verify(self, msg, sig):
        """True iff `sig` is a valid signature of `msg`, RFC 8032 section 5.1.7."""
        return _finish(self.partial(msg, sig))

    def partial(self, msg, sig):
        """Everything but the final inversion: (X, Y, Z, R) or None if `sig` is malformed."""
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
        X, Y, Z = double_comb(BASE, _radix16(sig[32:]), self.table, _radix16(k.to_bytes(32, "little")))
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
