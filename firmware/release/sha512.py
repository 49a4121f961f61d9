# SHA-512, FIPS 180-4 (sections 4.1.3, 4.2.3, 5.1.2, 5.3.5 and 6.4), for
# Ed25519 (RFC 8032 section 5.1 uses SHA-512 as its hash H).
#
# The MicroPython unix port's hashlib has sha256 but not sha512, so the pump
# falls back to this pure-Python version; wherever hashlib.sha512 exists
# (CPython, some ports) `sha512()` uses it instead.
#
# Each 64-bit word is held as two 32-bit halves (hi, lo). On a 64-bit
# MicroPython build every intermediate value then stays a "small int"
# (below 2**62), so a block costs no heap allocation for big integers; with
# native 64-bit words each operation would allocate. Shifts that could pass
# 2**62 are masked first (the ROTR 1 in sigma0).
import hashlib

_HW = getattr(hashlib, "sha512", None)

_M = 0xFFFFFFFF

# FIPS 180-4 section 4.2.3: the first 64 bits of the fractional parts of the
# cube roots of the first eighty primes, as (hi, lo) pairs.
_K = (
    0x428a2f98, 0xd728ae22, 0x71374491, 0x23ef65cd, 0xb5c0fbcf, 0xec4d3b2f, 0xe9b5dba5, 0x8189dbbc,
    0x3956c25b, 0xf348b538, 0x59f111f1, 0xb605d019, 0x923f82a4, 0xaf194f9b, 0xab1c5ed5, 0xda6d8118,
    0xd807aa98, 0xa3030242, 0x12835b01, 0x45706fbe, 0x243185be, 0x4ee4b28c, 0x550c7dc3, 0xd5ffb4e2,
    0x72be5d74, 0xf27b896f, 0x80deb1fe, 0x3b1696b1, 0x9bdc06a7, 0x25c71235, 0xc19bf174, 0xcf692694,
    0xe49b69c1, 0x9ef14ad2, 0xefbe4786, 0x384f25e3, 0x0fc19dc6, 0x8b8cd5b5, 0x240ca1cc, 0x77ac9c65,
    0x2de92c6f, 0x592b0275, 0x4a7484aa, 0x6ea6e483, 0x5cb0a9dc, 0xbd41fbd4, 0x76f988da, 0x831153b5,
    0x983e5152, 0xee66dfab, 0xa831c66d, 0x2db43210, 0xb00327c8, 0x98fb213f, 0xbf597fc7, 0xbeef0ee4,
    0xc6e00bf3, 0x3da88fc2, 0xd5a79147, 0x930aa725, 0x06ca6351, 0xe003826f, 0x14292967, 0x0a0e6e70,
    0x27b70a85, 0x46d22ffc, 0x2e1b2138, 0x5c26c926, 0x4d2c6dfc, 0x5ac42aed, 0x53380d13, 0x9d95b3df,
    0x650a7354, 0x8baf63de, 0x766a0abb, 0x3c77b2a8, 0x81c2c92e, 0x47edaee6, 0x92722c85, 0x1482353b,
    0xa2bfe8a1, 0x4cf10364, 0xa81a664b, 0xbc423001, 0xc24b8b70, 0xd0f89791, 0xc76c51a3, 0x0654be30,
    0xd192e819, 0xd6ef5218, 0xd6990624, 0x5565a910, 0xf40e3585, 0x5771202a, 0x106aa070, 0x32bbd1b8,
    0x19a4c116, 0xb8d2d0c8, 0x1e376c08, 0x5141ab53, 0x2748774c, 0xdf8eeb99, 0x34b0bcb5, 0xe19b48a8,
    0x391c0cb3, 0xc5c95a63, 0x4ed8aa4a, 0xe3418acb, 0x5b9cca4f, 0x7763e373, 0x682e6ff3, 0xd6b2b8a3,
    0x748f82ee, 0x5defb2fc, 0x78a5636f, 0x43172f60, 0x84c87814, 0xa1f0ab72, 0x8cc70208, 0x1a6439ec,
    0x90befffa, 0x23631e28, 0xa4506ceb, 0xde82bde9, 0xbef9a3f7, 0xb2c67915, 0xc67178f2, 0xe372532b,
    0xca273ece, 0xea26619c, 0xd186b8c7, 0x21c0c207, 0xeada7dd6, 0xcde0eb1e, 0xf57d4f7f, 0xee6ed178,
    0x06f067aa, 0x72176fba, 0x0a637dc5, 0xa2c898a6, 0x113f9804, 0xbef90dae, 0x1b710b35, 0x131c471b,
    0x28db77f5, 0x23047d84, 0x32caab7b, 0x40c72493, 0x3c9ebe0a, 0x15c9bebc, 0x431d67c4, 0x9c100d4c,
    0x4cc5d4be, 0xcb3e42b6, 0x597f299c, 0xfc657e2a, 0x5fcb6fab, 0x3ad6faec, 0x6c44198c, 0x4a475817,
)

# FIPS 180-4 section 5.3.5: initial hash value H(0), as (hi, lo) pairs.
_H0 = (
    0x6a09e667, 0xf3bcc908, 0xbb67ae85, 0x84caa73b, 0x3c6ef372, 0xfe94f82b, 0xa54ff53a, 0x5f1d36f1,
    0x510e527f, 0xade682d1, 0x9b05688c, 0x2b3e6c1f, 0x1f83d9ab, 0xfb41bd6b, 0x5be0cd19, 0x137e2179,
)


