"""Vectorizable math functions emitted as LLVM IR (no libm calls).

Owns the transcendental functions that fused kernels use in hot loops:
exp, expm1, log, log1p, tanh, sigmoid, softplus, sin, cos, tan, erf, pow, atan2,
for float32 and float64, on scalars or LLVM vectors (``<N x float>``).
Everything is straight-line arithmetic, integer bit tricks, ``select`` and
the LLVM intrinsics ``fma``/``fabs``/``floor``/``rint`` that every vector
ISA has, so LLVM's loop vectorizer turns a kernel into AVX-512 code instead
of a loop of scalar libm calls.

Use::

    from jitgraph.codegen import vecmath
    y = vecmath.emit(builder, "tanh", [x], "float32")   # x: float or <16 x float>

The emitted code must not be compiled with function-level
``unsafe-fp-math``/``reassoc`` (the range reductions rely on exact
rounding); instruction-level flags on the caller's own instructions are
fine. Overflow, underflow, NaN, +-inf and signed zero follow C99/NumPy.

Measured maximum error against NumPy in 80-bit long double, in ulp of the
result (float32, float64) -- ``ACCURACY`` below; the tests assert it, so the
table cannot drift from the code:

    exp 1/1  expm1 1.5/2  log 1/1  log1p 1/1  tanh 2.5/2.5  sigmoid 3/2.5
    softplus 1.5/1.5  sin, cos 1.5/1.5  tan 0.51/3  erf 0.51/2  pow 0.51/5
    atan2 0.51/2

(float64 relative error = ulp * 2.2e-16, so at most ~6.6e-16 except pow.)

Method notes: exp/expm1 -- Cody-Waite reduction by ln2, minimax
polynomial, 2^n applied as two exact scalings so subnormal results round
once. log/log1p -- musl/fdlibm kernel (m in [sqrt(1/2), sqrt(2))), log1p
carries the rounding error of 1+x as a correction term. tanh -- from
expm1(-2|x|); float32 clamps -2|x| at -20 (tanh rounds to 1 beyond
|x| = 9.01), so 2^n is one normal power of two. sin/cos/tan -- three-part pi/2 reduction with fma in
float64 (float32 sin/cos then evaluate their polynomials in float32, at
full vector width), accurate for |x| <= TRIG_MAX_ARG = 2**46; beyond that
the reduction loses bits (results stay in [-1, 1]). erf -- odd polynomial for
|x| < 1, exp(-x^2)*Q(x) with piecewise fitted Q up to 6. pow -- log in
double-double, exp of a double-double argument, C99 special cases. atan2 --
Cephes' atan on min/max of |x|, |y|, mirrored into the octant.
"""

import math

import llvmlite.ir as ir

__all__ = ["emit", "NAMES", "ACCURACY", "TRIG_MAX_ARG"]

# sin/cos/tan are accurate for |x| <= TRIG_MAX_ARG (three-part Cody-Waite reduction).
TRIG_MAX_ARG = 2.0**46

# Max error in ulp (float32, float64) measured by tests/test_vecmath.py (2**16+ points per
# function over wide ranges, random bit patterns and special values; references in 80-bit
# long double). The tests assert these bounds. pow: float64 bound for |y| <= 100; the
# error grows about 0.05 ulp per unit of |y| beyond that (log evaluated in double-double).
ACCURACY = {
    "exp": (1, 1),
    "expm1": (1.5, 2),
    "log": (1, 1),
    "log1p": (1, 1),
    "tanh": (2.5, 2.5),
    "sigmoid": (3, 2.5),  # float32: 2.54 ulp seen on a 2M-point sweep of [-10, 10]
    "softplus": (1.5, 1.5),
    "sin": (1.5, 1.5),
    "cos": (1.5, 1.5),
    "tan": (0.51, 3),
    "erf": (0.51, 2),
    "pow": (0.51, 5),
    "atan2": (0.51, 2),
}


