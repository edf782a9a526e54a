"""TensorFlow's array functions built from other ops (no op records of their own): ``roll``,
``meshgrid``, ``identity_n``, ``ensure_shape``, ``bincount``, and the segment reductions
``unsorted_segment_max/min/prod`` and ``segment_max/min``.

The segment reductions compare every element with every segment id (a ``[segments, n]``
mask, then ``reduce_max``/``min``/``prod`` over ``n``), so they cost ``segments * n``
memory and time; their gradients are the reductions' (ties share the gradient equally, as
in TensorFlow). Empty segments give the dtype's lowest (max) / highest (min) value or 1
(prod), as TensorFlow. Negative ids are dropped (TensorFlow's rule); ids >= num_segments
raise ``InvalidArgumentError``, inside a jg.function when it runs (an ``assert`` op, see
ops/check.py), as do negative values given to ``bincount``.
"""

import numpy as np

from .. import dtypes as _dt
from .. import errors, tracing
from .assemble import concat
from .assemble import range as _range
from .core import apply, as_tensor
from .elementwise import cast, equal, where
from .indexing import _getitem
from .reduce import reduce_all, reduce_max, reduce_min, reduce_prod
from .shape import broadcast_to, expand_dims, reshape
from .state import identity


def _static_ints(v, what, arg):
    """A Python int or list of ints from ``v`` (int, list, NumPy, eager tensor)."""
    if hasattr(v, "_symbolic") and v._symbolic:
        raise errors.UnimplementedError(errors.at_user_line(
            f"{what}: '{arg}' must be known when tracing (Python ints or a constant); values "
            f"computed at run time are not supported"))
    a = np.asarray(v.numpy() if hasattr(v, "numpy") else v)
    if a.dtype.kind not in "iu":
        raise errors.InvalidArgumentError(f"{what}: '{arg}' must be integers, got {a!r}")
    return a.tolist()


def roll(input, shift, axis, name=None):  # noqa: A002
    """``jg.roll(x, shift, axis)``: elements shifted along ``axis`` by ``shift`` places,
    wrapping around (``shift`` and ``axis`` ints or equal-length lists; shifts of a repeated
    axis add up, as in TensorFlow).

    >>> jg.roll([0, 1, 2, 3, 4], shift=2, axis=0)  # [3, 4, 0, 1, 2]
    """
    x = as_tensor(input, "roll")
    shifts, axes = _static_ints(shift, "roll", "shift"), _static_ints(axis, "roll", "axis")
    shifts = [shifts] if isinstance(shifts, int) else shifts
    axes = [axes] if isinstance(axes, int) else axes
    if len(shifts) != len(axes):
        raise errors.InvalidArgumentError(
            f"roll: shift and axis must have the same length, got shift={shifts} and "
            f"axis={axes}")
    rank = len(x.shape)
    total = {}
    for s, a in zip(shifts, axes):
        if not -rank <= a < rank:
            raise errors.InvalidArgumentError(
                f"roll: axis {a} is out of range for a tensor of shape {list(x.shape)}")
        total[a % rank] = total.get(a % rank, 0) + s
    for a, s in sorted(total.items()):
        n = x.shape[a]
        if n is None:
            raise errors.InvalidArgumentError(
                f"roll: axis {a} of {list(x.shape)} must have a known size when tracing; "
                f"give it in an input_signature")
        k = s % n if n else 0
        if k:
            head = [slice(None)] * a
            x = concat([_getitem(x, tuple(head + [slice(n - k, None)])),
                        _getitem(x, tuple(head + [slice(0, n - k)]))], axis=a)
    return x


def meshgrid(*args, **kwargs):
    """``jg.meshgrid(x, y, indexing="xy")``: N-D coordinate grids from 1-D tensors; with
    ``"xy"`` (default) the first two output axes are swapped (Cartesian), with ``"ij"``
    they follow the inputs (matrix indexing)."""
    indexing = kwargs.pop("indexing", "xy")
    kwargs.pop("name", None)
    if kwargs:
        raise TypeError(f"meshgrid: unexpected keyword arguments {sorted(kwargs)}")
    if indexing not in ("xy", "ij"):
        raise errors.InvalidArgumentError(
            f"meshgrid: indexing must be 'xy' or 'ij', got {indexing!r}")
    xs = [reshape(as_tensor(a, "meshgrid"), [-1]) for a in args]
    if not xs:
        return []
    sizes = [x.shape[0] for x in xs]
    if any(s is None for s in sizes):
        raise errors.InvalidArgumentError(
            f"meshgrid: the inputs' lengths {sizes} must be known when tracing")
    n = len(xs)
    out_shape = list(sizes)
    if indexing == "xy" and n > 1:
        out_shape[0], out_shape[1] = out_shape[1], out_shape[0]
    outs = []
    for i, x in enumerate(xs):
        pos = i
        if indexing == "xy" and n > 1 and i < 2:
            pos = 1 - i
        shape = [1] * n
        shape[pos] = sizes[i]
        outs.append(broadcast_to(reshape(x, shape), out_shape))
    return outs


