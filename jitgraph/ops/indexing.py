"""Indexing ops: ``Tensor.__getitem__`` (strided_slice), functional slice update (``_setitem``,
behind ``Variable[...].assign``), gather, gather_nd, scatter_nd, tensor_scatter_nd_update,
one_hot.

A ``__getitem__`` key is normalized into a static attribute ``key``: a tuple with one entry per
input axis (Ellipsis expanded) plus ``None`` entries for new axes. An entry is an ``int``
(index, axis removed), a ``(start, stop, step)`` tuple (slice; None = default) or ``None``
(new axis of size 1). Index tensors (int lists/arrays/tensors) become ``gather`` on axis 0; a
symbolic scalar index becomes a ``gather`` with a scalar index, so ``x[i]`` works while tracing.
Out-of-range indices raise ``OutOfRangeError`` naming the op, the index and the valid range.
"""

import numpy as np

from .. import errors
from ..tensor import Tensor
from .core import Op, Type, apply, as_tensor, broadcast_shapes, fmt_shape, register

# ----------------------------------------------------------------------------- key handling


def _py_key(key):
    """The NumPy index for a normalized key."""
    return tuple(slice(*e) if isinstance(e, tuple) else e for e in key)


def _slice_len(entry, d):
    if d is None:
        return None
    return len(range(*slice(*entry).indices(d)))


def _check_index(op, i, d, axis):
    if d is not None and not -d <= i < d:
        raise errors.OutOfRangeError(errors.at_user_line(
            f"{op}: index {i} is out of range for axis {axis} of size {d}; valid indices are "
            f"{-d}..{d - 1}"))


def _sliced_shape(key, shape, op="strided_slice"):
    out, axis = [], 0
    for e in key:
        if e is None:
            out.append(1)
            continue
        d = shape[axis]
        if isinstance(e, tuple):
            out.append(_slice_len(e, d))
        else:
            _check_index(op, e, d, axis)
        axis += 1
    return tuple(out)


def _is_index_array(k):
    if isinstance(k, Tensor) or hasattr(k, "_jg_read"):
        return True
    if isinstance(k, np.ndarray) and k.ndim > 0:
        return True
    return isinstance(k, list)


def _is_bool_mask(k):
    """A boolean array key (``x[labels]``, ``x[~labels]``, ``x[x > 5]``)."""
    if isinstance(k, np.ndarray):
        return k.dtype == np.bool_ and k.ndim > 0
    if isinstance(k, Tensor):
        return k.dtype.name == "bool" and k.ndim > 0
    return isinstance(k, list) and len(k) > 0 and all(isinstance(e, bool) for e in k)


def normalize_key(key, rank, op="strided_slice"):
    """Normalized static key for ``key`` on a tensor of ``rank``; raises on unsupported keys."""
    if not isinstance(key, tuple):
        key = (key,)
    n_axes = sum(1 for k in key if k is not None and k is not Ellipsis)
    if sum(1 for k in key if k is Ellipsis) > 1:
        raise errors.InvalidArgumentError(f"{op}: an index can only have one ellipsis (...)")
    if n_axes > rank:
        raise errors.InvalidArgumentError(errors.at_user_line(
            f"{op}: too many indices ({n_axes}) for a tensor of rank {rank}"))
    out = []
    for k in key:
        if k is Ellipsis:
            out.extend([(None, None, None)] * (rank - n_axes))
        elif k is None:
            out.append(None)
        elif isinstance(k, slice):
            out.append(tuple(_static_int(v, op) for v in (k.start, k.stop, k.step)))
            if out[-1][2] == 0:
                raise errors.InvalidArgumentError(f"{op}: slice step cannot be zero")
        elif isinstance(k, (bool, np.bool_)):
            raise errors.UnimplementedError(f"{op}: boolean indices are not supported")
        else:
            out.append(_static_int(k, op))
    n_given = sum(1 for e in out if e is not None)
    out.extend([(None, None, None)] * (rank - n_given))
    return tuple(out)


