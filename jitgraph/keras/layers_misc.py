"""More Keras layers: PReLU, ThresholdedReLU, GaussianDropout, AlphaDropout,
SpatialDropout2D/3D, EinsumDense, RMSNormalization, RandomHeight, RandomWidth, the
``Wrapper`` base class and SpectralNormalization, with Keras 3's arguments, configs, weight
names and numerics (the random layers draw from ``jg.random`` with their ``seed``:
repeatable, not Keras' numbers).

>>> layer = jg.keras.layers.EinsumDense("abc,cd->abd", output_shape=(None, 16),
...                                     bias_axes="d")
>>> layer(jg.ones((2, 5, 8))).shape   # (2, 5, 16)
"""

import math
import re

import jitgraph as jg

from . import activations, constraints, initializers, regularizers, serialization
from .base_layer import Layer
from .input_spec import InputSpec
from .layers import _random_like


def _ser(obj):
    return serialization.serialize(obj)


def _rate(rate, who):
    if not 0.0 <= float(rate) < 1.0:
        raise ValueError(f"{who}: rate must be in [0, 1), got {rate!r}")
    return float(rate)


# ----------------------------------------------------------------------------- activations


class PReLU(Layer):
    """``max(x, 0) + alpha * min(x, 0)`` with a learned ``alpha`` of the input's shape
    (without the batch axis); ``shared_axes`` share one alpha along those axes (e.g. [1, 2]
    for one alpha per channel of an image)."""

    supports_masking = True

    def __init__(self, alpha_initializer="zeros", alpha_regularizer=None,
                 alpha_constraint=None, shared_axes=None, **kwargs):
        super().__init__(**kwargs)
        self.alpha_initializer = initializers.get(alpha_initializer)
        self.alpha_regularizer = regularizers.get(alpha_regularizer)
        self.alpha_constraint = constraints.get(alpha_constraint)
        if shared_axes is None or isinstance(shared_axes, (list, tuple)):
            self.shared_axes = None if shared_axes is None else [int(a) for a in shared_axes]
        else:
            self.shared_axes = [int(shared_axes)]

    def build(self, input_shape):
        shape = list(input_shape)[1:]
        for a in self.shared_axes or []:
            if not 1 <= a <= len(shape):
                raise ValueError(f"PReLU layer {self.name!r}: shared_axes {self.shared_axes} "
                                 f"must name axes 1..{len(shape)} of the input shape "
                                 f"{tuple(input_shape)}")
            shape[a - 1] = 1
        if any(d is None for d in shape):
            raise ValueError(f"PReLU layer {self.name!r}: needs the input's dims known "
                             f"(except the batch and the shared_axes), got "
                             f"{tuple(input_shape)}; give shared_axes for the unknown ones")
        self.alpha = self.add_weight("alpha", tuple(shape), initializer=self.alpha_initializer,
                                     regularizer=self.alpha_regularizer,
                                     constraint=self.alpha_constraint)
        self.built = True

    def call(self, inputs):
        return jg.nn.relu(inputs) - self.alpha * jg.nn.relu(-inputs)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "alpha_initializer": _ser(self.alpha_initializer),
                "alpha_regularizer": _ser(self.alpha_regularizer),
                "alpha_constraint": _ser(self.alpha_constraint),
                "shared_axes": self.shared_axes}


class ThresholdedReLU(Layer):
    """``x`` where ``x > theta``, else 0."""

    supports_masking = True

    def __init__(self, theta=1.0, **kwargs):
        super().__init__(**kwargs)
        if theta is None or float(theta) < 0:
            raise ValueError(f"ThresholdedReLU: theta must be a non-negative float, got "
                             f"{theta!r}")
        self.theta = float(theta)

    def call(self, inputs):
        return jg.where(inputs > self.theta, inputs, jg.zeros_like(inputs))

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "theta": self.theta}


# ----------------------------------------------------------------------------- regularization


