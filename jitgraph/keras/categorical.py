"""Keras' preprocessing layers for numbers and categories: Discretization (with ``adapt``,
Keras' quantile summaries), CategoryEncoding (one_hot, multi_hot, count) and IntegerLookup
(vocabulary lookups, ``adapt``, ``invert``), with Keras 3's outputs.

Keras' ``Hashing`` is left out: it hashes the string form of each value with FarmHash64, which
jitgraph does not have; IntegerLookup with ``num_oov_indices > 1`` uses Keras' default
"floormod" for out-of-vocabulary values.

>>> jg.keras.layers.CategoryEncoding(4, "multi_hot")([[0, 1], [3, 3]])   # [[1,1,0,0],[0,0,0,1]]
"""

import numpy as np

import jitgraph as jg

from .base_layer import Layer

_MODES = ("int", "one_hot", "multi_hot", "count")


def _check_mode(layer, mode):
    if mode not in _MODES:
        raise ValueError(f"{layer}: output_mode must be one of {_MODES}, got {mode!r} "
                         f"(tf_idf and sparse outputs are not supported)")
    return mode


def encode(x, mode, depth, dtype, count_weights=None):
    """Keras' encode_categorical_inputs for integer indices ``x`` in [0, depth)."""
    if mode == "int":
        return jg.cast(x, dtype)
    if x.ndim == 0:
        x = jg.reshape(x, [1])
    if mode == "one_hot":
        if x.ndim > 1 and x.shape[-1] == 1:
            x = jg.squeeze(x, [-1])
        return jg.one_hot(x, depth, dtype=dtype)
    hot = jg.one_hot(x, depth, dtype=dtype)
    axis = 1 if x.ndim > 1 else 0   # Keras reduces the axis after the batch
    if mode == "multi_hot":
        return jg.reduce_max(hot, axis=axis)
    if count_weights is not None:
        w = jg.convert_to_tensor(count_weights)
        w = jg.cast(w, dtype) if w.dtype != dtype else w
        hot = hot * jg.expand_dims(w, -1)
    return jg.reduce_sum(hot, axis=axis)


class CategoryEncoding(Layer):
    """Integer category ids in [0, num_tokens) to "one_hot" vectors (a last axis of size 1
    is replaced), "multi_hot" (1 for every id present along axis 1, the one after the
    batch, as Keras) or "count" (how often, weighted by ``count_weights`` if given) vectors
    of size num_tokens."""

    def __init__(self, num_tokens=None, output_mode="multi_hot", sparse=False, **kwargs):
        super().__init__(**kwargs)
        if num_tokens is None or int(num_tokens) < 1:
            raise ValueError(f"CategoryEncoding: num_tokens must be a positive integer, got "
                             f"{num_tokens!r}")
        if output_mode not in ("one_hot", "multi_hot", "count"):
            raise ValueError(f"CategoryEncoding: output_mode must be 'one_hot', 'multi_hot' "
                             f"or 'count', got {output_mode!r}")
        if sparse:
            raise ValueError("CategoryEncoding: sparse outputs are not supported")
        self.num_tokens, self.output_mode = int(num_tokens), output_mode

    def call(self, inputs, count_weights=None):
        x = jg.convert_to_tensor(inputs)
        if not x.dtype.is_integer:
            x = jg.cast(x, jg.int32)
        if not x._symbolic:
            v = x.numpy()
            if v.size and (v.min() < 0 or v.max() >= self.num_tokens):
                raise ValueError(f"CategoryEncoding layer {self.name!r}: input values must be "
                                 f"in [0, {self.num_tokens}) (num_tokens), got values from "
                                 f"{v.min()} to {v.max()}")
        return encode(x, self.output_mode, self.num_tokens, self._dtype, count_weights)

    def get_config(self):
        return {**super().get_config(), "num_tokens": self.num_tokens,
                "output_mode": self.output_mode}


# ----------------------------------------------------------------------------- Discretization
# Keras' approximate quantiles, step for step (so adapt gives Keras' boundaries)


def _summarize(values, epsilon):
    values = np.sort(np.reshape(values, [-1]))
    step = max(np.size(values) / (1.0 / epsilon), 1)
    bounds = values[int(step - 1)::int(step)]
    return np.stack([bounds, np.ones_like(bounds) * step])


def _compress(summary, epsilon):
    if summary.shape[1] * epsilon < 1:
        return summary
    percents = epsilon + np.arange(0.0, 1.0, epsilon)
    cum = summary[1].cumsum()
    frac = cum / cum[-1]
    bins = np.interp(percents, frac, summary[0])
    cum = np.interp(percents, frac, cum)
    return np.stack((bins, cum - np.concatenate((np.array([0]), cum[:-1])))).astype("float32")


