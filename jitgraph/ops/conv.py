"""Convolutions and pooling with TensorFlow's names, argument forms and numerics
(``jg.nn.conv2d``, ``conv1d``, ``depthwise_conv2d``, ``max_pool2d``, ``avg_pool2d``,
``max_pool1d``, ``avg_pool1d`` and the rank-dispatching ``max_pool``/``avg_pool``); NHWC
(NWC) layout only.

Built from other ops (no op records of their own), so every backend compiles them and
autodiff differentiates them through their parts. The input is padded (``pad``), the
elements of every window are picked by one constant index table (``gather``: one kernel,
whose gradient accumulates back into the input), and a convolution is one ``matmul`` of
these patches, [batch * out_h * out_w, kh * kw * in], with the filters reshaped to
[kh * kw * in, out]; pooling reduces the window axis. Two cheaper forms where they apply:
a 1x1 convolution is a (strided) slice and a matmul, and pooling whose windows tile the
input (strides == ksize, the usual 2x2) is a reshape and a reduction.

Padding as TensorFlow: "SAME" gives ceil(in / stride) outputs and pads (total // 2) before,
the rest after; "VALID" keeps full windows only; explicit pairs
``[[0, 0], [top, bottom], [left, right], [0, 0]]`` for conv2d, depthwise_conv2d and
max_pool2d. Max pooling pads with -inf (padding never wins), average pooling divides by the
number of input elements in each window (padding is not counted); ``ksize = strides =
[1, 1, 1, k]`` max-pools over channels (TensorFlow's depthwise max pooling). Where a window
has several equal maxima, max pooling's gradient is shared among them (``reduce_max``'s
rule); TensorFlow's goes to one of them.

>>> jg.nn.conv2d(jg.ones([1, 5, 5, 1]), jg.ones([3, 3, 1, 2]), strides=2, padding="SAME")
"""

import numpy as np

from .. import errors
from .assemble import pad
from .core import as_tensor
from .indexing import _getitem, gather
from .linalg import matmul
from .reduce import reduce_max, reduce_mean, reduce_sum
from .shape import reshape, transpose

_LAYOUT = {1: "NWC", 2: "NHWC"}
_SPATIAL = {1: "[batch, width, channels]", 2: "[batch, height, width, channels]"}


def _desc(t):
    return f"{t.dtype.name}{list(t.shape)}"


def _fail(message):
    return errors.InvalidArgumentError(errors.at_user_line(message))


# ----------------------------------------------------------------------------- arguments


def _check_format(op, data_format, n):
    want = _LAYOUT[n]
    if data_format is None or str(data_format).upper() == want:
        return
    raise errors.UnimplementedError(errors.at_user_line(
        f"{op}: data_format={data_format!r} is not supported; jitgraph computes {want} "
        f"(channels last): pass data_format={want!r} and transpose the input, e.g. "
        + ("jg.transpose(x, [0, 2, 3, 1]) for NCHW" if n == 2 else
           "jg.transpose(x, [0, 2, 1]) for NCW")))


def _ints(value, n, op, what):
    """An int, or a list of 1, n or n + 2 ints (the last form with 1 for batch and channels),
    as a tuple of n positive ints."""
    if value is None:
        return (1,) * n
    v = [int(value)] if isinstance(value, (int, np.integer)) else [int(a) for a in value]
    if len(v) == n + 2:
        if v[0] != 1 or v[-1] != 1:
            raise _fail(f"{op}: {what}={v} must be 1 for the batch and channel axes "
                        f"(first and last entries)")
        v = v[1:-1]
    elif len(v) == 1:
        v = v * n
    elif len(v) != n:
        raise _fail(f"{op}: {what} must be an int or a list of 1, {n} or {n + 2} ints, got "
                    f"{list(value)}")
    if any(a < 1 for a in v):
        raise _fail(f"{op}: {what} must be positive, got {value!r}")
    return tuple(v)


