"""Special functions of ``tf.math``: the op records ``lgamma``, ``digamma``, ``polygamma``,
``zeta``, ``igamma``, ``igammac``, ``erfc``, ``erfinv``, ``ndtri``, ``bessel_i0e``,
``bessel_i1e`` and ``betainc`` (elementwise, float32/float64; one algorithm each in
codegen/special_math.py and special_beta.py, run on NumPy arrays eagerly and emitted as
vectorizable LLVM code by every compiled backend, cuda included), the derivative ops
``igamma_grad_a``, ``random_gamma_grad``, ``betainc_grad_a``, ``betainc_grad_b`` and
``gamma_reparam`` (the identity of a gamma sample carrying its gradient w.r.t. alpha, see
ops/random_dist.py), and the compositions ``lbeta``, ``xdivy``, ``xlog1py``, ``real``,
``imag``, ``conj``, ``angle``.

Gradients are TensorFlow's: lgamma' = digamma, digamma' = polygamma(1, x),
polygamma(n, x)' = polygamma(n + 1, x) (none for n), zeta(s, q) wrt q = -s zeta(s + 1, q)
(none for s), igamma/igammac wrt x = +-exp(-x) x^(a-1) / Gamma(a) and wrt a
+-igamma_grad_a(a, x) (forward mode through the series / continued fraction),
erfc' = -2/sqrt(pi) exp(-x^2), erfinv' = sqrt(pi)/2 exp(erfinv(x)^2),
ndtri' = sqrt(2 pi) exp(ndtri(x)^2 / 2), i0e' = i1e - sign(x) i0e,
i1e' = i0e - i1e (sign(x) + 1/x) (0.5 at 0), betainc wrt x = x^(a-1) (1-x)^(b-1) / B(a, b).
Beyond TensorFlow: betainc wrt a and b (betainc_grad_a/b; TensorFlow gives None), and
the x-derivatives of igamma_grad_a and betainc_grad_a/b (mixed second derivatives). None:
second derivatives w.r.t. a (b) of igamma and betainc, and random_gamma_grad's (as
TensorFlow, which has no gradient for igamma_grad_a or random_gamma_grad at all).
Accuracy and special values: codegen/special_math.py, special_beta.py.

    >>> jg.math.lgamma([0.5, 3.0])      # [log(sqrt(pi)), log(2)]
    >>> jg.math.polygamma(1.0, 1.0)     # pi^2 / 6
"""

import numpy as np

from .. import errors
from ..codegen import special_math
from .core import Op, Type, apply, as_tensor, broadcast_shapes, register, unbroadcast
from .elementwise import _check_kind


def _j():
    from .. import ops

    return ops


def _impl(name):
    return lambda *arrays: special_math.evaluate(name, arrays)


def _unary_infer(name):
    def infer(types):
        (t,) = types
        _check_kind(name, t.dtype, "float")
        return Type(t.dtype, t.shape)

    return infer


def _binary_infer(name):
    def infer(types):
        a, b = types
        _check_kind(name, a.dtype, "float")
        return Type(a.dtype, broadcast_shapes(name, a.shape, b.shape))

    return infer


def _g_i1e(x, y, g):
    ops = _j()
    eps = float(np.finfo(x.dtype.np).eps)
    tiny = ops.abs(x) <= eps
    safe = ops.where(tiny, ops.zeros_like(x) + eps, x)
    d = ops.where(tiny, ops.zeros_like(x) + 0.5,
                  apply("bessel_i0e", safe) - y * (ops.sign(safe) + 1.0 / safe))
    return g * d


_UNARY = {
    "lgamma": lambda x, y, g: g * apply("digamma", x),
    "digamma": lambda x, y, g: g * apply("polygamma", _j().ones_like(x), x),
    "erfc": lambda x, y, g: g * (-2.0 / np.sqrt(np.pi)) * _j().exp(-x * x),
    "erfinv": lambda x, y, g: g * (np.sqrt(np.pi) / 2) * _j().exp(y * y),
    "ndtri": lambda x, y, g: g * np.sqrt(2 * np.pi) * _j().exp(0.5 * y * y),
    "bessel_i0e": lambda x, y, g: g * (apply("bessel_i1e", x) - _j().sign(x) * y),
    "bessel_i1e": _g_i1e,
}
for _name, _grad in _UNARY.items():
    register(Op(_name, _unary_infer(_name), _impl(_name),
                grad=lambda i, o, g, _f=_grad: [_f(i[0], o[0], g[0])],
                kind="elementwise", lower=_name, doc="codegen/special_math.py"))


