"""More Keras 3 activation functions, by name too: relu6, celu, glu, hard_silu (hard_swish),
hard_tanh, hard_shrink, soft_shrink, tanh_shrink, log_sigmoid, mish, squareplus,
sparse_plus, sparse_sigmoid, sparsemax, threshold; Keras 3's formulas.

>>> jg.keras.layers.Dense(8, activation="mish")
"""

import jitgraph as jg


def relu6(x):
    """``min(max(x, 0), 6)``."""
    return jg.clip_by_value(jg.nn.relu(x), 0.0, 6.0)


def celu(x, alpha=1.0):
    """``max(x, 0) + min(0, alpha * (exp(x / alpha) - 1))``."""
    return jg.nn.relu(x) + jg.minimum(0.0, alpha * jg.expm1(jg.minimum(x, 0.0) / alpha))


def glu(x, axis=-1):
    """Gated linear unit: the first half of ``axis`` times the sigmoid of the second."""
    n = x.shape[axis]
    if n is None or n % 2:
        raise ValueError(f"glu: the size of axis {axis} must be known and even, got shape "
                         f"{tuple(x.shape)}")
    a, b = jg.split(x, 2, axis=axis)
    return a * jg.sigmoid(b)


def hard_silu(x):
    """``x * relu6(x + 3) / 6``."""
    return x * relu6(x + 3.0) / 6.0


hard_swish = hard_silu


def hard_tanh(x):
    """``clip(x, -1, 1)``."""
    return jg.clip_by_value(x, -1.0, 1.0)


def hard_shrink(x, threshold=0.5):
    """``x`` where ``|x| > threshold``, else 0."""
    return jg.where(jg.abs(x) > threshold, x, jg.zeros_like(x))


def soft_shrink(x, threshold=0.5):
    """``x`` moved ``threshold`` towards 0 (0 within ``[-threshold, threshold]``)."""
    zero = jg.zeros_like(x)
    return jg.where(x > threshold, x - threshold, jg.where(x < -threshold, x + threshold, zero))


def tanh_shrink(x):
    """``x - tanh(x)``."""
    return x - jg.tanh(x)


def log_sigmoid(x):
    """``log(sigmoid(x)) = -softplus(-x)``."""
    return -jg.softplus(-x)


def mish(x):
    """``x * tanh(softplus(x))``."""
    return x * jg.tanh(jg.softplus(x))


def squareplus(x, b=4):
    """``(x + sqrt(x^2 + b)) / 2``."""
    return (x + jg.sqrt(jg.square(x) + b)) / 2.0


def sparse_plus(x):
    """0 for ``x <= -1``, ``x`` for ``x >= 1``, ``(x + 1)^2 / 4`` between."""
    return jg.where(x <= -1.0, jg.zeros_like(x), jg.where(x >= 1.0, x, jg.square(x + 1.0) / 4.0))


def sparse_sigmoid(x):
    """0 for ``x <= -1``, 1 for ``x >= 1``, ``(x + 1) / 2`` between."""
    return jg.clip_by_value(0.5 * (x + 1.0), 0.0, 1.0)


def threshold(x, threshold, default_value):  # noqa: A002 - Keras' argument name
    """``x`` where ``x > threshold``, else ``default_value``."""
    return jg.where(x > threshold, x, jg.zeros_like(x) + default_value)


def sparsemax(x, axis=-1):
    """The Euclidean projection of ``x`` onto the probability simplex along ``axis``
    (Martins & Astudillo 2016): like softmax, but exactly 0 for low scores; the outputs sum
    to 1. (Keras 3.x's own sparsemax sums the cumulative sums of the support where the
    paper sums the support, so its outputs need not sum to 1 when the support has more than
    one element; this one follows the paper.)"""
    rank = len(x.shape)
    axis = axis % rank
    if axis != rank - 1:
        perm = [a for a in range(rank) if a != axis] + [axis]
        inverse = [perm.index(a) for a in range(rank)]
        return jg.transpose(sparsemax(jg.transpose(x, perm)), inverse)
    n = x.shape[-1]
    if n is None:
        raise ValueError(f"sparsemax: the size of the last axis must be known, got shape "
                         f"{tuple(x.shape)}")
    z = jg.math.top_k(x, k=int(n), sorted=True).values  # descending
    k = jg.range(1, int(n) + 1, dtype=x.dtype)
    cumulative = jg.math.cumsum(z, axis=-1)
    support = jg.cast(1.0 + k * z > cumulative, x.dtype)
    k_z = jg.reduce_sum(support, axis=-1, keepdims=True)
    tau = (jg.reduce_sum(support * z, axis=-1, keepdims=True) - 1.0) / k_z
    return jg.nn.relu(x - tau)


FUNCTIONS = [relu6, celu, glu, hard_silu, hard_tanh, hard_shrink, soft_shrink, tanh_shrink,
             log_sigmoid, mish, squareplus, sparse_plus, sparse_sigmoid, sparsemax, threshold]

__all__ = [f.__name__ for f in FUNCTIONS] + ["hard_swish"]
