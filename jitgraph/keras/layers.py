"""Built-in layers: Dense, Embedding, Normalization, Lambda, Flatten, Reshape, Permute, Dropout,
GaussianNoise, Activation, ReLU, LeakyReLU, ELU, Softmax, LayerNormalization,
BatchNormalization, InputLayer, and the merges Add, Subtract, Multiply, Average, Maximum,
Minimum, Concatenate; the recurrent layers come from recurrent.py.

>>> layer = jg.keras.layers.Dense(3, activation="relu")
>>> layer(jg.ones((2, 4))).shape   # (2, 3); the kernel (4, 3) was built on this call
"""

import inspect

import numpy as np

import jitgraph as jg

from . import activations, constraints, initializers, regularizers, serialization
from .attention import LAYERS as _ATTENTION_LAYERS
from .attention import AdditiveAttention, Attention, MultiHeadAttention  # noqa: F401
from .base_layer import Layer
from .functional import Input, InputLayer  # noqa: F401 (re-exported)
from .input_spec import InputSpec
from .layers_extra import LAYERS as _EXTRA_LAYERS
from .layers_extra import (  # noqa: F401 (re-exported)
    ActivityRegularization,
    Cropping1D,
    Cropping2D,
    Dot,
    GroupNormalization,
    Identity,
    RepeatVector,
    Rescaling,
    SpatialDropout1D,
    UnitNormalization,
)
from .masking import Masking, as_bool, concat_masks, masked_extremum, masked_product, merge_masks
from .recurrent import *  # noqa: F403 (SimpleRNN, LSTM, GRU, their cells, RNN, wrappers)
from .recurrent import CLASSES as _RECURRENT


def _ser(obj):
    return serialization.serialize(obj)


class Dense(Layer):
    """``activation(inputs @ kernel + bias)`` on the last axis."""

    supports_masking = True  # keeps the sequence axis: passes masks on

    def __init__(self, units, activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        if int(units) <= 0:
            raise ValueError(f"Dense: units must be a positive integer, got {units!r}")
        self.units = int(units)
        self.activation = activations.get(activation)
        self.use_bias = use_bias
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)

    def build(self, input_shape):
        last = input_shape[-1]
        if last is None:
            raise ValueError(f"Dense layer {self.name!r}: the last dimension of its input "
                             f"must be known, got input shape {input_shape}")
        # later calls must bring the same feature size (a clear error, as Keras')
        self.input_spec = InputSpec(min_ndim=2, axes={-1: int(last)})
        self.kernel = self.add_weight("kernel", (last, self.units),
                                      initializer=self.kernel_initializer,
                                      regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint)
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight("bias", (self.units,),
                                        initializer=self.bias_initializer,
                                        regularizer=self.bias_regularizer,
                                        constraint=self.bias_constraint)
        self.built = True

    def call(self, inputs):
        shape = tuple(inputs.shape)
        if len(shape) > 2:  # apply to the last axis: fold the leading axes into one
            x = jg.reshape(inputs, (-1, shape[-1]))
            y = jg.reshape(jg.matmul(x, self.kernel), (-1,) + shape[1:-1] + (self.units,))
        else:
            y = jg.matmul(inputs, self.kernel)
        if self.bias is not None:
            y = y + self.bias
        return self.activation(y)

    def compute_output_shape(self, input_shape):
        return jg.TensorShape(tuple(input_shape)[:-1] + (self.units,))

    def get_config(self):
        return {**super().get_config(), "units": self.units,
                "activation": activations.serialize(self.activation),
                "use_bias": self.use_bias,
                "kernel_initializer": _ser(self.kernel_initializer),
                "bias_initializer": _ser(self.bias_initializer),
                "kernel_regularizer": _ser(self.kernel_regularizer),
                "bias_regularizer": _ser(self.bias_regularizer),
                "activity_regularizer": _ser(self.activity_regularizer),
                "kernel_constraint": _ser(self.kernel_constraint),
                "bias_constraint": _ser(self.bias_constraint)}


class Activation(Layer):
    supports_masking = True  # keeps the sequence axis: passes masks on

    def __init__(self, activation, **kwargs):
        super().__init__(**kwargs)
        self.activation = activations.get(activation)

    def call(self, inputs):
        return self.activation(inputs)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "activation": activations.serialize(self.activation)}


