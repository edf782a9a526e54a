"""``jg.image.affine_transform``: TensorFlow's ImageProjectiveTransformV3 (what Keras'
RandomRotation, RandomZoom and RandomTranslation apply), as gathers with weights.

Each image has a transform [a0, a1, a2, b0, b1, b2, c0, c1] mapping an output pixel (x, y) to
the input point ((a0 x + a1 y + a2) / k, (b0 x + b1 y + b2) / k), k = c0 x + c1 y + 1.
Points outside the image are mapped back in by ``fill_mode`` ("reflect": dcba|abcd|dcba,
"wrap": abcd|abcd|abcd, "nearest": aaaa|abcd|dddd, "constant": kkkk|abcd|kkkk with
k = ``fill_value``), with TensorFlow's exact coordinate arithmetic; "nearest" interpolation
rounds half away from zero, "bilinear" reads the four neighbours (each outside the image
reads ``fill_value``). The transforms are tensors (one per image, computed at run time), so
the pixel positions are computed with elementwise ops and read with one ``gather`` per
neighbour from the images flattened to [batch * height * width, channels]; the gather's
gradient reaches the images.

>>> rot90 = [0., -1., 7., 1., 0., 0., 0., 0.]   # for 8x8 images
>>> jg.image.affine_transform(images, rot90, interpolation="nearest")
"""

import numpy as np

from .. import dtypes as _dt
from ..ops.core import as_tensor
from ..ops.elementwise import abs as _abs
from ..ops.elementwise import (
    cast,
    clip_by_value,
    floor,
    logical_and,
    sign,
    where,
)
from ..ops.indexing import _getitem, gather
from ..ops.scan import cumsum
from ..ops.shape import expand_dims, ones_like, reshape
from ._util import desc, fail, image4, unbatch

FILL_MODES = ("reflect", "wrap", "constant", "nearest")
INTERPOLATIONS = ("nearest", "bilinear")


def _trunc_pos(v):
    """int truncation of a non-negative float (negative inputs land in unused branches)."""
    return floor(v)


def _reflect(c, n):
    if n <= 1:
        return c * 0.0
    sz2 = float(2 * n)
    neg = sz2 * _trunc_pos(-c / sz2) + c
    neg = where(neg < -n, neg + sz2, -neg - 1.0)
    pos = c - sz2 * _trunc_pos(c / sz2)
    pos = where(pos >= n, sz2 - pos - 1.0, pos)
    out = where(c < 0, neg, where(c > n - 1, pos, c))
    return clip_by_value(out, 0.0, float(n - 1))


def _wrap(c, n):
    if n <= 1:
        return c * 0.0
    sz = float(n - 1)
    neg = c + n * (_trunc_pos(-c / sz) + 1.0)
    pos = c - n * _trunc_pos(c / sz)
    out = where(c < 0, neg, where(c > n - 1, pos, c))
    return clip_by_value(out, 0.0, float(n - 1))


def _map(c, n, mode):
    if mode == "reflect":
        return _reflect(c, n)
    if mode == "wrap":
        return _wrap(c, n)
    if mode == "nearest":
        return clip_by_value(c, 0.0, float(n - 1))
    return c


def _round_away(v):
    return sign(v) * floor(_abs(v) + 0.5)


def _transforms(transform, batch, op):
    t = as_tensor(transform, op)
    if t.dtype is not _dt.float32:
        t = cast(t, _dt.float32)
    if t.ndim == 1:
        t = expand_dims(t, 0)
    if t.ndim != 2 or t.shape[1] != 8:
        raise fail(f"{op}: transform must be [8] or [batch, 8] (a0, a1, a2, b0, b1, b2, c0, "
                   f"c1), got {desc(t)}")
    if t.shape[0] is not None and batch is not None and t.shape[0] not in (1, batch):
        raise fail(f"{op}: {t.shape[0]} transforms for a batch of {batch} images; give one "
                   f"transform or one per image")
    return [reshape(_getitem(t, (slice(None), k)), [-1, 1, 1]) for k in range(8)]


