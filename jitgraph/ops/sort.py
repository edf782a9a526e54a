"""Sorting: ``sort``, ``argsort``, ``math.top_k`` (also ``nn.top_k``) and ``math.in_top_k``,
with TensorFlow's names and semantics.

Two ops do the work, each with two outputs (values, int32 indices): ``sort`` along any axis
(ascending or descending) and ``top_k`` (the ``k`` largest along the last axis, TF's
TopKV2). The order is always stable: equal keys keep their input order (ascending and
descending alike, so top_k puts the lower index first on ties, as TensorFlow documents).
NaN sorts as the largest value (NumPy's convention): last ascending, first descending and
in top_k; -0.0 and 0.0 are equal keys. ``argsort`` is the indices output of ``sort``.

Each backend sorts one row per index of the other dims (codegen/sorting.py: a heap over
(key, index) pairs, O(n log k) for the k first elements of a row of n; on the cpu rows on
the worker pool, on the GPU a thread per row).

Gradients, as TensorFlow's: the incoming gradient of the values goes back to the positions
the values came from (``take_along_axis_grad``); the indices have none.
"""

from collections import namedtuple

import numpy as np

from .. import dtypes as _dt
from .. import errors
from .core import Op, Type, apply, as_tensor, fmt_shape, register

INT32_MAX = 2**31 - 1
TopKV2 = namedtuple("TopKV2", ["values", "indices"])


def _check_dtype(name, dtype):
    if not (dtype.is_floating or dtype.is_integer):
        raise errors.InvalidArgumentError(
            f"{name}: needs a numeric tensor (float or int), got {dtype.name}; jg.cast it "
            f"first")


def _check_axis(name, shape, axis):
    if not -len(shape) <= axis < len(shape):
        where = "a scalar (rank 0)" if not shape else f"a tensor of shape {fmt_shape(shape)}"
        raise errors.InvalidArgumentError(
            f"{name}: axis {axis} is out of range for {where}; valid axes are "
            f"{-len(shape)}..{len(shape) - 1}" if shape else
            f"{name}: axis {axis} is out of range for {where}; {name} needs a tensor of rank "
            f">= 1")


def _check_len(name, n):
    if n is not None and n > INT32_MAX:
        raise errors.InvalidArgumentError(
            f"{name}: the sorted axis has {n} elements, more than int32 indices address")


# ----------------------------------------------------------------------------- NumPy


def _stable_order(x, axis, descending):
    """Stable argsort along ``axis``; descending keeps equal keys in input order too, and
    NaN is the largest key (np.argsort's convention)."""
    if not descending:
        return np.argsort(x, axis=axis, kind="stable")
    n = x.shape[axis]
    rev = np.argsort(np.flip(x, axis), axis=axis, kind="stable")
    return (n - 1) - np.flip(rev, axis)


def _sort_impl(x, axis, descending):
    idx = _stable_order(x, axis, descending)
    return np.take_along_axis(x, idx, axis), idx.astype(np.int32)


def _top_k_impl(x, k):
    n = x.shape[-1]
    if k > n:
        raise errors.InvalidArgumentError(_k_too_large(k, x.shape))
    if 0 < 4 * k < n:  # a partition, then a sort of the k: O(n + k log k)
        idx = _top_k_partition(x, k)
    else:
        idx = _stable_order(x, x.ndim - 1, True)[..., :k]
    return np.take_along_axis(x, idx, -1), idx.astype(np.int32)


def _top_k_partition(x, k):
    """The stable descending order of each row's k first: every element above the row's
    k-th largest, then the lowest-index ties with it (np.partition puts NaN last too)."""
    n = x.shape[-1]
    t = np.partition(x, n - k, axis=-1)[..., n - k:n - k + 1]
    if x.dtype.kind == "f":
        nx, nt = np.isnan(x), np.isnan(t)
        above, tie = (x > t) | (nx & ~nt), (x == t) | (nx & nt)
    else:
        above, tie = x > t, x == t
    room = k - above.sum(-1, keepdims=True)
    keep = above | (tie & (np.cumsum(tie, -1) <= room))
    cols = np.nonzero(keep.reshape(-1, n))[1].reshape(x.shape[:-1] + (k,))
    return np.take_along_axis(cols, _stable_order(np.take_along_axis(x, cols, -1),
                                                  x.ndim - 1, True), -1)


# ----------------------------------------------------------------------------- type rules


def _sort_infer(types, axis, descending):
    (x,) = types
    _check_dtype("sort", x.dtype)
    _check_axis("sort", x.shape, axis)
    _check_len("sort", x.shape[axis])
    return [Type(x.dtype, x.shape), Type(_dt.int32, x.shape)]


def _k_too_large(k, shape):
    return (f"top_k: k={k} is larger than the last axis of the input, shape "
            f"{fmt_shape(shape)}; choose k <= {shape[-1]} (or jg.pad the input)")