class GaussianDropout(Layer):
    """In training, multiplies the inputs by noise of mean 1 and standard deviation
    ``sqrt(rate / (1 - rate))``; otherwise passes them through."""

    supports_masking = True

    def __init__(self, rate, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.rate, self.seed = _rate(rate, "GaussianDropout"), seed

    def call(self, inputs, training=None):
        if not training or self.rate == 0.0:
            return inputs
        stddev = math.sqrt(self.rate / (1.0 - self.rate))
        return inputs * _random_like(inputs, "normal", mean=1.0, stddev=stddev,
                                     seed=self.seed)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "seed": self.seed}


class AlphaDropout(Layer):
    """Dropout that keeps the mean and variance of SELU activations: dropped inputs are set
    to SELU's negative saturation, then all are scaled and shifted (``a * x + b``) back to
    the inputs' mean and variance. Only in training."""

    supports_masking = True
    _ALPHA = 1.6732632423543772848170429916717
    _SCALE = 1.0507009873554804934193349852946

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.rate, self.seed = _rate(rate, "AlphaDropout"), seed
        self.noise_shape = None if noise_shape is None else tuple(noise_shape)

    def _noise_shape(self, x):
        shape = tuple(x.shape)
        if self.noise_shape is None:
            return jg.shape(x) if None in shape else shape
        dims = [d if n is None else n for n, d in zip(self.noise_shape, shape)]
        if None in dims:
            dynamic = jg.shape(x)
            return jg.stack([dynamic[i] if d is None else d for i, d in enumerate(dims)])
        return dims

    def call(self, inputs, training=None):
        if not training or self.rate == 0.0:
            return inputs
        alpha_p = -self._ALPHA * self._SCALE
        u = jg.random.uniform(self._noise_shape(inputs), dtype=inputs.dtype, seed=self.seed)
        kept = jg.cast(u >= self.rate, inputs.dtype)
        a = ((1 - self.rate) * (1 + self.rate * alpha_p ** 2)) ** -0.5
        b = -a * alpha_p * self.rate
        x = inputs * kept + alpha_p * (1.0 - kept)
        return a * x + b

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "seed": self.seed,
                "noise_shape": self.noise_shape}


class SpatialDropout2D(Layer):
    """Dropout of whole feature maps: in training each channel of each sample is zeroed
    (everywhere) with probability ``rate``, the rest scaled by 1 / (1 - rate)."""

    rank = 2
    supports_masking = True  # as Keras' dropout layers

    def __init__(self, rate, data_format=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        who = type(self).__name__
        self.rate, self.seed = _rate(rate, who), seed
        self.data_format = data_format or "channels_last"
        if self.data_format not in ("channels_last", "channels_first"):
            raise ValueError(f"{who}: data_format must be 'channels_last' or "
                             f"'channels_first', got {data_format!r}")
        self.input_spec = InputSpec(ndim=self.rank + 2)

    def call(self, inputs, training=None):
        if not training or self.rate == 0.0:
            return inputs
        shape = tuple(inputs.shape)
        batch = jg.shape(inputs)[0] if shape[0] is None else shape[0]
        ones = [1] * self.rank
        noise = [batch] + ones + [shape[-1]] if self.data_format == "channels_last" else \
            [batch, shape[1]] + ones
        if any(d is None for d in noise[1:]):
            raise ValueError(f"{type(self).__name__} layer {self.name!r}: needs the channels "
                             f"of its input known, got shape {shape}")
        if shape[0] is None:
            noise = jg.stack(noise)
        keep = jg.random.uniform(noise, dtype=inputs.dtype, seed=self.seed) >= self.rate
        return jg.where(keep, inputs / (1.0 - self.rate), jg.zeros_like(inputs))

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "seed": self.seed,
                "data_format": self.data_format}


class SpatialDropout3D(SpatialDropout2D):
    """SpatialDropout2D for (batch, depth, height, width, channels)."""

    rank = 3


# ----------------------------------------------------------------------------- dense, norm


