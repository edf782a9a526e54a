"""3-D convolutions and pooling with TensorFlow's names and numerics: ``jg.nn.conv3d``,
``conv3d_transpose``, ``max_pool3d`` and ``avg_pool3d`` on NDHWC tensors [batch, depth,
height, width, channels] (the layout Keras' Conv3D and 3-D pooling layers use).

Built as ops/conv.py builds the 2-D ones, from other ops (no op records): the input is
padded, the elements of every window picked by one constant index table (``gather``), and a
convolution is one ``matmul`` of these patches with the filters reshaped to
[kd * kh * kw * in, out]; pooling reduces the window axis. Padding, strides, dilations and
the errors follow conv.py ("SAME", "VALID", or explicit pairs for conv3d); average pooling
divides by the number of input elements in each window.

>>> jg.nn.conv3d(jg.ones([1, 4, 4, 4, 1]), jg.ones([2, 2, 2, 1, 3]), [1, 1, 1, 1, 1],
...              "VALID").shape
TensorShape([1, 3, 3, 3, 3])
"""

import numpy as np

from .. import errors
from .assemble import pad
from .conv import _batch, _desc, _fail, _filters, _ints, _lowest, _padding, _plans
from .core import as_tensor
from .indexing import _getitem, gather
from .linalg import matmul
from .reduce import reduce_max, reduce_mean, reduce_sum
from .shape import reshape, transpose

_N = 3


def _check_format(op, data_format):
    if data_format is None or str(data_format).upper() == "NDHWC":
        return
    raise errors.UnimplementedError(errors.at_user_line(
        f"{op}: data_format={data_format!r} is not supported; jitgraph computes NDHWC "
        f"(channels last): pass data_format='NDHWC' and transpose the input, e.g. "
        f"jg.transpose(x, [0, 2, 3, 4, 1]) for NCDHW"))


def _input(value, op):
    x = as_tensor(value, op)
    if x.ndim != 5:
        hint = ("; for a single example add the batch axis: jg.expand_dims(x, 0)"
                if x.ndim == 4 else "")
        raise _fail(f"{op}: input must have rank 5, [batch, depth, height, width, channels] "
                    f"(NDHWC), got {_desc(x)}{hint}")
    if any(d is None for d in x.shape[1:]):
        raise _fail(f"{op}: needs the spatial and channel dims of the input known when "
                    f"tracing, got {_desc(x)}; only the batch dim may be None")
    return x


def _strides5(value, op, what):
    """TensorFlow's 3-D ops take 5-entry strides/ksize lists (1 for batch and channels);
    an int or 1 or 3 entries are accepted as well."""
    return _ints(value, _N, op, what)


def _window_index(plans, ksize, strides, dilations, dims):
    """Flat positions in the padded [D, H, W] input of every window element, in
    (out_d, out_h, out_w, kd, kh, kw) order."""
    outs = [p[0] for p in plans]
    grids = np.meshgrid(*[np.arange(o) for o in outs], *[np.arange(k) for k in ksize],
                        indexing="ij")
    pos = [grids[a] * strides[a] + grids[_N + a] * dilations[a] for a in range(_N)]
    flat = (pos[0] * dims[1] + pos[1]) * dims[2] + pos[2]
    return flat.reshape(-1).astype(np.int32)


def _pad_spatial(x, plans, value):
    if not any(b or a for _, b, a in plans):
        return x
    return pad(x, [[0, 0]] + [[b, a] for _, b, a in plans] + [[0, 0]], constant_values=value)


def _windows(x, plans, ksize, strides, dilations, value):
    """[batch, prod(out) * prod(ksize), channels]."""
    xp = _pad_spatial(x, plans, value)
    dims = [int(d) for d in xp.shape[1:4]]
    c = int(xp.shape[4])
    idx = _window_index(plans, ksize, strides, dilations, dims)
    return gather(reshape(xp, [_batch(x), int(np.prod(dims)), c]), idx, axis=1)