def _g_polygamma(i, o, g):
    n, x = i
    return [None, unbroadcast(g[0] * apply("polygamma", n + 1.0, x), tuple(x.shape))]


def _g_zeta(i, o, g):
    s, q = i
    return [None, unbroadcast(-g[0] * s * apply("zeta", s + 1.0, q), tuple(q.shape))]


def _igamma_density(a, x):
    """exp(-x) x^(a-1) / Gamma(a), the derivative of igamma w.r.t. x."""
    ops = _j()
    return ops.exp((a - 1.0) * ops.log(x) - x - apply("lgamma", a))


def _g_igamma(sign):
    def rule(i, o, g):
        a, x = i
        return [unbroadcast(sign * g[0] * apply("igamma_grad_a", a, x), tuple(a.shape)),
                unbroadcast(sign * g[0] * _igamma_density(a, x), tuple(x.shape))]

    return rule


def _g_igamma_grad_a(i, o, g):
    """d/dx (dP/da) = d/da (the density) = density (log x - digamma(a)); no second
    derivative w.r.t. a (TensorFlow has no gradient for igamma_grad_a at all)."""
    a, x = i
    d = _igamma_density(a, x) * (_j().log(x) - apply("digamma", a))
    return [None, unbroadcast(g[0] * d, tuple(x.shape))]


def _g_gamma_reparam(i, o, g):
    sample, alpha = i
    return [None, g[0] * apply("random_gamma_grad", alpha, sample)]


register(Op("igamma", _binary_infer("igamma"), _impl("igamma"), grad=_g_igamma(1.0),
            kind="elementwise", lower="igamma", doc="codegen/special_math.py"))
register(Op("igammac", _binary_infer("igammac"), _impl("igammac"), grad=_g_igamma(-1.0),
            kind="elementwise", lower="igammac", doc="codegen/special_math.py"))
register(Op("igamma_grad_a", _binary_infer("igamma_grad_a"), _impl("igamma_grad_a"),
            grad=_g_igamma_grad_a, kind="elementwise", lower="igamma_grad_a",
            doc="dP(a, x)/da; codegen/special_math.py"))
register(Op("random_gamma_grad", _binary_infer("random_gamma_grad"),
            _impl("random_gamma_grad"), kind="elementwise", lower="random_gamma_grad",
            doc="d sample / d alpha of Gamma(alpha, 1) samples; codegen/special_math.py"))
# gamma_reparam(sample, alpha) = sample, whose gradient w.r.t. alpha is the implicit
# reparameterization one (ops/random_dist.py); it runs as the identity of its first input
register(Op("gamma_reparam", _binary_infer("gamma_reparam"), lambda s, a: s,
            grad=_g_gamma_reparam, kind="elementwise", lower="identity",
            doc="identity of the sample; gradient w.r.t. alpha by random_gamma_grad"))
register(Op("polygamma", _binary_infer("polygamma"), _impl("polygamma"), grad=_g_polygamma,
            kind="elementwise", lower="polygamma", doc="codegen/special_math.py"))
register(Op("zeta", _binary_infer("zeta"), _impl("zeta"), grad=_g_zeta, kind="elementwise",
            lower="zeta", doc="codegen/special_math.py"))


def _ternary_infer(name):
    def infer(types):
        a, b, x = types
        _check_kind(name, a.dtype, "float")
        shape = broadcast_shapes(name, broadcast_shapes(name, a.shape, b.shape), x.shape)
        return Type(a.dtype, shape)

    return infer


