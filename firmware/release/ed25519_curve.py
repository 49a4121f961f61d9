# Ed25519 curve arithmetic, RFC 8032 section 5.1: the field GF(p) and points
# of the twisted Edwards curve -x^2 + y^2 = 1 + d x^2 y^2, integer arithmetic
# only. The verifier built on it is firmware/release/ed25519.py; the base point
# table it loads (firmware/release/ed25519_table.py) is generated from
# odd_multiples() here by tests/ed25519_table_gen.py.
#
# Everything here handles public data (keys, signatures), so it is
# variable-time on purpose. Speed (one 255-bit multiply-and-reduce costs ~2 us
# under MicroPython and dominates):
# - points in extended twisted Edwards coordinates (X:Y:Z:T), x = X/Z,
#   y = Y/Z, xy = T/Z (Hisil, Wong, Carter, Dawson 2008, "Twisted Edwards
#   curves revisited", formulas dbl-2008-hwcd and add-2008-hwcd-3, a = -1);
# - inversion and square root by the addition chains of the ref10 code
#   (254 squarings + 11 multiplications), cheaper than pow(x, e, p);
# - sums and differences stay unreduced; every product is reduced with % P.

P = (1 << 255) - 19  # field prime p, RFC 8032 section 5.1
L = (1 << 252) + 27742317777372353535851937790883648493  # group order
D = 0x52036cee2b6ffe738cc740797779e89800700a4d4141d8ab75eb4dca135978a3  # -121665/121666
D2 = 0x2406d9dc56dffce7198e80f2eef3d13000e0149a8283b156ebd69b9426b2f159  # 2d
SQRT_M1 = 0x2b8324804fc1df0b2b4d00993dfbd7a72f431806ad2fe478c4ee1b274a0ea0b0  # 2^((p-1)/4)
Y_MASK = (1 << 255) - 1
B_BOUND = 63  # base point digits are odd in [-63, 63]: table of B, 3B, ..., 63B
A_BOUND = 15  # key digits are odd in [-15, 15]: table of A, 3A, ..., 15A
A_TABLE_SIZE = (A_BOUND + 1) // 2


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
    y = n & Y_MASK
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


def point_double(pt):
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


def point_add(p1, p2):
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
    twice = point_double(pt)
    pts = [pt]
    for _ in range(n - 1):
        pts.append(point_add(pts[-1], twice))
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


def odd_cached(x, y):
    """Projective "cached" form (Y+X, Y-X, 2Z, 2dT) of P, 3P, ..., 15P (4 ints each)."""
    p = P
    pt = (x, y, 1, x * y % p)
    twice = point_double(pt)
    out = []
    for i in range(A_TABLE_SIZE):
        if i:
            pt = point_add(pt, twice)
        X, Y, Z, T = pt
        out += [(Y + X) % p, (Y - X) % p, 2 * Z % p, D2 * T % p]
    return tuple(out)