def _top_k_infer(types, k):
    (x,) = types
    _check_dtype("top_k", x.dtype)
    if not x.shape:
        raise errors.InvalidArgumentError(
            "top_k: needs an input of rank >= 1, got a scalar; k is taken along the last "
            "axis")
    n = x.shape[-1]
    if n is not None and k > n:
        raise errors.InvalidArgumentError(_k_too_large(k, x.shape))
    _check_len("top_k", n)
    shape = x.shape[:-1] + (k,)
    return [Type(x.dtype, shape), Type(_dt.int32, shape)]


def _sort_grad(i, o, g, axis, descending):
    return [None if g[0] is None else
            apply("take_along_axis_grad", g[0], o[1], i[0], axis=axis, unique=True)]


def _top_k_grad(i, o, g, k):
    x = i[0]
    return [None if g[0] is None else
            apply("take_along_axis_grad", g[0], o[1], x, axis=len(x.shape) - 1, unique=True)]


register(Op("sort", _sort_infer, _sort_impl, grad=_sort_grad, kind="shape", unify=(),
            n_outputs=2, doc="stable sort along an axis: (values, int32 indices)"))
register(Op("top_k", _top_k_infer, _top_k_impl, grad=_top_k_grad, kind="shape", unify=(),
            n_outputs=2, doc="the k largest along the last axis, in order: (values, indices)"))


# ----------------------------------------------------------------------------- along an axis


def _taa_check(name, x, idx, axis):
    if not idx.dtype.is_integer:
        raise errors.InvalidArgumentError(
            f"{name}: indices must be int32 or int64, got {idx.dtype.name}")
    if len(idx.shape) != len(x.shape) or any(
            a is not None and b is not None and a != b
            for d, (a, b) in enumerate(zip(idx.shape, x.shape)) if d != axis):
        raise errors.InvalidArgumentError(
            f"{name}: indices of shape {fmt_shape(idx.shape)} do not match the tensor of "
            f"shape {fmt_shape(x.shape)} outside axis {axis}")


def _taa_infer(types, axis):
    x, idx = types
    _taa_check("take_along_axis", x, idx, axis)
    return Type(x.dtype, idx.shape)


def _check_range(name, idx, n):
    if idx.size and (idx.min() < 0 or idx.max() >= n):
        raise errors.OutOfRangeError(
            f"{name}: an index is out of range for an axis of size {n}")


def _taa_impl(x, idx, axis):
    _check_range("take_along_axis", idx, x.shape[axis])
    return np.take_along_axis(x, idx.astype(np.int64), axis)


def _taag_infer(types, axis, unique=False):
    g, idx, like = types
    _taa_check("take_along_axis_grad", like, idx, axis)
    if len(g.shape) != len(idx.shape) or any(a is not None and b is not None and a != b
                                             for a, b in zip(g.shape, idx.shape)):
        raise errors.InvalidArgumentError(  # the compiled kernel reads g by idx's shape
            f"take_along_axis_grad: the gradient has shape {fmt_shape(g.shape)} but the "
            f"indices {fmt_shape(idx.shape)}; they must match")
    return Type(g.dtype, like.shape)


def _taag_impl(g, idx, like, axis, unique=False):
    _check_range("take_along_axis_grad", idx, like.shape[axis])
    out = np.zeros(like.shape, g.dtype)
    grid = list(np.indices(idx.shape, sparse=True))
    grid[axis] = idx.astype(np.int64)
    np.add.at(out, tuple(grid), g)
    return out


register(Op("take_along_axis", _taa_infer, _taa_impl, kind="shape", unify=(),
            grad=lambda i, o, g, axis: [apply("take_along_axis_grad", g[0], i[1], i[0],
                                              axis=axis), None],
            doc="x at indices along an axis (np.take_along_axis); sort's gradients use it"))
register(Op("take_along_axis_grad", _taag_infer, _taag_impl, kind="shape", unify=(),
            grad=lambda i, o, g, axis, unique=False: [
                apply("take_along_axis", g[0], i[1], axis=axis), None, None],
            doc="g added into zeros shaped like input 2 at indices along an axis; "
                "unique: no index repeats along the axis (sort's), so rows scatter in parallel"))


# ----------------------------------------------------------------------------- public API

_DIRECTIONS = ("ASCENDING", "DESCENDING")


def _sorted(name, values, axis, direction):
    if direction not in _DIRECTIONS:
        raise errors.InvalidArgumentError(errors.at_user_line(
            f"{name}: direction must be 'ASCENDING' or 'DESCENDING', got {direction!r}"))
    x = as_tensor(values, name)
    try:
        axis = int(axis)
        _check_axis(name, x.shape, axis)
        _check_dtype(name, x.dtype)
        return apply("sort", x, axis=axis % len(x.shape),
                     descending=direction == "DESCENDING")
    except errors.InvalidArgumentError as e:
        msg = str(e)
        msg = name + msg[4:] if msg.startswith("sort:") else msg
        raise type(e)(errors.at_user_line(msg)) from None