def affine_transform(images, transform, interpolation="bilinear", fill_mode="constant",
                     fill_value=0, data_format=None):
    """Applies projective transforms to images [h, w, c] or [batch, h, w, c] (see the module
    docstring for ``transform``'s meaning); the output has the input's shape and dtype."""
    op = "affine_transform"
    if data_format not in (None, "channels_last"):
        raise fail(f"{op}: only data_format='channels_last' is supported, got "
                   f"{data_format!r}; transpose the images to [batch, h, w, c]")
    interpolation, fill_mode = str(interpolation).lower(), str(fill_mode).lower()
    if interpolation not in INTERPOLATIONS:
        raise fail(f"{op}: interpolation must be one of {INTERPOLATIONS}, got "
                   f"{interpolation!r}")
    if fill_mode not in FILL_MODES:
        raise fail(f"{op}: fill_mode must be one of {FILL_MODES}, got {fill_mode!r}")
    x, batched = image4(images, op)
    n, h, w, c = x.shape[0], int(x.shape[1]), int(x.shape[2]), x.shape[3]
    if c is None:
        raise fail(f"{op}: needs the channel dim of {desc(x)} known when tracing")
    a0, a1, a2, b0, b1, b2, c0, c1 = _transforms(transform, n, op)
    xs = np.arange(w, dtype=np.float32).reshape(1, 1, w)
    ys = np.arange(h, dtype=np.float32).reshape(1, h, 1)
    k = c0 * xs + c1 * ys + 1.0
    finite = k != 0.0
    k = where(finite, k, k * 0.0 + 1.0)
    px = _map((a0 * xs + a1 * ys + a2) / k, w, fill_mode)
    py = _map((b0 * xs + b1 * ys + b2) / k, h, fill_mode)

    flat = reshape(x, [-1, int(c)])
    if n is not None:
        base = as_tensor(np.arange(int(n), dtype=np.int32).reshape(-1, 1, 1) * (h * w))
    else:
        ones = _getitem(x, (slice(None), 0, 0, 0))
        base = reshape((cumsum(ones_like(ones, dtype=_dt.int32)) - 1) * (h * w), [-1, 1, 1])
    fdt = x.dtype if x.dtype.is_floating else _dt.float32
    fill = float(fill_value)

    def read(iy, ix):
        """Pixels at integer float coordinates [n, h, w]; fill where outside."""
        inside = logical_and(logical_and(iy >= 0, iy < h), logical_and(ix >= 0, ix < w))
        inside = logical_and(inside, finite)
        yi = cast(clip_by_value(iy, 0.0, float(h - 1)), _dt.int32)
        xi = cast(clip_by_value(ix, 0.0, float(w - 1)), _dt.int32)
        v = gather(flat, base + yi * w + xi)
        v = v if v.dtype is fdt else cast(v, fdt)
        return where(expand_dims(inside, -1), v, v * 0.0 + fill)

    if interpolation == "nearest":
        out = read(_round_away(py), _round_away(px))
    else:
        y0, x0 = floor(py), floor(px)
        y1, x1 = y0 + 1.0, x0 + 1.0

        def wt(t):
            t = t if t.dtype is fdt else cast(t, fdt)
            return expand_dims(t, -1)
        top = wt(x1 - px) * read(y0, x0) + wt(px - x0) * read(y0, x1)
        bottom = wt(x1 - px) * read(y1, x0) + wt(px - x0) * read(y1, x1)
        out = wt(y1 - py) * top + wt(py - y0) * bottom
    if out.dtype is not x.dtype:
        out = cast(out, x.dtype)
    return unbatch(out, batched)


def _box_coords(lo, hi, size, n):
    """TensorFlow's sampling positions [boxes, n] along one axis of crop_and_resize."""
    if n > 1:
        step = (hi - lo) * float(size - 1) / float(n - 1)
        return lo * float(size - 1) + step * np.arange(n, dtype=lo.dtype.np).reshape(1, n)
    return reshape((lo + hi) * (0.5 * (size - 1)), [-1, 1])


def crop_and_resize(image, boxes, box_indices, crop_size, method="bilinear",
                    extrapolation_value=0.0, name=None):
    """Crops boxes [num_boxes, 4] = (y1, x1, y2, x2) in normalized coordinates (0 and 1 are
    the first and last pixel centers) from the images [batch, h, w, c] picked by
    box_indices, and resizes each to crop_size = [crop_h, crop_w], as TensorFlow's
    CropAndResize: samples outside the image are ``extrapolation_value``. The result is
    float32 (float64 for float64 images); gradients reach the images and the boxes."""
    op = "crop_and_resize"
    method = str(method).lower()
    if method not in INTERPOLATIONS:
        raise fail(f"{op}: method must be 'bilinear' or 'nearest', got {method!r}")
    x, batched = image4(image, op, ranks=(4,))
    h, w, c = int(x.shape[1]), int(x.shape[2]), x.shape[3]
    if c is None:
        raise fail(f"{op}: needs the channel dim of {desc(x)} known when tracing")
    from .sizing import _size_pair

    ch, cw = _size_pair(crop_size, op)
    fdt = x.dtype if x.dtype is _dt.float64 else _dt.float32
    b = as_tensor(boxes, op)
    if b.ndim != 2 or b.shape[1] != 4:
        raise fail(f"{op}: boxes must be [num_boxes, 4] (y1, x1, y2, x2), got {desc(b)}")
    b = b if b.dtype is fdt else cast(b, fdt)
    bi = as_tensor(box_indices, op)
    if bi.ndim != 1 or not bi.dtype.is_integer:
        raise fail(f"{op}: box_indices must be a 1-D integer tensor, got {desc(bi)}")
    cols = [_getitem(b, (slice(None), k)) for k in range(4)]
    y1, x1, y2, x2 = (reshape(v, [-1, 1]) for v in cols)
    ys = expand_dims(_box_coords(y1, y2, h, ch), 2)      # [boxes, ch, 1]
    xs = expand_dims(_box_coords(x1, x2, w, cw), 1)      # [boxes, 1, cw]
    inside = logical_and(logical_and(ys >= 0, ys <= h - 1), logical_and(xs >= 0, xs <= w - 1))
    flat = reshape(x if x.dtype is fdt else cast(x, fdt), [-1, int(c)])
    base = reshape(cast(bi, _dt.int32) * (h * w), [-1, 1, 1])

    def read(iy, ix):
        yi = cast(clip_by_value(iy, 0.0, float(h - 1)), _dt.int32)
        xi = cast(clip_by_value(ix, 0.0, float(w - 1)), _dt.int32)
        return gather(flat, base + yi * w + xi)

    if method == "nearest":
        out = read(_round_away(ys), _round_away(xs))
    else:
        y0, x0 = floor(ys), floor(xs)
        y1_, x1_ = y0 + 1.0, x0 + 1.0
        ly, lx = expand_dims(ys - y0, -1), expand_dims(xs - x0, -1)
        top = read(y0, x0) + (read(y0, x1_) - read(y0, x0)) * lx
        bottom = read(y1_, x0) + (read(y1_, x1_) - read(y1_, x0)) * lx
        out = top + (bottom - top) * ly
    return where(expand_dims(inside, -1), out, out * 0.0 + float(extrapolation_value))


__all__ = ["affine_transform", "crop_and_resize"]