def _conv(op, x, w, strides, dilations, padding, shapes):
    k = [int(d) for d in w.shape[:3]]
    c, o = int(w.shape[3]), int(w.shape[4])
    plans = _plans(op, [int(d) for d in x.shape[1:4]], k, strides, dilations, padding, shapes)
    outs = [p[0] for p in plans]
    n = _batch(x)
    kk = int(np.prod(k)) * c
    cols = reshape(_windows(x, plans, k, strides, dilations, 0), [-1, kk])
    return reshape(matmul(cols, reshape(w, [kk, o])), [n] + outs + [o])


_LAYOUT_W = "[depth, height, width, in_channels, out_channels]"


def conv3d(input, filters, strides, padding, data_format="NDHWC", dilations=None,  # noqa: A002
           name=None):
    """3-D convolution (cross-correlation) of an NDHWC ``input`` with ``filters`` [depth,
    height, width, in_channels, out_channels]; ``strides`` a list of 5 ints (1 for batch and
    channels; an int or 3 ints also work), ``padding`` "SAME", "VALID" or explicit pairs
    ``[[0, 0], [front, back], [top, bottom], [left, right], [0, 0]]``, ``dilations`` as
    ``strides``."""
    op = "conv3d"
    _check_format(op, data_format)
    x = _input(input, op)
    w = _filters(filters, x, op, _N, layout=_LAYOUT_W)
    s = _strides5(strides, op, "strides")
    d = _strides5(dilations, op, "dilations")
    p = _padding(padding, _N, op)
    return _conv(op, x, w, s, d, p, f"input {_desc(x)}, filters {_desc(w)}")


def _output_dhwc(output_shape, op):
    from ..tensor import Tensor

    if isinstance(output_shape, Tensor):
        if output_shape._symbolic:
            raise _fail(f"{op}: output_shape must be known when tracing (a Python list)")
        output_shape = output_shape.numpy().tolist()
    dims = list(output_shape)
    if len(dims) != 5:
        raise _fail(f"{op}: output_shape must have 5 entries [batch, depth, height, width, "
                    f"channels], got {dims}")
    try:
        return tuple(int(np.asarray(v.numpy() if hasattr(v, "numpy") else v))
                     for v in dims[1:])
    except (TypeError, ValueError):
        raise _fail(f"{op}: the depth, height, width and channels of output_shape must be "
                    f"known ints, got {dims}") from None


def _pad_or_crop(x, pairs):
    if any(b < 0 or a < 0 for b, a in pairs):
        x = _getitem(x, (slice(None),) + tuple(
            slice(max(-b, 0), (a if a < 0 else None)) for b, a in pairs))
    return _pad_spatial(x, [(None, max(b, 0), max(a, 0)) for b, a in pairs], 0)