class ReLU(Layer):
    """``min(max(x, threshold), max_value)`` above the threshold, ``negative_slope * (x -
    threshold)`` below it (Keras' ReLU layer)."""

    supports_masking = True  # keeps the sequence axis: passes masks on

    def __init__(self, max_value=None, negative_slope=0.0, threshold=0.0, **kwargs):
        super().__init__(**kwargs)
        if max_value is not None and max_value < 0:
            raise ValueError(f"ReLU: max_value must be >= 0, got {max_value}")
        self.max_value, self.negative_slope = max_value, float(negative_slope)
        self.threshold = float(threshold)

    def call(self, inputs):
        x = jg.convert_to_tensor(inputs)
        y = jg.where(x > self.threshold, x,
                     (x - self.threshold) * self.negative_slope if self.negative_slope
                     else jg.zeros_like(x))
        return y if self.max_value is None else jg.minimum(y, float(self.max_value))

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "max_value": self.max_value,
                "negative_slope": self.negative_slope, "threshold": self.threshold}


class LeakyReLU(Layer):
    """``x`` where positive, ``alpha * x`` elsewhere (default alpha 0.3, as tf.keras)."""

    supports_masking = True  # keeps the sequence axis: passes masks on

    def __init__(self, alpha=0.3, negative_slope=None, **kwargs):
        super().__init__(**kwargs)
        self.alpha = float(alpha if negative_slope is None else negative_slope)

    def call(self, inputs):
        return jg.nn.leaky_relu(inputs, alpha=self.alpha)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "alpha": self.alpha}


class ELU(Layer):
    supports_masking = True  # keeps the sequence axis: passes masks on

    def __init__(self, alpha=1.0, **kwargs):
        super().__init__(**kwargs)
        self.alpha = float(alpha)

    def call(self, inputs):
        x = jg.convert_to_tensor(inputs)
        return jg.where(x > 0, x, self.alpha * (jg.exp(jg.minimum(x, 0.0)) - 1.0))

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "alpha": self.alpha}


class Softmax(Layer):
    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = axis

    supports_masking = True

    def call(self, inputs, mask=None):
        """With a mask (broadcastable to the inputs), masked positions get probability 0."""
        if mask is None:
            return jg.nn.softmax(inputs, axis=self.axis)
        mask = as_bool(mask)
        ms, xs = tuple(mask.shape), tuple(inputs.shape)
        if len(ms) > len(xs) or any(m not in (1, None) and x is not None and m != x
                                    for m, x in zip(ms[::-1], xs[::-1])):
            raise ValueError(f"Softmax layer {self.name!r}: the mask must be broadcastable to "
                             f"the inputs, got inputs.shape={xs}, mask.shape={ms}")
        low = jg.cast(-3e4 if inputs.dtype == jg.float16 else -1e9, inputs.dtype)
        out = jg.nn.softmax(jg.where(mask, inputs, low), axis=self.axis)
        return jg.where(mask, out, jg.zeros_like(out))  # a fully masked row is all zeros

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}


class Embedding(Layer):
    """Rows of an ``(input_dim, output_dim)`` table picked by integer indices: inputs of
    shape ``s`` give ``s + (output_dim,)``. Indices outside ``[0, input_dim)`` are an
    error (``jg.gather``'s). ``mask_zero=True``: index 0 is padding, and the output carries
    the mask ``inputs != 0`` for the layers after it (RNNs, pooling, attention, losses)."""

    def __init__(self, input_dim, output_dim, embeddings_initializer="uniform",
                 embeddings_regularizer=None, embeddings_constraint=None, input_length=None,
                 mask_zero=False, **kwargs):
        super().__init__(**kwargs)
        self.mask_zero = bool(mask_zero)
        self.supports_masking = self.mask_zero
        if int(input_dim) <= 0 or int(output_dim) <= 0:
            raise ValueError(f"Embedding: input_dim and output_dim must be positive, got "
                             f"{input_dim}, {output_dim}")
        self.input_dim, self.output_dim = int(input_dim), int(output_dim)
        self.embeddings_initializer = initializers.get(embeddings_initializer)
        self.embeddings_regularizer = regularizers.get(embeddings_regularizer)
        self.embeddings_constraint = constraints.get(embeddings_constraint)
        self.input_length = input_length

    def build(self, input_shape):
        self.embeddings = self.add_weight("embeddings", (self.input_dim, self.output_dim),
                                          initializer=self.embeddings_initializer,
                                          regularizer=self.embeddings_regularizer,
                                          constraint=self.embeddings_constraint)
        self.built = True

    def call(self, inputs):
        x = jg.convert_to_tensor(inputs)
        if x.dtype.is_floating:
            x = jg.cast(x, jg.int32)
        return jg.gather(self.embeddings, x)

    def compute_mask(self, inputs, mask=None):
        if not self.mask_zero:
            return None
        x = jg.convert_to_tensor(inputs)
        return jg.not_equal(x, jg.zeros((), x.dtype))

    def compute_output_shape(self, input_shape):
        return jg.TensorShape(tuple(input_shape) + (self.output_dim,))

    def get_config(self):
        return {**super().get_config(), "input_dim": self.input_dim,
                "output_dim": self.output_dim,
                "embeddings_initializer": _ser(self.embeddings_initializer),
                "embeddings_regularizer": _ser(self.embeddings_regularizer),
                "embeddings_constraint": _ser(self.embeddings_constraint),
                "input_length": self.input_length, "mask_zero": self.mask_zero}


