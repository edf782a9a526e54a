"""Ops that assemble or cut tensors: concat, split (multi-output), tile, pad, range; and the
compositions stack, unstack, linspace, eye."""

import builtins

import numpy as np

from .. import dtypes as _dt
from .. import errors
from ..tensor import Tensor
from .core import Op, Type, apply, as_tensor, convert_args, fmt_shape, normalize_axis, register
from .shape import _static_shape, expand_dims, squeeze

# ----------------------------------------------------------------------------- concat


def _concat_infer(types, axis):
    first = types[0]
    rank = len(first.shape)
    for t in types[1:]:
        if len(t.shape) != rank or any(
                i != axis and a is not None and b is not None and a != b
                for i, (a, b) in enumerate(zip(first.shape, t.shape))):
            raise errors.InvalidArgumentError(errors.at_user_line(
                f"concat: shapes {' and '.join(fmt_shape(u.shape) for u in types)} differ "
                f"outside axis {axis}; all inputs need the same rank and the same dims except "
                "on the concat axis"))
    dims = [t.shape[axis] for t in types]
    shape = []
    for i in builtins.range(rank):
        if i == axis:
            shape.append(None if None in dims else sum(dims))
        else:
            shape.append(next((t.shape[i] for t in types if t.shape[i] is not None), None))
    return Type(first.dtype, tuple(shape))


def _g_concat(i, o, g, axis):
    sizes = [t.shape[axis] for t in i]
    if None in sizes:
        raise errors.UnimplementedError(
            "concat: gradient needs the sizes along the concat axis to be known")
    return list(apply("split", g[0], sizes=tuple(sizes), axis=axis)) if len(i) > 1 else [g[0]]


register(Op("concat", _concat_infer, lambda *xs, axis: np.concatenate(xs, axis=axis),
            grad=_g_concat, kind="shape"))


def concat(values, axis, name=None):
    """``jg.concat([a, b], axis=0)``: joins tensors along an existing axis."""
    if not isinstance(values, (list, tuple)) or not values:
        raise errors.InvalidArgumentError("concat: values must be a non-empty list of tensors")
    ts = convert_args(REG["concat"], list(values))
    (a,) = normalize_axis(axis, ts[0].ndim, "concat")
    if len(ts) == 1:
        return ts[0]
    return apply("concat", *ts, axis=a)


def stack(values, axis=0, name=None):
    """``jg.stack([a, b])``: joins same-shaped tensors along a new axis."""
    if not isinstance(values, (list, tuple)) or not values:
        raise errors.InvalidArgumentError("stack: values must be a non-empty list of tensors")
    ts = convert_args(REG["concat"], list(values))
    (a,) = normalize_axis(axis, ts[0].ndim + 1, "stack")
    shapes = {tuple(t.shape) for t in ts}
    if len(shapes) > 1:
        raise errors.InvalidArgumentError(errors.at_user_line(
            f"stack: all values need the same shape, got {', '.join(map(fmt_shape, shapes))}"))
    return concat([expand_dims(t, a) for t in ts], a)


# ----------------------------------------------------------------------------- split


def _split_infer(types, sizes, axis):
    t = types[0]
    d = t.shape[axis]
    if d is not None and sum(sizes) != d:
        raise errors.InvalidArgumentError(errors.at_user_line(
            f"split: sizes {list(sizes)} add up to {sum(sizes)} but axis {axis} of shape "
            f"{fmt_shape(t.shape)} has {d} elements"))
    return [Type(t.dtype, t.shape[:axis] + (s,) + t.shape[axis + 1:]) for s in sizes]


def _split_impl(x, sizes, axis):
    cuts = np.cumsum(sizes)[:-1]
    return tuple(np.split(x, cuts, axis=axis))


def _g_split(i, o, g, sizes, axis):
    return [apply("concat", *g, axis=axis) if len(g) > 1 else g[0]]


register(Op("split", _split_infer, _split_impl, grad=_g_split, kind="shape", n_outputs=None,
            unify=()))