def conv3d_transpose(input, filters, output_shape, strides, padding="SAME",  # noqa: A002
                     data_format="NDHWC", dilations=None, name=None):
    """The transpose (gradient with respect to the input) of conv3d: ``input`` [batch, d,
    h, w, in_channels], ``filters`` [depth, height, width, output_channels, in_channels],
    ``output_shape`` [batch, depth, height, width, output_channels]: the conv3d input that
    with these ``strides`` and ``padding`` gives an output of ``input``'s size."""
    op = "conv3d_transpose"
    _check_format(op, data_format)
    x = _input(input, op)
    w = _filters(filters, x, op, _N, layout="[depth, height, width, output_channels, "
                 "in_channels]", channels_dim=4)
    s = _strides5(strides, op, "strides")
    d = _strides5(dilations, op, "dilations")
    p = _padding(padding, _N, op)
    *target, c_out = _output_dhwc(output_shape, op)
    k = [int(v) for v in w.shape[:3]]
    c = int(w.shape[3])
    if c_out != c:
        raise _fail(f"{op}: output_shape has {c_out} channels but filters {_desc(w)} make "
                    f"{c} (their dim 3, output_channels)")
    shapes = f"output_shape {[None, *target, c_out]}, filters {_desc(w)}"
    plans = _plans(op, target, k, s, d, p, shapes)
    got = [out for out, _, _ in plans]
    have = [int(v) for v in x.shape[1:4]]
    if got != have:
        raise _fail(f"{op}: a conv3d of output_shape {[None, *target, c_out]} with strides "
                    f"{list(s)} and padding {p if isinstance(p, str) else list(p)} gives "
                    f"{got}, but the input {_desc(x)} has {have}; give an output_shape "
                    f"consistent with them")
    n, ci = _batch(x), int(x.shape[4])
    if s != (1, 1, 1):  # strides - 1 zeros after every element
        x = reshape(x, [n, have[0], 1, have[1], 1, have[2], 1, ci])
        x = pad(x, [[0, 0], [0, 0], [0, s[0] - 1], [0, 0], [0, s[1] - 1], [0, 0],
                    [0, s[2] - 1], [0, 0]])
        x = reshape(x, [n] + [h * st for h, st in zip(have, s)] + [ci])
    pairs = []
    for (_, before, _), size, tgt, kk, st, dl in zip(plans, have, target, k, s, d):
        left = (kk - 1) * dl - before
        pairs.append((left, tgt + (kk - 1) * dl - left - size * st))
    flip = slice(None, None, -1)
    flipped = transpose(_getitem(w, (flip, flip, flip)), [0, 1, 2, 4, 3])
    return _conv(op, _pad_or_crop(x, pairs), flipped, (1, 1, 1), d, "VALID", shapes)


def _window_counts(plans, sizes, ksize, strides):
    per_axis = []
    for (out, before, _), size, k, s in zip(plans, sizes, ksize, strides):
        start = np.arange(out) * s - before
        per_axis.append(np.minimum(start + k, size) - np.maximum(start, 0))
    counts = np.einsum("i,j,k->ijk", *per_axis)[..., None]
    return None if (counts == int(np.prod(ksize))).all() else counts


def _pool3d(op, kind, input, ksize, strides, padding, data_format):  # noqa: A002
    _check_format(op, data_format)
    x = _input(input, op)
    if kind == "avg" and not x.dtype.is_floating:
        raise _fail(f"{op}: needs a floating input, got {x.dtype.name}; jg.cast it first")
    if x.dtype.is_bool:
        raise _fail(f"{op}: needs a numeric input, got bool")
    k = _strides5(ksize, op, "ksize")
    s = _strides5(strides, op, "strides")
    p = _padding(padding, _N, op, explicit=False)
    sizes = [int(v) for v in x.shape[1:4]]
    plans = _plans(op, sizes, k, s, (1, 1, 1), p, f"input {_desc(x)}, ksize {list(k)}")
    outs = [pl[0] for pl in plans]
    n, c = _batch(x), int(x.shape[4])
    value = _lowest(x.dtype) if kind == "max" else 0
    win = reshape(_windows(x, plans, k, s, (1, 1, 1), value),
                  [n] + outs + [int(np.prod(k)), c])
    if kind == "max":
        return reduce_max(win, axis=4)
    counts = _window_counts(plans, sizes, k, s)
    if counts is None:
        return reduce_mean(win, axis=4)
    return reduce_sum(win, axis=4) / counts.astype(x.dtype.np)


def max_pool3d(input, ksize, strides, padding, data_format="NDHWC", name=None):  # noqa: A002
    """The maximum of each ``ksize`` window of an NDHWC ``input``, every ``strides`` (ints
    or lists of 1, 3 or 5); ``padding`` "SAME" or "VALID"."""
    return _pool3d("max_pool3d", "max", input, ksize, strides, padding, data_format)


def avg_pool3d(input, ksize, strides, padding, data_format="NDHWC", name=None):  # noqa: A002
    """The mean of each ``ksize`` window of an NDHWC ``input`` (with "SAME", over the input
    elements the window covers)."""
    return _pool3d("avg_pool3d", "avg", input, ksize, strides, padding, data_format)


__all__ = ["conv3d", "conv3d_transpose", "max_pool3d", "avg_pool3d"]