def _static_int(v, op):
    if v is None:
        return None
    if isinstance(v, Tensor):
        if v._symbolic:
            raise errors.UnimplementedError(errors.at_user_line(
                f"{op}: slice bounds must be Python ints when tracing; use a scalar tensor index "
                "(x[i]) or jg.gather for indices computed at run time"))
        v = v.numpy()
    if isinstance(v, (float, np.floating)) or not np.issubdtype(type(v), np.integer) and \
            not isinstance(v, int):
        raise TypeError(f"{op}: indices must be integers, slices, ..., or jg.newaxis; got "
                        f"{type(v).__name__} {v!r}")
    return int(v)


# ----------------------------------------------------------------------------- strided_slice


def _ss_infer(types, key):
    t = types[0]
    return Type(t.dtype, _sliced_shape(key, t.shape))


def _ss_impl(x, key):
    return x[_py_key(key)]


def _g_ss(i, o, g, key):
    return [apply("slice_update", _zeros_like(i[0]), g[0], key=key)]


def _zeros_like(x):
    return apply("full_like", x, dtype=None, value=0)


register(Op("strided_slice", _ss_infer, _ss_impl, grad=_g_ss, kind="shape", unify=(),
            doc="x[key] for a static normalized key (ints, (start, stop, step), None)"))


def _su_infer(types, key):
    x, v = types
    if x.dtype is not v.dtype:
        raise errors.InvalidArgumentError(
            f"slice assignment: value has dtype {v.dtype.name} but the target is "
            f"{x.dtype.name}; convert it with jg.cast")
    target = _sliced_shape(key, x.shape, "slice assignment")
    out = broadcast_shapes("slice assignment", target, v.shape)
    if len(v.shape) > len(target) or tuple(out) != tuple(target) and None not in target:
        raise errors.InvalidArgumentError(errors.at_user_line(
            f"slice assignment: value of shape {fmt_shape(v.shape)} does not fit the slice of "
            f"shape {fmt_shape(target)}"))
    return Type(x.dtype, x.shape)


def _su_impl(x, v, key):
    out = x.copy()
    out[_py_key(key)] = v
    return out


def _g_su(i, o, g, key):
    from .core import unbroadcast

    x, v = i
    gx = apply("slice_update", g[0], _zeros_like(v), key=key)
    gv = unbroadcast(apply("strided_slice", g[0], key=key), tuple(v.shape))
    return [gx, gv]


register(Op("slice_update", _su_infer, _su_impl, grad=_g_su, kind="shape",
            doc="a copy of x with x[key] = value (value broadcast to the slice)"))


def _getitem(x, key):
    """``x[key]``: ints, slices (with steps), ``...``, ``None``/``jg.newaxis``, index tensors or
    lists (gather on axis 0), boolean masks (eager) and scalar int tensors."""
    x = as_tensor(x, "__getitem__")
    if _is_bool_mask(key):  # as TensorFlow: boolean_mask over the leading dims
        from .dynamic import boolean_mask

        return boolean_mask(x, key)
    if _is_index_array(key):
        return gather(x, key, axis=0)
    parts = key if isinstance(key, tuple) else (key,)
    dyn = [(j, k) for j, k in enumerate(parts) if isinstance(k, Tensor) and k._symbolic]
    if dyn:
        return _dynamic_getitem(x, parts, dyn)
    norm = normalize_key(key, x.ndim, "__getitem__")
    if all(e == (None, None, None) for e in norm):
        return x
    return apply("strided_slice", x, key=norm)


def _dynamic_getitem(x, parts, dyn):
    """Symbolic scalar indices: slice statically with ':' in their place, then gather."""
    parts = list(parts)
    for j, k in dyn:
        if k.ndim != 0 or not k.dtype.is_integer:
            raise errors.UnimplementedError(errors.at_user_line(
                "__getitem__: a tensor index inside a tuple key must be an integer scalar"))
        parts[j] = slice(None)
    norm = normalize_key(tuple(parts), x.ndim, "__getitem__")
    y = apply("strided_slice", x, key=norm) if any(e != (None, None, None) for e in norm) else x
    # output axis of each dynamic entry: count entries before it that keep an axis, minus the
    # axes removed by earlier dynamic gathers
    removed = 0
    ell = next((j for j, k in enumerate(parts) if k is Ellipsis), None)
    for j, k in dyn:
        pos = j if ell is None or j < ell else j + (len(norm) - len(parts))
        out_axis = sum(1 for e in norm[:pos] if not isinstance(e, int)) - removed
        y = gather(y, k, axis=out_axis)
        removed += 1
    return y


