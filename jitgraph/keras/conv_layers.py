"""Convolution and pooling layers: Conv1D, Conv2D, Conv2DTranspose, DepthwiseConv2D,
MaxPooling1D/2D, AveragePooling1D/2D, GlobalAveragePooling1D/2D, GlobalMaxPooling1D/2D,
ZeroPadding1D/2D and UpSampling1D/2D (Cropping1D/2D: layers_extra.py), channels last only
(``data_format="channels_last"``), with Keras' arguments, weight shapes and names
(``kernel`` [kh, kw, in, filters], ``bias`` [filters], ``depthwise_kernel``), so weights
copy over from tf.keras with ``set_weights``.

>>> model = jg.keras.Sequential([
...     jg.keras.layers.Conv2D(32, 3, activation="relu", input_shape=(28, 28, 1)),
...     jg.keras.layers.MaxPooling2D(),
...     jg.keras.layers.Flatten(),
...     jg.keras.layers.Dense(10)])
"""


import jitgraph as jg

from . import activations, constraints, initializers, regularizers, serialization
from .base_layer import Layer
from .masking import check_mask


def _ser(obj):
    return serialization.serialize(obj)


def _tuple(value, n, what, layer):
    """An int or n ints, as a tuple of n positive ints (Keras' normalize_tuple)."""
    try:
        v = (int(value),) * n if isinstance(value, int) else tuple(int(a) for a in value)
    except (TypeError, ValueError):
        v = ()
    if len(v) != n or any(a < 1 for a in v):
        raise ValueError(f"{layer}: {what} must be a positive int or a tuple of {n} positive "
                         f"ints, got {value!r}")
    return v


def _padding(padding, allowed, layer):
    p = str(padding).lower()
    if p not in allowed:
        raise ValueError(f"{layer}: padding must be one of {', '.join(map(repr, allowed))}, "
                         f"got {padding!r}")
    return p


def _channels_last(data_format, layer):
    if data_format in (None, "channels_last"):
        return "channels_last"
    if data_format == "channels_first":
        raise NotImplementedError(
            f"{layer}: data_format='channels_first' is not supported; jitgraph computes "
            f"channels last: transpose the inputs (e.g. jg.keras.layers.Permute((2, 3, 1)) "
            f"for images) and use data_format='channels_last'")
    raise ValueError(f"{layer}: data_format must be 'channels_last' or 'channels_first', got "
                     f"{data_format!r}")


def _out_length(size, k, padding, stride, dilation=1):
    """Keras' conv_output_length."""
    if size is None:
        return None
    span = (k - 1) * dilation + 1
    size = size if padding in ("same", "causal") else size - span + 1
    return (size + stride - 1) // stride


class _SpatialLayer(Layer):
    """A layer over (batch, spatial..., channels) inputs."""

    def _check_rank(self, inputs, rank, what):
        shape = tuple(inputs.shape if hasattr(inputs, "shape") else inputs)
        if len(shape) != rank + 2:
            raise ValueError(
                f"{type(self).__name__} layer {self.name!r}: expects inputs of rank "
                f"{rank + 2}, {what}, got shape {shape}; give input_shape without the "
                f"batch axis")


# ----------------------------------------------------------------------------- convolutions


