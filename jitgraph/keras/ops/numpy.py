"""keras.ops.numpy on jitgraph: NumPy-named functions with Keras' argument conventions
(``axis``/``keepdims``, ``transpose(x, axes)``, ``split(x, indices_or_sections)``,
``clip(x, x_min, x_max)``, ``argmax(x, axis=None)``, ...), each a composition of jg ops, so
they run eagerly and inside ``jg.function`` and are differentiable where the math is.

>>> from jitgraph.keras import ops
>>> ops.mean(ops.square(x), axis=-1, keepdims=True)
"""

import builtins
import math as _pymath

import numpy as np

import jitgraph as jg

from . import numpy_arrays as _arrays
from ._common import axes, floating, iota, norm_axis, promote, static_dim, static_shape, tensor
from .numpy_arrays import argsort, nonzero

# --- elementwise, one argument ------------------------------------------------------------


def _unary_float(jg_fn, name):
    def fn(x):
        return jg_fn(floating(x))
    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"Elementwise {name}; int and bool inputs become float32."
    return fn


for _name, _fn in {
    "sqrt": jg.sqrt, "exp": jg.exp, "expm1": jg.expm1, "log": jg.log, "log1p": jg.log1p,
    "sin": jg.sin, "cos": jg.cos, "tan": jg.tan, "sinh": jg.sinh, "cosh": jg.cosh,
    "tanh": jg.tanh, "arcsin": jg.asin, "arccos": jg.acos, "arctan": jg.atan,
    "arcsinh": jg.asinh, "arccosh": jg.acosh, "arctanh": jg.atanh, "reciprocal": jg.reciprocal,
}.items():
    globals()[_name] = _unary_float(_fn, _name)


def abs(x):  # noqa: A001 - keras.ops' name
    return jg.abs(tensor(x))


absolute = abs


def fabs(x):
    return jg.abs(floating(x))


def negative(x):
    return jg.negative(tensor(x))


def square(x):
    x = tensor(x)
    return jg.square(jg.cast(x, jg.int32) if x.dtype == jg.bool else x)


def sign(x):
    return jg.sign(tensor(x))


def _keep_int(fn):
    def apply(x):
        x = tensor(x)
        return x if x.dtype.is_integer or x.dtype.is_bool else fn(x)
    return apply


floor = _keep_int(jg.floor)
ceil = _keep_int(jg.ceil)


def trunc(x):
    x = tensor(x)
    if not x.dtype.is_floating:
        return x
    return jg.where(x < 0, jg.ceil(x), jg.floor(x))


def round(x, decimals=0):  # noqa: A001
    x = tensor(x)
    if decimals == 0:
        return jg.round(x) if x.dtype.is_floating else x
    if not x.dtype.is_floating:
        f = 10 ** (-decimals)
        return jg.cast(jg.round(jg.cast(x, jg.float32) / f) * f, x.dtype)
    f = 10.0 ** decimals
    return jg.round(x * f) / f


def log2(x):
    x = floating(x)
    return jg.log(x) / _pymath.log(2.0)


def log10(x):
    x = floating(x)
    return jg.log(x) / _pymath.log(10.0)


def exp2(x):
    x = floating(x)
    return jg.exp(x * _pymath.log(2.0))


def cbrt(x):
    x = floating(x)
    return jg.sign(x) * jg.pow(jg.abs(x), 1.0 / 3.0)


def deg2rad(x):
    return floating(x) * (_pymath.pi / 180.0)


def rad2deg(x):
    return floating(x) * (180.0 / _pymath.pi)


def sinc(x):
    x = floating(x)
    px = _pymath.pi * x
    safe = jg.where(jg.equal(x, 0.0), jg.ones_like(x), px)
    return jg.where(jg.equal(x, 0.0), jg.ones_like(x), jg.sin(safe) / safe)


def signbit(x):
    x = tensor(x)
    if x.dtype.is_bool:
        return jg.zeros_like(x)
    if not x.dtype.is_floating:
        return x < 0
    # -0.0 has its sign bit set: 1 / -0.0 is -inf.
    return jg.logical_or(x < 0, jg.logical_and(jg.equal(x, 0.0), jg.reciprocal(x) < 0))


def isnan(x):
    x = tensor(x)
    return jg.is_nan(x) if x.dtype.is_floating else jg.zeros_like(x, dtype=jg.bool)