class Permute(Layer):
    """Permutes the non-batch axes: ``dims`` numbers them from 1."""

    def __init__(self, dims, **kwargs):
        super().__init__(**kwargs)
        self.dims = tuple(int(d) for d in dims)
        if sorted(self.dims) != list(range(1, len(self.dims) + 1)):
            raise ValueError(f"Permute: dims must be a permutation of 1..{len(self.dims)}, "
                             f"got {dims}")

    def call(self, inputs):
        return jg.transpose(inputs, (0,) + self.dims)

    def compute_output_shape(self, input_shape):
        s = tuple(input_shape)
        return jg.TensorShape((s[0],) + tuple(s[d] for d in self.dims))

    def get_config(self):
        return {**super().get_config(), "dims": list(self.dims)}


class Normalization(Layer):
    """``(x - mean) / sqrt(variance)`` per feature along ``axis`` (-1: the last; None: one
    mean and variance for everything); ``adapt(data)`` computes them from data, or pass
    ``mean`` and ``variance``. ``invert=True`` maps normalized values back."""

    _float32_internals = True  # mixed precision: normalizes in float32, as it always did

    supports_masking = True  # keeps the sequence axis: passes masks on

    def __init__(self, axis=-1, mean=None, variance=None, invert=False, **kwargs):
        super().__init__(**kwargs)
        if (mean is None) != (variance is None):
            raise ValueError("Normalization: pass both mean and variance, or neither "
                             "(and call adapt)")
        self.axis, self.invert = axis, bool(invert)
        self._init_mean = None if mean is None else np.asarray(mean, np.float32)
        self._init_var = None if variance is None else np.asarray(variance, np.float32)

    def _axes(self, rank):
        """The kept (per-feature) axes, non-negative: Keras' axis is an int or a tuple."""
        if self.axis is None:
            return ()
        axes = (self.axis,) if isinstance(self.axis, int) else tuple(self.axis)
        return tuple(sorted(a % rank for a in axes))

    def _feature_shape(self, input_shape):
        shape = tuple(input_shape)
        axes = self._axes(len(shape))
        if any(shape[a] is None for a in axes):
            raise ValueError(f"Normalization layer {self.name!r}: the normalized axis "
                             f"{self.axis} of input shape {shape} must be known")
        return tuple(int(shape[a]) for a in axes)

    def build(self, input_shape):
        shape = self._feature_shape(input_shape)
        self.mean = self.add_weight("mean", shape, initializer="zeros", trainable=False)
        self.variance = self.add_weight("variance", shape, initializer="ones",
                                        trainable=False)
        # Keras keeps a count weight too (always 0): the same weights list, so
        # set_weights/get_weights line up with Keras models
        self.count = self.add_weight("count", (), dtype=jg.int64, initializer="zeros",
                                     trainable=False)
        if self._init_mean is not None:
            self.mean.assign(np.broadcast_to(self._init_mean, shape))
            self.variance.assign(np.broadcast_to(self._init_var, shape))
        self.built = True

    def adapt(self, data, batch_size=None, steps=None):
        """Sets mean and variance from ``data``: an array of samples, or a ``jg.data``
        dataset of batches (its first ``steps`` batches when given)."""
        if isinstance(data, jg.data.Dataset):
            batches = data.take(steps) if steps is not None else data
            data = np.concatenate([np.asarray(b) for b in batches])
        x = np.asarray(data.numpy() if hasattr(data, "numpy") else data, np.float64)
        if not self.built:
            self.build(x.shape)
        kept = self._axes(x.ndim)
        axes = tuple(i for i in range(x.ndim) if i not in kept)
        mean, var = x.mean(axis=axes), x.var(axis=axes)
        self.mean.assign(np.asarray(mean, np.float32).reshape(tuple(self.mean.shape)))
        self.variance.assign(np.asarray(var, np.float32).reshape(tuple(self.variance.shape)))

    def _broadcast(self, v, rank):
        if self.axis is None or rank == 0:
            return v
        kept = self._axes(rank)
        return jg.reshape(v, [int(v.shape[kept.index(i)]) if i in kept else 1
                              for i in range(rank)])

    def call(self, inputs):
        x = jg.convert_to_tensor(inputs)
        if x.dtype != jg.float32:
            x = jg.cast(x, jg.float32)
        rank = len(x.shape)
        mean = self._broadcast(self.mean.value(), rank)
        std = jg.maximum(jg.sqrt(self._broadcast(self.variance.value(), rank)), 1e-7)
        return x * std + mean if self.invert else (x - mean) / std

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        axis = list(self.axis) if isinstance(self.axis, (tuple, list)) else self.axis
        return {**super().get_config(), "axis": axis, "invert": self.invert}


