"""Cumulative sums and products along an axis: ``cumsum`` and ``cumprod`` (TensorFlow's
``exclusive`` and ``reverse`` flags).

Each backend runs one sequential scan per row along the axis (codegen/scans.py on the cpu,
a thread per row on the GPU), rows in parallel. Gradients, as TensorFlow's: the gradient of
cumsum is the cumsum of the upstream gradient in the other direction; that of cumprod is
``cumsum(g * cumprod(x), reverse=not reverse) / x`` (so it is not finite where x is 0).
"""

import numpy as np

from .. import errors
from .core import Op, Type, apply, as_tensor, register


def _infer(name):
    def infer(types, axis, exclusive, reverse):
        (x,) = types
        if x.dtype.name == "bool":
            raise errors.InvalidArgumentError(
                f"{name}: needs a numeric tensor, got bool; jg.cast it first")
        if not x.shape or not -len(x.shape) <= axis < len(x.shape):
            raise errors.InvalidArgumentError(
                f"{name}: axis {axis} is out of range for a tensor of shape {list(x.shape)}")
        return Type(x.dtype, x.shape)

    return infer


def _impl(ufunc):
    def impl(x, axis, exclusive, reverse):
        a = axis % x.ndim
        v = np.flip(x, a) if reverse else x
        out = ufunc.accumulate(v, axis=a, dtype=x.dtype)
        if exclusive:
            ident = np.zeros_like if ufunc is np.add else np.ones_like
            first = ident(np.take(out, [0], axis=a)) if out.shape[a] else out
            out = np.concatenate([first, np.delete(out, -1, axis=a)], axis=a) \
                if out.shape[a] else out
        return np.ascontiguousarray(np.flip(out, a) if reverse else out)

    return impl


def _cumsum_grad(i, o, g, axis, exclusive, reverse):
    return [apply("cumsum", g[0], axis=axis, exclusive=exclusive, reverse=not reverse)]


def _cumprod_grad(i, o, g, axis, exclusive, reverse):
    t = apply("cumsum", apply("multiply", g[0], o[0]), axis=axis, exclusive=exclusive,
              reverse=not reverse)
    return [apply("divide", t, i[0])]


register(Op("cumsum", _infer("cumsum"), _impl(np.add), grad=_cumsum_grad, kind="shape",
            unify=(), doc="cumulative sum along an axis (ops/scan.py)"))
register(Op("cumprod", _infer("cumprod"), _impl(np.multiply), grad=_cumprod_grad,
            kind="shape", unify=(), doc="cumulative product along an axis (ops/scan.py)"))


def _scan(name, x, axis, exclusive, reverse):
    x = as_tensor(x, name)
    axis = int(axis)
    if x.shape and -len(x.shape) <= axis < len(x.shape):
        axis %= len(x.shape)
    return apply(name, x, axis=axis, exclusive=bool(exclusive), reverse=bool(reverse))


def cumsum(x, axis=0, exclusive=False, reverse=False, name=None):
    """``jg.cumsum([1, 2, 3])`` is [1, 3, 6]; ``exclusive``: [0, 1, 3]; ``reverse``:
    [6, 5, 3]."""
    return _scan("cumsum", x, axis, exclusive, reverse)


def cumprod(x, axis=0, exclusive=False, reverse=False, name=None):
    """``jg.math.cumprod([1, 2, 3])`` is [1, 2, 6]."""
    return _scan("cumprod", x, axis, exclusive, reverse)


__all__ = ["cumsum", "cumprod"]
