"""Special functions of ``jg.math`` written once, for two evaluators: ``lgamma``,
``digamma``, ``polygamma``, ``zeta`` (Hurwitz), ``erfc``, ``erfinv``, ``ndtri``,
``bessel_i0e``, ``bessel_i1e``, ``igamma``, ``igammac`` and the derivatives
``igamma_grad_a`` and ``random_gamma_grad``; ``betainc`` and its derivatives live in
special_beta.py (same evaluators, registered in ``FUNCTIONS`` below).

Each function is straight-line code over an evaluator ``e`` with vecmath's interface
(``e.add``, ``e.mul``, ``e.sel``, ``e.lt``, ``e.horner``, ...): vecmath's LLVM emitter
(``_E``, scalars or vectors, so fused kernels stay vectorized, and the same IR becomes PTX
for the cuda backend) or ``NpE`` below, which runs the same steps on NumPy arrays (the
eager implementation and the interpreter). The two differ only in the last bits of exp/log/
sin/pow. Every argument is evaluated in float64 (float32 rounds once at the end).

    y = emit(builder, "lgamma", [x], "float32")    # an LLVM value
    y = evaluate("lgamma", [x])                    # a NumPy array, x's dtype

Methods (float64 arithmetic; relative errors are measured against mpmath by
tests/test_special.py, which asserts ``ACCURACY``):

- lgamma: Stirling's series from 13; (u-1)(u-2) R(u) on [1, 3] (R a Chebyshev series,
  scripts/fit_special.py: both roots exact); [3, 13) reduced to [2, 3) by the recurrence,
  (0, 1) moved up by one; x < 0 by the reflection log(pi / |sin(pi x)|) - lgamma(1 - x).
- digamma: the asymptotic series from 10; (x - X0) D(x) on [1, 2] (X0 the positive root);
  [2, 10) reduced to [1, 2) by the recurrence, (0, 1) moved up; x < 0 by the reflection
  digamma(1 - x) - pi / tan(pi x). NaN at 0 and the negative integers, as TensorFlow.
- zeta(s, q) (Hurwitz): Euler-Maclaurin, 10 terms then 12 Bernoulli terms (Cephes' zeta,
  stopping where the terms stop shrinking); polygamma(n, x) = (-1)^(n+1) n! zeta(n+1, x);
  zeta's q < 0 (integer s) only above -4 (NaN below); trigamma (n = 1, digamma's
  derivative) for every x < 0 by its reflection.
- erfc: 1 - x P(x^2) (vecmath's erf polynomial) for |x| < 1/2; exp(-x^2) Y(s) / (1 + 2x)
  for x >= 1/2 (Y the Chebyshev series of ops/_erfc_coeffs.py, scripts/fit_erfc.py, in
  Shepherd & Laframboise's variable; exp(-x^2) with x^2 = h^2 + (x - h)(x + h), h = x
  rounded down to 1/64, so x^2's rounding does not reach the exponent); 2 - erfc(-x) for
  x <= -1/2; 0 beyond 27.3. (``erf`` stays vecmath's.)
- erfinv, ndtri: Winitzki's closed-form guess, then two Halley steps on erf(x) = y
  (|y| <= 1/2) or erfc(x) = 1 - |y| (the tail, with 1 - |y| exact), erfc from the
  Chebyshev series of ops/_erfc_coeffs.py.
- igamma, igammac (regularized incomplete gamma P, Q): the series of P below x = a + 1,
  Lentz's continued fraction of Q above, each _IGAMMA_STEPS steps in one counted loop (a
  loop in the math function, not unrolled), times exp(a log x - x - lgamma(a)). That
  factor's rounding (its exponent is ~a large) bounds the relative error: 1e-13 for
  a <= 100, 2e-12 for a <= 2000 (absolute error below 3e-13); beyond a ~ 2000 the steps
  do not suffice.
- igamma_grad_a (dP/da) and random_gamma_grad (-(dP/da) / (dP/dx), the implicit
  reparameterization derivative of a Gamma(a, 1) sample): forward-mode differentiation of
  the same loop (the series terms' and Lentz factors' derivatives w.r.t. a ride along), so
  the derivative converges with the value; dP/da = pre ((log x - digamma(a)) S + dS) with
  pre = x * density, so random_gamma_grad = -x ((log x - digamma(a)) S + dS) has no exp
  factor at all (no under/overflow for tiny alpha or far tails). Relative error within
  ACCURACY (1000 units, 2.2e-13) for a in [1e-3, 100] (against mpmath's derivative of P
  below x = a, of -Q above; 844 units measured at a = 200): the exp factor's rounding, as
  for igamma.
- bessel_i0e, bessel_i1e: the power series of I0/I1 (all terms positive) times exp(-|x|)
  up to |x| = 20, the asymptotic series beyond.

Accuracy is relative error on x > 0 (also at the roots of lgamma and digamma); the
reflections for x < 0 lose relative accuracy near the roots of lgamma/digamma on the
negative axis (as every reflection-based implementation, Cephes and TensorFlow's
included): there the error is absolute (``ABS_ACCURACY_NEG``).
"""

