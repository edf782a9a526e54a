"""Volumetric convolution and pooling with TensorFlow's names and numerics: ``jg.nn.conv3d``,
``conv3d_transpose``, ``max_pool3d``, ``avg_pool3d``, ``conv1d_transpose``; NDHWC (NWC)
layout only.

Compositions of other ops, built as conv.py builds the 2-D ones (see its docstring): the
input is padded, the elements of every window are picked by one constant index table over
the flattened volume (``gather``), a convolution is one ``matmul`` of these patches with the
filters reshaped to [kd * kh * kw * in, out], and pooling reduces the window axis. The
transpose is TensorFlow's definition: the input with strides - 1 zeros between its elements,
padded (or cropped), correlated with the filters flipped in space. Autodiff differentiates
them through their parts.

>>> jg.nn.conv3d(jg.ones([1, 4, 4, 4, 1]), jg.ones([2, 2, 2, 1, 3]), [1, 1, 1, 1, 1],
...              "VALID").shape
TensorShape([1, 3, 3, 3, 3])
"""

import numpy as np

from .. import errors
from .assemble import pad
from .conv import (
    _batch,
    _check_pool_padding,
    _desc,
    _fail,
    _filters,
    _ints,
    _lowest,
    _pad_or_crop,
    _pad_spatial,
    _padding,
    _plans,
    conv2d_transpose,
)
from .core import as_tensor
from .indexing import _getitem, gather
from .linalg import matmul
from .reduce import reduce_max, reduce_sum
from .shape import reshape, transpose

_N = 3
_LAYOUT = "[batch, depth, height, width, channels] (NDHWC)"


def _check_format(op, data_format):
    if data_format is None or str(data_format).upper() == "NDHWC":
        return
    raise errors.UnimplementedError(errors.at_user_line(
        f"{op}: data_format={data_format!r} is not supported; jitgraph computes NDHWC "
        f"(channels last): pass data_format='NDHWC' and transpose the input, e.g. "
        f"jg.transpose(x, [0, 2, 3, 4, 1]) for NCDHW"))


def _input3(value, op):
    x = as_tensor(value, op)
    if x.ndim != _N + 2:
        raise _fail(f"{op}: input must have rank 5, {_LAYOUT}, got {_desc(x)}")
    return _known(x, op)


def _known(x, op):
    if any(d is None for d in x.shape[1:]):
        raise _fail(f"{op}: needs the spatial and channel dims of the input known when "
                    f"tracing, got {_desc(x)}; only the batch dim may be None (give the "
                    f"others in the input_signature)")
    return x


def _window_index(plans, ksize, strides, dilations, dims):
    """Flat positions in the padded volume ``dims`` of every window element, in (out...,
    k...) order."""
    axes = [np.arange(out) for out, _, _ in plans] + [np.arange(k) for k in ksize]
    grids = np.meshgrid(*axes, indexing="ij")
    n = len(plans)
    flat = np.zeros_like(grids[0])
    for a in range(n):
        flat = flat * dims[a] + grids[a] * strides[a] + grids[n + a] * dilations[a]
    return flat.reshape(-1).astype(np.int32)


def _windows(x, plans, ksize, strides, dilations, value):
    """[batch, prod(out) * prod(ksize), channels]: every window's elements."""
    xp = _pad_spatial(x, plans, value)
    dims = [int(d) for d in xp.shape[1:-1]]
    c = int(xp.shape[-1])
    idx = _window_index(plans, ksize, strides, dilations, dims)
    return gather(reshape(xp, [_batch(x), int(np.prod(dims)), c]), idx, axis=1)


def _conv(op, x, w, strides, dilations, padding, shapes):
    ks = tuple(int(d) for d in w.shape[:-2])
    c, o = (int(d) for d in w.shape[-2:])
    plans = _plans(op, [int(d) for d in x.shape[1:-1]], ks, strides, dilations, padding,
                   shapes)
    k = int(np.prod(ks)) * c
    cols = reshape(_windows(x, plans, ks, strides, dilations, 0), [-1, k])
    return reshape(matmul(cols, reshape(w, [k, o])),
                   [_batch(x)] + [out for out, _, _ in plans] + [o])


