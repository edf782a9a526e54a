"""Grouped-query attention: ``GroupedQueryAttention`` (Keras' ``GroupQueryAttention``), with
Keras' arguments, weight names, shapes and order, so weights copied from tf.keras give the
same outputs.

``num_query_heads`` query heads share ``num_key_value_heads`` key/value heads: key/value head
j serves query heads ``j * r ... j * r + r - 1`` (``r = num_query_heads //
num_key_value_heads``, Keras' ``repeat`` along the heads); one key/value head is multi-query
attention, as many as the query heads is multi-head attention. Masks, the causal mask and
dropout follow MultiHeadAttention (attention.py), whose helpers this layer reuses.
``flash_attention`` only selects a kernel in Keras and gives the same numbers: it is accepted
and ignored here (with Keras' check that it excludes dropout). A query position that may
attend to nothing gets zero weights (Keras' result when it returns the scores; its fused
kernel, used when it does not, gives another value there).

>>> gqa = jg.keras.layers.GroupQueryAttention(head_dim=8, num_query_heads=4,
...                                          num_key_value_heads=2)
>>> gqa(x, x).shape      # x: (batch, seq, features) -> (batch, seq, features)
"""

import math

import numpy as np

import jitgraph as jg

from .attention import MultiHeadAttention, _dropout, _masked_softmax
from .masking import as_bool, set_mask


def _positive(value, arg):
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value <= 0:
        raise ValueError(f"GroupedQueryAttention: {arg} must be a positive integer, got "
                         f"{arg}={value!r}")
    return int(value)