class Lambda(Layer):
    """Wraps a function of the inputs: ``Lambda(lambda x: jg.exp(x))``. Saved by name only:
    loading needs the function in ``custom_objects`` unless it is a built-in activation."""

    supports_masking = True

    def __init__(self, function, output_shape=None, mask=None, arguments=None, **kwargs):
        super().__init__(**kwargs)
        self.function = function
        self.arguments = dict(arguments or {})
        self._fixed_output_shape = output_shape
        self.mask = mask  # the output mask: a function (inputs, mask) -> mask, or a value
        try:
            self._fn_takes_mask = "mask" in inspect.signature(function).parameters
        except (TypeError, ValueError):
            self._fn_takes_mask = False

    def call(self, inputs, mask=None, training=None):
        kwargs = dict(self.arguments)
        if self._fn_takes_mask:
            kwargs["mask"] = mask
        return self.function(inputs, **kwargs)

    def compute_mask(self, inputs, mask=None):
        """Keras' rule: the ``mask`` argument decides (None by default: no output mask)."""
        return self.mask(inputs, mask) if callable(self.mask) else self.mask

    def compute_output_shape(self, input_shape):
        if self._fixed_output_shape is None:
            return super().compute_output_shape(input_shape)
        return jg.TensorShape((input_shape[0],) + tuple(self._fixed_output_shape))

    def get_config(self):
        name = getattr(self.function, "__name__", "<lambda>")
        cfg = {**super().get_config(), "function": name,
               "arguments": serialization.to_json_value(self.arguments)}
        if self._fixed_output_shape is not None:
            cfg["output_shape"] = list(self._fixed_output_shape)
        return cfg

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        name = config["function"]
        if name == "<lambda>":
            raise ValueError("cannot load a Lambda layer made from an anonymous lambda: "
                             "define the function with `def`, and pass it to load_model(..., "
                             "custom_objects={'name': function})")
        config["function"] = activations.deserialize(name) if name else None
        return cls(**config)


class Flatten(Layer):
    """Reshapes (batch, d1, d2, ...) to (batch, d1*d2*...)."""

    def call(self, inputs):
        rest = tuple(inputs.shape)[1:]
        if None in rest:
            raise ValueError(f"Flatten layer {self.name!r}: all dimensions but the batch "
                             f"must be known, got {inputs.shape}")
        return jg.reshape(inputs, (-1, int(np.prod(rest, dtype=np.int64))))

    def compute_output_shape(self, input_shape):
        return jg.TensorShape((input_shape[0], int(np.prod(tuple(input_shape)[1:]))))


