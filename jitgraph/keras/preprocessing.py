"""Keras' image preprocessing and augmentation layers: Resizing, CenterCrop, RandomCrop,
RandomFlip, RandomRotation, RandomZoom, RandomTranslation, RandomContrast, RandomBrightness,
with Keras 3's arguments and numerics (channels_last), built on ``jg.image``.

As in Keras 3, the random layers transform when ``training`` is true, which is the default
of a direct call; inside a model, ``fit`` passes training=True and ``predict``/``evaluate``
training=False (they then pass the images through, RandomCrop center-crops). Each image of a
batch gets its own random transform (RandomCrop: one crop for the batch, as Keras). Numbers
come from ``jg.random`` with the layer's ``seed``: repeatable under ``jg.random.set_seed``,
fresh on every call, but not Keras' numbers.

>>> aug = jg.keras.Sequential([jg.keras.layers.RandomFlip("horizontal"),
...                            jg.keras.layers.RandomRotation(0.1)])
>>> aug(images, training=True)
"""

import math

import numpy as np

import jitgraph as jg

from .base_layer import Layer


def _rank_error(layer, shape):
    return ValueError(f"{type(layer).__name__} layer {layer.name!r}: expects images of rank 3 "
                      f"(height, width, channels) or 4 (batch, height, width, channels), got "
                      f"shape {tuple(shape)}")


def _channels_last(layer, data_format):
    if data_format not in (None, "channels_last"):
        raise ValueError(f"{type(layer).__name__}: only data_format='channels_last' is "
                         f"supported, got {data_format!r}; transpose the images to (batch, "
                         f"height, width, channels)")
    return "channels_last"


class _ImageLayer(Layer):
    """Shared parts: rank check, the cast to the layer's dtype, per-layer seeds."""

    def __init__(self, seed=None, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.seed = seed
        self.data_format = _channels_last(self, data_format)

    def _images(self, inputs, cast=True):
        x = jg.convert_to_tensor(inputs)
        if x.ndim not in (3, 4):
            raise _rank_error(self, x.shape)
        if cast and x.dtype != self._dtype:
            x = jg.cast(x, self._dtype)
        return x

    def _seed(self, k):
        """A different op seed for each draw of a call (draws with one seed would repeat)."""
        return None if self.seed is None else int(self.seed) + 7919 * k

    def _per_image(self, x, lo, hi, k):
        """[batch] uniform numbers in [lo, hi) (batch 1 for a single image)."""
        x4 = x if x.ndim == 4 else jg.expand_dims(x, 0)
        return jg.image.per_example_uniform(x4, float(lo), float(hi), seed=self._seed(k))

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "seed": self.seed, "data_format": self.data_format}


# ----------------------------------------------------------------------------- deterministic


def _aspect_crop(h, w, th, tw):
    """Keras' largest centered crop of an h x w image with the aspect ratio th : tw."""
    ch = max(min(h, int(float(w * th) / tw)), 1)
    cw = max(min(w, int(float(h * tw) / th)), 1)
    return int(float(h - ch) / 2), int(float(w - cw) / 2), ch, cw


def _crop(x, top, left, h, w):
    return x[..., top:top + h, left:left + w, :]


def _smart_resize(x, th, tw, interpolation="bilinear"):
    h, w = int(x.shape[-3]), int(x.shape[-2])
    return jg.image.resize(_crop(x, *_aspect_crop(h, w, th, tw)), [th, tw],
                           method=interpolation)


def _known_hw(layer, x):
    h, w = x.shape[-3], x.shape[-2]
    if h is None or w is None:
        raise ValueError(f"{type(layer).__name__} layer {layer.name!r}: needs the height and "
                         f"width of the images known, got shape {tuple(x.shape)}")
    return int(h), int(w)