def isinf(x):
    x = tensor(x)
    return jg.is_inf(x) if x.dtype.is_floating else jg.zeros_like(x, dtype=jg.bool)


def isfinite(x):
    x = tensor(x)
    return jg.is_finite(x) if x.dtype.is_floating else jg.ones_like(x, dtype=jg.bool)


def isposinf(x):
    x = tensor(x)
    return jg.logical_and(isinf(x), x > 0) if x.dtype.is_floating else isinf(x)


def isneginf(x):
    x = tensor(x)
    return jg.logical_and(isinf(x), x < 0) if x.dtype.is_floating else isinf(x)


def isreal(x):
    return jg.ones_like(tensor(x), dtype=jg.bool)


def real(x):
    return tensor(x)


def imag(x):
    return jg.zeros_like(tensor(x))


def conj(x):
    return tensor(x)


conjugate = conj


def logical_not(x):
    return jg.logical_not(tensor(x, jg.bool))


def nan_to_num(x, nan=0.0, posinf=None, neginf=None):
    x = tensor(x)
    if not x.dtype.is_floating:
        return x
    big = float(x.dtype.max)
    x = jg.where(jg.is_nan(x), jg.fill(jg.shape(x), jg.cast(nan, x.dtype)), x)
    pos = big if posinf is None else posinf
    neg = -big if neginf is None else neginf
    x = jg.where(jg.logical_and(jg.is_inf(x), x > 0), jg.fill(jg.shape(x), jg.cast(pos, x.dtype)),
                 x)
    return jg.where(jg.logical_and(jg.is_inf(x), x < 0), jg.fill(jg.shape(x),
                                                                    jg.cast(neg, x.dtype)), x)


# --- elementwise, two arguments -----------------------------------------------------------


def _binary(jg_fn, name, to_float=False):
    def fn(x1, x2):
        a, b = promote(x1, x2)
        if to_float and not a.dtype.is_floating:
            a, b = jg.cast(a, jg.float32), jg.cast(b, jg.float32)
        return jg_fn(a, b)
    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"Elementwise {name} with broadcasting and Keras' dtype promotion."
    return fn


for _name, _fn, _flt in (
    ("add", jg.add, False), ("subtract", jg.subtract, False), ("multiply", jg.multiply, False),
    ("divide", jg.truediv, True), ("true_divide", jg.truediv, True),
    ("divide_no_nan", jg.divide_no_nan, True), ("maximum", jg.maximum, False),
    ("minimum", jg.minimum, False), ("floor_divide", jg.floordiv, False),
    ("mod", jg.floormod, False), ("fmod", jg.truncatemod, False),
    ("arctan2", jg.atan2, True), ("nextafter", jg.math.nextafter, True),
    ("equal", jg.equal, False), ("not_equal", jg.not_equal, False), ("less", jg.less, False),
    ("less_equal", jg.less_equal, False), ("greater", jg.greater, False),
    ("greater_equal", jg.greater_equal, False),
):
    globals()[_name] = _binary(_fn, _name, _flt)


def power(x1, x2):
    a, b = promote(x1, x2)
    return jg.pow(a, b)


def _logical(jg_fn, name):
    def fn(x1, x2):
        return jg_fn(tensor(x1, jg.bool), tensor(x2, jg.bool))
    fn.__name__ = fn.__qualname__ = name
    return fn


logical_and = _logical(jg.logical_and, "logical_and")
logical_or = _logical(jg.logical_or, "logical_or")
logical_xor = _logical(jg.logical_xor, "logical_xor")


def fmax(x1, x2):
    a, b = promote(x1, x2)
    if not a.dtype.is_floating:
        return jg.maximum(a, b)
    return jg.where(jg.is_nan(a), b, jg.where(jg.is_nan(b), a, jg.maximum(a, b)))


def fmin(x1, x2):
    a, b = promote(x1, x2)
    if not a.dtype.is_floating:
        return jg.minimum(a, b)
    return jg.where(jg.is_nan(a), b, jg.where(jg.is_nan(b), a, jg.minimum(a, b)))


def hypot(x1, x2):
    a, b = (floating(t) for t in promote(x1, x2))
    return jg.sqrt(a * a + b * b)


def logaddexp(x1, x2):
    a, b = promote(x1, x2)
    a, b = floating(a), floating(b)
    m = jg.maximum(a, b)
    return m + jg.log1p(jg.exp(-jg.abs(a - b)))