class Reshape(Layer):
    """Reshapes each sample to ``target_shape``, which may hold one -1 (``Reshape([1, -1])``):
    its size comes from the sample's."""

    def __init__(self, target_shape, **kwargs):
        super().__init__(**kwargs)
        self.target_shape = tuple(int(d) for d in target_shape)
        if self.target_shape.count(-1) > 1:
            raise ValueError(f"Reshape: target_shape {list(self.target_shape)} may hold at "
                             "most one -1 (the dimension inferred from the sample size)")

    def call(self, inputs):
        inputs = jg.convert_to_tensor(inputs)
        sample = tuple(inputs.shape)[1:]
        if -1 not in self.target_shape:
            return jg.reshape(inputs, (-1,) + self.target_shape)
        if None in sample:  # the batch size stays the only unknown: read it at run time
            return jg.reshape(inputs, jg.concat(
                [jg.shape(inputs)[:1], jg.constant(self.target_shape, jg.int32)], 0))
        size, known = int(np.prod(sample)), int(np.prod([d for d in self.target_shape
                                                         if d != -1]))
        if known == 0 or size % known:
            raise ValueError(f"Reshape layer {self.name!r}: a sample of shape {sample} "
                             f"({size} values) cannot be reshaped to "
                             f"{list(self.target_shape)}")
        target = tuple(size // known if d == -1 else d for d in self.target_shape)
        return jg.reshape(inputs, (-1,) + target)

    def get_config(self):
        return {**super().get_config(), "target_shape": list(self.target_shape)}


def _random_like(x, kind, **params):
    """Random numbers of x's shape; the batch dim may be unknown while tracing."""
    shape = tuple(x.shape)
    if None in shape:
        shape = jg.shape(x)
    fn = jg.random.uniform if kind == "uniform" else jg.random.normal
    return fn(shape, dtype=x.dtype, **params)


class Dropout(Layer):
    """In training, zeros a fraction ``rate`` of the inputs and scales the rest by
    1 / (1 - rate); otherwise passes the inputs through."""

    supports_masking = True  # keeps the sequence axis: passes masks on

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        if not 0.0 <= float(rate) < 1.0:
            raise ValueError(f"Dropout: rate must be in [0, 1), got {rate!r}")
        self.rate, self.seed = float(rate), seed
        # the keep mask's shape; None dims are the inputs' (noise_shape=(None, 1, d): one mask
        # for every step of a sequence)
        self.noise_shape = None if noise_shape is None else tuple(noise_shape)

    def call(self, inputs, training=None):
        if not training or self.rate == 0.0:
            return inputs
        if self.noise_shape is not None:
            return jg.nn.dropout(inputs, self.rate, noise_shape=self.noise_shape,
                                 seed=self.seed)
        keep = _random_like(inputs, "uniform", seed=self.seed) >= self.rate
        return jg.where(keep, inputs / (1.0 - self.rate), jg.zeros_like(inputs))

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "seed": self.seed,
                "noise_shape": None if self.noise_shape is None else list(self.noise_shape)}


class GaussianNoise(Layer):
    supports_masking = True  # keeps the sequence axis: passes masks on

    def __init__(self, stddev, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.stddev, self.seed = float(stddev), seed

    def call(self, inputs, training=None):
        if not training:
            return inputs
        return inputs + _random_like(inputs, "normal", stddev=self.stddev, seed=self.seed)

    def get_config(self):
        return {**super().get_config(), "stddev": self.stddev, "seed": self.seed}


def _axes(axis, rank):
    axes = [axis] if isinstance(axis, int) else list(axis)
    return [a % rank for a in axes]


class LayerNormalization(Layer):
    """Normalizes each sample over ``axis`` (the last by default), then scales and shifts."""

    _float32_internals = True  # mixed precision: statistics in float32, as Keras

    supports_masking = True  # keeps the sequence axis: passes masks on

    def __init__(self, axis=-1, epsilon=1e-3, center=True, scale=True,
                 beta_initializer="zeros", gamma_initializer="ones", **kwargs):
        super().__init__(**kwargs)
        self.axis, self.epsilon, self.center, self.scale = axis, float(epsilon), center, scale
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)

    def build(self, input_shape):
        rank = len(input_shape)
        self._axes = _axes(self.axis, rank)
        shape = [input_shape[a] for a in self._axes]
        self.gamma = self.add_weight("gamma", shape, initializer=self.gamma_initializer) \
            if self.scale else None
        self.beta = self.add_weight("beta", shape, initializer=self.beta_initializer) \
            if self.center else None

    def _param(self, w, rank):
        if len(self._axes) == 1 and self._axes[0] == rank - 1:
            return w
        shape = [1] * rank
        for a, d in zip(self._axes, tuple(w.shape)):
            shape[a] = d
        return jg.reshape(w, shape)

    def call(self, inputs):
        rank = len(inputs.shape)
        mean = jg.reduce_mean(inputs, axis=self._axes, keepdims=True)
        var = jg.reduce_mean(jg.square(inputs - mean), axis=self._axes, keepdims=True)
        y = (inputs - mean) * jg.rsqrt(var + self.epsilon)
        if self.gamma is not None:
            y = y * self._param(self.gamma, rank)
        if self.beta is not None:
            y = y + self._param(self.beta, rank)
        return y

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "axis": self.axis, "epsilon": self.epsilon,
                "center": self.center, "scale": self.scale,
                "beta_initializer": _ser(self.beta_initializer),
                "gamma_initializer": _ser(self.gamma_initializer)}