def _setitem(x, key, value):
    """A copy of ``x`` with ``x[key]`` replaced by ``value`` (broadcast); used by sliced
    Variable assignment: ``v[0, 1].assign(42.)``."""
    x = as_tensor(x, "slice assignment")
    if _is_index_array(key):
        idx = as_tensor(key, "slice assignment")
        upd = as_tensor(value, "slice assignment", x.dtype)
        return tensor_scatter_nd_update(x, _col(idx), upd)
    norm = normalize_key(key, x.ndim, "slice assignment")
    v = as_tensor(value, "slice assignment", x.dtype) if not isinstance(value, Tensor) else value
    return apply("slice_update", x, v, key=norm)


def _col(idx):
    from .shape import expand_dims

    return expand_dims(idx, -1)


# ----------------------------------------------------------------------------- gather


def _check_range(op, idx, d, axis):
    if idx.size and (idx.min() < 0 or idx.max() >= d):
        bad = idx[(idx < 0) | (idx >= d)].ravel()[0]
        raise errors.OutOfRangeError(errors.at_user_line(
            f"{op}: index {int(bad)} is out of range for axis {axis} of size {d}; valid "
            f"indices are 0..{d - 1}"))


def _gather_infer(types, axis):
    p, i = types
    if not i.dtype.is_integer:
        raise errors.InvalidArgumentError(
            f"gather: indices must be int32 or int64, got {i.dtype.name}; use jg.cast")
    return Type(p.dtype, p.shape[:axis] + i.shape + p.shape[axis + 1:])


def _gather_impl(p, idx, axis):
    _check_range("gather", idx, p.shape[axis], axis)
    return np.take(p, idx, axis=axis)


def _g_gather(i, o, g, axis):
    return [apply("gather_grad", g[0], i[1], i[0], axis=axis), None]


register(Op("gather", _gather_infer, _gather_impl, grad=_g_gather, kind="shape", unify=()))


def _gg_impl(g, idx, like, axis):
    return _gga_impl(np.zeros(like.shape, g.dtype), g, idx, axis, op="gather_grad")


def _gga_impl(acc, g, idx, axis, op="gather_grad_add"):
    _check_range(op, idx, acc.shape[axis], axis)  # np.add.at would wrap negative ones
    out = np.array(acc, copy=True)
    moved = np.moveaxis(out, axis, 0)
    flat = g.shape[:axis] + (idx.size,) + g.shape[axis + idx.ndim:]  # no -1: may be empty
    gm = np.moveaxis(g.reshape(flat), axis, 0)
    np.add.at(moved, idx.ravel(), gm)
    return out


def _gg_infer(types, axis):
    g, i, like = types
    _gga_infer([like, g, i], axis)
    return Type(g.dtype, like.shape)


register(Op("gather_grad", _gg_infer, _gg_impl,
            grad=lambda i, o, g, axis: [apply("gather", g[0], i[1], axis=axis), None, None],
            kind="shape", unify=(),
            doc="the gradient of gather: g summed into zeros shaped like input 2 at indices"))


def _gga_infer(types, axis):
    acc, g, i = types
    want = acc.shape[:axis] + i.shape + acc.shape[axis + 1:]
    if g.dtype is not acc.dtype or len(g.shape) != len(want) or any(
            a is not None and b is not None and a != b for a, b in zip(g.shape, want)):
        raise errors.InvalidArgumentError(
            f"gather_grad_add: updates {g.dtype.name}{fmt_shape(g.shape)} do not fit "
            f"{acc.dtype.name}{fmt_shape(acc.shape)} at indices {fmt_shape(i.shape)} on axis "
            f"{axis} (expected {acc.dtype.name}{fmt_shape(want)})")
    return Type(acc.dtype, acc.shape)


# ``acc + gather_grad(g, idx, acc, axis)`` as one op (passes/indexed_accumulate.py forms it
# from a loop's gradient accumulator): only the indexed slices change, in place when ``acc``
# dies at it (codegen/shape_ops.py), instead of a dense zeros-and-slice tensor added to acc.
register(Op("gather_grad_add", _gga_infer, _gga_impl,
            grad=lambda i, o, g, axis: [g[0], apply("gather", g[0], i[2], axis=axis), None],
            kind="shape", unify=(),
            doc="a copy of input 0 with g (input 1) summed into it at indices (input 2): "
                "acc + gather_grad(g, indices, acc)"))


