"""Ops whose result shape depends on the values: ``where(condition)`` with one argument,
``boolean_mask``, ``unique`` and ``unique_with_counts``.

They run eagerly (the shape is computed from the values with NumPy, then the data moves
through ``gather``, so ``boolean_mask`` has gradients on a GradientTape).
Compiled code plans its buffers from shapes known when tracing, so inside a
``jg.function`` they raise ``UnimplementedError`` saying what to use instead: a
fixed-shape form (``jg.where(mask, x, 0)``, multiplying by the mask, ``jg.math.bincount``
with ``minlength``) or ``jg.config.run_functions_eagerly(True)``.

>>> jg.where([True, False, True])             # [[0], [2]] (int64)
>>> jg.boolean_mask([1, 2, 3], [True, False, True])   # [1, 3]
>>> y, idx = jg.unique([1, 1, 2, 4, 4, 4, 7, 8, 8])   # [1 2 4 7 8], [0 0 1 2 2 2 3 4 4]
"""

import collections

import numpy as np

from .. import dtypes as _dt
from .. import errors
from .core import as_tensor
from .indexing import gather
from .shape import reshape

Unique = collections.namedtuple("Unique", ["y", "idx"])
UniqueWithCounts = collections.namedtuple("UniqueWithCounts", ["y", "idx", "count"])

_INSTEAD = {
    "where": "jg.where(condition, x, y) with the same shape as condition",
    "boolean_mask": "jg.where(mask, x, jg.zeros_like(x)) or x * jg.cast(mask, x.dtype), "
                    "which keep the shape",
    "unique": "jg.math.bincount(x, minlength=n, maxlength=n) for counts of values in [0, n)",
}
_INSTEAD["unique_with_counts"] = _INSTEAD["unique"]


def _eager_value(t, op):
    """The NumPy value of ``t``; inside a jg.function the error that names ``op``."""
    from .. import tracing

    if tracing.current_graph() is not None or getattr(t, "_symbolic", False):
        raise errors.UnimplementedError(errors.at_user_line(
            f"{op}: its result's shape depends on the values of {getattr(t, 'name', 'x')} "
            f"({t.dtype.name}{list(t.shape)}), and compiled code needs shapes known when "
            f"tracing; inside a jg.function use {_INSTEAD[op.split('(')[0]]}, or call "
            f"{op.split('(')[0]} outside the function (or debug with "
            f"jg.config.run_functions_eagerly(True))"))
    return np.asarray(t.numpy())


def where_indices(condition):
    """``jg.where(condition)``: the coordinates of the true (non-zero) elements, int64
    [num_true, rank], in row-major order."""
    c = as_tensor(condition, "where")
    v = _eager_value(c, "where(condition)")
    return as_tensor(np.argwhere(v).astype(np.int64), "where")


def boolean_mask(tensor, mask, axis=None, name=None):
    """The elements (or slices) of ``tensor`` where ``mask`` is True: ``mask`` covers the
    dims ``axis .. axis + mask.rank - 1`` of ``tensor``, which become one dim of the
    number of True values (TensorFlow's rule)."""
    t = as_tensor(tensor, "boolean_mask")
    m = as_tensor(mask, "boolean_mask")
    mv = _eager_value(m, "boolean_mask")
    _eager_value(t, "boolean_mask")
    if m.dtype != _dt.bool_:
        raise errors.InvalidArgumentError(errors.at_user_line(
            f"boolean_mask: mask must be bool, got {m.dtype.name}; compare it first (e.g. "
            f"x > 0)"))
    axis = 0 if axis is None else int(axis)
    rank, k = len(t.shape), mv.ndim
    if axis < 0:
        axis += rank
    if k == 0 or not 0 <= axis <= rank - k or tuple(t.shape[axis:axis + k]) != mv.shape:
        raise errors.InvalidArgumentError(errors.at_user_line(
            f"boolean_mask: mask of shape {list(mv.shape)} does not match tensor of shape "
            f"{list(t.shape)} at axis {axis}: the mask must cover dims {axis}.."
            f"{axis + k - 1} of the tensor with the same sizes"))
    shape = list(t.shape)
    lead, rest = shape[:axis], shape[axis + k:]
    flat = reshape(t, [int(np.prod(lead, dtype=np.int64))] + [-1] + rest) if lead else \
        reshape(t, [-1] + rest)
    picked = gather(flat, np.flatnonzero(mv).astype(np.int32), axis=1 if lead else 0)
    return reshape(picked, lead + [int(mv.sum())] + rest)


def _unique(x, out_idx, op):
    t = as_tensor(x, op)
    v = _eager_value(t, op)
    if v.ndim != 1:
        raise errors.InvalidArgumentError(errors.at_user_line(
            f"{op}: x must be a vector, got shape {list(v.shape)}; reshape it with "
            f"jg.reshape(x, [-1])"))
    u, first, inv, counts = np.unique(v, return_index=True, return_inverse=True,
                                      return_counts=True)
    order = np.argsort(first, kind="stable")  # TensorFlow: order of first occurrence
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    idt = _dt.as_dtype(out_idx)
    return (gather(t, first[order].astype(np.int64)), as_tensor(rank[inv].astype(idt.np), op),
            as_tensor(counts[order].astype(idt.np), op))


def unique(x, out_idx=_dt.int32, name=None):
    """``(y, idx)``: the distinct values of vector ``x`` in order of first occurrence, and
    for each element of ``x`` the position of its value in ``y``."""
    y, idx, _ = _unique(x, out_idx, "unique")
    return Unique(y, idx)


def unique_with_counts(x, out_idx=_dt.int32, name=None):
    """``(y, idx, count)``: ``unique`` plus how often each value of ``y`` occurs."""
    return UniqueWithCounts(*_unique(x, out_idx, "unique_with_counts"))


__all__ = ["boolean_mask", "unique", "unique_with_counts"]