class _Conv(_SpatialLayer):
    rank = 2
    _layout = "(batch, height, width, channels)"

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None,
                 dilation_rate=1, groups=1, activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        who, n = type(self).__name__, self.rank
        if int(filters) <= 0:
            raise ValueError(f"{who}: filters must be a positive integer, got {filters!r}")
        self.filters = int(filters)
        self.kernel_size = _tuple(kernel_size, n, "kernel_size", who)
        self.strides = _tuple(strides, n, "strides", who)
        self.dilation_rate = _tuple(dilation_rate, n, "dilation_rate", who)
        allowed = ("valid", "same", "causal") if n == 1 else ("valid", "same")
        self.padding = _padding(padding, allowed, who)
        self.data_format = _channels_last(data_format, who)
        self.groups = int(groups)
        if self.groups < 1 or self.filters % self.groups:
            raise ValueError(f"{who}: filters ({self.filters}) must be a multiple of groups "
                             f"({groups})")
        self.activation = activations.get(activation)
        self.use_bias = use_bias
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)

    def build(self, input_shape):
        shape = tuple(input_shape)
        self._check_rank(shape, self.rank, self._layout)
        if shape[-1] is None:
            raise ValueError(f"{type(self).__name__} layer {self.name!r}: the channels (last "
                             f"dim) of its input must be known, got shape {shape}")
        if shape[-1] % self.groups:
            raise ValueError(f"{type(self).__name__} layer {self.name!r}: the input's "
                             f"{shape[-1]} channels are not a multiple of groups "
                             f"({self.groups})")
        self.kernel = self.add_weight(
            "kernel", self._kernel_shape(shape[-1]), initializer=self.kernel_initializer,
            regularizer=self.kernel_regularizer, constraint=self.kernel_constraint)
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight("bias", (self.filters,),
                                        initializer=self.bias_initializer,
                                        regularizer=self.bias_regularizer,
                                        constraint=self.bias_constraint)
        self.built = True

    def _kernel_shape(self, in_channels):
        return self.kernel_size + (in_channels // self.groups, self.filters)

    def _convolve(self, x, kernel):
        if self.rank == 1:
            padding = self.padding.upper()
            if padding == "CAUSAL":  # pad on the left only: output t sees inputs <= t
                left = (self.kernel_size[0] - 1) * self.dilation_rate[0]
                padding = [[0, 0], [left, 0], [0, 0]]
            return jg.nn.conv1d(x, kernel, self.strides[0], padding,
                                dilations=self.dilation_rate[0])
        return jg.nn.conv2d(x, kernel, self.strides, self.padding.upper(),
                            dilations=self.dilation_rate)

    def call(self, inputs):
        self._check_rank(inputs, self.rank, self._layout)
        if self.groups == 1:
            y = self._convolve(inputs, self.kernel)
        else:  # each group of input channels has its own filters / groups outputs
            xs = jg.split(inputs, self.groups, axis=-1)
            ks = jg.split(self.kernel, self.groups, axis=-1)
            y = jg.concat([self._convolve(x, k) for x, k in zip(xs, ks)], axis=-1)
        if self.bias is not None:
            y = y + self.bias
        return self.activation(y)

    def compute_output_shape(self, input_shape):
        s = tuple(input_shape)
        spatial = tuple(_out_length(d, k, self.padding, st, dl) for d, k, st, dl in zip(
            s[1:-1], self.kernel_size, self.strides, self.dilation_rate))
        return jg.TensorShape((s[0],) + spatial + (self.filters,))

    def get_config(self):
        return {**super().get_config(), "filters": self.filters,
                "kernel_size": self.kernel_size, "strides": self.strides,
                "padding": self.padding, "data_format": self.data_format,
                "dilation_rate": self.dilation_rate, "groups": self.groups,
                "activation": activations.serialize(self.activation),
                "use_bias": self.use_bias,
                "kernel_initializer": _ser(self.kernel_initializer),
                "bias_initializer": _ser(self.bias_initializer),
                "kernel_regularizer": _ser(self.kernel_regularizer),
                "bias_regularizer": _ser(self.bias_regularizer),
                "activity_regularizer": _ser(self.activity_regularizer),
                "kernel_constraint": _ser(self.kernel_constraint),
                "bias_constraint": _ser(self.bias_constraint)}


class Conv2D(_Conv):
    """2-D convolution over (batch, height, width, channels): ``kernel`` has shape
    ``kernel_size + (in_channels // groups, filters)``."""


class Conv1D(_Conv):
    """1-D convolution over (batch, steps, channels); ``padding="causal"`` pads on the left
    so that output t depends on inputs up to t."""

    rank = 1
    _layout = "(batch, steps, channels)"


def _transposed_length(size, k, padding, stride, dilation, output_padding):
    """Keras' deconv_output_length."""
    if size is None:
        return None
    span = (k - 1) * dilation + 1
    if output_padding is None:
        return size * stride + (max(span - stride, 0) if padding == "valid" else 0)
    pad = span // 2 if padding == "same" else 0
    return (size - 1) * stride + span - 2 * pad + output_padding


class Conv2DTranspose(_Conv):
    """The transpose of Conv2D (``jg.nn.conv2d_transpose``; "deconvolution"): ``kernel`` has
    shape ``kernel_size + (filters, in_channels)``; with ``padding="same"`` the output is
    ``strides`` times the input's size, with "valid" ``max(kernel - stride, 0)`` more;
    ``output_padding`` (less than the strides) sets the extra rows and columns instead."""

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid",
                 output_padding=None, data_format=None, dilation_rate=(1, 1), activation=None,
                 use_bias=True, **kwargs):
        super().__init__(filters, kernel_size, strides=strides, padding=padding,
                         data_format=data_format, dilation_rate=dilation_rate,
                         activation=activation, use_bias=use_bias, **kwargs)
        self.output_padding = None
        if output_padding is not None:
            who = type(self).__name__
            self.output_padding = tuple(
                int(v) for v in ((output_padding,) * 2 if isinstance(output_padding, int)
                                 else output_padding))
            if len(self.output_padding) != 2 or any(
                    not 0 <= p < st for p, st in zip(self.output_padding, self.strides)):
                raise ValueError(f"{who}: output_padding must be 2 ints, each >= 0 and less "
                                 f"than the stride {self.strides}, got {output_padding!r}")

    def _kernel_shape(self, in_channels):
        return self.kernel_size + (self.filters, in_channels)

    def call(self, inputs):
        self._check_rank(inputs, 2, self._layout)
        out = self.compute_output_shape(inputs.shape)
        y = jg.nn.conv2d_transpose(inputs, self.kernel, [None, out[1], out[2], self.filters],
                                   self.strides, self.padding.upper(),
                                   dilations=self.dilation_rate)
        if self.bias is not None:
            y = y + self.bias
        return self.activation(y)

    def compute_output_shape(self, input_shape):
        s = tuple(input_shape)
        ops = self.output_padding or (None, None)
        spatial = tuple(_transposed_length(d, k, self.padding, st, dl, op) for d, k, st, dl, op
                        in zip(s[1:-1], self.kernel_size, self.strides, self.dilation_rate,
                               ops))
        return jg.TensorShape((s[0],) + spatial + (self.filters,))

    def get_config(self):
        cfg = {**super().get_config(), "output_padding": self.output_padding}
        cfg.pop("groups")
        return cfg


