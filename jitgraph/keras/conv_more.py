"""More convolution, pooling and reshaping layers, channels last: Conv3D, Conv1DTranspose,
Conv3DTranspose, SeparableConv1D/2D, DepthwiseConv1D, MaxPooling3D, AveragePooling3D,
GlobalMaxPooling3D, GlobalAveragePooling3D, AdaptiveAverage/MaxPooling1D/2D/3D, UpSampling3D,
ZeroPadding3D and Cropping3D, with
Keras' arguments, configs and weight shapes (``kernel``, ``depthwise_kernel``,
``pointwise_kernel``, ``bias``), so weights copy over from tf.keras with ``set_weights``.
The 3-D ones use ``jg.nn.conv3d``/``conv3d_transpose``/``max_pool3d``/``avg_pool3d``.

>>> layer = jg.keras.layers.Conv3D(8, 3, padding="same")
>>> layer(jg.ones((2, 6, 6, 6, 1))).shape   # (2, 6, 6, 6, 8)
"""

import numpy as np

import jitgraph as jg

from . import constraints, initializers, regularizers
from .base_layer import Layer
from .conv_layers import (
    Conv2DTranspose,
    UpSampling2D,
    ZeroPadding2D,
    _channels_last,
    _Conv,
    _depthwise_args,
    _depthwise_config,
    _depthwise_output_shape,
    _GlobalPooling,
    _pairs,
    _Pooling,
    _ser,
    _SpatialLayer,
    _transposed_length,
    _tuple,
)
from .layers_extra import _crop

_LAYOUT3 = "(batch, depth, height, width, channels)"
_LAYOUT1 = "(batch, steps, channels)"


# ----------------------------------------------------------------------------- convolutions


class Conv3D(_Conv):
    """3-D convolution over (batch, depth, height, width, channels): ``kernel`` has shape
    ``kernel_size + (in_channels // groups, filters)``."""

    rank = 3
    _layout = _LAYOUT3

    def _convolve(self, x, kernel):
        return jg.nn.conv3d(x, kernel, self.strides, self.padding.upper(),
                            dilations=self.dilation_rate)


class _ConvTranspose(Conv2DTranspose):
    """Conv2DTranspose's arguments and output size rule at another rank."""

    def __init__(self, filters, kernel_size, strides=1, padding="valid", output_padding=None,
                 data_format=None, dilation_rate=1, activation=None, use_bias=True,
                 **kwargs):
        super().__init__(filters, kernel_size, strides=strides, padding=padding,
                         data_format=data_format, dilation_rate=dilation_rate,
                         activation=activation, use_bias=use_bias, **kwargs)
        if output_padding is not None:
            n = self.rank
            op = (output_padding,) * n if isinstance(output_padding, int) else \
                tuple(int(v) for v in output_padding)
            if len(op) != n or any(not 0 <= p < st for p, st in zip(op, self.strides)):
                raise ValueError(f"{type(self).__name__}: output_padding must be {n} ints, "
                                 f"each >= 0 and less than the stride {self.strides}, got "
                                 f"{output_padding!r}")
            self.output_padding = op

    def compute_output_shape(self, input_shape):
        s = tuple(input_shape)
        ops = self.output_padding or (None,) * self.rank
        spatial = tuple(_transposed_length(d, k, self.padding, st, dl, op) for d, k, st, dl, op
                        in zip(s[1:-1], self.kernel_size, self.strides, self.dilation_rate,
                               ops))
        return jg.TensorShape((s[0],) + spatial + (self.filters,))

    def call(self, inputs):
        self._check_rank(inputs, self.rank, self._layout)
        out = list(self.compute_output_shape(inputs.shape))
        out[0] = None
        y = self._transpose(inputs, out)
        if self.bias is not None:
            y = y + self.bias
        return self.activation(y)


class Conv3DTranspose(_ConvTranspose):
    """The transpose of Conv3D (``jg.nn.conv3d_transpose``): ``kernel`` has shape
    ``kernel_size + (filters, in_channels)``."""

    rank = 3
    _layout = _LAYOUT3

    def _transpose(self, x, out):
        return jg.nn.conv3d_transpose(x, self.kernel, out, self.strides, self.padding.upper(),
                                      dilations=self.dilation_rate)


class Conv1DTranspose(_ConvTranspose):
    """The transpose of Conv1D (``jg.nn.conv1d_transpose``): ``kernel`` has shape
    ``(kernel_size, filters, in_channels)``."""

    rank = 1
    _layout = _LAYOUT1

    def _transpose(self, x, out):
        return jg.nn.conv1d_transpose(x, self.kernel, out, self.strides, self.padding.upper(),
                                      dilations=self.dilation_rate)


