"""Small layers tf.keras code reaches for: Dot, RepeatVector, Rescaling, Cropping1D,
Cropping2D, ActivityRegularization, SpatialDropout1D, GroupNormalization, Identity,
UnitNormalization, with Keras' arguments, weights and numerics.

(``Masking`` lives in masking.py with the rest of mask propagation.)

>>> jg.keras.layers.RepeatVector(3)(jg.ones((2, 4))).shape   # (2, 3, 4)
"""

import numpy as np

import jitgraph as jg

from . import constraints, initializers, regularizers, serialization
from .base_layer import Layer


def _ser(obj):
    return serialization.serialize(obj)


def _l2_normalize(x, axis, epsilon):
    """``x * min(rsqrt(sum(x^2)), 1 / epsilon)`` along ``axis`` (Keras' ops.normalize)."""
    inv = jg.rsqrt(jg.reduce_sum(jg.square(x), axis=axis, keepdims=True))
    return x * jg.minimum(inv, 1.0 / epsilon)


def _rank_error(layer, want, shape, fix):
    return ValueError(f"{type(layer).__name__} layer {layer.name!r}: expects inputs of rank "
                      f"{want}, got shape {tuple(shape)}; {fix}")


class Identity(Layer):
    """Returns its inputs unchanged (a placeholder in a model)."""

    supports_masking = True  # keeps the sequence axis: passes masks on

    def call(self, inputs):
        return inputs

    def compute_output_shape(self, input_shape):
        return input_shape


class Rescaling(Layer):
    """``inputs * scale + offset`` (e.g. ``Rescaling(1 / 255)`` for pixel values); integer
    inputs become float."""

    supports_masking = True  # keeps the sequence axis: passes masks on

    def __init__(self, scale, offset=0.0, **kwargs):
        super().__init__(**kwargs)
        self.scale, self.offset = scale, offset

    def call(self, inputs):
        x = jg.convert_to_tensor(inputs)
        if x.dtype != self._dtype:
            x = jg.cast(x, self._dtype)
        scale = jg.cast(jg.constant(np.asarray(self.scale, np.float64)), x.dtype)
        offset = jg.cast(jg.constant(np.asarray(self.offset, np.float64)), x.dtype)
        return x * scale + offset

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "scale": serialization.to_json_value(self.scale),
                "offset": serialization.to_json_value(self.offset)}