def _merge(prev, nxt, epsilon):
    merged = np.concatenate((prev, nxt), axis=1)
    return _compress(np.take(merged, np.argsort(merged[0]), axis=1), epsilon)


class Discretization(Layer):
    """Buckets numbers by ``bin_boundaries`` (x < b0 -> 0, b0 <= x < b1 -> 1, ...), or by
    ``num_bins`` quantiles that ``adapt(data)`` estimates (Keras' algorithm, ``epsilon``
    its precision); ``output_mode`` "int" (int32), "one_hot", "multi_hot" or "count"."""

    def __init__(self, bin_boundaries=None, num_bins=None, epsilon=0.01, output_mode="int",
                 sparse=False, **kwargs):
        super().__init__(**kwargs)
        if (bin_boundaries is None) == (num_bins is None):
            raise ValueError("Discretization: pass exactly one of bin_boundaries and num_bins "
                             f"(got bin_boundaries={bin_boundaries!r}, num_bins={num_bins!r})")
        if sparse:
            raise ValueError("Discretization: sparse outputs are not supported")
        self.output_mode = _check_mode("Discretization", output_mode)
        self.bin_boundaries = None if bin_boundaries is None else [float(b) for b in
                                                                   bin_boundaries]
        self.num_bins, self.epsilon = num_bins, float(epsilon)
        self.summary = np.array([[], []], dtype="float32")

    def adapt(self, data, batch_size=None, steps=None):
        """Estimates num_bins quantile boundaries from ``data`` (an array, or an iterable of
        batches)."""
        if self.num_bins is None:
            raise ValueError("Discretization: adapt needs num_bins (this layer was given "
                             "bin_boundaries)")
        self.summary = np.array([[], []], dtype="float32")
        batches = [data] if hasattr(data, "shape") or not hasattr(data, "__iter__") or \
            isinstance(data, list) and not hasattr(data[0], "__len__") else data
        for i, batch in enumerate(batches):
            if steps is not None and i >= steps:
                break
            b = np.asarray(batch.numpy() if hasattr(batch, "numpy") else batch, "float32")
            self.summary = _merge(_summarize(b, self.epsilon), self.summary, self.epsilon)
        self.bin_boundaries = _compress(self.summary, 1.0 / self.num_bins)[0, :-1].tolist()

    def call(self, inputs):
        if self.bin_boundaries is None:
            raise ValueError(f"Discretization layer {self.name!r}: pass bin_boundaries or call "
                             f"adapt(data) before using it")
        x = jg.convert_to_tensor(inputs)
        if not x.dtype.is_floating:
            x = jg.cast(x, jg.float32)
        bounds = np.asarray(self.bin_boundaries, x.dtype.as_numpy_dtype)
        dims = [-1 if d is None else int(d) for d in x.shape]
        if bounds.size:
            idx = jg.reshape(jg.searchsorted(bounds, jg.reshape(x, [-1]), side="right"), dims)
        else:
            idx = jg.zeros_like(x, dtype=jg.int32)
        dtype = jg.int32 if self.output_mode == "int" else jg.float32
        return encode(idx, self.output_mode, len(self.bin_boundaries) + 1, dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "bin_boundaries": self.bin_boundaries,
                "num_bins": self.num_bins, "epsilon": self.epsilon,
                "output_mode": self.output_mode}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        bounds = config.pop("bin_boundaries", None)
        if config.get("num_bins") is not None:
            layer = cls(**config)
            layer.bin_boundaries = bounds
            return layer
        return cls(bin_boundaries=bounds, **config)


# ----------------------------------------------------------------------------- IntegerLookup


