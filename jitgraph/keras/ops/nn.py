"""keras.ops.nn on jitgraph: activations, convolutions and pooling with Keras' arguments
(``padding="valid"|"same"``, ``data_format="channels_last"|"channels_first"``, int or tuple
``strides``/``dilation_rate``), one_hot/multi_hot, the three cross-entropies as per-sample
functions, moments and the normalizations, and dot_product_attention.

>>> ops.conv(x, kernel, strides=2, padding="same")
>>> ops.sparse_categorical_crossentropy(labels, logits, from_logits=True)
"""

import math as _pymath

import numpy as np

import jitgraph as jg

from ._common import axes, floating, iota, norm_axis, static_dim, static_shape, tensor
from .core import fori_loop

EPSILON = 1e-7

# --- activations --------------------------------------------------------------------------


def relu(x):
    return jg.nn.relu(floating(x))


def relu6(x):
    return jg.nn.relu6(floating(x))


def sigmoid(x):
    return jg.sigmoid(floating(x))


def softplus(x):
    return jg.softplus(floating(x))


def softsign(x):
    return jg.nn.softsign(floating(x))


def silu(x):
    return jg.nn.silu(floating(x))


swish = silu


def log_sigmoid(x):
    return jg.log_sigmoid(floating(x))


def tanh(x):
    return jg.tanh(floating(x))


def leaky_relu(x, negative_slope=0.2):
    return jg.nn.leaky_relu(floating(x), alpha=negative_slope)


def elu(x, alpha=1.0):
    x = floating(x)
    return jg.where(x > 0, x, alpha * jg.expm1(jg.minimum(x, 0.0)))


def selu(x):
    return jg.nn.selu(floating(x))


def celu(x, alpha=1.0):
    x = floating(x)
    return jg.maximum(x, 0.0) + alpha * jg.expm1(jg.minimum(x, 0.0) / alpha)


def gelu(x, approximate=True):
    """Keras' default is the tanh approximation (``approximate=True``)."""
    return jg.nn.gelu(floating(x), approximate=approximate)


def glu(x, axis=-1):
    a, b = jg.split(floating(x), 2, axis=axis)
    return a * jg.sigmoid(b)


def hard_sigmoid(x):
    return jg.nn.relu6(floating(x) + 3.0) / 6.0


def hard_silu(x):
    x = floating(x)
    return x * hard_sigmoid(x)


hard_swish = hard_silu


def hard_tanh(x):
    return jg.clip_by_value(floating(x), -1.0, 1.0)


def squareplus(x, b=4):
    x = floating(x)
    return (x + jg.sqrt(x * x + float(b))) / 2.0


def sparse_plus(x):
    x = floating(x)
    return jg.where(x <= -1.0, jg.zeros_like(x),
                    jg.where(x >= 1.0, x, (x + 1.0) * (x + 1.0) / 4.0))


def sparse_sigmoid(x):
    x = floating(x)
    return jg.where(x <= -1.0, jg.zeros_like(x),
                    jg.where(x >= 1.0, jg.ones_like(x), (x + 1.0) / 2.0))


def soft_shrink(x, threshold=0.5):
    x = floating(x)
    return jg.where(x > threshold, x - threshold,
                    jg.where(x < -threshold, x + threshold, jg.zeros_like(x)))


def hard_shrink(x, threshold=0.5):
    x = floating(x)
    return jg.where(jg.abs(x) > threshold, x, jg.zeros_like(x))


def tanh_shrink(x):
    x = floating(x)
    return x - jg.tanh(x)


def threshold(x, threshold, default_value):
    x = tensor(x)
    return jg.where(x > threshold, x, jg.fill(jg.shape(x), tensor(default_value, x.dtype)))