def _depthwise(x, kernel, strides, padding, dilation, rank):
    """jg.nn.depthwise_conv2d; rank 1 as a height-1 image."""
    if rank == 2:
        return jg.nn.depthwise_conv2d(x, kernel, strides, padding, dilations=dilation)
    s = tuple(x.shape)
    y = jg.nn.depthwise_conv2d(jg.reshape(x, [-1, 1, s[1], s[2]]), kernel[None],
                               (1,) + tuple(strides), padding, dilations=(1,) + tuple(dilation))
    return jg.reshape(y, [-1] + list(y.shape[2:]))


class _DepthwiseBase(_SpatialLayer):
    """The arguments and depthwise kernel shared by DepthwiseConv1D and SeparableConv1D/2D."""

    rank = 1
    _layout = _LAYOUT1
    _separable = False

    def __init__(self, kernel_size, strides=1, padding="valid", depth_multiplier=1,
                 data_format=None, dilation_rate=1, activation=None, use_bias=True,
                 depthwise_initializer="glorot_uniform", bias_initializer="zeros",
                 depthwise_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 depthwise_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        _depthwise_args(self, kernel_size, strides, padding, depth_multiplier, data_format,
                        dilation_rate, activation, use_bias, depthwise_initializer,
                        bias_initializer, depthwise_regularizer, bias_regularizer,
                        depthwise_constraint, bias_constraint)

    def _channels(self, shape):
        shape = tuple(shape)
        self._check_rank(shape, self.rank, self._layout)
        if shape[-1] is None:
            raise ValueError(f"{type(self).__name__} layer {self.name!r}: the channels (last "
                             f"dim) of its input must be known, got shape {shape}")
        return shape[-1]

    def build(self, input_shape):
        c = self._channels(input_shape)
        self.depthwise_kernel = self.add_weight(
            "depthwise_kernel", self.kernel_size + (c, self.depth_multiplier),
            initializer=self.depthwise_initializer, regularizer=self.depthwise_regularizer,
            constraint=self.depthwise_constraint)
        self._build_pointwise(c * self.depth_multiplier)
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight("bias", (self._out_channels(c),),
                                        initializer=self.bias_initializer,
                                        regularizer=self.bias_regularizer,
                                        constraint=self.bias_constraint)
        self.built = True

    def _build_pointwise(self, channels):
        pass

    def _out_channels(self, c):
        return c * self.depth_multiplier

    def _pointwise(self, y):
        return y

    def call(self, inputs):
        self._check_rank(inputs, self.rank, self._layout)
        y = _depthwise(inputs, self.depthwise_kernel, self.strides, self.padding.upper(),
                       self.dilation_rate, self.rank)
        y = self._pointwise(y)
        if self.bias is not None:
            y = y + self.bias
        return self.activation(y)

    def compute_output_shape(self, input_shape):
        return _depthwise_output_shape(self, input_shape, self._out_channels)

    def get_config(self):
        return {**super().get_config(), **_depthwise_config(self)}


class DepthwiseConv1D(_DepthwiseBase):
    """Each channel of (batch, steps, channels) convolved with its own ``depth_multiplier``
    filters: ``depthwise_kernel`` (kernel_size, in_channels, depth_multiplier)."""


class SeparableConv1D(_DepthwiseBase):
    """A depthwise convolution (``depthwise_kernel`` (k, in, depth_multiplier)) followed by
    a pointwise one (``pointwise_kernel`` (1, in * depth_multiplier, filters))."""

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None,
                 dilation_rate=1, depth_multiplier=1, activation=None, use_bias=True,
                 depthwise_initializer="glorot_uniform", pointwise_initializer="glorot_uniform",
                 bias_initializer="zeros", depthwise_regularizer=None,
                 pointwise_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 depthwise_constraint=None, pointwise_constraint=None, bias_constraint=None,
                 **kwargs):
        super().__init__(kernel_size, strides=strides, padding=padding,
                         depth_multiplier=depth_multiplier, data_format=data_format,
                         dilation_rate=dilation_rate, activation=activation, use_bias=use_bias,
                         depthwise_initializer=depthwise_initializer,
                         bias_initializer=bias_initializer,
                         depthwise_regularizer=depthwise_regularizer,
                         bias_regularizer=bias_regularizer,
                         activity_regularizer=activity_regularizer,
                         depthwise_constraint=depthwise_constraint,
                         bias_constraint=bias_constraint, **kwargs)
        if int(filters) <= 0:
            raise ValueError(f"{type(self).__name__}: filters must be a positive integer, "
                             f"got {filters!r}")
        self.filters = int(filters)
        self.pointwise_initializer = initializers.get(pointwise_initializer)
        self.pointwise_regularizer = regularizers.get(pointwise_regularizer)
        self.pointwise_constraint = constraints.get(pointwise_constraint)

    def _build_pointwise(self, channels):
        self.pointwise_kernel = self.add_weight(
            "pointwise_kernel", (1,) * self.rank + (channels, self.filters),
            initializer=self.pointwise_initializer, regularizer=self.pointwise_regularizer,
            constraint=self.pointwise_constraint)

    def _out_channels(self, c):
        return self.filters

    def _pointwise(self, y):
        # a 1x1 convolution: a matmul over the channels
        k = self.pointwise_kernel
        return jg.tensordot(y, jg.reshape(k, list(k.shape)[-2:]), axes=[[self.rank + 1], [0]])

    def get_config(self):
        return {**super().get_config(), "filters": self.filters,
                "pointwise_initializer": _ser(self.pointwise_initializer),
                "pointwise_regularizer": _ser(self.pointwise_regularizer),
                "pointwise_constraint": _ser(self.pointwise_constraint)}


