"""Reductions over axes (``axis=None|int|list``, ``keepdims``): type rule, NumPy
implementation, gradient rule and lowering (the combiner) in one row each."""

import numpy as np

from .. import dtypes as _dt
from .. import errors
from .core import Op, Type, apply, as_tensor, normalize_axis, register


def _reduced_shape(shape, axes, keepdims):
    if keepdims:
        return tuple(1 if i in axes else d for i, d in enumerate(shape))
    return tuple(d for i, d in enumerate(shape) if i not in axes)


def _reduce_infer(name, allow, out=None):
    def infer(types, axis, keepdims):
        t = types[0]
        if allow == "num" and t.dtype.is_bool:
            raise errors.InvalidArgumentError(
                f"{name}: expected a numeric tensor, got bool; use jg.cast(x, jg.int32) "
                "or jg.reduce_any / jg.reduce_all")
        if allow == "bool" and not t.dtype.is_bool:
            raise errors.InvalidArgumentError(
                f"{name}: expected a bool tensor, got {t.dtype.name}; compare it first "
                "(e.g. x > 0)")
        for a in axis:
            if not 0 <= a < len(t.shape):
                raise errors.InvalidArgumentError(
                    f"{name}: axis {a} out of range for rank {len(t.shape)}")
        return Type(out or t.dtype, _reduced_shape(t.shape, axis, keepdims))

    return infer


def _j():
    from .. import ops

    return ops


def _keep(g, x_shape, axis, keepdims):
    """Reshapes a reduced gradient so it broadcasts against the input."""
    if keepdims or not axis:
        return g
    ops = _j()
    if None not in x_shape:  # one reshape to the keepdims shape
        return ops.reshape(g, [1 if i in axis else d for i, d in enumerate(x_shape)])
    for a in sorted(axis):
        g = ops.expand_dims(g, a)
    return g


def _g_sum(i, o, g, axis, keepdims):
    x = i[0]
    return [_bcast_like(_keep(g[0], x.shape, axis, keepdims), x)]


def _bcast_like(g, x):
    ops = _j()
    if x.shape.is_fully_defined():
        return ops.broadcast_to(g, x.shape.as_list())
    return g * ops.ones_like(x)


def _count(x, axis):
    ops = _j()
    if all(x.shape[a] is not None for a in axis):
        n = 1
        for a in axis:
            n *= x.shape[a]
        return float(n)
    s = ops.shape(x)
    n = None
    for a in axis:
        d = s[a]
        n = d if n is None else n * d
    return ops.cast(n, x.dtype)


def _g_mean(i, o, g, axis, keepdims):
    x = i[0]
    n = _count(x, axis)
    return [_bcast_like(_keep(g[0], x.shape, axis, keepdims), x) / n]


def _g_extreme(i, o, g, axis, keepdims):
    ops = _j()
    x = i[0]
    y = _keep(o[0], x.shape, axis, keepdims)
    mask = ops.cast(ops.equal(x, y), x.dtype)
    n = ops.reduce_sum(mask, axis=list(axis), keepdims=True)
    return [mask / n * _keep(g[0], x.shape, axis, keepdims)]


def _g_prod(i, o, g, axis, keepdims):
    ops = _j()
    x = i[0]
    y = _keep(o[0], x.shape, axis, keepdims)
    gk = _keep(g[0], x.shape, axis, keepdims)
    # exact where x has no zeros; zeros are handled by masking (product of the others)
    nz = ops.not_equal(x, 0)
    safe = ops.where(nz, x, ops.ones_like(x))
    prod_nz = ops.reduce_prod(safe, axis=list(axis), keepdims=True)
    zeros = ops.reduce_sum(ops.cast(ops.logical_not(nz), x.dtype), axis=list(axis),
                           keepdims=True)
    g_nz = ops.where(ops.equal(zeros, 0.0), y / safe, ops.zeros_like(x))
    g_z = ops.where(ops.logical_and(ops.logical_not(nz), ops.equal(zeros, 1.0)),
                    prod_nz * ops.ones_like(x), ops.zeros_like(x))
    return [gk * ops.where(nz, g_nz, g_z)]


def _np_reduce(fn):
    def impl(x, axis, keepdims):
        return fn(x, axis=axis, keepdims=keepdims)

    return impl


_F16 = np.dtype(np.float16)


def f32_accumulate(impl):
    """``impl`` with float16 inputs computed in float32 and the result rounded to float16,
    as XLA's and TensorFlow's kernels accumulate (and as the compiled kernels do): a float16
    running sum stalls once the increments fall below its spacing."""
    def wrapped(*arrays, **attrs):
        for a in arrays:
            if a.dtype is _F16:
                break
        else:
            return impl(*arrays, **attrs)
        up = [a.astype(np.float32) if a.dtype is _F16 else a for a in arrays]
        with np.errstate(over="ignore"):  # beyond float16's range is inf, as compiled
            return np.asarray(impl(*up, **attrs)).astype(np.float16)

    wrapped.__name__ = getattr(impl, "__name__", "impl")
    return wrapped


