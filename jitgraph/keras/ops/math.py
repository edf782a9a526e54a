"""keras.ops.math on jitgraph: segment reductions, top_k/in_top_k, logsumexp, erf/erfinv,
rsqrt, qr, extract_sequences, logdet. The FFT family needs complex tensors, which jitgraph does
not have (see ``__init__.UNSUPPORTED``).

>>> values, indices = ops.top_k(scores, k=5)
"""

import jitgraph as jg

from ._common import axes, floating, iota, static_dim, tensor


def _num_segments(segment_ids, num_segments, what):
    if num_segments is not None:
        return int(num_segments)
    top = jg.get_static_value(jg.reduce_max(segment_ids))
    if top is None:
        raise jg.errors.UnimplementedError(
            f"jg.keras.ops.{what}: without num_segments the output size depends on the "
            "values of segment_ids, which a jg.function does not know when tracing; pass "
            "num_segments")
    return int(top) + 1


def _segment(jg_fn, name):
    def fn(data, segment_ids, num_segments=None, sorted=False):  # noqa: A002 - Keras' name
        ids = tensor(segment_ids)
        if ids.dtype.is_floating:
            ids = jg.cast(ids, jg.int32)
        return jg_fn(tensor(data), ids, _num_segments(ids, num_segments, name))
    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = (f"{name} of ``data``'s rows grouped by ``segment_ids`` (sorted or not); "
                  "pass num_segments inside a jg.function.")
    return fn


segment_sum = _segment(jg.math.unsorted_segment_sum, "segment_sum")
segment_max = _segment(jg.math.unsorted_segment_max, "segment_max")
segment_min = _segment(jg.math.unsorted_segment_min, "segment_min")
segment_prod = _segment(jg.math.unsorted_segment_prod, "segment_prod")


def top_k(x, k, sorted=True):  # noqa: A002
    return jg.math.top_k(tensor(x), k=int(k), sorted=sorted)


def in_top_k(targets, predictions, k):
    t = tensor(targets)
    if not t.dtype.is_integer:
        t = jg.cast(t, jg.int32)
    return jg.math.in_top_k(t, floating(predictions), int(k))


def logsumexp(x, axis=None, keepdims=False):
    return jg.reduce_logsumexp(floating(x), axis=axes(axis), keepdims=keepdims)


def erf(x):
    return jg.erf(floating(x))


def erfc(x):
    return jg.math.erfc(floating(x))


def erfinv(x):
    return jg.math.erfinv(floating(x))


def rsqrt(x):
    return jg.rsqrt(floating(x))


def qr(x, mode="reduced"):
    if mode not in ("reduced", "complete"):
        raise jg.errors.InvalidArgumentError(
            f"jg.keras.ops.qr: mode must be 'reduced' or 'complete', got {mode!r}")
    return jg.linalg.qr(floating(x), full_matrices=mode == "complete")


def extract_sequences(x, sequence_length, sequence_stride):
    """Frames of ``sequence_length`` every ``sequence_stride`` along the last axis."""
    x = tensor(x)
    n = static_dim(x, -1, "extract_sequences")
    count = 1 + (n - sequence_length) // sequence_stride
    starts = jg.reshape(iota(0, count) * sequence_stride, [-1, 1])
    idx = starts + jg.reshape(iota(0, sequence_length), [1, -1])
    return jg.gather(x, idx, axis=x.shape.rank - 1)


def logdet(x):
    return jg.linalg.logdet(floating(x))