import math

import numpy as np

from . import vecmath
from ._special_coeffs import DIGAMMA_CHEB, LGAMMA_CHEB, X0_HI, X0_LO
from .vecmath import C as _VC

# max relative error in units of 2**-52 (float64) and in ulp (float32, one rounding of the
# float64 value): tests/test_special.py asserts these, eager and compiled
ACCURACY = {
    "lgamma": (2, 1), "digamma": (2.5, 1), "polygamma": (6, 1), "zeta": (6, 1),
    "erfinv": (2.5, 1), "ndtri": (12, 1), "bessel_i0e": (6, 1), "bessel_i1e": (6, 1),
    "igamma": (400, 1), "igammac": (400, 1),  # float64: for a <= 100 (see below)
    "erfc": (3, 1), "igamma_grad_a": (1000, 1), "random_gamma_grad": (1000, 1),
    # for a, b <= 100, relative where not reflected; absolute 1e-13 (special_beta.py)
    "betainc": (800, 1),
}
# x < 0: absolute error bound (float64) of lgamma/digamma by the reflection, for |x| <= 100
ABS_ACCURACY_NEG = {"lgamma": 1e-13, "digamma": 1e-12}

_LOG_PI = math.log(math.pi)
_LS2PI = 0.5 * math.log(2 * math.pi)
_SQRT_PI = math.sqrt(math.pi)


class NpE:
    """vecmath's evaluator interface on float64 NumPy arrays (every branch is computed,
    then selected, as in the vector code)."""

    def c(self, v):
        return np.float64(v)

    add, sub, mul, div = np.add, np.subtract, np.multiply, np.divide
    neg, abs, rint, floor = np.negative, np.abs, np.rint, np.floor
    lt, le, gt, eq = np.less, np.less_equal, np.greater, np.equal
    isnan, or_, and_ = np.isnan, np.logical_or, np.logical_and

    def fma(self, a, b, c):
        return a * b + c

    def horner(self, x, coeffs):
        acc = np.float64(coeffs[0])
        for co in coeffs[1:]:
            acc = acc * x + co
        return acc

    def sel(self, cond, a, b):
        return np.where(cond, a, b)

    def copysign(self, mag, sign_src):
        return np.copysign(mag, sign_src)

    def signbit(self, x):
        return np.signbit(x)

    def is64(self):
        return True


_NP_FN = {"exp": np.exp, "log": np.log, "log1p": np.log1p, "sqrt": np.sqrt, "sin": np.sin,
          "cos": np.cos, "pow": np.power}
_LL_FN = {"exp": vecmath._exp, "log": vecmath._log, "log1p": vecmath._log1p,
          "sqrt": lambda e, x: e.intr("sqrt", x),
          "sin": lambda e, x: vecmath._trig(e, x, "sin"),
          "cos": lambda e, x: vecmath._trig(e, x, "cos"), "pow": vecmath._pow}


def _f(e, name, *args):
    """exp/log/log1p/sqrt/sin/cos/pow on either evaluator."""
    if isinstance(e, NpE):
        return _NP_FN[name](*args)
    return _LL_FN[name](e, *args)


def _not(e, cond):
    return e.sel(cond, e.cb(False), e.cb(True)) if not isinstance(e, NpE) else ~cond


def _clenshaw(e, coeffs, s):
    """sum c_k T_k(s), s in [-1, 1]."""
    b1, b2 = e.c(0.0), e.c(0.0)
    two_s = e.add(s, s)
    for co in coeffs[:0:-1]:
        b1, b2 = e.add(e.sub(e.mul(two_s, b1), b2), e.c(co)), b1
    return e.add(e.sub(e.mul(s, b1), b2), e.c(coeffs[0]))


def _is_int(e, x):
    return e.eq(e.floor(x), x)


def _sin_pi_frac(e, x):
    """(sin(pi r), cos(pi r)) with r = x - rint(x) in [-1/2, 1/2] (exact): accurate for any
    x, unlike sin(pi * x)."""
    r = e.sub(x, e.rint(x))
    a = e.mul(r, e.c(math.pi))
    return _f(e, "sin", a), _f(e, "cos", a)


# ---------------------------------------------------------------- lgamma
_STIRLING = (1.0 / 156, -691.0 / 360360, 1.0 / 1188, -1.0 / 1680, 1.0 / 1260, -1.0 / 360,
             1.0 / 12)  # in 1/x^2, times 1/x