def _betainc_density(a, b, x):
    """x^(a-1) (1-x)^(b-1) / Beta(a, b), the derivative of betainc w.r.t. x (TensorFlow's,
    with xlogy/xlog1py: finite at x = 0, 1 where the exponent is 0)."""
    from .composite import xlogy

    log_beta = apply("lgamma", a) + apply("lgamma", b) - apply("lgamma", a + b)
    return _j().exp(xlog1py(b - 1.0, -x) + xlogy(a - 1.0, x) - log_beta)


def _g_betainc(i, o, g):
    a, b, x = i
    return [unbroadcast(g[0] * apply("betainc_grad_a", a, b, x), tuple(a.shape)),
            unbroadcast(g[0] * apply("betainc_grad_b", a, b, x), tuple(b.shape)),
            unbroadcast(g[0] * _betainc_density(a, b, x), tuple(x.shape))]


def _g_betainc_grad(which):
    """d/dx of dI/da (dI/db) = the density times its log-derivative w.r.t. a (b); no second
    derivatives w.r.t. a, b."""
    def rule(i, o, g):
        ops = _j()
        a, b, x = i
        lx = ops.log(x) - apply("digamma", a) if which == "a" else \
            ops.log1p(-x) - apply("digamma", b)
        d = _betainc_density(a, b, x) * (lx + apply("digamma", a + b))
        return [None, None, unbroadcast(g[0] * d, tuple(x.shape))]

    return rule


register(Op("betainc", _ternary_infer("betainc"), _impl("betainc"), grad=_g_betainc,
            kind="elementwise", lower="betainc", doc="codegen/special_beta.py"))
for _w in ("a", "b"):
    register(Op(f"betainc_grad_{_w}", _ternary_infer(f"betainc_grad_{_w}"),
                _impl(f"betainc_grad_{_w}"), grad=_g_betainc_grad(_w), kind="elementwise",
                lower=f"betainc_grad_{_w}", doc=f"dI_x(a, b)/d{_w}; codegen/special_beta.py"))


# ----------------------------------------------------------------------------- public


def _unary_fn(op, doc):
    def fn(x, name=None):
        return apply(op, x)

    fn.__name__ = op
    fn.__doc__ = doc
    return fn


lgamma = _unary_fn("lgamma", """``jg.math.lgamma(x)``: log|Gamma(x)|; +inf at 0 and the negative
    integers.

    >>> jg.math.lgamma([1.0, 0.5])  # [0, 0.5723649]
    """)
digamma = _unary_fn("digamma", """``jg.math.digamma(x)``: Gamma'(x) / Gamma(x); NaN at 0 and the
    negative integers (as TensorFlow).""")
erfc = _unary_fn("erfc", """``jg.math.erfc(x) = 1 - erf(x)``, without the cancellation for
    large x (2 at -inf, 0 beyond x ~ 27.3 in float64, ~ 10.1 in float32).

    >>> jg.math.erfc([0.0, 3.0])  # [1, 2.209e-05]
    """)
erfinv = _unary_fn("erfinv", """``jg.math.erfinv(y)``: x with erf(x) = y for y in [-1, 1] (+-inf
    at +-1, NaN outside).""")
ndtri = _unary_fn("ndtri", """``jg.math.ndtri(p)``: the standard normal quantile, x with
    Phi(x) = p for p in [0, 1] (-inf at 0, +inf at 1, NaN outside).""")
bessel_i0e = _unary_fn("bessel_i0e", """``jg.math.bessel_i0e(x)``: exp(-|x|) I0(x), the
    exponentially scaled modified Bessel function of order 0.""")
bessel_i1e = _unary_fn("bessel_i1e", """``jg.math.bessel_i1e(x)``: exp(-|x|) I1(x), the
    exponentially scaled modified Bessel function of order 1.""")


def polygamma(a, x, name=None):
    """``jg.math.polygamma(a, x)``: the ``a``-th derivative of digamma at ``x``; ``a`` a float
    tensor of non-negative integers (NaN elsewhere), as in TensorFlow.

    >>> jg.math.polygamma(1.0, 1.0)  # pi^2 / 6
    """
    return apply("polygamma", a, x)


def zeta(x, q, name=None):
    """``jg.math.zeta(x, q)``: the Hurwitz zeta function sum_k (q + k)^-x for x > 1 (+inf at
    x = 1, NaN below); for q < 0 only integer x, q > -4."""
    return apply("zeta", x, q)


