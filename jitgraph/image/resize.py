"""``jg.image.resize`` and its relatives, numerically as TensorFlow's kernels.

Every method is separable: along each spatial axis an output element is a weighted sum of at
most K input elements ("taps"). The taps are a constant table computed with NumPy while
tracing (indices [out, K] and weights [out, K], in float32 where TensorFlow's kernels compute
in float32, so the sampling positions match), and applying them is one ``gather`` of the K
rows of every output row, a multiply by the weights and a sum over K: ops that every backend
compiles and that autodiff differentiates (the gather's gradient accumulates back into the
input). Nearest neighbour is one gather and nothing else.

TensorFlow's kernels, one per method:
  bilinear   ResizeBilinear, half-pixel centers: in = (out + 0.5) * in/out - 0.5, the two
             neighbours clamped to the image.
  nearest    ResizeNearestNeighbor, half-pixel centers: floor((out + 0.5) * in/out).
  bicubic    ResizeBicubic, half-pixel centers: Keys cubic (a = -0.5) with the fraction
             rounded to 1/1024 (TensorFlow's weight table), taps outside the image dropped
             and the rest renormalized.
  area       ResizeArea: the mean of the input area each output pixel covers.
  lanczos3, lanczos5, gaussian, mitchellcubic, and bilinear/bicubic with antialias=True:
             ScaleAndTranslate, whose kernel is widened by in/out when downsampling with
             antialias (so every input pixel contributes).
"""

import functools

import numpy as np

from .. import errors

_F32 = np.float32


def _f32(v):
    return _F32(v)


# ----------------------------------------------------------------------------- kernels
# ScaleAndTranslate's sampling kernels (radius, function of |x|)


def _lanczos(r):
    def k(x):
        x = np.abs(x)
        with np.errstate(divide="ignore", invalid="ignore"):
            v = r * np.sin(np.pi * x) * np.sin(np.pi * x / r) / (np.pi * np.pi * x * x)
        return np.where(x > r, 0.0, np.where(x <= 1e-3, 1.0, v))
    return r, k


def _gaussian():
    radius, sigma = 1.5, 1.5 / 3.0
    return radius, lambda x: np.where(np.abs(x) >= radius, 0.0,
                                      np.exp(-x * x / (2.0 * sigma * sigma)))


def _triangle():
    return 1.0, lambda x: np.maximum(1.0 - np.abs(x), 0.0)


def _keys_cubic():
    def k(x):
        x = np.abs(x)
        return np.where(x >= 2.0, 0.0, np.where(
            x >= 1.0, ((-0.5 * x + 2.5) * x - 4.0) * x + 2.0, (1.5 * x - 2.5) * x * x + 1.0))
    return 2.0, k


def _mitchell_cubic():
    def k(x):
        x = np.abs(x)
        return np.where(x >= 2.0, 0.0, np.where(
            x >= 1.0, (((-7.0 / 18.0) * x + 2.0) * x - 10.0 / 3.0) * x + 16.0 / 9.0,
            ((7.0 / 6.0) * x - 2.0) * x * x + 8.0 / 9.0))
    return 2.0, k


KERNELS = {"lanczos3": lambda: _lanczos(3.0), "lanczos5": lambda: _lanczos(5.0),
           "gaussian": _gaussian, "mitchellcubic": _mitchell_cubic, "triangle": _triangle,
           "keyscubic": _keys_cubic}


# ----------------------------------------------------------------------------- tap tables
# each returns (indices int32 [out, K], weights float64 [out, K])


def _scale(in_size, out_size):
    return _f32(in_size) / _f32(out_size)


def nearest_taps(in_size, out_size):
    pos = (np.arange(out_size, dtype=_F32) + _f32(0.5)) * _scale(in_size, out_size)
    idx = np.clip(np.floor(pos).astype(np.int64), 0, in_size - 1)
    return idx[:, None].astype(np.int32), np.ones((out_size, 1))


def bilinear_taps(in_size, out_size):
    pos = (np.arange(out_size, dtype=_F32) + _f32(0.5)) * _scale(in_size, out_size) - _f32(0.5)
    lo = np.floor(pos)
    frac = (pos - lo).astype(np.float64)
    i0 = np.clip(lo.astype(np.int64), 0, in_size - 1)
    i1 = np.clip(np.ceil(pos).astype(np.int64), 0, in_size - 1)
    return np.stack([i0, i1], 1).astype(np.int32), np.stack([1.0 - frac, frac], 1)


def _cubic_table(a=-0.5, size=1024):
    x = np.arange(size + 1, dtype=np.float64) / size
    inner = ((a + 2) * x - (a + 3)) * x * x + 1           # |t| in [0, 1]
    xo = x + 1.0
    outer = ((a * xo - 5 * a) * xo + 8 * a) * xo - 4 * a  # |t| in [1, 2]
    return inner.astype(_F32), outer.astype(_F32)