def _lgamma_pos(e, x):
    """lgamma(x) for x >= 1 (x > 0 works too, through the (0, 1) branch)."""
    one, two = e.c(1.0), e.c(2.0)
    # [1, 3]: (u - 1)(u - 2) R(u), u - 1 and u - 2 exact (Sterbenz)
    # [3, 13): u = x - n in [2, 3) (exact), lgamma(x) = log(u (u+1) ... (x-1)) + lgamma(u)
    mid = e.and_(e.lt(x, e.c(13.0)), e.lt(e.c(3.0), x))
    u = e.sel(mid, x, e.c(2.5))
    z = e.c(1.0)
    for _ in range(10):
        m = e.le(e.c(3.0), u)
        u = e.sel(m, e.sub(u, one), u)
        z = e.sel(m, e.mul(z, u), z)
    # (0, 1): lgamma(x) = lgamma(x + 1) - log(x), with the root factors x and x - 1 exact
    low = e.lt(x, one)
    core = e.sel(e.le(x, e.c(3.0)), x, u)
    core = e.sel(low, e.add(x, one), core)
    core = e.sel(e.or_(e.lt(core, one), e.gt(core, e.c(3.0))), two, core)  # NaN, huge x
    f1 = e.sel(low, x, e.sub(core, one))
    f2 = e.sel(low, e.sub(x, one), e.sub(core, two))
    small = e.mul(e.mul(f1, f2), _clenshaw(e, LGAMMA_CHEB, e.sub(core, two)))
    # one log per lane: of x (low), of z (mid), of x (Stirling), else of 1
    large = e.le(e.c(13.0), x)
    lg = _f(e, "log", e.sel(e.or_(low, large), x, e.sel(mid, z, one)))
    small = e.add(small, e.sel(low, e.neg(lg), e.sel(mid, lg, e.c(0.0))))
    # [13, inf): Stirling
    xb = e.sel(large, x, e.c(13.0))
    r = e.div(one, xb)
    r2 = e.mul(r, r)
    series = e.mul(r, e.horner(r2, _STIRLING))
    big = e.add(e.add(e.mul(e.sub(xb, e.c(0.5)), e.sub(lg, one)), e.c(_LS2PI - 0.5)), series)
    return e.sel(large, big, small)


def lgamma(e, x):
    inf = float("inf")
    neg = e.lt(x, e.c(0.0))
    y = e.sel(neg, e.sub(e.c(1.0), x), x)
    y = e.sel(e.eq(y, e.c(0.0)), e.c(1.0), y)
    lg = _lgamma_pos(e, y)
    s, _ = _sin_pi_frac(e, e.sel(neg, x, e.c(0.5)))
    refl = e.sub(e.sub(e.c(_LOG_PI), _f(e, "log", e.abs(s))), lg)
    out = e.sel(neg, refl, lg)
    pole = e.and_(e.le(x, e.c(0.0)), _is_int(e, x))  # 0, -1, -2, ..., -inf
    out = e.sel(pole, e.c(inf), out)
    out = e.sel(e.eq(x, e.c(inf)), e.c(inf), out)
    return e.sel(e.isnan(x), x, out)


# ---------------------------------------------------------------- digamma
# B_2k / (2k) for k = 7 .. 1, in 1/x^2
_PSI_ASY = (7.0 / 6 / 14, -691.0 / 2730 / 12, 5.0 / 66 / 10, -1.0 / 30 / 8, 1.0 / 42 / 6,
            -1.0 / 30 / 4, 1.0 / 6 / 2)


def _digamma_pos(e, x):
    """digamma(x) for x > 0."""
    one = e.c(1.0)
    # (0, 1): digamma(x) = digamma(x + 1) - 1/x
    low = e.lt(x, one)
    # [2, 10): u = x - n in [1, 2) (exact), digamma(x) = digamma(u) + sum 1/(u + k)
    mid = e.and_(e.le(e.c(2.0), x), e.lt(x, e.c(10.0)))
    u = e.sel(mid, x, e.sel(low, e.add(x, one), x))
    acc = e.sel(low, e.neg(e.div(one, e.sel(low, x, one))), e.c(0.0))
    for _ in range(8):
        m = e.le(e.c(2.0), u)
        u = e.sel(m, e.sub(u, one), u)
        acc = e.sel(m, e.add(acc, e.div(one, u)), acc)
    u = e.sel(e.or_(e.lt(u, one), e.lt(e.c(2.0), u)), e.c(1.5), u)  # x >= 10, NaN
    # digamma(u) = (u - X0) D(u), u - X0_HI exact
    root = e.sel(low, e.sub(e.sub(x, e.c(X0_HI - 1.0)), e.c(X0_LO)),
                 e.sub(e.sub(u, e.c(X0_HI)), e.c(X0_LO)))
    s = e.sub(e.add(u, u), e.c(3.0))
    small = e.add(e.mul(root, _clenshaw(e, DIGAMMA_CHEB, s)), acc)
    # [10, inf): log x - 1/(2x) - sum B_2k / (2k x^2k)
    xb = e.sel(e.lt(x, e.c(10.0)), e.c(10.0), x)
    r = e.div(one, xb)
    r2 = e.mul(r, r)
    big = e.sub(e.sub(_f(e, "log", xb), e.mul(e.c(0.5), r)), e.mul(r2, e.horner(r2, _PSI_ASY)))
    return e.sel(e.lt(x, e.c(10.0)), small, big)


