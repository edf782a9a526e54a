"""TensorFlow's inverse trigonometric and hyperbolic functions, ``rint`` and ``polyval``,
built from other ops (no op records of their own): every backend compiles them, cuda
included, and autodiff differentiates them through their parts. (``erfc`` is an op of its
own: ops/special.py.)

``atan`` is Cephes' range-reduced approximation (a polynomial for float32, a rational
function for float64), written with jitgraph ops; ``asin``/``acos`` reduce to it, the
hyperbolic functions to ``exp``/``expm1``/``log``/``log1p`` in forms without cancellation.

Every branch that ``where`` does not select is fed a harmless stand-in value, so no
gradient is ``0 * inf = nan``.

Measured accuracy: max error in ulp of the result, eager (NumPy kernels) and compiled (cpu),
over 40,000-60,000 points per function and dtype (uniform and log-spaced magnitudes over the
whole domain: |x| up to 1e30, sinh/cosh up to the overflow),
against NumPy in float64 (for float32) and long double or mpmath (for float64); ``ACCURACY``
below, asserted by tests/test_tf_functions.py:

    float32: atan 2.5, asin 3.2, acos 3.2, sinh 2.9, cosh 2.5, asinh 1.6, acosh 1.6,
             atanh 2.4
    float64: atan 0.9, asin 2.3, acos 1.8, sinh 2.6, cosh 2.7, asinh 1.3, acosh 1.3,
             atanh 1.9

Gradients are the derivatives of these expressions (relative error below 1e-13 against
the exact derivatives in float64). At the ends of the domains (``asin``/``acos``/``atanh``
at +-1, ``acosh`` at 1) they are 0 or NaN where TensorFlow's are +-inf.
"""

import numpy as np

from .. import dtypes as _dt
from .. import errors
from .core import as_tensor
from .elementwise import (
    abs,  # noqa: A004
    cast,
    exp,
    expm1,
    log,
    log1p,
    minimum,
    round,  # noqa: A004
    sqrt,
    where,
)

# Max error in ulp (float32, float64); tests/test_tf_functions.py asserts these bounds.
ACCURACY = {
    "atan": (3, 1), "asin": (3.5, 2.5), "acos": (3.5, 2), "sinh": (3.5, 3), "cosh": (3, 3),
    "asinh": (2, 1.5), "acosh": (2, 1.5), "atanh": (3, 2.5),
}

_PIO2, _PIO4 = np.pi / 2, np.pi / 4
_LN2 = 0.6931471805599453
# Cephes atanf: atan(x) = x + x z P(z), z = x^2, |x| <= tan(pi/8) after the reduction
_ATAN_P32 = (8.05374449538e-2, -1.38776856032e-1, 1.99777106478e-1, -3.33329491539e-1)
# Cephes atan (double): atan(x) = x + x z P(z) / Q(z), |x| <= 0.66 after the reduction
_ATAN_P64 = (-8.750608600031904122785e-1, -1.615753718733365076637e1,
             -7.500855792314704667340e1, -1.228866684490136173410e2,
             -6.485021904942025371773e1)
_ATAN_Q64 = (1.0, 2.485846490142306297962e1, 1.650270098316988542046e2,
             4.328810604912902668951e2, 4.853903996359136964868e2,
             1.945506571482613964425e2)
_MOREBITS = 6.123233995736765886130e-17  # pi/2 - float64(pi/2)


def _float(x, what):
    x = as_tensor(x, what)
    if not x.dtype.is_floating:
        raise errors.InvalidArgumentError(
            f"{what}: expected a floating-point tensor, got {x.dtype.name}; convert it with "
            f"jg.cast(x, jg.float32)")
    return x


def _k(value, like):
    """The scalar ``value`` in ``like``'s dtype (``where`` of two Python numbers would not
    know it)."""
    return as_tensor(np.array(value, like.dtype.np), "const")


def _horner(coeffs, z):
    acc = coeffs[0]
    for c in coeffs[1:]:
        acc = acc * z + c
    return acc


