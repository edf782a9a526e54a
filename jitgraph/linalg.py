"""``jg.linalg``: linear algebra under TensorFlow's ``tf.linalg`` names."""

from .ops import expand_dims as _expand_dims
from .ops import eye, matmul, transpose  # noqa: F401
from .ops import reduce_max as _reduce_max
from .ops import reduce_sum as _reduce_sum
from .ops import sqrt as _sqrt
from .ops import squeeze as _squeeze
from .ops.core import as_tensor as _as_tensor


def matvec(a, b, transpose_a=False, name=None):
    """``jg.linalg.matvec(m, v)``: matrix times vector over the last axes."""
    return _squeeze(matmul(a, _expand_dims(b, -1), transpose_a=transpose_a), axis=-1)


def norm(tensor, ord="euclidean", axis=None, keepdims=False, name=None):  # noqa: A002
    """Euclidean (default), 1 or inf vector norm over ``axis`` (None = all elements)."""
    x = _as_tensor(tensor, "norm")
    if ord in ("euclidean", "fro", 2):
        return _sqrt(_reduce_sum(x * x, axis=axis, keepdims=keepdims))
    if ord == 1:
        return _reduce_sum(abs(x), axis=axis, keepdims=keepdims)
    if ord == float("inf"):
        return _reduce_max(abs(x), axis=axis, keepdims=keepdims)
    raise ValueError(f"jg.linalg.norm: ord={ord!r} is not supported; use 'euclidean', 1 or inf")


def l2_normalize(x, axis=None, epsilon=1e-12, name=None):
    """``x`` divided by its Euclidean norm over ``axis``."""
    from .ops import maximum, rsqrt

    x = _as_tensor(x, "l2_normalize")
    return x * rsqrt(maximum(_reduce_sum(x * x, axis=axis, keepdims=True), epsilon))


def trace(x, name=None):
    """Sum of the diagonal of the last two axes."""
    from .ops import eye as _eye

    x = _as_tensor(x, "trace")
    return _reduce_sum(x * _eye(x.shape[-2], x.shape[-1], dtype=x.dtype), axis=[-2, -1])


__all__ = ["matmul", "matvec", "norm", "eye", "transpose", "l2_normalize", "trace"]
