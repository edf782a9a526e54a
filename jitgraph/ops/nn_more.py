"""More of ``jg.nn`` (TensorFlow's ``tf.nn``), as compositions of other ops: ``softsign``,
``crelu``, the rank-dispatching ``convolution`` and ``pool``, ``separable_conv2d``,
``atrous_conv2d``, ``depth_to_space``, ``space_to_depth``, ``local_response_normalization``
(``lrn``), ``normalize_moments``, ``sufficient_statistics``, ``weighted_moments``,
``max_pool_with_argmax``, ``zero_fraction`` and ``space_to_batch`` (jg.space_to_batch);
the 3-D convolutions and pooling, and ``conv1d_transpose``, live in ops/conv3d.py.

``max_pool_with_argmax`` gives the flat index ``((b * height + y) * width + x) * channels +
c`` of each window's first maximum (``b`` only with ``include_batch_in_index``), as
TensorFlow; its gradient goes to that element alone.
"""

import numpy as np

from .. import dtypes as _dt
from .. import errors
from .arrays_more import space_to_batch  # noqa: F401 - tf.nn.space_to_batch
from .assemble import concat
from .composite import divide_no_nan, softsign  # noqa: F401 - tf.nn.softsign
from .conv import (
    _batch,
    _check_format,
    _desc,
    _fail,
    _ints,
    _padding,
    _plans,
    _windows,
    avg_pool1d,
    avg_pool2d,
    conv1d,
    conv2d,
    depthwise_conv2d,
    max_pool1d,
    max_pool2d,
)
from .conv3d import avg_pool3d, conv3d, max_pool3d
from .core import as_tensor, normalize_axis
from .elementwise import cast, pow, relu, square, squared_difference, where  # noqa: A004
from .indexing import one_hot
from .linalg import matmul
from .reduce import argmax, reduce_mean, reduce_sum
from .shape import reshape, squeeze, transpose, zeros_like
from .shape import shape as _shape
from .state import stop_gradient


def crelu(features, axis=-1, name=None):
    """``concat([relu(x), relu(-x)], axis)``: the positive and negative parts side by side
    (twice as many channels)."""
    x = as_tensor(features, "crelu")
    return concat([relu(x), relu(-x)], axis=axis)


def convolution(input, filters, strides=None, padding="VALID", data_format=None,  # noqa: A002
                dilations=None, name=None):
    """conv1d, conv2d or conv3d, chosen by the input's rank (3, 4 or 5); ``padding``
    defaults to "VALID" as in TensorFlow."""
    x = as_tensor(input, "convolution")
    if x.ndim == 3:
        return conv1d(x, filters, strides, padding, data_format or "NWC", dilations)
    if x.ndim == 4:
        return conv2d(x, filters, strides, padding, data_format or "NHWC", dilations)
    if x.ndim == 5:
        return conv3d(x, filters, strides, padding, data_format or "NDHWC", dilations)
    raise _fail(f"convolution: input must have rank 3 (NWC), 4 (NHWC) or 5 (NDHWC), got "
                f"{_desc(x)}")


_POOLS = {("MAX", 3): max_pool1d, ("MAX", 4): max_pool2d, ("MAX", 5): max_pool3d,
          ("AVG", 3): avg_pool1d, ("AVG", 4): avg_pool2d, ("AVG", 5): avg_pool3d}


def pool(input, window_shape, pooling_type, strides=None, padding="VALID",  # noqa: A002
         data_format=None, dilations=None, name=None):
    """Max ("MAX") or average ("AVG") pooling of an N-D input (rank 3, 4 or 5, channels
    last) with ``window_shape`` one int per spatial dim; ``strides`` default 1. Dilated
    pooling (``dilations`` above 1) is not supported."""
    x = as_tensor(input, "pool")
    kind = str(pooling_type).upper()
    if kind not in ("MAX", "AVG"):
        raise _fail(f"pool: pooling_type must be 'MAX' or 'AVG', got {pooling_type!r}")
    if (x.ndim, kind) not in {(r, k) for k, r in _POOLS}:
        raise _fail(f"pool: input must have rank 3, 4 or 5 (channels last), got {_desc(x)}")
    n = x.ndim - 2
    window = _ints(window_shape, n, "pool", "window_shape")
    if dilations is not None and any(d != 1 for d in _ints(dilations, n, "pool",
                                                           "dilations")):
        raise errors.UnimplementedError(errors.at_user_line(
            f"pool: dilations={dilations!r} are not supported; jitgraph pools contiguous "
            f"windows (dilations 1)"))
    s = _ints(strides, n, "pool", "strides") if strides is not None else (1,) * n
    return _POOLS[(kind, x.ndim)](x, list(window), list(s), padding, data_format)


