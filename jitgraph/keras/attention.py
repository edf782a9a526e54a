"""Attention layers: MultiHeadAttention, Attention (dot-product) and AdditiveAttention, with
Keras' arguments, weight names and shapes, masking rule and numerics.

MultiHeadAttention keeps its projections as EinsumDense-shaped weights (``query/kernel`` of
shape ``(d_model, num_heads, key_dim)``, ``attention_output/kernel`` of shape ``(num_heads,
value_dim, d_model)``), so weights copied from tf.keras give the same outputs.

>>> mha = jg.keras.layers.MultiHeadAttention(num_heads=2, key_dim=4)
>>> mha(x, x).shape            # self-attention: x of shape (batch, seq, features)
"""

import math

import numpy as np

import jitgraph as jg

from . import constraints, initializers, regularizers, serialization
from .base_layer import Layer
from .masking import as_bool, get_mask, set_mask

_LARGE_NEGATIVE = -1e9  # Keras' masked-score value for float32 and float64


def _ser(obj):
    return serialization.serialize(obj)


def _as_tensor(x, dtype):
    if isinstance(x, jg.Variable):
        x = x.value()
    x = x if jg.is_tensor(x) else jg.constant(np.asarray(x))
    return x if x.dtype == dtype or not x.dtype.is_floating else jg.cast(x, dtype)


def _dropout(x, rate, seed):
    shape = tuple(x.shape)
    keep = jg.random.uniform(jg.shape(x) if None in shape else shape, dtype=x.dtype,
                             seed=seed) >= rate
    return jg.where(keep, x / (1.0 - rate), jg.zeros_like(x))


def _as_bool_mask(mask):
    mask = mask if jg.is_tensor(mask) else jg.constant(np.asarray(mask))
    if mask.dtype == jg.bool:
        return mask
    return mask > jg.cast(0.5, mask.dtype) if mask.dtype.is_floating else mask > 0


def _masked_softmax(scores, mask):
    """Softmax over the last axis; positions where ``mask`` is False get weight 0 (a row with
    every position masked gets all zeros, as in Keras)."""
    if mask is None:
        return jg.nn.softmax(scores, axis=-1)
    scores = jg.where(mask, scores, jg.cast(_LARGE_NEGATIVE, scores.dtype))
    return jg.where(mask, jg.nn.softmax(scores, axis=-1), jg.zeros_like(scores))


def _causal_mask(t, s):
    """(1, T, S): position i of the query attends to positions j <= i of the value."""
    return jg.constant(np.tril(np.ones((t, s), bool))[None])


def _prod(dims):
    return int(np.prod(dims, dtype=np.int64)) if dims else 1


