"""More of ``tf.math``, built from other ops (no op records of their own, so every backend
compiles them and autodiff differentiates them through their parts):
``reciprocal_no_nan``, ``multiply_no_nan``, ``cumulative_logsumexp``, ``invert_permutation``,
``is_non_decreasing``, ``is_strictly_increasing``, ``zero_fraction``, ``segment_prod``,
``unsorted_segment_sqrt_n``, ``bessel_i0``, ``bessel_i1``, ``erfcinv``, ``nextafter``,
``scalar_mul`` and ``accumulate_n`` (and ``softmax``, ``log_softmax``, ``zero_fraction`` from
jg.nn). Imported by jitgraph/math.py once the op library is loaded.

``nextafter`` uses the successor/predecessor of Rump, Zimmermann, Boldo and Melquiond
("Computing predecessor and successor in rounding to nearest", BIT 2009): ``x +- (phi |x| +
eta)`` is the neighbour of ``x`` in round-to-nearest arithmetic for every ``|x|`` above four
times the smallest normal number; below it the spacing is one or two subnormal steps,
added exactly. It is not differentiable (as in TensorFlow).

    >>> jg.math.reciprocal_no_nan([2.0, 0.0])          # [0.5, 0.0]
    >>> jg.math.cumulative_logsumexp([1.0, 2.0, 3.0])  # log(cumsum(exp(x)))
"""

import numpy as np

from .. import dtypes as _dt
from .. import errors
from .assemble import concat
from .assemble import range as _range
from .composite import add_n, unsorted_segment_sum
from .core import apply, as_tensor, normalize_axis
from .elementwise import (
    abs,  # noqa: A004
    cast,
    exp,
    is_finite,
    is_inf,
    is_nan,
    log1p,
    maximum,
    sqrt,
    where,
)
from .functional_ops import scan
from .indexing import _getitem, scatter_nd
from .manip import _sorted_count, _static_ints, unsorted_segment_prod
from .nn import log_softmax, softmax  # noqa: F401 - tf.math aliases of jg.nn
from .nn_more import zero_fraction  # noqa: F401 - also tf.nn.zero_fraction
from .reduce import reduce_all
from .shape import expand_dims, reshape, transpose, zeros_like
from .state import stop_gradient


def _float(x, what):
    x = as_tensor(x, what)
    if not x.dtype.is_floating:
        raise errors.InvalidArgumentError(errors.at_user_line(
            f"{what}: expected a floating-point tensor, got {x.dtype.name}; convert it with "
            f"jg.cast(x, jg.float32)"))
    return x


def _k(value, like):
    return as_tensor(np.array(value, like.dtype.np), "const")


def _pair(x, y, what):
    x = as_tensor(x, what)
    y = as_tensor(y, what, x.dtype)
    if x.dtype != y.dtype:
        raise errors.InvalidArgumentError(errors.at_user_line(
            f"{what}: x is {x.dtype.name} but y is {y.dtype.name}; convert one with jg.cast"))
    return x, y


def reciprocal_no_nan(x, name=None):
    """``1 / x``, 0 where ``x`` is 0.

    >>> jg.math.reciprocal_no_nan([2.0, 0.0])  # [0.5, 0.0]
    """
    x = _float(x, "reciprocal_no_nan")
    zero = x == 0
    return where(zero, _k(0, x), 1 / where(zero, _k(1, x), x))


def multiply_no_nan(x, y, name=None):
    """``x * y``, 0 where ``y`` is 0 even when ``x`` is inf or NaN. The gradients are
    TensorFlow's: ``multiply_no_nan(g, y)`` for x, ``x * g`` for y (0 where ``y`` is 0 and
    ``x`` is not finite, where TensorFlow's is inf or NaN)."""
    x, y = _pair(x, y, "multiply_no_nan")
    if not x.dtype.is_floating:
        raise errors.InvalidArgumentError(errors.at_user_line(
            f"multiply_no_nan: expected floating-point tensors, got {x.dtype.name}"))
    zero = y == 0
    xs = where(is_finite(x), x, zeros_like(x))
    return where(zero, y * xs, where(zero, zeros_like(x), x) * y)


def _logaddexp(a, v):
    """``log(exp(a) + exp(v))`` without overflow; -inf for two -infs (no NaN, in the value
    or the gradient)."""
    same = a == v
    d = where(same, zeros_like(a), a - where(same, zeros_like(v), v))
    return maximum(a, v) + log1p(exp(-abs(d)))