def logaddexp2(x1, x2):
    a, b = promote(x1, x2)
    a, b = floating(a), floating(b)
    m = jg.maximum(a, b)
    return m + jg.log1p(jg.pow(jg.cast(2.0, a.dtype), -jg.abs(a - b))) / _pymath.log(2.0)


def heaviside(x1, x2):
    a, b = promote(x1, x2)
    a, b = floating(a), floating(b)
    b = jg.broadcast_to(b, jg.shape(a + b))
    a = jg.broadcast_to(a, jg.shape(b))
    return jg.where(a < 0, jg.zeros_like(a), jg.where(a > 0, jg.ones_like(a), b))


def ldexp(x1, x2):
    x1 = floating(x1)
    return x1 * jg.pow(jg.cast(2.0, x1.dtype), jg.cast(tensor(x2), x1.dtype))


def isclose(x1, x2, rtol=1e-5, atol=1e-8, equal_nan=False):
    a, b = promote(x1, x2)
    a, b = floating(a), floating(b)
    close = jg.less_equal(jg.abs(a - b), atol + rtol * jg.abs(b))
    close = jg.logical_or(close, jg.equal(a, b))
    if equal_nan:
        close = jg.logical_or(close, jg.logical_and(jg.is_nan(a), jg.is_nan(b)))
    return close


def allclose(x1, x2, rtol=1e-5, atol=1e-8, equal_nan=False):
    return jg.reduce_all(isclose(x1, x2, rtol, atol, equal_nan))


def clip(x, x_min, x_max):
    x = tensor(x)
    if x.dtype == jg.bool:
        x = jg.cast(x, jg.int32)
    return jg.minimum(jg.maximum(x, tensor(x_min, x.dtype)), tensor(x_max, x.dtype))


def where(condition, x1=None, x2=None):
    c = tensor(condition, jg.bool)
    if x1 is None and x2 is None:
        return nonzero(c)
    if x1 is None or x2 is None:
        raise jg.errors.InvalidArgumentError(
            "jg.keras.ops.where: give both x1 and x2, or neither (to get the indices of the "
            "true entries)")
    a, b = promote(x1, x2)
    return jg.where(c, a, b)


def select(condlist, choicelist, default=0):
    out = tensor(default, tensor(choicelist[0]).dtype) if not jg.is_tensor(default) else default
    for c, v in reversed(list(zip(condlist, choicelist))):
        out = where(c, v, out)
    return out


# --- reductions ---------------------------------------------------------------------------


def _reducer(jg_fn, name, to_float=False, bool_to_int=False):
    def fn(x, axis=None, keepdims=False):
        x = floating(x) if to_float else tensor(x)
        if bool_to_int and x.dtype == jg.bool:
            x = jg.cast(x, jg.int32)
        return jg_fn(x, axis=axes(axis), keepdims=keepdims)
    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"{name} over ``axis`` (None: all axes), keeping reduced axes if ``keepdims``."
    return fn


sum = _reducer(jg.reduce_sum, "sum", bool_to_int=True)  # noqa: A001
prod = _reducer(jg.reduce_prod, "prod", bool_to_int=True)
mean = _reducer(jg.reduce_mean, "mean", to_float=True)
std = _reducer(jg.reduce_std, "std", to_float=True)
var = _reducer(jg.reduce_variance, "var", to_float=True)


def _bool_reducer(jg_fn, name):
    def fn(x, axis=None, keepdims=False):
        return jg_fn(tensor(x, jg.bool), axis=axes(axis), keepdims=keepdims)
    fn.__name__ = fn.__qualname__ = name
    return fn


all = _bool_reducer(jg.reduce_all, "all")  # noqa: A001
any = _bool_reducer(jg.reduce_any, "any")  # noqa: A001


def max(x, axis=None, keepdims=False, initial=None):  # noqa: A001
    x = tensor(x)
    out = jg.reduce_max(x, axis=axes(axis), keepdims=keepdims)
    return out if initial is None else jg.maximum(out, tensor(initial, out.dtype))


def min(x, axis=None, keepdims=False, initial=None):  # noqa: A001
    x = tensor(x)
    out = jg.reduce_min(x, axis=axes(axis), keepdims=keepdims)
    return out if initial is None else jg.minimum(out, tensor(initial, out.dtype))


amax = max
amin = min