class SeparableConv2D(SeparableConv1D):
    """SeparableConv1D over (batch, height, width, channels): ``depthwise_kernel`` (kh, kw,
    in, depth_multiplier), ``pointwise_kernel`` (1, 1, in * depth_multiplier, filters)."""

    rank = 2
    _layout = "(batch, height, width, channels)"


# ----------------------------------------------------------------------------- pooling


class MaxPooling3D(_Pooling):
    """The maximum of each ``pool_size`` window of (batch, depth, height, width,
    channels)."""

    rank = 3
    _layout = _LAYOUT3

    def call(self, inputs):
        self._check_rank(inputs, self.rank, self._layout)
        fn = jg.nn.max_pool3d if self.kind == "max" else jg.nn.avg_pool3d
        return fn(inputs, self.pool_size, self.strides, self.padding.upper())


class AveragePooling3D(MaxPooling3D):
    """The mean of each window (with padding="same", over the input elements it covers)."""

    kind = "avg"


class GlobalMaxPooling3D(_GlobalPooling):
    """The maximum over depth, height and width: (batch, channels)."""

    rank = 3
    _layout = _LAYOUT3


class GlobalAveragePooling3D(GlobalMaxPooling3D):
    """The mean over depth, height and width: (batch, channels)."""

    kind = "avg"


# ----------------------------------------------------------------------------- adaptive pooling


def _adaptive_windows(size, out):
    """PyTorch's (and Keras') windows: output i pools [floor(i size / out), ceil((i + 1) size
    / out))."""
    i = np.arange(out)
    return (i * size) // out, np.minimum(-((-(i + 1) * size) // out), size)


def _adaptive_pool_axis(x, axis, out, kind):
    size = int(x.shape[axis])
    starts, ends = _adaptive_windows(size, out)
    dtype = x.dtype.as_numpy_dtype
    if kind == "avg":  # a (size, out) averaging matrix on that axis
        m = np.zeros((size, out), dtype)
        for j, (a, b) in enumerate(zip(starts, ends)):
            m[a:b, j] = 1.0 / (b - a)
        y = jg.tensordot(x, jg.constant(m), axes=[[axis], [0]])  # the pooled axis goes last
        rank = len(x.shape)
        perm = list(range(axis)) + [rank - 1] + list(range(axis, rank - 1))
        return jg.transpose(y, perm)
    width = int((ends - starts).max())
    idx = starts[:, None] + np.arange(width)[None, :]  # (out, width), past the end: masked
    valid = idx < ends[:, None]
    win = jg.gather(x, jg.constant(np.minimum(idx, size - 1).astype(np.int32)), axis=axis)
    shape = [1] * len(win.shape)
    shape[axis], shape[axis + 1] = out, width
    lowest = jg.constant(np.finfo(dtype).min, x.dtype) if x.dtype.is_floating else \
        jg.constant(np.iinfo(dtype).min, x.dtype)
    win = jg.where(jg.constant(valid.reshape(shape)), win, jg.zeros_like(win) + lowest)
    return jg.reduce_max(win, axis=axis + 1)


class _AdaptivePooling(Layer):
    """Pools each spatial axis into ``output_size`` windows that cover it (the windows'
    sizes differ by at most one), whatever the input's size; Keras' (and PyTorch's)
    window rule."""

    rank, kind = 2, "avg"

    def __init__(self, output_size, data_format=None, **kwargs):
        super().__init__(**kwargs)
        who = type(self).__name__
        self.output_size = _tuple(output_size, self.rank, "output_size", who)
        self.data_format = data_format or "channels_last"
        if self.data_format not in ("channels_last", "channels_first"):
            raise ValueError(f"{who}: data_format must be 'channels_last' or "
                             f"'channels_first', got {data_format!r}")

    def _axes(self):
        return list(range(1, self.rank + 1)) if self.data_format == "channels_last" else \
            list(range(2, self.rank + 2))

    def call(self, inputs):
        x = jg.convert_to_tensor(inputs)
        if len(x.shape) != self.rank + 2:
            raise ValueError(f"{type(self).__name__} layer {self.name!r}: expects inputs of "
                             f"rank {self.rank + 2}, got shape {tuple(x.shape)}")
        for axis, out in zip(self._axes(), self.output_size):
            if x.shape[axis] is None:
                raise ValueError(f"{type(self).__name__} layer {self.name!r}: the spatial "
                                 f"dims must be known, got shape {tuple(x.shape)}")
            x = _adaptive_pool_axis(x, axis, out, self.kind)
        return x

    def compute_output_shape(self, input_shape):
        s = list(input_shape)
        for axis, out in zip(self._axes(), self.output_size):
            s[axis] = out
        return jg.TensorShape(s)

    def get_config(self):
        return {**super().get_config(), "output_size": self.output_size,
                "data_format": self.data_format}


