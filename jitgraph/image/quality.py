"""Image differences and quality: ``jg.image.image_gradients``, ``sobel_edges``,
``total_variation``, ``psnr``, ``ssim``, with TensorFlow's definitions.

``ssim`` filters with TensorFlow's 11x11 Gaussian (sigma 1.5, VALID), applied as two 1-D
passes of the same separable kernel (a tap table, as resizing applies; see sizing.py).

>>> jg.image.psnr(jg.ones([2, 8, 8, 3]), jg.ones([2, 8, 8, 3]) * 0.5, max_val=1.0)
"""

import numpy as np

from .. import dtypes as _dt
from ..ops.assemble import pad, stack
from ..ops.core import as_tensor
from ..ops.elementwise import abs as _abs
from ..ops.elementwise import cast, log, square
from ..ops.indexing import _getitem, gather
from ..ops.reduce import reduce_mean, reduce_sum
from ..tensor import Tensor
from ._util import desc, fail, image4, unbatch
from .color import convert_image_dtype
from .sizing import apply_taps


def _rank4(image, op):
    x = as_tensor(image, op)
    if x.ndim != 4:
        raise fail(f"{op}: image must have rank 4 [batch, height, width, channels], got "
                   f"{desc(x)}")
    if any(d is None for d in x.shape[1:3]):
        raise fail(f"{op}: needs the height and width of {desc(x)} known when tracing")
    return x


def image_gradients(image):
    """(dy, dx): forward differences along height and width, [batch, h, w, c] each, with
    zeros in the last row (dy) and last column (dx)."""
    x = _rank4(image, "image_gradients")
    dy = _getitem(x, (slice(None), slice(1, None))) - _getitem(x, (slice(None), slice(None, -1)))
    dx = (_getitem(x, (slice(None), slice(None), slice(1, None)))
          - _getitem(x, (slice(None), slice(None), slice(None, -1))))
    return (pad(dy, [[0, 0], [0, 1], [0, 0], [0, 0]]),
            pad(dx, [[0, 0], [0, 0], [0, 1], [0, 0]]))


def _reflect1(x, axis):
    """Pads one element on both sides of ``axis`` by reflection (TensorFlow's REFLECT)."""
    n = int(x.shape[axis])
    if n < 2:
        raise fail(f"sobel_edges: needs height and width of at least 2, got {desc(x)}")
    return gather(x, np.concatenate([[1], np.arange(n), [n - 2]]).astype(np.int32), axis=axis)


_SOBEL = (np.array([[-1, -2, -1], [0, 0, 0], [1, 2, 1]]),
          np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]]))


def sobel_edges(image):
    """Sobel edge maps [batch, h, w, c, 2] (d/dy, d/dx) of a [batch, h, w, c] image, the
    image padded by reflection."""
    x = _rank4(image, "sobel_edges")
    if not x.dtype.is_floating:
        x = cast(x, _dt.float32)
    h, w = int(x.shape[1]), int(x.shape[2])
    xp = _reflect1(_reflect1(x, 1), 2)
    outs = []
    for k in _SOBEL:
        acc = None
        for dy, dx in zip(*np.nonzero(k)):
            term = _getitem(xp, (slice(None), slice(dy, dy + h), slice(dx, dx + w))) * float(
                k[dy, dx])
            acc = term if acc is None else acc + term
        outs.append(acc)
    return stack(outs, axis=-1)


def total_variation(images, name=None):
    """The sum of absolute differences of neighbouring pixels: a scalar for one image
    [h, w, c], one value per image for [batch, h, w, c]."""
    x, batched = image4(images, "total_variation")
    dy = _getitem(x, (slice(None), slice(1, None))) - _getitem(x, (slice(None), slice(None, -1)))
    dx = (_getitem(x, (slice(None), slice(None), slice(1, None)))
          - _getitem(x, (slice(None), slice(None), slice(None, -1))))
    tv = reduce_sum(_abs(dy), axis=[1, 2, 3]) + reduce_sum(_abs(dx), axis=[1, 2, 3])
    return unbatch(tv, batched)