def _depthwise_args(layer, kernel_size, strides, padding, depth_multiplier, data_format,
                    dilation_rate, activation, use_bias, depthwise_initializer,
                    bias_initializer, depthwise_regularizer, bias_regularizer,
                    depthwise_constraint, bias_constraint):
    """Checks and stores the constructor arguments of a depthwise convolution layer of
    ``layer.rank`` spatial dims (DepthwiseConv1D/2D, SeparableConv1D/2D)."""
    who, n = type(layer).__name__, layer.rank
    layer.kernel_size = _tuple(kernel_size, n, "kernel_size", who)
    layer.strides = _tuple(strides, n, "strides", who)
    layer.dilation_rate = _tuple(dilation_rate, n, "dilation_rate", who)
    layer.padding = _padding(padding, ("valid", "same"), who)
    layer.data_format = _channels_last(data_format, who)
    if int(depth_multiplier) <= 0:
        raise ValueError(f"{who}: depth_multiplier must be a positive integer, got "
                         f"{depth_multiplier!r}")
    layer.depth_multiplier = int(depth_multiplier)
    layer.activation = activations.get(activation)
    layer.use_bias = use_bias
    layer.depthwise_initializer = initializers.get(depthwise_initializer)
    layer.bias_initializer = initializers.get(bias_initializer)
    layer.depthwise_regularizer = regularizers.get(depthwise_regularizer)
    layer.bias_regularizer = regularizers.get(bias_regularizer)
    layer.depthwise_constraint = constraints.get(depthwise_constraint)
    layer.bias_constraint = constraints.get(bias_constraint)


def _depthwise_config(layer):
    """The config entries of the arguments _depthwise_args reads."""
    return {"kernel_size": layer.kernel_size, "strides": layer.strides,
            "padding": layer.padding, "depth_multiplier": layer.depth_multiplier,
            "data_format": layer.data_format, "dilation_rate": layer.dilation_rate,
            "activation": activations.serialize(layer.activation),
            "use_bias": layer.use_bias,
            "depthwise_initializer": _ser(layer.depthwise_initializer),
            "bias_initializer": _ser(layer.bias_initializer),
            "depthwise_regularizer": _ser(layer.depthwise_regularizer),
            "bias_regularizer": _ser(layer.bias_regularizer),
            "activity_regularizer": _ser(layer.activity_regularizer),
            "depthwise_constraint": _ser(layer.depthwise_constraint),
            "bias_constraint": _ser(layer.bias_constraint)}