class RepeatVector(Layer):
    """(batch, features) -> (batch, n, features): the vector repeated n times."""

    def __init__(self, n, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(n, (int, np.integer)) or n <= 0:
            raise ValueError(f"RepeatVector: n must be a positive integer, got n={n!r}")
        self.n = int(n)

    def call(self, inputs):
        if len(inputs.shape) != 2:
            raise _rank_error(self, 2, inputs.shape, "flatten the features first (Flatten)")
        return jg.tile(jg.expand_dims(inputs, 1), [1, self.n, 1])

    def compute_output_shape(self, input_shape):
        s = tuple(input_shape)
        return jg.TensorShape((s[0], self.n, s[1]))

    def get_config(self):
        return {**super().get_config(), "n": self.n}


def _pair(value, what):
    if isinstance(value, (int, np.integer)):
        return (int(value), int(value))
    value = tuple(int(v) for v in value)
    if len(value) != 2 or min(value) < 0:
        raise ValueError(f"{what}: expected an int or a pair of non-negative ints, got "
                         f"{value!r}")
    return value


def _crop(x, axis, lo, hi, layer):
    size = x.shape[axis]
    if size is not None and lo + hi >= size:
        raise ValueError(f"{type(layer).__name__} layer {layer.name!r}: cropping {lo} + {hi} "
                         f"leaves nothing of axis {axis} (size {size}) of input shape "
                         f"{tuple(x.shape)}; crop less")
    index = [slice(None)] * len(x.shape)
    index[axis] = slice(lo, -hi if hi else None)
    return x[tuple(index)]


class Cropping1D(Layer):
    """Removes ``cropping = (start, end)`` steps from the time axis of (batch, steps,
    features)."""

    def __init__(self, cropping=(1, 1), **kwargs):
        super().__init__(**kwargs)
        self.cropping = _pair(cropping, "Cropping1D: cropping")

    def call(self, inputs):
        if len(inputs.shape) != 3:
            raise _rank_error(self, 3, inputs.shape, "inputs are (batch, steps, features)")
        return _crop(inputs, 1, *self.cropping, self)

    def compute_output_shape(self, input_shape):
        s = tuple(input_shape)
        steps = None if s[1] is None else s[1] - sum(self.cropping)
        return jg.TensorShape((s[0], steps, s[2]))

    def get_config(self):
        return {**super().get_config(), "cropping": list(self.cropping)}


class Cropping2D(Layer):
    """Crops the rows and columns of images: ``cropping`` is an int (all four sides), a pair
    (symmetric rows, symmetric columns) or ``((top, bottom), (left, right))``;
    ``data_format`` "channels_last" (default) or "channels_first"."""

    def __init__(self, cropping=((0, 0), (0, 0)), data_format=None, **kwargs):
        super().__init__(**kwargs)
        if isinstance(cropping, (int, np.integer)):
            rows = cols = (int(cropping),) * 2
        else:
            cropping = tuple(cropping)
            if len(cropping) != 2:
                raise ValueError(f"Cropping2D: cropping must be an int, a pair, or a pair of "
                                 f"pairs, got {cropping!r}")
            rows, cols = (_pair(c, "Cropping2D: cropping") for c in cropping)
        self.cropping = (rows, cols)
        self.data_format = data_format or "channels_last"
        if self.data_format not in ("channels_last", "channels_first"):
            raise ValueError(f"Cropping2D: data_format must be 'channels_last' or "
                             f"'channels_first', got {data_format!r}")

    def _axes(self):
        return (1, 2) if self.data_format == "channels_last" else (2, 3)

    def call(self, inputs):
        if len(inputs.shape) != 4:
            raise _rank_error(self, 4, inputs.shape, "images are (batch, rows, cols, "
                              "channels) with data_format='channels_last'")
        x = inputs
        for axis, (lo, hi) in zip(self._axes(), self.cropping):
            x = _crop(x, axis, lo, hi, self)
        return x

    def compute_output_shape(self, input_shape):
        s = list(input_shape)
        for axis, crop in zip(self._axes(), self.cropping):
            s[axis] = None if s[axis] is None else s[axis] - sum(crop)
        return jg.TensorShape(s)

    def get_config(self):
        return {**super().get_config(), "cropping": [list(c) for c in self.cropping],
                "data_format": self.data_format}


class ActivityRegularization(Layer):
    """Passes its inputs through and adds ``l1 * sum(|x|) + l2 * sum(x^2)`` of them to the
    layer's losses."""

    supports_masking = True  # keeps the sequence axis: passes masks on

    def __init__(self, l1=0.0, l2=0.0, **kwargs):  # noqa: E741 - Keras' argument names
        kwargs.pop("activity_regularizer", None)
        super().__init__(activity_regularizer=regularizers.L1L2(l1=l1, l2=l2), **kwargs)
        self.l1, self.l2 = float(l1), float(l2)

    def call(self, inputs):
        return inputs

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        cfg = {**super().get_config(), "l1": self.l1, "l2": self.l2}
        cfg.pop("activity_regularizer", None)
        return cfg


class SpatialDropout1D(Layer):
    """Dropout of whole feature channels of (batch, steps, features): in training each
    channel of each sample is zeroed (at every step) with probability ``rate``, the rest
    scaled by 1 / (1 - rate)."""

    supports_masking = True  # keeps the sequence axis: passes masks on

    def __init__(self, rate, seed=None, **kwargs):
        super().__init__(**kwargs)
        if not 0.0 <= float(rate) < 1.0:
            raise ValueError(f"SpatialDropout1D: rate must be in [0, 1), got {rate!r}")
        self.rate, self.seed = float(rate), seed

    def call(self, inputs, training=None):
        if len(inputs.shape) != 3:
            raise _rank_error(self, 3, inputs.shape, "inputs are (batch, steps, features)")
        if not training or self.rate == 0.0:
            return inputs
        shape = tuple(inputs.shape)
        batch = jg.shape(inputs)[0] if shape[0] is None else shape[0]
        keep = jg.random.uniform([batch, 1, shape[2]], dtype=inputs.dtype,
                                 seed=self.seed) >= self.rate
        return jg.where(keep, inputs / (1.0 - self.rate), jg.zeros_like(inputs))

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "seed": self.seed}