def digamma(e, x):
    inf, nan = float("inf"), float("nan")
    neg = e.le(x, e.c(0.0))
    y = e.sel(neg, e.sub(e.c(1.0), x), x)
    y = e.sel(e.isnan(y), e.c(1.0), y)
    psi = _digamma_pos(e, y)
    s, c = _sin_pi_frac(e, e.sel(neg, x, e.c(0.5)))
    s = e.sel(e.eq(s, e.c(0.0)), e.c(1.0), s)
    refl = e.sub(psi, e.div(e.mul(e.c(math.pi), c), s))
    out = e.sel(neg, refl, psi)
    out = e.sel(e.and_(neg, _is_int(e, x)), e.c(nan), out)  # 0, -1, ..., -inf
    out = e.sel(e.eq(x, e.c(inf)), e.c(inf), out)
    return e.sel(e.isnan(x), x, out)


# ---------------------------------------------------------------- zeta, polygamma
_ZETA_A = (12.0, -720.0, 30240.0, -1209600.0, 47900160.0, -1.8924375803183791606e9,
           7.47242496e10, -2.950130727918164224e12, 1.1646782814350067249e14,
           -4.5979787224074726105e15, 1.8152105401943546773e17, -7.1661652561756670113e18)


def zeta(e, s, q):
    """Hurwitz zeta(s, q) = sum_k (q + k)^-s for s > 1; inf at s = 1 and at q = 0, -1, ...;
    NaN for s < 1, for q < 0 with non-integer s, and for q <= -4 (beyond the 10 direct
    terms: unsupported)."""
    inf, nan = float("inf"), float("nan")
    one = e.c(1.0)
    ok = e.and_(e.lt(one, s), e.lt(e.c(-4.0), q))
    ss = e.sel(ok, s, e.c(2.0))
    qq = e.sel(ok, q, e.c(1.0))
    qq = e.sel(e.and_(e.le(qq, e.c(0.0)), _is_int(e, qq)), e.c(0.5), qq)
    total = e.c(0.0)
    a = qq
    for _ in range(10):  # the terms q .. q + 9; Euler-Maclaurin from w = q + 9
        b = _f(e, "pow", a, e.neg(ss))
        total = e.add(total, b)
        w, a = a, e.add(a, one)
    total = e.add(total, e.sub(e.div(e.mul(b, w), e.sub(ss, one)), e.mul(e.c(0.5), b)))
    fac = one
    k = e.c(0.0)
    prev = e.c(inf)
    live = e.gt(one, e.c(0.0))
    for coef in _ZETA_A:
        fac = e.mul(fac, e.add(ss, k))
        b = e.div(b, w)
        t = e.div(e.mul(fac, b), e.c(coef))
        live = e.and_(live, e.lt(e.abs(t), prev))
        total = e.sel(live, e.add(total, t), total)
        prev = e.abs(t)
        k = e.add(k, one)
        fac = e.mul(fac, e.add(ss, k))
        b = e.div(b, w)
        k = e.add(k, one)
    out = e.sel(ok, total, e.c(nan))
    pole = e.or_(e.eq(s, one), e.and_(e.le(q, e.c(0.0)), _is_int(e, q)))
    out = e.sel(e.and_(pole, e.le(one, s)), e.c(inf), out)
    out = e.sel(e.and_(e.lt(q, e.c(0.0)), _not(e, _is_int(e, s))), e.c(nan), out)
    out = e.sel(e.eq(q, e.c(inf)), e.c(0.0), out)
    return e.sel(e.or_(e.isnan(s), e.isnan(q)), e.add(s, q), out)