def _over_axis(fn, x, axis):
    x = floating(x)
    if axis is None:
        return jg.reshape(fn(jg.reshape(x, [-1]), 0), jg.shape(x))
    if isinstance(axis, (tuple, list)):
        rank = x.shape.rank
        ax = sorted(norm_axis(a, rank) for a in axis)
        rest = [d for d in range(rank) if d not in ax]
        moved = jg.transpose(x, rest + ax)
        shape = static_shape(moved, "softmax")
        flat = jg.reshape(moved, list(shape[:len(rest)]) + [-1])
        out = jg.reshape(fn(flat, -1), shape)
        return jg.transpose(out, np.argsort(rest + ax).tolist())
    return fn(x, axis)


def softmax(x, axis=-1):
    return _over_axis(lambda t, a: jg.nn.softmax(t, axis=a), x, axis)


def log_softmax(x, axis=-1):
    return _over_axis(lambda t, a: jg.nn.log_softmax(t, axis=a), x, axis)


def sparsemax(x, axis=-1):
    """Sparsemax (Martins & Astudillo, 2016) along ``axis``."""
    x = floating(x)
    rank = x.shape.rank
    ax = norm_axis(axis, rank)
    z = jg.sort(x, axis=ax, direction="DESCENDING")
    n = static_dim(x, ax, "sparsemax")
    shape = [1] * rank
    shape[ax] = n
    k = jg.reshape(iota(1, n + 1, dtype=x.dtype), shape)
    cum = jg.cumsum(z, axis=ax)
    support = jg.cast(1.0 + k * z > cum, x.dtype)
    k_z = jg.reduce_sum(support, axis=ax, keepdims=True)
    tau = (jg.reduce_sum(support * z, axis=ax, keepdims=True) - 1.0) / k_z
    return jg.maximum(x - tau, 0.0)


# --- convolution and pooling --------------------------------------------------------------

_FORMATS = {1: ("NWC", "NCW"), 2: ("NHWC", "NCHW"), 3: ("NDHWC", "NCDHW")}


def _tuple(v, n, what):
    if isinstance(v, int):
        return [v] * n
    v = list(v)
    if len(v) != n:
        raise jg.errors.InvalidArgumentError(
            f"jg.keras.ops: {what} must be an int or {n} ints for {n}-D inputs, got {v}")
    return v


def _padding(padding, what):
    p = str(padding).lower()
    if p not in ("valid", "same"):
        raise jg.errors.InvalidArgumentError(
            f"jg.keras.ops.{what}: padding must be 'valid' or 'same', got {padding!r}")
    return p.upper()


def _channels_last(x, data_format):
    """``x`` in channels_last layout, and the function that brings a result back."""
    fmt = data_format or "channels_last"
    if fmt not in ("channels_last", "channels_first"):
        raise jg.errors.InvalidArgumentError(
            "jg.keras.ops: data_format must be 'channels_last' or 'channels_first', got "
            f"{data_format!r}")
    if fmt == "channels_last":
        return x, lambda y: y
    r = x.shape.rank
    to_last = [0] + list(range(2, r)) + [1]
    to_first = [0, r - 1] + list(range(1, r - 1))
    return jg.transpose(x, to_last), lambda y: jg.transpose(y, to_first)


def _spatial(x, what):
    n = x.shape.rank - 2
    if n not in _FORMATS:
        raise jg.errors.InvalidArgumentError(
            f"jg.keras.ops.{what}: inputs must be 3-D, 4-D or 5-D (batch, spatial..., "
            f"channels), got shape {x.shape.as_list()}")
    return n


def conv(inputs, kernel, strides=1, padding="valid", data_format=None, dilation_rate=1):
    x, back = _channels_last(floating(inputs), data_format)
    n = _spatial(x, "conv")
    out = jg.nn.convolution(x, tensor(kernel, x.dtype), strides=_tuple(strides, n, "strides"),
                            padding=_padding(padding, "conv"), data_format=_FORMATS[n][0],
                            dilations=_tuple(dilation_rate, n, "dilation_rate"))
    return back(out)