class C:
    """Constants. Polynomials list the highest degree first."""

    LOG2E = 1.4426950408889634
    # ln2 = hi + lo with few bits in hi, for the exp reduction (float32: Cephes; float64: fdlibm)
    LN2_SPLIT = {
        False: (0.693145751953125, 1.428606765330187045e-6),
        True: (6.93147180369123816490e-01, 1.90821492927058770002e-10),
    }
    # expm1(r) = r + r^2 * P(r), |r| <= ln2/2. float32: Cephes expf; float64: Taylor to r^13.
    EXPM1_POLY = {
        False: (
            1.9875691500e-4,
            1.3981999507e-3,
            8.3334519073e-3,
            4.1665795894e-2,
            1.6666665459e-1,
            5.0000001201e-1,
        ),
        True: tuple(1.0 / math.factorial(k) for k in range(13, 1, -1)),
    }
    # musl log/logf kernels: (odd Lg terms, even Lg terms) in w = s^4
    LOG_POLY = {
        False: (
            (0x91E9EE * 2.0**-25, 0xAAAAAA * 2.0**-24),
            (0xF89E26 * 2.0**-26, 0xCCCE13 * 2.0**-25),
        ),
        True: (
            (
                1.479819860511658591e-01,
                1.818357216161805012e-01,
                2.857142874366239149e-01,
                6.666666666666735130e-01,
            ),
            (1.531383769920937332e-01, 2.222219843214978396e-01, 3.999999999940941908e-01),
        ),
    }
    LOG_LN2_SPLIT = {
        False: (6.9313812256e-01, 9.0580006145e-06),
        True: (6.93147180369123816490e-01, 1.90821492927058770002e-10),
    }
    TWO_OVER_PI = 0.6366197723675814
    PIO2_SPLIT = (1.5707963267948966, 6.123233995736766e-17, -1.4973849048591698e-33)
    # fdlibm __kernel_sin / __kernel_cos
    SIN_POLY = (
        1.58969099521155010221e-10,
        -2.50507602534068634195e-08,
        2.75573137070700676789e-06,
        -1.98412698298579493134e-04,
        8.33333333332248946124e-03,
        -1.66666666666666324348e-01,
    )
    COS_POLY = (
        -1.13596475577881948265e-11,
        2.08757232129817482790e-09,
        -2.75573143513906633035e-07,
        2.48015872894767294178e-05,
        -1.38888888888741095749e-03,
        4.16666666666666019037e-02,
    )
    # Cephes atan (double): atan(r) = r + r z P(z) / Q(z), z = r^2, |r| <= 0.66
    ATAN_P = (-8.750608600031904122785e-1, -1.615753718733365076637e1,
              -7.500855792314704667340e1, -1.228866684490136173410e2,
              -6.485021904942025371773e1)
    ATAN_Q = (1.0, 2.485846490142306297962e1, 1.650270098316988542046e2,
              4.328810604912902668951e2, 4.853903996359136964868e2,
              1.945506571482613964425e2)
    PI_SPLIT = (3.141592653589793, 1.2246467991473532e-16)  # pi = hi + lo
    SIN_POLY_F32 = (-1.9515295891e-4, 8.3321608736e-3, -1.6666654611e-1)
    COS_POLY_F32 = (2.443315711809948e-5, -1.388731625493765e-3, 4.166664568298827e-2)
    # erf(x) = x * P(x^2) on |x| < 1; erfc(x) = exp(-x^2) * Q_i(x - center_i) on [lo_i, ...).
    # Fitted with mpmath.chebyfit (50 digits); fit error < 1e-18 relative.
    ERF_SMALL = (
        5.957176147748911e-11,
        -1.1372848856791674e-09,
        1.4659775274047436e-08,
        -1.6350312701054695e-07,
        1.6461000484121368e-06,
        -1.4925595266831182e-05,
        0.0001205533111164271,
        -0.000854832698083379,
        0.0052239776248180145,
        -0.026866170645076792,
        0.11283791670954879,
        -0.3761263890318375,
        1.1283791670955126,
    )
    ERFC_PIECES = (
        (
            1.0,
            1.5,
            (
                1.3242541506849586e-08,
                -4.9545807838901603e-08,
                1.6714292901928126e-07,
                -5.944961119917664e-07,
                2.0670657912156654e-06,
                -6.97536222785843e-06,
                2.2864299608127746e-05,
                -7.265887301589559e-05,
                0.0002233099453004411,
                -0.0006619300701084315,
                0.0018861348769919975,
                -0.0051459575478377826,
                0.013377340953067394,
                -0.03293090529956527,
                0.0761510398554774,
                -0.16362291773256005,
                0.3215854164543175,
            ),
        ),
        (
            2.0,
            2.5,
            (
                2.1168892627144388e-10,
                -9.328660140673967e-10,
                3.8118510954230204e-09,
                -1.614785687396776e-08,
                6.714129675618682e-08,
                -2.7295767244566295e-07,
                1.0852224970131965e-06,
                -4.214295295531393e-06,
                1.5961853148605915e-05,
                -5.8868964744129743e-05,
                0.00021101982428404107,
                -0.0007335909371371925,
                0.002467036815701451,
                -0.008001569382101644,
                0.024937997086656904,
                -0.07434734678979467,
                0.2108063640611436,
            ),
        ),
        (
            3.0,
            3.5,
            (
                1.5981815899094853e-10,
                -7.971848938959326e-10,
                3.764843244262652e-09,
                -1.816549302673174e-08,
                8.622012306201682e-08,
                -4.017419077698321e-07,
                1.8371878077863912e-06,
                -8.237986344257561e-06,
                3.618170436366868e-05,
                -0.00015546891823837533,
                0.0006526863268788441,
                -0.0026730744396433895,
                0.010661133192510575,
                -0.041323577833252495,
                0.1552936556088943,
            ),
        ),
        (
            4.0,
            5.0,
            (
                7.935106373004748e-14,
                -5.033015540266547e-13,
                2.8223551375217665e-12,
                -1.7487307640493828e-11,
                1.0775422677534866e-10,
                -6.530435800013467e-10,
                3.911235575229903e-09,
                -2.3147442750962905e-08,
                1.3529365302452254e-07,
                -7.806319626987718e-07,
                4.4443343492985714e-06,
                -2.4953883568128706e-05,
                0.00013810242090033954,
                -0.0007528968134274429,
                0.004040688908937075,
                -0.021332789764826308,
                0.11070463773306863,
            ),
        ),
    )