def _einsum_parts(equation):
    """(input, weight, output) subscripts with '...' as '0', and where the ellipsis sits:
    "left", "right" or None (Keras' three accepted forms)."""
    eq = equation.replace(" ", "").replace("...", "0")
    for pattern, side in (("([a-zA-Z]+),([a-zA-Z]+)->([a-zA-Z]+)$", None),
                          ("0([a-zA-Z]+),([a-zA-Z]+)->0([a-zA-Z]+)$", "left"),
                          ("([a-zA-Z]{2,})0,([a-zA-Z]+)->([a-zA-Z]+)0$", "right")):
        m = re.match(pattern, eq)
        if m:
            return m.group(1), m.group(2), m.group(3), side
    raise ValueError(f"EinsumDense: invalid equation {equation!r}; it must be of the form "
                     f"'ab,bc->ac', '...ab,bc->...ac' or 'abc...,cd->abd...' (two operands, "
                     f"the ellipsis at the start or end of the input and output only)")


def _analyze(equation, bias_axes, input_shape, output_shape):
    """Keras' EinsumDense shape analysis: (kernel shape, bias shape or None, full output
    shape, the equation with the ellipsis spelled out)."""
    ins, ws, outs, side = _einsum_parts(equation)
    input_shape = list(input_shape)
    elided = len(input_shape) - len(ins)
    out = [output_shape] if isinstance(output_shape, int) else list(output_shape)
    out.insert(0, input_shape[0])
    if elided > 0 and side == "left":
        for i in range(1, elided):
            out.insert(1, input_shape[i])
    elif elided > 0:
        out.extend(input_shape[len(input_shape) - elided:])
    if side == "left":
        in_map = {d: i + elided for i, d in enumerate(ins)}
        out_map = {d: i + elided for i, d in enumerate(outs)}
    else:
        in_map = {d: i for i, d in enumerate(ins)}
        out_map = {d: i for i, d in enumerate(outs)}
    for d in ins:
        if d in out_map and out[out_map[d]] is not None and \
                out[out_map[d]] != input_shape[in_map[d]]:
            raise ValueError(f"EinsumDense: input shape {tuple(input_shape)} and output shape "
                             f"{tuple(out)} disagree on dimension {d!r} of {equation!r}")
    for d in outs:
        if d not in ins and d not in ws:
            raise ValueError(f"EinsumDense: output dimension {d!r} of {equation!r} is in "
                             f"neither the input nor the weight subscripts")
    kernel = []
    for d in ws:
        if d in in_map:
            kernel.append(input_shape[in_map[d]])
        elif d in out_map:
            kernel.append(out[out_map[d]])
        else:
            raise ValueError(f"EinsumDense: weight dimension {d!r} of {equation!r} is in "
                             f"neither the input nor the output subscripts")
    if any(k is None for k in kernel):
        raise ValueError(f"EinsumDense: the kernel's shape {tuple(kernel)} for {equation!r} "
                         f"needs the input's dims {tuple(input_shape)} known; give "
                         f"output_shape and input dims for them")
    bias = None
    if bias_axes is not None:
        for c in bias_axes:
            if c not in outs:
                raise ValueError(f"EinsumDense: bias_axes {bias_axes!r} names {c!r}, which "
                                 f"is not in the output subscripts {outs!r}")
        first = min(outs.find(c) for c in bias_axes)
        bias = [out[out_map[c]] if c in bias_axes else 1 for c in outs[first:]]
        if side != "left":
            bias += [1] * max(elided, 0)
    spelled = _spell(ins, ws, outs, side, max(elided, 0))
    return tuple(kernel), None if bias is None else tuple(bias), tuple(out), spelled


def _spell(ins, ws, outs, side, elided):
    """The equation with the ellipsis replaced by fresh letters (jg.einsum names every
    axis)."""
    used = set(ins + ws + outs)
    fresh = "".join(c for c in "zyxwvutsrqponmlkjihgfedcbaZYXWVUTSRQPONMLKJIHGFEDCBA"
                    if c not in used)[:elided]
    if side == "left":
        return f"{fresh}{ins},{ws}->{fresh}{outs}"
    if side == "right":
        return f"{ins}{fresh},{ws}->{outs}{fresh}"
    return f"{ins},{ws}->{outs}"