def depthwise_conv(inputs, kernel, strides=1, padding="valid", data_format=None,
                   dilation_rate=1):
    """Depthwise convolution of 1-D or 2-D inputs; kernel (spatial..., in, multiplier)."""
    x, back = _channels_last(floating(inputs), data_format)
    n = _spatial(x, "depthwise_conv")
    k = tensor(kernel, x.dtype)
    if n == 3:
        raise jg.errors.UnimplementedError(
            "jg.keras.ops.depthwise_conv: 3-D depthwise convolution is not supported; use "
            "ops.conv per channel group or 1-D/2-D inputs")
    s, d = _tuple(strides, n, "strides"), _tuple(dilation_rate, n, "dilation_rate")
    if n == 1:
        x, k = jg.expand_dims(x, 1), jg.expand_dims(k, 0)
        s, d = [1] + s, [1] + d
    out = jg.nn.depthwise_conv2d(x, k, strides=[1] + s + [1],
                                 padding=_padding(padding, "depthwise_conv"), dilations=d)
    if n == 1:
        out = jg.squeeze(out, axis=[1])
    return back(out)


def separable_conv(inputs, depthwise_kernel, pointwise_kernel, strides=1, padding="valid",
                   data_format=None, dilation_rate=1):
    out = depthwise_conv(inputs, depthwise_kernel, strides, padding, data_format, dilation_rate)
    return conv(out, pointwise_kernel, 1, "valid", data_format, 1)


def _deconv_length(length, stride, kernel, padding, output_padding, dilation):
    kernel = (kernel - 1) * dilation + 1
    if output_padding is None:
        if padding == "VALID":
            return length * stride + max(kernel - stride, 0)
        return length * stride
    pad = kernel // 2 if padding == "SAME" else 0
    return (length - 1) * stride + kernel - 2 * pad + output_padding


def conv_transpose(inputs, kernel, strides=1, padding="valid", output_padding=None,
                   data_format=None, dilation_rate=1):
    """Transposed convolution; kernel (spatial..., out_channels, in_channels)."""
    x, back = _channels_last(floating(inputs), data_format)
    n = _spatial(x, "conv_transpose")
    k = tensor(kernel, x.dtype)
    s, d = _tuple(strides, n, "strides"), _tuple(dilation_rate, n, "dilation_rate")
    pad = _padding(padding, "conv_transpose")
    op = None if output_padding is None else _tuple(output_padding, n, "output_padding")
    shape = static_shape(x, "conv_transpose")
    ks = static_shape(k, "conv_transpose")
    spatial = [_deconv_length(shape[1 + i], s[i], ks[i], pad, None if op is None else op[i],
                              d[i]) for i in range(n)]
    out_shape = [shape[0]] + spatial + [ks[-2]]
    fn = {1: jg.nn.conv1d_transpose, 2: jg.nn.conv2d_transpose, 3: jg.nn.conv3d_transpose}[n]
    out = fn(x, k, out_shape, strides=s, padding=pad, dilations=d)
    return back(out)


def _pool(kind, inputs, pool_size, strides, padding, data_format):
    what = "max_pool" if kind == "MAX" else "average_pool"
    x, back = _channels_last(floating(inputs), data_format)
    n = _spatial(x, what)
    window = _tuple(pool_size, n, "pool_size")
    s = window if strides is None else _tuple(strides, n, "strides")
    out = jg.nn.pool(x, window, kind, strides=s, padding=_padding(padding, what),
                     data_format=_FORMATS[n][0])
    return back(out)


def max_pool(inputs, pool_size, strides=None, padding="valid", data_format=None):
    return _pool("MAX", inputs, pool_size, strides, padding, data_format)


def average_pool(inputs, pool_size, strides=None, padding="valid", data_format=None):
    return _pool("AVG", inputs, pool_size, strides, padding, data_format)