_F32 = dict(
    bits=32,
    mant=23,
    bias=127,
    tiny_expm1=2.0**-25,
    tiny_tanh=2.0**-13,
    exp_lo=-104.0,
    exp_hi=89.0,
    expm1_big=80.0,
    sub_scale=25,
    sqrt_half_bits=0x3F3504F3,
)
_F64 = dict(
    bits=64,
    mant=52,
    bias=1023,
    tiny_expm1=2.0**-54,
    tiny_tanh=2.0**-28,
    exp_lo=-746.0,
    exp_hi=710.0,
    expm1_big=700.0,
    sub_scale=54,
    sqrt_half_bits=0x3FE6A09E667F3BCD,
)


def _dtype_name(dtype):
    name = getattr(dtype, "name", dtype)
    name = getattr(name, "name", name)  # numpy dtype
    return str(name)


class _E:
    """Emission context: one builder, one float type (scalar or vector)."""

    def __init__(self, builder, ty):
        self.b = builder
        self.ty = ty
        elem = ty.element if isinstance(ty, ir.VectorType) else ty
        self.n = ty.count if isinstance(ty, ir.VectorType) else None
        self.k = _F64 if isinstance(elem, ir.DoubleType) else _F32
        self.ity = self._vec(ir.IntType(self.k["bits"]))
        self.bty = self._vec(ir.IntType(1))
        self.suffix = ("v%d" % self.n if self.n else "") + ("f64" if self.k is _F64 else "f32")

    def _vec(self, elem):
        return ir.VectorType(elem, self.n) if self.n else elem

    # constants --------------------------------------------------------------
    def c(self, v):
        return ir.Constant(self.ty, [v] * self.n) if self.n else ir.Constant(self.ty, v)

    def ci(self, v):
        v = int(v)
        return ir.Constant(self.ity, [v] * self.n) if self.n else ir.Constant(self.ity, v)

    def cb(self, v):
        return ir.Constant(self.bty, [v] * self.n) if self.n else ir.Constant(self.bty, v)

    # arithmetic -------------------------------------------------------------
    def add(self, a, b):
        return self.b.fadd(a, b)

    def sub(self, a, b):
        return self.b.fsub(a, b)

    def mul(self, a, b):
        return self.b.fmul(a, b)

    def div(self, a, b):
        return self.b.fdiv(a, b)

    def neg(self, a):
        return self.b.fneg(a)

    def intr(self, name, *args):
        fname = "llvm.%s.%s" % (name, self.suffix)
        module = self.b.module
        fn = module.globals.get(fname)
        if fn is None:
            fn = ir.Function(module, ir.FunctionType(self.ty, [self.ty] * len(args)), fname)
        return self.b.call(fn, list(args))

    def fma(self, a, b, c):
        return self.intr("fma", a, b, c)

    def abs(self, a):
        return self.intr("fabs", a)

    def rint(self, a):
        return self.intr("rint", a)

    def floor(self, a):
        return self.intr("floor", a)

    def horner(self, x, coeffs):
        """coeffs from highest degree to constant term."""
        acc = self.c(coeffs[0])
        for co in coeffs[1:]:
            acc = self.fma(acc, x, self.c(co))
        return acc

    # comparisons and selection ------------------------------------------------
    def lt(self, a, b):
        return self.b.fcmp_ordered("<", a, b)

    def le(self, a, b):
        return self.b.fcmp_ordered("<=", a, b)

    def gt(self, a, b):
        return self.b.fcmp_ordered(">", a, b)

    def eq(self, a, b):
        return self.b.fcmp_ordered("==", a, b)

    def isnan(self, a):
        return self.b.fcmp_unordered("uno", a, a)

    def sel(self, cond, a, b):
        return self.b.select(cond, a, b)

    def or_(self, a, b):
        return self.b.or_(a, b)

    def and_(self, a, b):
        return self.b.and_(a, b)

    def clamp(self, x, lo, hi):
        """min(max(x, lo), hi) with NaN mapped to lo (keeps fptosi defined)."""
        x = self.sel(self.gt(x, self.c(lo)), x, self.c(lo))
        return self.sel(self.lt(x, self.c(hi)), x, self.c(hi))

    # bits -------------------------------------------------------------------
    def bits(self, x):
        return self.b.bitcast(x, self.ity)

    def from_bits(self, i):
        return self.b.bitcast(i, self.ty)

    def copysign(self, mag, sign_src):
        sign_mask = self.ci(1 << (self.k["bits"] - 1))
        s = self.b.and_(self.bits(sign_src), sign_mask)
        m = self.b.and_(self.bits(mag), self.ci((1 << (self.k["bits"] - 1)) - 1))
        return self.from_bits(self.b.or_(m, s))

    def signbit(self, x):
        return self.b.icmp_signed("<", self.bits(x), self.ci(0))

    def pow2(self, k_int):
        """2**k for integer k in the normal exponent range."""
        biased = self.b.add(k_int, self.ci(self.k["bias"]))
        return self.from_bits(self.b.shl(biased, self.ci(self.k["mant"])))

    def ldexp(self, p, k_int):
        """p * 2**k as two exact scalings: no spurious overflow, one rounding."""
        k1 = self.b.ashr(k_int, self.ci(1))
        k2 = self.b.sub(k_int, k1)
        return self.mul(self.mul(p, self.pow2(k1)), self.pow2(k2))

    def to_int(self, x):
        return self.b.fptosi(x, self.ity)

    def to_float(self, i):
        return self.b.sitofp(i, self.ty)

    def is64(self):
        return self.k is _F64