def _f64(x):
    return x.dtype.name == "float64"


def _odd(x):
    """``(s, a)``: the sign of ``x`` (+1 at 0 and NaN) and ``a = s x = |x|``, for odd functions
    ``f(x) = s f(a)``: unlike ``abs``, ``s x`` has the derivative ``s`` at 0 as well, so
    ``f'(0)`` is right."""
    s = where(x < 0, _k(-1.0, x), _k(1.0, x))
    return s, s * x


def atan(x, name=None):
    """``jg.math.atan(x)``: the inverse tangent, in (-pi/2, pi/2); ``atan(+-inf) = +-pi/2``."""
    x = _float(x, "atan")
    sgn, a = _odd(x)
    wide = 0.66 if _f64(x) else 0.4142135623730950  # tan(pi/8) (float32), Cephes' 0.66
    big = a > 2.414213562373095  # tan(3 pi / 8)
    mid = (a > wide) & ~big
    one = 1.0
    r = where(big, -1.0 / where(big, a, one),
              where(mid, (a - 1.0) / (where(mid, a, one) + 1.0), a))
    z = r * r
    if _f64(x):
        p = r + r * z * _horner(_ATAN_P64, z) / _horner(_ATAN_Q64, z)
        y = where(big, _PIO2 + (p + _MOREBITS), where(mid, _PIO4 + (p + 0.5 * _MOREBITS), p))
    else:
        p = r + r * z * _horner(_ATAN_P32, z)
        y = where(big, _PIO2 + p, where(mid, _PIO4 + p, p))
    return sgn * y


def asin(x, name=None):
    """``jg.math.asin(x)``: the inverse sine, in [-pi/2, pi/2]; NaN outside [-1, 1]."""
    x = _float(x, "asin")
    sgn, a = _odd(x)
    inside = a < 1.0
    ai = where(inside, a, 0.0)
    c = sqrt((1.0 - ai) * (1.0 + ai))  # 1 - a exact near |x| = 1: no cancellation
    y = where(inside, atan(ai / c), where(a == 1.0, _k(_PIO2, x), _k(np.nan, x)))
    return sgn * y


def acos(x, name=None):
    """``jg.math.acos(x)``: the inverse cosine, in [0, pi]; NaN outside [-1, 1].
    ``acos(x) = 2 atan(sqrt((1 - x) / (1 + x)))``, accurate at both ends."""
    x = _float(x, "acos")
    ok = (x > -1.0) & (x <= 1.0)
    xs = where(ok, x, 0.0)
    y = 2.0 * atan(sqrt((1.0 - xs) / (1.0 + xs)))
    return where(ok, y, where(x == -1.0, _k(np.pi, x), _k(np.nan, x)))


# beyond this |x| exp(-|x|) no longer changes sinh/cosh (relative 2**-58); the large branch
# evaluates e^|x| / 2 as (e^(|x|/2) / 2) e^(|x|/2), finite up to the largest result
_HYP_BIG = 20.0


def _half_exp(a):
    """``e^a / 2`` for large ``a`` (float32: evaluated in float64, one rounding)."""
    if not _f64(a):
        return cast(_half_exp(cast(a, _dt.float64)), a.dtype)
    h = exp(0.5 * a)
    return (0.5 * h) * h


def sinh(x, name=None):
    """``jg.math.sinh(x)``: ``(e^x - e^-x) / 2`` as ``(s + s / (s + 1)) / 2`` with
    ``s = expm1(|x|)`` (no cancellation for small x)."""
    x = _float(x, "sinh")
    sgn, a = _odd(x)
    big = a > _HYP_BIG
    s = expm1(minimum(a, _HYP_BIG))
    y = where(big, _half_exp(where(big, a, 0.0)), 0.5 * (s + s / (s + 1.0)))
    return sgn * y