def _padding(padding, n, op, explicit=True):
    """"SAME", "VALID", or a tuple of n (before, after) pairs."""
    if isinstance(padding, str):
        p = padding.upper()
        if p in ("SAME", "VALID"):
            return p
    elif explicit and padding is not None:
        try:
            pairs = np.asarray(padding, dtype=np.int64).reshape(-1, 2)
        except (TypeError, ValueError):
            pairs = None
        if pairs is not None and len(pairs) == n + 2:
            if pairs[0].any() or pairs[-1].any():
                raise _fail(f"{op}: explicit padding {np.asarray(padding).tolist()} must be "
                            f"[0, 0] for the batch and channel axes")
            if (pairs < 0).any():
                raise _fail(f"{op}: explicit padding must not be negative, got "
                            f"{np.asarray(padding).tolist()}")
            return tuple((int(a), int(b)) for a, b in pairs[1:-1])
    form = ("[[0, 0], [top, bottom], [left, right], [0, 0]]" if n == 2
            else "[[0, 0], [left, right], [0, 0]]")
    extra = f", or explicit pairs {form}" if explicit else ""
    raise _fail(f"{op}: padding must be 'SAME' or 'VALID'{extra}; got {padding!r}")


def _input(value, op, n):
    x = as_tensor(value, op)
    if x.ndim != n + 2:
        hint = ("; for a single example add the batch axis: jg.expand_dims(x, 0)"
                if x.ndim == n + 1 else "")
        raise _fail(f"{op}: input must have rank {n + 2}, {_SPATIAL[n]} ({_LAYOUT[n]}), got "
                    f"{_desc(x)}{hint}")
    if any(d is None for d in x.shape[1:]):
        raise _fail(f"{op}: needs the spatial and channel dims of the input known when "
                    f"tracing, got {_desc(x)}; only the batch dim may be None (give the "
                    f"others in the input_signature)")
    return x


def _filters(value, x, op, n, what="filters", layout=None, channels_dim=None):
    w = as_tensor(value, op, x.dtype)
    layout = layout or ("[width, in_channels, out_channels]" if n == 1 else
                        "[height, width, in_channels, out_channels]")
    if w.ndim != n + 2:
        raise _fail(f"{op}: {what} must have rank {n + 2}, {layout}, got {_desc(w)}")
    if w.dtype is not x.dtype:
        raise _fail(f"{op}: input is {x.dtype.name} but {what} are {w.dtype.name}; convert "
                    f"one with jg.cast")
    if not x.dtype.is_floating:
        raise _fail(f"{op}: needs floating tensors, got {x.dtype.name}; jg.cast the input "
                    f"and {what}")
    if any(d is None for d in w.shape):
        raise _fail(f"{op}: needs the {what}' shape known when tracing, got {_desc(w)}")
    cd = n if channels_dim is None else channels_dim
    if w.shape[cd] != x.shape[-1]:
        want = list(w.shape)
        want[cd] = x.shape[-1]
        raise _fail(f"{op}: input has {x.shape[-1]} channels (last dim of {_desc(x)}) but "
                    f"{what} {_desc(w)} expect {w.shape[cd]} (their dim {cd}, in_channels); "
                    f"give {what} of shape {want}")
    return w


# ----------------------------------------------------------------------------- geometry


