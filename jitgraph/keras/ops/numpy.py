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

from ._common import axes, floating, iota, norm_axis, promote, static_shape, tensor

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
    a, b = promote(floating(x1) if not isinstance(x1, float) else x1, x2)
    a, b = floating(a), floating(b)
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
    shape = jg.broadcast_dynamic_shape(jg.broadcast_dynamic_shape(jg.shape(c), jg.shape(a)),
                                       jg.shape(b))
    return jg.where(jg.broadcast_to(c, shape), jg.broadcast_to(a, shape),
                    jg.broadcast_to(b, shape))


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
    else:
        ax = [norm_axis(a, ndim) for a in ([axis] if isinstance(axis, int) else axis)]
        rest = [d for d in range(ndim) if d not in ax]
        moved = jg.transpose(x, rest + ax)
        shape = static_shape(moved, "quantile")
        flat = jg.sort(jg.reshape(moved, list(shape[:len(rest)]) + [-1]), axis=-1)
        work_axis = len(rest)
    n = static_shape(flat, "quantile")[work_axis]
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


# --- creation -----------------------------------------------------------------------------


def _dtype(dtype, default=jg.float32):
    return default if dtype is None else jg.as_dtype(dtype)


def _shape_arg(shape):
    return [shape] if isinstance(shape, (int, np.integer)) else shape


def zeros(shape, dtype=None):
    return jg.zeros(_shape_arg(shape), dtype=_dtype(dtype))


def ones(shape, dtype=None):
    return jg.ones(_shape_arg(shape), dtype=_dtype(dtype))


empty = zeros


def full(shape, fill_value, dtype=None):
    v = tensor(fill_value, dtype)
    return jg.fill(_shape_arg(shape), v)


def zeros_like(x, dtype=None):
    x = tensor(x)
    return jg.zeros_like(x, dtype=_dtype(dtype, x.dtype))


def ones_like(x, dtype=None):
    x = tensor(x)
    return jg.ones_like(x, dtype=_dtype(dtype, x.dtype))


empty_like = zeros_like


def full_like(x, fill_value, dtype=None):
    x = tensor(x)
    return jg.fill(jg.shape(x), tensor(fill_value, _dtype(dtype, x.dtype)))


def array(x, dtype=None):
    return tensor(x, dtype)


def copy(x):
    return jg.identity(tensor(x))


def arange(start, stop=None, step=1, dtype=None):
    if stop is None:
        start, stop = 0, start
    if dtype is None:
        vals = (start, stop, step)
        dtype = jg.float32 if builtins.any(isinstance(v, float) for v in vals) else jg.int32
    return iota(start, stop, step, dtype=jg.as_dtype(dtype))


def linspace(start, stop, num=50, endpoint=True, retstep=False, dtype=None, axis=0):
    start, stop = floating(start), floating(stop)
    n = int(num)
    div = (n - 1) if endpoint else n
    step = (stop - start) / builtins.max(div, 1)
    t = iota(0, n, dtype=start.dtype)
    shape = [-1] + [1] * start.shape.rank
    out = jg.expand_dims(start, 0) + jg.reshape(t, shape) * jg.expand_dims(step, 0)
    if endpoint and n > 1:
        last = jg.expand_dims(stop, 0) + jg.zeros_like(out[-1:])
        out = jg.concat([out[:-1], last], axis=0)
    if axis != 0:
        out = moveaxis(out, 0, axis)
    if dtype is not None:
        out = jg.cast(out, jg.as_dtype(dtype))
    return (out, step) if retstep else out


def logspace(start, stop, num=50, endpoint=True, base=10, dtype=None, axis=0):
    out = jg.pow(jg.cast(float(base), jg.float32),
                 linspace(start, stop, num, endpoint, axis=axis))
    return out if dtype is None else jg.cast(out, jg.as_dtype(dtype))


def geomspace(start, stop, num=50, endpoint=True, dtype=None, axis=0):
    start, stop = floating(start), floating(stop)
    out = jg.exp(linspace(jg.log(start), jg.log(stop), num, endpoint, axis=axis))
    return out if dtype is None else jg.cast(out, jg.as_dtype(dtype))


def eye(N, M=None, k=0, dtype=None):  # noqa: N803 - keras.ops' names
    M = N if M is None else M
    dtype = _dtype(dtype)
    rows = jg.reshape(iota(0, N), [-1, 1])
    cols = jg.reshape(iota(0, M), [1, -1])
    return jg.cast(jg.equal(cols - rows, k), dtype)