def separable_conv2d(input, depthwise_filter, pointwise_filter, strides, padding,  # noqa: A002
                     data_format=None, dilations=None, name=None):
    """depthwise_conv2d with ``depthwise_filter`` [h, w, in, multiplier], then a 1x1
    conv2d with ``pointwise_filter`` [1, 1, in * multiplier, out]."""
    pw = as_tensor(pointwise_filter, "separable_conv2d")
    if pw.ndim != 4 or pw.shape[0] != 1 or pw.shape[1] != 1:
        raise _fail(f"separable_conv2d: pointwise_filter must have shape [1, 1, in_channels "
                    f"* channel_multiplier, out_channels], got {_desc(pw)}")
    y = depthwise_conv2d(input, depthwise_filter, strides, padding, data_format, dilations)
    return conv2d(y, pw, 1, "VALID", data_format or "NHWC")


def atrous_conv2d(value, filters, rate, padding, name=None):
    """conv2d with ``dilations=rate`` (stride 1): the filters' taps ``rate`` apart."""
    if int(rate) < 1:
        raise _fail(f"atrous_conv2d: rate must be a positive int, got {rate!r}")
    return conv2d(value, filters, 1, padding, "NHWC", dilations=int(rate))


def zero_fraction(value, name=None):
    """The fraction of the elements of ``value`` that are zero, as float32 (also
    ``jg.math.zero_fraction``).

    >>> jg.nn.zero_fraction([1, 0, 0, 2])  # 0.5
    """
    x = as_tensor(value, "zero_fraction")
    return reduce_mean(cast(x == 0 if not x.dtype.is_bool else ~x, _dt.float32))


def _nhwc(value, op, data_format):
    _check_format(op, data_format, 2)
    x = as_tensor(value, op)
    if x.ndim != 4 or any(v is None for v in x.shape[1:]):
        raise _fail(f"{op}: input must have rank 4 [batch, height, width, channels] with "
                    f"the last three dims known when tracing, got {_desc(x)}")
    return x, (_batch(x), *(int(v) for v in x.shape[1:]))


def depth_to_space(input, block_size, data_format="NHWC", name=None):  # noqa: A002
    """Moves channel blocks into ``block_size`` x ``block_size`` spatial blocks: [b, h, w,
    c] -> [b, h * bs, w * bs, c / bs^2] (the channels divisible by ``block_size ** 2``)."""
    x, (n, h, w, c) = _nhwc(input, "depth_to_space", data_format)
    bs = int(block_size)
    if bs < 2 or c % (bs * bs):
        raise _fail(f"depth_to_space: block_size must be >= 2 and its square must divide "
                    f"the {c} channels of {_desc(x)}, got block_size={block_size}")
    co = c // (bs * bs)
    y = transpose(reshape(x, [n, h, w, bs, bs, co]), [0, 1, 3, 2, 4, 5])
    return reshape(y, [n, h * bs, w * bs, co])