def cumulative_logsumexp(x, axis=0, exclusive=False, reverse=False, name=None):
    """``log(cumsum(exp(x)))`` along ``axis`` (``exclusive``/``reverse`` as ``cumsum``): a
    running ``logaddexp`` (a ``scan``), exact however far apart the values are; an
    exclusive sum starts at ``-inf``.

    >>> jg.math.cumulative_logsumexp([1.0, 2.0, 3.0], exclusive=True)  # [-inf, 1, 2.3133]
    """
    x = _float(x, "cumulative_logsumexp")
    if x.ndim == 0:
        raise errors.InvalidArgumentError(errors.at_user_line(
            "cumulative_logsumexp: x must have rank >= 1, got a scalar"))
    ax = normalize_axis(axis, x.ndim, "cumulative_logsumexp")[0]
    n = x.shape[ax]
    if n == 0:
        return x
    perm = [ax] + [i for i in range(x.ndim) if i != ax]
    xt = transpose(x, perm) if ax else x
    out = scan(_logaddexp, xt, reverse=reverse)
    if exclusive:
        edge = zeros_like(_getitem(out, slice(0, 1))) + _k(-np.inf, x)
        out = concat([out[1:], edge] if reverse else [edge, out[:-1]], axis=0)
    return transpose(out, list(np.argsort(perm))) if ax else out


def _vector(x, what, kinds="iu"):
    x = as_tensor(x, what)
    if x.dtype.np.kind not in kinds:
        raise errors.InvalidArgumentError(errors.at_user_line(
            f"{what}: expected an int32 or int64 tensor, got {x.dtype.name}"))
    if x.ndim != 1:
        raise errors.InvalidArgumentError(errors.at_user_line(
            f"{what}: x must be a vector (rank 1), got shape {list(x.shape)}"))
    if x.shape[0] is None:
        raise errors.InvalidArgumentError(errors.at_user_line(
            f"{what}: the length of x must be known when tracing; give it in the "
            f"input_signature"))
    return x


def invert_permutation(x, name=None):
    """``y[x[i]] = i``: the inverse of the permutation ``x`` of ``0..n-1`` (a vector of
    int32 or int64); a value out of range or repeated raises ``InvalidArgumentError``
    (inside a jg.function when it runs).

    >>> jg.math.invert_permutation([3, 4, 0, 2, 1])  # [2, 4, 3, 0, 1]
    """
    x = _vector(x, "invert_permutation")
    n = int(x.shape[0])
    msg = "invert_permutation: x must be a permutation of 0..{} (each value once)".format(
        n - 1)
    if not x._symbolic:
        v = x.numpy()
        if sorted(v.tolist()) != list(range(n)):
            raise errors.InvalidArgumentError(errors.at_user_line(f"{msg}, got {v.tolist()}"))
    else:
        inside = (x >= 0) & (x < n)
        hits = scatter_nd(expand_dims(where(inside, x, zeros_like(x)), -1),
                          cast(inside, x.dtype), [n])
        apply("assert", reduce_all(inside) & reduce_all(hits == 1),
              message=errors.at_user_line(f"{msg} (when the function ran)"))
    return scatter_nd(expand_dims(x, -1), _range(0, n, dtype=x.dtype), [n])


def _monotone(x, what, strict):
    x = as_tensor(x, what)
    if x.dtype.is_bool:
        raise errors.InvalidArgumentError(errors.at_user_line(
            f"{what}: expected a numeric tensor, got bool"))
    flat = reshape(x, [-1])
    n = flat.shape[0]
    if n is not None and n < 2:
        return as_tensor(np.array(True), what)
    a, b = _getitem(flat, slice(None, -1)), _getitem(flat, slice(1, None))
    return reduce_all(b > a if strict else b >= a)


def is_non_decreasing(x, name=None):
    """True when the elements of ``x`` (in row-major order) never decrease; True for fewer
    than two elements."""
    return _monotone(x, "is_non_decreasing", False)


def is_strictly_increasing(x, name=None):
    """True when the elements of ``x`` (in row-major order) strictly increase."""
    return _monotone(x, "is_strictly_increasing", True)


def segment_prod(data, segment_ids, name=None):
    """unsorted_segment_prod over sorted ids with ``max(segment_ids) + 1`` segments (eager;
    inside a jg.function use unsorted_segment_prod with num_segments)."""
    ids, k = _sorted_count(segment_ids, "segment_prod")
    return unsorted_segment_prod(data, ids, k)


def unsorted_segment_sqrt_n(data, segment_ids, num_segments, name=None):
    """``sum of data[i] / sqrt(count)`` over the ``i`` with ``segment_ids[i] == k`` (0 for
    an empty segment)."""
    what = "unsorted_segment_sqrt_n"
    d = _float(data, what)
    ids = as_tensor(segment_ids, what)
    k = int(_static_ints(num_segments, what, "num_segments"))
    total = unsorted_segment_sum(d, ids, k)
    count = unsorted_segment_sum(cast(ids >= 0, d.dtype), ids, k)
    count = reshape(count, [k] + [1] * (len(total.shape) - 1))
    return total / sqrt(where(count > 0, count, _k(1, count)))