def identity(n, dtype=None):
    return eye(n, dtype=dtype)


def tri(N, M=None, k=0, dtype=None):  # noqa: N803
    M = N if M is None else M
    rows = jg.reshape(iota(0, N), [-1, 1])
    cols = jg.reshape(iota(0, M), [1, -1])
    return jg.cast(jg.less_equal(cols - rows, k), _dtype(dtype))


def _band(x, k, lower):
    x = tensor(x)
    n, m = x.shape.as_list()[-2:]
    if n is None or m is None:
        raise jg.errors.UnimplementedError(
            "jg.keras.ops.tril/triu: the last two dims must be known when tracing")
    mask = tri(n, m, k if lower else k - 1, dtype=jg.bool)
    if not lower:
        mask = jg.logical_not(mask)
    return jg.where(jg.broadcast_to(mask, jg.shape(x)), x, jg.zeros_like(x))


def tril(x, k=0):
    return _band(x, k, lower=True)


def triu(x, k=0):
    return _band(x, k, lower=False)


def meshgrid(*x, indexing="xy"):
    return jg.meshgrid(*[tensor(v) for v in x], indexing=indexing)


def vander(x, N=None, increasing=False):  # noqa: N803
    x = tensor(x)
    n = static_shape(x, "vander")[0] if N is None else N
    powers = iota(0, n, dtype=x.dtype)
    if not increasing:
        powers = jg.reverse(powers, [0])
    return jg.pow(jg.expand_dims(x, 1), jg.expand_dims(powers, 0))


# --- shape and data movement --------------------------------------------------------------


def ndim(x):
    return tensor(x).shape.rank


def size(x):
    return jg.size(tensor(x))


def reshape(x, newshape):
    return jg.reshape(tensor(x), _shape_arg(newshape))


def ravel(x):
    return jg.reshape(tensor(x), [-1])


def transpose(x, axes=None):
    return jg.transpose(tensor(x), perm=None if axes is None else list(axes))


def moveaxis(x, source, destination):
    x = tensor(x)
    n = x.shape.rank
    src = [norm_axis(a, n) for a in ([source] if isinstance(source, int) else source)]
    dst = [norm_axis(a, n) for a in ([destination] if isinstance(destination, int)
                                     else destination)]
    perm = [d for d in range(n) if d not in src]
    for d, s in sorted(zip(dst, src)):
        perm.insert(d, s)
    return jg.transpose(x, perm)


def swapaxes(x, axis1, axis2):
    x = tensor(x)
    perm = list(range(x.shape.rank))
    a, b = norm_axis(axis1, len(perm)), norm_axis(axis2, len(perm))
    perm[a], perm[b] = perm[b], perm[a]
    return jg.transpose(x, perm)


def expand_dims(x, axis):
    x = tensor(x)
    if isinstance(axis, (int, np.integer)):
        return jg.expand_dims(x, int(axis))
    out_rank = x.shape.rank + len(axis)
    for a in sorted(norm_axis(int(a), out_rank) for a in axis):
        x = jg.expand_dims(x, a)
    return x


def squeeze(x, axis=None):
    x = tensor(x)
    if axis is None:
        return jg.squeeze(x)
    return jg.squeeze(x, axis=[axis] if isinstance(axis, int) else list(axis))


def broadcast_to(x, shape):
    return jg.broadcast_to(tensor(x), _shape_arg(shape))


def concatenate(xs, axis=0):
    ts = promote(*xs)
    if axis is None:
        return jg.concat([jg.reshape(t, [-1]) for t in ts], axis=0)
    return jg.concat(ts, axis=axis)


def append(x1, x2, axis=None):
    return concatenate([x1, x2], axis=axis)


def stack(x, axis=0):
    return jg.stack(promote(*x), axis=axis)


def _atleast(x, n):
    x = tensor(x)
    while x.shape.rank < n:
        x = jg.expand_dims(x, 0 if x.shape.rank < 1 or n == 2 else x.shape.rank)
    return x


def hstack(xs):
    ts = [_atleast(x, 1) for x in xs]
    return concatenate(ts, axis=0 if ts[0].shape.rank == 1 else 1)


def vstack(xs):
    return concatenate([_atleast(x, 2) for x in xs], axis=0)