class IntegerLookup(Layer):
    """Maps integer tokens to indices in a vocabulary (given, or learnt by ``adapt``: by
    descending count, ties by descending value), as Keras: index 0 is ``mask_token``'s when
    one is given, then ``num_oov_indices`` indices for values not in the vocabulary (a value
    v takes the (v mod num_oov_indices)-th), then the vocabulary. ``invert=True`` maps
    indices back to tokens. ``output_mode`` "int" (int64), "one_hot", "multi_hot", "count"."""

    def __init__(self, max_tokens=None, num_oov_indices=1, mask_token=None, oov_token=-1,
                 vocabulary=None, vocabulary_dtype="int64", idf_weights=None, invert=False,
                 output_mode="int", sparse=False, pad_to_max_tokens=False, **kwargs):
        kwargs.setdefault("dtype", "int64")
        super().__init__(**kwargs)
        if int(num_oov_indices) < 1:
            raise ValueError(f"IntegerLookup: num_oov_indices must be >= 1 here, got "
                             f"{num_oov_indices} (a lookup of an unknown value needs an index)")
        if sparse or idf_weights is not None or pad_to_max_tokens:
            raise ValueError("IntegerLookup: sparse outputs, idf_weights and "
                             "pad_to_max_tokens are not supported")
        self.output_mode = _check_mode("IntegerLookup", output_mode)
        if invert and self.output_mode != "int":
            raise ValueError("IntegerLookup: invert=True needs output_mode='int'")
        self.max_tokens, self.num_oov_indices = max_tokens, int(num_oov_indices)
        self.mask_token, self.oov_token = mask_token, int(oov_token)
        self.vocabulary_dtype, self.invert = vocabulary_dtype, bool(invert)
        self._vocab = None
        if vocabulary is not None:
            self.set_vocabulary(vocabulary)

    def _start(self):
        return (0 if self.mask_token is None else 1) + self.num_oov_indices

    def set_vocabulary(self, vocabulary):
        v = np.asarray(vocabulary.numpy() if hasattr(vocabulary, "numpy") else vocabulary,
                       np.int64).reshape(-1)
        if len(np.unique(v)) != len(v):
            raise ValueError(f"IntegerLookup: the vocabulary has repeated tokens: {v.tolist()}")
        if self.mask_token is not None and (v == self.mask_token).any():
            raise ValueError(f"IntegerLookup: the vocabulary contains the mask token "
                             f"{self.mask_token}")
        self._vocab = v

    def adapt(self, data, batch_size=None, steps=None):
        """Learns the vocabulary from ``data``: the most frequent tokens first."""
        v = np.asarray(data.numpy() if hasattr(data, "numpy") else data, np.int64).reshape(-1)
        tokens, counts = np.unique(v, return_counts=True)
        keep = np.ones(len(tokens), bool)
        for special in (self.mask_token, self.oov_token):
            if special is not None:
                keep &= tokens != special
        tokens, counts = tokens[keep], counts[keep]
        order = np.lexsort((tokens, counts))[::-1]
        if self.max_tokens:
            order = order[:self.max_tokens - self._start()]
        self._vocab = tokens[order]

    def get_vocabulary(self, include_special_tokens=True):
        v = [] if self._vocab is None else self._vocab.tolist()
        if not include_special_tokens:
            return v
        special = ([] if self.mask_token is None else [self.mask_token])
        return special + [self.oov_token] * self.num_oov_indices + v

    def vocabulary_size(self):
        return len(self.get_vocabulary())

    def call(self, inputs):
        if self._vocab is None:
            raise ValueError(f"IntegerLookup layer {self.name!r}: pass a vocabulary or call "
                             f"adapt(data) before using it")
        x = jg.convert_to_tensor(inputs)
        if not x.dtype.is_integer:
            raise ValueError(f"IntegerLookup layer {self.name!r}: expects integer tokens, got "
                             f"{x.dtype.name}")
        if x.dtype != jg.int64:
            x = jg.cast(x, jg.int64)
        if self.invert:
            table = np.asarray(self.get_vocabulary(), np.int64)
            idx = jg.clip_by_value(x, 0, len(table) - 1)
            return jg.where(x == idx, jg.gather(table, idx), jg.zeros_like(x) + self.oov_token)
        order = np.argsort(self._vocab, kind="stable")
        sv = self._vocab[order]
        dims = [-1 if d is None else int(d) for d in x.shape]
        flat = jg.reshape(x, [-1])
        if len(sv):
            pos = jg.minimum(jg.searchsorted(sv, flat, side="left"), len(sv) - 1)
            found = jg.gather(sv, pos) == flat
            hit = jg.gather((order + self._start()).astype(np.int64), pos)
        else:
            found, hit = flat < flat, flat
        first_oov = 0 if self.mask_token is None else 1
        oov = flat % self.num_oov_indices + first_oov if self.num_oov_indices > 1 else \
            jg.zeros_like(flat) + first_oov
        idx = jg.where(found, hit, oov)
        if self.mask_token is not None:
            idx = jg.where(flat == int(self.mask_token), jg.zeros_like(idx), idx)
        idx = jg.reshape(idx, dims)
        return encode(idx, self.output_mode, self.vocabulary_size(), self._dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "max_tokens": self.max_tokens,
                "num_oov_indices": self.num_oov_indices, "mask_token": self.mask_token,
                "oov_token": self.oov_token, "vocabulary": self.get_vocabulary(False),
                "vocabulary_dtype": self.vocabulary_dtype, "invert": self.invert,
                "output_mode": self.output_mode}


LAYERS = [CategoryEncoding, Discretization, IntegerLookup]

__all__ = [c.__name__ for c in LAYERS]

from . import layers as _layers  # noqa: E402 - layers.py imports this module at its end

_layers.TABLE.update({c.__name__: c for c in LAYERS})  # found by name on loading