def _pair(a, b, op):
    """(x, y, scale): both images as float (integers scaled to [0, 1], so max_val is scaled
    by ``scale`` as well, as TensorFlow does)."""
    def conv(v):
        t = as_tensor(v, op)
        return t if t.dtype is _dt.float64 else convert_image_dtype(t, _dt.float32)
    t = as_tensor(a, op)
    scale = 1.0 / float(t.dtype.max) if t.dtype.is_integer else 1.0
    x, y = conv(a), conv(b)
    if x.dtype is not y.dtype:
        raise fail(f"{op}: both images must have the same dtype, got {desc(x)} and {desc(y)}")
    if x.ndim < 3 or y.ndim < 3:
        raise fail(f"{op}: images must have rank >= 3 [..., height, width, channels], got "
                   f"{desc(x)} and {desc(y)}")
    if any(p is not None and q is not None and p != q for p, q in zip(x.shape[-3:],
                                                                     y.shape[-3:])):
        raise fail(f"{op}: the two images must have the same height, width and channels, got "
                   f"{desc(x)} and {desc(y)}")
    return x, y, scale


def _max_val(max_val, x, scale):
    if isinstance(max_val, Tensor):
        mv = cast(max_val, x.dtype) if max_val.dtype is not x.dtype else max_val
        return mv * scale if scale != 1.0 else mv
    return float(max_val) * scale


def psnr(a, b, max_val, name=None):
    """Peak signal-to-noise ratio in dB of each image pair: 20 log10(max_val) - 10 log10(mse)
    over height, width and channels (integer images are first scaled to [0, 1])."""
    x, y, scale = _pair(a, b, "psnr")
    mv = _max_val(max_val, x, scale)
    mse = reduce_mean(square(x - y), axis=[-3, -2, -1])
    lmv = float(np.log(mv)) if not isinstance(mv, Tensor) else log(mv)
    return 20.0 * lmv / float(np.log(10.0)) - float(10.0 / np.log(10.0)) * log(mse)


def _gauss1d(size, sigma):
    coords = np.arange(size, dtype=np.float64) - (size - 1) / 2.0
    g = np.exp(-0.5 * coords * coords / (sigma * sigma))
    return g / g.sum()


def _gauss_filter(x, size, sigma):
    """Separable Gaussian filter (VALID) over the height and width of [n, h, w, c] x."""
    g = _gauss1d(size, sigma)
    for axis in (1, 2):
        out = int(x.shape[axis]) - size + 1
        idx = (np.arange(out)[:, None] + np.arange(size)[None, :]).astype(np.int32)
        x = apply_taps(x, axis, idx, np.broadcast_to(g, (out, size)))
    return x


def ssim(img1, img2, max_val, filter_size=11, filter_sigma=1.5, k1=0.01, k2=0.03,
         return_index_map=False):
    """Structural similarity of each image pair [..., h, w, c], averaged over height, width
    and channels (TensorFlow's Gaussian-weighted SSIM); ``return_index_map`` gives the map
    [..., h - filter_size + 1, w - filter_size + 1] averaged over channels instead."""
    op = "ssim"
    x, y, scale = _pair(img1, img2, op)
    size = int(filter_size)
    h, w = x.shape[-3], x.shape[-2]
    if h is None or w is None:
        raise fail(f"{op}: needs the height and width of {desc(x)} known when tracing")
    if h < size or w < size:
        raise fail(f"{op}: the images {desc(x)} are smaller than filter_size={size}; pass a "
                   f"smaller filter_size or larger images")
    lead = [-1 if d is None else int(d) for d in x.shape[:-3]]
    hwc = [int(d) for d in x.shape[-3:]]

    def reducer(t):
        from ..ops.shape import reshape

        out = _gauss_filter(reshape(t, [-1] + hwc), size, float(filter_sigma))
        return reshape(out, lead + [int(d) for d in out.shape[1:]])

    mv = _max_val(max_val, x, scale)
    c1 = (k1 * mv) ** 2
    c2 = (k2 * mv) ** 2
    mean0, mean1 = reducer(x), reducer(y)
    num0 = mean0 * mean1 * 2.0
    den0 = square(mean0) + square(mean1)
    luminance = (num0 + c1) / (den0 + c1)
    num1 = reducer(x * y) * 2.0
    den1 = reducer(square(x) + square(y))
    cs = (num1 - num0 + c2) / (den1 - den0 + c2)
    if return_index_map:
        return reduce_mean(luminance * cs, axis=-1)
    return reduce_mean(reduce_mean(luminance * cs, axis=[-3, -2]), axis=-1)


__all__ = ["image_gradients", "sobel_edges", "total_variation", "psnr", "ssim"]