# ---------------------------------------------------------------- exp family
def _exp_reduce(e, x, lo, hi):
    """x = n*ln2 + r, |r| <= ln2/2; returns (n as int, r, expm1(r))."""
    xc = e.clamp(x, lo, hi)
    n = e.rint(e.mul(xc, e.c(C.LOG2E)))
    ln2_hi, ln2_lo = C.LN2_SPLIT[e.is64()]
    r = e.fma(e.neg(n), e.c(ln2_hi), xc)
    r = e.fma(e.neg(n), e.c(ln2_lo), r)
    return e.to_int(n), r


def _expm1_poly(e, r):
    """expm1(r) for |r| <= ln2/2: r + r^2 * P(r)."""
    p = e.horner(r, C.EXPM1_POLY[e.is64()])
    return e.fma(p, e.mul(r, r), r)


def _exp(e, x):
    n, r = _exp_reduce(e, x, e.k["exp_lo"], e.k["exp_hi"])
    y = e.ldexp(e.add(e.c(1.0), _expm1_poly(e, r)), n)
    return e.sel(e.isnan(x), x, y)


def _expm1(e, x, nonpositive=False):
    """expm1; nonpositive=True (x <= 0 or NaN guaranteed) drops the large-x path."""
    hi = 0.0 if nonpositive else e.k["exp_hi"]
    n, r = _exp_reduce(e, x, e.k["exp_lo"], hi)
    q = _expm1_poly(e, r)
    if nonpositive:  # 2^n for n in [exp_lo/ln2, 0]: split so it stays a normal number
        s = e.mul(e.pow2(e.b.ashr(n, e.ci(1))), e.pow2(e.b.sub(n, e.b.ashr(n, e.ci(1)))))
        return e.fma(s, q, e.sub(s, e.c(1.0)))
    # |x| moderate: 2^n exact, fma(2^n, q, 2^n - 1) rounds once.
    s = e.mul(e.pow2(e.b.ashr(n, e.ci(1))), e.pow2(e.b.sub(n, e.b.ashr(n, e.ci(1)))))
    small = e.fma(s, q, e.sub(s, e.c(1.0)))
    big = e.ldexp(e.add(q, e.c(1.0)), n)
    y = e.sel(e.gt(x, e.c(e.k["expm1_big"])), big, small)
    y = e.sel(e.lt(e.abs(x), e.c(e.k["tiny_expm1"])), x, y)
    return e.sel(e.isnan(x), x, y)


