"""What each kind of summary stores, computed on the host from the summarized values (NumPy
arrays) when the ``write_summary`` op runs: the tensor TensorBoard's plugin reads and the
plugin's metadata, as tf.summary writes them.

- scalars: the value as a float32 scalar;
- histograms: ``[buckets, 3]`` float64 rows ``(left edge, right edge, count)`` over
  ``buckets`` (default 30) equal-width buckets from the minimum to the maximum; all values
  equal: every bucket is ``(v, v)`` and the last one counts them; no values: zeros;
- images: ``[width, height, png, png, ...]`` as strings, at most ``max_outputs`` images
  converted to uint8 as ``convert_image_dtype(saturate=True)`` does;
- text: the strings, in the data's shape.
"""

import functools

import numpy as np

from . import events, png

DEFAULT_BUCKETS = 30


def scalar_tensor(a, **_):
    return np.asarray(a, np.float32).reshape(())


def histogram_tensor(a, buckets=DEFAULT_BUCKETS, **_):
    with np.errstate(all="ignore"):  # NaN and infinities: see below
        return _histogram(np.asarray(a).astype(np.float64).ravel(), buckets)


def _histogram(data, buckets):
    k = max(int(buckets), 0)
    if data.size == 0 or k == 0:
        return np.zeros((k, 3), np.float64)
    lo, hi = data.min(), data.max()
    span = hi - lo
    if span == 0:
        counts = np.zeros(k, np.float64)
        counts[-1] = data.size
        edges = np.full(k, hi)
        return np.stack([edges, edges, counts], axis=1)
    scaled = np.floor((data - lo) / (span / k))
    # a NaN or infinite value has no bucket (TensorFlow's one_hot drops such indices)
    index = np.minimum(np.where(np.isfinite(scaled), scaled, -1), k - 1).astype(np.int64)
    counts = np.bincount(index[index >= 0], minlength=k).astype(np.float64)
    edges = np.linspace(lo, hi, k + 1)
    edges[-1] = hi
    return np.stack([edges[:-1], edges[1:], counts], axis=1)


def to_uint8(images):
    """``convert_image_dtype(images, uint8, saturate=True)``: floats in [0, 1] scaled by
    255.5 and clamped, wider integers divided down, uint8 as it is."""
    a = np.asarray(images)
    if a.dtype == np.uint8:
        return a
    if a.dtype.kind == "f":
        scaled = a * a.dtype.type(255.5)
        return np.clip(scaled, 0, 255).astype(np.uint8)
    if a.dtype.kind in "iu":
        scale = (int(np.iinfo(a.dtype).max) + 1) // 256
        return np.clip(a // scale, 0, 255).astype(np.uint8)
    raise TypeError(f"summary.image: images of dtype {a.dtype} are not supported; use "
                    f"floats in [0, 1] or integers")


def image_tensor(a, max_outputs=3, uint8=False, **_):
    images = np.asarray(a).astype(np.uint8) if uint8 else to_uint8(a)
    kept = images[:max(int(max_outputs), 0)]
    out = np.empty(2 + len(kept), object)
    out[0], out[1] = str(images.shape[2]).encode(), str(images.shape[1]).encode()
    for i, img in enumerate(kept):
        out[2 + i] = png.encode(img)
    return out


def text_tensor(a, **_):
    return np.asarray(a, object)


PLUGINS = {"scalars": scalar_tensor, "histograms": histogram_tensor,
           "images": image_tensor, "text": text_tensor}


def encode_value(plugin, tag, array, description="", metadata="", **params):
    """A serialized ``Summary`` with one value: ``plugin``'s tensor for ``array``
    (``plugin == "tensor"``: ``array`` itself with the given ``metadata``, a serialized
    ``SummaryMetadata`` in hex)."""
    if plugin == "tensor":
        return events.summary_value(tag, events.tensor_proto(array), bytes.fromhex(metadata))
    tensor = PLUGINS[plugin](array, **params)
    return events.summary_value(tag, events.tensor_proto(tensor), _metadata(plugin, description))


@functools.lru_cache(maxsize=1024)
def _metadata(plugin, description):
    return events.summary_metadata(plugin, description=description or None)
