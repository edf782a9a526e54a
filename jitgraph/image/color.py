"""Pixel values and colour: ``jg.image.convert_image_dtype``, ``adjust_brightness``,
``adjust_contrast``, ``adjust_gamma``, ``adjust_saturation``, ``adjust_hue``,
``per_image_standardization``, ``rgb_to_grayscale``, ``grayscale_to_rgb``, ``rgb_to_hsv``,
``hsv_to_rgb``, ``rgb_to_yuv``, ``yuv_to_rgb``, ``rgb_to_yiq``, ``yiq_to_rgb``.

TensorFlow's formulas written with jitgraph ops (so they have gradients where TensorFlow's
do: everything but the integer conversions). Integer images are converted to float in [0, 1]
and back, as TensorFlow does; float64 images are computed in float64 (TensorFlow computes
some of these in float32).

>>> jg.image.adjust_contrast(jg.random.uniform([2, 8, 8, 3]), 1.5).shape
TensorShape([2, 8, 8, 3])
"""

import numpy as np

from .. import dtypes as _dt
from .. import errors
from ..ops.assemble import stack, tile
from ..ops.composite import reduce_std
from ..ops.core import as_tensor
from ..ops.elementwise import abs as _abs
from ..ops.elementwise import cast, clip_by_value, floor, maximum, pow, where
from ..ops.indexing import _getitem
from ..ops.linalg import matmul
from ..ops.reduce import reduce_max, reduce_mean, reduce_min, reduce_sum
from ..ops.shape import reshape
from ..tensor import Tensor
from ._util import _SMALL_INTS, as_image_tensor, desc, fail

# ----------------------------------------------------------------------------- dtypes


def _np_max(dtype):
    return int(np.iinfo(dtype).max)