class BatchNormalization(Layer):
    """Normalizes with the batch's statistics in training (and updates the moving mean and
    variance, non-trainable weights), with the moving statistics otherwise."""

    _float32_internals = True  # mixed precision: statistics in float32, as Keras

    supports_masking = True  # keeps the sequence axis: passes masks on

    def __init__(self, axis=-1, momentum=0.99, epsilon=1e-3, center=True, scale=True,
                 beta_initializer="zeros", gamma_initializer="ones",
                 moving_mean_initializer="zeros", moving_variance_initializer="ones",
                 **kwargs):
        super().__init__(**kwargs)
        self.axis, self.momentum, self.epsilon = axis, float(momentum), float(epsilon)
        self.center, self.scale = center, scale
        self._inits = {"beta": beta_initializer, "gamma": gamma_initializer,
                       "moving_mean": moving_mean_initializer,
                       "moving_variance": moving_variance_initializer}

    def build(self, input_shape):
        rank = len(input_shape)
        self._axis = self.axis % rank
        dim = input_shape[self._axis]
        if dim is None:
            raise ValueError(f"BatchNormalization {self.name!r}: axis {self.axis} of the "
                             f"input shape {input_shape} must be known")
        get = initializers.get
        self.gamma = self.add_weight("gamma", (dim,), initializer=get(self._inits["gamma"])) \
            if self.scale else None
        self.beta = self.add_weight("beta", (dim,), initializer=get(self._inits["beta"])) \
            if self.center else None
        self.moving_mean = self.add_weight("moving_mean", (dim,), trainable=False,
                                           initializer=get(self._inits["moving_mean"]))
        self.moving_variance = self.add_weight(
            "moving_variance", (dim,), trainable=False,
            initializer=get(self._inits["moving_variance"]))

    def _masked_moments(self, inputs, mask, axes, rank):
        keep = jg.logical_and(jg.expand_dims(mask, -1), jg.ones_like(inputs) > 0)
        count = jg.reduce_sum(jg.cast(keep, inputs.dtype), axis=axes) + 1e-7
        zeros = jg.zeros_like(inputs)
        mean = jg.reduce_sum(jg.where(keep, inputs, zeros), axis=axes) / count
        diff = jg.where(keep, inputs - self._bcast(mean, rank), zeros)
        return mean, jg.reduce_sum(jg.square(diff), axis=axes) / count

    def _bcast(self, w, rank):
        if self._axis == rank - 1:
            return w
        shape = [1] * rank
        shape[self._axis] = -1
        return jg.reshape(w, shape)

    def call(self, inputs, training=None, mask=None):
        rank = len(inputs.shape)
        if mask is not None and len(mask.shape) != rank - 1:
            raise ValueError(f"BatchNormalization layer {self.name!r}: the mask must have one "
                             f"dimension less than the inputs, got mask.shape="
                             f"{tuple(mask.shape)}, inputs.shape={tuple(inputs.shape)}")
        if training and self.trainable:
            axes = [a for a in range(rank) if a != self._axis]
            if mask is None:
                mean = jg.reduce_mean(inputs, axis=axes)
                var = jg.reduce_mean(jg.square(inputs - self._bcast(mean, rank)), axis=axes)
            else:  # Keras: the statistics of the unmasked steps only
                mean, var = self._masked_moments(inputs, as_bool(mask), axes, rank)
            m = self.momentum
            self.moving_mean.assign(self.moving_mean * m + mean * (1.0 - m))
            self.moving_variance.assign(self.moving_variance * m + var * (1.0 - m))
        else:
            mean, var = self.moving_mean.value(), self.moving_variance.value()
        y = (inputs - self._bcast(mean, rank)) * self._bcast(jg.rsqrt(var + self.epsilon), rank)
        if self.gamma is not None:
            y = y * self._bcast(self.gamma, rank)
        if self.beta is not None:
            y = y + self._bcast(self.beta, rank)
        return y

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "axis": self.axis, "momentum": self.momentum,
                "epsilon": self.epsilon, "center": self.center, "scale": self.scale,
                **{f"{k}_initializer": _ser(initializers.get(v))
                   for k, v in self._inits.items()}}