def _plans(op, sizes, ksize, strides, dilations, padding, shapes):
    """(out, before, after) per spatial dim, as TensorFlow computes them."""
    plans = []
    for a, (size, k, s, d) in enumerate(zip(sizes, ksize, strides, dilations)):
        span = (k - 1) * d + 1
        if padding == "SAME":
            out = -(-size // s)
            total = max((out - 1) * s + span - size, 0)
            plans.append((out, total // 2, total - total // 2))
            continue
        before, after = (0, 0) if padding == "VALID" else padding[a]
        if size + before + after < span:
            dil = f" (dilated to {span})" if d > 1 else ""
            raise _fail(f"{op}: the window of size {k}{dil} along spatial dim {a} is larger "
                        f"than the {'padded ' if before or after else ''}input's "
                        f"{size + before + after} ({shapes}, padding "
                        f"{padding if isinstance(padding, str) else list(padding)}); use "
                        f"padding='SAME' or a smaller window")
        plans.append(((size + before + after - span) // s + 1, before, after))
    return plans


def _window_index(plans, ksize, strides, dilations, width):
    """Flat (row * width + col) positions in the padded input of every window element, in
    (out_y, out_x, ky, kx) order."""
    (oh, _, _), (ow, _, _) = plans
    oy, ox, ky, kx = np.meshgrid(np.arange(oh), np.arange(ow), np.arange(ksize[0]),
                                 np.arange(ksize[1]), indexing="ij")
    rows = oy * strides[0] + ky * dilations[0]
    cols = ox * strides[1] + kx * dilations[1]
    return (rows * width + cols).reshape(-1).astype(np.int32)


def _batch(x):
    return -1 if x.shape[0] is None else int(x.shape[0])


def _pad_spatial(x, plans, value):
    if not any(b or a for _, b, a in plans):
        return x
    return pad(x, [[0, 0]] + [[b, a] for _, b, a in plans] + [[0, 0]], constant_values=value)


def _windows(x, plans, ksize, strides, dilations, value):
    """[batch, out_h * out_w * kh * kw, channels]: the elements of every window of the NHWC
    ``x`` padded with ``value`` as ``plans`` say."""
    xp = _pad_spatial(x, plans, value)
    _, h, w, c = (int(d) if d is not None else None for d in xp.shape)
    idx = _window_index(plans, ksize, strides, dilations, w)
    return gather(reshape(xp, [_batch(x), h * w, c]), idx, axis=1)


# ----------------------------------------------------------------------------- convolutions


def _conv(op, x, w, strides, dilations, padding, shapes):
    """NHWC ``x`` with [kh, kw, in, out] ``w`` (both checked)."""
    kh, kw, c, o = (int(d) for d in w.shape)
    plans = _plans(op, [int(d) for d in x.shape[1:3]], (kh, kw), strides, dilations,
                   padding, shapes)
    (oh, _, _), (ow, _, _) = plans
    n = _batch(x)
    if kh == kw == 1 and not any(b or a for _, b, a in plans):
        xs = x if strides == (1, 1) else _getitem(
            x, (slice(None), slice(None, None, strides[0]), slice(None, None, strides[1])))
        cols, k = reshape(xs, [-1, c]), c
    else:
        k = kh * kw * c
        cols = reshape(_windows(x, plans, (kh, kw), strides, dilations, 0), [-1, k])
    return reshape(matmul(cols, reshape(w, [k, o])), [n, oh, ow, o])


def conv2d(input, filters, strides, padding, data_format="NHWC", dilations=None,  # noqa: A002
           name=None):
    """2-D convolution (cross-correlation, as TensorFlow) of an NHWC ``input`` with
    ``filters`` of shape [height, width, in_channels, out_channels]. ``strides`` and
    ``dilations``: an int or a list of 1, 2 or 4 ints; ``padding``: "SAME", "VALID" or
    explicit [[0, 0], [top, bottom], [left, right], [0, 0]].

    >>> jg.nn.conv2d(jg.ones([8, 28, 28, 1]), jg.ones([3, 3, 1, 32]), 1, "SAME").shape
    TensorShape([8, 28, 28, 32])
    """
    _check_format("conv2d", data_format, 2)
    x = _input(input, "conv2d", 2)
    w = _filters(filters, x, "conv2d", 2)
    s = _ints(strides, 2, "conv2d", "strides")
    d = _ints(dilations, 2, "conv2d", "dilations")
    p = _padding(padding, 2, "conv2d")
    return _conv("conv2d", x, w, s, d, p, f"input {_desc(x)}, filters {_desc(w)}")


def conv1d(input, filters, stride, padding, data_format="NWC", dilations=None,  # noqa: A002
           name=None):
    """1-D convolution of an NWC ``input`` [batch, width, in_channels] with ``filters``
    [width, in_channels, out_channels]; ``stride``/``dilations`` an int or a list of 1 or 3
    ints; ``padding`` "SAME", "VALID" or [[0, 0], [left, right], [0, 0]]."""
    _check_format("conv1d", data_format, 1)
    x = _input(input, "conv1d", 1)
    w = _filters(filters, x, "conv1d", 1)
    s = _ints(stride, 1, "conv1d", "stride")
    d = _ints(dilations, 1, "conv1d", "dilations")
    p = _padding(padding, 1, "conv1d")
    p2 = p if isinstance(p, str) else ((0, 0),) + p
    x4 = reshape(x, [_batch(x), 1] + [int(v) for v in x.shape[1:]])
    w4 = reshape(w, [1] + [int(v) for v in w.shape])
    y = _conv("conv1d", x4, w4, (1,) + s, (1,) + d, p2,
              f"input {_desc(x)}, filters {_desc(w)}")
    return reshape(y, [_batch(x)] + [int(v) for v in y.shape[2:]])


def depthwise_conv2d(input, filter, strides, padding, data_format=None,  # noqa: A002
                     dilations=None, name=None):
    """Each input channel convolved with its own ``channel_multiplier`` filters: ``filter``
    [height, width, in_channels, channel_multiplier] gives in_channels * channel_multiplier
    outputs (channel c * multiplier + m). ``strides``: an int or a list of 1, 2 or 4 ints;
    ``dilations``: an int or 2 ints."""
    op = "depthwise_conv2d"
    _check_format(op, data_format, 2)
    x = _input(input, op, 2)
    w = _filters(filter, x, op, 2, "filter",
                 "[height, width, in_channels, channel_multiplier]")
    s = _ints(strides, 2, op, "strides")
    d = _ints(dilations, 2, op, "dilations")
    p = _padding(padding, 2, op)
    kh, kw, c, m = (int(v) for v in w.shape)
    plans = _plans(op, [int(v) for v in x.shape[1:3]], (kh, kw), s, d, p,
                   f"input {_desc(x)}, filter {_desc(w)}")
    (oh, _, _), (ow, _, _) = plans
    n = _batch(x)
    patches = reshape(_windows(x, plans, (kh, kw), s, d, 0), [n, oh * ow, kh * kw, c, 1])
    y = reduce_sum(patches * reshape(w, [kh * kw, c, m]), axis=2)
    return reshape(y, [n, oh, ow, c * m])



_SPATIAL = {2: "height, width", 3: "depth, height, width"}


def _output_hw(output_shape, op, spatial=2):
    """(spatial sizes..., channels) from a transposed convolution's output_shape: ``spatial``
    + 2 entries, the batch entry ignored (it may be a tensor or None, as Keras passes it)."""
    from ..tensor import Tensor

    if isinstance(output_shape, Tensor):
        if output_shape._symbolic:
            raise _fail(f"{op}: output_shape must be known when tracing (a Python list); "
                        f"the batch entry may be a tensor or None")
        output_shape = output_shape.numpy().tolist()
    dims = list(output_shape)
    if len(dims) != spatial + 2:
        raise _fail(f"{op}: output_shape must have {spatial + 2} entries [batch, "
                    f"{_SPATIAL[spatial]}, channels], got {dims}")
    try:
        return tuple(int(np.asarray(d.numpy() if hasattr(d, "numpy") else d)) for d in dims[1:])
    except (TypeError, ValueError):
        raise _fail(f"{op}: the {_SPATIAL[spatial]} and channels of output_shape must be known "
                    f"ints, got {dims}") from None


def _pad_or_crop(x, pairs):
    """Pads the spatial dims of NHWC ``x`` by (before, after) pairs; negative entries crop."""
    if any(b < 0 or a < 0 for b, a in pairs):
        x = _getitem(x, (slice(None),) + tuple(
            slice(max(-b, 0), (a if a < 0 else None)) for b, a in pairs))
    return _pad_spatial(x, [(None, max(b, 0), max(a, 0)) for b, a in pairs], 0)


def conv2d_transpose(input, filters, output_shape, strides, padding="SAME",  # noqa: A002
                     data_format="NHWC", dilations=None, name=None):
    """The transpose (gradient with respect to the input) of conv2d: ``input`` [batch, h, w,
    in_channels], ``filters`` [height, width, output_channels, in_channels], ``output_shape``
    [batch, height, width, output_channels], the shape of the conv2d input that, with these
    ``strides``, ``padding`` and ``dilations``, gives an output of ``input``'s size.

    Computed as TensorFlow defines it: ``input`` with strides - 1 zeros between its elements,
    padded, and correlated with the filters flipped in space."""
    op = "conv2d_transpose"
    _check_format(op, data_format, 2)
    x = _input(input, op, 2)
    w = _filters(filters, x, op, 2, layout="[height, width, output_channels, in_channels]",
                 channels_dim=3)
    s = _ints(strides, 2, op, "strides")
    d = _ints(dilations, 2, op, "dilations")
    p = _padding(padding, 2, op)
    h_out, w_out, c_out = _output_hw(output_shape, op)
    kh, kw, c, _ = (int(v) for v in w.shape)
    if c_out != c:
        raise _fail(f"{op}: output_shape has {c_out} channels but filters {_desc(w)} make "
                    f"{c} (their dim 2, output_channels)")
    shapes = f"output_shape {[None, h_out, w_out, c_out]}, filters {_desc(w)}"
    plans = _plans(op, [h_out, w_out], (kh, kw), s, d, p, shapes)
    got = [out for out, _, _ in plans]
    if got != [int(v) for v in x.shape[1:3]]:
        raise _fail(f"{op}: a conv2d of output_shape {[None, h_out, w_out, c_out]} with "
                    f"strides {list(s)} and padding {p if isinstance(p, str) else list(p)} "
                    f"gives {got[0]}x{got[1]}, but the input {_desc(x)} is "
                    f"{x.shape[1]}x{x.shape[2]}; give an output_shape consistent with them")
    n, (h, wd) = _batch(x), (int(v) for v in x.shape[1:3])
    if s != (1, 1):  # strides - 1 zeros after every element: (h * sh, w * sw)
        x = reshape(x, [n, h, 1, wd, 1, int(x.shape[3])])
        x = pad(x, [[0, 0], [0, 0], [0, s[0] - 1], [0, 0], [0, s[1] - 1], [0, 0]])
        x = reshape(x, [n, h * s[0], wd * s[1], int(x.shape[5])])
    pairs = []
    for (_, before, _), size, target, k, st, dl in zip(plans, (h, wd), (h_out, w_out),
                                                       (kh, kw), s, d):
        left = (k - 1) * dl - before  # the VALID correlation below reads target + span - 1
        pairs.append((left, target + (k - 1) * dl - left - size * st))
    flipped = transpose(_getitem(w, (slice(None, None, -1), slice(None, None, -1))),
                        [0, 1, 3, 2])
    return _conv(op, _pad_or_crop(x, pairs), flipped, (1, 1), d, "VALID", shapes)

# ----------------------------------------------------------------------------- pooling


def _lowest(dtype):
    return -np.inf if dtype.is_floating else int(np.iinfo(dtype.np).min)


def _pool(op, x, ksize, strides, padding, kind):
    """Max ("max") or average ("avg") pooling of the NHWC ``x`` (checked)."""
    sizes = [int(v) for v in x.shape[1:3]]
    shapes = f"input {_desc(x)}, ksize {list(ksize)}"
    plans = _plans(op, sizes, ksize, strides, (1, 1), padding, shapes)
    (oh, _, _), (ow, _, _) = plans
    n, c = _batch(x), int(x.shape[3])
    value = _lowest(x.dtype) if kind == "max" else 0
    if tuple(ksize) == tuple(strides):
        # the windows tile the (padded) input: crop what no window reaches, then reshape
        xp = _pad_spatial(x, plans, value)
        hp, wp = (int(v) for v in xp.shape[1:3])
        if hp > oh * ksize[0] or wp > ow * ksize[1]:
            xp = _getitem(xp, (slice(None), slice(0, oh * ksize[0]), slice(0, ow * ksize[1])))
        win = reshape(xp, [n, oh, ksize[0], ow, ksize[1], c])
        axes = [2, 4]
    else:
        win = reshape(_windows(x, plans, ksize, strides, (1, 1), value),
                      [n, oh, ow, ksize[0] * ksize[1], c])
        axes = [3]
    if kind == "max":
        return reduce_max(win, axis=axes)
    counts = _window_counts(plans, sizes, ksize, strides)
    if counts is None:
        return reduce_mean(win, axis=axes)
    return reduce_sum(win, axis=axes) / counts.astype(x.dtype.np)


def _window_counts(plans, sizes, ksize, strides):
    """[out_h, out_w, 1] input elements per window where padding makes them differ, else
    None (every window is full)."""
    per_axis = []
    for (out, before, _), size, k, s in zip(plans, sizes, ksize, strides):
        start = np.arange(out) * s - before
        per_axis.append(np.minimum(start + k, size) - np.maximum(start, 0))
    counts = np.outer(per_axis[0], per_axis[1])[:, :, None]
    return None if (counts == ksize[0] * ksize[1]).all() else counts


def _pool_input(value, op, n, kind):
    x = _input(value, op, n)
    if kind == "avg" and not x.dtype.is_floating:
        raise _fail(f"{op}: needs a floating input, got {x.dtype.name}; jg.cast it first")
    if x.dtype.is_bool:
        raise _fail(f"{op}: needs a numeric input, got bool")
    return x


def _pool2d(op, kind, input, ksize, strides, padding, data_format):  # noqa: A002
    _check_format(op, data_format, 2)
    x = _pool_input(input, op, 2, kind)
    if kind == "max" and _is_depth_window(ksize):
        return _depth_max_pool(op, x, ksize, strides)
    k = _ints(ksize, 2, op, "ksize")
    s = _ints(strides, 2, op, "strides")
    p = _padding(padding, 2, op, explicit=kind == "max")
    _check_pool_padding(op, p, k)
    return _pool(op, x, k, s, p, kind)


def _is_depth_window(ksize):
    return not isinstance(ksize, (int, np.integer)) and len(ksize) == 4 and int(ksize[3]) != 1


def _depth_max_pool(op, x, ksize, strides):
    """TensorFlow's depthwise max pooling: ksize = strides = [1, 1, 1, k] takes the maximum
    of each k consecutive channels."""
    k = [int(a) for a in ksize]
    s = None if isinstance(strides, (int, np.integer)) else [int(a) for a in strides]
    c = int(x.shape[3])
    if k[:3] != [1, 1, 1] or s != k or c % k[3]:
        raise _fail(f"{op}: pooling over channels (ksize {k}) needs ksize = strides = "
                    f"[1, 1, 1, k] with k dividing the {c} channels of {_desc(x)}; got "
                    f"strides {strides}")
    h, w = (int(v) for v in x.shape[1:3])
    return reduce_max(reshape(x, [_batch(x), h, w, c // k[3], k[3]]), axis=-1)


def _check_pool_padding(op, padding, ksize):
    """TensorFlow's rule: explicit pooling padding smaller than the window (no window of
    padding only)."""
    if isinstance(padding, str):
        return
    for a, ((before, after), k) in enumerate(zip(padding, ksize)):
        if max(before, after) >= k:
            raise _fail(f"{op}: explicit padding {[before, after]} along spatial dim {a} "
                        f"must be smaller than the window size {k}")


def _pool1d(op, kind, input, ksize, strides, padding, data_format):  # noqa: A002
    _check_format(op, data_format, 1)
    x = _pool_input(input, op, 1, kind)
    k = _ints(ksize, 1, op, "ksize")
    s = _ints(strides, 1, op, "strides")
    p = _padding(padding, 1, op, explicit=kind == "max")
    _check_pool_padding(op, p, k)
    p2 = p if isinstance(p, str) else ((0, 0),) + p
    x4 = reshape(x, [_batch(x), 1] + [int(v) for v in x.shape[1:]])
    y = _pool(op, x4, (1,) + k, (1,) + s, p2, kind)
    return reshape(y, [_batch(x)] + [int(v) for v in y.shape[2:]])


def max_pool2d(input, ksize, strides, padding, data_format="NHWC", name=None):  # noqa: A002
    """The maximum of each ``ksize`` window of an NHWC ``input``, every ``strides``
    (ints or lists of 1, 2 or 4); ``padding`` "SAME", "VALID" or explicit pairs."""
    return _pool2d("max_pool2d", "max", input, ksize, strides, padding, data_format)


def avg_pool2d(input, ksize, strides, padding, data_format="NHWC", name=None):  # noqa: A002
    """The mean of each ``ksize`` window of an NHWC ``input`` (with "SAME", over the input
    elements the window covers)."""
    return _pool2d("avg_pool2d", "avg", input, ksize, strides, padding, data_format)


def max_pool1d(input, ksize, strides, padding, data_format="NWC", name=None):  # noqa: A002
    """max_pool2d for an NWC ``input`` [batch, width, channels]."""
    return _pool1d("max_pool1d", "max", input, ksize, strides, padding, data_format)


def avg_pool1d(input, ksize, strides, padding, data_format="NWC", name=None):  # noqa: A002
    """avg_pool2d for an NWC ``input`` [batch, width, channels]."""
    return _pool1d("avg_pool1d", "avg", input, ksize, strides, padding, data_format)


def _by_rank(op, one, two, input, ksize, strides, padding, data_format):  # noqa: A002
    x = as_tensor(input, op)
    if x.ndim == 3:
        return one(x, ksize, strides, padding, data_format or "NWC")
    if x.ndim == 4:
        return two(x, ksize, strides, padding, data_format or "NHWC")
    if x.ndim == 5:  # conv3d.py's max_pool3d / avg_pool3d
        from . import conv3d

        three = conv3d.max_pool3d if op == "max_pool" else conv3d.avg_pool3d
        return three(x, ksize, strides, padding, data_format or "NDHWC")
    raise _fail(f"{op}: input must have rank 3 (NWC), 4 (NHWC) or 5 (NDHWC), got "
                f"{_desc(x)}")


def max_pool(input, ksize, strides, padding, data_format=None, name=None):  # noqa: A002
    """max_pool1d, max_pool2d or max_pool3d, chosen by the input's rank (3, 4 or 5)."""
    return _by_rank("max_pool", max_pool1d, max_pool2d, input, ksize, strides, padding,
                    data_format)


def avg_pool(input, ksize, strides, padding, data_format=None, name=None):  # noqa: A002
    """avg_pool1d, avg_pool2d or avg_pool3d, chosen by the input's rank (3, 4 or 5)."""
    return _by_rank("avg_pool", avg_pool1d, avg_pool2d, input, ksize, strides, padding,
                    data_format)


__all__ = ["conv1d", "conv2d", "conv2d_transpose", "depthwise_conv2d", "max_pool1d",
           "max_pool2d", "avg_pool1d", "avg_pool2d", "max_pool", "avg_pool"]