def gather(params, indices, validate_indices=None, axis=None, batch_dims=0, name=None):
    """``jg.gather(params, indices, axis=0)``: slices of ``params`` at ``indices`` along ``axis``.

    >>> jg.gather([10., 20., 30.], [2, 0])  # [30., 10.]
    """
    from .core import normalize_axis

    p = as_tensor(params, "gather")
    i = as_tensor(indices, "gather")
    if batch_dims:
        from .slicing import batch_gather

        return batch_gather(p, i, axis, batch_dims)
    if p.ndim == 0:
        raise errors.InvalidArgumentError("gather: params must have rank >= 1")
    (a,) = normalize_axis(0 if axis is None else axis, p.ndim, "gather")
    if not i._symbolic and i.dtype.is_integer and p.shape[a] is not None:
        # negative indices are out of range (as in TensorFlow); checked before anything runs
        _check_range("gather", i._value, p.shape[a], a)
    return apply("gather", p, i, axis=a)


# ----------------------------------------------------------------------------- gather_nd/scatter


def _nd_check(op, idx, shape):
    k = idx.shape[-1]
    for j in range(k):
        col = idx[..., j]
        _check_range(op, col, shape[j], j)


def _gnd_infer(types):
    p, i = types
    if not i.dtype.is_integer or not i.shape:
        raise errors.InvalidArgumentError("gather_nd: indices must be an integer tensor of "
                                          "rank >= 1")
    k = i.shape[-1]
    if k is None or k > len(p.shape):
        raise errors.InvalidArgumentError(
            f"gather_nd: the last dim of indices ({k}) must be known and <= rank {len(p.shape)}")
    return Type(p.dtype, i.shape[:-1] + p.shape[k:])


def _gnd_impl(p, idx):
    _nd_check("gather_nd", idx, p.shape)
    if idx.shape[-1] == 0:  # empty index tuples: all of params for each (p[()] is p once)
        return np.broadcast_to(p, idx.shape[:-1] + p.shape).copy()
    return p[tuple(np.moveaxis(idx, -1, 0))]


register(Op("gather_nd", _gnd_infer, _gnd_impl,
            grad=lambda i, o, g: [apply("scatter_nd", i[1], g[0], shape=tuple(i[0].shape)), None],
            kind="shape", unify=()))


def _same_dims(a, b):
    return len(a) == len(b) and all(x is None or y is None or x == y for x, y in zip(a, b))


def _nd_updates_check(op, i, u, shape):
    """``updates`` of a scatter into ``shape`` at index tuples ``i`` must have the shape
    ``i.shape[:-1] + shape[k:]`` (the compiled kernel reads them by that shape)."""
    if not i.dtype.is_integer or not i.shape:
        raise errors.InvalidArgumentError(
            f"{op}: indices must be an integer tensor of rank >= 1, got {i.dtype.name}"
            f"{fmt_shape(i.shape)}")
    k = i.shape[-1]
    if k is None:
        return  # checked when the sizes are known (the cpu backend re-runs this rule)
    if k > len(shape):
        raise errors.InvalidArgumentError(
            f"{op}: the last dim of indices ({k}) must be <= the rank {len(shape)} of the "
            f"tensor scattered into, shape {fmt_shape(shape)}")
    want = tuple(i.shape[:-1]) + tuple(shape[k:])
    if not _same_dims(tuple(u.shape), want):
        raise errors.InvalidArgumentError(
            f"{op}: updates have shape {fmt_shape(u.shape)} but indices {fmt_shape(i.shape)} "
            f"into shape {fmt_shape(shape)} need updates of shape {fmt_shape(want)} "
            "(indices.shape[:-1] + shape[indices.shape[-1]:])")


def _snd_infer(types, shape):
    i, u = types
    _nd_updates_check("scatter_nd", i, u, tuple(shape))
    return Type(u.dtype, tuple(shape))


def _snd_impl(idx, u, shape):
    _nd_check("scatter_nd", idx, shape)
    out = np.zeros(shape, u.dtype)
    np.add.at(out, tuple(np.moveaxis(idx, -1, 0)), u)
    return out