def _adaptive_pool(kind, inputs, output_size, data_format):
    """Adaptive pooling with PyTorch's bins (bin i of n over size L spans
    [floor(i L / n), ceil((i + 1) L / n))), one spatial axis at a time: a rectangle's max or
    mean is the max or mean over one axis of the max or mean over the other."""
    what = f"adaptive_{'max' if kind == 'MAX' else 'average'}_pool"
    x, back = _channels_last(floating(inputs), data_format)
    n = _spatial(x, what)
    sizes = _tuple(output_size, n, "output_size")
    reduce = jg.reduce_max if kind == "MAX" else jg.reduce_mean
    for d, out in enumerate(sizes):
        axis = d + 1
        length = static_dim(x, axis, what)
        bins = [(i * length // out, -(-(i + 1) * length // out)) for i in range(out)]
        parts = [reduce(jg.gather(x, iota(a, b), axis=axis), axis=axis, keepdims=True)
                 for a, b in bins]
        x = jg.concat(parts, axis=axis)
    return back(x)


def adaptive_max_pool(inputs, output_size, data_format=None):
    return _adaptive_pool("MAX", inputs, output_size, data_format)


def adaptive_average_pool(inputs, output_size, data_format=None):
    return _adaptive_pool("AVG", inputs, output_size, data_format)


def _fold_geometry(kernel_size, dilation, padding, stride, h, w, what):
    kh, kw = _tuple(kernel_size, 2, "kernel_size")
    dh, dw = _tuple(dilation, 2, "dilation")
    ph, pw = _tuple(padding, 2, "padding")
    sh, sw = _tuple(stride, 2, "stride")
    oh = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    ow = (w + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    if oh < 1 or ow < 1:
        raise jg.errors.InvalidArgumentError(
            f"jg.keras.ops.{what}: a {kh}x{kw} kernel (dilation {dh, dw}) does not fit the "
            f"padded {h + 2 * ph}x{w + 2 * pw} image")
    # Row and column of every (kernel offset, output position) in the padded image.
    rows = (np.arange(kh)[:, None] * dh + np.arange(oh)[None] * sh)            # (kh, oh)
    cols = (np.arange(kw)[:, None] * dw + np.arange(ow)[None] * sw)            # (kw, ow)
    return (kh, kw), (ph, pw), (oh, ow), rows, cols


def unfold(x, kernel_size, dilation=1, padding=0, stride=1):
    """im2col of a channels-first batch (N, C, H, W): (N, C * kH * kW, L) patches."""
    x = floating(x)
    n, c, h, w = static_shape(x, "unfold")
    (kh, kw), (ph, pw), (oh, ow), rows, cols = _fold_geometry(
        kernel_size, dilation, padding, stride, h, w, "unfold")
    xp = jg.pad(x, [[0, 0], [0, 0], [ph, ph], [pw, pw]])
    picked = jg.gather(xp, jg.constant(rows.reshape(-1).astype(np.int32)), axis=2)
    picked = jg.gather(picked, jg.constant(cols.reshape(-1).astype(np.int32)), axis=3)
    picked = jg.reshape(picked, [n, c, kh, oh, kw, ow])        # rows (kh, oh), cols (kw, ow)
    picked = jg.transpose(picked, [0, 1, 2, 4, 3, 5])           # (n, c, kh, kw, oh, ow)
    return jg.reshape(picked, [n, c * kh * kw, oh * ow])


def fold(x, output_size, kernel_size, dilation=1, padding=0, stride=1):
    """col2im, unfold's adjoint: (N, C * kH * kW, L) patches summed into (N, C, H, W)."""
    x = floating(x)
    n, ckk, _ = static_shape(x, "fold")
    h, w = _tuple(output_size, 2, "output_size")
    (kh, kw), (ph, pw), (oh, ow), rows, cols = _fold_geometry(
        kernel_size, dilation, padding, stride, h, w, "fold")
    c = ckk // (kh * kw)
    blocks = jg.reshape(x, [n, c, kh, kw, oh, ow])
    blocks = jg.transpose(blocks, [2, 3, 4, 5, 0, 1])           # (kh, kw, oh, ow, n, c)
    blocks = jg.reshape(blocks, [kh * kw * oh * ow, n, c])
    ri = np.broadcast_to(rows[:, None, :, None], (kh, kw, oh, ow)).reshape(-1)
    ci = np.broadcast_to(cols[None, :, None, :], (kh, kw, oh, ow)).reshape(-1)
    idx = jg.constant(np.stack([ri, ci], 1).astype(np.int32))
    out = jg.tensor_scatter_nd_add(jg.zeros([h + 2 * ph, w + 2 * pw, n, c], x.dtype), idx,
                                   blocks)
    out = jg.transpose(out, [2, 3, 0, 1])
    return out[:, :, ph:ph + h, pw:pw + w]


def depth_to_space(x, block_size, data_format="channels_last"):
    x, back = _channels_last(tensor(x), data_format)
    return back(jg.nn.depth_to_space(x, block_size))


def space_to_depth(x, block_size, data_format="channels_last"):
    x, back = _channels_last(tensor(x), data_format)
    return back(jg.nn.space_to_depth(x, block_size))


# --- encodings ----------------------------------------------------------------------------


def _no_sparse(sparse, what):
    if sparse:
        raise jg.errors.UnimplementedError(
            f"jg.keras.ops.{what}: sparse=True needs sparse tensors, which jitgraph does not "
            "have; use sparse=False")


def one_hot(x, num_classes, axis=-1, dtype=None, sparse=False):
    _no_sparse(sparse, "one_hot")
    x = tensor(x)
    if not x.dtype.is_integer:
        x = jg.cast(x, jg.int32)
    return jg.one_hot(x, int(num_classes), axis=axis,
                      dtype=jg.float32 if dtype is None else jg.as_dtype(dtype))


def multi_hot(inputs, num_classes=None, axis=-1, dtype=None, sparse=False, **kwargs):
    _no_sparse(sparse, "multi_hot")
    num_classes = kwargs.pop("num_tokens", num_classes)
    if num_classes is None:
        raise jg.errors.InvalidArgumentError("jg.keras.ops.multi_hot: give num_classes")
    x = tensor(inputs)
    reduce_axis = 1 if x.shape.rank > 1 else 0
    return jg.reduce_max(one_hot(x, num_classes, axis=axis, dtype=dtype), axis=reduce_axis)


# --- losses -------------------------------------------------------------------------------


def binary_crossentropy(target, output, from_logits=False):
    """Elementwise binary cross-entropy (no reduction), as keras.ops."""
    output = floating(output)
    target = tensor(target, output.dtype)
    if from_logits:
        return jg.nn.sigmoid_cross_entropy_with_logits(labels=target, logits=output)
    output = jg.clip_by_value(output, EPSILON, 1.0 - EPSILON)
    return -(target * jg.log(output) + (1.0 - target) * jg.log(1.0 - output))


def categorical_crossentropy(target, output, from_logits=False, axis=-1):
    output = floating(output)
    target = tensor(target, output.dtype)
    if from_logits:
        return -jg.reduce_sum(target * jg.nn.log_softmax(output, axis=axis), axis=axis)
    output = output / jg.reduce_sum(output, axis=axis, keepdims=True)
    output = jg.clip_by_value(output, EPSILON, 1.0 - EPSILON)
    return -jg.reduce_sum(target * jg.log(output), axis=axis)


def sparse_categorical_crossentropy(target, output, from_logits=False, axis=-1):
    output = floating(output)
    target = tensor(target)
    if target.dtype.is_floating:
        target = jg.cast(target, jg.int32)
    if target.shape.rank == output.shape.rank and target.shape.as_list()[-1] == 1:
        target = jg.squeeze(target, axis=[-1])
    if norm_axis(axis, output.shape.rank) != output.shape.rank - 1:
        raise jg.errors.UnimplementedError(
            "jg.keras.ops.sparse_categorical_crossentropy: only axis=-1 is supported; move "
            "the class axis last with ops.moveaxis")
    if from_logits:
        return jg.nn.sparse_softmax_cross_entropy_with_logits(labels=target, logits=output)
    output = jg.clip_by_value(output, EPSILON, 1.0 - EPSILON)
    depth = output.shape.as_list()[-1]
    return -jg.reduce_sum(jg.one_hot(target, depth, dtype=output.dtype) * jg.log(output),
                          axis=-1)


def ctc_loss(target, output, target_length, output_length, mask_index=0):
    """Connectionist temporal classification loss per sample: ``output`` holds logits
    (batch, time, classes), ``target`` padded labels (batch, max_label_length), ``mask_index``
    the blank class. The forward recursion over the extended label sequence (blanks around
    every label) runs in log space as one loop over time; frames past ``output_length`` leave
    it unchanged."""
    logits = floating(output)
    dtype = logits.dtype
    labels = tensor(target, jg.int32)
    t_len = tensor(target_length, jg.int32)
    o_len = tensor(output_length, jg.int32)
    b, steps, classes = static_shape(logits, "ctc_loss")
    width = static_dim(labels, 1, "ctc_loss")
    s_len = 2 * width + 1
    neg = jg.cast(-1e30, dtype)
    logp = jg.nn.log_softmax(logits, axis=-1)
    odd = np.arange(s_len) % 2 == 1
    label_at = jg.gather(labels, jg.constant(np.maximum((np.arange(s_len) - 1) // 2, 0)
                                             .astype(np.int32)), axis=1)
    ext = jg.where(jg.constant(odd), label_at, jg.fill([b, s_len], jg.cast(mask_index,
                                                                           jg.int32)))
    emit = jg.gather(logp, ext, axis=2, batch_dims=1)                 # (b, time, s)
    prev2 = jg.concat([jg.fill([b, 2], -1), ext[:, :-2]], axis=1)
    skip = jg.logical_and(jg.not_equal(ext, mask_index), jg.not_equal(ext, prev2))
    valid = jg.less(iota(0, s_len), jg.expand_dims(2 * t_len + 1, 1))  # (b, s)

    def lse(*xs):
        m = xs[0]
        for x in xs[1:]:
            m = jg.maximum(m, x)
        return m + jg.log(jg.add_n([jg.exp(x - m) for x in xs]))

    start = jg.less(iota(0, s_len), 2)
    alpha0 = jg.where(jg.logical_and(start, valid), emit[:, 0], jg.fill([b, s_len], neg))

    def step(t, alpha):
        one = jg.concat([jg.fill([b, 1], neg), alpha[:, :-1]], axis=1)
        two = jg.where(skip, jg.concat([jg.fill([b, 2], neg), alpha[:, :-2]], axis=1),
                       jg.fill([b, s_len], neg))
        new = lse(alpha, one, two) + jg.gather(emit, t, axis=1)
        new = jg.where(valid, jg.maximum(new, neg), jg.fill([b, s_len], neg))
        return jg.where(jg.expand_dims(t < o_len, 1), new, alpha)

    alpha = fori_loop(1, steps, step, alpha0)
    end = jg.expand_dims(2 * t_len, 1)
    last = jg.gather(alpha, end, axis=1, batch_dims=1)[:, 0]
    before = jg.gather(alpha, jg.maximum(end - 1, 0), axis=1, batch_dims=1)[:, 0]
    before = jg.where(t_len > 0, before, jg.fill([b], neg))
    return -lse(last, before)


def ctc_decode(inputs, sequence_lengths, strategy="greedy", beam_width=100, top_paths=1,
               merge_repeated=True, mask_index=0):
    """Greedy CTC decoding of (batch, time, classes) scores: the best class per frame, repeats
    merged, blanks dropped, left-aligned in a (1, batch, time) tensor padded with -1; the
    scores are minus the sum over frames of each frame's best score, shape (batch, 1)."""
    if strategy != "greedy":
        raise jg.errors.UnimplementedError(
            f"jg.keras.ops.ctc_decode: strategy={strategy!r} is not supported; use "
            "strategy='greedy'")
    if top_paths != 1:
        raise jg.errors.UnimplementedError(
            "jg.keras.ops.ctc_decode: greedy decoding gives one path; pass top_paths=1")
    x = floating(inputs)
    b, steps, _ = static_shape(x, "ctc_decode")
    lengths = tensor(sequence_lengths, jg.int32)
    live = jg.less(jg.expand_dims(iota(0, steps), 0), jg.expand_dims(lengths, 1))  # (b, t)
    best = jg.argmax(x, axis=-1, output_type=jg.int32)
    keep = jg.logical_and(live, jg.not_equal(best, mask_index))
    if merge_repeated:
        prev = jg.concat([jg.fill([b, 1], -1), best[:, :-1]], axis=1)
        keep = jg.logical_and(keep, jg.not_equal(best, prev))
    slot = jg.cumsum(jg.cast(keep, jg.int32), axis=1) - 1
    slot = jg.where(keep, slot, jg.fill([b, steps], steps))          # dropped: an extra slot
    rows = jg.broadcast_to(jg.expand_dims(iota(0, b), 1), [b, steps])
    idx = jg.stack([rows, slot], axis=-1)
    decoded = jg.tensor_scatter_nd_update(jg.fill([b, steps + 1], -1), idx,
                                          jg.where(keep, best, jg.fill([b, steps], -1)))
    score = -jg.reduce_sum(jg.where(live, jg.reduce_max(x, axis=-1), jg.zeros([b, steps],
                                                                              x.dtype)),
                           axis=1, keepdims=True)
    return jg.expand_dims(decoded[:, :steps], 0), score


# --- normalization ------------------------------------------------------------------------


def moments(x, axes, keepdims=False, synchronized=False):
    x = floating(x)
    ax = [axes] if isinstance(axes, int) else list(axes)
    mean = jg.reduce_mean(x, axis=ax, keepdims=True)
    variance = jg.reduce_mean(jg.square(x - mean), axis=ax, keepdims=True)
    if not keepdims:
        mean, variance = jg.squeeze(mean, axis=ax), jg.squeeze(variance, axis=ax)
    return mean, variance


def batch_normalization(x, mean, variance, axis, offset=None, scale=None, epsilon=1e-3):
    x = floating(x)
    rank = x.shape.rank
    shape = [1] * rank
    shape[norm_axis(axis, rank)] = -1

    def b(v):
        v = tensor(v, x.dtype)
        return jg.reshape(v, shape) if v.shape.rank == 1 else v
    inv = jg.rsqrt(b(variance) + epsilon)
    if scale is not None:
        inv = inv * b(scale)
    res = -b(mean) * inv
    if offset is not None:
        res = res + b(offset)
    return x * inv + res


def normalize(x, axis=-1, order=2, epsilon=None):
    if not isinstance(order, int) or order < 1:
        raise jg.errors.InvalidArgumentError(
            f"jg.keras.ops.normalize: order must be an int >= 1, got {order!r}")
    x = floating(x)
    if x.shape.rank == 0:
        x = jg.expand_dims(x, 0)
    eps = EPSILON if epsilon is None else epsilon
    if order == 2:
        inv = jg.rsqrt(jg.reduce_sum(jg.square(x), axis=axes(axis), keepdims=True))
        return x * jg.minimum(inv, 1.0 / eps)
    norm = jg.pow(jg.reduce_sum(jg.pow(jg.abs(x), float(order)), axis=axes(axis),
                                keepdims=True), 1.0 / order)
    return x / jg.maximum(norm, eps)


def layer_normalization(x, gamma=None, beta=None, axis=-1, epsilon=None, **kwargs):
    rms_scaling = kwargs.pop("rms_scaling", False)
    x = floating(x)
    eps = EPSILON if epsilon is None else epsilon
    rank = x.shape.rank
    ax = sorted(norm_axis(a, rank) for a in ([axis] if isinstance(axis, int) else axis))
    bshape = [1] * rank
    for d in ax:
        bshape[d] = -1 if len(ax) == 1 else x.shape.as_list()[d]

    def b(v):
        if v is None:
            return None
        v = tensor(v, x.dtype)
        return jg.reshape(v, bshape) if v.shape.rank != rank and ax != [rank - 1] else v
    if rms_scaling:
        var = jg.reduce_variance(x, axis=ax, keepdims=True)
        out = x * jg.rsqrt(var + eps)
        return out if gamma is None else out * b(gamma)
    mean, var = moments(x, ax, keepdims=True)
    inv = jg.rsqrt(var + eps)
    if gamma is not None:
        inv = inv * b(gamma)
    res = -mean * inv
    if beta is not None:
        res = res + b(beta)
    return x * inv + res


def rms_normalization(x, scale=None, axis=-1, epsilon=None):
    x = floating(x)
    if x.shape.rank == 0:
        x = jg.expand_dims(x, 0)
    eps = EPSILON if epsilon is None else epsilon
    out = x * jg.rsqrt(jg.reduce_mean(jg.square(x), axis=axes(axis), keepdims=True) + eps)
    return out if scale is None else out * tensor(scale, x.dtype)


def psnr(x1, x2, max_val):
    x1, x2 = floating(x1), floating(x2)
    mse = jg.reduce_mean(jg.square(x1 - x2))
    return 20.0 * jg.log(jg.cast(max_val, x1.dtype)) / _pymath.log(10.0) \
        - 10.0 * jg.log(mse) / _pymath.log(10.0)


def dot_product_attention(query, key, value, bias=None, mask=None, scale=None,
                          is_causal=False, flash_attention=None, attn_logits_soft_cap=None):
    """Attention over (batch, seq, heads, head_dim) tensors, as keras.ops; ``mask`` is True
    where attending is allowed."""
    if flash_attention:
        raise jg.errors.UnimplementedError(
            "jg.keras.ops.dot_product_attention: flash_attention=True is not supported; pass "
            "flash_attention=None or False")
    q, k, v = floating(query), floating(key), floating(value)
    if q.shape.rank == 3:
        q, k, v = (jg.expand_dims(t, 2) for t in (q, k, v))
        squeeze = True
    else:
        squeeze = False
    head_dim = q.shape.as_list()[-1]
    scale = 1.0 / _pymath.sqrt(head_dim) if scale is None else scale
    logits = jg.einsum("btnh,bsnh->bnts", q, k) * scale
    if attn_logits_soft_cap is not None:
        logits = attn_logits_soft_cap * jg.tanh(logits / attn_logits_soft_cap)
    if bias is not None:
        logits = logits + tensor(bias, logits.dtype)
    allowed = None if mask is None else tensor(mask, jg.bool)
    if is_causal:
        t, s = logits.shape.as_list()[-2:]
        causal = jg.less_equal(jg.reshape(iota(0, s), [1, -1]),
                               jg.reshape(iota(0, t), [-1, 1]))
        allowed = causal if allowed is None else jg.logical_and(allowed, causal)
    if allowed is not None:
        big = jg.fill(jg.shape(logits), jg.cast(-1e9 if logits.dtype == jg.float32
                                                else -1e30, logits.dtype))
        logits = jg.where(jg.broadcast_to(allowed, jg.shape(logits)), logits, big)
    probs = jg.nn.softmax(logits, axis=-1)
    out = jg.einsum("bnts,bsnh->btnh", probs, v)
    return jg.squeeze(out, axis=[2]) if squeeze else out