def identity_n(input, name=None):  # noqa: A002
    """A list of identities of the tensors in ``input``."""
    return [identity(as_tensor(t, "identity_n")) for t in input]


def ensure_shape(x, shape, name=None):
    """``x`` if its shape is compatible with ``shape`` (``None`` entries match any size);
    else ``InvalidArgumentError`` naming both shapes. Inside a jg.function, dims unknown
    when tracing that ``shape`` fixes are checked each time the function runs, and the
    result has them as static dims (when at most one dim stays unknown)."""
    from ..tensor import TensorShape
    from .elementwise import equal
    from .indexing import gather
    from .shape import shape as _shape

    x = as_tensor(x, "ensure_shape")
    want = shape.as_list() if isinstance(shape, TensorShape) else shape
    if want is None:
        return x
    want = [None if d is None or (isinstance(d, int) and d < 0) else int(d) for d in want]
    have = list(x.shape)
    text = f"ensure_shape: shape of tensor {have} is not compatible with expected shape {want}"
    ok = len(want) == len(have) and all(
        w is None or h is None or w == h for w, h in zip(want, have))
    if not ok:
        raise errors.InvalidArgumentError(errors.at_user_line(text))
    pins = [i for i, (w, h) in enumerate(zip(want, have)) if w is not None and h is None]
    if not pins:
        return x
    got = gather(_shape(x), np.array(pins, np.int32))
    apply("assert", reduce_all(equal(got, np.array([want[i] for i in pins], np.int32))),
           message=errors.at_user_line(f"{text} when the function ran"))
    if sum(w is None and h is None for w, h in zip(want, have)) > 1:
        return x
    return reshape(x, [-1 if w is None and h is None else (w if w is not None else h)
                       for w, h in zip(want, have)])


# ----------------------------------------------------------------------------- counting, segments


def _eager_values(t, what, hint):
    if tracing.current_graph() is not None or t._symbolic:
        raise errors.InvalidArgumentError(errors.at_user_line(
            f"{what}: inside a jg.function {hint}"))
    return t.numpy()


def bincount(arr, weights=None, minlength=None, maxlength=None, dtype=_dt.int32, name=None,
             axis=None, binary_output=False):
    """``jg.math.bincount([1, 1, 3])`` = ``[0, 2, 0, 1]``: how often each value in ``arr``
    occurs (or the sum of ``weights`` at its positions); values at or above ``maxlength``
    are ignored. Inside a jg.function the output length must be static: give ``minlength
    == maxlength``."""
    a = as_tensor(arr, "bincount")
    if not a.dtype.is_integer:
        raise errors.InvalidArgumentError(
            f"bincount: arr must be int32 or int64, got {a.dtype.name}")
    if axis not in (None, 0, -1) or binary_output:
        raise errors.UnimplementedError("bincount: axis and binary_output are not supported")
    if minlength is not None and maxlength is not None and int(minlength) == int(maxlength):
        size = int(minlength)
    else:
        v = _eager_values(a, "bincount", "give minlength == maxlength: the number of bins "
                                         "would depend on arr's values")
        if v.size and v.min() < 0:
            raise errors.InvalidArgumentError(
                f"bincount: arr must be non-negative, got the value {int(v.min())}")
        size = int(v.max()) + 1 if v.size else 0
        if minlength is not None:
            size = max(size, int(minlength))
        if maxlength is not None:
            size = min(size, int(maxlength))
    if not a._symbolic:
        v = a.numpy()
        if v.size and v.min() < 0:
            raise errors.InvalidArgumentError(
                f"bincount: arr must be non-negative, got the value {int(v.min())}")
    else:
        apply("assert", reduce_all(a >= 0), message=errors.at_user_line(
            "bincount: arr must be non-negative (a negative value when the function ran)"))
    flat = reshape(a, [-1])
    keep = (flat >= 0) & (flat < size)
    if weights is None:
        w = cast(keep, _dt.as_dtype(dtype))
    else:
        w = reshape(as_tensor(weights, "bincount"), [-1])
        w = where(keep, w, 0)
    from .composite import unsorted_segment_sum

    return unsorted_segment_sum(w, where(keep, flat, 0), size)