class EinsumDense(Layer):
    """A dense layer written as an einsum ``equation`` of the input and a kernel, e.g.
    "abc,cd->abd" (a Dense over the last axis of a sequence) or "abc,cde->abde" (per-head
    projections). ``output_shape`` is the output's shape without the batch axis (None for
    dims taken from the input); ``bias_axes`` names the output axes that get a bias."""

    def __init__(self, equation, output_shape, activation=None, bias_axes=None,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, lora_rank=None, **kwargs):
        kwargs.pop("quantization_config", None)
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        if lora_rank:
            raise NotImplementedError("EinsumDense: lora_rank is not supported in jitgraph; "
                                      "leave it None")
        _einsum_parts(equation)
        self.equation = equation
        self.partial_output_shape = (output_shape,) if isinstance(output_shape, int) else \
            tuple(output_shape)
        self.bias_axes = bias_axes
        self.activation = activations.get(activation)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)

    def build(self, input_shape):
        kernel, bias, self.full_output_shape, self._spelled = _analyze(
            self.equation, self.bias_axes, tuple(input_shape), self.partial_output_shape)
        self.kernel = self.add_weight("kernel", kernel, initializer=self.kernel_initializer,
                                      regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint)
        self.bias = None
        if bias is not None:
            self.bias = self.add_weight("bias", bias, initializer=self.bias_initializer,
                                        regularizer=self.bias_regularizer,
                                        constraint=self.bias_constraint)
        self.built = True

    def call(self, inputs):
        y = jg.einsum(self._spelled, inputs, self.kernel)
        if self.bias is not None:
            y = y + self.bias
        return self.activation(y)

    def compute_output_shape(self, input_shape):
        return jg.TensorShape(_analyze(self.equation, self.bias_axes, tuple(input_shape),
                                       self.partial_output_shape)[2])

    def get_config(self):
        return {**super().get_config(), "output_shape": self.partial_output_shape,
                "equation": self.equation,
                "activation": activations.serialize(self.activation),
                "bias_axes": self.bias_axes,
                "kernel_initializer": _ser(self.kernel_initializer),
                "bias_initializer": _ser(self.bias_initializer),
                "kernel_regularizer": _ser(self.kernel_regularizer),
                "bias_regularizer": _ser(self.bias_regularizer),
                "activity_regularizer": _ser(self.activity_regularizer),
                "kernel_constraint": _ser(self.kernel_constraint),
                "bias_constraint": _ser(self.bias_constraint)}


class RMSNormalization(Layer):
    """``x / sqrt(mean(x^2 over axis) + epsilon) * scale``, with a learned ``scale`` over
    ``axis`` (the last by default), initialized to ones."""

    supports_masking = True
    _float32_internals = True  # mixed precision: the mean square in float32, as Keras

    def __init__(self, axis=-1, epsilon=1e-6, **kwargs):
        super().__init__(**kwargs)
        self.axis = axis if isinstance(axis, int) else [int(a) for a in axis]
        self.epsilon = float(epsilon)

    def _axes(self, rank):
        axes = [self.axis] if isinstance(self.axis, int) else self.axis
        return sorted(a % rank for a in axes)

    def build(self, input_shape):
        shape = tuple(input_shape)
        axes = self._axes(len(shape))
        dims = tuple(shape[a] for a in axes)
        if None in dims:
            raise ValueError(f"RMSNormalization layer {self.name!r}: the normalized axes "
                             f"{axes} of input shape {shape} must be known")
        self.scale = self.add_weight("scale", dims, initializer="ones")
        self.built = True

    def call(self, inputs):
        rank = len(inputs.shape)
        axes = self._axes(rank)
        rrms = jg.math.rsqrt(jg.reduce_mean(jg.square(inputs), axis=axes, keepdims=True)
                             + self.epsilon)
        scale = jg.reshape(self.scale, [inputs.shape[a] if a in axes else 1
                                        for a in range(rank)])
        return inputs * rrms * scale

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "axis": self.axis, "epsilon": self.epsilon}