class GroupedQueryAttention(MultiHeadAttention):
    """``GroupedQueryAttention(head_dim, num_query_heads, num_key_value_heads, dropout=0.0,
    use_bias=True, sliding_window=None, flash_attention=None, kernel_initializer=...,
    bias_initializer=..., ..., use_gate=False, seed=None)``.

    ``call(query, value, key=None, attention_mask=None, return_attention_scores=False,
    training=None, use_causal_mask=False)``: query ``(batch, T, dim)``, value and key
    ``(batch, S, dim_v)``; the output has the query's shape, the scores are ``(batch,
    num_query_heads, T, S)``. ``sliding_window=w`` lets position t attend to positions
    within ``w - 1`` of t; ``use_gate`` multiplies each head's output by
    ``sigmoid(query @ gate/kernel + gate/bias)``.
    """

    def __init__(self, head_dim, num_query_heads, num_key_value_heads, dropout=0.0,
                 use_bias=True, sliding_window=None, flash_attention=None,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, use_gate=False, seed=None,
                 **kwargs):
        heads = _positive(num_query_heads, "num_query_heads")
        kv_heads = _positive(num_key_value_heads, "num_key_value_heads")
        if heads % kv_heads:
            raise ValueError(f"GroupedQueryAttention: num_query_heads ({heads}) must be a "
                             f"multiple of num_key_value_heads ({kv_heads}): each key/value "
                             "head serves the same number of query heads")
        if sliding_window is not None:
            _positive(sliding_window, "sliding_window")
        if flash_attention and dropout:
            raise ValueError("GroupedQueryAttention: dropout is not supported with "
                             "flash_attention=True (as in Keras); set dropout=0.0 or "
                             "flash_attention=None")
        super().__init__(num_heads=heads, key_dim=_positive(head_dim, "head_dim"),
                         dropout=dropout, use_bias=use_bias,
                         kernel_initializer=kernel_initializer,
                         bias_initializer=bias_initializer,
                         kernel_regularizer=kernel_regularizer,
                         bias_regularizer=bias_regularizer,
                         activity_regularizer=activity_regularizer,
                         kernel_constraint=kernel_constraint, bias_constraint=bias_constraint,
                         seed=seed, **kwargs)
        self.head_dim, self.num_query_heads = int(head_dim), heads
        self.num_key_value_heads, self.num_repeats = kv_heads, heads // kv_heads
        self.sliding_window = None if sliding_window is None else int(sliding_window)
        self.flash_attention = flash_attention
        self.use_gate = bool(use_gate)
        self._gate_kernel = self._gate_bias = None

    # -- building
    def build(self, query_shape, value_shape=None, key_shape=None):
        """Weights in Keras' order: query, key, (gate), value, attention_output, each a
        kernel then a bias."""
        if value_shape is None or self._projections_built:
            return
        query_shape, value_shape = tuple(query_shape), tuple(value_shape)
        key_shape = value_shape if key_shape is None else tuple(key_shape)
        self._check_shapes(query_shape, value_shape, key_shape)
        u, v, h, m = self.num_query_heads, self.num_key_value_heads, self.head_dim, \
            query_shape[-1]
        self._query_dim = m
        self._value_dims = (value_shape[-1], key_shape[-1])
        plan = [("query", m, u), ("key", key_shape[-1], v)]
        plan += [("gate", m, u)] if self.use_gate else []
        plan += [("value", value_shape[-1], v)]
        with jg.init_scope():
            for name, dim, heads in plan:
                setattr(self, f"_{name}_kernel",
                        self._weight(f"{name}/kernel", (dim, heads, h), kernel=True))
                setattr(self, f"_{name}_bias", self._weight(f"{name}/bias", (heads, h),
                                                            kernel=False)
                        if self.use_bias else None)
            self._output_kernel = self._weight("attention_output/kernel", (u, h, m),
                                               kernel=True)
            self._output_bias = self._weight("attention_output/bias", (m,), kernel=False) \
                if self.use_bias else None
        self._projections_built = True
        self.built = True

    def _check_shapes(self, query_shape, value_shape, key_shape):
        for arg, shape in (("query", query_shape), ("value", value_shape), ("key", key_shape)):
            if len(shape) != 3:
                raise ValueError(
                    f"GroupedQueryAttention layer {self.name!r}: {arg} must have rank 3 "
                    f"(batch, positions, features), got shape {shape}; reshape the "
                    "positions into one axis (or use MultiHeadAttention for more position "
                    "axes)")
        super()._check_shapes(query_shape, value_shape, key_shape)

    # -- calling
    def call(self, query, value, key=None, attention_mask=None, return_attention_scores=False,
             training=None, use_causal_mask=False, query_mask=None, value_mask=None,
             key_mask=None):
        q, k, v, t_dims, s_dims, mask, query_mask = self._inputs(
            query, value, key, attention_mask, use_causal_mask, query_mask, value_mask,
            key_mask)
        if self.sliding_window is not None:
            band = self._band(t_dims[0], s_dims[0])
            mask = band if mask is None else jg.logical_and(mask, band)
        qp = self._project(q, self._query_kernel, self._query_bias)  # (batch, u, T, h)
        kp = jg.repeat(self._project(k, self._key_kernel, self._key_bias), self.num_repeats,
                       axis=1)  # (batch, v, S, h) -> (batch, u, S, h)
        vp = jg.repeat(self._project(v, self._value_kernel, self._value_bias),
                       self.num_repeats, axis=1)
        qp = qp * jg.cast(1.0 / math.sqrt(float(self.head_dim)), qp.dtype)
        scores = jg.matmul(qp, kp, transpose_b=True)  # (batch, u, T, S)
        probs = _masked_softmax(scores, mask)
        used = _dropout(probs, self.dropout, self.seed) if training and self.dropout else probs
        context = jg.matmul(used, vp)  # (batch, u, T, h)
        if self.use_gate:
            context = context * jg.sigmoid(self._project(q, self._gate_kernel,
                                                         self._gate_bias))
        out = jg.reduce_sum(jg.matmul(context, self._output_kernel), axis=1)  # over heads
        if self._output_bias is not None:
            out = out + self._output_bias
        if query_mask is not None:
            set_mask(out, as_bool(query_mask))
        return (out, probs) if return_attention_scores else out

    def _band(self, t, s):
        """(1, 1, T, S): |i - j| < sliding_window."""
        if t is None or s is None:
            raise ValueError(f"GroupedQueryAttention layer {self.name!r}: sliding_window "
                             "needs known query and value lengths, got lengths "
                             f"{t} and {s}; give the sequence lengths in the input shapes")
        i, j = np.arange(t)[:, None], np.arange(s)[None, :]
        return jg.constant((np.abs(i - j) < self.sliding_window)[None, None])

    def compute_output_shape(self, query_shape, value_shape=None, key_shape=None):
        return jg.TensorShape(tuple(query_shape))

    def get_config(self):
        cfg = super().get_config()
        for k in ("num_heads", "key_dim", "value_dim", "output_shape", "attention_axes"):
            cfg.pop(k, None)
        return {**cfg, "head_dim": self.head_dim, "num_query_heads": self.num_query_heads,
                "num_key_value_heads": self.num_key_value_heads,
                "sliding_window": self.sliding_window,
                "flash_attention": self.flash_attention, "use_gate": self.use_gate}


GroupQueryAttention = GroupedQueryAttention  # the name Keras exports

LAYERS = [GroupedQueryAttention]

__all__ = ["GroupedQueryAttention", "GroupQueryAttention"]

from . import layers as _layers  # noqa: E402 - layers.py imports this module at its end

_layers.TABLE.update(GroupedQueryAttention=GroupedQueryAttention,
                     GroupQueryAttention=GroupedQueryAttention)  # found by name on loading