def space_to_depth(input, block_size, data_format="NHWC", name=None):  # noqa: A002
    """The inverse of depth_to_space: [b, h, w, c] -> [b, h / bs, w / bs, c * bs^2]
    (height and width divisible by ``block_size``)."""
    x, (n, h, w, c) = _nhwc(input, "space_to_depth", data_format)
    bs = int(block_size)
    if bs < 2 or h % bs or w % bs:
        raise _fail(f"space_to_depth: block_size must be >= 2 and divide the height and "
                    f"width of {_desc(x)}, got block_size={block_size}")
    y = transpose(reshape(x, [n, h // bs, bs, w // bs, bs, c]), [0, 1, 3, 2, 4, 5])
    return reshape(y, [n, h // bs, w // bs, bs * bs * c])


def local_response_normalization(input, depth_radius=5, bias=1.0, alpha=1.0,  # noqa: A002
                                 beta=0.5, name=None):
    """``x / (bias + alpha * sqr_sum) ** beta`` with ``sqr_sum`` the sum of squares over
    the channels ``c - depth_radius .. c + depth_radius`` of a rank-4 input."""
    x = as_tensor(input, "local_response_normalization")
    if x.ndim != 4 or x.shape[3] is None or not x.dtype.is_floating:
        raise _fail(f"local_response_normalization: input must be a floating rank-4 tensor "
                    f"with known channels, got {_desc(x)}")
    c, r = int(x.shape[3]), int(depth_radius)
    idx = np.arange(c)
    band = (np.abs(idx[:, None] - idx[None, :]) <= r).astype(x.dtype.np)
    sq = reshape(matmul(reshape(square(x), [-1, c]), band), _shape(x))
    return x / pow(sq * alpha + bias, beta)


lrn = local_response_normalization


def normalize_moments(counts, mean_ss, variance_ss, shift, name=None):
    """(mean, variance) from sufficient statistics: ``mean = mean_ss / counts + shift``,
    ``variance = variance_ss / counts - (mean_ss / counts) ** 2``."""
    m = as_tensor(mean_ss, "normalize_moments")
    divisor = 1 / as_tensor(counts, "normalize_moments", m.dtype)
    shifted = m * divisor
    mean = shifted if shift is None else shifted + as_tensor(shift, "normalize_moments",
                                                              m.dtype)
    var = as_tensor(variance_ss, "normalize_moments", m.dtype) * divisor - square(shifted)
    return mean, var


def sufficient_statistics(x, axes, shift=None, keepdims=False, name=None):
    """(count, sum of ``x - shift``, sum of ``(x - shift) ** 2``, shift) over ``axes``
    (the plain sums when ``shift`` is None); count is the number of elements reduced, in
    ``x``'s dtype."""
    x = as_tensor(x, "sufficient_statistics")
    axes_t = normalize_axis(axes, x.ndim, "sufficient_statistics")
    dims = [x.shape[a] for a in axes_t]
    if any(d is None for d in dims):
        shp = cast(_shape(x), x.dtype)
        count = 1
        for a in axes_t:
            count = count * shp[a]
    else:
        count = as_tensor(np.array(np.prod(dims) if dims else 1, x.dtype.np), "count")
    if shift is not None:
        shift = as_tensor(shift, "sufficient_statistics", x.dtype)
        m_ss = reduce_sum(x - shift, axis=list(axes_t), keepdims=keepdims)
        v_ss = reduce_sum(squared_difference(x, shift), axis=list(axes_t), keepdims=keepdims)
    else:
        m_ss = reduce_sum(x, axis=list(axes_t), keepdims=keepdims)
        v_ss = reduce_sum(square(x), axis=list(axes_t), keepdims=keepdims)
    return count, m_ss, v_ss, shift


def weighted_moments(x, axes, frequency_weights, keepdims=False, name=None):
    """(mean, variance) of ``x`` over ``axes`` with each element counted
    ``frequency_weights`` times (broadcast against ``x``); 0 where the weights sum to 0."""
    x = as_tensor(x, "weighted_moments")
    w = as_tensor(frequency_weights, "weighted_moments", x.dtype)
    ax = list(normalize_axis(axes, x.ndim, "weighted_moments"))
    total = reduce_sum(w + zeros_like(x), axis=ax, keepdims=True)
    mean = divide_no_nan(reduce_sum(w * x, axis=ax, keepdims=True), total)
    dist = reduce_sum(w * squared_difference(x, stop_gradient(mean)), axis=ax, keepdims=True)
    var = divide_no_nan(dist, total)
    if not keepdims:
        mean, var = squeeze(mean, ax), squeeze(var, ax)
    return mean, var


def max_pool_with_argmax(input, ksize, strides, padding, data_format="NHWC",  # noqa: A002
                         output_dtype=_dt.int64, include_batch_in_index=False, name=None):
    """(max_pool2d of ``input``, the flat index of each maximum): ``(y * width + x) *
    channels + c``, plus ``b * height * width * channels`` with
    ``include_batch_in_index``; ``padding`` "SAME" or "VALID"."""
    op = "max_pool_with_argmax"
    x, (n, h, w, c) = _nhwc(input, op, data_format)
    if x.dtype.is_bool:
        raise _fail(f"{op}: needs a numeric input, got bool")
    out_dt = _dt.as_dtype(output_dtype)
    if not out_dt.is_integer:
        raise _fail(f"{op}: output_dtype must be int32 or int64, got {out_dt.name}")
    k = _ints(ksize, 2, op, "ksize")
    s = _ints(strides, 2, op, "strides")
    p = _padding(padding, 2, op, explicit=False)
    plans = _plans(op, [h, w], k, s, (1, 1), p, f"input {_desc(x)}, ksize {list(k)}")
    (oh, _, _), (ow, _, _) = plans
    kk = k[0] * k[1]
    low = -np.inf if x.dtype.is_floating else int(np.iinfo(x.dtype.np).min)
    win = reshape(_windows(x, plans, k, s, (1, 1), low), [n, oh, ow, kk, c])
    # the flat y * w + x of every window element; padding gets -1 (never picked: a window
    # always holds an input element, and argmax takes the first maximum)
    pos = as_tensor(np.arange(h * w, dtype=out_dt.np).reshape(1, h, w, 1), op)
    pos_w = reshape(_windows(pos, plans, k, s, (1, 1), -1), [1, oh, ow, kk, 1])
    sel = cast(one_hot(argmax(win, axis=3, output_type=_dt.int32), kk, axis=3,
                       dtype=_dt.int32), _dt.bool_)
    values = reduce_sum(where(sel, win, zeros_like(win)), axis=3)
    flat = reduce_sum(where(sel, pos_w + zeros_like(sel, dtype=out_dt), 0), axis=3)
    index = flat * c + np.arange(c, dtype=out_dt.np).reshape(1, 1, 1, c)
    if include_batch_in_index:
        index = index + reshape(cast(_batch_index(x, n), out_dt), [-1, 1, 1, 1]) * (h * w * c)
    return values, index


def _batch_index(x, n):
    from .assemble import range as _range

    size = _shape(x)[0] if n == -1 else n
    return _range(0, size, dtype=_dt.int32)


__all__ = ["softsign", "crelu", "convolution", "pool", "separable_conv2d",
           "atrous_conv2d", "depth_to_space", "space_to_depth", "local_response_normalization",
           "lrn", "normalize_moments", "sufficient_statistics", "weighted_moments",
           "max_pool_with_argmax", "zero_fraction", "space_to_batch"]