class MultiHeadAttention(Layer):
    """Multi-head scaled dot-product attention (Vaswani et al.), as tf.keras's layer.

    ``call(query, value, key=None, attention_mask=None, return_attention_scores=False,
    training=None, use_causal_mask=False)``: ``query`` is ``(batch, T..., dim)``, ``value``
    and ``key`` are ``(batch, S..., dim)``; ``attention_mask`` (boolean, ``(batch, T, S)``)
    says which value positions each query position may attend to. The output has the
    query's shape with the last axis ``output_shape`` (the query's last dim by default);
    the scores are ``(batch, num_heads, T..., S...)``.

    Only ``attention_axes=None`` (attend over every axis between batch and features) is
    supported.
    """

    def __init__(self, num_heads, key_dim, value_dim=None, dropout=0.0, use_bias=True,
                 output_shape=None, attention_axes=None, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, bias_constraint=None,
                 seed=None, **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        for arg, val in (("num_heads", num_heads), ("key_dim", key_dim)):
            if not isinstance(val, (int, np.integer)) or isinstance(val, bool) or val <= 0:
                raise ValueError(f"MultiHeadAttention: {arg} must be a positive integer, "
                                 f"got {arg}={val!r}")
        if value_dim is not None and (not isinstance(value_dim, (int, np.integer))
                                      or value_dim <= 0):
            raise ValueError(f"MultiHeadAttention: value_dim must be a positive integer or "
                             f"None, got value_dim={value_dim!r}")
        if not 0.0 <= float(dropout) < 1.0:
            raise ValueError(f"MultiHeadAttention: dropout must be in [0, 1), got {dropout!r}")
        if attention_axes is not None:
            raise NotImplementedError(
                f"MultiHeadAttention: attention_axes={attention_axes!r} is not supported; "
                "only attention_axes=None (attend over every axis between the batch and the "
                "features) is. Move the axes to attend over next to each other and reshape "
                "them into one")
        self.num_heads, self.key_dim = int(num_heads), int(key_dim)
        self.value_dim = int(value_dim) if value_dim else self.key_dim
        self.dropout, self.use_bias, self.seed = float(dropout), bool(use_bias), seed
        if isinstance(output_shape, (int, np.integer)):
            output_shape = (int(output_shape),)
        self._out_shape = tuple(int(d) for d in output_shape) if output_shape else None
        self.attention_axes = None
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self._projections_built = False

    # -- building
    def build(self, query_shape, value_shape=None, key_shape=None):
        """Creates the weights from the shapes of query, value (and key). Called by the
        layer's first call; with only the query's shape it waits for that call."""
        if value_shape is None or self._projections_built:
            return
        query_shape, value_shape = tuple(query_shape), tuple(value_shape)
        key_shape = value_shape if key_shape is None else tuple(key_shape)
        self._check_shapes(query_shape, value_shape, key_shape)
        n, kd, vd = self.num_heads, self.key_dim, self.value_dim
        out = self._out_shape or (query_shape[-1],)
        self._query_dim = query_shape[-1]
        self._value_dims = (value_shape[-1], key_shape[-1])
        with jg.init_scope():
            for name, dim, head in (("query", query_shape[-1], kd), ("key", key_shape[-1], kd),
                                    ("value", value_shape[-1], vd)):
                kernel = self._weight(f"{name}/kernel", (dim, n, head), kernel=True)
                bias = self._weight(f"{name}/bias", (n, head), kernel=False) \
                    if self.use_bias else None
                setattr(self, f"_{name}_kernel", kernel)
                setattr(self, f"_{name}_bias", bias)
            self._output_kernel = self._weight("attention_output/kernel", (n, vd) + out,
                                               kernel=True)
            self._output_bias = self._weight("attention_output/bias", out, kernel=False) \
                if self.use_bias else None
        self._projections_built = True
        self.built = True

    def _weight(self, name, shape, kernel):
        kind = "kernel" if kernel else "bias"
        return self.add_weight(name, shape,
                               initializer=getattr(self, f"{kind}_initializer"),
                               regularizer=getattr(self, f"{kind}_regularizer"),
                               constraint=getattr(self, f"{kind}_constraint"))

    def _check_shapes(self, query_shape, value_shape, key_shape):
        where = f"{type(self).__name__} layer {self.name!r}"
        for arg, shape in (("query", query_shape), ("value", value_shape), ("key", key_shape)):
            if len(shape) < 3:
                raise ValueError(
                    f"{where}: {arg} must have rank 3 or more, (batch, sequence..., "
                    f"features), got shape {shape}; add a sequence axis, e.g. "
                    f"jg.expand_dims({arg}, 1) for a single position")
            if shape[-1] is None:
                raise ValueError(f"{where}: the last (feature) dimension of {arg} must be "
                                 f"known, got shape {shape}")
        if len(query_shape) != len(value_shape):
            raise ValueError(f"{where}: query and value must have the same rank, got query "
                             f"shape {query_shape} and value shape {value_shape}")
        if tuple(value_shape[1:-1]) != tuple(key_shape[1:-1]):
            raise ValueError(f"{where}: value and key must agree on every dimension but the "
                             f"last, got value shape {value_shape} and key shape {key_shape}; "
                             "pass a key with the value's sequence length")

    # -- calling
    supports_masking = True

    def _inputs(self, query, value, key, attention_mask, use_causal_mask, query_mask,
                value_mask, key_mask):
        """query, key, value as tensors (the layer built on first use, their last dims
        checked), the query's and value's position dims, the joined attention mask (or
        None) and the query's Keras mask."""
        if query_mask is None:
            query_mask = get_mask(query)
        q = _as_tensor(query, self._dtype)
        v = _as_tensor(value, self._dtype)
        k = v if key is None else _as_tensor(key, self._dtype)
        if not self._projections_built:
            self.build(q.shape, v.shape, k.shape)
        self._check_shapes(tuple(q.shape), tuple(v.shape), tuple(k.shape))
        for arg, t, want in (("query", q, self._query_dim), ("value", v, self._value_dims[0]),
                             ("key", k, self._value_dims[1])):
            if t.shape[-1] != want:
                raise ValueError(f"{type(self).__name__} layer {self.name!r}: it was built for "
                                 f"{arg} with last dimension {want}, got {arg} of shape "
                                 f"{tuple(t.shape)}; create a new layer for other sizes")
        t_dims, s_dims = tuple(q.shape)[1:-1], tuple(v.shape)[1:-1]
        attention_mask = self._with_input_masks(attention_mask, query_mask, value_mask,
                                                key_mask, q, v)
        mask = self._attention_mask(attention_mask, use_causal_mask, t_dims, s_dims)
        return q, k, v, t_dims, s_dims, mask, query_mask

    def call(self, query, value, key=None, attention_mask=None, return_attention_scores=False,
             training=None, use_causal_mask=False, query_mask=None, value_mask=None,
             key_mask=None):
        """The Keras masks of query, value and key (attached by Embedding(mask_zero=True),
        Masking, ..., or given as ``*_mask``) join ``attention_mask``: query position t may
        attend to value position s where both are unmasked; the output carries the query's
        mask."""
        q, k, v, t_dims, s_dims, mask, query_mask = self._inputs(
            query, value, key, attention_mask, use_causal_mask, query_mask, value_mask,
            key_mask)
        q, k, v = (self._flatten_positions(x, dims) for x, dims in
                   ((q, t_dims), (k, s_dims), (v, s_dims)))
        qp = self._project(q, self._query_kernel, self._query_bias)  # (batch, heads, T, kd)
        kp = self._project(k, self._key_kernel, self._key_bias)
        vp = self._project(v, self._value_kernel, self._value_bias)
        qp = qp * jg.cast(1.0 / math.sqrt(float(self.key_dim)), qp.dtype)
        scores = jg.matmul(qp, kp, transpose_b=True)  # (batch, heads, T, S)
        probs = _masked_softmax(scores, mask)
        used = _dropout(probs, self.dropout, self.seed) if training and self.dropout else probs
        context = jg.matmul(used, vp)  # (batch, heads, T, vd)
        out_shape = self._out_shape or (self._query_dim,)
        kernel = jg.reshape(self._output_kernel, (self.num_heads, self.value_dim, -1))
        out = jg.reduce_sum(jg.matmul(context, kernel), axis=1)  # sum over the heads
        if self._output_bias is not None:
            out = out + jg.reshape(self._output_bias, (-1,))
        if len(t_dims) != 1 or len(out_shape) != 1:
            if None in t_dims:
                raise ValueError(
                    f"{type(self).__name__} layer {self.name!r}: output_shape={out_shape} with "
                    "more than one dimension needs a known query length, got query shape "
                    f"{tuple(query.shape)}; give the sequence length in the input shape")
            out = jg.reshape(out, (-1,) + t_dims + out_shape)
        if query_mask is not None:
            set_mask(out, as_bool(query_mask))
        if return_attention_scores:
            if len(t_dims) != 1 or len(s_dims) != 1:
                probs = jg.reshape(probs, (-1, self.num_heads) + t_dims + s_dims)
            return out, probs
        return out

    def _flatten_positions(self, x, dims):
        if len(dims) == 1:
            return x
        if None in dims:
            raise ValueError(f"{type(self).__name__} layer {self.name!r}: with inputs of rank "
                             f"above 3 the dimensions between batch and features must be "
                             f"known, got shape {tuple(x.shape)}")
        return jg.reshape(x, (-1, _prod(dims), x.shape[-1]))

    @staticmethod
    def _project(x, kernel, bias):
        """(batch, T, d) -> (batch, heads, T, head_dim) with an EinsumDense-shaped kernel
        (d, heads, head_dim), one matmul per head by broadcasting (no reshape of the batch
        and sequence axes, which may both be unknown)."""
        y = jg.matmul(jg.expand_dims(x, 1), jg.transpose(kernel, (1, 0, 2)))
        return y if bias is None else y + jg.expand_dims(bias, 1)

    def _with_input_masks(self, attention_mask, query_mask, value_mask, key_mask, q, v):
        """``attention_mask & query_mask[:, :, None] & value_mask[:, None, :] & key_mask[:,
        None, :]`` (Keras' rule), each mask checked against its input's positions."""
        auto = None
        for arg, m, x, axis in (("query", query_mask, q, -1), ("value", value_mask, v, -2),
                                ("key", key_mask, v, -2)):
            if m is None:
                continue
            m = as_bool(m)
            want = tuple(x.shape)[:-1]
            got = tuple(m.shape)
            if len(got) != 2 or len(want) != 2 or any(
                    a is not None and b is not None and a != b for a, b in zip(got, want)):
                raise ValueError(
                    f"{type(self).__name__} layer {self.name!r}: the {arg} mask has shape {got} "
                    f"but {arg} has shape {tuple(x.shape)}; a {arg} mask must have shape "
                    f"(batch, positions) = {want} (inputs of rank 3; for more position axes "
                    "pass attention_mask instead)")
            m = jg.expand_dims(m, axis)
            auto = m if auto is None else jg.logical_and(auto, m)
        if auto is None:
            return attention_mask
        if attention_mask is None:
            return auto
        return jg.logical_and(_as_bool_mask(attention_mask), auto)

    def _attention_mask(self, attention_mask, use_causal_mask, t_dims, s_dims):
        mask = None
        if attention_mask is not None:
            mask = _as_bool_mask(attention_mask)
            want = t_dims + s_dims
            got = tuple(mask.shape)
            if len(got) < len(want) or any(
                    g is not None and w is not None and g not in (1, w)
                    for g, w in zip(got[::-1], want[::-1])):
                raise ValueError(
                    f"{type(self).__name__} layer {self.name!r}: attention_mask must have shape "
                    f"(batch, T, S) = (batch,) + {want} for query positions {t_dims} and "
                    f"value positions {s_dims}, got attention_mask of shape {got}")
            if len(t_dims) != 1 or len(s_dims) != 1:
                lead = got[:len(got) - len(want)]
                mask = jg.reshape(jg.broadcast_to(mask, lead + want),
                                  lead + (_prod(t_dims), _prod(s_dims)))
        if use_causal_mask:
            if len(t_dims) != 1 or None in t_dims + s_dims:
                raise ValueError(f"{type(self).__name__} layer {self.name!r}: use_causal_mask "
                                 "needs query and value of rank 3 with known sequence "
                                 f"lengths, got positions {t_dims} and {s_dims}")
            causal = _causal_mask(t_dims[0], s_dims[0])
            mask = causal if mask is None else jg.logical_and(mask, causal)
        if mask is not None and len(mask.shape) == 3:
            mask = jg.expand_dims(mask, 1)  # one mask for every head
        return mask

    def compute_output_shape(self, query_shape, value_shape=None, key_shape=None):
        query_shape = tuple(query_shape)
        return jg.TensorShape(query_shape[:-1] + (self._out_shape or query_shape[-1:]))

    def get_config(self):
        return {**super().get_config(), "num_heads": self.num_heads, "key_dim": self.key_dim,
                "value_dim": self.value_dim, "dropout": self.dropout,
                "use_bias": self.use_bias,
                "output_shape": list(self._out_shape) if self._out_shape else None,
                "attention_axes": None, "seed": self.seed,
                "kernel_initializer": _ser(self.kernel_initializer),
                "bias_initializer": _ser(self.bias_initializer),
                "kernel_regularizer": _ser(self.kernel_regularizer),
                "bias_regularizer": _ser(self.bias_regularizer),
                "activity_regularizer": _ser(self.activity_regularizer),
                "kernel_constraint": _ser(self.kernel_constraint),
                "bias_constraint": _ser(self.bias_constraint)}


class Attention(Layer):
    """Dot-product (Luong) attention: ``call([query, value])`` or ``call([query, value,
    key])``, ``softmax(query @ key^T * scale) @ value``. ``use_scale=True`` learns the scalar
    ``scale`` (starting at 1); ``score_mode="concat"`` scores with ``sum(tanh(query +
    key))`` instead. ``mask=[query_mask, value_mask]`` (booleans over the positions) hides
    value positions and zeroes masked query positions of the output."""

    _default_score_mode = "dot"

    def __init__(self, use_scale=False, score_mode="dot", dropout=0.0, seed=None, **kwargs):
        super().__init__(**kwargs)
        if score_mode not in ("dot", "concat"):
            raise ValueError(f"{type(self).__name__}: score_mode must be 'dot' or 'concat', "
                             f"got {score_mode!r}")
        if not 0.0 <= float(dropout) < 1.0:
            raise ValueError(f"{type(self).__name__}: dropout must be in [0, 1), got "
                             f"{dropout!r}")
        self.use_scale, self.score_mode = bool(use_scale), score_mode
        self.dropout, self.seed = float(dropout), seed

    def _inputs(self, inputs):
        if not isinstance(inputs, (list, tuple)) or not 2 <= len(inputs) <= 3:
            got = f"a list of {len(inputs)}" if isinstance(inputs, (list, tuple)) \
                else f"one input of shape {tuple(getattr(inputs, 'shape', ()))}"
            raise ValueError(f"{type(self).__name__} layer {self.name!r} must be called on a "
                             f"list [query, value] or [query, value, key], got {got}")
        return list(inputs)

    def build(self, input_shape):
        shapes = [tuple(s) for s in self._inputs(input_shape)]
        self._check(shapes)
        self.scale = self.add_weight("scale", (), initializer="ones") if self.use_scale \
            else None
        self.concat_score_weight = self.add_weight("concat_score_weight", (),
                                                   initializer="ones") \
            if self.score_mode == "concat" else None

    def _check(self, shapes):
        q, v = shapes[0], shapes[1]
        k = shapes[2] if len(shapes) > 2 else v
        where = f"{type(self).__name__} layer {self.name!r}"
        for arg, s in (("query", q), ("value", v), ("key", k)):
            if len(s) != 3:
                raise ValueError(f"{where}: {arg} must have rank 3 (batch, positions, "
                                 f"features), got shape {s}")
        if q[-1] != k[-1]:
            raise ValueError(f"{where}: query and key must have the same last dimension, got "
                             f"query shape {q} and key shape {k}; project one of them with a "
                             "Dense layer first")
        if v[1] is not None and k[1] is not None and v[1] != k[1]:
            raise ValueError(f"{where}: value and key must have the same number of "
                             f"positions, got value shape {v} and key shape {k}")

    def _scores(self, q, k):
        if self.score_mode == "dot":
            scores = jg.matmul(q, k, transpose_b=True)
            return scores * self.scale if self.scale is not None else scores
        summed = jg.expand_dims(q, -2) + jg.expand_dims(k, -3)
        if self.scale is not None:
            summed = self.scale * summed
        return self.concat_score_weight * jg.reduce_sum(jg.tanh(summed), axis=-1)

    def call(self, inputs, mask=None, training=None, return_attention_scores=False,
             use_causal_mask=False):
        parts = [_as_tensor(x, self._dtype) for x in self._inputs(inputs)]
        self._check([tuple(p.shape) for p in parts])
        q, v = parts[0], parts[1]
        k = parts[2] if len(parts) > 2 else v
        if mask is not None and (not isinstance(mask, (list, tuple)) or len(mask) < 2):
            raise ValueError(f"{type(self).__name__} layer {self.name!r}: mask must be a "
                             f"list [query_mask, value_mask], got {mask!r}")
        q_mask, v_mask = (mask[0], mask[1]) if mask is not None else (None, None)
        scores = self._scores(q, k)
        score_mask = None if v_mask is None else jg.expand_dims(_as_bool_mask(v_mask), -2)
        if use_causal_mask:
            t, s = tuple(scores.shape)[-2:]
            causal = _causal_mask(t, s)
            score_mask = causal if score_mask is None else jg.logical_and(score_mask, causal)
        if score_mask is not None:
            scores = jg.where(score_mask, scores, scores - 1e9)
        weights = jg.nn.softmax(scores, axis=-1)
        used = _dropout(weights, self.dropout, self.seed) if training and self.dropout \
            else weights
        out = jg.matmul(used, v)
        if q_mask is not None:
            out = jg.where(jg.expand_dims(_as_bool_mask(q_mask), -1), out, jg.zeros_like(out))
        return (out, weights) if return_attention_scores else out

    def compute_output_shape(self, input_shape):
        shapes = [tuple(s) for s in self._inputs(input_shape)]
        return jg.TensorShape(shapes[0][:-1] + shapes[1][-1:])

    def compute_mask(self, inputs, mask=None):
        """The output keeps the query's mask."""
        if mask is None or mask[0] is None:
            return None
        return as_bool(mask[0])

    def get_config(self):
        return {**super().get_config(), "use_scale": self.use_scale,
                "score_mode": self.score_mode, "dropout": self.dropout, "seed": self.seed}


class AdditiveAttention(Attention):
    """Additive (Bahdanau) attention: scores ``sum(scale * tanh(query + key))`` with a
    learned per-feature ``scale`` (``use_scale=True``, the default)."""

    def __init__(self, use_scale=True, dropout=0.0, **kwargs):
        kwargs.pop("score_mode", None)
        super().__init__(use_scale=use_scale, dropout=dropout, **kwargs)

    def build(self, input_shape):
        shapes = [tuple(s) for s in self._inputs(input_shape)]
        self._check(shapes)
        self.scale = self.add_weight("scale", (shapes[0][-1],)) if self.use_scale else None
        self.concat_score_weight = None

    def _scores(self, q, k):
        t = jg.tanh(jg.expand_dims(q, -2) + jg.expand_dims(k, -3))
        return jg.reduce_sum(self.scale * t if self.scale is not None else t, axis=-1)

    def get_config(self):
        cfg = super().get_config()
        cfg.pop("score_mode", None)
        return cfg


LAYERS = [MultiHeadAttention, Attention, AdditiveAttention]

__all__ = ["MultiHeadAttention", "Attention", "AdditiveAttention"]
