"""TensorFlow's top-level array functions built from other ops (no op records of their
own): ``reverse_sequence``, ``unravel_index``, ``repeat``, ``dynamic_partition``,
``dynamic_stitch``, ``histogram_fixed_width``, ``histogram_fixed_width_bins``,
``space_to_batch``, ``space_to_batch_nd``, ``batch_to_space``, ``realdiv``,
``truncatediv``, ``saturate_cast``, ``shape_n``, ``parallel_stack``,
``broadcast_static_shape`` and ``broadcast_dynamic_shape``.

Data moves through ``gather`` with index tables computed when tracing, so gradients flow
back to the elements that were picked. Where the output's shape depends on the values
(``dynamic_partition``; ``repeat`` and ``dynamic_stitch`` with values only known when the
function runs) the function works eagerly, and inside a ``jg.function`` with values known
when tracing (constants), else raises ``UnimplementedError`` saying what to do.

>>> jg.reverse_sequence([[1, 2, 3], [4, 5, 6]], [2, 3], seq_axis=1)  # [[2, 1, 3], [6, 5, 4]]
>>> jg.repeat([1, 2], 2)                                             # [1, 1, 2, 2]
"""

import numpy as np

from .. import dtypes as _dt
from .. import errors
from ..tensor import Tensor, TensorShape
from .assemble import concat, pad, stack
from .composite import unsorted_segment_sum
from .core import apply, as_tensor, broadcast_shapes, normalize_axis
from .elementwise import cast, ceil, clip_by_value, floor, floordiv, maximum, minimum, where
from .indexing import _getitem, gather
from .reduce import reduce_all
from .shape import reshape, transpose
from .shape import shape as _shape
from .static import static_value


def _fail(message):
    return errors.InvalidArgumentError(errors.at_user_line(message))


def _desc(t):
    return f"{t.dtype.name}{list(t.shape)}"


def _known_value(t, what, arg, instead):
    """The NumPy value of ``t`` when it is known now (eager, or a constant while tracing)."""
    if not isinstance(t, Tensor):
        return np.asarray(t)
    v = static_value(t) if t._symbolic else t.numpy()
    if v is None:
        raise errors.UnimplementedError(errors.at_user_line(
            f"{what}: the output's shape depends on the values of {arg} ({_desc(t)}), which "
            f"are known only when the function runs; {instead}"))
    return np.asarray(v)


def _dims(x, what):
    if any(d is None for d in x.shape):
        raise _fail(f"{what}: needs the shape of the input known when tracing, got "
                    f"{_desc(x)}; give it in the input_signature")
    return [int(d) for d in x.shape]


# ----------------------------------------------------------------------------- sequences


def reverse_sequence(input, seq_lengths, seq_axis=None, batch_axis=0, name=None):  # noqa: A002
    """Reverses the first ``seq_lengths[b]`` elements along ``seq_axis`` of each slice
    ``b`` along ``batch_axis``; the rest stay in place."""
    what = "reverse_sequence"
    x = as_tensor(input, what)
    lens = as_tensor(seq_lengths, what)
    if seq_axis is None:
        raise _fail(f"{what}: seq_axis must be given")
    if not lens.dtype.is_integer or lens.ndim != 1:
        raise _fail(f"{what}: seq_lengths must be a vector of int32 or int64, got "
                    f"{_desc(lens)}")
    sa, ba = (normalize_axis(a, x.ndim, what)[0] for a in (seq_axis, batch_axis))
    if sa == ba:
        raise _fail(f"{what}: seq_axis and batch_axis must differ, both are {sa}")
    dims = _dims(x, what)
    b, t = dims[ba], dims[sa]
    if lens.shape[0] is not None and lens.shape[0] != b:
        raise _fail(f"{what}: seq_lengths has {lens.shape[0]} entries but the input has "
                    f"{b} along batch_axis {ba} ({_desc(x)})")
    if not lens._symbolic:
        v = lens.numpy()
        if v.size and (v.max() > t or v.min() < 0):
            raise _fail(f"{what}: seq_lengths must be in [0, {t}] (the input's size along "
                        f"seq_axis {sa}), got {v.tolist()}")
    else:
        apply("assert", reduce_all((lens >= 0) & (lens <= t)), message=errors.at_user_line(
            f"{what}: a seq_length is outside [0, {t}] (when the function ran)"))
    rest = [a for a in range(x.ndim) if a not in (ba, sa)]
    perm = [ba, sa] + rest
    xt = reshape(transpose(x, perm), [b * t, -1])
    steps = as_tensor(np.arange(t, dtype=np.int32)[None, :], what)
    ln = cast(reshape(lens, [b, 1]), _dt.int32)
    rows = as_tensor(np.arange(b, dtype=np.int32)[:, None] * t, what)
    idx = where(steps < ln, ln - 1 - steps, steps + 0 * ln) + rows
    y = reshape(gather(xt, reshape(idx, [-1])), [dims[a] for a in perm])
    return transpose(y, list(np.argsort(perm)))


