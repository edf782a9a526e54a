"""Linear algebra ops: matmul with batch dims (broadcast like NumPy) and transpose flags.
``lower="matmul"``: backends call BLAS (or their own tiled kernel) for it."""

import numpy as np

from .. import errors
from .core import Op, Type, apply, broadcast_shapes, fmt_shape, register, unbroadcast
from .reduce import f32_accumulate


def _matmul_infer(types, transpose_a, transpose_b):
    a, b = types
    if a.dtype.is_bool:
        raise errors.InvalidArgumentError("matmul: expected numeric tensors, got bool")
    if len(a.shape) < 2 or len(b.shape) < 2:
        raise errors.InvalidArgumentError(errors.at_user_line(
            f"matmul: both operands need rank >= 2, got shapes {fmt_shape(a.shape)} and "
            f"{fmt_shape(b.shape)}; use jg.expand_dims or jg.linalg.matvec for vectors"))
    m, k = a.shape[-2:][::-1] if transpose_a else a.shape[-2:]
    k2, n = b.shape[-2:][::-1] if transpose_b else b.shape[-2:]
    if k is not None and k2 is not None and k != k2:
        raise errors.InvalidArgumentError(errors.at_user_line(
            f"matmul: inner dimensions do not match: shapes {fmt_shape(a.shape)} and "
            f"{fmt_shape(b.shape)} (transpose_a={transpose_a}, transpose_b={transpose_b}) "
            f"give {k} vs {k2}"))
    batch = broadcast_shapes("matmul", a.shape[:-2], b.shape[:-2])
    return Type(a.dtype, batch + (m, n))


@f32_accumulate  # float16: float32 products and sums, one rounding, as the kernels
def _matmul_impl(a, b, transpose_a, transpose_b):
    if transpose_a:
        a = np.swapaxes(a, -1, -2)
    if transpose_b:
        b = np.swapaxes(b, -1, -2)
    return np.matmul(a, b)


def _g_matmul(i, o, g, transpose_a, transpose_b, needs=(True, True)):
    a, b = i
    g = g[0]

    def mm(x, y, ta=False, tb=False):
        return apply("matmul", x, y, transpose_a=ta, transpose_b=tb)

    if not transpose_a and not transpose_b:
        ga, gb = (lambda: mm(g, b, tb=True)), (lambda: mm(a, g, ta=True))
    elif not transpose_a:
        ga, gb = (lambda: mm(g, b)), (lambda: mm(g, a, ta=True))
    elif not transpose_b:
        ga, gb = (lambda: mm(b, g, tb=True)), (lambda: mm(a, g))
    else:
        ga, gb = (lambda: mm(b, g, ta=True, tb=True)), (lambda: mm(g, a, ta=True, tb=True))
    return [unbroadcast(ga(), tuple(a.shape)) if needs[0] else None,
            unbroadcast(gb(), tuple(b.shape)) if needs[1] else None]


# extra["grad_needs"]: the eager tape passes needs= (which inputs want a gradient), so a
# step does not pay for the gradient of its input batch
register(Op("matmul", _matmul_infer, _matmul_impl, grad=_g_matmul, kind="linalg",
            lower="matmul", extra={"grad_needs": True}))


def matmul(a, b, transpose_a=False, transpose_b=False, adjoint_a=False, adjoint_b=False,
           name=None):
    """``jg.matmul(a, b)`` (also ``a @ b``): matrix product over the last two axes; leading
    batch axes broadcast.

    >>> jg.matmul(jg.ones([2, 3]), jg.ones([3, 4])).shape  # (2, 4)
    """
    return apply("matmul", a, b, transpose_a=bool(transpose_a or adjoint_a),
                 transpose_b=bool(transpose_b or adjoint_b))


__all__ = ["matmul"]