def convert_image_dtype(image, dtype, saturate=False, name=None):
    """Converts between integer pixels in [0, dtype.max] and float pixels in [0, 1], as
    TensorFlow: int to float scales by 1 / max, float to int by max + 0.5 (``saturate``
    clips to the integer range first), int to int shifts, float to float casts. A NumPy
    uint8/uint16/int8/int16 array is accepted as input (scaled by its own maximum);
    jitgraph has no such output dtypes.

    >>> jg.image.convert_image_dtype(np.array([0, 255], np.uint8), jg.float32)   # [0., 1.]
    """
    op = "convert_image_dtype"
    out = _dt.as_dtype(dtype) if not (isinstance(dtype, (type, np.dtype, str)) and
                                       np.dtype(dtype).type in _SMALL_INTS) else None
    if out is None or out.is_bool:
        raise fail(f"{op}: dtype must be one of float16, float32, float64, int32, int64, got "
                   f"{dtype!r} (jitgraph has no uint8; keep float images and convert with "
                   f"NumPy at the end)")
    in_max = None
    if isinstance(image, np.ndarray) and image.dtype.type in _SMALL_INTS:
        in_max = _np_max(image.dtype)
    x = as_image_tensor(image, op)
    if x.dtype.is_bool:
        raise fail(f"{op}: image must be integer or floating, got {desc(x)}")
    if in_max is None and x.dtype is out:
        return x
    if x.dtype.is_integer:
        in_max = in_max or _np_max(x.dtype.np)
        if out.is_floating:
            return cast(x, out) * (1.0 / in_max)
        out_max = _np_max(out.np)
        if in_max > out_max:
            return cast(x // ((in_max + 1) // (out_max + 1)), out)
        return cast(x, out) * ((out_max + 1) // (in_max + 1))
    if out.is_floating:
        return cast(x, out)
    scaled = x * (float(out.max) + 0.5)
    if saturate:
        lo = np.nextafter(x.dtype.np.type(out.min), x.dtype.np.type(0))
        hi = np.nextafter(x.dtype.np.type(out.max), x.dtype.np.type(0))
        lo = lo if lo >= out.min else np.nextafter(lo, x.dtype.np.type(0))
        scaled = clip_by_value(scaled, float(max(lo, out.min)), float(hi))
    return cast(scaled, out)


def _to_float(image, op):
    """(float image, original dtype or NumPy dtype to convert back to)."""
    orig = image.dtype if isinstance(image, np.ndarray) and image.dtype.type in _SMALL_INTS \
        else None
    x = as_image_tensor(image, op)
    if x.dtype.is_bool:
        raise fail(f"{op}: needs numeric images, got {desc(x)}")
    if x.dtype.is_floating and orig is None:
        return x, None
    return convert_image_dtype(image, _dt.float32), orig or x.dtype


def _back(y, orig):
    """Converts a float result back to the integer dtype the image came in."""
    if orig is None:
        return y
    if isinstance(orig, np.dtype):   # uint8 and friends: values in [0, max] as int32
        m = _np_max(orig)
        return cast(clip_by_value(y * (m + 0.5), 0.0, float(m)), _dt.int32)
    return convert_image_dtype(y, orig, saturate=True)


def _scalar_like(v, x, op, what):
    if isinstance(v, Tensor) or isinstance(v, np.ndarray):
        t = as_tensor(v, op)
        if t.ndim != 0:
            raise fail(f"{op}: {what} must be a scalar, got shape {list(t.shape)}")
        return cast(t, x.dtype) if t.dtype is not x.dtype else t
    return float(v)


def _rank3(image, op):
    x = as_image_tensor(image, op) if not isinstance(image, Tensor) else image
    if x.ndim < 3:
        raise fail(f"{op}: images must have rank >= 3 [..., height, width, channels], got "
                   f"{desc(x)}")


def _rgb(image, op):
    x = as_image_tensor(image, op)
    if x.ndim < 1 or x.shape[-1] != 3:
        raise fail(f"{op}: the last dimension of images must be 3 (R, G, B), got {desc(x)}")
    return x


# ----------------------------------------------------------------------------- adjustments


def adjust_brightness(image, delta):
    """``image + delta`` (integer images in [0, 1] float, then back with saturation)."""
    op = "adjust_brightness"
    x, orig = _to_float(image, op)
    return _back(x + _scalar_like(delta, x, op, "delta"), orig)


def adjust_contrast(images, contrast_factor):
    """``(x - mean) * contrast_factor + mean`` per image and channel, the mean over height
    and width."""
    op = "adjust_contrast"
    _rank3(images, op)
    x, orig = _to_float(images, op)
    mean = reduce_mean(x, axis=[-3, -2], keepdims=True)
    return _back((x - mean) * _scalar_like(contrast_factor, x, op, "contrast_factor") + mean,
                 orig)


def adjust_gamma(image, gamma=1, gain=1):
    """``gain * image ** gamma`` (gamma >= 0)."""
    op = "adjust_gamma"
    g = gamma if isinstance(gamma, Tensor) else float(gamma)
    if not isinstance(g, Tensor) and g < 0:
        raise fail(f"{op}: gamma must be a non-negative real number, got {gamma!r}")
    x, orig = _to_float(image, op)
    return _back(_scalar_like(gain, x, op, "gain") * pow(x, _scalar_like(g, x, op, "gamma")),
                 orig)


def per_image_standardization(image):
    """``(x - mean) / max(stddev, 1 / sqrt(num_pixels))`` over each image's height, width
    and channels; integer images give float32."""
    op = "per_image_standardization"
    x = as_image_tensor(image, op)
    _rank3(x, op)
    if not x.dtype.is_floating:
        x = cast(x, _dt.float32)
    n = int(np.prod([int(d) for d in x.shape[-3:]]))
    mean = reduce_mean(x, axis=[-1, -2, -3], keepdims=True)
    std = reduce_std(x, axis=[-1, -2, -3], keepdims=True)
    return (x - mean) / maximum(std, float(1.0 / np.sqrt(n)))


# ----------------------------------------------------------------------------- colour spaces


def _channels(x):
    return [_getitem(x, (Ellipsis, c)) for c in range(3)]


def _safe(d, ok):
    return where(ok, d, d * 0.0 + 1.0)


def rgb_to_hsv(images, name=None):
    """RGB in [0, 1] to hue, saturation, value in [0, 1] (TensorFlow's formula)."""
    x = _rgb(images, "rgb_to_hsv")
    r, g, b = _channels(x)
    v = reduce_max(x, axis=-1)
    rng = v - reduce_min(x, axis=-1)
    s = where(v > 0, rng / _safe(v, v > 0), v * 0.0)
    norm = 1.0 / (6.0 * _safe(rng, rng > 0))
    h = where(r == v, norm * (g - b),
              where(g == v, norm * (b - r) + 2.0 / 6.0, norm * (r - g) + 4.0 / 6.0))
    h = where(rng > 0, h, h * 0.0)
    h = where(h < 0, h + 1.0, h)
    return stack([h, s, v], axis=-1)


def hsv_to_rgb(images, name=None):
    """Hue, saturation, value in [0, 1] to RGB (TensorFlow's formula)."""
    x = _rgb(images, "hsv_to_rgb")
    h, s, v = _channels(x)
    dh = h * 6.0
    dr = clip_by_value(_abs(dh - 3.0) - 1.0, 0.0, 1.0)
    dg = clip_by_value(2.0 - _abs(dh - 2.0), 0.0, 1.0)
    db = clip_by_value(2.0 - _abs(dh - 4.0), 0.0, 1.0)
    one_minus_s = 1.0 - s
    return stack([(one_minus_s + s * c) * v for c in (dr, dg, db)], axis=-1)


def adjust_saturation(image, saturation_factor, name=None):
    """Multiplies the saturation (in HSV) by ``saturation_factor``, clipped to [0, 1]."""
    op = "adjust_saturation"
    _rgb(image, op)
    x, orig = _to_float(image, op)
    h, s, v = _channels(rgb_to_hsv(x))
    s = clip_by_value(s * _scalar_like(saturation_factor, x, op, "saturation_factor"), 0.0,
                      1.0)
    return _back(hsv_to_rgb(stack([h, s, v], axis=-1)), orig)


def adjust_hue(image, delta, name=None):
    """Rotates the hue (in HSV) by ``delta`` (in [-1, 1], a fraction of the full turn)."""
    op = "adjust_hue"
    _rgb(image, op)
    d = delta if isinstance(delta, Tensor) else float(delta)
    if not isinstance(d, Tensor) and not -1.0 <= d <= 1.0:
        raise fail(f"{op}: delta must be in [-1, 1], got {delta!r}")
    x, orig = _to_float(image, op)
    h, s, v = _channels(rgb_to_hsv(x))
    h = h + _scalar_like(d, x, op, "delta")
    h = h - floor(h)  # h mod 1, written so that it has a gradient (jg's mod has none)
    return _back(hsv_to_rgb(stack([h, s, v], axis=-1)), orig)


_GRAY = (0.2989, 0.5870, 0.1140)


def rgb_to_grayscale(images, name=None):
    """The luma 0.2989 R + 0.5870 G + 0.1140 B, keeping a last axis of size 1."""
    op = "rgb_to_grayscale"
    _rgb(images, op)
    x, orig = _to_float(images, op)
    gray = reduce_sum(x * np.asarray(_GRAY, x.dtype.np), axis=-1, keepdims=True)
    return _back(gray, orig)


def grayscale_to_rgb(images, name=None):
    """Repeats the single channel three times."""
    x = as_image_tensor(images, "grayscale_to_rgb")
    if x.ndim < 2 or x.shape[-1] != 1:
        raise fail(f"grayscale_to_rgb: the last dimension of images must be 1, got {desc(x)}")
    return tile(x, [1] * (x.ndim - 1) + [3])


_YUV = np.array([[0.299, -0.14714119, 0.61497538], [0.587, -0.28886916, -0.51496512],
                 [0.114, 0.43601035, -0.10001026]])
_YUV_INV = np.array([[1, 1, 1], [0, -0.394642334, 2.03206185],
                     [1.13988303, -0.58062185, 0]])
_YIQ = np.array([[0.299, 0.59590059, 0.2115], [0.587, -0.27455667, -0.52273617],
                 [0.114, -0.32134392, 0.31119955]])
_YIQ_INV = np.array([[1, 1, 1], [0.95598634, -0.27201283, -1.10674021],
                     [0.6208248, -0.64720424, 1.70423049]])


def _mix(images, kernel, op):
    x = _rgb(images, op)
    if not x.dtype.is_floating:
        raise fail(f"{op}: needs a floating image, got {desc(x)}; convert it with "
                   f"jg.image.convert_image_dtype", errors.InvalidArgumentError)
    dims = [-1 if d is None else int(d) for d in x.shape]
    y = matmul(reshape(x, [-1, 3]), kernel.astype(x.dtype.np))
    return reshape(y, dims)


def rgb_to_yuv(images):
    """RGB in [0, 1] to YUV (Y in [0, 1], U and V in [-0.5, 0.5])."""
    return _mix(images, _YUV, "rgb_to_yuv")


def yuv_to_rgb(images):
    """YUV to RGB."""
    return _mix(images, _YUV_INV, "yuv_to_rgb")


def rgb_to_yiq(images):
    """RGB in [0, 1] to YIQ."""
    return _mix(images, _YIQ, "rgb_to_yiq")


def yiq_to_rgb(images):
    """YIQ to RGB."""
    return _mix(images, _YIQ_INV, "yiq_to_rgb")


__all__ = ["convert_image_dtype", "adjust_brightness", "adjust_contrast", "adjust_gamma",
           "adjust_saturation", "adjust_hue", "per_image_standardization", "rgb_to_grayscale",
           "grayscale_to_rgb", "rgb_to_hsv", "hsv_to_rgb", "rgb_to_yuv", "yuv_to_rgb",
           "rgb_to_yiq", "yiq_to_rgb"]