@f32_accumulate
def _np_mean(x, axis, keepdims):
    if x.dtype.kind in "iu":
        s = np.sum(x, axis=axis, keepdims=keepdims, dtype=np.int64)
        n = int(np.prod([x.shape[a] for a in axis])) or 1
        return (s // n).astype(x.dtype)  # TensorFlow's integer mean truncates
    with np.errstate(invalid="ignore"):
        return np.mean(x, axis=axis, keepdims=keepdims)


def _np_extreme(fn, name):
    def impl(x, axis, keepdims):
        if x.size == 0 and any(x.shape[a] == 0 for a in axis):
            raise errors.InvalidArgumentError(f"{name}: cannot reduce over an empty axis")
        return fn(x, axis=axis, keepdims=keepdims)

    return impl


# name: (numpy, allowed, output dtype, gradient rule, combiner)
_REDUCE = {
    "reduce_sum": (f32_accumulate(_np_reduce(np.sum)), "num", None, _g_sum, "add"),
    "reduce_mean": (_np_mean, "num", None, _g_mean, "add"),
    "reduce_max": (_np_extreme(np.max, "reduce_max"), "num", None, _g_extreme, "max"),
    "reduce_min": (_np_extreme(np.min, "reduce_min"), "num", None, _g_extreme, "min"),
    "reduce_prod": (f32_accumulate(_np_reduce(np.prod)), "num", None, _g_prod, "mul"),
    "reduce_any": (_np_reduce(np.any), "bool", None, None, "or"),
    "reduce_all": (_np_reduce(np.all), "bool", None, None, "and"),
}

for _name, (_fn, _allow, _out, _grad, _comb) in _REDUCE.items():
    register(Op(_name, _reduce_infer(_name, _allow, _out), _fn, grad=_grad, kind="reduce",
                lower=_comb, unify=()))


def _reduce_fn(opname):
    def fn(input_tensor, axis=None, keepdims=False, name=None):
        x = as_tensor(input_tensor, opname)
        axes = normalize_axis(axis, x.ndim, opname)
        return apply(opname, x, axis=axes, keepdims=bool(keepdims))

    fn.__name__ = opname
    fn.__doc__ = (f"``jg.{opname}(x, axis=None, keepdims=False)``: reduces ``x`` over ``axis`` "
                  "(None = all axes; negative axes count from the end).")
    return fn


reduce_sum = _reduce_fn("reduce_sum")
reduce_mean = _reduce_fn("reduce_mean")
reduce_max = _reduce_fn("reduce_max")
reduce_min = _reduce_fn("reduce_min")
reduce_prod = _reduce_fn("reduce_prod")
reduce_any = _reduce_fn("reduce_any")
reduce_all = _reduce_fn("reduce_all")


def _arg_infer(name):
    def infer(types, axis, output_type):
        t = types[0]
        if t.dtype.is_bool:
            raise errors.InvalidArgumentError(f"{name}: expected a numeric tensor, got bool")
        if t.shape[axis] == 0:
            raise errors.InvalidArgumentError(f"{name}: cannot reduce over an empty axis")
        return Type(output_type, _reduced_shape(t.shape, (axis,), False))

    return infer


register(Op("argmax", _arg_infer("argmax"),
            lambda x, axis, output_type: np.argmax(x, axis=axis).astype(output_type.np),
            kind="reduce", lower="argmax", unify=()))
register(Op("argmin", _arg_infer("argmin"),
            lambda x, axis, output_type: np.argmin(x, axis=axis).astype(output_type.np),
            kind="reduce", lower="argmin", unify=()))


def _arg_fn(opname):
    def fn(input, axis=None, output_type=_dt.int64, name=None):
        x = as_tensor(input, opname)
        if x.ndim == 0:
            raise errors.InvalidArgumentError(f"{opname}: needs a tensor of rank >= 1")
        (a,) = normalize_axis(0 if axis is None else axis, x.ndim, opname)
        return apply(opname, x, axis=a, output_type=_dt.as_dtype(output_type))

    fn.__name__ = opname
    fn.__doc__ = f"``jg.{opname}(x, axis=0)``: index of the extreme value along ``axis`` (int64)."
    return fn


argmax = _arg_fn("argmax")
argmin = _arg_fn("argmin")

__all__ = ["reduce_sum", "reduce_mean", "reduce_max", "reduce_min", "reduce_prod",
           "reduce_any", "reduce_all", "argmax", "argmin"]