def polygamma(e, n, x):
    """(-1)^(n+1) n! zeta(n + 1, x) for integer n >= 1, digamma for n = 0; NaN for
    negative or non-integer n."""
    nan = float("nan")
    valid = e.and_(e.le(e.c(0.0), n), _is_int(e, n))
    nn = e.sel(e.and_(valid, e.lt(e.c(0.0), n)), n, e.c(1.0))
    fact = e.c(1.0)
    for k in range(1, 23):  # exact for n <= 22
        fact = e.sel(e.le(e.c(float(k)), nn), e.mul(fact, e.c(float(k))), fact)
    big = e.lt(e.c(22.0), nn)
    fact = e.sel(big, _f(e, "exp", _lgamma_pos(e, e.sel(big, e.add(nn, e.c(1.0)),
                                                          e.c(2.0)))), fact)
    half = e.mul(nn, e.c(0.5))
    sign = e.sel(e.eq(e.floor(half), half), e.c(-1.0), e.c(1.0))
    # trigamma for x < 0 by the reflection psi1(x) = pi^2 / sin^2(pi x) - psi1(1 - x)
    refl = e.and_(e.eq(nn, e.c(1.0)), e.and_(e.lt(x, e.c(0.0)), _not(e, _is_int(e, x))))
    z = zeta(e, e.add(nn, e.c(1.0)), e.sel(refl, e.sub(e.c(1.0), x), x))
    out = e.mul(e.mul(sign, fact), z)
    sn, _ = _sin_pi_frac(e, e.sel(refl, x, e.c(0.5)))
    out = e.sel(refl, e.sub(e.div(e.c(math.pi**2), e.mul(sn, sn)), z), out)
    out = e.sel(e.eq(n, e.c(0.0)), digamma(e, x), out)
    out = e.sel(valid, out, e.c(nan))
    return e.sel(e.or_(e.isnan(n), e.isnan(x)), e.add(n, x), out)


# ---------------------------------------------------------------- igamma, igammac
_IGAMMA_STEPS = 400  # series terms and continued-fraction steps (enough for a <= 2000)


def _counted_loop(e, n, state, step):
    """``for _ in range(n): state = step(state)``: a Python loop on NumPy, an LLVM counted
    loop (phi nodes, one copy of the body) in the vector code."""
    if isinstance(e, NpE):
        for _ in range(n):
            state = step(state)
        return state
    import llvmlite.ir as ir

    b = e.b
    pre = b.block
    head = b.append_basic_block("igamma.head")
    body = b.append_basic_block("igamma.body")
    done = b.append_basic_block("igamma.done")
    b.branch(head)
    b.position_at_end(head)
    i = b.phi(ir.IntType(64), "k")
    i.add_incoming(ir.Constant(ir.IntType(64), 0), pre)
    phis = []
    for v in state:
        ph = b.phi(v.type)
        ph.add_incoming(v, pre)
        phis.append(ph)
    b.cbranch(b.icmp_signed("<", i, ir.Constant(ir.IntType(64), n)), body, done)
    b.position_at_end(body)
    new = step(tuple(phis))
    end = b.block
    i.add_incoming(b.add(i, ir.Constant(ir.IntType(64), 1)), end)
    for ph, v in zip(phis, new):
        ph.add_incoming(v, end)
    b.branch(head)
    b.position_at_end(done)
    return tuple(phis)


