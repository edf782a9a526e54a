"""Keras masks: which steps of a padded batch of sequences are data (True) and which are
padding (False), carried from layer to layer as Keras does.

A layer's output tensor carries its mask as ``t._keras_mask`` (a bool tensor, usually
(batch, timesteps); eager tensors and the symbolic tensors of a trace alike, so masks work
in ``fit`` and ``jg.function``). ``Layer.__call__`` does the rest, with Keras 3's rules:

- before ``call``: when ``call`` has a ``mask`` argument and the layer gets one tensor
  argument (a tensor or a list of them), the masks of that argument are passed as ``mask``
  (a list for a list); with several tensor arguments each ``x`` passes its mask as
  ``x_mask`` where ``call`` has that argument (MultiHeadAttention's ``query_mask``,
  ``value_mask``, ``key_mask``);
- after ``call``: a layer with ``supports_masking`` (True for layers overriding
  ``compute_mask``, and for the layers that keep the sequence axis: Dense, Dropout,
  Activation, the normalizations, merges, TimeDistributed, the recurrent layers...)
  attaches ``compute_mask(inputs, previous_mask)`` to outputs that have no mask yet; a layer
  without it (Flatten, Conv1D, GlobalMaxPooling1D...) drops the mask with a warning.

Masks are made by ``Masking(mask_value)`` and ``Embedding(mask_zero=True)`` and consumed by
the recurrent layers, ``GlobalAveragePooling1D``, the attention layers and, on a model's
output, by compiled losses and metrics (masked steps get weight 0).

>>> x = jg.keras.layers.Embedding(100, 8, mask_zero=True)(jg.constant([[5, 3, 0, 0]]))
>>> x._keras_mask   # [[True, True, False, False]]
"""

import functools
import inspect
import warnings

import jitgraph as jg

from .base_layer import Layer, flatten, map_structure


def get_mask(x):
    """The mask attached to ``x`` (None if it has none)."""
    return getattr(x, "_keras_mask", None)


def set_mask(x, mask):
    """Attaches ``mask`` to ``x`` (no-op for values that cannot carry one, e.g. Variables)."""
    try:
        x._keras_mask = mask
    except AttributeError:
        pass


def masks_of(x):
    """The mask of ``x``, or the masks of a list of tensors (None when none has one)."""
    if isinstance(x, (list, tuple, dict)):
        masks = map_structure(get_mask, x)
        return masks if any(m is not None for m in flatten(masks)) else None
    return getattr(x, "_keras_mask", None)


def as_bool(mask):
    """A mask as a bool tensor (nonzero numbers are True, as Keras casts them)."""
    mask = mask if jg.is_tensor(mask) else jg.convert_to_tensor(mask)
    return mask if mask.dtype == jg.bool else jg.not_equal(mask, jg.zeros((), mask.dtype))


def _shape_text(shape):
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + ")"


def check_mask(layer, mask, x, what="(batch, timesteps)"):
    """``mask`` as bool, after checking that it matches the leading dims of ``x``; the error
    names both shapes."""
    mask = as_bool(mask)
    ms, xs = tuple(mask.shape), tuple(x.shape)
    n = len(ms)
    ok = n <= len(xs) and all(a is None or b is None or a == b for a, b in zip(ms, xs[:n]))
    if not ok or n != len(what.split(",")):
        raise ValueError(
            f"{type(layer).__name__} layer {layer.name!r}: the mask has shape "
            f"{_shape_text(ms)} but the input has shape {_shape_text(xs)}; the mask must "
            f"have shape {what} = {_shape_text(xs[:len(what.split(','))])}, one entry per "
            "step of each sample (Embedding(mask_zero=True) and Masking make such masks)")
    return mask


