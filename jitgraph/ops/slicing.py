"""The functions of TensorFlow's "Tensor slicing" guide that are compositions of the indexing
ops (no op records of their own): ``slice``, ``strided_slice`` (its bit masks become a
``__getitem__`` key), ``gather`` and ``gather_nd`` with ``batch_dims`` (the batch coordinates
folded into the indices), ``tensor_scatter_nd_min``/``max`` (a segment min/max of the
updates per target slice, then ``minimum``/``maximum`` with the tensor).

Begins, sizes, ends, strides and the shapes ``batch_dims`` folds must be known when tracing
(Python ints, lists or constants); otherwise the error says so and names the argument.
"""

import builtins

import numpy as np

from .. import errors
from .assemble import concat
from .core import as_tensor
from .elementwise import maximum, minimum
from .indexing import _getitem, gather, gather_nd
from .manip import _static_ints, unsorted_segment_max, unsorted_segment_min
from .reduce import reduce_sum
from .shape import broadcast_to, reshape, transpose


def slice(input_, begin, size, name=None):  # noqa: A001 - TensorFlow's name
    """``size[i]`` elements of ``input_`` from ``begin[i]`` on each axis (``-1``: to the end).

    >>> jg.slice(jg.constant([0, 1, 2, 3, 4]), begin=[1], size=[3])  # [1, 2, 3]
    """
    x = as_tensor(input_, "slice")
    b = _static_ints(begin, "slice", "begin")
    s = _static_ints(size, "slice", "size")
    if len(b) != x.ndim or len(s) != x.ndim:
        raise errors.InvalidArgumentError(
            f"slice: begin {b} and size {s} need one entry per axis of the input of shape "
            f"{x.shape} (rank {x.ndim})")
    key = []
    for axis, (start, n, d) in enumerate(zip(b, s, x.shape.as_list())):
        if start < 0 or (d is not None and start > d):
            raise errors.InvalidArgumentError(
                f"slice: begin[{axis}] = {start} is outside [0, {d}] for the input of shape "
                f"{x.shape}")
        if n == -1:
            key.append(builtins.slice(start, None))
            continue
        if n < 0 or (d is not None and start + n > d):
            raise errors.InvalidArgumentError(
                f"slice: begin[{axis}] + size[{axis}] = {start} + {n} exceeds dimension "
                f"{axis} (size {d}) of the input of shape {x.shape}; use size -1 for 'to the "
                f"end'")
        key.append(builtins.slice(start, start + n))
    return _getitem(x, tuple(key))


def strided_slice(input_, begin, end, strides=None, begin_mask=0, end_mask=0,
                  ellipsis_mask=0, new_axis_mask=0, shrink_axis_mask=0, var=None,
                  name=None):
    """``input_[begin:end:strides]`` spelled as lists, with TensorFlow's bit masks: bit i of
    ``begin_mask``/``end_mask`` ignores ``begin[i]``/``end[i]``, ``ellipsis_mask`` makes entry
    i ``...``, ``new_axis_mask`` a new axis, ``shrink_axis_mask`` an index (``begin[i]``).

    >>> t = jg.reshape(jg.range(24), [2, 3, 4])
    >>> jg.strided_slice(t, [0, 0, 0], [2, 2, 4], [1, 1, 2])  # t[0:2, 0:2, 0:4:2]
    """
    x = as_tensor(input_, "strided_slice")
    b = _static_ints(begin, "strided_slice", "begin")
    e = _static_ints(end, "strided_slice", "end")
    s = [1] * len(b) if strides is None else _static_ints(strides, "strided_slice", "strides")
    if not len(b) == len(e) == len(s):
        raise errors.InvalidArgumentError(
            f"strided_slice: begin {b}, end {e} and strides {s} must have the same length")
    if 0 in s:
        raise errors.InvalidArgumentError(f"strided_slice: strides {s} contain a 0")
    key = []
    for i, (start, stop, step) in enumerate(zip(b, e, s)):
        bit = 1 << i
        if ellipsis_mask & bit:
            key.append(Ellipsis)
        elif new_axis_mask & bit:
            key.append(None)
        elif shrink_axis_mask & bit:
            key.append(start)
        else:
            key.append(builtins.slice(None if begin_mask & bit else start,
                                      None if end_mask & bit else stop, step))
    return _getitem(x, tuple(key))


def _known_shape(t, what, arg):
    dims = t.shape.as_list()
    if any(d is None for d in dims):
        raise errors.UnimplementedError(errors.at_user_line(
            f"{what} with batch_dims: '{arg}' has shape {t.shape} with dims unknown when "
            f"tracing; give the jg.function an input_signature with static shapes"))
    return dims