def _igamma_both(e, a, x, deriv=False):
    """(P, Q, ok[, T]) with P, Q the regularized lower and upper incomplete gamma functions:
    the series of P for x < a + 1, the continued fraction of Q (modified Lentz) above; the
    other by 1 - ... Both run _IGAMMA_STEPS steps in one loop. With ``deriv`` the loop also
    carries the derivatives of the series terms and of the Lentz factors w.r.t. a (forward
    mode through the same iteration, so they converge with it), and T = (dP/da) / pre is
    returned too, pre = exp(a log x - x - lgamma(a)) = x * (the density of P at x)."""
    one, tiny, zero = e.c(1.0), e.c(1e-300), e.c(0.0)
    ok = e.and_(e.lt(e.c(0.0), a), e.lt(e.c(0.0), x))
    aa, xx = e.sel(ok, a, one), e.sel(ok, x, one)
    xx = e.sel(e.lt(xx, e.c(1e300)), xx, e.c(1e300))
    logx = _f(e, "log", xx)
    log_pre = e.sub(e.sub(e.mul(aa, logx), xx), _lgamma_pos(e, aa))
    pre = _f(e, "exp", log_pre)
    # series: sum_n x^n / (a (a+1) ... (a+n)); continued fraction: Lentz on
    # 1 / (x + 1 - a - 1 (1 - a) / (x + 3 - a - ...))
    b0 = e.sub(e.add(xx, one), aa)
    c0 = e.div(one, tiny)
    d0 = e.div(one, b0)

    def clamp(v, dv):
        small = e.lt(e.abs(v), tiny)
        return e.sel(small, tiny, v), (None if dv is None else e.sel(small, zero, dv))

    def step(st):
        if deriv:
            ap, term, total, bb, c, d, h, n, dterm, dtotal, dc, dd, dh = st
        else:
            (ap, term, total, bb, c, d, h, n), dterm = st, None
        ap = e.add(ap, one)
        ratio = e.div(xx, ap)
        if deriv:  # d(term x / ap)/da, d ap/da = 1
            dterm = e.mul(e.sub(dterm, e.div(term, ap)), ratio)
            dtotal = e.add(dtotal, dterm)
        term = e.mul(term, ratio)
        total = e.add(total, term)
        an = e.mul(e.neg(n), e.sub(n, aa))  # d an/da = n, d bb/da = -1
        bb = e.add(bb, e.c(2.0))
        dpre = e.add(e.mul(an, d), bb)
        cn = e.add(bb, e.div(an, c))
        if deriv:
            ddpre = e.sub(e.add(e.mul(n, d), e.mul(an, dd)), one)
            dcn = e.sub(e.sub(e.div(n, c), e.div(e.mul(an, dc), e.mul(c, c))), one)
        else:
            ddpre = dcn = None
        dpre, ddpre = clamp(dpre, ddpre)
        cn, dcn = clamp(cn, dcn)
        d = e.div(one, dpre)
        hn = e.mul(h, e.mul(d, cn))
        if not deriv:
            return ap, term, total, bb, cn, d, hn, e.add(n, one)
        dd = e.neg(e.mul(ddpre, e.mul(d, d)))
        dh = e.add(e.mul(dh, e.mul(d, cn)), e.mul(h, e.add(e.mul(dd, cn), e.mul(d, dcn))))
        return ap, term, total, bb, cn, d, hn, e.add(n, one), dterm, dtotal, dcn, dd, dh

    first = e.div(one, aa)
    state = (aa, first, first, b0, c0, d0, d0, one)
    if deriv:  # d(1/a) = -1/a^2; d d0 = -d b0 / b0^2 = d0^2
        dfirst = e.neg(e.mul(first, first))
        state += (dfirst, dfirst, zero, e.mul(d0, d0), e.mul(d0, d0))
    out = _counted_loop(e, _IGAMMA_STEPS, state, step)
    total, h = out[2], out[6]
    p_series = e.mul(pre, total)
    q_frac = e.mul(pre, h)
    series = e.lt(xx, e.add(aa, one))
    p = e.sel(series, p_series, e.sub(one, q_frac))
    q = e.sel(series, e.sub(one, p_series), q_frac)
    if not deriv:
        return p, q, ok
    # dP/da = pre ((log x - digamma(a)) S + dS) below, -pre ((log x - digamma(a)) h + dh) above
    lg = e.sub(logx, _digamma_pos(e, aa))
    t = e.sel(series, e.add(e.mul(lg, total), out[9]),
              e.neg(e.add(e.mul(lg, h), out[12])))
    return p, q, ok, t, pre, xx


def _igamma_specials(e, a, x, out, zero_at_x0):
    """TensorFlow's values outside a > 0, x > 0: NaN for a <= 0 or x < 0 (and NaN
    inputs); x = 0 gives P = 0, Q = 1; x = inf gives P = 1, Q = 0."""
    nan = float("nan")
    one, zero = e.c(1.0), e.c(0.0)
    out = e.sel(e.eq(x, zero), zero if zero_at_x0 else one, out)
    out = e.sel(e.eq(x, e.c(float("inf"))), one if zero_at_x0 else zero, out)
    bad = e.or_(e.le(a, zero), e.lt(x, zero))
    out = e.sel(bad, e.c(nan), out)
    return e.sel(e.or_(e.isnan(a), e.isnan(x)), e.add(a, x), out)


def igamma(e, a, x):
    p, _, _ = _igamma_both(e, a, x)
    return _igamma_specials(e, a, x, p, True)


def igammac(e, a, x):
    _, q, _ = _igamma_both(e, a, x)
    return _igamma_specials(e, a, x, q, False)


def igamma_grad_a(e, a, x):
    """dP(a, x)/da (TensorFlow's igamma_grad_a): 0 at x = 0 and x = inf, NaN for a <= 0 or
    x < 0."""
    _, _, _, t, pre, _ = _igamma_both(e, a, x, deriv=True)
    out = _igamma_specials(e, a, x, e.mul(pre, t), True)
    return e.sel(e.eq(x, e.c(float("inf"))), e.c(0.0), out)


def random_gamma_grad(e, a, x):
    """d x / d a of a Gamma(a, 1) sample x by implicit reparameterization (TensorFlow's
    random_gamma_grad): -(dP/da) / (dP/dx) = -x T (see _igamma_both: the exp factor
    cancels, so nothing under- or overflows). 0 at x = 0, NaN for a <= 0 or x < 0."""
    _, _, _, t, _, xx = _igamma_both(e, a, x, deriv=True)
    out = _igamma_specials(e, a, x, e.neg(e.mul(xx, t)), True)
    return e.sel(e.eq(x, e.c(float("inf"))), e.c(float("nan")), out)