def conv3d(input, filters, strides, padding, data_format="NDHWC", dilations=None,  # noqa: A002
           name=None):
    """3-D convolution (cross-correlation) of an NDHWC ``input`` with ``filters`` [depth,
    height, width, in_channels, out_channels]. ``strides``/``dilations``: an int or a list
    of 1, 3 or 5 ints; ``padding``: "SAME", "VALID" or explicit pairs (5 of them, [0, 0]
    for batch and channels).

    >>> jg.nn.conv3d(jg.ones([2, 8, 8, 8, 1]), jg.ones([3, 3, 3, 1, 4]), 1, "SAME").shape
    TensorShape([2, 8, 8, 8, 4])
    """
    op = "conv3d"
    _check_format(op, data_format)
    x = _input3(input, op)
    w = _filters(filters, x, op, _N, layout="[depth, height, width, in_channels, "
                 "out_channels]")
    s = _ints(strides, _N, op, "strides")
    d = _ints(dilations, _N, op, "dilations")
    p = _padding(padding, _N, op)
    return _conv(op, x, w, s, d, p, f"input {_desc(x)}, filters {_desc(w)}")


def _dilate(x, s):
    """strides - 1 zeros after every spatial element of channels-last ``x``."""
    if all(v == 1 for v in s):
        return x
    n, sizes, c = _batch(x), [int(v) for v in x.shape[1:-1]], int(x.shape[-1])
    inter = [n]
    for size in sizes:
        inter += [size, 1]
    x = reshape(x, inter + [c])
    x = pad(x, [[0, 0]] + [p for st in s for p in ([0, 0], [0, st - 1])] + [[0, 0]])
    return reshape(x, [n] + [size * st for size, st in zip(sizes, s)] + [c])


def _output_dhw(output_shape, op):
    """(depth, height, width, channels) from output_shape: 5 entries, the batch entry
    ignored (it may be a tensor or None)."""
    from ..tensor import Tensor

    if isinstance(output_shape, Tensor):
        if output_shape._symbolic:
            raise _fail(f"{op}: output_shape must be known when tracing (a Python list); "
                        f"the batch entry may be a tensor or None")
        output_shape = output_shape.numpy().tolist()
    dims = list(output_shape)
    if len(dims) != 5:
        raise _fail(f"{op}: output_shape must have 5 entries [batch, depth, height, width, "
                    f"channels], got {dims}")
    return tuple(_int_dim(v, dims, op) for v in dims[1:])


def _int_dim(v, dims, op):
    try:
        return int(np.asarray(v.numpy() if hasattr(v, "numpy") else v))
    except (TypeError, ValueError):
        raise _fail(f"{op}: the depth, height, width and channels of output_shape must be "
                    f"known ints, got {dims}") from None


def conv3d_transpose(input, filters, output_shape, strides, padding="SAME",  # noqa: A002
                     data_format="NDHWC", dilations=None, name=None):
    """The transpose (gradient with respect to the input) of conv3d: ``input`` [batch, d, h,
    w, in_channels], ``filters`` [depth, height, width, output_channels, in_channels],
    ``output_shape`` [batch, depth, height, width, output_channels] (the batch entry is
    ignored)."""
    op = "conv3d_transpose"
    _check_format(op, data_format)
    x = _input3(input, op)
    w = _filters(filters, x, op, _N, layout="[depth, height, width, output_channels, "
                 "in_channels]", channels_dim=4)
    s = _ints(strides, _N, op, "strides")
    d = _ints(dilations, _N, op, "dilations")
    p = _padding(padding, _N, op)
    *target, c_out = _output_dhw(output_shape, op)
    ks = tuple(int(v) for v in w.shape[:3])
    c = int(w.shape[3])
    if c_out != c:
        raise _fail(f"{op}: output_shape has {c_out} channels but filters {_desc(w)} make "
                    f"{c} (their dim 3, output_channels)")
    shapes = f"output_shape {[None, *target, c_out]}, filters {_desc(w)}"
    plans = _plans(op, target, ks, s, d, p, shapes)
    got = [out for out, _, _ in plans]
    sizes = [int(v) for v in x.shape[1:4]]
    if got != sizes:
        raise _fail(f"{op}: a conv3d of output_shape {[None, *target, c_out]} with strides "
                    f"{list(s)} and padding {p if isinstance(p, str) else list(p)} gives "
                    f"{got}, but the input {_desc(x)} has {sizes}; give an output_shape "
                    f"consistent with them")
    pairs = []
    for (_, before, _), size, tgt, k, st, dl in zip(plans, sizes, target, ks, s, d):
        left = (k - 1) * dl - before
        pairs.append((left, tgt + (k - 1) * dl - left - size * st))
    flipped = transpose(_getitem(w, (slice(None, None, -1),) * 3), [0, 1, 2, 4, 3])
    return _conv(op, _pad_or_crop(_dilate(x, s), pairs), flipped, (1, 1, 1), d, "VALID",
                 shapes)