# ---------------------------------------------------------------- log family
def _log_parts(e, x):
    """log(x) = ((t - hfsq) + f) + a for positive finite x (subnormals included).

    Returns (a, f, t, hfsq): a = k*ln2_hi and f = m-1 are exact; t is small.
    """
    k = e.k
    sub = e.lt(x, e.c(2.0 ** (1 - k["bias"])))
    xs = e.sel(sub, e.mul(x, e.c(2.0 ** k["sub_scale"])), x)
    kadj = e.b.select(sub, e.ci(-k["sub_scale"]), e.ci(0))
    one_bits = k["bias"] << k["mant"]
    ix = e.b.add(e.bits(xs), e.ci(one_bits - k["sqrt_half_bits"]))
    kk = e.b.sub(e.b.ashr(ix, e.ci(k["mant"])), e.ci(k["bias"]))
    kk = e.b.add(kk, kadj)
    ix = e.b.add(e.b.and_(ix, e.ci((1 << k["mant"]) - 1)), e.ci(k["sqrt_half_bits"]))
    f = e.sub(e.from_bits(ix), e.c(1.0))
    s = e.div(f, e.add(e.c(2.0), f))
    z = e.mul(s, s)
    w = e.mul(z, z)
    lg_odd, lg_even = C.LOG_POLY[e.is64()]
    t1 = e.mul(w, e.horner(w, lg_even))
    t2 = e.mul(z, e.horner(w, lg_odd))
    r = e.add(t2, t1)
    hfsq = e.mul(e.mul(e.c(0.5), f), f)
    dk = e.to_float(kk)
    ln2_hi, ln2_lo = C.LOG_LN2_SPLIT[e.is64()]
    t = e.add(e.mul(s, e.add(hfsq, r)), e.mul(dk, e.c(ln2_lo)))
    return e.mul(dk, e.c(ln2_hi)), f, t, hfsq


def _log_sum(e, parts):
    a, f, t, hfsq = parts
    return e.add(e.add(e.sub(t, hfsq), f), a)


def _log_specials(e, x, y):
    inf = float("inf")
    y = e.sel(e.eq(x, e.c(inf)), x, y)
    y = e.sel(e.eq(x, e.c(0.0)), e.c(-inf), y)
    return e.sel(e.or_(e.lt(x, e.c(0.0)), e.isnan(x)), e.c(float("nan")), y)


def _log(e, x):
    return _log_specials(e, x, _log_sum(e, _log_parts(e, x)))


def _log1p(e, x):
    u = e.add(e.c(1.0), x)
    # exact rounding error of u = 1 + x (Fast2Sum, larger operand first)
    d = e.sel(e.le(e.abs(x), e.c(1.0)), e.add(e.sub(e.c(1.0), u), x), e.add(e.sub(x, u), e.c(1.0)))
    a, f, t, hfsq = _log_parts(e, u)
    t = e.add(t, e.div(d, u))
    y = _log_specials(e, u, _log_sum(e, (a, f, t, hfsq)))
    y = e.sel(e.lt(e.abs(x), e.c(e.k["tiny_expm1"])), x, y)
    return e.sel(e.isnan(x), x, y)


# ---------------------------------------------------------------- sigmoid family
def _tanh_f32(e, x):
    """float32 tanh: expm1(u), u = -2|x| clamped to [-20, 0] (tanh(9.01) rounds to 1), so
    2^n (n >= -29) is one normal power of two: no split scaling, no upper clamp, no sign
    flip before the division. About 7 vector instructions fewer than the generic path."""
    u = e.mul(e.c(-2.0), e.abs(x))
    u = e.sel(e.gt(u, e.c(-20.0)), u, e.c(-20.0))  # NaN -> -20; the last select keeps x
    n = e.rint(e.mul(u, e.c(C.LOG2E)))
    ln2_hi, ln2_lo = C.LN2_SPLIT[False]
    r = e.fma(e.neg(n), e.c(ln2_hi), u)
    r = e.fma(e.neg(n), e.c(ln2_lo), r)
    s = e.pow2(e.to_int(n))
    t = e.fma(s, _expm1_poly(e, r), e.sub(s, e.c(1.0)))  # expm1(u), one rounding
    y = e.copysign(e.div(t, e.sub(e.c(-2.0), t)), x)  # tanh|x| = -t / (t + 2)
    return e.sel(e.b.fcmp_ordered(">=", e.abs(x), e.c(e.k["tiny_tanh"])), y, x)