def ptp(x, axis=None, keepdims=False):
    return max(x, axis, keepdims) - min(x, axis, keepdims)


def _nan_reducer(reduce, fill, name):
    def fn(x, axis=None, keepdims=False):
        x = tensor(x)
        if x.dtype.is_floating:
            x = jg.where(jg.is_nan(x), jg.fill(jg.shape(x), jg.cast(fill(x.dtype), x.dtype)), x)
        return reduce(x, axis=axis, keepdims=keepdims)
    fn.__name__ = fn.__qualname__ = name
    return fn


nansum = _nan_reducer(sum, lambda d: 0, "nansum")
nanprod = _nan_reducer(prod, lambda d: 1, "nanprod")
nanmax = _nan_reducer(max, lambda d: -np.inf, "nanmax")
nanmin = _nan_reducer(min, lambda d: np.inf, "nanmin")


def nanmean(x, axis=None, keepdims=False):
    x = floating(x)
    ok = jg.logical_not(jg.is_nan(x))
    total = jg.reduce_sum(jg.where(ok, x, jg.zeros_like(x)), axis=axes(axis), keepdims=keepdims)
    count = jg.reduce_sum(jg.cast(ok, x.dtype), axis=axes(axis), keepdims=keepdims)
    return total / count


def average(x, axis=None, weights=None):
    x = floating(x)
    if weights is None:
        return jg.reduce_mean(x, axis=axes(axis))
    w = tensor(weights, x.dtype)
    if axis is not None and w.shape.rank == 1 and x.shape.rank > 1:
        shape = [1] * x.shape.rank
        shape[norm_axis(axis, x.shape.rank)] = -1
        w = jg.reshape(w, shape)
    w = jg.broadcast_to(w, jg.shape(x))
    return jg.reduce_sum(x * w, axis=axes(axis)) / jg.reduce_sum(w, axis=axes(axis))


def _arg(jg_fn):
    def fn(x, axis=None, keepdims=False):
        x = tensor(x)
        if axis is None:
            out = jg_fn(jg.reshape(x, [-1]), axis=0, output_type=jg.int32)
            return jg.reshape(out, [1] * x.shape.rank) if keepdims else out
        out = jg_fn(x, axis=int(axis), output_type=jg.int32)
        return jg.expand_dims(out, int(axis)) if keepdims else out
    return fn


argmax = _arg(jg.argmax)
argmin = _arg(jg.argmin)


def count_nonzero(x, axis=None):
    return jg.count_nonzero(tensor(x), axis=axes(axis), dtype=jg.int32)


def _cumulative(jg_fn, name):
    def fn(x, axis=None, dtype=None):
        x = tensor(x, dtype)
        if x.dtype == jg.bool:
            x = jg.cast(x, jg.int32)
        if axis is None:
            return jg_fn(jg.reshape(x, [-1]), axis=0)
        return jg_fn(x, axis=int(axis))
    fn.__name__ = fn.__qualname__ = name
    return fn


cumsum = _cumulative(jg.cumsum, "cumsum")
cumprod = _cumulative(jg.math.cumprod, "cumprod")