def conv1d_transpose(input, filters, output_shape, strides, padding="SAME",  # noqa: A002
                     data_format="NWC", dilations=None, name=None):
    """The transpose of conv1d: ``input`` [batch, width, in_channels], ``filters`` [width,
    output_channels, in_channels], ``output_shape`` [batch, width, output_channels]."""
    op = "conv1d_transpose"
    if data_format not in (None, "NWC"):
        raise _fail(f"{op}: data_format={data_format!r} is not supported; use 'NWC' and "
                    f"transpose the input with jg.transpose(x, [0, 2, 1])")
    x = as_tensor(input, op)
    if x.ndim != 3:
        raise _fail(f"{op}: input must have rank 3, [batch, width, channels] (NWC), got "
                    f"{_desc(x)}")
    w = _filters(filters, _known(x, op), op, 1, layout="[width, output_channels, "
                 "in_channels]", channels_dim=2)
    dims = list(output_shape)
    if len(dims) != 3:
        raise _fail(f"{op}: output_shape must have 3 entries [batch, width, channels], got "
                    f"{dims}")
    s = _ints(strides, 1, op, "strides")
    d = _ints(dilations, 1, op, "dilations")
    p = _padding(padding, 1, op)
    p2 = p if isinstance(p, str) else [[0, 0], [0, 0], list(p[0]), [0, 0]]
    x4 = reshape(x, [_batch(x), 1] + [int(v) for v in x.shape[1:]])
    y = conv2d_transpose(x4, reshape(w, [1] + [int(v) for v in w.shape]),
                         [dims[0], 1, dims[1], dims[2]], (1,) + s, p2, dilations=(1,) + d)
    return reshape(y, [_batch(x)] + [int(v) for v in y.shape[2:]])


# ----------------------------------------------------------------------------- pooling


def _window_counts(plans, sizes, ksize, strides):
    """Input elements per window, shaped [out..., 1], or None when every window is full."""
    counts = np.ones((), np.int64)
    for (out, before, _), size, k, s in zip(plans, sizes, ksize, strides):
        start = np.arange(out) * s - before
        counts = np.multiply.outer(counts, np.minimum(start + k, size) - np.maximum(start, 0))
    return None if (counts == int(np.prod(ksize))).all() else counts[..., None]


def _pool3d(op, kind, input, ksize, strides, padding, data_format):  # noqa: A002
    _check_format(op, data_format)
    x = _input3(input, op)
    if kind == "avg" and not x.dtype.is_floating:
        raise _fail(f"{op}: needs a floating input, got {x.dtype.name}; jg.cast it first")
    if x.dtype.is_bool:
        raise _fail(f"{op}: needs a numeric input, got bool")
    k = _ints(ksize, _N, op, "ksize")
    s = _ints(strides, _N, op, "strides")
    p = _padding(padding, _N, op, explicit=False)
    _check_pool_padding(op, p, k)
    sizes = [int(v) for v in x.shape[1:4]]
    plans = _plans(op, sizes, k, s, (1, 1, 1), p, f"input {_desc(x)}, ksize {list(k)}")
    outs = [out for out, _, _ in plans]
    c = int(x.shape[-1])
    value = _lowest(x.dtype) if kind == "max" else 0
    win = reshape(_windows(x, plans, k, s, (1, 1, 1), value),
                  [_batch(x)] + outs + [int(np.prod(k)), c])
    if kind == "max":
        return reduce_max(win, axis=4)
    counts = _window_counts(plans, sizes, k, s)
    total = reduce_sum(win, axis=4)
    return total / (float(np.prod(k)) if counts is None else counts.astype(x.dtype.np))


def max_pool3d(input, ksize, strides, padding, data_format="NDHWC", name=None):  # noqa: A002
    """The maximum of each ``ksize`` window of an NDHWC ``input`` (ints or lists of 1, 3 or
    5), every ``strides``; ``padding`` "SAME" or "VALID"."""
    return _pool3d("max_pool3d", "max", input, ksize, strides, padding, data_format)


def avg_pool3d(input, ksize, strides, padding, data_format="NDHWC", name=None):  # noqa: A002
    """The mean of each window of an NDHWC ``input`` (with "SAME", over the input elements
    the window covers)."""
    return _pool3d("avg_pool3d", "avg", input, ksize, strides, padding, data_format)


__all__ = ["conv3d", "conv3d_transpose", "conv1d_transpose", "max_pool3d", "avg_pool3d"]