def _tanh(e, x):
    if not e.is64():
        return _tanh_f32(e, x)
    t = _expm1(e, e.mul(e.c(-2.0), e.abs(x)), nonpositive=True)
    y = e.div(e.neg(t), e.add(t, e.c(2.0)))
    y = e.copysign(y, x)
    # tiny |x| keeps x (and -0); NaN fails the comparison below, so also keeps x
    return e.sel(e.b.fcmp_ordered(">=", e.abs(x), e.c(e.k["tiny_tanh"])), y, x)


def _sigmoid(e, x):
    t = _exp(e, e.neg(e.abs(x)))
    s = e.div(e.c(1.0), e.add(e.c(1.0), t))
    y = e.sel(e.b.fcmp_ordered(">=", x, e.c(0.0)), s, e.mul(t, s))
    return e.sel(e.isnan(x), x, y)


def _softplus(e, x):
    t = _exp(e, e.neg(e.abs(x)))
    y = e.add(e.sel(e.gt(x, e.c(0.0)), x, e.c(0.0)), _log1p(e, t))
    return e.sel(e.isnan(x), x, y)


# ---------------------------------------------------------------- trigonometry (float64 core)
def _trig_reduce(e, x):
    """x = q*pi/2 + r, |r| <= pi/4; returns (q & 3 as int, r)."""
    big = 2.0**60
    xs = e.sel(e.lt(e.abs(x), e.c(big)), x, e.c(0.0))  # keeps fptosi defined
    n = e.rint(e.mul(xs, e.c(C.TWO_OVER_PI)))
    r = xs
    for part in C.PIO2_SPLIT:
        r = e.fma(e.neg(n), e.c(part), r)
    q = e.b.and_(e.to_int(n), e.ci(3))
    return q, r


def _sin_poly(e, r, z):
    return e.fma(e.mul(r, z), e.horner(z, C.SIN_POLY), r)


def _cos_poly(e, r, z):
    hz = e.mul(e.c(0.5), z)
    w = e.sub(e.c(1.0), hz)
    tail = e.fma(e.mul(z, z), e.horner(z, C.COS_POLY), e.sub(e.sub(e.c(1.0), w), hz))
    return e.add(w, tail)


def _sin_poly_f32(e, r, z):  # Cephes sinf on [-pi/4, pi/4]
    return e.fma(e.mul(r, z), e.horner(z, C.SIN_POLY_F32), r)


def _cos_poly_f32(e, r, z):  # Cephes cosf
    return e.add(e.fma(e.mul(z, z), e.horner(z, C.COS_POLY_F32), e.mul(e.c(-0.5), z)), e.c(1.0))


def _quadrant(e, x, q, s, c, which, tiny):
    """sin/cos/tan of x from sin(r), cos(r) and the quadrant q (int, & 3)."""
    odd = e.b.icmp_signed("!=", e.b.and_(q, e.ci(1)), e.ci(0))
    if which == "tan":
        y = e.sel(odd, e.div(e.neg(c), s), e.div(s, c))
    else:
        shift = 0 if which == "sin" else 1
        neg = e.b.and_(e.b.add(q, e.ci(shift)), e.ci(2))
        v = e.sel(odd, c, s) if which == "sin" else e.sel(odd, s, c)
        y = e.sel(e.b.icmp_signed("!=", neg, e.ci(0)), e.neg(v), v)
    finite = e.lt(e.abs(x), e.c(float("inf")))
    y = e.sel(finite, y, e.c(float("nan")))
    if which != "cos":
        y = e.sel(e.lt(e.abs(x), e.c(tiny)), x, y)  # keeps -0 and subnormals
    return y


def _trig(e, x, which):
    q, r = _trig_reduce(e, x)
    z = e.mul(r, r)
    return _quadrant(e, x, q, _sin_poly(e, r, z), _cos_poly(e, r, z), which, 2.0**-27)


def _trig_f32(e, x, which):
    """float32 sin/cos: argument reduction in float64 (exact enough for any |x| up to
    TRIG_MAX_ARG), polynomials in float32 at full vector width."""
    wide = ir.VectorType(ir.DoubleType(), e.n) if e.n else ir.DoubleType()
    w = _E(e.b, wide)
    q64, r64 = _trig_reduce(w, e.b.fpext(x, wide))
    r = e.b.fptrunc(r64, e.ty)
    q = e.b.trunc(q64, e.ity)
    z = e.mul(r, r)
    return _quadrant(e, x, q, _sin_poly_f32(e, r, z), _cos_poly_f32(e, r, z), which, 2.0**-12)