def _depthwise_output_shape(layer, input_shape, out_channels):
    """(batch, spatial after the strided, dilated kernel, out_channels(channels))."""
    s = tuple(input_shape)
    spatial = tuple(_out_length(d, k, layer.padding, st, dl) for d, k, st, dl in zip(
        s[1:-1], layer.kernel_size, layer.strides, layer.dilation_rate))
    c = None if s[-1] is None else out_channels(s[-1])
    return jg.TensorShape((s[0],) + spatial + (c,))


class DepthwiseConv2D(_SpatialLayer):
    """Each input channel convolved with its own ``depth_multiplier`` filters
    (``jg.nn.depthwise_conv2d``): ``depthwise_kernel`` has shape ``kernel_size +
    (in_channels, depth_multiplier)``, the output in_channels * depth_multiplier
    channels."""

    rank = 2
    _layout = "(batch, height, width, channels)"

    def __init__(self, kernel_size, strides=(1, 1), padding="valid", depth_multiplier=1,
                 data_format=None, dilation_rate=(1, 1), activation=None, use_bias=True,
                 depthwise_initializer="glorot_uniform", bias_initializer="zeros",
                 depthwise_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 depthwise_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        _depthwise_args(self, kernel_size, strides, padding, depth_multiplier, data_format,
                        dilation_rate, activation, use_bias, depthwise_initializer,
                        bias_initializer, depthwise_regularizer, bias_regularizer,
                        depthwise_constraint, bias_constraint)

    def build(self, input_shape):
        shape = tuple(input_shape)
        self._check_rank(shape, 2, self._layout)
        if shape[-1] is None:
            raise ValueError(f"{type(self).__name__} layer {self.name!r}: the channels (last "
                             f"dim) of its input must be known, got shape {shape}")
        self.depthwise_kernel = self.add_weight(
            "depthwise_kernel", self.kernel_size + (shape[-1], self.depth_multiplier),
            initializer=self.depthwise_initializer, regularizer=self.depthwise_regularizer,
            constraint=self.depthwise_constraint)
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight("bias", (shape[-1] * self.depth_multiplier,),
                                        initializer=self.bias_initializer,
                                        regularizer=self.bias_regularizer,
                                        constraint=self.bias_constraint)
        self.built = True

    def call(self, inputs):
        self._check_rank(inputs, 2, self._layout)
        y = jg.nn.depthwise_conv2d(inputs, self.depthwise_kernel, self.strides,
                                   self.padding.upper(), dilations=self.dilation_rate)
        if self.bias is not None:
            y = y + self.bias
        return self.activation(y)

    def compute_output_shape(self, input_shape):
        return _depthwise_output_shape(self, input_shape, lambda c: c * self.depth_multiplier)

    def get_config(self):
        return {**super().get_config(), **_depthwise_config(self)}


# ----------------------------------------------------------------------------- pooling


class _Pooling(_SpatialLayer):
    rank, kind = 2, "max"
    _layout = "(batch, height, width, channels)"

    def __init__(self, pool_size=2, strides=None, padding="valid", data_format=None,
                 **kwargs):
        super().__init__(**kwargs)
        who = type(self).__name__
        self.pool_size = _tuple(pool_size, self.rank, "pool_size", who)
        self.strides = self.pool_size if strides is None else \
            _tuple(strides, self.rank, "strides", who)
        self.padding = _padding(padding, ("valid", "same"), who)
        self.data_format = _channels_last(data_format, who)

    def call(self, inputs):
        self._check_rank(inputs, self.rank, self._layout)
        fn = {("max", 1): jg.nn.max_pool1d, ("max", 2): jg.nn.max_pool2d,
              ("avg", 1): jg.nn.avg_pool1d, ("avg", 2): jg.nn.avg_pool2d}[self.kind, self.rank]
        return fn(inputs, self.pool_size, self.strides, self.padding.upper())

    def compute_output_shape(self, input_shape):
        s = tuple(input_shape)
        spatial = tuple(_out_length(d, k, self.padding, st) for d, k, st in zip(
            s[1:-1], self.pool_size, self.strides))
        return jg.TensorShape((s[0],) + spatial + (s[-1],))

    def get_config(self):
        return {**super().get_config(), "pool_size": self.pool_size, "padding": self.padding,
                "strides": self.strides, "data_format": self.data_format}


class MaxPooling2D(_Pooling):
    """The maximum of each ``pool_size`` window, every ``strides`` (default: pool_size)."""


class AveragePooling2D(_Pooling):
    """The mean of each window (with padding="same", over the input elements it covers)."""

    kind = "avg"


class MaxPooling1D(_Pooling):
    rank = 1
    _layout = "(batch, steps, channels)"

    def __init__(self, pool_size=2, strides=None, padding="valid", data_format=None,
                 **kwargs):
        super().__init__(pool_size, strides, padding, data_format, **kwargs)


class AveragePooling1D(MaxPooling1D):
    kind = "avg"


class _GlobalPooling(_SpatialLayer):
    rank, kind = 2, "max"
    _layout = "(batch, height, width, channels)"

    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(**kwargs)
        self.data_format = _channels_last(data_format, type(self).__name__)
        self.keepdims = bool(keepdims)

    def call(self, inputs):
        self._check_rank(inputs, self.rank, self._layout)
        reduce = jg.reduce_max if self.kind == "max" else jg.reduce_mean
        return reduce(inputs, axis=list(range(1, self.rank + 1)), keepdims=self.keepdims)

    def compute_output_shape(self, input_shape):
        s = tuple(input_shape)
        if self.keepdims:
            return jg.TensorShape((s[0],) + (1,) * self.rank + (s[-1],))
        return jg.TensorShape((s[0], s[-1]))

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format,
                "keepdims": self.keepdims}