# ----------------------------------------------------------------------------- random size


class RandomHeight(Layer):
    """In training, resizes the batch of images to a random height ``int((1 + f) * height)``
    with f uniform in ``factor`` (a float f0: [-f0, f0]; or (lower, upper), each > -1); the
    width is kept. Otherwise passes the images through. The output's height depends on a
    random number, so this runs eagerly only (inside a traced jg.function the shape must be
    static): put it in the input pipeline, or use RandomZoom for a fixed-size output."""

    _axis, _what = -3, "height"

    def __init__(self, factor, interpolation="bilinear", seed=None, **kwargs):
        super().__init__(**kwargs)
        who = type(self).__name__
        lo, hi = (factor[0], factor[1]) if isinstance(factor, (tuple, list)) else \
            (-factor, factor)
        if hi < lo or lo < -1.0 or hi < -1.0:
            raise ValueError(f"{who}: factor must be a float or a (lower, upper) pair with "
                             f"lower <= upper, both larger than -1; got {factor!r}")
        self.factor, self.interpolation, self.seed = factor, interpolation, seed
        self._range = (1.0 + float(lo), 1.0 + float(hi))

    def call(self, inputs, training=True):
        x = jg.convert_to_tensor(inputs)
        if x.ndim not in (3, 4):
            raise ValueError(f"{type(self).__name__} layer {self.name!r}: expects images of "
                             f"rank 3 or 4 (channels last), got shape {tuple(x.shape)}")
        if x.dtype != self._dtype:
            x = jg.cast(x, self._dtype)
        if not training:
            return x
        if getattr(x, "_symbolic", False):
            raise NotImplementedError(
                f"{type(self).__name__} layer {self.name!r}: a random {self._what} gives an "
                f"output shape that is only known when it runs, which a traced jg.function "
                f"cannot have; apply the layer eagerly (before the model, or "
                f"compile(run_eagerly=True)), or use RandomZoom, whose output keeps its size")
        f = float(jg.random.uniform([], *self._range, seed=self.seed).numpy())
        size = [int(x.shape[-3]), int(x.shape[-2])]
        size[self._axis + 3] = max(int(f * size[self._axis + 3]), 1)
        return jg.cast(jg.image.resize(x, size, method=self.interpolation), self._dtype)

    def compute_output_shape(self, input_shape):
        s = list(input_shape)
        s[self._axis] = None
        return jg.TensorShape(s)

    def get_config(self):
        return {**super().get_config(), "factor": self.factor,
                "interpolation": self.interpolation, "seed": self.seed}


class RandomWidth(RandomHeight):
    """RandomHeight for the width: in training, the images resized to a random width."""

    _axis, _what = -2, "width"


# ----------------------------------------------------------------------------- wrapper


class Wrapper(Layer):
    """Base class of layers that wrap another ``layer`` (its weights are the wrapper's);
    subclasses define ``call``. ``get_config`` holds the wrapped layer's config."""

    def __init__(self, layer, **kwargs):
        if not isinstance(layer, Layer):
            raise ValueError(f"{type(self).__name__}: layer must be a jg.keras.layers.Layer, "
                             f"got {layer!r}")
        super().__init__(**kwargs)
        self.layer = layer

    def build(self, input_shape=None):
        if not self.layer.built:
            self.layer.build(input_shape)
            self.layer.built = True
        self.built = True

    def call(self, inputs, *args, **kwargs):
        return self.layer(inputs, *args, **kwargs)

    def get_config(self):
        return {**super().get_config(), "layer": _ser(self.layer)}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        from . import layers

        config = dict(config)
        config["layer"] = layers.deserialize(config["layer"], custom_objects)
        return serialization.call_with_config(cls, config)