# ---------------------------------------------------------------- atan2 (float64 core)
def _atan2(e, y, x):
    """atan2(y, x): atan of a = min(|x|, |y|) / max(|x|, |y|) in [0, 1] (Cephes' rational
    function, with a -> (a - 1) / (a + 1) above 0.66), then mirrored into the octant:
    pi/2 - t when |y| > |x|, pi - t when x is negative (or -0), the sign of y. C99's
    special cases: +-0 and +-inf operands, NaN in either gives NaN."""
    ax, ay = e.abs(x), e.abs(y)
    hi = e.sel(e.gt(ay, ax), ay, ax)
    lo = e.sel(e.gt(ay, ax), ax, ay)
    inf = e.c(float("inf"))
    both_inf = e.and_(e.eq(ax, inf), e.eq(ay, inf))
    a = e.div(lo, e.sel(e.eq(hi, e.c(0.0)), e.c(1.0), hi))  # 0/0 -> 0, keeps NaN
    a = e.sel(both_inf, e.c(1.0), a)
    mid = e.gt(a, e.c(0.66))
    r = e.sel(mid, e.div(e.sub(a, e.c(1.0)), e.add(a, e.c(1.0))), a)
    z = e.mul(r, r)
    p = e.fma(e.mul(r, z), e.div(e.horner(z, C.ATAN_P), e.horner(z, C.ATAN_Q)), r)
    pi_hi, pi_lo = C.PI_SPLIT
    t = e.sel(mid, e.add(e.c(pi_hi / 4), e.add(p, e.c(pi_lo / 4))), p)
    t = e.sel(e.gt(ay, ax), e.sub(e.c(pi_hi / 2), e.sub(t, e.c(pi_lo / 2))), t)
    t = e.sel(e.signbit(x), e.sub(e.c(pi_hi), e.sub(t, e.c(pi_lo))), t)
    t = e.copysign(t, y)
    return e.sel(e.or_(e.isnan(x), e.isnan(y)), e.add(x, y), t)


# ---------------------------------------------------------------- erf (float64 core)
def _erf(e, x):
    ax = e.abs(x)
    small = e.mul(ax, e.horner(e.mul(x, x), C.ERF_SMALL))
    # erfc(a) = exp(-a^2) * Q(a) on [1, 6); Q piecewise, coefficients selected per lane.
    width = max(len(poly) for _, _, poly in C.ERFC_PIECES)
    coeffs, centers = None, None
    for lo, center, poly in C.ERFC_PIECES:
        row = [e.c(v) for v in (0.0,) * (width - len(poly)) + tuple(poly)]
        if coeffs is None:
            coeffs, centers = row, e.c(center)
            continue
        use = e.b.fcmp_ordered(">=", ax, e.c(lo))
        coeffs = [e.sel(use, new, cur) for cur, new in zip(coeffs, row, strict=True)]
        centers = e.sel(use, e.c(center), centers)
    u = e.sub(ax, centers)
    q = coeffs[0]
    for co in coeffs[1:]:
        q = e.fma(q, u, co)
    a2 = e.mul(ax, ax)
    a2_lo = e.fma(ax, ax, e.neg(a2))  # a^2 = a2 + a2_lo exactly
    ex = _exp(e, e.neg(a2))
    erfc = e.mul(e.mul(ex, q), e.sub(e.c(1.0), a2_lo))
    big = e.sub(e.c(1.0), erfc)
    y = e.sel(e.lt(ax, e.c(1.0)), small, big)
    y = e.sel(e.lt(ax, e.c(6.0)), y, e.c(1.0))
    y = e.copysign(y, x)
    return e.sel(e.isnan(x), x, y)


# ---------------------------------------------------------------- pow (float64 core)
def _two_sum(e, a, b):
    s = e.add(a, b)
    bb = e.sub(s, a)
    err = e.add(e.sub(a, e.sub(s, bb)), e.sub(b, bb))
    return s, err


def _pow_finite(e, ax, y):
    """|x|**y for finite positive |x| and finite y, via double-double log."""
    a, f, t, hfsq = _log_parts(e, ax)
    hf_lo = e.fma(e.mul(e.c(0.5), f), f, e.neg(hfsq))  # hfsq + hf_lo = f*f/2 exactly
    hi, lo = _two_sum(e, a, f)
    hi, lo2 = _two_sum(e, hi, e.neg(hfsq))
    hi, lo2 = _two_sum(e, hi, e.add(e.add(lo, lo2), e.sub(t, hf_lo)))
    p_hi = e.mul(y, hi)
    p_lo = e.add(e.fma(y, hi, e.neg(p_hi)), e.mul(y, lo2))
    p, p_err = _two_sum(e, p_hi, p_lo)
    p = e.sel(e.isnan(p), p_hi, p)  # y*log|x| overflowed: p_hi = +-inf
    inrange = e.and_(e.gt(p, e.c(-745.0)), e.lt(p, e.c(709.0)))
    p_err = e.sel(inrange, p_err, e.c(0.0))
    n, r = _exp_reduce(e, p, e.k["exp_lo"], e.k["exp_hi"])
    r = e.add(r, p_err)
    return e.ldexp(e.add(e.c(1.0), _expm1_poly(e, r)), n)