class Resizing(_ImageLayer):
    """Resizes images to (height, width) with ``jg.image.resize``; ``crop_to_aspect_ratio``
    first takes the largest centered crop of the target aspect ratio,
    ``pad_to_aspect_ratio`` pads evenly with ``fill_value`` to it. Integer images are
    rounded back to their dtype."""

    def __init__(self, height, width, interpolation="bilinear", crop_to_aspect_ratio=False,
                 pad_to_aspect_ratio=False, fill_mode="constant", fill_value=0.0,
                 antialias=False, data_format=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        if crop_to_aspect_ratio and pad_to_aspect_ratio:
            raise ValueError("Resizing: only one of pad_to_aspect_ratio and "
                             "crop_to_aspect_ratio can be True")
        if fill_mode != "constant":
            raise ValueError(f"Resizing: only fill_mode='constant' is supported, got "
                             f"{fill_mode!r}")
        self.height, self.width = int(height), int(width)
        self.interpolation = interpolation
        self.crop_to_aspect_ratio = bool(crop_to_aspect_ratio)
        self.pad_to_aspect_ratio = bool(pad_to_aspect_ratio)
        self.fill_mode, self.fill_value = fill_mode, float(fill_value)
        self.antialias = bool(antialias)

    def _pad_aspect(self, x, h, w):
        ph = max(h, int(np.float32(w * self.height) / np.float32(self.width)))
        pw = max(w, int(np.float32(h * self.width) / np.float32(self.height)))
        top, left = int(np.float32(ph - h) / 2), int(np.float32(pw - w) / 2)
        if not top and not left:
            return x
        pads = [[0, 0]] * (x.ndim - 3) + [[top, top], [left, left], [0, 0]]
        return jg.pad(x, pads, constant_values=self.fill_value)

    def call(self, inputs):
        x = self._images(inputs, cast=False)
        if x.dtype.is_floating and x.dtype != self._dtype:
            x = jg.cast(x, self._dtype)
        h, w = _known_hw(self, x)
        if self.crop_to_aspect_ratio:
            x = _crop(x, *_aspect_crop(h, w, self.height, self.width))
        elif self.pad_to_aspect_ratio:
            x = self._pad_aspect(x, h, w)
        y = jg.image.resize(x, [self.height, self.width], method=self.interpolation,
                            antialias=self.antialias)
        if y.dtype == x.dtype:
            return y
        if x.dtype.is_integer:
            lo, hi = x.dtype.min, x.dtype.max
            return jg.cast(jg.clip_by_value(jg.round(y), float(lo), float(hi)), x.dtype)
        return jg.cast(y, x.dtype)

    def compute_output_shape(self, input_shape):
        s = tuple(input_shape)
        return jg.TensorShape(s[:-3] + (self.height, self.width, s[-1]))

    def get_config(self):
        return {**super().get_config(), "height": self.height, "width": self.width,
                "interpolation": self.interpolation,
                "crop_to_aspect_ratio": self.crop_to_aspect_ratio,
                "pad_to_aspect_ratio": self.pad_to_aspect_ratio, "fill_mode": self.fill_mode,
                "fill_value": self.fill_value, "antialias": self.antialias}


class CenterCrop(_ImageLayer):
    """The central (height, width) of each image; an image smaller than that in either
    dimension is cropped to the target aspect ratio and resized instead (Keras'
    smart_resize)."""

    def __init__(self, height, width, data_format=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        self.height, self.width = int(height), int(width)

    def call(self, inputs):
        x = self._images(inputs)
        h, w = _known_hw(self, x)
        dh, dw = h - self.height, w - self.width
        if dh >= 0 and dw >= 0:
            return _crop(x, dh // 2, dw // 2, self.height, self.width)
        return _smart_resize(x, self.height, self.width)

    def compute_output_shape(self, input_shape):
        s = tuple(input_shape)
        return jg.TensorShape(s[:-3] + (self.height, self.width, s[-1]))

    def get_config(self):
        return {**super().get_config(), "height": self.height, "width": self.width}


# ----------------------------------------------------------------------------- random


class RandomCrop(_ImageLayer):
    """In training, a random (height, width) crop (one position for the whole batch, as
    Keras); where the images are not larger than the crop in both dims, Keras' centered
    crop, resized to (height, width). Outside training the images pass through."""

    def __init__(self, height, width, seed=None, data_format=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.height, self.width = int(height), int(width)

    def call(self, inputs, training=True):
        x = self._images(inputs)
        if not training:
            return x
        h, w = _known_hw(self, x)
        if not (h > self.height and w > self.width):
            # Keras: the offsets of the aspect-ratio crop, the target size (clamped to the
            # image), then a resize to the target
            top, left, _, _ = _aspect_crop(h, w, self.height, self.width)
            y = _crop(x, top, left, self.height, self.width)
            if tuple(y.shape[-3:-1]) != (self.height, self.width):
                y = jg.image.resize(y, [self.height, self.width])
            return y
        starts = []
        for k, (size, crop) in enumerate(((h, self.height), (w, self.width))):
            u = jg.random.uniform([], 0.0, float(size - crop + 1), seed=self._seed(k))
            starts.append(jg.minimum(jg.cast(u, jg.int32), size - crop))
        axis = x.ndim - 3
        y = jg.gather(x, starts[0] + np.arange(self.height, dtype=np.int32), axis=axis)
        return jg.gather(y, starts[1] + np.arange(self.width, dtype=np.int32), axis=axis + 1)

    def compute_output_shape(self, input_shape):
        s = tuple(input_shape)
        return jg.TensorShape(s[:-3] + (self.height, self.width, s[-1]))

    def get_config(self):
        return {**super().get_config(), "height": self.height, "width": self.width}


_FLIP_MODES = ("horizontal", "vertical", "horizontal_and_vertical")


class RandomFlip(_ImageLayer):
    """In training, flips each image with probability 1/2: "horizontal" (left-right),
    "vertical" (up-down), or "horizontal_and_vertical" (both, by the same draw, as Keras)."""

    def __init__(self, mode="horizontal_and_vertical", seed=None, data_format=None,
                 **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        if mode not in _FLIP_MODES:
            raise ValueError(f"RandomFlip: mode must be one of {_FLIP_MODES}, got {mode!r}")
        self.mode = mode

    def call(self, inputs, training=True):
        x = self._images(inputs)
        if not training:
            return x
        flips = self._per_image(x, 0.0, 1.0, 0) <= 0.5
        flips = jg.reshape(flips, [-1, 1, 1, 1]) if x.ndim == 4 else jg.reshape(flips, [1, 1, 1])
        w_axis, h_axis = x.ndim - 2, x.ndim - 3
        if self.mode in ("horizontal", "horizontal_and_vertical"):
            x = jg.where(flips, jg.reverse(x, [w_axis]), x)
        if self.mode in ("vertical", "horizontal_and_vertical"):
            x = jg.where(flips, jg.reverse(x, [h_axis]), x)
        return x

    def get_config(self):
        return {**super().get_config(), "mode": self.mode}


def _factor_pair(factor, bounds, what):
    """Keras' factor rule: a number f gives (max(-f, low bound), f); a pair is sorted."""
    msg = (f"{what}: the factor should be a number (or a list of two numbers) in the range "
           f"[{bounds[0]}, {bounds[1]}]. Received: factor={factor}")
    if isinstance(factor, (tuple, list)):
        if len(factor) != 2 or factor[0] > bounds[1] or factor[1] < bounds[0]:
            raise ValueError(msg)
        return tuple(sorted(float(f) for f in factor))
    if isinstance(factor, (int, float)):
        if factor < bounds[0] or factor > bounds[1]:
            raise ValueError(msg)
        f = abs(float(factor))
        return (max(-f, bounds[0]), f)
    raise ValueError(msg)


def _zoom_factor_pair(factor, what):
    """RandomZoom's and RandomTranslation's rule: each value in (-1, 1]."""
    msg = (f"{what} should be a float or a tuple/list of two floats between -1.0 and 1.0; "
           f"received {factor!r}")
    if isinstance(factor, (tuple, list)):
        if len(factor) != 2 or any(f > 1.0 or f <= -1.0 for f in factor):
            raise ValueError(msg)
        return tuple(sorted(float(f) for f in factor))
    if isinstance(factor, (int, float)):
        if factor > 1.0 or factor <= -1.0:
            raise ValueError(msg)
        return (-abs(float(factor)), abs(float(factor)))
    raise ValueError(msg)


_FILL_MODES = ("reflect", "wrap", "constant", "nearest")
_INTERPOLATIONS = ("nearest", "bilinear")


class _TransformLayer(_ImageLayer):
    """Layers that apply a projective transform per image (jg.image.affine_transform)."""

    def __init__(self, fill_mode="reflect", interpolation="bilinear", seed=None,
                 fill_value=0.0, data_format=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        name = type(self).__name__
        if fill_mode not in _FILL_MODES:
            raise NotImplementedError(f"{name}: unknown fill_mode {fill_mode!r}; expected one "
                                      f"of {_FILL_MODES}")
        if interpolation not in _INTERPOLATIONS:
            raise NotImplementedError(f"{name}: unknown interpolation {interpolation!r}; "
                                      f"expected one of {_INTERPOLATIONS}")
        self.fill_mode, self.interpolation = fill_mode, interpolation
        self.fill_value = float(fill_value)

    def _transform(self, x, h, w):
        raise NotImplementedError

    def call(self, inputs, training=True):
        x = self._images(inputs)
        if not training:
            return x
        h, w = _known_hw(self, x)
        t = self._transform(x, h, w)
        return jg.image.affine_transform(x, t, interpolation=self.interpolation,
                                         fill_mode=self.fill_mode, fill_value=self.fill_value)

    def get_config(self):
        return {**super().get_config(), "fill_mode": self.fill_mode,
                "interpolation": self.interpolation, "fill_value": self.fill_value}


def _stack8(cols, like):
    zero = like * 0.0
    return jg.stack([zero + c if not jg.is_tensor(c) else c for c in cols], axis=1)


class RandomRotation(_TransformLayer):
    """In training, rotates each image about its center by an angle drawn from ``factor``
    (fractions of a full turn: 0.1 is up to 36 degrees either way)."""

    def __init__(self, factor, fill_mode="reflect", interpolation="bilinear", seed=None,
                 fill_value=0.0, data_format=None, **kwargs):
        super().__init__(fill_mode, interpolation, seed, fill_value, data_format, **kwargs)
        self.factor = _factor_pair(factor, (-1, 1), "RandomRotation")

    def _transform(self, x, h, w):
        deg = self._per_image(x, self.factor[0] * 360.0, self.factor[1] * 360.0, 0)
        angle = deg * (math.pi / 180.0)
        cx, cy = 0.5 * (w - 1), 0.5 * (h - 1)
        cos, sin = jg.cos(angle), jg.sin(angle)
        a2 = cx - cx * cos + cy * sin
        b2 = cy - cx * sin - cy * cos
        return _stack8([cos, -sin, a2, sin, cos, b2, 0.0, 0.0], angle)

    def get_config(self):
        return {**super().get_config(), "factor": list(self.factor)}


class RandomZoom(_TransformLayer):
    """In training, zooms each image about its center: ``height_factor`` 0.2 draws a
    vertical zoom in [-20%, +20%] (positive zooms out), ``width_factor`` likewise (None:
    the vertical zoom, keeping the aspect ratio)."""

    def __init__(self, height_factor, width_factor=None, fill_mode="reflect",
                 interpolation="bilinear", seed=None, fill_value=0.0, data_format=None,
                 **kwargs):
        super().__init__(fill_mode, interpolation, seed, fill_value, data_format, **kwargs)
        self.height_factor = _zoom_factor_pair(height_factor, "RandomZoom: height_factor")
        self.width_factor = (None if width_factor is None else
                             _zoom_factor_pair(width_factor, "RandomZoom: width_factor"))

    def _transform(self, x, h, w):
        zy = self._per_image(x, 1.0 + self.height_factor[0], 1.0 + self.height_factor[1], 0)
        zx = zy if self.width_factor is None else self._per_image(
            x, 1.0 + self.width_factor[0], 1.0 + self.width_factor[1], 1)
        return _stack8([zx, 0.0, (w - 1.0) / 2.0 * (1.0 - zx), 0.0, zy,
                        (h - 1.0) / 2.0 * (1.0 - zy), 0.0, 0.0], zy)

    def get_config(self):
        return {**super().get_config(), "height_factor": list(self.height_factor),
                "width_factor": None if self.width_factor is None else list(self.width_factor)}


class RandomTranslation(_TransformLayer):
    """In training, shifts each image by fractions of its height and width drawn from
    ``height_factor`` and ``width_factor``."""

    def __init__(self, height_factor, width_factor, fill_mode="reflect",
                 interpolation="bilinear", seed=None, fill_value=0.0, data_format=None,
                 **kwargs):
        super().__init__(fill_mode, interpolation, seed, fill_value, data_format, **kwargs)
        self.height_factor = _zoom_factor_pair(height_factor,
                                               "RandomTranslation: height_factor")
        self.width_factor = _zoom_factor_pair(width_factor, "RandomTranslation: width_factor")

    def _transform(self, x, h, w):
        dy = self._per_image(x, *self.height_factor, 0) * float(h)
        dx = self._per_image(x, *self.width_factor, 1) * float(w)
        return _stack8([1.0, 0.0, -dx, 0.0, 1.0, -dy, 0.0, 0.0], dy)

    def get_config(self):
        return {**super().get_config(), "height_factor": list(self.height_factor),
                "width_factor": list(self.width_factor)}


class _ValueRangeLayer(_ImageLayer):
    def __init__(self, factor, value_range=(0, 255), seed=None, bounds=(-1, 1), **kwargs):
        super().__init__(seed=seed, **kwargs)
        self.factor = _factor_pair(factor, bounds, type(self).__name__)
        if not isinstance(value_range, (tuple, list)) or len(value_range) != 2:
            raise ValueError(f"{type(self).__name__}: value_range must be a pair (low, high), "
                             f"got {value_range!r}")
        self.value_range = tuple(sorted(float(v) for v in value_range))

    def _per_image4(self, x, lo, hi):
        u = self._per_image(x, lo, hi, 0)
        return jg.reshape(u, [-1, 1, 1, 1] if x.ndim == 4 else [1, 1, 1])

    def get_config(self):
        return {**super().get_config(), "factor": list(self.factor),
                "value_range": list(self.value_range)}


class RandomContrast(_ValueRangeLayer):
    """In training, ``(x - mean) * f + mean`` per image and channel (the mean over height and
    width) with f drawn from [1 - lower, 1 + upper] (Keras' factor rule: a number f gives
    (0, f)), clipped to ``value_range``."""

    def __init__(self, factor, value_range=(0, 255), seed=None, **kwargs):
        super().__init__(factor, value_range, seed, bounds=(0, 1), **kwargs)

    def call(self, inputs, training=True):
        x = self._images(inputs)
        if not training:
            return x
        f = self._per_image4(x, 1.0 - self.factor[0], 1.0 + self.factor[1])
        mean = jg.reduce_mean(x, axis=[-3, -2], keepdims=True)
        return jg.clip_by_value((x - mean) * f + mean, *self.value_range)


class RandomBrightness(_ValueRangeLayer):
    """In training, adds ``delta * (high - low)`` to each image, delta drawn from ``factor``
    (in [-1, 1]), clipped to ``value_range`` = (low, high)."""

    def __init__(self, factor, value_range=(0, 255), seed=None, **kwargs):
        super().__init__(factor, value_range, seed, bounds=(-1, 1), **kwargs)

    def call(self, inputs, training=True):
        x = self._images(inputs)
        if not training:
            return x
        span = self.value_range[1] - self.value_range[0]
        return jg.clip_by_value(x + self._per_image4(x, *self.factor) * span,
                                *self.value_range)


LAYERS = [Resizing, CenterCrop, RandomCrop, RandomFlip, RandomRotation, RandomZoom,
          RandomTranslation, RandomContrast, RandomBrightness]

__all__ = [c.__name__ for c in LAYERS]

from . import layers as _layers  # noqa: E402 - layers.py imports this module at its end

_layers.TABLE.update({c.__name__: c for c in LAYERS})  # found by name on loading


from . import sequence  # noqa: E402,F401 - keras.preprocessing.sequence.pad_sequences
from .timeseries import timeseries_dataset_from_array  # noqa: E402,F401 - Keras' alias