class AdaptiveAveragePooling1D(_AdaptivePooling):
    """The mean of each of ``output_size`` windows covering the steps."""

    rank = 1


class AdaptiveAveragePooling2D(_AdaptivePooling):
    """The mean of each of ``output_size`` (rows, columns) windows covering the image."""


class AdaptiveAveragePooling3D(_AdaptivePooling):
    """The mean of each of ``output_size`` windows covering the volume."""

    rank = 3


class AdaptiveMaxPooling1D(_AdaptivePooling):
    """The maximum of each of ``output_size`` windows covering the steps."""

    rank, kind = 1, "max"


class AdaptiveMaxPooling2D(_AdaptivePooling):
    """The maximum of each of ``output_size`` windows covering the image."""

    kind = "max"


class AdaptiveMaxPooling3D(_AdaptivePooling):
    """The maximum of each of ``output_size`` windows covering the volume."""

    rank, kind = 3, "max"


# ----------------------------------------------------------------------------- reshaping


class UpSampling3D(UpSampling2D):
    """Each element repeated ``size`` times along depth, height and width."""

    rank = 3

    def __init__(self, size=(2, 2, 2), data_format=None, **kwargs):
        super().__init__(size, data_format=data_format, **kwargs)

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format}


class ZeroPadding3D(ZeroPadding2D):
    """Zeros around depth, height and width: an int, 3 ints or 3 (before, after) pairs."""

    rank = 3

    def __init__(self, padding=((1, 1), (1, 1), (1, 1)), data_format=None, **kwargs):
        super().__init__(padding, data_format=data_format, **kwargs)

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format}


class Cropping3D(_SpatialLayer):
    """Crops depth, height and width: ``cropping`` an int, 3 ints or 3 (before, after)
    pairs."""

    def __init__(self, cropping=((1, 1), (1, 1), (1, 1)), data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.cropping = _pairs(cropping, 3, "cropping", type(self).__name__)
        self.data_format = _channels_last(data_format, type(self).__name__)

    def call(self, inputs):
        self._check_rank(inputs, 3, _LAYOUT3)
        x = inputs
        for axis, (lo, hi) in enumerate(self.cropping, start=1):
            x = _crop(x, axis, lo, hi, self)
        return x

    def compute_output_shape(self, input_shape):
        s = tuple(input_shape)
        return jg.TensorShape((s[0],) + tuple(None if d is None else d - sum(c) for d, c in zip(
            s[1:-1], self.cropping)) + (s[-1],))

    def get_config(self):
        return {**super().get_config(), "cropping": self.cropping,
                "data_format": self.data_format}


CLASSES = [Conv3D, Conv1DTranspose, Conv3DTranspose, DepthwiseConv1D, SeparableConv1D,
           SeparableConv2D, MaxPooling3D, AveragePooling3D, GlobalMaxPooling3D,
           GlobalAveragePooling3D, UpSampling3D, ZeroPadding3D, Cropping3D,
           AdaptiveAveragePooling1D, AdaptiveAveragePooling2D, AdaptiveAveragePooling3D,
           AdaptiveMaxPooling1D, AdaptiveMaxPooling2D, AdaptiveMaxPooling3D]
# Keras' aliases
ALIASES = {"Convolution3D": Conv3D, "Convolution1DTranspose": Conv1DTranspose,
           "Convolution3DTranspose": Conv3DTranspose, "SeparableConvolution1D": SeparableConv1D,
           "SeparableConvolution2D": SeparableConv2D, "MaxPool3D": MaxPooling3D,
           "AvgPool3D": AveragePooling3D, "GlobalMaxPool3D": GlobalMaxPooling3D,
           "GlobalAvgPool3D": GlobalAveragePooling3D}
globals().update(ALIASES)

__all__ = [c.__name__ for c in CLASSES] + list(ALIASES)

from . import layers as _layers  # noqa: E402 - layers.py imports this module at its end

_layers.TABLE.update({c.__name__: c for c in CLASSES}, **ALIASES)  # found by name on loading