def bessel_i0(x, name=None):
    """The modified Bessel function of the first kind of order 0: ``bessel_i0e(x) *
    exp(|x|)``."""
    x = _float(x, "bessel_i0")
    return apply("bessel_i0e", x) * exp(abs(x))


def bessel_i1(x, name=None):
    """The modified Bessel function of the first kind of order 1: ``bessel_i1e(x) *
    exp(|x|)``."""
    x = _float(x, "bessel_i1")
    return apply("bessel_i1e", x) * exp(abs(x))


def erfcinv(x, name=None):
    """The inverse of ``erfc`` on (0, 2): ``-ndtri(x / 2) / sqrt(2)``; +inf at 0, -inf at
    2, NaN outside [0, 2]."""
    x = _float(x, "erfcinv")
    return apply("ndtri", x * 0.5) * -0.7071067811865476


def nextafter(x1, x2, name=None):
    """The next representable value after ``x1`` in the direction of ``x2`` (float32 or
    float64, broadcast); ``x2`` where they are equal, NaN where either is NaN.

    >>> jg.math.nextafter(1.0, 2.0)  # 1.0000001 (float32)
    """
    x, y = _pair(x1, x2, "nextafter")
    if not x.dtype.is_floating or x.dtype.name not in ("float32", "float64"):
        raise errors.InvalidArgumentError(errors.at_user_line(
            f"nextafter: expected float32 or float64 tensors, got {x.dtype.name}"))
    x, y = stop_gradient(x), stop_gradient(y)
    fi = np.finfo(x.dtype.np)
    eta = float(fi.smallest_subnormal)
    u = float(fi.eps) / 2
    tiny = float(fi.tiny)
    up = y > x
    a = abs(where(is_finite(x), x, zeros_like(x)))
    # normal range: Rump et al.'s offset (an upper bound of the spacing, below twice it)
    e = a * (u * (1 + 2 * u)) + eta
    # near and below the smallest normal the grid is a multiple of eta: add steps exactly
    step_up = where((x >= -2 * tiny) & (x < 2 * tiny), _k(eta, x), _k(2 * eta, x))
    step_dn = where((x > -2 * tiny) & (x <= 2 * tiny), _k(eta, x), _k(2 * eta, x))
    small = a < 4 * tiny
    step = where(small, where(up, step_up, step_dn), e)
    xf = where(is_finite(x), x, zeros_like(x))
    out = where(up, xf + step, xf - step)
    out = where(is_inf(x), where(x > 0, _k(fi.max, x), _k(-fi.max, x)), out)
    out = where(x == y, y, out)
    return where(is_nan(x) | is_nan(y), _k(np.nan, x), out)


def scalar_mul(scalar, x, name=None):
    """``scalar * x`` where ``scalar`` has rank 0 (a Python number or a scalar tensor).

    >>> jg.math.scalar_mul(2.0, [1.0, 2.0])  # [2.0, 4.0]
    """
    x = as_tensor(x, "scalar_mul")
    s = as_tensor(scalar, "scalar_mul", x.dtype)
    if s.ndim != 0:
        raise errors.InvalidArgumentError(errors.at_user_line(
            f"scalar_mul: scalar must have rank 0, got shape {list(s.shape)}; use "
            f"jg.multiply for elementwise products"))
    return s * x


def accumulate_n(inputs, shape=None, tensor_dtype=None, name=None):
    """The sum of a list of tensors of one shape and dtype (``add_n``); ``shape`` and
    ``tensor_dtype``, when given, must match them."""
    if not isinstance(inputs, (list, tuple)) or not inputs:
        raise errors.InvalidArgumentError(
            "accumulate_n: inputs must be a non-empty list of tensors")
    xs = [as_tensor(t, "accumulate_n") for t in inputs]
    if tensor_dtype is not None and xs[0].dtype != _dt.as_dtype(tensor_dtype):
        raise errors.InvalidArgumentError(
            f"accumulate_n: the inputs are {xs[0].dtype.name} but tensor_dtype is "
            f"{_dt.as_dtype(tensor_dtype).name}")
    if shape is not None:
        want = list(shape.as_list() if hasattr(shape, "as_list") else shape)
        if len(want) != xs[0].ndim or any(
                w is not None and h is not None and int(w) != h
                for w, h in zip(want, xs[0].shape)):
            raise errors.InvalidArgumentError(
                f"accumulate_n: the inputs have shape {list(xs[0].shape)} but shape is {want}")
    return add_n(xs)


__all__ = ["softmax", "log_softmax", "reciprocal_no_nan", "multiply_no_nan", "cumulative_logsumexp",
           "invert_permutation", "is_non_decreasing", "is_strictly_increasing",
           "zero_fraction", "segment_prod", "unsorted_segment_sqrt_n", "bessel_i0", "bessel_i1",
           "erfcinv", "nextafter", "scalar_mul", "accumulate_n"]