def cosh(x, name=None):
    """``jg.math.cosh(x)``: ``(e^|x| + e^-|x|) / 2``."""
    x = _float(x, "cosh")
    a = abs(x)
    big = a > _HYP_BIG
    e = exp(minimum(a, _HYP_BIG))
    return where(big, _half_exp(where(big, a, 0.0)), 0.5 * e + 0.5 / e)


_ASINH_BIG = 2.0**28  # beyond: asinh(x) = log(2x) to working precision


def asinh(x, name=None):
    """``jg.math.asinh(x)``: fdlibm's forms: ``log1p(a + a^2 / (1 + sqrt(1 + a^2)))`` for
    ``a = |x| <= 2``, ``log(2a + 1 / (a + sqrt(a^2 + 1)))`` up to 2^28, ``log(a) + log(2)``
    beyond."""
    x = _float(x, "asinh")
    sgn, a = _odd(x)
    huge = a > _ASINH_BIG
    mid = (a > 2.0) & ~huge
    am = where(mid, a, 2.0)
    as_ = minimum(a, 2.0)
    small = log1p(as_ + as_ * as_ / (1.0 + sqrt(1.0 + as_ * as_)))
    middle = log(2.0 * am + 1.0 / (am + sqrt(am * am + 1.0)))
    large = log(where(huge, a, 1.0)) + _LN2
    return sgn * where(huge, large, where(mid, middle, small))


def acosh(x, name=None):
    """``jg.math.acosh(x)`` for ``x >= 1`` (NaN below): ``log1p(t + sqrt(2t + t^2))`` with
    ``t = x - 1`` up to 2, ``log(2x - 1 / (x + sqrt(x^2 - 1)))`` up to 2^28, ``log(x) +
    log(2)`` beyond."""
    x = _float(x, "acosh")
    huge = x > _ASINH_BIG
    mid = (x > 2.0) & ~huge
    t = minimum(where(x >= 1.0, x, 1.0), 2.0) - 1.0
    small = log1p(t + sqrt(2.0 * t + t * t))
    xm = where(mid, x, 2.0)
    middle = log(2.0 * xm - 1.0 / (xm + sqrt(xm * xm - 1.0)))
    large = log(where(huge, x, 1.0)) + _LN2
    y = where(huge, large, where(mid, middle, small))
    return where(x >= 1.0, y, where(x == x, _k(np.nan, x), x))


def atanh(x, name=None):
    """``jg.math.atanh(x)``: ``log1p(2a / (1 - a)) / 2`` with ``a = |x|``; +-inf at +-1, NaN
    beyond."""
    x = _float(x, "atanh")
    sgn, a = _odd(x)
    ok = a < 1.0
    ar = where(ok, a, 0.0)
    y = 0.5 * log1p(2.0 * ar / (1.0 - ar))
    y = where(ok, y, where(a == 1.0, _k(np.inf, x), _k(np.nan, x)))
    return sgn * y


def rint(x, name=None):
    """``jg.math.rint(x)``: rounds to the nearest integer, halves to even (``jg.round``)."""
    return round(_float(x, "rint"))


def polyval(coeffs, x, name=None):
    """``jg.math.polyval([c0, c1, c2], x) = c0 x^2 + c1 x + c2`` (Horner); ``coeffs`` a list
    of tensors or numbers broadcasting with ``x``; an empty list gives zeros like ``x``."""
    x = as_tensor(x, "polyval")
    if not isinstance(coeffs, (list, tuple)):
        raise errors.InvalidArgumentError(
            f"polyval: coeffs must be a list of tensors, got {type(coeffs).__name__}")
    if not coeffs:
        return x * 0
    acc = as_tensor(coeffs[0], "polyval", x.dtype)
    for c in coeffs[1:]:
        acc = acc * x + as_tensor(c, "polyval", x.dtype)
    return acc


# flattened into jg.* as TensorFlow does; rint and polyval are jg.math only (math.py)
__all__ = ["atan", "asin", "acos", "sinh", "cosh", "asinh", "acosh", "atanh"]