class Dot(Layer):
    """The dot product of two inputs along ``axes`` (an int or a pair), per sample:
    (batch, d) . (batch, d) -> (batch, 1); (batch, t, d) . (batch, s, d) with axes=2 ->
    (batch, t, s). ``normalize=True`` L2-normalizes both first (cosine similarity)."""

    supports_masking = True

    def compute_mask(self, inputs, mask=None):
        return None  # Keras' Dot: the result has no mask

    def __init__(self, axes, normalize=False, **kwargs):
        super().__init__(**kwargs)
        if isinstance(axes, (list, tuple)):
            if len(axes) != 2 or not all(isinstance(a, (int, np.integer)) for a in axes):
                raise ValueError(f"Dot: axes must be an int or a pair of ints, got {axes!r}")
            self.axes = [int(a) for a in axes]
        elif isinstance(axes, (int, np.integer)):
            self.axes = int(axes)
        else:
            raise TypeError(f"Dot: axes must be an int or a pair of ints, got {axes!r}")
        self.normalize = bool(normalize)

    def _resolved_axes(self, shapes):
        pair = self.axes if isinstance(self.axes, list) else [self.axes] * 2
        axes = [a % len(s) if a < 0 else a for a, s in zip(pair, shapes)]
        for a, s in zip(axes, shapes):
            if not 1 <= a < len(s):
                raise ValueError(f"Dot layer {self.name!r}: axes {self.axes} do not name a "
                                 f"non-batch axis of inputs of shapes {shapes[0]} and "
                                 f"{shapes[1]}")
        return axes

    def _check(self, inputs):
        if not isinstance(inputs, (list, tuple)) or len(inputs) != 2:
            raise ValueError(f"Dot layer {self.name!r}: must be called on a list of exactly 2 "
                             "inputs")
        shapes = [tuple(x.shape) for x in inputs]
        for s in shapes:
            if not 2 <= len(s) <= 3:
                raise ValueError(f"Dot layer {self.name!r}: inputs must have rank 2 or 3, got "
                                 f"shapes {shapes[0]} and {shapes[1]}")
        axes = self._resolved_axes(shapes)
        d1, d2 = shapes[0][axes[0]], shapes[1][axes[1]]
        if d1 is not None and d2 is not None and d1 != d2:
            raise ValueError(f"Dot layer {self.name!r}: the dot-product axes differ in size: "
                             f"axis {axes[0]} of {shapes[0]} has {d1}, axis {axes[1]} of "
                             f"{shapes[1]} has {d2}; pick axes of equal size")
        return shapes, axes

    def call(self, inputs):
        (s1, s2), (a1, a2) = self._check(inputs)
        x, y = inputs
        if self.normalize:
            x, y = _l2_normalize(x, a1, 1e-7), _l2_normalize(y, a2, 1e-7)
        if len(s1) == 2 and len(s2) == 2:
            return jg.reduce_sum(x * y, axis=1, keepdims=True)
        if len(s1) == 3 and a1 == 1:  # contracted axis last on the left ...
            x = jg.transpose(x, (0, 2, 1))
        if len(s2) == 3 and a2 == 2:  # ... and first (after the batch) on the right
            y = jg.transpose(y, (0, 2, 1))
        x = x if len(s1) == 3 else jg.expand_dims(x, 1)
        y = y if len(s2) == 3 else jg.expand_dims(y, 2)
        out = jg.matmul(x, y)
        if len(s1) == 2:
            out = jg.squeeze(out, 1)
        if len(s2) == 2:
            out = jg.squeeze(out, -1)
        return out

    def compute_output_shape(self, input_shape):
        shapes = [tuple(s) for s in input_shape]
        a1, a2 = self._resolved_axes(shapes)
        out = shapes[0][:a1] + shapes[0][a1 + 1:] + shapes[1][1:a2] + shapes[1][a2 + 1:]
        return jg.TensorShape(out if len(out) > 1 else out + (1,))

    def get_config(self):
        return {**super().get_config(), "axes": self.axes, "normalize": self.normalize}


class UnitNormalization(Layer):
    """Scales each sample to unit L2 norm along ``axis`` (an int or a list)."""

    supports_masking = True  # keeps the sequence axis: passes masks on

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = list(axis) if isinstance(axis, (list, tuple)) else int(axis)

    def call(self, inputs):
        x = jg.convert_to_tensor(inputs)
        if x.dtype != self._dtype:
            x = jg.cast(x, self._dtype)
        return _l2_normalize(x, self.axis, 1e-12)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}


