"""Random augmentations: ``jg.image.random_flip_left_right``, ``random_flip_up_down``,
``random_crop``, ``random_brightness``, ``random_contrast``, ``random_saturation``,
``random_hue``, and their ``stateless_random_*`` forms (the same numbers for the same seed
pair, every call).

The numbers come from ``jg.random`` (seeded as TensorFlow's ops are: an op ``seed`` and the
global ``jg.random.set_seed``), so they are repeatable but not TensorFlow's. Flips of a batch
choose per image. Where the batch dim is unknown while tracing (a ``None`` in the
input_signature, as Keras' ``fit`` traces), jg.random cannot draw one number per image, so
one int64 is drawn and each image's number is a hash of it and the image's index
(``per_example_uniform``).

>>> jg.image.random_flip_left_right(images, seed=1)
"""

import numpy as np

from .. import dtypes as _dt
from ..ops.elementwise import cast, where
from ..ops.indexing import _getitem, gather
from ..ops.random import uniform
from ..ops.randomx import stateless_uniform
from ..ops.scan import cumsum
from ..ops.shape import ones_like, reshape
from ..tensor import Tensor
from . import color
from ._util import as_image_tensor, desc, fail, image4, static_float, unbatch
from .sizing import flip_left_right, flip_up_down

_M = 2 ** 31 - 1   # Lehmer's prime modulus: products of two residues fit in int64


def _draw(shape, lo, hi, seed, pair, dtype=_dt.float32):
    if pair is not None:
        return stateless_uniform(shape, pair, minval=lo, maxval=hi, dtype=dtype)
    return uniform(shape, minval=lo, maxval=hi, dtype=dtype, seed=seed)


def per_example_uniform(x, lo, hi, seed=None, pair=None, dtype=_dt.float32):
    """One uniform number in [lo, hi) per element of x's first axis, shape [batch]."""
    n = x.shape[0]
    if n is not None:
        return _draw([int(n)], lo, hi, seed, pair, dtype)
    s = _draw([], 1, _M, seed, pair, _dt.int64)
    first = reshape(_getitem(x, (slice(None),) + (0,) * (x.ndim - 1)), [-1])
    i = cumsum(ones_like(first, dtype=_dt.int64))
    z = (s + i * 40503) % _M
    for salt in (48271, 69621, 16807):
        z = (z * z + s) % _M
        z = (z * salt + i) % _M
    u = cast(z, _dt.float64) * (1.0 / _M)
    return cast(lo + (hi - lo) * u, dtype)


def _flip(image, seed, pair, fn, op):
    x, batched = image4(image, op, known_spatial=False)
    u = per_example_uniform(x, 0.0, 1.0, seed, pair)
    return unbatch(where(reshape(u < 0.5, [-1, 1, 1, 1]), fn(x), x), batched)


def random_flip_left_right(image, seed=None):
    """Mirrors each image's width axis with probability 1/2."""
    return _flip(image, seed, None, flip_left_right, "random_flip_left_right")


def random_flip_up_down(image, seed=None):
    """Mirrors each image's height axis with probability 1/2."""
    return _flip(image, seed, None, flip_up_down, "random_flip_up_down")


def stateless_random_flip_left_right(image, seed):
    """random_flip_left_right determined by the seed pair."""
    return _flip(image, None, seed, flip_left_right, "stateless_random_flip_left_right")


def stateless_random_flip_up_down(image, seed):
    """random_flip_up_down determined by the seed pair."""
    return _flip(image, None, seed, flip_up_down, "stateless_random_flip_up_down")


def _bound(v, op, what):
    f = static_float(v, op, what)
    if f is None:
        raise fail(f"{op}: {what} must be known when tracing (a Python number), got a tensor")
    return f


def _range(lower, upper, op):
    lo, hi = _bound(lower, op, "lower"), _bound(upper, op, "upper")
    if not 0 <= lo < hi:
        raise fail(f"{op}: needs 0 <= lower < upper, got lower={lo}, upper={hi}")
    return lo, hi


def _brightness(image, max_delta, seed, pair, op):
    d = _bound(max_delta, op, "max_delta")
    if d < 0:
        raise fail(f"{op}: max_delta must be non-negative, got {d}")
    return color.adjust_brightness(image, _draw([], -d, d, seed, pair))