def split(value, num_or_size_splits, axis=0, num=None, name=None):
    """``jg.split(x, 3)`` (equal parts) or ``jg.split(x, [2, 1, 3])`` (sizes; one may be -1)."""
    x = as_tensor(value, "split")
    (a,) = normalize_axis(axis, x.ndim, "split")
    d = x.shape[a]
    if isinstance(num_or_size_splits, (int, np.integer)):
        n = int(num_or_size_splits)
        if d is None or n <= 0 or d % n:
            raise errors.InvalidArgumentError(errors.at_user_line(
                f"split: cannot split axis {a} of size {d} into {n} equal parts"))
        sizes = (d // n,) * n
    else:
        sizes = list(_static_shape(num_or_size_splits, "split"))
        if sizes.count(-1) == 1 and d is not None:
            sizes[sizes.index(-1)] = d - sum(s for s in sizes if s != -1)
        sizes = tuple(sizes)
    return list(apply("split", x, sizes=sizes, axis=a))


def unstack(value, num=None, axis=0, name=None):
    """``jg.unstack(x)``: the list of slices of ``x`` along ``axis`` (that axis removed)."""
    x = as_tensor(value, "unstack")
    (a,) = normalize_axis(axis, x.ndim, "unstack")
    n = x.shape[a] if num is None else num
    if n is None:
        raise errors.InvalidArgumentError("unstack: the size of the axis must be known")
    return [squeeze(p, axis=a) for p in split(x, int(n), axis=a)] if n else []


# ----------------------------------------------------------------------------- tile


def _tile_infer(types, multiples):
    t = types[0]
    if len(multiples) != len(t.shape):
        raise errors.InvalidArgumentError(
            f"tile: multiples {list(multiples)} must have one entry per axis of the rank "
            f"{len(t.shape)} input")
    return Type(t.dtype, tuple(None if d is None else d * m for d, m in zip(t.shape, multiples)))


def _g_tile(i, o, g, multiples):
    from . import reduce_sum, reshape

    x = i[0]
    if not x.shape.is_fully_defined():
        raise errors.UnimplementedError("tile: gradient needs the input shape to be known")
    split_shape = [v for m, d in zip(multiples, x.shape) for v in (m, d)]
    gx = reduce_sum(reshape(g[0], split_shape), axis=list(builtins.range(0, 2 * x.ndim, 2)))
    return [gx]


register(Op("tile", _tile_infer, lambda x, multiples: np.tile(x, multiples), grad=_g_tile,
            kind="shape", unify=()))


def tile(input, multiples, name=None):
    """``jg.tile(x, [2, 1])``: repeats ``x`` along each axis."""
    x = as_tensor(input, "tile")
    return apply("tile", x, multiples=_static_shape(multiples, "tile"))


# ----------------------------------------------------------------------------- pad


def _pad_infer(types, paddings, constant_values):
    t = types[0]
    if len(paddings) != len(t.shape):
        raise errors.InvalidArgumentError(
            f"pad: paddings need one [before, after] pair per axis of the rank {len(t.shape)} "
            f"input, got {len(paddings)}")
    return Type(t.dtype, tuple(None if d is None else d + a + b
                               for d, (a, b) in zip(t.shape, paddings)))


def _g_pad(i, o, g, paddings, constant_values):
    key = tuple((a, None if b == 0 else -b, None) for a, b in paddings)
    return [apply("strided_slice", g[0], key=key)]


register(Op("pad", _pad_infer, lambda x, paddings, constant_values: np.pad(
    x, paddings, constant_values=constant_values), grad=_g_pad, kind="shape", unify=()))


def pad(tensor, paddings, mode="CONSTANT", constant_values=0, name=None):
    """``jg.pad(x, [[1, 1], [0, 2]])``: pads with ``constant_values`` (mode CONSTANT only)."""
    if str(mode).upper() != "CONSTANT":
        raise errors.UnimplementedError(f"pad: mode {mode!r} is not supported; use CONSTANT")
    x = as_tensor(tensor, "pad")
    p = tuple(tuple(int(v) for v in row) for row in np.asarray(
        paddings.numpy() if isinstance(paddings, Tensor) else paddings).reshape(-1, 2))
    return apply("pad", x, paddings=p, constant_values=np.asarray(constant_values).item())


# ----------------------------------------------------------------------------- range


def _range_infer(types, size):
    return Type(types[0].dtype, (size,))


def _range_impl(start, limit, delta, size):
    return np.arange(start, limit, delta, dtype=start.dtype)


register(Op("range", _range_infer, _range_impl, kind="shape",
            doc="[start, limit) in steps of delta; attr size is the length (None when any "
                "input is symbolic)"))


def range(start, limit=None, delta=1, dtype=None, name="range"):  # noqa: A001
    """``jg.range(5)`` -> [0 1 2 3 4]; ``jg.range(1., 2., 0.25)``. Symbolic bounds (inside a
    jg.function) give a tensor of shape (None,)."""
    if limit is None:
        start, limit = 0, start
    d = None if dtype is None else _dt.as_dtype(dtype)
    args = [start, limit, delta]
    if d is not None:
        args = [a if isinstance(a, Tensor) else as_tensor(a, "range", d) for a in args]
    ts = convert_args(REG["range"], args)
    if d is not None and ts[0].dtype is not d:
        ts = [apply("cast", t, dtype=d) for t in ts]
    for t in ts:
        if t.ndim != 0:
            raise errors.InvalidArgumentError("range: start, limit and delta must be scalars")
    size = None
    if not any(t._symbolic for t in ts):
        s, lim, dl = (t._value.item() for t in ts)
        if dl == 0:
            raise errors.InvalidArgumentError("range: delta must not be zero")
        size = len(np.arange(s, lim, dl))
    return apply("range", *ts, size=size)


def linspace(start, stop, num, name=None, axis=0):
    """``jg.linspace(0., 1., 5)``: ``num`` evenly spaced values from start to stop (scalars)."""
    a, b = convert_args(REG["add"], [start, stop])
    if a.dtype.is_integer:
        a, b = apply("cast", a, dtype=_dt.float64), apply("cast", b, dtype=_dt.float64)
    steps = as_tensor(np.arange(int(num), dtype=a.dtype.np) / max(int(num) - 1, 1), "linspace")
    return a + (b - a) * steps


def eye(num_rows, num_columns=None, batch_shape=None, dtype=_dt.float32, name=None):
    """``jg.eye(3)``: the identity matrix (float32 unless ``dtype`` says otherwise)."""
    m = np.eye(int(num_rows), None if num_columns is None else int(num_columns),
               dtype=_dt.as_dtype(dtype).np)
    if batch_shape is not None:
        m = np.broadcast_to(m, tuple(batch_shape) + m.shape)
    from ..tensor import constant

    return constant(np.ascontiguousarray(m))


def _registry():
    from .core import REGISTRY

    return REGISTRY


REG = _registry()

__all__ = ["concat", "stack", "split", "unstack", "tile", "pad", "range", "linspace", "eye"]
