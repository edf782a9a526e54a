"""``jg.random.gamma``, ``poisson``, ``stateless_gamma`` and ``stateless_poisson``: samplers
built from one draw of float64 uniforms (``uniform``/``stateless_uniform`` of ops/random.py
and randomx.py, with a trailing axis of ``_DRAWS`` numbers per sample), so they follow those
ops' seed semantics (the same numbers eager and compiled for one seed, fresh numbers on every
call of a compiled function) and every backend runs them.

- gamma(alpha): Marsaglia & Tsang's squeeze method for alpha >= 1 (normals by Box-Muller),
  ``_GAMMA_TRIES`` attempts per sample, the first accepted one taken (each is accepted with
  probability > 0.95: all rejected has probability < 1e-10, then the last candidate is
  used); alpha < 1 as gamma(alpha + 1) * U^(1/alpha). Divided by ``beta``.
- poisson(lam): lam < 10 by inversion (one uniform against the cumulative probabilities of
  0 .. 63, P(N > 63) < 1e-30); lam >= 10 by Hoermann's transformed rejection (PTRS, as
  NumPy), ``_POISSON_TRIES`` attempts (each accepted with probability > 0.85; all rejected
  < 1e-10, then the rounded normal approximation is used).

Gradients: gamma's samples divided by ``beta`` differentiate w.r.t. ``beta``
(-x / beta) and w.r.t. ``alpha`` by implicit reparameterization, as TensorFlow's
random_gamma_grad: for a Gamma(alpha, 1) sample x, dx/dalpha = -(dP(alpha, x)/dalpha) /
(dP/dx) with P = igamma (ops/special.py's ``random_gamma_grad``, never a pathwise value
through the rejection sampler, whose accept/reject choices have no derivative). The sampler
itself runs on ``stop_gradient(alpha)``; the op ``gamma_reparam(x, alpha)`` (the identity
of x) carries that gradient, so nothing of it is computed unless a gradient is asked for.
Poisson samples have no gradient, as in TensorFlow.
"""

import math

import numpy as np

from .. import dtypes as _dt
from .. import errors
from .core import apply, as_tensor

_GAMMA_TRIES = 8
_POISSON_SMALL = 64  # inversion terms for lam < 10
_POISSON_TRIES = 12


def _ops():
    from .. import ops

    return ops


def _out_shape(shape, param_shape, what):
    from .shape import _static_shape

    shape = [int(d) for d in _static_shape(shape, what)]
    if any(d < 0 for d in shape) or None in list(param_shape):
        raise errors.InvalidArgumentError(errors.at_user_line(
            f"{what}: the shape {shape} and the parameters' shape {list(param_shape)} must be "
            "fully known"))
    return shape + [int(d) for d in param_shape]


def _params(what, *values, dtype=None):
    ops = _ops()
    ts = [as_tensor(v, what, _dt.float64) if v is not None else None for v in values]
    ts = [None if t is None else ops.cast(t, _dt.float64) for t in ts]
    live = [t for t in ts if t is not None]
    shape = live[0].shape
    for t in live[1:]:
        from .core import broadcast_shapes

        shape = broadcast_shapes(what, tuple(shape), tuple(t.shape))
    return [None if t is None else ops.broadcast_to(t, list(shape)) for t in ts], tuple(shape)