class Add(Layer):
    compute_mask = merge_masks  # valid where any input is valid

    def call(self, inputs):
        out = inputs[0]
        for x in inputs[1:]:
            out = out + x
        return out


class Subtract(Layer):
    compute_mask = merge_masks  # valid where any input is valid

    def call(self, inputs):
        if len(inputs) != 2:
            raise ValueError(f"Subtract layer {self.name!r}: needs exactly 2 inputs, got "
                             f"{len(inputs)}")
        return inputs[0] - inputs[1]


class Multiply(Layer):
    compute_mask = merge_masks  # valid where any input is valid

    def call(self, inputs):
        return masked_product(inputs)


class Average(Layer):
    compute_mask = merge_masks  # valid where any input is valid

    def call(self, inputs):
        out = inputs[0]
        for x in inputs[1:]:
            out = out + x
        return out / float(len(inputs))


class Maximum(Layer):
    compute_mask = merge_masks  # valid where any input is valid

    def call(self, inputs):
        return masked_extremum(jg.maximum, inputs)


class Minimum(Layer):
    compute_mask = merge_masks  # valid where any input is valid

    def call(self, inputs):
        return masked_extremum(jg.minimum, inputs)


class Concatenate(Layer):
    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = axis

    def call(self, inputs):
        return jg.concat(list(inputs), axis=self.axis)

    compute_mask = concat_masks

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}


def concatenate(inputs, axis=-1, **kwargs):
    return Concatenate(axis=axis, **kwargs)(inputs)


def add(inputs, **kwargs):
    return Add(**kwargs)(inputs)


def subtract(inputs, **kwargs):
    return Subtract(**kwargs)(inputs)


def multiply(inputs, **kwargs):
    return Multiply(**kwargs)(inputs)


def average(inputs, **kwargs):
    return Average(**kwargs)(inputs)


def maximum(inputs, **kwargs):
    return Maximum(**kwargs)(inputs)


def minimum(inputs, **kwargs):
    return Minimum(**kwargs)(inputs)


_CLASSES = [Layer, Dense, Activation, Lambda, Flatten, Reshape, Dropout, GaussianNoise,
            LayerNormalization, BatchNormalization, InputLayer, Add, Concatenate, ReLU,
            LeakyReLU, ELU, Softmax, Embedding, Permute, Subtract, Multiply, Average, Maximum,
            Minimum, Normalization] + _RECURRENT
TABLE = {c.__name__: c for c in _CLASSES}
TABLE.update({c.__name__: c for c in _ATTENTION_LAYERS + _EXTRA_LAYERS})
TABLE["Masking"] = Masking


def serialize(layer):
    return serialization.serialize(layer)


def deserialize(config, custom_objects=None):
    from . import models

    table = {**TABLE, "Sequential": models.Sequential, "Model": models.Model,
             "Functional": models.Functional}
    return serialization.deserialize(config, table, custom_objects, "layer")


from .attention_gqa import *  # noqa: E402,F401,F403 - GroupedQueryAttention (in TABLE)
from .categorical import *  # noqa: E402,F401,F403 - Discretization, CategoryEncoding, IntegerLookup
from .conv_layers import *  # noqa: E402,F401,F403 - Conv1D/2D, pooling, padding (in TABLE)
from .conv_more import *  # noqa: E402,F401,F403 - Conv3D, transposed/separable convs, 3-D pooling
from .conv_recurrent import *  # noqa: E402,F401,F403 - ConvLSTM1D/2D/3D (in TABLE)
from .layers_misc import *  # noqa: E402,F401,F403 - PReLU, EinsumDense, RMSNormalization, ... (in TABLE)
from .preprocessing import *  # noqa: E402,F401,F403 - image preprocessing (in TABLE)