def _pow(e, x, y):
    inf, nan = float("inf"), float("nan")
    ax = e.abs(x)
    special = e.or_(e.or_(e.eq(ax, e.c(0.0)), e.eq(ax, e.c(inf))), e.eq(e.abs(y), e.c(inf)))
    safe_ax = e.sel(e.or_(special, e.isnan(ax)), e.c(1.0), ax)
    safe_y = e.sel(e.or_(special, e.isnan(y)), e.c(1.0), y)
    mag = _pow_finite(e, safe_ax, safe_y)
    grows = e.b.xor(e.gt(ax, e.c(1.0)), e.lt(y, e.c(0.0)))
    mag = e.sel(special, e.sel(grows, e.c(inf), e.c(0.0)), mag)
    is_int = e.eq(e.floor(y), y)
    half = e.mul(y, e.c(0.5))
    odd = e.and_(is_int, e.b.fcmp_unordered("!=", e.floor(half), half))
    res = e.sel(e.and_(odd, e.signbit(x)), e.neg(mag), mag)
    neg_nonint = e.and_(e.and_(e.lt(x, e.c(0.0)), e.gt(x, e.c(-inf))), e.b.not_(is_int))
    res = e.sel(e.or_(neg_nonint, e.or_(e.isnan(x), e.isnan(y))), e.c(nan), res)
    one = e.or_(e.eq(y, e.c(0.0)), e.eq(x, e.c(1.0)))
    one = e.or_(one, e.and_(e.eq(x, e.c(-1.0)), e.eq(e.abs(y), e.c(inf))))
    return e.sel(one, e.c(1.0), res)


# ---------------------------------------------------------------- dispatch
_F32_ONLY = {  # float32 variants; float64 uses _VIA_F64
    "sin": lambda e, x: _trig_f32(e, x, "sin"),
    "cos": lambda e, x: _trig_f32(e, x, "cos"),
}
_NATIVE = {  # evaluated in the argument's precision
    "exp": _exp,
    "expm1": _expm1,
    "log": _log,
    "log1p": _log1p,
    "tanh": _tanh,
    "sigmoid": _sigmoid,
    "softplus": _softplus,
}
_VIA_F64 = {  # float32 evaluated in float64 and rounded once
    "sin": lambda e, x: _trig(e, x, "sin"),
    "cos": lambda e, x: _trig(e, x, "cos"),
    "tan": lambda e, x: _trig(e, x, "tan"),
    "erf": _erf,
    "pow": _pow,
    "atan2": _atan2,
}
NAMES = tuple(sorted(list(_NATIVE) + list(_VIA_F64)))


def emit(builder, name, args, dtype):
    """Emit ``name(*args)`` at ``builder``; args are LLVM float/double scalars or vectors.

    Example: ``y = emit(builder, "exp", [x], "float32")`` with ``x: <8 x float>``
    returns an ``<8 x float>`` value.
    """
    if name not in _NATIVE and name not in _VIA_F64:
        raise KeyError("vecmath has no function %r; it has %s" % (name, ", ".join(NAMES)))
    ty = args[0].type
    elem = ty.element if isinstance(ty, ir.VectorType) else ty
    want = _dtype_name(dtype)
    have = {ir.FloatType: "float32", ir.DoubleType: "float64"}.get(type(elem))
    if have is None or have != want or any(a.type != ty for a in args):
        raise TypeError(
            "vecmath.%s: arguments of LLVM type %s do not match dtype %s"
            % (name, ", ".join(str(a.type) for a in args), want)
        )
    if name in _NATIVE:
        return _NATIVE[name](_E(builder, ty), *args)
    if name in _F32_ONLY and have == "float32":
        return _F32_ONLY[name](_E(builder, ty), *args)
    if have == "float64":
        return _VIA_F64[name](_E(builder, ty), *args)
    wide = (
        ir.VectorType(ir.DoubleType(), ty.count)
        if isinstance(ty, ir.VectorType)
        else ir.DoubleType()
    )
    wargs = [builder.fpext(a, wide) for a in args]
    return builder.fptrunc(_VIA_F64[name](_E(builder, wide), *wargs), ty)