class GroupNormalization(Layer):
    """Normalizes each sample over groups of channels (Wu & He 2018): the ``axis`` channels
    split into ``groups`` groups, each normalized over its channels and all non-batch axes,
    then scaled by ``gamma`` and shifted by ``beta`` (per channel). ``groups=-1`` gives
    instance normalization; ``groups=1`` normalizes over everything but the batch."""

    supports_masking = True  # keeps the sequence axis: passes masks on

    def __init__(self, groups=32, axis=-1, epsilon=1e-3, center=True, scale=True,
                 beta_initializer="zeros", gamma_initializer="ones", beta_regularizer=None,
                 gamma_regularizer=None, beta_constraint=None, gamma_constraint=None,
                 **kwargs):
        super().__init__(**kwargs)
        if not isinstance(groups, (int, np.integer)) or (groups <= 0 and groups != -1):
            raise ValueError(f"GroupNormalization: groups must be a positive integer (or -1 "
                             f"for instance normalization), got groups={groups!r}")
        self.groups, self.axis, self.epsilon = int(groups), int(axis), float(epsilon)
        self.center, self.scale = bool(center), bool(scale)
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.beta_regularizer = regularizers.get(beta_regularizer)
        self.gamma_regularizer = regularizers.get(gamma_regularizer)
        self.beta_constraint = constraints.get(beta_constraint)
        self.gamma_constraint = constraints.get(gamma_constraint)

    def build(self, input_shape):
        shape = tuple(input_shape)
        channels = shape[self.axis]
        where = f"GroupNormalization layer {self.name!r}"
        if channels is None:
            raise ValueError(f"{where}: axis {self.axis} of the input shape {shape} must be "
                             "known")
        groups = channels if self.groups == -1 else self.groups
        if groups > channels:
            raise ValueError(f"{where}: groups={groups} is more than the {channels} channels "
                             f"of input shape {shape}; use at most {channels} groups")
        if channels % groups:
            raise ValueError(f"{where}: {channels} channels (axis {self.axis} of input shape "
                             f"{shape}) do not split into groups={groups} equal groups; "
                             "pick groups that divide the channels")
        self._groups, self._channels = groups, channels
        self._rank, self._axis = len(shape), self.axis % len(shape)
        # channel -> group assignment, so group statistics need no reshape of the inputs
        # (whose batch and other axes may be unknown)
        per = channels // groups
        self._assign = np.kron(np.eye(groups), np.ones((per, 1))).astype(
            self._dtype.as_numpy_dtype)
        self.gamma = self.add_weight("gamma", (channels,), initializer=self.gamma_initializer,
                                     regularizer=self.gamma_regularizer,
                                     constraint=self.gamma_constraint) if self.scale else None
        self.beta = self.add_weight("beta", (channels,), initializer=self.beta_initializer,
                                    regularizer=self.beta_regularizer,
                                    constraint=self.beta_constraint) if self.center else None

    def _group_mean(self, x, spatial):
        """Per-sample mean over each group's channels and the ``spatial`` axes, broadcast
        back to the channels: (batch, channels)."""
        per_channel = jg.reduce_mean(x, axis=spatial) if spatial else x
        a = jg.constant(self._assign)
        per_group = jg.matmul(per_channel, a) / float(self._channels // self._groups)
        return jg.matmul(per_group, a, transpose_b=True)

    def call(self, inputs):
        x = jg.convert_to_tensor(inputs)
        if x.dtype != self._dtype:
            x = jg.cast(x, self._dtype)
        if len(x.shape) != self._rank or x.shape[self._axis] != self._channels:
            raise ValueError(f"GroupNormalization layer {self.name!r}: it was built for "
                             f"rank {self._rank} with {self._channels} channels on axis "
                             f"{self.axis}, got input shape {tuple(x.shape)}")
        moved = self._axis != self._rank - 1
        if moved:  # the channels go last while normalizing
            perm = [i for i in range(self._rank) if i != self._axis] + [self._axis]
            x = jg.transpose(x, perm)
        spatial = list(range(1, self._rank - 1))

        def bcast(t):  # (batch, channels) -> (batch, 1, ..., 1, channels)
            for _ in spatial:
                t = jg.expand_dims(t, 1)
            return t

        centered = x - bcast(self._group_mean(x, spatial))
        var = bcast(self._group_mean(jg.square(centered), spatial))
        y = centered * jg.rsqrt(var + self.epsilon)
        if self.gamma is not None:
            y = y * self.gamma
        if self.beta is not None:
            y = y + self.beta
        if moved:
            y = jg.transpose(y, list(np.argsort(perm)))
        return y

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "groups": self.groups, "axis": self.axis,
                "epsilon": self.epsilon, "center": self.center, "scale": self.scale,
                "beta_initializer": _ser(self.beta_initializer),
                "gamma_initializer": _ser(self.gamma_initializer),
                "beta_regularizer": _ser(self.beta_regularizer),
                "gamma_regularizer": _ser(self.gamma_regularizer),
                "beta_constraint": _ser(self.beta_constraint),
                "gamma_constraint": _ser(self.gamma_constraint)}


LAYERS = [Identity, Rescaling, RepeatVector, Cropping1D, Cropping2D, ActivityRegularization,
          SpatialDropout1D, Dot, UnitNormalization, GroupNormalization]

__all__ = [c.__name__ for c in LAYERS]