def bicubic_taps(in_size, out_size):
    inner, outer = _cubic_table()
    pos = (np.arange(out_size, dtype=_F32) + _f32(0.5)) * _scale(in_size, out_size) - _f32(0.5)
    base = np.floor(pos)
    off = np.rint((pos - base) * _f32(1024)).astype(np.int64)  # lrintf: half to even
    w = np.stack([outer[off], inner[off], inner[1024 - off], outer[1024 - off]], 1)
    idx = base.astype(np.int64)[:, None] + np.arange(-1, 3)[None, :]
    w = np.where((idx >= 0) & (idx < in_size), w, 0).astype(np.float64)
    w = w / w.sum(1, keepdims=True)
    return np.clip(idx, 0, in_size - 1).astype(np.int32), w


def area_taps(in_size, out_size):
    scale = _scale(in_size, out_size)
    rows_i, rows_w = [], []
    for y in range(out_size):
        lo, hi = _f32(y) * scale, _f32(y + 1) * scale
        start, end = int(np.floor(lo)), int(np.ceil(hi))
        idx, w = [], []
        for i in range(start, end):
            if i < lo:
                s = scale if i + 1 > hi else _f32(i + 1) - lo
            else:
                s = hi - _f32(i) if i + 1 > hi else _f32(1.0)
            idx.append(min(max(i, 0), in_size - 1))
            w.append(float(s) / float(scale))
        rows_i.append(idx)
        rows_w.append(w)
    return _pack(rows_i, rows_w)


def scale_translate_taps(in_size, out_size, kernel, antialias):
    """ScaleAndTranslate's spans (scale = out / in, no translation)."""
    radius, fn = KERNELS[kernel]()
    scale = _f32(out_size) / _f32(in_size)
    inv_scale = _f32(1.0) / scale
    kscale = max(inv_scale, _f32(1.0)) if antialias else _f32(1.0)
    rows_i, rows_w = [], []
    for x in range(out_size):
        sample = (_f32(x) + _f32(0.5)) * inv_scale
        if sample < 0 or sample > in_size:
            rows_i.append([0])
            rows_w.append([0.0])
            continue
        reach = _f32(radius) * kscale
        start = int(np.clip(np.ceil(sample - reach - _f32(0.5)), 0, in_size - 1))
        end = int(np.clip(np.floor(sample + reach - _f32(0.5)), 0, in_size - 1)) + 1
        src = np.arange(start, end, dtype=_F32)
        w = fn(np.abs((src + _f32(0.5) - sample) / kscale).astype(np.float64))
        total = w.sum()
        w = w / total if abs(total) >= 1000.0 * np.finfo(_F32).tiny else np.zeros_like(w)
        rows_i.append(list(range(start, end)))
        rows_w.append(list(w))
    return _pack(rows_i, rows_w)


def _pack(rows_i, rows_w):
    k = max(len(r) for r in rows_i)
    idx = np.zeros((len(rows_i), k), np.int32)
    w = np.zeros((len(rows_i), k))
    for j, (ri, rw) in enumerate(zip(rows_i, rows_w)):
        idx[j, :len(ri)] = ri
        idx[j, len(ri):] = ri[-1] if ri else 0
        w[j, :len(rw)] = rw
    return idx, w


METHODS = ("bilinear", "nearest", "bicubic", "area", "lanczos3", "lanczos5", "gaussian",
           "mitchellcubic")


@functools.lru_cache(maxsize=256)
def taps(in_size, out_size, method, antialias):
    """The tap table of one axis for a TensorFlow resize method, read-only and cached (eager
    calls would otherwise rebuild it every time)."""
    idx, w = _table(in_size, out_size, method, antialias)
    idx.setflags(write=False)
    w.setflags(write=False)
    return idx, w


def _table(in_size, out_size, method, antialias):
    if method == "nearest":
        return nearest_taps(in_size, out_size)
    if method == "area":
        return area_taps(in_size, out_size)
    if method == "bilinear":
        return (scale_translate_taps(in_size, out_size, "triangle", True) if antialias
                else bilinear_taps(in_size, out_size))
    if method == "bicubic":
        return (scale_translate_taps(in_size, out_size, "keyscubic", True) if antialias
                else bicubic_taps(in_size, out_size))
    if method in KERNELS:
        return scale_translate_taps(in_size, out_size, method, antialias)
    raise errors.InvalidArgumentError(errors.at_user_line(
        f"resize: unknown method {method!r}; use one of {', '.join(METHODS)}"))