register(Op("scatter_nd", _snd_infer, _snd_impl,
            grad=lambda i, o, g, shape: [None, apply("gather_nd", g[0], i[0])], kind="shape",
            unify=()))


def _tsu_infer(types):
    t, i, u = types
    if t.dtype is not u.dtype:
        raise errors.InvalidArgumentError(
            f"tensor_scatter_nd_update: updates have dtype {u.dtype.name} but the tensor is "
            f"{t.dtype.name}; use jg.cast")
    _nd_updates_check("tensor_scatter_nd_update", i, u, tuple(t.shape))
    return Type(t.dtype, t.shape)


def _tsu_impl(t, idx, u):
    _nd_check("tensor_scatter_nd_update", idx, t.shape)
    out = t.copy()
    out[tuple(np.moveaxis(idx, -1, 0))] = u
    return out


def _g_tsu(i, o, g):
    t, idx, u = i
    gt = apply("tensor_scatter_nd_update", g[0], idx, _zeros_like(u))
    return [gt, None, apply("gather_nd", g[0], idx)]


register(Op("tensor_scatter_nd_update", _tsu_infer, _tsu_impl, grad=_g_tsu, kind="shape",
            unify=(0, 2)))


def gather_nd(params, indices, batch_dims=0, name=None):
    """``jg.gather_nd(x, [[0, 1], [1, 0]])``: elements (or slices) at multi-indices."""
    if batch_dims:
        from .slicing import batch_gather_nd

        return batch_gather_nd(params, indices, batch_dims)
    return apply("gather_nd", as_tensor(params, "gather_nd"), as_tensor(indices, "gather_nd"))


def scatter_nd(indices, updates, shape, name=None):
    """Zeros of ``shape`` with ``updates`` added at ``indices``."""
    from .shape import _static_shape

    return apply("scatter_nd", as_tensor(indices, "scatter_nd"),
                 as_tensor(updates, "scatter_nd"), shape=_static_shape(shape, "scatter_nd"))


def tensor_scatter_nd_update(tensor, indices, updates, name=None):
    """A copy of ``tensor`` with the elements at ``indices`` replaced by ``updates``.

    >>> jg.tensor_scatter_nd_update([1., 2., 3.], [[0], [2]], [9., 8.])  # [9., 2., 8.]
    """
    t = as_tensor(tensor, "tensor_scatter_nd_update")
    u = as_tensor(updates, "tensor_scatter_nd_update", t.dtype) if not isinstance(
        updates, Tensor) else updates
    return apply("tensor_scatter_nd_update", t, as_tensor(indices, "tensor_scatter_nd_update"), u)


# ----------------------------------------------------------------------------- one_hot


def _oh_infer(types, depth, axis, dtype, on_value, off_value):
    i = types[0]
    if not i.dtype.is_integer:
        raise errors.InvalidArgumentError(
            f"one_hot: indices must be integers, got {i.dtype.name}; use jg.cast")
    shape = list(i.shape)
    shape.insert(axis, depth)
    return Type(dtype, tuple(shape))


def _oh_impl(idx, depth, axis, dtype, on_value, off_value):
    hot = idx[..., None] == np.arange(depth)
    out = np.where(hot, on_value, off_value).astype(dtype.np)
    return np.moveaxis(out, -1, axis)


register(Op("one_hot", _oh_infer, _oh_impl, kind="shape", unify=()))


def one_hot(indices, depth, on_value=None, off_value=None, axis=None, dtype=None, name=None):
    """``jg.one_hot([0, 2], 3)``: float32 rows with 1 at each index (indices outside
    [0, depth) give all-zero rows, as in TensorFlow)."""
    from .. import dtypes as _dt
    from .core import normalize_axis

    i = as_tensor(indices, "one_hot")
    dtype = _dt.float32 if dtype is None else _dt.as_dtype(dtype)
    (a,) = normalize_axis(-1 if axis is None else axis, i.ndim + 1, "one_hot")
    on = 1 if on_value is None else _scalar(on_value)
    off = 0 if off_value is None else _scalar(off_value)
    return apply("one_hot", i, depth=int(depth), axis=a, dtype=dtype, on_value=on,
                 off_value=off)


def _scalar(v):
    return np.asarray(v).item()


__all__ = ["gather", "gather_nd", "scatter_nd", "tensor_scatter_nd_update", "one_hot"]