def quantile(x, q, axis=None, method="linear", keepdims=False):
    """Quantiles ``q`` (in [0, 1]) along ``axis``; methods linear, lower, higher, midpoint,
    nearest, as NumPy."""
    x = floating(x)
    ndim = x.shape.rank
    if axis is None:
        flat = jg.sort(jg.reshape(x, [-1]), axis=0)
        work_axis = 0
    elif isinstance(axis, int):  # one axis: move it last, the other dims may be unknown
        ax = [norm_axis(axis, ndim)]
        rest = [d for d in range(ndim) if d != ax[0]]
        flat = jg.sort(jg.transpose(x, rest + ax), axis=-1)
        work_axis = len(rest)
    else:
        ax = [norm_axis(a, ndim) for a in ([axis] if isinstance(axis, int) else axis)]
        rest = [d for d in range(ndim) if d not in ax]
        moved = jg.transpose(x, rest + ax)
        shape = static_shape(moved, "quantile")
        flat = jg.sort(jg.reshape(moved, list(shape[:len(rest)]) + [-1]), axis=-1)
        work_axis = len(rest)
    n = static_dim(flat, work_axis, "quantile")
    qt = tensor(q, x.dtype)
    pos = qt * (n - 1)
    lo = jg.cast(jg.floor(pos), jg.int32)
    hi = jg.minimum(lo + 1, n - 1)
    if method == "lower":
        hi = lo
    elif method == "higher":
        lo = hi = jg.cast(jg.ceil(pos), jg.int32)
    elif method == "nearest":
        lo = hi = jg.cast(jg.round(pos), jg.int32)
    elif method not in ("linear", "midpoint"):
        raise jg.errors.InvalidArgumentError(
            f"jg.keras.ops.quantile: method={method!r} is not one of 'linear', 'lower', "
            "'higher', 'midpoint', 'nearest'")
    a = jg.gather(flat, lo, axis=work_axis)
    b = jg.gather(flat, hi, axis=work_axis)
    if method == "midpoint":
        frac = jg.where(jg.equal(lo, hi), jg.zeros_like(pos), jg.fill(jg.shape(pos),
                                                                       jg.cast(0.5, x.dtype)))
    elif method == "linear":
        frac = pos - jg.cast(lo, x.dtype)
    else:
        frac = jg.zeros_like(pos)
    if qt.shape.rank and work_axis:
        # gather put q's axis at work_axis; NumPy puts it first.
        perm = [work_axis] + [d for d in range(work_axis + 1) if d != work_axis]
        a, b = jg.transpose(a, perm), jg.transpose(b, perm)
        frac = jg.reshape(frac, [-1] + [1] * work_axis)
    out = a + (b - a) * frac
    if keepdims:
        lead = [-1] if qt.shape.rank else []
        keep = [1 if (axis is None or d in ax) else s for d, s in enumerate(x.shape.as_list())]
        out = jg.reshape(out, lead + keep) if builtins.all(s is not None for s in keep) else out
    return out


def percentile(x, q, axis=None, method="linear", keepdims=False):
    return quantile(x, tensor(q, floating(x).dtype) / 100.0, axis, method, keepdims)


def median(x, axis=None, keepdims=False):
    return quantile(x, 0.5, axis=axis, keepdims=keepdims)


# --- NaN-aware, set and number-theory helpers ---------------------------------------------


def _nan_to(x, value):
    x = tensor(x)
    if not x.dtype.is_floating:
        return x
    return jg.where(jg.is_nan(x), jg.fill(jg.shape(x), jg.cast(value, x.dtype)), x)


def nanvar(x, axis=None, keepdims=False):
    x = floating(x)
    m = nanmean(x, axis=axis, keepdims=True)
    return nanmean(jg.square(x - m), axis=axis, keepdims=keepdims)


def nanstd(x, axis=None, keepdims=False):
    return jg.sqrt(nanvar(x, axis=axis, keepdims=keepdims))


def nanargmax(x, axis=None, keepdims=False):
    return argmax(_nan_to(x, -np.inf), axis=axis, keepdims=keepdims)


def nanargmin(x, axis=None, keepdims=False):
    return argmin(_nan_to(x, np.inf), axis=axis, keepdims=keepdims)


def nancumsum(x, axis=None, dtype=None):
    return cumsum(_nan_to(x, 0), axis=axis, dtype=dtype)


def nancumprod(x, axis=None, dtype=None):
    return cumprod(_nan_to(x, 1), axis=axis, dtype=dtype)


def argpartition(x, kth, axis=-1):
    """Indices that partition ``x`` around ``kth``; a full stable argsort is one such
    partition (NumPy leaves the order within each side unspecified)."""
    return argsort(x, axis=axis)


def isin(x1, x2, assume_unique=False, invert=False):
    a, b = promote(x1, x2)
    hit = jg.reduce_any(jg.equal(jg.expand_dims(a, -1), jg.reshape(b, [-1])), axis=-1)
    return jg.logical_not(hit) if invert else hit


def angle(x):
    x = floating(x)
    return jg.where(x < 0, jg.fill(jg.shape(x), jg.cast(_pymath.pi, x.dtype)), jg.zeros_like(x))


def gcd(x1, x2):
    """Elementwise greatest common divisor of integers (Euclid's algorithm as a while_loop)."""
    a, b = promote(x1, x2)
    a, b = jg.abs(a), jg.abs(b)
    shape = jg.broadcast_dynamic_shape(jg.shape(a), jg.shape(b))
    a, b = jg.broadcast_to(a, shape), jg.broadcast_to(b, shape)

    def body(a, b):
        nz = jg.not_equal(b, 0)
        safe = jg.where(nz, b, jg.ones_like(b))
        return jg.where(nz, b, a), jg.where(nz, jg.floormod(a, safe), jg.zeros_like(b))
    a, _ = jg.while_loop(lambda a, b: jg.reduce_any(jg.not_equal(b, 0)), body, (a, b))
    return a