def _compress(H, block):
    """One SHA-512 block (FIPS 180-4 section 6.4.2); updates H (16 halves) in place."""
    M = _M
    K = _K
    W = [0] * 160  # message schedule W[t] as W[2t] (hi), W[2t+1] (lo)
    for i in range(32):
        o = 4 * i
        W[i] = (block[o] << 24) | (block[o + 1] << 16) | (block[o + 2] << 8) | block[o + 3]
    for t in range(32, 160, 2):
        # sigma1(W[t-2]) = ROTR19 ^ ROTR61 ^ SHR6 (section 4.1.3, eq. 4.13)
        xh = W[t - 4]
        xl = W[t - 3]
        s1h = ((xh >> 19) | (xl << 13)) ^ ((xl >> 29) | (xh << 3)) ^ (xh >> 6)
        s1l = ((xl >> 19) | (xh << 13)) ^ ((xh >> 29) | (xl << 3)) ^ ((xl >> 6) | (xh << 26))
        # sigma0(W[t-15]) = ROTR1 ^ ROTR8 ^ SHR7 (eq. 4.12)
        xh = W[t - 30]
        xl = W[t - 29]
        s0h = ((xh >> 1) | ((xl & 1) << 31)) ^ ((xh >> 8) | (xl << 24)) ^ (xh >> 7)
        s0l = ((xl >> 1) | ((xh & 1) << 31)) ^ ((xl >> 8) | (xh << 24)) ^ ((xl >> 7) | (xh << 25))
        lo = (s1l & M) + W[t - 13] + (s0l & M) + W[t - 31]
        W[t] = ((s1h & M) + W[t - 14] + (s0h & M) + W[t - 32] + (lo >> 32)) & M
        W[t + 1] = lo & M
    ah, al, bh, bl, ch, cl, dh, dl, eh, el, fh, fl, gh, gl, hh, hl = H
    for t in range(0, 160, 2):
        # T1 = h + Sigma1(e) + Ch(e, f, g) + K[t] + W[t]  (eqs. 4.8, 4.11)
        s1h = ((eh >> 14) | (el << 18)) ^ ((eh >> 18) | (el << 14)) ^ ((el >> 9) | (eh << 23))
        s1l = ((el >> 14) | (eh << 18)) ^ ((el >> 18) | (eh << 14)) ^ ((eh >> 9) | (el << 23))
        lo = hl + (s1l & M) + (gl ^ (el & (fl ^ gl))) + K[t + 1] + W[t + 1]
        t1h = hh + (s1h & M) + (gh ^ (eh & (fh ^ gh))) + K[t] + W[t] + (lo >> 32)
        t1l = lo & M
        # T2 = Sigma0(a) + Maj(a, b, c)  (eqs. 4.9, 4.10)
        s0h = ((ah >> 28) | (al << 4)) ^ ((al >> 2) | (ah << 30)) ^ ((al >> 7) | (ah << 25))
        s0l = ((al >> 28) | (ah << 4)) ^ ((ah >> 2) | (al << 30)) ^ ((ah >> 7) | (al << 25))
        hh = gh
        hl = gl
        gh = fh
        gl = fl
        fh = eh
        fl = el
        lo = dl + t1l
        eh = (dh + t1h + (lo >> 32)) & M
        el = lo & M
        dh = ch
        dl = cl
        lo = t1l + (s0l & M) + ((al & bl) | (cl & (al | bl)))
        t2h = t1h + (s0h & M) + ((ah & bh) | (ch & (ah | bh))) + (lo >> 32)
        ch = bh
        cl = bl
        bh = ah
        bl = al
        ah = t2h & M
        al = lo & M
    new = (ah, al, bh, bl, ch, cl, dh, dl, eh, el, fh, fl, gh, gl, hh, hl)
    for i in range(0, 16, 2):
        lo = H[i + 1] + new[i + 1]
        H[i] = (H[i] + new[i] + (lo >> 32)) & M
        H[i + 1] = lo & M


def pure_sha512(data):
    """SHA-512 digest (64 bytes) of `data`, in pure Python (FIPS 180-4)."""
    data = bytes(data)
    n = len(data)
    # Padding, section 5.1.2: 0x80, zeros, then the bit length as 128 bits.
    pad = (111 - n) % 128
    bits = n * 8
    tail = bytearray(b"\x80" + bytes(pad + 8))
    for i in range(8):
        tail.append((bits >> (56 - 8 * i)) & 0xFF)
    msg = data + bytes(tail)
    H = list(_H0)
    for off in range(0, len(msg), 128):
        _compress(H, msg[off:off + 128])
    out = bytearray()
    for w in H:
        out += bytes(((w >> 24) & 0xFF, (w >> 16) & 0xFF, (w >> 8) & 0xFF, w & 0xFF))
    return bytes(out)


def sha512(data):
    """SHA-512 digest of `data`: hashlib's when the platform has it, else pure Python."""
    if _HW is not None:
        return _HW(bytes(data)).digest()
    return pure_sha512(data)