def unravel_index(indices, dims, name=None):
    """The coordinates of flat ``indices`` in an array of shape ``dims``: shape [len(dims)]
    + indices' shape (int32 or int64, as ``indices``); an index outside the array raises
    (eagerly)."""
    what = "unravel_index"
    idx = as_tensor(indices, what)
    if not idx.dtype.is_integer:
        raise _fail(f"{what}: indices must be int32 or int64, got {idx.dtype.name}")
    d = _known_value(as_tensor(dims, what, idx.dtype), what, "dims",
                     "give dims as Python ints")
    d = d.astype(np.int64).reshape(-1)
    if (d <= 0).any():
        raise _fail(f"{what}: dims must be positive, got {d.tolist()}")
    total = int(np.prod(d))
    if not idx._symbolic:
        v = idx.numpy()
        if v.size and (v.min() < 0 or v.max() >= total):
            raise _fail(f"{what}: an index is out of range for dims {d.tolist()} (valid: "
                        f"0..{total - 1}), got {v.tolist()}")
    strides = [int(np.prod(d[i + 1:])) for i in range(d.size)]
    parts = [floordiv(idx, int(s)) % int(n) for s, n in zip(strides, d)]
    return stack(parts, axis=0)


def repeat(input, repeats, axis=None, name=None):  # noqa: A002
    """Each element of ``input`` repeated ``repeats`` times along ``axis`` (the flattened
    input when ``axis`` is None); ``repeats`` an int or one per element along the axis.

    >>> jg.repeat([[1, 2], [3, 4]], [1, 2], axis=0)  # [[1, 2], [3, 4], [3, 4]]
    """
    what = "repeat"
    x = as_tensor(input, what)
    if axis is None:
        x = reshape(x, [-1])
        axis = 0
    ax = normalize_axis(axis, x.ndim, what)[0]
    n = x.shape[ax]
    if n is None:
        raise _fail(f"{what}: the input's size along axis {ax} must be known when tracing, "
                    f"got {_desc(x)}")
    r = _known_value(as_tensor(repeats, what), what, "repeats",
                     "give repeats as Python ints or constants")
    if r.dtype.kind not in "iu":
        raise _fail(f"{what}: repeats must be integers, got {r.dtype}")
    if r.ndim > 1 or (r.ndim == 1 and r.size not in (1, n)):
        raise _fail(f"{what}: repeats must be a scalar or have one entry per element along "
                    f"axis {ax} ({n}), got shape {list(r.shape)}")
    if (r < 0).any():
        raise _fail(f"{what}: repeats must not be negative, got {r.tolist()}")
    idx = np.repeat(np.arange(n, dtype=np.int32), r.reshape(-1) if r.ndim else int(r))
    return gather(x, idx, axis=ax)