class GlobalMaxPooling2D(_GlobalPooling):
    """The maximum over height and width: (batch, channels)."""


class GlobalAveragePooling2D(_GlobalPooling):
    """The mean over height and width: (batch, channels)."""

    kind = "avg"


class GlobalMaxPooling1D(_GlobalPooling):
    rank = 1
    _layout = "(batch, steps, channels)"


class GlobalAveragePooling1D(GlobalMaxPooling1D):
    """The mean over the steps: (batch, channels). With a mask (batch, steps), the mean of
    the unmasked steps (as tf.keras; GlobalMaxPooling1D ignores masks, as tf.keras does)."""

    kind = "avg"
    supports_masking = True

    def call(self, inputs, mask=None):
        if mask is None:
            return super().call(inputs)
        self._check_rank(inputs, self.rank, self._layout)
        mask = jg.expand_dims(check_mask(self, mask, inputs, "(batch, steps)"), -1)
        total = jg.reduce_sum(jg.where(mask, inputs, jg.zeros_like(inputs)), axis=1,
                              keepdims=self.keepdims)
        return total / jg.reduce_sum(jg.cast(mask, inputs.dtype), axis=1,
                                     keepdims=self.keepdims)

    def compute_mask(self, inputs, mask=None):
        return None


# ----------------------------------------------------------------------------- reshaping


def _pairs(value, n, what, layer):
    """Keras' padding/cropping forms: an int, n ints (symmetric), or n (before, after)
    pairs; as a tuple of n pairs."""
    if isinstance(value, int):
        value = (value,) * n
    value = tuple(value)
    if len(value) != n:
        raise ValueError(f"{layer}: {what} must be an int, {n} ints or {n} (before, after) "
                         f"pairs, got {value!r}")
    out = []
    for v in value:
        pair = (int(v), int(v)) if isinstance(v, int) else tuple(int(a) for a in v)
        if len(pair) != 2 or min(pair) < 0:
            raise ValueError(f"{layer}: {what} must be non-negative ints or (before, after) "
                             f"pairs, got {value!r}")
        out.append(pair)
    return tuple(out)


def _add(d, k):
    return None if d is None else d + k