def _unit(x):
    """``x / max(|x|, 1e-7)`` over the whole tensor (Keras' normalize with axis=None)."""
    return x / jg.maximum(jg.sqrt(jg.reduce_sum(jg.square(x))), 1e-7)


class SpectralNormalization(Wrapper):
    """Divides the wrapped layer's ``kernel`` (or ``embeddings``) by its largest singular
    value, estimated by ``power_iterations`` steps of power iteration per training call
    (the estimate ``vector_u`` is kept between calls), as Keras 3 does: in training the
    kernel variable is assigned the normalized value, then the layer runs."""

    def __init__(self, layer, power_iterations=1, **kwargs):
        super().__init__(layer, **kwargs)
        if int(power_iterations) <= 0:
            raise ValueError(f"SpectralNormalization: power_iterations must be greater than "
                             f"zero, got {power_iterations!r}")
        self.power_iterations = int(power_iterations)

    def build(self, input_shape):
        super().build(input_shape)
        self.input_spec = InputSpec(min_ndim=1, axes={-1: tuple(input_shape)[-1]})
        for attr in ("kernel", "embeddings"):
            if getattr(self.layer, attr, None) is not None:
                self.kernel = getattr(self.layer, attr)
                break
        else:
            raise ValueError(f"SpectralNormalization: {type(self.layer).__name__} has no "
                             f"'kernel' nor 'embeddings' to normalize")
        self.kernel_shape = tuple(self.kernel.shape)
        self.vector_u = self.add_weight("vector_u", (1, self.kernel_shape[-1]),
                                        initializer=initializers.TruncatedNormal(stddev=0.02),
                                        trainable=False, dtype=self.kernel.dtype)
        self.built = True

    def normalized_weights(self):
        """(new vector_u, the kernel divided by its estimated spectral norm)."""
        weights = jg.reshape(self.kernel, [-1, self.kernel_shape[-1]])
        u = self.vector_u.value()
        for _ in range(self.power_iterations):
            v = _unit(jg.matmul(u, weights, transpose_b=True))
            u = _unit(jg.matmul(v, weights))
        u, v = jg.stop_gradient(u), jg.stop_gradient(v)
        sigma = jg.matmul(jg.matmul(v, weights), u, transpose_b=True)
        return u, jg.reshape(self.kernel / sigma, self.kernel_shape)

    def call(self, inputs, training=False):
        if training:
            new_u, new_kernel = self.normalized_weights()
            untouched = jg.reduce_all(jg.equal(self.kernel.value(), 0.0))  # Keras' guard
            # (cast back: under mixed precision the variables read in the compute dtype)
            self.vector_u.assign(jg.cast(jg.where(untouched, self.vector_u.value(), new_u),
                                         self.vector_u.dtype))
            self.kernel.assign(jg.cast(jg.where(untouched, self.kernel.value(), new_kernel),
                                       self.kernel.dtype))
        return self.layer(inputs)

    def compute_output_shape(self, input_shape):
        return self.layer.compute_output_shape(input_shape)

    def get_config(self):
        return {**super().get_config(), "power_iterations": self.power_iterations}


def dot(inputs, axes=-1, normalize=False, **kwargs):
    """The functional form of ``Dot``: ``dot([a, b], axes=1)``."""
    from .layers_extra import Dot

    return Dot(axes=axes, normalize=normalize, **kwargs)(inputs)


LAYERS = [PReLU, ThresholdedReLU, GaussianDropout, AlphaDropout, SpatialDropout2D,
          SpatialDropout3D, EinsumDense, RMSNormalization, RandomHeight, RandomWidth, Wrapper,
          SpectralNormalization]

__all__ = [c.__name__ for c in LAYERS] + ["InputSpec", "dot"]

from . import layers as _layers  # noqa: E402 - layers.py imports this module at its end

_layers.TABLE.update({c.__name__: c for c in LAYERS})  # found by name on loading