def lcm(x1, x2):
    a, b = promote(x1, x2)
    g = gcd(a, b)
    safe = jg.where(jg.equal(g, 0), jg.ones_like(g), g)
    return jg.where(jg.equal(g, 0), jg.zeros_like(g), jg.abs(a // safe * b))


def i0(x):
    return jg.math.bessel_i0(floating(x))


def histogram(x, bins=10, range=None):  # noqa: A002 - NumPy's name
    """``(counts, edges)`` of ``x`` flattened into ``bins`` equal bins over ``range`` (default
    the data's min and max); the last bin includes its right edge, as NumPy."""
    x = floating(x)
    flat = jg.reshape(x, [-1])
    if range is None:
        lo, hi = jg.reduce_min(flat), jg.reduce_max(flat)
    else:
        lo, hi = tensor(range[0], x.dtype), tensor(range[1], x.dtype)
    inside = jg.logical_and(flat >= lo, flat <= hi)
    width = (hi - lo) / bins
    idx = jg.cast(jg.floor((flat - lo) / jg.where(width > 0, width, jg.ones_like(width))),
                  jg.int32)
    idx = jg.clip_by_value(idx, 0, bins - 1)
    counts = jg.math.unsorted_segment_sum(jg.cast(inside, x.dtype), idx, bins)  # as keras.ops
    edges = lo + iota(0, bins + 1, dtype=x.dtype) * width
    return counts, edges


def cdist(x, y):
    """Euclidean distances between the rows of ``x`` (..., N, D) and ``y`` (..., M, D)."""
    a, b = promote(x, y)
    a, b = floating(a), floating(b)
    d = jg.expand_dims(a, -2) - jg.expand_dims(b, -3)
    return jg.sqrt(jg.reduce_sum(jg.square(d), axis=-1))


# keras.ops.numpy is one namespace: the functions of numpy_arrays.py belong to it too.
globals().update({n: v for n, v in vars(_arrays).items()
                  if callable(v) and not n.startswith("_")
                  and getattr(v, "__module__", None) == _arrays.__name__})


def unique(x, sorted=True, return_index=False, return_inverse=False, return_counts=False,  # noqa: A002
           axis=None, size=None, fill_value=None):
    """The unique elements of ``x`` flattened (sorted, or in order of first occurrence), and
    optionally each one's first index, the inverse map (x's shape) and the counts. With
    ``size`` the outputs have that length (padded with ``fill_value``, or truncated) and run
    inside a jg.function; without it their length depends on the values, so eagerly only."""
    if axis is not None:
        raise jg.errors.UnimplementedError(
            "jg.keras.ops.unique: axis is not supported (only the flattened tensor); reshape "
            "the rows into single values first, or use NumPy's np.unique(x, axis=...)")
    x = tensor(x)
    flat = jg.reshape(x, [-1])
    n = static_dim(flat, 0, "unique")
    order = jg.cast(jg.argsort(flat, axis=0, stable=True), jg.int32)
    s = jg.gather(flat, order)
    first = jg.concat([jg.ones([1], jg.bool), jg.not_equal(s[1:], s[:-1])], axis=0)
    group = jg.cumsum(jg.cast(first, jg.int32), axis=0) - 1          # per sorted element
    ones = jg.ones_like(group)
    counts = jg.math.unsorted_segment_sum(ones, group, n)
    index = jg.math.unsorted_segment_min(order, group, n)
    values = jg.math.unsorted_segment_max(s, group, n)
    present = counts > 0
    if not sorted:  # order of first occurrence; absent slots (index = n) go last
        key = jg.where(present, index, jg.fill([n], jg.cast(n, jg.int32)))
        perm = jg.cast(jg.argsort(key, axis=0, stable=True), jg.int32)
        rank = jg.scatter_nd(jg.expand_dims(perm, 1), iota(0, n), [n])
        values, index, counts, present = (jg.gather(t, perm)
                                          for t in (values, index, counts, present))
        group = jg.gather(rank, group)
    if size is None:
        try:
            size = int(jg.reduce_sum(jg.cast(present, jg.int32)))
        except jg.errors.TracingError:
            raise jg.errors.UnimplementedError(
                "jg.keras.ops.unique: without size, the number of unique values depends on "
                "the values, which a jg.function does not know when tracing; pass size= (and "
                "fill_value=) for a fixed-length result") from None
    k = int(size)
    if k > n:
        pad = k - n
        values = jg.concat([values, jg.zeros([pad], values.dtype)], axis=0)
        index = jg.concat([index, jg.zeros([pad], jg.int32)], axis=0)
        counts = jg.concat([counts, jg.zeros([pad], jg.int32)], axis=0)
        present = jg.concat([present, jg.zeros([pad], jg.bool)], axis=0)
    values, index, counts, present = values[:k], index[:k], counts[:k], present[:k]
    fill = tensor(0 if fill_value is None else fill_value, values.dtype)
    values = jg.where(present, values, jg.fill([k], fill))
    index = jg.where(present, index, jg.zeros_like(index))
    out = [values]
    if return_index:
        out.append(index)
    if return_inverse:
        inverse = jg.scatter_nd(jg.expand_dims(order, 1), group, [n])
        out.append(jg.reshape(inverse, jg.shape(x)) if x.shape.rank != 1 else inverse)
    if return_counts:
        out.append(counts)
    return out[0] if len(out) == 1 else tuple(out)


def nanquantile(x, q, axis=None, method="linear", keepdims=False):
    """quantile ignoring NaNs (an all-NaN slice gives NaN); ``axis`` None or one int."""
    if method not in ("linear", "lower", "higher", "midpoint", "nearest"):
        raise jg.errors.InvalidArgumentError(
            f"jg.keras.ops.nanquantile: method={method!r} is not one of 'linear', 'lower', "
            "'higher', 'midpoint', 'nearest'")
    if axis is not None and not isinstance(axis, (int, np.integer)):
        raise jg.errors.UnimplementedError(
            "jg.keras.ops.nanquantile: axis must be None or one int; move the axes together "
            "with ops.reshape first")
    x = floating(x)
    ndim = x.shape.rank
    rows = jg.reshape(x, [1, -1]) if axis is None else _arrays.moveaxis(x, int(axis), -1)
    ok = jg.logical_not(jg.is_nan(rows))
    count = jg.reduce_sum(jg.cast(ok, x.dtype), axis=-1, keepdims=True)
    srt = jg.sort(jg.where(ok, rows, jg.fill(jg.shape(rows), jg.cast(np.inf, x.dtype))), axis=-1)
    qt = tensor(q, x.dtype)
    pos = jg.reshape(qt, [-1]) * jg.maximum(count - 1.0, 0.0)        # (..., nq)
    last = jg.maximum(count - 1.0, 0.0)
    lo, hi = jg.floor(pos), jg.minimum(jg.floor(pos) + 1.0, last)
    if method == "lower":
        hi = lo
    elif method == "higher":
        lo = hi = jg.ceil(pos)
    elif method == "nearest":
        lo = hi = jg.round(pos)
    a = _arrays.take_along_axis(srt, jg.cast(lo, jg.int32), axis=-1)
    b = _arrays.take_along_axis(srt, jg.cast(hi, jg.int32), axis=-1)
    if method == "linear":
        frac = pos - lo
    elif method == "midpoint":
        frac = jg.where(jg.equal(lo, hi), jg.zeros_like(pos), jg.fill(jg.shape(pos),
                                                                       jg.cast(0.5, x.dtype)))
    else:
        frac = jg.zeros_like(pos)
    out = jg.where(count > 0, a + (b - a) * frac,
                   jg.fill(jg.shape(pos), jg.cast(np.nan, x.dtype)))   # (..., nq)
    if axis is None:
        out = out[0]
        if keepdims:
            out = jg.reshape(out, [-1] + [1] * ndim)
    elif keepdims:
        out = jg.expand_dims(out, norm_axis(int(axis), ndim))
        out = _arrays.moveaxis(out, -1, 0)
    else:
        out = _arrays.moveaxis(out, -1, 0)
    return out[0] if qt.shape.rank == 0 else out


def nanpercentile(x, q, axis=None, method="linear", keepdims=False):
    return nanquantile(x, tensor(q, floating(x).dtype) / 100.0, axis, method, keepdims)


def nanmedian(x, axis=None, keepdims=False):
    return nanquantile(x, 0.5, axis=axis, keepdims=keepdims)