def batch_gather(params, indices, axis, batch_dims):
    """``gather`` with ``batch_dims`` leading dims shared by ``params`` and ``indices``: the
    batch is flattened into the gathered axis, and the indices offset per batch entry."""
    p = as_tensor(params, "gather")
    i = as_tensor(indices, "gather")
    if batch_dims < 0:
        batch_dims += i.ndim
    axis = batch_dims if axis is None else (axis + p.ndim if axis < 0 else axis)
    ps, is_ = _known_shape(p, "gather", "params"), _known_shape(i, "gather", "indices")
    if not 0 <= batch_dims <= min(axis, i.ndim) or ps[:batch_dims] != is_[:batch_dims]:
        raise errors.InvalidArgumentError(
            f"gather: batch_dims={batch_dims} needs the first {batch_dims} dims of params "
            f"{ps} and indices {is_} to match and axis ({axis}) >= batch_dims")
    batch, pre, a, post = (ps[:batch_dims], ps[batch_dims:axis], ps[axis], ps[axis + 1:])
    n = int(np.prod(batch, dtype=np.int64))
    nb, npre = batch_dims, len(pre)
    # params as [n * a, pre..., post...]: batch entry k's axis is rows k*a .. k*a + a - 1
    perm = list(range(nb)) + [axis] + list(range(nb, axis)) + list(range(axis + 1, p.ndim))
    flat = reshape(transpose(p, perm), [n * a] + pre + post)
    inner = is_[batch_dims:]
    offs = np.arange(n, dtype=i.dtype.np).reshape([n] + [1] * len(inner)) * a
    idx = reshape(i, [n] + inner) + offs
    g = gather(flat, idx, axis=0)  # [n, inner..., pre..., post...]
    ni = len(inner)
    order = ([0] + list(range(1 + ni, 1 + ni + npre)) + list(range(1, 1 + ni))
             + list(range(1 + ni + npre, 1 + ni + npre + len(post))))
    return reshape(transpose(g, order), batch + pre + inner + post)


def batch_gather_nd(params, indices, batch_dims):
    """``gather_nd`` with ``batch_dims`` leading dims shared by ``params`` and ``indices``:
    each index tuple gets its batch coordinates prepended."""
    p = as_tensor(params, "gather_nd")
    i = as_tensor(indices, "gather_nd")
    ps, is_ = _known_shape(p, "gather_nd", "params"), _known_shape(i, "gather_nd", "indices")
    if not 0 < batch_dims < min(p.ndim, i.ndim) or ps[:batch_dims] != is_[:batch_dims]:
        raise errors.InvalidArgumentError(
            f"gather_nd: batch_dims={batch_dims} needs the first {batch_dims} dims of params "
            f"{ps} and indices {is_} to match (and both ranks above batch_dims)")
    lead = is_[:-1]
    grids = np.indices(ps[:batch_dims], dtype=i.dtype.np)  # [batch_dims, batch...]
    coords = np.moveaxis(grids, 0, -1).reshape(
        ps[:batch_dims] + [1] * (len(lead) - batch_dims) + [batch_dims])
    full = concat([broadcast_to(coords, lead + [batch_dims]), i], axis=-1)
    return gather_nd(p, full)


def _scatter_extreme(what, tensor, indices, updates, seg, combine):
    t = as_tensor(tensor, what)
    idx = as_tensor(indices, what)
    u = as_tensor(updates, what, t.dtype)
    ts, ks = _known_shape(t, what, "tensor"), _known_shape(idx, what, "indices")
    k = ks[-1]
    rows = int(np.prod(ts[:k], dtype=np.int64))
    slab = ts[k:]
    m = int(np.prod(ks[:-1], dtype=np.int64))
    strides = np.array([int(np.prod(ts[j + 1:k], dtype=np.int64)) for j in range(k)],
                       dtype=idx.dtype.np)
    lin = reduce_sum(reshape(idx, [m, k]) * strides, axis=1)
    per_row = seg(reshape(u, [m] + slab), lin, rows)  # empty rows: the identity of combine
    return reshape(combine(reshape(t, [rows] + slab), per_row), ts)


def tensor_scatter_nd_min(tensor, indices, updates, name=None):
    """A copy of ``tensor`` where each element at ``indices`` becomes the minimum of itself
    and the updates aimed at it.

    >>> jg.tensor_scatter_nd_min([1, 5, 3], [[1], [1]], [4, 2])  # [1, 2, 3]
    """
    return _scatter_extreme("tensor_scatter_nd_min", tensor, indices, updates,
                            unsorted_segment_min, minimum)


def tensor_scatter_nd_max(tensor, indices, updates, name=None):
    """A copy of ``tensor`` where each element at ``indices`` becomes the maximum of itself
    and the updates aimed at it."""
    return _scatter_extreme("tensor_scatter_nd_max", tensor, indices, updates,
                            unsorted_segment_max, maximum)


__all__ = ["slice", "strided_slice", "tensor_scatter_nd_min", "tensor_scatter_nd_max"]