# ---------------------------------------------------------------- erfinv, ndtri
def _erf_small(e, x):
    """erf(x) for |x| < 1 (vecmath's odd polynomial)."""
    return e.mul(x, e.horner(e.mul(x, x), _VC.ERF_SMALL))


def _erfc_pos(e, x):
    """erfc(x) for x >= 0.5 (ops/_erfc_coeffs.py's series), x <= 27.3."""
    from ..ops._erfc_coeffs import ERFC_CHEB64, T0, K

    t = e.div(e.sub(x, e.c(K)), e.add(x, e.c(K)))
    s = e.sub(e.mul(e.sub(t, e.c(T0)), e.c(2.0 / (1.0 - T0))), e.c(1.0))
    h = e.div(e.floor(e.mul(x, e.c(64.0))), e.c(64.0))
    ex = e.mul(_f(e, "exp", e.neg(e.mul(h, h))),
               _f(e, "exp", e.neg(e.mul(e.sub(x, h), e.add(x, h)))))
    return e.div(e.mul(ex, _clenshaw(e, ERFC_CHEB64, s)), e.add(e.c(1.0), e.add(x, x)))


_ERFC_ZERO = 27.3  # erfc(x) < 2**-1075 beyond: 0 in float64


def erfc(e, x):
    """1 - erf(x) without the cancellation: 1 - x P(x^2) for |x| < 1/2, the Chebyshev series
    of _erfc_pos for x >= 1/2 and 2 - erfc(-x) for x <= -1/2 (no result below 1 there)."""
    ax = e.abs(x)
    near = e.lt(ax, e.c(0.5))
    small = e.sub(e.c(1.0), _erf_small(e, e.sel(near, x, e.c(0.0))))
    xt = e.sel(near, e.c(0.5), e.sel(e.lt(ax, e.c(_ERFC_ZERO)), ax, e.c(_ERFC_ZERO)))
    tail = e.sel(e.lt(e.c(_ERFC_ZERO), ax), e.c(0.0), _erfc_pos(e, xt))
    tail = e.sel(e.lt(x, e.c(0.0)), e.sub(e.c(2.0), tail), tail)
    return e.sel(e.isnan(x), x, e.sel(near, small, tail))


def _inverse_erf(e, y, q):
    """x >= 0 with erf(x) = y for y <= 1/2, else erfc(x) = q (q = 1 - y exactly, the
    caller's); y in [0, 1], q in [0, 1]."""
    one = e.c(1.0)
    small = e.le(y, e.c(0.5))
    qs = e.sel(e.lt(q, e.c(1e-300)), e.c(1e-300), q)
    # log(1 - y^2) = log(q (2 - q)) = log(q) + log1p(1 - q)
    l1 = e.sel(small, _f(e, "log1p", e.neg(e.mul(y, y))),
               e.add(_f(e, "log", qs), _f(e, "log1p", e.sub(one, qs))))
    a = 0.147
    t = e.add(e.c(2.0 / (math.pi * a)), e.mul(e.c(0.5), l1))
    x = _f(e, "sqrt", e.sub(_f(e, "sqrt", e.sub(e.mul(t, t), e.div(l1, e.c(a)))), t))
    for _ in range(3):
        xe = e.sel(small, e.sel(e.lt(x, e.c(0.99)), x, e.c(0.99)), e.c(0.5))
        xc = e.sel(small, e.c(0.5), e.sel(e.lt(x, e.c(0.5)), e.c(0.5),
                                          e.sel(e.lt(x, e.c(27.0)), x, e.c(27.0))))
        fe = e.sub(_erf_small(e, xe), y)
        # erfc(x) - q = q (erfc(x) / q - 1); erfc below 0.5 from erf
        ec = e.sel(e.lt(x, e.c(0.5)), e.sub(one, _erf_small(e, x)), _erfc_pos(e, xc))
        fc = e.sub(ec, qs)
        dens = e.mul(e.c(2.0 / _SQRT_PI), _f(e, "exp", e.neg(e.mul(x, x))))
        # t = f / f': erf path f' = +dens, erfc path f' = -dens
        tt = e.sel(small, e.div(fe, dens), e.div(fc, e.neg(dens)))
        tt = e.sel(e.isnan(tt), e.c(0.0), tt)
        x = e.sub(x, e.div(tt, e.add(one, e.mul(x, tt))))
    x = e.sel(e.le(q, e.c(0.0)), e.c(float("inf")), x)
    return e.sel(e.eq(y, e.c(0.0)), e.c(0.0), x)


def erfinv(e, y):
    nan = float("nan")
    ay = e.abs(y)
    inside = e.le(ay, e.c(1.0))
    ay = e.sel(inside, ay, e.c(0.0))
    x = _inverse_erf(e, ay, e.sub(e.c(1.0), ay))
    x = e.copysign(x, y)
    return e.sel(inside, x, e.sel(e.isnan(y), y, e.c(nan)))