def igamma(a, x, name=None):
    """``jg.math.igamma(a, x)``: the regularized lower incomplete gamma function P(a, x) =
    gamma(a, x) / Gamma(a) for a > 0, x >= 0 (NaN elsewhere, as TensorFlow). Differentiable
    w.r.t. x and a (TensorFlow's igamma_grad_a, codegen/special_math.py).

    >>> jg.math.igamma(1.0, 1.0)  # 1 - exp(-1)
    """
    return apply("igamma", a, x)


def igammac(a, x, name=None):
    """``jg.math.igammac(a, x) = 1 - igamma(a, x)``, computed without the cancellation."""
    return apply("igammac", a, x)


def betainc(a, b, x, name=None):
    """``jg.math.betainc(a, b, x)``: the regularized incomplete beta function I_x(a, b) for
    a, b > 0, 0 <= x <= 1 (NaN elsewhere, as TensorFlow); a, b, x broadcast. Differentiable
    w.r.t. x (as TensorFlow) and w.r.t. a and b (which TensorFlow leaves None; accuracy in
    codegen/special_beta.py).

    >>> jg.math.betainc(2.0, 3.0, 0.4)  # 0.5248
    """
    return apply("betainc", a, b, x)


def _float_pair(x, y, what):
    x = as_tensor(x, what)
    y = as_tensor(y, what, x.dtype)
    _check_kind(what, x.dtype, "float")
    if x.dtype != y.dtype:
        raise errors.InvalidArgumentError(
            f"{what}: x is {x.dtype.name} but y is {y.dtype.name}; jg.cast one of them")
    return x, y


def xdivy(x, y, name=None):
    """``x / y``, 0 where ``x == 0`` (also for y == 0); the division is never evaluated there,
    so gradients stay finite."""
    ops = _j()
    x, y = _float_pair(x, y, "xdivy")
    zero = x == 0.0
    return ops.where(zero, ops.zeros_like(x * y), x / ops.where(zero, ops.ones_like(y), y))


def xlog1py(x, y, name=None):
    """``x * log1p(y)``, 0 where ``x == 0`` (also for y == -1)."""
    ops = _j()
    x, y = _float_pair(x, y, "xlog1py")
    zero = x == 0.0
    return ops.where(zero, ops.zeros_like(x * y),
                     x * ops.log1p(ops.where(zero, ops.zeros_like(y), y)))


def lbeta(x, name=None):
    """``log(|Beta(x)|)`` over the last axis: ``sum(lgamma(x)) - lgamma(sum(x))``; an empty
    last axis gives -inf (TensorFlow's convention)."""
    ops = _j()
    x = as_tensor(x, "lbeta")
    _check_kind("lbeta", x.dtype, "float")
    if len(x.shape) < 1:
        raise errors.InvalidArgumentError(errors.at_user_line(
            "lbeta: needs a tensor of rank >= 1 (Beta over its last axis), got a scalar; "
            "pass jg.stack([a, b], -1)"))
    return ops.reduce_sum(lgamma(x), axis=-1) - lgamma(ops.reduce_sum(x, axis=-1))


def real(input, name=None):  # noqa: A002
    """The real part: a real tensor itself (jitgraph has no complex dtypes)."""
    return as_tensor(input, "real")


def imag(input, name=None):  # noqa: A002
    """The imaginary part: zeros for a real tensor."""
    return _j().zeros_like(as_tensor(input, "imag"))


def conj(x, name=None):
    """The complex conjugate: a real tensor itself."""
    return as_tensor(x, "conj")


def angle(input, name=None):  # noqa: A002
    """The argument: pi where a real input is negative, else 0 (TensorFlow's rule)."""
    ops = _j()
    x = as_tensor(input, "angle")
    _check_kind("angle", x.dtype, "float")
    return ops.where(x < 0.0, ops.zeros_like(x) + np.pi, ops.zeros_like(x))


# jg.math only (math.py); lgamma and digamma are also jg.* as in TensorFlow 1 (not here)
__all__ = []