def dstack(xs):
    ts = []
    for x in xs:
        x = tensor(x)
        if x.shape.rank == 0:
            x = jg.reshape(x, [1, 1, 1])
        elif x.shape.rank == 1:
            x = jg.reshape(x, [1, -1, 1])
        elif x.shape.rank == 2:
            x = jg.expand_dims(x, 2)
        ts.append(x)
    return concatenate(ts, axis=2)


def split(x, indices_or_sections, axis=0):
    """NumPy's split: an int splits into that many equal parts, a list gives split points."""
    x = tensor(x)
    if isinstance(indices_or_sections, (int, np.integer)):
        return jg.split(x, int(indices_or_sections), axis=axis)
    n = static_shape(x, "split")[norm_axis(axis, x.shape.rank)]
    points = [0] + [int(i) for i in indices_or_sections] + [n]
    sizes = [builtins.max(b - a, 0) for a, b in zip(points, points[1:])]
    return jg.split(x, sizes, axis=axis)


def array_split(x, indices_or_sections, axis=0):
    x = tensor(x)
    n = static_shape(x, "array_split")[norm_axis(axis, x.shape.rank)]
    k = int(indices_or_sections)
    sizes = [n // k + 1] * (n % k) + [n // k] * (k - n % k)
    return jg.split(x, sizes, axis=axis)


def hsplit(x, indices_or_sections):
    x = tensor(x)
    return split(x, indices_or_sections, axis=0 if x.shape.rank == 1 else 1)


def vsplit(x, indices_or_sections):
    return split(x, indices_or_sections, axis=0)


def dsplit(x, indices_or_sections):
    return split(x, indices_or_sections, axis=2)


def tile(x, repeats):
    x = tensor(x)
    reps = [repeats] if isinstance(repeats, int) else list(repeats)
    while x.shape.rank < len(reps):
        x = jg.expand_dims(x, 0)
    reps = [1] * (x.shape.rank - len(reps)) + reps
    return jg.tile(x, reps)


def repeat(x, repeats, axis=None):
    x = tensor(x)
    if axis is None:
        return jg.repeat(jg.reshape(x, [-1]), repeats, axis=0)
    return jg.repeat(x, repeats, axis=axis)


def flip(x, axis=None):
    x = tensor(x)
    if axis is None:
        axis = list(range(x.shape.rank))
    return jg.reverse(x, [axis] if isinstance(axis, int) else list(axis))


def fliplr(x):
    return flip(x, 1)


def flipud(x):
    return flip(x, 0)


def rot90(array, k=1, axes=(0, 1)):
    x = tensor(array)
    k = k % 4
    a, b = axes
    if k == 0:
        return x
    if k == 2:
        return flip(x, [a, b])
    perm = list(range(x.shape.rank))
    perm[a], perm[b] = perm[b], perm[a]
    if k == 1:
        return jg.transpose(flip(x, b), perm)
    return flip(jg.transpose(x, perm), b)


def roll(x, shift, axis=None):
    x = tensor(x)
    if axis is None:
        return jg.reshape(jg.roll(jg.reshape(x, [-1]), shift, 0), jg.shape(x))
    return jg.roll(x, shift, axis)


def pad(x, pad_width, mode="constant", constant_values=None):
    x = tensor(x)
    pw = np.broadcast_to(np.asarray(pad_width, dtype=np.int64), (x.shape.rank, 2)).tolist()
    if mode != "constant" and constant_values is not None:
        raise jg.errors.InvalidArgumentError(
            f"jg.keras.ops.pad: constant_values is only allowed with mode='constant', got "
            f"mode={mode!r}")
    if mode == "constant":
        return jg.pad(x, pw, constant_values=constant_values or 0)
    if mode not in ("reflect", "symmetric"):
        raise jg.errors.UnimplementedError(
            f"jg.keras.ops.pad: mode={mode!r} is not supported; use 'constant', 'reflect' or "
            "'symmetric'")
    # Mirror padding as one gather per padded axis, with indices known when tracing.
    shape = static_shape(x, "pad")
    for d, (left, right) in enumerate(pw):
        if left == right == 0:
            continue
        n = shape[d]
        edge = 1 if mode == "reflect" else 0
        if left > n - edge or right > n - edge:
            raise jg.errors.InvalidArgumentError(
                f"jg.keras.ops.pad: mode={mode!r} pads axis {d} (size {n}) by {left, right}; "
                f"each side can be at most {n - edge}")
        idx = list(range(left - 1 + edge, edge - 1, -1)) + list(range(n)) + \
            list(range(n - 1 - edge, n - 1 - edge - right, -1))
        x = jg.gather(x, jg.constant(idx, dtype=jg.int32), axis=d)
    return x


def take(x, indices, axis=None):
    x = tensor(x)
    idx = tensor(indices)
    if idx.dtype.is_floating:
        idx = jg.cast(idx, jg.int32)
    if axis is None:
        x, axis = jg.reshape(x, [-1]), 0
    n = jg.shape(x)[axis]
    idx = jg.where(idx < 0, idx + jg.cast(n, idx.dtype), idx)  # NumPy's negative indices
    return jg.gather(x, idx, axis=axis)


def take_along_axis(x, indices, axis=None):
    x = tensor(x)
    idx = tensor(indices)
    if axis is None:
        x, axis = jg.reshape(x, [-1]), 0
        idx = jg.reshape(idx, [-1])
    rank = x.shape.rank
    axis = norm_axis(axis, rank)
    n = jg.shape(x)[axis]
    idx = jg.where(idx < 0, idx + jg.cast(n, idx.dtype), idx)
    # Broadcast the other axes, then gather along `axis` with every other axis as a batch dim.
    xs_shape = static_shape(x, "take_along_axis")
    is_shape = static_shape(idx, "take_along_axis")
    full = [builtins.max(a, b) if d != axis else None
            for d, (a, b) in enumerate(zip(xs_shape, is_shape))]
    x = jg.broadcast_to(x, [s if d != axis else xs_shape[axis] for d, s in enumerate(full)])
    idx = jg.broadcast_to(idx, [s if d != axis else is_shape[axis] for d, s in enumerate(full)])
    perm = [d for d in range(rank) if d != axis] + [axis]
    inv = np.argsort(perm).tolist()
    out = jg.gather(jg.transpose(x, perm), jg.transpose(idx, perm), axis=rank - 1,
                    batch_dims=rank - 1)
    return jg.transpose(out, inv)


def diagonal(x, offset=0, axis1=0, axis2=1):
    x = tensor(x)
    n = x.shape.rank
    a, b = norm_axis(axis1, n), norm_axis(axis2, n)
    rest = [d for d in range(n) if d not in (a, b)]
    x = jg.transpose(x, rest + [a, b])
    r, c = static_shape(x, "diagonal")[-2:]
    if offset >= 0:
        length = builtins.max(builtins.min(r, c - offset), 0)
        rows, cols = np.arange(length), np.arange(length) + offset
    else:
        length = builtins.max(builtins.min(r + offset, c), 0)
        rows, cols = np.arange(length) - offset, np.arange(length)
    flat = jg.reshape(x, [-1] if not rest else static_shape(x, "diagonal")[:-2] + (r * c,))
    return jg.gather(flat, jg.constant((rows * c + cols).astype(np.int32)), axis=len(rest))


def diag(x, k=0):
    x = tensor(x)
    if x.shape.rank == 1:
        n = static_shape(x, "diag")[0]
        m = n + builtins.abs(k)
        out = jg.linalg.diag(x)
        pads = [[0, k], [k, 0]] if k >= 0 else [[-k, 0], [0, -k]]
        return jg.pad(out, pads) if m != n else out
    return diagonal(x, k)


def diagflat(x, k=0):
    return diag(ravel(x), k)


def trace(x, offset=0, axis1=0, axis2=1):
    return jg.reduce_sum(diagonal(x, offset, axis1, axis2), axis=-1)


def diff(a, n=1, axis=-1):
    x = tensor(a)
    for _ in range(n):
        size_ = static_shape(x, "diff")[norm_axis(axis, x.shape.rank)]
        hi = jg.gather(x, iota(1, size_), axis=axis)
        lo = jg.gather(x, iota(0, size_ - 1), axis=axis)
        x = jg.not_equal(hi, lo) if x.dtype == jg.bool else hi - lo
    return x


def sort(x, axis=-1):
    x = tensor(x)
    if axis is None:
        return jg.sort(jg.reshape(x, [-1]), axis=0)
    return jg.sort(x, axis=axis)


def argsort(x, axis=-1):
    x = tensor(x)
    if axis is None:
        x, axis = jg.reshape(x, [-1]), 0
    return jg.cast(jg.argsort(x, axis=axis, stable=True), jg.int32)


def searchsorted(sorted_sequence, values, side="left"):
    return jg.searchsorted(tensor(sorted_sequence), tensor(values), side=side)


def digitize(x, bins):
    x, bins = promote(x, bins)
    flat = jg.reshape(x, [-1])
    return jg.reshape(jg.searchsorted(bins, flat, side="right"), jg.shape(x))


def nonzero(x):
    """The indices of the nonzero entries, one tensor per axis. Its length depends on the
    values, so it runs eagerly only (inside jg.function use where(condition, x1, x2))."""
    x = tensor(x)
    idx = jg.where(jg.not_equal(x, jg.zeros_like(x)))
    return tuple(jg.cast(idx[:, d], jg.int32) for d in range(x.shape.rank))


def unravel_index(indices, shape):
    out = jg.unravel_index(tensor(indices), jg.constant(list(shape), dtype=tensor(indices).dtype))
    return tuple(out[d] for d in range(len(shape)))


def get_item(x, key):
    return tensor(x)[key]


def bincount(x, weights=None, minlength=0, sparse=False):
    if sparse:
        raise jg.errors.UnimplementedError(
            "jg.keras.ops.bincount: sparse=True needs sparse tensors, which jitgraph does not "
            "have; use sparse=False")
    x = tensor(x)
    w = None if weights is None else tensor(weights)
    if x.shape.rank == 2:
        return jg.stack([bincount(x[i], None if w is None else w[i], minlength)
                         for i in range(static_shape(x, "bincount")[0])])
    return jg.math.bincount(x, weights=w, minlength=minlength,
                            dtype=jg.int32 if w is None else w.dtype)


# --- products -----------------------------------------------------------------------------


def matmul(x1, x2):
    a, b = promote(x1, x2)
    if a.shape.rank == 1 and b.shape.rank == 1:
        return jg.reduce_sum(a * b)
    if a.shape.rank == 1:
        return jg.squeeze(jg.matmul(jg.expand_dims(a, 0), b), axis=[-2])
    if b.shape.rank == 1:
        return jg.squeeze(jg.matmul(a, jg.expand_dims(b, 1)), axis=[-1])
    return jg.matmul(a, b)


def dot(x1, x2):
    a, b = promote(x1, x2)
    if a.shape.rank == 0 or b.shape.rank == 0:
        return a * b
    if b.shape.rank <= 2:
        return matmul(a, b)
    return jg.tensordot(a, b, [[a.shape.rank - 1], [b.shape.rank - 2]])


def vdot(x1, x2):
    a, b = promote(x1, x2)
    return jg.reduce_sum(jg.reshape(a, [-1]) * jg.reshape(b, [-1]))


def inner(x1, x2):
    a, b = promote(x1, x2)
    if a.shape.rank == 0 or b.shape.rank == 0:
        return a * b
    return jg.tensordot(a, b, [[a.shape.rank - 1], [b.shape.rank - 1]])


def outer(x1, x2):
    a, b = promote(x1, x2)
    return jg.reshape(a, [-1, 1]) * jg.reshape(b, [1, -1])


def tensordot(x1, x2, axes=2):
    a, b = promote(x1, x2)
    return jg.tensordot(a, b, axes)


def einsum(subscripts, *operands):
    return jg.einsum(subscripts, *promote(*operands))


def kron(x1, x2):
    a, b = promote(x1, x2)
    n = builtins.max(a.shape.rank, b.shape.rank)
    a = jg.reshape(a, [1] * (n - a.shape.rank) + a.shape.as_list())
    b = jg.reshape(b, [1] * (n - b.shape.rank) + b.shape.as_list())
    sa, sb = static_shape(a, "kron"), static_shape(b, "kron")
    ia = [v for s in sa for v in (s, 1)]
    ib = [v for s in sb for v in (1, s)]
    out = jg.reshape(a, ia) * jg.reshape(b, ib)
    return jg.reshape(out, [x * y for x, y in zip(sa, sb)])


def cross(x1, x2, axisa=-1, axisb=-1, axisc=-1, axis=None):
    a, b = promote(x1, x2)
    if axis is not None:
        axisa = axisb = axisc = axis
    a, b = moveaxis(a, axisa, -1), moveaxis(b, axisb, -1)
    if a.shape.as_list()[-1] == 2 or b.shape.as_list()[-1] == 2:
        raise jg.errors.UnimplementedError(
            "jg.keras.ops.cross: only 3-vectors are supported; pad 2-vectors with a zero "
            "third component")
    shape = jg.broadcast_dynamic_shape(jg.shape(a), jg.shape(b))
    out = jg.linalg.cross(jg.broadcast_to(a, shape), jg.broadcast_to(b, shape))
    return moveaxis(out, -1, axisc)


def trapezoid(y, x=None, dx=1.0, axis=-1):
    y = floating(y)
    n = static_shape(y, "trapezoid")[norm_axis(axis, y.shape.rank)]
    hi = jg.gather(y, iota(1, n), axis=axis)
    lo = jg.gather(y, iota(0, n - 1), axis=axis)
    if x is None:
        return jg.reduce_sum((hi + lo) * (dx / 2.0), axis=axis)
    d = diff(tensor(x, y.dtype), axis=axis if tensor(x).shape.rank > 1 else -1)
    if tensor(x).shape.rank == 1 and y.shape.rank > 1:
        shape = [1] * y.shape.rank
        shape[norm_axis(axis, y.shape.rank)] = -1
        d = jg.reshape(d, shape)
    return jg.reduce_sum((hi + lo) * d / 2.0, axis=axis)


def correlate(x1, x2, mode="valid"):
    a, b = promote(x1, x2)
    a, b = floating(a), floating(b)
    n, m = static_shape(a, "correlate")[0], static_shape(b, "correlate")[0]
    if mode == "valid":
        left = right = 0
    elif mode == "same":
        left, right = (m - 1) // 2, m - 1 - (m - 1) // 2
    elif mode == "full":
        left = right = m - 1
    else:
        raise jg.errors.InvalidArgumentError(
            f"jg.keras.ops.correlate: mode={mode!r} is not 'valid', 'same' or 'full'")
    a = jg.pad(a, [[left, right]])
    length = n + left + right - m + 1
    windows = jg.stack([a[i:i + length] for i in range(m)], axis=1)
    return matmul(windows, b)


def corrcoef(x):
    x = floating(x)
    if x.shape.rank == 1:
        x = jg.expand_dims(x, 0)
    c = x - jg.reduce_mean(x, axis=1, keepdims=True)
    cov = jg.matmul(c, c, transpose_b=True)
    d = jg.sqrt(jg.linalg.diag_part(cov))
    return cov / (jg.expand_dims(d, 1) * jg.expand_dims(d, 0))


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
    counts = jg.math.unsorted_segment_sum(jg.cast(inside, jg.int32), idx, bins)
    edges = lo + iota(0, bins + 1, dtype=x.dtype) * width
    return counts, edges


def cdist(x, y):
    """Euclidean distances between the rows of ``x`` (..., N, D) and ``y`` (..., M, D)."""
    a, b = promote(x, y)
    a, b = floating(a), floating(b)
    d = jg.expand_dims(a, -2) - jg.expand_dims(b, -3)
    return jg.sqrt(jg.reduce_sum(jg.square(d), axis=-1))


# --- window functions ---------------------------------------------------------------------


def _window(m, fn):
    m = int(m)
    if m == 1:
        return jg.ones([1])
    n = iota(0, m, dtype=jg.float32)
    return fn(n, float(m - 1))


def hamming(x):
    return _window(x, lambda n, d: 0.54 - 0.46 * jg.cos(2.0 * _pymath.pi * n / d))


def hanning(x):
    return _window(x, lambda n, d: 0.5 - 0.5 * jg.cos(2.0 * _pymath.pi * n / d))


def blackman(x):
    return _window(x, lambda n, d: 0.42 - 0.5 * jg.cos(2.0 * _pymath.pi * n / d)
                   + 0.08 * jg.cos(4.0 * _pymath.pi * n / d))


def bartlett(x):
    return _window(x, lambda n, d: 2.0 / d * (d / 2.0 - jg.abs(n - d / 2.0)))


def kaiser(x, beta):
    def fn(n, d):
        r = 2.0 * n / d - 1.0
        arg = beta * jg.sqrt(jg.maximum(1.0 - r * r, 0.0))
        return jg.math.bessel_i0(arg) / jg.math.bessel_i0(jg.constant(float(beta)))
    return _window(x, fn)