def dynamic_partition(data, partitions, num_partitions, name=None):
    """``num_partitions`` tensors: output ``i`` holds the slices ``data[j]`` with
    ``partitions[j] == i``, in order (``partitions``' shape a prefix of ``data``'s). Their
    sizes depend on the values: eager, or with constant partitions inside a jg.function."""
    what = "dynamic_partition"
    d = as_tensor(data, what)
    p = as_tensor(partitions, what)
    if not p.dtype.is_integer:
        raise _fail(f"{what}: partitions must be int32, got {p.dtype.name}")
    pv = _known_value(p, what, "partitions",
                      "use jg.where(partitions == i, data, 0) to keep the shape, or call it "
                      "outside the jg.function")
    k = int(num_partitions)
    if list(d.shape[:pv.ndim]) != list(pv.shape):
        raise _fail(f"{what}: partitions' shape {list(pv.shape)} must be a prefix of data's "
                    f"shape {list(d.shape)}")
    if pv.size and (pv.min() < 0 or pv.max() >= k):
        raise _fail(f"{what}: partitions must be in [0, {k}), got {pv.ravel().tolist()[:20]}")
    rest = [int(s) for s in d.shape[pv.ndim:]]
    flat = reshape(d, [int(pv.size)] + rest)
    return [gather(flat, np.flatnonzero(pv.ravel() == i).astype(np.int32)) for i in range(k)]


def dynamic_stitch(indices, data, name=None):
    """Interleaves the ``data`` tensors: ``merged[indices[m][i]] = data[m][i]`` (a later
    ``m`` wins where indices repeat, as TensorFlow); ``max(indices) + 1`` rows. The
    indices' values must be known (eager, or constants inside a jg.function)."""
    what = "dynamic_stitch"
    if len(indices) != len(data) or not indices:
        raise _fail(f"{what}: needs one data tensor per indices tensor (got {len(indices)} "
                    f"indices and {len(data)} data)")
    ivals = [_known_value(as_tensor(i, what), what, "indices",
                          "use jg.scatter_nd with a known output shape instead")
             for i in indices]
    ds = [as_tensor(x, what) for x in data]
    rest = None
    rows = []
    for m, (iv, x) in enumerate(zip(ivals, ds)):
        if list(x.shape[:iv.ndim]) != list(iv.shape):
            raise _fail(f"{what}: data[{m}] {_desc(x)} must start with the shape of "
                        f"indices[{m}] {list(iv.shape)}")
        r = [int(s) for s in x.shape[iv.ndim:]]
        if rest is not None and r != rest:
            raise _fail(f"{what}: data[{m}]'s trailing shape {r} differs from {rest}")
        rest = r
        rows.append(reshape(x, [int(iv.size)] + r))
    flat_idx = np.concatenate([iv.ravel() for iv in ivals]).astype(np.int64)
    if flat_idx.size and flat_idx.min() < 0:
        raise _fail(f"{what}: indices must not be negative, got {int(flat_idx.min())}")
    size = int(flat_idx.max()) + 1 if flat_idx.size else 0
    source = np.zeros(size, np.int32)
    source[flat_idx] = np.arange(flat_idx.size, dtype=np.int32)  # the last writer wins
    filled = np.zeros(size, bool)
    filled[flat_idx] = True
    if not filled.all():
        raise _fail(f"{what}: indices must cover 0..{size - 1}; missing "
                    f"{np.flatnonzero(~filled).tolist()[:10]}")
    dt = ds[0].dtype
    return gather(concat([cast(r, dt) if r.dtype != dt else r for r in rows], axis=0), source)


# ----------------------------------------------------------------------------- histograms


def histogram_fixed_width_bins(values, value_range, nbins=100, dtype=_dt.int32, name=None):
    """The bin of each value among ``nbins`` equal bins over ``value_range`` [lo, hi]:
    ``floor(nbins * (v - lo) / (hi - lo))`` clipped to [0, nbins - 1] (values outside the
    range go to the end bins)."""
    what = "histogram_fixed_width_bins"
    v = as_tensor(values, what)
    if not (v.dtype.is_floating or v.dtype.is_integer):
        raise _fail(f"{what}: values must be numeric, got {v.dtype.name}")
    rng = as_tensor(value_range, what, v.dtype)
    if list(rng.shape) != [2]:
        raise _fail(f"{what}: value_range must have 2 entries [lo, hi], got {_desc(rng)}")
    n = int(nbins)
    if n <= 0:
        raise _fail(f"{what}: nbins must be positive, got {nbins}")
    ft = v.dtype if v.dtype.is_floating else _dt.float64
    vf, rf = cast(v, ft), cast(rng, ft)
    lo, hi = rf[0], rf[1]
    scaled = (vf - lo) / (hi - lo)
    idx = clip_by_value(floor(scaled * float(n)), 0.0, float(n - 1))
    return cast(idx, _dt.as_dtype(dtype))