def sort(values, axis=-1, direction="ASCENDING", name=None):
    """The values sorted along ``axis`` (NaN is the largest value).

    >>> jg.sort([3, 1, 2], direction="DESCENDING")  # [3, 2, 1]
    """
    return _sorted("sort", values, axis, direction)[0]


def argsort(values, axis=-1, direction="ASCENDING", stable=False, name=None):
    """int32 indices that sort ``values`` along ``axis``; always stable (equal values keep
    their order, in both directions), whatever ``stable`` says.

    >>> jg.argsort([3., 1., 2.])  # [1, 2, 0]
    """
    return _sorted("argsort", values, axis, direction)[1]


def _static_k(k, name):
    read = getattr(k, "_jg_read", None)
    k = read() if read is not None else k
    if getattr(k, "_symbolic", False):
        raise errors.InvalidArgumentError(errors.at_user_line(
            f"{name}: k must be known when tracing (a Python int or an eager tensor), got a "
            "symbolic tensor; pass k as a Python int"))
    try:
        kv = np.asarray(k.numpy() if hasattr(k, "numpy") else k)
    except Exception:  # noqa: BLE001 - reported below
        kv = np.asarray(None)
    if kv.shape != () or kv.dtype.kind not in "iu":
        raise errors.InvalidArgumentError(errors.at_user_line(
            f"{name}: k must be a scalar integer, got {k!r}"))
    if int(kv) < 0:
        raise errors.InvalidArgumentError(errors.at_user_line(
            f"{name}: k must be >= 0, got {int(kv)}"))
    return int(kv)


def top_k(input, k=1, sorted=True, index_type=_dt.int32, name=None):  # noqa: A002 - TF's names
    """The ``k`` largest entries along the last axis and their indices (``index_type``,
    int32 or int64), largest first; on ties the lower index comes first (NaN counts as the
    largest). The result has ``.values`` and ``.indices`` and unpacks as a pair.
    ``sorted=False`` returns them sorted too.

    >>> values, indices = jg.math.top_k([1., 5., 3.], k=2)  # [5., 3.], [1, 2]
    """
    kk = _static_k(k, "top_k")
    index_type = _dt.as_dtype(index_type)
    if index_type not in (_dt.int32, _dt.int64):
        raise errors.InvalidArgumentError(errors.at_user_line(
            f"top_k: index_type must be int32 or int64, got {index_type.name}"))
    x = as_tensor(input, "top_k")
    try:
        values, indices = apply("top_k", x, k=kk)
    except errors.InvalidArgumentError as e:
        raise type(e)(errors.at_user_line(str(e))) from None
    if index_type is _dt.int64:
        indices = apply("cast", indices, dtype=_dt.int64)
    return TopKV2(values, indices)


def in_top_k(targets, predictions, k, name=None):
    """Whether ``predictions[i, targets[i]]`` is among the ``k`` largest of row i (bool
    [batch]); classes tied at the boundary all count as in the top k, and a target out of
    range or a row with a non-finite prediction gives False, as TensorFlow's in_top_k.

    >>> jg.math.in_top_k([1, 0], [[0.1, 0.9], [0.3, 0.7]], 1)  # [True, False]
    """
    from . import cast, expand_dims, logical_and, reduce_all, reduce_sum, where
    from .elementwise import greater, greater_equal, is_finite, less

    p = as_tensor(predictions, "in_top_k")
    t = as_tensor(targets, "in_top_k")
    if not p.dtype.is_floating or len(p.shape) != 2:
        raise errors.InvalidArgumentError(errors.at_user_line(
            f"in_top_k: predictions must be a float matrix [batch, classes], got "
            f"{p.dtype.name}{fmt_shape(p.shape)}"))
    if not t.dtype.is_integer or len(t.shape) != 1:
        raise errors.InvalidArgumentError(errors.at_user_line(
            f"in_top_k: targets must be an int vector [batch], got "
            f"{t.dtype.name}{fmt_shape(t.shape)}"))
    kk = _static_k(k, "in_top_k")
    n = p.shape[1]
    if n is None:
        from .shape import shape

        n = shape(p, out_type=t.dtype)[1]
    valid = logical_and(greater_equal(t, 0), less(t, n))
    safe = where(valid, t, 0)
    target = apply("take_along_axis", p, expand_dims(safe, 1), axis=1)
    above = reduce_sum(cast(greater(p, target), _dt.int32), axis=1)
    ok = logical_and(valid, reduce_all(is_finite(p), axis=1))
    return logical_and(ok, less(above, kk))


__all__ = ["sort", "argsort"]