def random_brightness(image, max_delta, seed=None):
    """adjust_brightness by a delta drawn uniformly from [-max_delta, max_delta)."""
    return _brightness(image, max_delta, seed, None, "random_brightness")


def stateless_random_brightness(image, max_delta, seed):
    return _brightness(image, max_delta, None, seed, "stateless_random_brightness")


def random_contrast(image, lower, upper, seed=None):
    """adjust_contrast by a factor drawn uniformly from [lower, upper)."""
    lo, hi = _range(lower, upper, "random_contrast")
    return color.adjust_contrast(image, _draw([], lo, hi, seed, None))


def stateless_random_contrast(image, lower, upper, seed):
    lo, hi = _range(lower, upper, "stateless_random_contrast")
    return color.adjust_contrast(image, _draw([], lo, hi, None, seed))


def random_saturation(image, lower, upper, seed=None):
    """adjust_saturation by a factor drawn uniformly from [lower, upper)."""
    lo, hi = _range(lower, upper, "random_saturation")
    return color.adjust_saturation(image, _draw([], lo, hi, seed, None))


def stateless_random_saturation(image, lower, upper, seed):
    lo, hi = _range(lower, upper, "stateless_random_saturation")
    return color.adjust_saturation(image, _draw([], lo, hi, None, seed))


def _hue(image, max_delta, seed, pair, op):
    d = _bound(max_delta, op, "max_delta")
    if not 0 <= d <= 0.5:
        raise fail(f"{op}: max_delta must be in [0, 0.5], got {d}")
    return color.adjust_hue(image, _draw([], -d, d, seed, pair))


def random_hue(image, max_delta, seed=None):
    """adjust_hue by a delta drawn uniformly from [-max_delta, max_delta) (max_delta <= 0.5)."""
    return _hue(image, max_delta, seed, None, "random_hue")


def stateless_random_hue(image, max_delta, seed):
    return _hue(image, max_delta, None, seed, "stateless_random_hue")


def _crop(value, size, seed, pair, op):
    x = as_image_tensor(value, op)
    if isinstance(size, Tensor):
        if size._symbolic:
            raise fail(f"{op}: size must be known when tracing (a Python list)")
        size = size.numpy()
    size = [int(s) for s in np.asarray(size).reshape(-1)]
    if len(size) != x.ndim:
        raise fail(f"{op}: size {size} must have one entry per dimension of {desc(x)}")
    dims = list(x.shape)
    for a, (s, d) in enumerate(zip(size, dims)):
        if d is None and s != -1:
            raise fail(f"{op}: dimension {a} of {desc(x)} is unknown when tracing; give it in "
                       f"the input_signature or crop it with size -1 (keep all)")
        if d is not None and not 0 < s <= d:
            raise fail(f"{op}: size {size} must be positive and fit in the shape {dims} of "
                       f"{desc(x)} (dimension {a})")
    limits = np.array([1 if d is None else d - s + 1 for s, d in zip(size, dims)])
    if (limits == 1).all():
        return x
    offsets = _draw([x.ndim], 0, _M, seed, pair, _dt.int32) % limits.astype(np.int32)
    for a, lim in enumerate(limits):
        if lim > 1:
            idx = _getitem(offsets, (a,)) + np.arange(size[a], dtype=np.int32)
            x = gather(x, idx, axis=a)
    return x


def random_crop(value, size, seed=None, name=None):
    """A random ``size`` slice of ``value`` (any rank; size has one entry per dimension)."""
    return _crop(value, size, seed, None, "random_crop")


def stateless_random_crop(value, size, seed, name=None):
    """random_crop determined by the seed pair."""
    return _crop(value, size, None, seed, "stateless_random_crop")


__all__ = ["random_flip_left_right", "random_flip_up_down", "random_brightness",
           "random_contrast", "random_saturation", "random_hue", "random_crop",
           "stateless_random_flip_left_right", "stateless_random_flip_up_down",
           "stateless_random_brightness", "stateless_random_contrast",
           "stateless_random_saturation", "stateless_random_hue", "stateless_random_crop",
           "per_example_uniform"]