# ----------------------------------------------------------------------------- the call hooks
class _CallInfo:
    """What ``Layer.__call__`` needs to know about a ``call`` signature, found once per
    class."""

    def __init__(self, call):
        try:
            params = inspect.signature(call).parameters
        except (TypeError, ValueError):
            params = {}
        names = [n for n, p in params.items()
                 if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
        self.names = names[1:] if names[:1] == ["self"] else names
        self.mask = "mask" in self.names
        self.named_masks = {n: f"{n}_mask" for n in self.names if f"{n}_mask" in self.names}
        self.any = self.mask or bool(self.named_masks)


@functools.lru_cache(maxsize=None)
def _info(call):
    return _CallInfo(call)


def _is_tensor_arg(v):
    if jg.is_tensor(v) or hasattr(v, "_keras_history"):
        return True
    if isinstance(v, (list, tuple)) and v:
        return all(x is None or jg.is_tensor(x) for x in flatten(v))
    return False


def before_call(layer, inputs, args, kwargs):
    """Fills ``mask`` / ``x_mask`` arguments from the inputs' masks (Keras' rule); returns
    the previous mask: the one passed as ``mask``, else the first argument's."""
    info = _info(type(layer).call)
    if info.any:
        named = dict(zip(info.names, [inputs, *args]))
        named.update((k, v) for k, v in kwargs.items() if k in info.names)
        tensors = {k: v for k, v in named.items()
                   if k != "mask" and not k.endswith("_mask") and _is_tensor_arg(v)}
        if len(tensors) <= 1 and info.mask and named.get("mask") is None:
            mask = masks_of(inputs)
            if mask is not None:
                kwargs["mask"] = mask
        elif len(tensors) > 1:
            for k, v in tensors.items():
                key = info.named_masks.get(k)
                if key and named.get(key) is None:
                    mask = masks_of(v)
                    if mask is not None:
                        kwargs[key] = mask
        if kwargs.get("mask") is not None:
            return kwargs["mask"]
    return masks_of(inputs)


def after_call(layer, inputs, outputs, previous_mask):
    """Attaches ``layer.compute_mask(inputs, previous_mask)`` to outputs that have no mask;
    warns when a layer that does not support masking drops one."""
    if previous_mask is None and type(layer).compute_mask is Layer.compute_mask:
        return  # the common case: no mask in, and the default rule passes None on
    if layer.supports_masking:
        outs = flatten(outputs)
        if all(get_mask(o) is not None for o in outs):
            return
        masks = layer.compute_mask(inputs, previous_mask)
        if masks is None:
            return
        for o, m in zip(outs, flatten(masks)):
            if m is not None and get_mask(o) is None and jg.is_tensor(o):
                set_mask(o, m)
    elif previous_mask is not None:
        warnings.warn(f"Layer {layer.name!r} (of type {type(layer).__name__}) was passed an "
                      "input with a mask attached to it. However, this layer does not "
                      "support masking and will therefore destroy the mask information. "
                      "Downstream layers will not see the mask.", stacklevel=3)


# ----------------------------------------------------------------------------- merging masks
def merge_masks(layer, inputs, mask):
    """Elementwise merges (Add, Subtract, Average, ...): Keras' rule, a step is valid where
    any input's is, and the output has no mask unless every input has one."""
    if mask is None:
        return None
    if not isinstance(mask, (list, tuple)) or not isinstance(inputs, (list, tuple)) \
            or len(mask) != len(inputs):
        raise ValueError(f"{type(layer).__name__} layer {layer.name!r}: the mask must be a "
                         f"list with one entry per input, got {mask!r}")
    if any(m is None for m in mask):
        return None
    out = as_bool(mask[0])
    for m in mask[1:]:
        out = jg.logical_or(out, as_bool(m))
    return out


def _full(m, x):
    """A (batch, steps) mask broadcast over the features of x."""
    m = as_bool(m)
    while len(m.shape) < len(x.shape):
        m = jg.expand_dims(m, -1)
    return jg.logical_or(m, jg.zeros_like(x) != jg.zeros_like(x))


def masked_extremum(op, inputs):
    """Maximum / Minimum as Keras: a masked element takes the other operand's value (there
    is no identity element); the output mask is the OR of the masks when all have one."""
    out, out_mask = None, None
    for x in inputs:
        m = get_mask(x)
        m = None if m is None else _full(m, x)
        if out is None:
            out, out_mask = x, m
            continue
        if m is not None:
            x = jg.where(m, x, out)
        if out_mask is not None:
            out = jg.where(out_mask, out, x)
        out_mask = jg.logical_or(out_mask, m) if m is not None and out_mask is not None \
            else None
        out = op(out, x)
    if out_mask is not None:
        out = jg.identity(out)
        set_mask(out, jg.reduce_any(out_mask, axis=-1))
    return out


def masked_product(inputs):
    """Multiply as Keras: masked elements count as 1, and when every input has a mask the
    output is 0 outside the OR of the masks (which it carries)."""
    masks = [get_mask(x) for x in inputs]
    all_masked = all(m is not None for m in masks)
    out, out_mask = None, None
    for x, m in zip(inputs, masks, strict=True):
        if m is not None:
            m = _full(m, x)
            x = jg.where(m, x, jg.ones_like(x))
            if all_masked:
                out_mask = m if out_mask is None else jg.logical_or(out_mask, m)
        out = x if out is None else out * x
    if all_masked:
        out = jg.where(out_mask, out, jg.zeros_like(out))
        set_mask(out, jg.reduce_any(out_mask, axis=-1))
    return out


def concat_masks(layer, inputs, mask):
    """Concatenate: each input's mask (all True where it has none) broadcast to the input's
    rank, concatenated on the layer's axis, then ``any`` over the last axis (Keras)."""
    if mask is None or all(m is None for m in mask):
        return None
    parts = [jg.zeros_like(x) == jg.zeros_like(x) if m is None else _full(m, x)
             for x, m in zip(inputs, mask, strict=True)]
    return jg.reduce_any(jg.concat(parts, axis=layer.axis), axis=-1)


# ----------------------------------------------------------------------------- losses, metrics
def mask_weights(sample_weight, mask, dtype, reduction):
    """Keras' ``apply_mask``: the mask of a model's output as sample weights. For a mean
    reduction valid entries weigh ``total / valid``, so the mean runs over valid entries."""
    if mask is None:
        return sample_weight
    mask = as_bool(mask)
    if reduction in ("auto", "sum_over_batch_size", "mean"):
        total = jg.cast(jg.size(mask), dtype)
        valid = jg.reduce_sum(jg.cast(mask, dtype))
        weight = jg.where(valid > 0, total / jg.maximum(valid, jg.ones((), dtype)),
                          jg.zeros((), dtype))  # divide_no_nan: a fully masked batch weighs 0
        float_mask = jg.cast(mask, dtype) * weight
    else:
        float_mask = jg.cast(mask, dtype)
    if sample_weight is None:
        return float_mask
    sw = sample_weight if jg.is_tensor(sample_weight) else jg.constant(sample_weight)
    sw = jg.cast(sw, dtype)
    float_mask, sw = _same_rank(float_mask, sw)
    while len(sw.shape) < len(float_mask.shape):  # per-sample weights: one per batch row
        sw = jg.expand_dims(sw, -1)
    return sw * float_mask


def _same_rank(a, b):
    """Keras' squeeze_or_expand_to_same_rank: a trailing axis of size 1 is dropped (or one
    added to a rank-1 tensor) when the ranks differ by one."""
    ra, rb = len(a.shape), len(b.shape)
    if ra == rb + 1 and a.shape[-1] == 1:
        return (a, jg.expand_dims(b, -1)) if rb == 1 else (jg.squeeze(a, -1), b)
    if rb == ra + 1 and b.shape[-1] == 1:
        return (jg.expand_dims(a, -1), b) if ra == 1 else (a, jg.squeeze(b, -1))
    return a, b


# ----------------------------------------------------------------------------- the layer
class Masking(Layer):
    """Masks the steps whose features all equal ``mask_value``: the output is the input with
    those steps zeroed, carrying the mask ``any(inputs != mask_value, axis=-1)``.

    >>> x = jg.keras.layers.Masking(0.0)(padded)   # padded: (batch, timesteps, features)
    >>> y = jg.keras.layers.LSTM(8)(x)              # the padded steps are skipped
    """

    supports_masking = True

    def __init__(self, mask_value=0.0, **kwargs):
        super().__init__(**kwargs)
        self.mask_value = float(mask_value)

    def compute_mask(self, inputs, mask=None):
        return jg.reduce_any(jg.not_equal(inputs, self.mask_value), axis=-1)

    def call(self, inputs):
        keep = jg.reduce_any(jg.not_equal(inputs, self.mask_value), axis=-1, keepdims=True)
        out = jg.where(keep, inputs, jg.zeros_like(inputs))
        set_mask(out, jg.squeeze(keep, -1))
        return out

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "mask_value": self.mask_value}


LAYERS = [Masking]

__all__ = ["Masking", "get_mask", "set_mask"]