def histogram_fixed_width(values, value_range, nbins=100, dtype=_dt.int32, name=None):
    """How many ``values`` fall in each of ``nbins`` equal bins over ``value_range`` [lo,
    hi] (values below go to the first bin, above to the last).

    >>> jg.histogram_fixed_width([-1.0, 0.0, 1.5, 2.0, 5.0, 15], [0.0, 5.0], nbins=5)
    """
    b = histogram_fixed_width_bins(values, value_range, nbins, _dt.int32)
    flat = reshape(b, [-1])
    out = _dt.as_dtype(dtype)
    return unsorted_segment_sum(cast(flat >= 0, out), flat, int(nbins))


# ----------------------------------------------------------------------------- space <-> batch


def _block(block_shape, what):
    b = _known_value(as_tensor(block_shape, what), what, "block_shape",
                     "give block_shape as Python ints").astype(np.int64).reshape(-1)
    if b.size == 0 or (b < 1).any():
        raise _fail(f"{what}: block_shape must be positive ints, got {b.tolist()}")
    return [int(a) for a in b]


def _pairs(value, m, what, arg):
    p = _known_value(as_tensor(value, what), what, arg, f"give {arg} as Python ints")
    p = p.astype(np.int64)
    if p.shape != (m, 2) or (p < 0).any():
        raise _fail(f"{what}: {arg} must be {m} non-negative [before, after] pairs, got "
                    f"{p.tolist()}")
    return [[int(a), int(b)] for a, b in p]


def _block_args(input, block_shape, pairs, what, pairs_name):  # noqa: A002
    """(tensor, block sizes, dims, [before, after] pairs) of space_to_batch_nd /
    batch_to_space, checked: rank >= 1 + the number of block dims."""
    x = as_tensor(input, what)
    bs = _block(block_shape, what)
    m = len(bs)
    if x.ndim < m + 1:
        raise _fail(f"{what}: the input must have rank >= {m + 1} for {m} block dims, got "
                    f"{_desc(x)}")
    return x, bs, _dims(x, what), _pairs(pairs, m, what, pairs_name)