def ndtri(e, p):
    """x with Phi(x) = p: -sqrt(2) erfcinv(2p)."""
    nan = float("nan")
    one = e.c(1.0)
    inside = e.and_(e.le(e.c(0.0), p), e.le(p, one))
    pp = e.sel(inside, p, e.c(0.5))
    upper = e.lt(e.c(0.5), pp)
    q = e.sel(upper, e.sub(e.c(2.0), e.add(pp, pp)), e.add(pp, pp))  # exact
    x = _inverse_erf(e, e.sub(one, q), q)  # 1 - q exact where it is used (q >= 1/2)
    x = e.mul(x, e.c(math.sqrt(2.0)))
    x = e.sel(upper, x, e.neg(x))
    x = e.sel(e.eq(pp, e.c(0.5)), e.c(0.0), x)
    return e.sel(inside, x, e.sel(e.isnan(p), p, e.c(nan)))


# ---------------------------------------------------------------- bessel_i0e, bessel_i1e
_BESSEL_SPLIT = 20.0
_I0_SERIES = tuple(1.0 / math.factorial(k) ** 2 for k in range(48, -1, -1))  # in x^2/4
_I1_SERIES = tuple(1.0 / (math.factorial(k) * math.factorial(k + 1)) for k in range(48, -1, -1))


def _asy(nu, terms=32):
    """Coefficients (highest first) of sum_k (-1)^k a_k(nu) t^k, t = 1/x."""
    out, a = [], 1.0
    for k in range(terms):
        out.append(a)
        a = -a * (4 * nu * nu - (2 * k + 1) ** 2) / ((k + 1) * 8)
    return tuple(out[::-1])


_I0_ASY, _I1_ASY = _asy(0), _asy(1)


def _bessel_ie(e, x, order):
    ax = e.abs(x)
    small = e.lt(ax, e.c(_BESSEL_SPLIT))
    xs = e.sel(small, ax, e.c(0.0))
    t = e.mul(e.mul(xs, xs), e.c(0.25))
    ser = e.horner(t, _I0_SERIES if order == 0 else _I1_SERIES)
    if order == 1:
        ser = e.mul(ser, e.mul(xs, e.c(0.5)))
    ser = e.mul(ser, _f(e, "exp", e.neg(xs)))
    xb = e.sel(small, e.c(_BESSEL_SPLIT), ax)
    r = e.div(e.c(1.0), xb)
    asy = e.div(e.horner(r, _I0_ASY if order == 0 else _I1_ASY),
                _f(e, "sqrt", e.mul(e.c(2.0 * math.pi), xb)))
    out = e.sel(small, ser, asy)
    if order == 1:
        out = e.copysign(out, x)
    return e.sel(e.isnan(x), x, out)


def bessel_i0e(e, x):
    return _bessel_ie(e, x, 0)


def bessel_i1e(e, x):
    return _bessel_ie(e, x, 1)


# ---------------------------------------------------------------- dispatch
FUNCTIONS = {"lgamma": lgamma, "digamma": digamma, "polygamma": polygamma, "zeta": zeta,
             "erfc": erfc, "erfinv": erfinv, "ndtri": ndtri, "bessel_i0e": bessel_i0e,
             "bessel_i1e": bessel_i1e, "igamma": igamma, "igammac": igammac,
             "igamma_grad_a": igamma_grad_a, "random_gamma_grad": random_gamma_grad}
from . import special_beta  # noqa: E402 - betainc: uses this module's helpers

FUNCTIONS.update(special_beta.FUNCTIONS)
NAMES = tuple(FUNCTIONS)


def emit(builder, name, args, dtype):
    """LLVM code of ``name(*args)`` (float/double scalars or vectors of ``dtype``), in
    float64 for float32 arguments (one rounding at the end), as vecmath's ``_VIA_F64``."""
    import llvmlite.ir as ir

    ty = args[0].type
    if vecmath._dtype_name(dtype) == "float64":
        return FUNCTIONS[name](vecmath._E(builder, ty), *args)
    wide = ir.VectorType(ir.DoubleType(), ty.count) if isinstance(ty, ir.VectorType) \
        else ir.DoubleType()
    wargs = [builder.fpext(a, wide) for a in args]
    return builder.fptrunc(FUNCTIONS[name](vecmath._E(builder, wide), *wargs), ty)


def evaluate(name, args):
    """``name(*args)`` on NumPy arrays of one float dtype, computed in float64."""
    dtype = np.result_type(*args)
    with np.errstate(all="ignore"):
        out = FUNCTIONS[name](NpE(), *[np.asarray(a, np.float64) for a in args])
        return np.asarray(out).astype(dtype)


__all__ = ["emit", "evaluate", "NAMES", "ACCURACY", "ABS_ACCURACY_NEG"]