class ZeroPadding2D(_SpatialLayer):
    """Zeros added around the height and width: ``padding`` an int, (sym_height, sym_width)
    or ((top, bottom), (left, right))."""

    rank = 2

    def __init__(self, padding=(1, 1), data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.padding = _pairs(padding, self.rank, "padding", type(self).__name__)
        self.data_format = _channels_last(data_format, type(self).__name__)

    def call(self, inputs):
        self._check_rank(inputs, self.rank, "channels last")
        return jg.pad(inputs, [[0, 0], *map(list, self.padding), [0, 0]])

    def compute_output_shape(self, input_shape):
        s = tuple(input_shape)
        return jg.TensorShape((s[0],) + tuple(_add(d, sum(p)) for d, p in zip(
            s[1:-1], self.padding)) + (s[-1],))

    def get_config(self):
        cfg = {**super().get_config(), "padding": self.padding}
        if self.rank == 2:
            cfg["data_format"] = self.data_format
        return cfg


class ZeroPadding1D(ZeroPadding2D):
    """Zeros added at the start and end of the steps axis: ``padding`` an int or (start,
    end)."""

    rank = 1

    def __init__(self, padding=1, **kwargs):
        if isinstance(padding, (tuple, list)) and len(padding) == 2 and all(
                isinstance(p, int) for p in padding):
            padding = (tuple(padding),)
        super().__init__(padding, **kwargs)

    def get_config(self):
        return {**super().get_config(), "padding": self.padding[0]}


class UpSampling2D(_SpatialLayer):
    """Each row repeated ``size[0]`` times and each column ``size[1]`` times (nearest
    neighbour)."""

    rank = 2

    def __init__(self, size=(2, 2), data_format=None, interpolation="nearest", **kwargs):
        super().__init__(**kwargs)
        who = type(self).__name__
        self.size = _tuple(size, self.rank, "size", who)
        self.data_format = _channels_last(data_format, who)
        if interpolation != "nearest":
            raise NotImplementedError(f"{who}: interpolation={interpolation!r} is not "
                                      "supported; use 'nearest'")
        self.interpolation = interpolation

    def call(self, inputs):
        self._check_rank(inputs, self.rank, "channels last")
        s = tuple(inputs.shape)
        if any(d is None for d in s[1:]):
            raise ValueError(f"{type(self).__name__} layer {self.name!r}: needs all dims "
                             f"but the batch known, got {s}")
        # (batch, h, 1, w, 1, c) times ones (1, 1, sh, 1, sw, 1): each value repeated
        expanded, ones = [-1], [1]
        for d, k in zip(s[1:-1], self.size):
            expanded += [d, 1]
            ones += [1, k]
        x = jg.reshape(inputs, expanded + [s[-1]]) * jg.ones(ones + [1], inputs.dtype)
        return jg.reshape(x, [-1] + [d * k for d, k in zip(s[1:-1], self.size)] + [s[-1]])

    def compute_output_shape(self, input_shape):
        s = tuple(input_shape)
        return jg.TensorShape((s[0],) + tuple(None if d is None else d * k for d, k in zip(
            s[1:-1], self.size)) + (s[-1],))

    def get_config(self):
        cfg = {**super().get_config(), "size": self.size}
        if self.rank == 2:
            cfg.update(data_format=self.data_format, interpolation=self.interpolation)
        return cfg


class UpSampling1D(UpSampling2D):
    """Each step repeated ``size`` times."""

    rank = 1

    def __init__(self, size=2, **kwargs):
        super().__init__(size, **kwargs)

    def get_config(self):
        return {**super().get_config(), "size": self.size[0]}


CLASSES = [Conv1D, Conv2D, Conv2DTranspose, DepthwiseConv2D, MaxPooling1D, MaxPooling2D,
           AveragePooling1D, AveragePooling2D, GlobalMaxPooling1D, GlobalMaxPooling2D,
           GlobalAveragePooling1D, GlobalAveragePooling2D, ZeroPadding1D, ZeroPadding2D,
           UpSampling1D, UpSampling2D]
# Keras' aliases
MaxPool1D, MaxPool2D, AvgPool1D, AvgPool2D = MaxPooling1D, MaxPooling2D, AveragePooling1D, \
    AveragePooling2D
GlobalMaxPool1D, GlobalMaxPool2D = GlobalMaxPooling1D, GlobalMaxPooling2D
GlobalAvgPool1D, GlobalAvgPool2D = GlobalAveragePooling1D, GlobalAveragePooling2D
Convolution1D, Convolution2D, Convolution2DTranspose = Conv1D, Conv2D, Conv2DTranspose
ALIASES = {"MaxPool1D": MaxPool1D, "MaxPool2D": MaxPool2D, "AvgPool1D": AvgPool1D,
           "AvgPool2D": AvgPool2D, "GlobalMaxPool1D": GlobalMaxPool1D,
           "GlobalMaxPool2D": GlobalMaxPool2D, "GlobalAvgPool1D": GlobalAvgPool1D,
           "GlobalAvgPool2D": GlobalAvgPool2D, "Convolution1D": Conv1D,
           "Convolution2D": Conv2D, "Conv2DTranspose": Conv2DTranspose,
           "Convolution2DTranspose": Conv2DTranspose}

__all__ = [c.__name__ for c in CLASSES] + list(ALIASES)

from . import layers as _layers  # noqa: E402 - layers.py imports this module at its end

_layers.TABLE.update({c.__name__: c for c in CLASSES}, **ALIASES)  # found by name on loading