def _segment_masked(data, segment_ids, num_segments, what, fill):
    d = as_tensor(data, what)
    ids = as_tensor(segment_ids, what)
    if not ids.dtype.is_integer:
        raise errors.InvalidArgumentError(
            f"{what}: segment_ids must be int32 or int64, got {ids.dtype.name}")
    k = int(_static_ints(num_segments, what, "num_segments"))
    r = len(ids.shape)
    if list(d.shape[:r]) != list(ids.shape) and None not in list(d.shape[:r]) + list(ids.shape):
        raise errors.InvalidArgumentError(
            f"{what}: segment_ids {list(ids.shape)} must be a prefix of data's shape "
            f"{list(d.shape)}")
    if not ids._symbolic:
        v = ids.numpy()
        if v.size and v.max() >= k:
            raise errors.InvalidArgumentError(errors.at_user_line(
                f"{what}: segment id {int(v.max())} is out of range [0, {k})"))
    else:
        apply("assert", reduce_all(ids < k), message=errors.at_user_line(
            f"{what}: a segment id is out of range [0, {k}) (when the function ran)"))
    rest = list(d.shape[r:])
    if any(s is None for s in rest):
        raise errors.InvalidArgumentError(
            f"{what}: data's dims after the ids' {rest} must be known when tracing")
    flat_d = reshape(d, [-1] + rest)
    flat_i = reshape(ids, [-1])
    segs = _range(0, k, dtype=flat_i.dtype)
    mask = equal(expand_dims(segs, 1), expand_dims(flat_i, 0))  # [k, n]
    mask = reshape(mask, [k, -1] + [1] * len(rest))
    lim = np.array(fill, d.dtype.np)
    return where(mask, expand_dims(flat_d, 0), lim), flat_d


def _lowest(dtype):
    return np.finfo(dtype.np).min if dtype.is_floating else np.iinfo(dtype.np).min


def _highest(dtype):
    return np.finfo(dtype.np).max if dtype.is_floating else np.iinfo(dtype.np).max


def unsorted_segment_max(data, segment_ids, num_segments, name=None):
    """``out[k] = max of data[i]`` over the ``i`` with ``segment_ids[i] == k``; the dtype's
    lowest value for an empty segment."""
    d = as_tensor(data, "unsorted_segment_max")
    m, _ = _segment_masked(d, segment_ids, num_segments, "unsorted_segment_max",
                           _lowest(d.dtype))
    return reduce_max(m, axis=1)


def unsorted_segment_min(data, segment_ids, num_segments, name=None):
    """``out[k] = min of data[i]`` over the ``i`` with ``segment_ids[i] == k``; the dtype's
    highest value for an empty segment."""
    d = as_tensor(data, "unsorted_segment_min")
    m, _ = _segment_masked(d, segment_ids, num_segments, "unsorted_segment_min",
                           _highest(d.dtype))
    return reduce_min(m, axis=1)


def unsorted_segment_prod(data, segment_ids, num_segments, name=None):
    """``out[k] = product of data[i]`` over the ``i`` with ``segment_ids[i] == k``; 1 for an
    empty segment."""
    m, _ = _segment_masked(data, segment_ids, num_segments, "unsorted_segment_prod", 1)
    return reduce_prod(m, axis=1)


def _sorted_count(segment_ids, what):
    ids = as_tensor(segment_ids, what)
    v = _eager_values(ids, what, f"use unsorted_{what} and give num_segments: the number "
                                 f"of segments would depend on the ids' values")
    v = v.ravel()
    if v.size and (np.any(np.diff(v) < 0) or v[0] < 0):
        raise errors.InvalidArgumentError(
            f"{what}: segment_ids must be sorted and non-negative, got {v.tolist()[:10]}")
    return ids, int(v.max()) + 1 if v.size else 0


def segment_max(data, segment_ids, name=None):
    """unsorted_segment_max over sorted ids with ``max(segment_ids) + 1`` segments (eager;
    inside a jg.function use unsorted_segment_max with num_segments)."""
    ids, k = _sorted_count(segment_ids, "segment_max")
    return unsorted_segment_max(data, ids, k)


def segment_min(data, segment_ids, name=None):
    """unsorted_segment_min over sorted ids with ``max(segment_ids) + 1`` segments."""
    ids, k = _sorted_count(segment_ids, "segment_min")
    return unsorted_segment_min(data, ids, k)


# roll, meshgrid, identity_n, ensure_shape are top-level (jg.*); the rest are jg.math
__all__ = ["roll", "meshgrid", "identity_n", "ensure_shape"]