def _gamma_from_uniforms(u, alpha):
    """Gamma(alpha, 1) samples from uniforms u [..., 2 * _GAMMA_TRIES + 1] (float64)."""
    ops = _ops()
    boost = alpha < 1.0
    a = ops.where(boost, alpha + 1.0, alpha)
    d = a - 1.0 / 3.0
    c = 1.0 / ops.sqrt(9.0 * d)
    res = None
    for j in reversed(range(_GAMMA_TRIES)):  # u[j]: acceptance; u[T + 2p], u[T + 2p + 1]:
        u1 = 1.0 - u[..., j]  # (0, 1]        Box-Muller's pair p = j // 2 of normals
        base = _GAMMA_TRIES + 2 * (j // 2)
        r = ops.sqrt(-2.0 * ops.log(1.0 - u[..., base]))
        ang = 2.0 * math.pi * u[..., base + 1]
        x = r * (ops.cos(ang) if j % 2 == 0 else ops.sin(ang))
        v = (1.0 + c * x)
        v = v * v * v
        ok = v > 0.0
        vs = ops.where(ok, v, ops.ones_like(v))
        dv = d * vs
        accept = ok & (ops.log(u1) < 0.5 * x * x + d - dv + d * ops.log(vs))
        if res is None:
            res = dv  # all attempts rejected (< 1e-10): the last candidate
        res = ops.where(accept, dv, res)
    ub = 1.0 - u[..., 2 * _GAMMA_TRIES]  # (0, 1]
    safe_alpha = ops.where(boost, alpha, ops.ones_like(alpha))
    scale = ops.where(boost, ops.exp(ops.log(ub) / safe_alpha), ops.ones_like(alpha))
    out = res * scale
    return ops.where(alpha > 0.0, out, ops.zeros_like(out) + np.nan)


def _poisson_from_uniforms(u, lam):
    """Poisson(lam) samples (float64) from uniforms u [..., 2 * _POISSON_TRIES + 1]."""
    ops = _ops()
    from .special import lgamma

    small = lam < 10.0
    ls = ops.where(small, lam, ops.ones_like(lam))
    p = ops.exp(-ls)
    cdf = p
    count = ops.zeros_like(lam)
    u0 = u[..., 2 * _POISSON_TRIES]
    for k in range(1, _POISSON_SMALL + 1):
        count = count + ops.cast(cdf < u0, _dt.float64)
        p = p * ls / float(k)
        cdf = cdf + p
    lb = ops.where(small, ops.ones_like(lam) * 10.0, lam)
    slam, loglam = ops.sqrt(lb), ops.log(lb)
    b = 0.931 + 2.53 * slam
    a = -0.059 + 0.02483 * b
    invalpha = 1.1239 + 1.1328 / (b - 3.4)
    vr = 0.9277 - 3.6224 / (b - 2.0)
    z = ops.sqrt(-2.0 * ops.log(1.0 - u[..., 0])) * ops.cos(2.0 * math.pi * u[..., 1])
    res = ops.maximum(ops.floor(lb + slam * z + 0.5), 0.0)  # all rejected (< 1e-10)
    for j in reversed(range(_POISSON_TRIES)):
        uu = u[..., 2 * j] - 0.5
        v = 1.0 - u[..., 2 * j + 1]  # (0, 1]
        us = 0.5 - ops.abs(uu)
        kk = ops.floor((2.0 * a / us + b) * uu + lb + 0.43)
        quick = (us >= 0.07) & (v <= vr)
        bad = (kk < 0.0) | ((us < 0.013) & (v > us))
        ks = ops.maximum(kk, 0.0)
        slow = (ops.log(v) + ops.log(invalpha) - ops.log(a / (us * us) + b)
                <= -lb + ks * loglam - lgamma(ks + 1.0))
        accept = quick | (~bad & slow)
        res = ops.where(accept, kk, res)
    out = ops.where(small, count, res)
    out = ops.where(lam == 0.0, ops.zeros_like(out), out)
    return ops.where(lam >= 0.0, out, ops.zeros_like(out) + np.nan)


def _finish(x, dtype, what):
    ops = _ops()
    if dtype.is_integer:
        return ops.cast(x, dtype)
    if not dtype.is_floating:
        raise errors.InvalidArgumentError(f"{what}: dtype must be a float or int type, got "
                                          f"{dtype.name}")
    return ops.cast(x, dtype)


def _gamma(draw, what, shape, alpha, beta, dtype):
    ops = _ops()
    dtype = _dt.as_dtype(dtype)
    if not dtype.is_floating:
        raise errors.InvalidArgumentError(f"{what}: dtype must be floating, got {dtype.name}")
    alpha_in = as_tensor(alpha, what, dtype)
    (a, bt), pshape = _params(what, ops.stop_gradient(alpha_in), beta)
    out_shape = _out_shape(shape, pshape, what)
    u = draw(out_shape + [2 * _GAMMA_TRIES + 1])
    x = _gamma_from_uniforms(u, ops.broadcast_to(a, out_shape))
    # the value is x; the gradient w.r.t. alpha the implicit one (see the docstring)
    x = apply("gamma_reparam", x, ops.broadcast_to(ops.cast(alpha_in, _dt.float64), out_shape))
    if bt is not None:
        x = x / ops.broadcast_to(bt, out_shape)
    return ops.cast(x, dtype)


def _poisson(draw, what, shape, lam, dtype):
    ops = _ops()
    dtype = _dt.as_dtype(dtype)
    (lm,), pshape = _params(what, ops.stop_gradient(as_tensor(lam, what, _dt.float64)))
    out_shape = _out_shape(shape, pshape, what)
    u = draw(out_shape + [2 * _POISSON_TRIES + 1])
    return _finish(_poisson_from_uniforms(u, ops.broadcast_to(lm, out_shape)), dtype, what)


def gamma(shape, alpha, beta=None, dtype=_dt.float32, seed=None, name=None):
    """``jg.random.gamma([10], alpha=[0.5, 2.0])``: Gamma(alpha, rate beta) samples of shape
    ``shape + broadcast(alpha, beta).shape``; mean alpha / beta."""
    from .random import uniform

    return _gamma(lambda s: uniform(s, dtype=_dt.float64, seed=seed), "gamma", shape, alpha,
                  beta, dtype)


def poisson(shape, lam, dtype=_dt.float32, seed=None, name=None):
    """``jg.random.poisson([10], lam=[1.0, 30.0])``: Poisson(lam) counts of shape
    ``shape + lam.shape`` in ``dtype`` (float or int)."""
    from .random import uniform

    return _poisson(lambda s: uniform(s, dtype=_dt.float64, seed=seed), "poisson", shape, lam,
                    dtype)


def stateless_gamma(shape, seed, alpha, beta=None, dtype=_dt.float32, name=None):
    """Gamma samples determined by the seed pair (see stateless_uniform)."""
    from .randomx import stateless_uniform

    return _gamma(lambda s: stateless_uniform(s, seed, dtype=_dt.float64), "stateless_gamma",
                  shape, alpha, beta, dtype)


def stateless_poisson(shape, seed, lam, dtype=_dt.int32, name=None):
    """Poisson samples determined by the seed pair (see stateless_uniform)."""
    from .randomx import stateless_uniform

    return _poisson(lambda s: stateless_uniform(s, seed, dtype=_dt.float64),
                    "stateless_poisson", shape, lam, dtype)


__all__ = ["gamma", "poisson", "stateless_gamma", "stateless_poisson"]