def space_to_batch_nd(input, block_shape, paddings, name=None):  # noqa: A002
    """Zero-pads the M spatial dims after the batch dim by ``paddings`` and moves
    ``block_shape`` blocks of them into the batch: [B, s1, .., sM, rest] -> [B * prod(block),
    (s1 + p1) / b1, .., rest] (each padded size divisible by its block)."""
    what = "space_to_batch_nd"
    x, bs, dims, pads = _block_args(input, block_shape, paddings, what, "paddings")
    m = len(bs)
    xp = pad(x, [[0, 0]] + pads + [[0, 0]] * (x.ndim - m - 1))
    sizes = [dims[1 + i] + sum(pads[i]) for i in range(m)]
    bad = [i for i in range(m) if sizes[i] % bs[i]]
    if bad:
        raise _fail(f"{what}: the padded spatial size {sizes[bad[0]]} (dim {bad[0] + 1}) is "
                    f"not divisible by the block size {bs[bad[0]]}")
    rest = dims[m + 1:]
    shape = [dims[0]]
    for s, b in zip(sizes, bs):
        shape += [s // b, b]
    y = reshape(xp, shape + rest)
    perm = [2 + 2 * i for i in range(m)] + [0] + [1 + 2 * i for i in range(m)] + \
        list(range(1 + 2 * m, 1 + 2 * m + len(rest)))
    y = transpose(y, perm)
    return reshape(y, [dims[0] * int(np.prod(bs))] + [s // b for s, b in zip(sizes, bs)]
                   + rest)


def space_to_batch(input, block_shape, paddings, name=None):  # noqa: A002
    """``space_to_batch_nd`` (TensorFlow 2's ``tf.space_to_batch``)."""
    return space_to_batch_nd(input, block_shape, paddings)


def batch_to_space(input, block_shape, crops, name=None):  # noqa: A002
    """The inverse of space_to_batch_nd: [B * prod(block), d1, .., dM, rest] -> [B, d1 *
    b1 - crop1, .., rest], cropping ``crops`` [before, after] pairs."""
    what = "batch_to_space"
    x, bs, dims, cr = _block_args(input, block_shape, crops, what, "crops")
    m = len(bs)
    nb = int(np.prod(bs))
    if dims[0] % nb:
        raise _fail(f"{what}: the batch size {dims[0]} of {_desc(x)} is not divisible by "
                    f"prod(block_shape) = {nb}")
    b = dims[0] // nb
    sp, rest = dims[1:m + 1], dims[m + 1:]
    y = reshape(x, bs + [b] + sp + rest)
    perm = [m]
    for i in range(m):
        perm += [m + 1 + i, i]
    perm += list(range(2 * m + 1, 2 * m + 1 + len(rest)))
    y = reshape(transpose(y, perm), [b] + [s * k for s, k in zip(sp, bs)] + rest)
    full = [s * k for s, k in zip(sp, bs)]
    for i, (c0, c1) in enumerate(cr):
        if c0 + c1 > full[i]:
            raise _fail(f"{what}: crops {cr[i]} remove more than the {full[i]} elements of "
                        f"spatial dim {i + 1}")
    if any(c0 or c1 for c0, c1 in cr):
        key = (slice(None),) + tuple(slice(c0, full[i] - c1) for i, (c0, c1) in
                                     enumerate(cr))
        y = _getitem(y, key)
    return y


# ----------------------------------------------------------------------------- arithmetic


def _pair(x, y, what):
    x = as_tensor(x, what)
    y = as_tensor(y, what, x.dtype)
    if x.dtype != y.dtype:
        raise _fail(f"{what}: x is {x.dtype.name} but y is {y.dtype.name}; convert one with "
                    f"jg.cast")
    return x, y


def realdiv(x, y, name=None):
    """``x / y`` for floating tensors (TensorFlow's RealDiv); integers raise: use
    ``jg.truncatediv`` or ``jg.math.floordiv``."""
    x, y = _pair(x, y, "realdiv")
    if not x.dtype.is_floating:
        raise _fail(f"realdiv: expected floating tensors, got {x.dtype.name}; for integer "
                    f"division use jg.truncatediv (rounds toward zero) or jg.math.floordiv")
    return x / y


def truncatediv(x, y, name=None):
    """``x / y`` rounded toward zero (C's integer division: ``-7 / 2 = -3``); floats are
    divided and truncated. Integer division by zero raises (eagerly)."""
    x, y = _pair(x, y, "truncatediv")
    if x.dtype.is_bool:
        raise _fail("truncatediv: expected numeric tensors, got bool")
    if x.dtype.is_floating:
        q = x / y
        return where(q < 0, ceil(q), floor(q))
    if not y._symbolic and (y.numpy() == 0).any():
        raise _fail("truncatediv: integer division by zero")
    q = floordiv(x, y)
    inexact = (q * y) != x
    return where(inexact & ((x < 0) != (y < 0)), q + 1, q)


def _range_in(dtype):
    if dtype.is_floating:
        f = np.finfo(dtype.np)
        return float(f.min), float(f.max)
    i = np.iinfo(dtype.np)
    return int(i.min), int(i.max)


def _clamp_value(bound, src, up):
    """The value of ``src``'s dtype nearest ``bound`` on its inner side."""
    v = np.array(bound, src.np)
    if src.is_floating and (float(v) > bound if up else float(v) < bound):
        v = np.nextafter(v, np.array(-np.inf if up else np.inf, src.np))
    return v


def saturate_cast(value, dtype, name=None):
    """``jg.cast`` that clamps to the target dtype's range first instead of overflowing
    (NaN stays NaN for float targets).

    >>> jg.saturate_cast([1e10, -1e10], jg.int32)  # [2147483647, -2147483648]
    """
    x = as_tensor(value, "saturate_cast")
    to = _dt.as_dtype(dtype)
    if to.is_bool or x.dtype.is_bool:
        return cast(x, to)
    lo_in, hi_in = _range_in(x.dtype)
    lo_to, hi_to = _range_in(to)
    if lo_in < lo_to:
        x = maximum(x, as_tensor(_clamp_value(lo_to, x.dtype, False), "saturate_cast"))
    if hi_in > hi_to:
        x = minimum(x, as_tensor(_clamp_value(hi_to, x.dtype, True), "saturate_cast"))
    return cast(x, to)


# ----------------------------------------------------------------------------- shapes


def shape_n(input, out_type=_dt.int32, name=None):  # noqa: A002
    """The shapes of a list of tensors (``[jg.shape(t) for t in input]``)."""
    return [_shape(as_tensor(t, "shape_n"), out_type=out_type) for t in input]


def parallel_stack(values, name=None):
    """``jg.stack(values, axis=0)``; unlike TensorFlow's it also runs eagerly."""
    xs = [as_tensor(v, "parallel_stack") for v in values]
    for i, x in enumerate(xs[1:], 1):
        if list(x.shape) != list(xs[0].shape):
            raise _fail(f"parallel_stack: all values must have one shape; value 0 is "
                        f"{_desc(xs[0])}, value {i} is {_desc(x)}")
    return stack(xs, axis=0)


def broadcast_static_shape(shape_x, shape_y):
    """The broadcast of two TensorShapes (``None`` dims stay unknown); ``ValueError`` when
    they are incompatible."""
    def dims(s):
        s = s if isinstance(s, TensorShape) else TensorShape(s)
        return tuple(s.as_list())

    try:
        return TensorShape(list(broadcast_shapes("broadcast_static_shape", dims(shape_x),
                                                 dims(shape_y))))
    except errors.InvalidArgumentError:
        raise ValueError(f"broadcast_static_shape: incompatible shapes for broadcasting: "
                         f"{shape_x} and {shape_y}") from None


def broadcast_dynamic_shape(shape_x, shape_y):
    """The broadcast of two shapes given as 1-D int tensors (computed when the function
    runs, with an error there where they are incompatible)."""
    what = "broadcast_dynamic_shape"
    a, b = as_tensor(shape_x, what), as_tensor(shape_y, what)
    if a.ndim != 1 or b.ndim != 1 or not a.dtype.is_integer or a.shape[0] is None \
            or b.shape[0] is None:
        raise _fail(f"{what}: shapes must be 1-D int tensors of known length, got "
                    f"{_desc(a)} and {_desc(b)}")
    b = cast(b, a.dtype)
    n = max(int(a.shape[0]), int(b.shape[0]))
    a = pad(a, [[n - int(a.shape[0]), 0]], constant_values=1)
    b = pad(b, [[n - int(b.shape[0]), 0]], constant_values=1)
    ok = (a == b) | (a == 1) | (b == 1)
    if not ok._symbolic:
        if not ok.numpy().all():
            raise _fail(f"{what}: incompatible shapes for broadcasting: "
                        f"{a.numpy().tolist()} and {b.numpy().tolist()}")
    else:
        apply("assert", reduce_all(ok), message=errors.at_user_line(
            f"{what}: incompatible shapes for broadcasting (when the function ran)"))
    return where(a == 1, b, a)


__all__ = ["reverse_sequence", "unravel_index", "repeat", "dynamic_partition",
           "dynamic_stitch", "histogram_fixed_width", "histogram_fixed_width_bins",
           "space_to_batch", "space_to_batch_nd", "batch_to_space", "realdiv", "truncatediv",
           "saturate_cast", "shape_n", "parallel_stack", "broadcast_static_shape",
           "broadcast_dynamic_shape"]
