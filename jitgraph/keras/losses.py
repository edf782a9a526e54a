"""Losses: per-sample functions (``mean_squared_error``) and ``Loss`` classes that reduce them.

A ``Loss`` object's ``call(y_true, y_pred)`` returns per-sample (or per-element) losses;
``__call__`` applies the sample weights and the reduction: ``"sum_over_batch_size"`` (the
default, alias ``"auto"``: the sum divided by the number of elements), ``"sum"`` or
``"none"``. A mask on ``y_pred`` (a model output carrying ``_keras_mask``, see masking.py)
weighs masked entries 0, and the mean then runs over the unmasked entries (Keras'
``apply_mask``).

>>> mse = jg.keras.losses.MeanSquaredError()
>>> mse([0.0, 1.0], [1.0, 1.0])   # 0.5
"""

import jitgraph as jg

from . import serialization

EPSILON = 1e-7


class Reduction:
    AUTO = "auto"
    NONE = "none"
    SUM = "sum"
    SUM_OVER_BATCH_SIZE = "sum_over_batch_size"

    @classmethod
    def all(cls):
        return (cls.AUTO, cls.NONE, cls.SUM, cls.SUM_OVER_BATCH_SIZE)


def _tensor(x, dtype=None):
    if isinstance(x, jg.Variable):
        x = x.value()
    if not jg.is_tensor(x):
        x = jg.constant(x, dtype=dtype) if dtype is not None else jg.constant(x)
    if dtype is not None and x.dtype != dtype:
        x = jg.cast(x, dtype)
    return x


def prepare(y_true, y_pred):
    """Tensors of one dtype, with a trailing size-1 dim squeezed where the ranks differ by one
    (so targets of shape (n,) and predictions of shape (n, 1) do not broadcast to (n, n))."""
    y_pred = _tensor(y_pred)
    if not y_pred.dtype.is_floating:
        y_pred = jg.cast(y_pred, jg.float32)
    y_true = _tensor(y_true, y_pred.dtype)
    rt, rp = len(y_true.shape), len(y_pred.shape)
    if rp == rt + 1 and y_pred.shape[-1] == 1:
        y_pred = jg.squeeze(y_pred, axis=-1)
    elif rt == rp + 1 and y_true.shape[-1] == 1:
        y_true = jg.squeeze(y_true, axis=-1)
    return y_true, y_pred


def reduce_weighted(losses, sample_weight=None, reduction=Reduction.SUM_OVER_BATCH_SIZE,
                    mask=None):
    """Applies the mask and sample weights (broadcast from the batch axis) and the
    reduction."""
    if mask is not None:
        from .masking import mask_weights

        _check_mask_fits(mask, losses)
        sample_weight = mask_weights(sample_weight, mask, losses.dtype, reduction)
    if sample_weight is not None:
        sw = _tensor(sample_weight, losses.dtype)
        while len(sw.shape) > len(losses.shape) and sw.shape[-1] == 1:
            sw = jg.squeeze(sw, axis=-1)
        while len(sw.shape) < len(losses.shape):
            sw = jg.expand_dims(sw, -1)
        losses = losses * sw
    if reduction == Reduction.NONE:
        return losses
    total = jg.reduce_sum(losses)
    if reduction == Reduction.SUM:
        return total
    return total / jg.cast(jg.size(losses), losses.dtype)


def _check_mask_fits(mask, losses):
    ms, ls = tuple(mask.shape), tuple(losses.shape)
    while len(ms) > len(ls) and ms[-1] == 1:
        ms = ms[:-1]
    if len(ms) > len(ls) or any(a is not None and b is not None and a != b
                                for a, b in zip(ms, ls)):
        raise ValueError(f"loss: the mask of y_pred has shape {tuple(mask.shape)} but the "
                         f"per-sample losses have shape {ls}; the mask must cover the "
                         "leading axes of the losses (e.g. (batch, timesteps) for losses of "
                         "a sequence output); drop the mask of the model output if it does "
                         "not describe its steps")


def output_mask(y_pred):
    """The Keras mask attached to a model's output (None if it has none)."""
    return getattr(y_pred, "_keras_mask", None)


# --------------------------------------------------------------------- per-sample functions

def mean_squared_error(y_true, y_pred):
    """Mean over the last axis of the squared error, one value per sample."""
    y_true, y_pred = prepare(y_true, y_pred)
    return jg.reduce_mean(jg.square(y_pred - y_true), axis=-1)


def mean_absolute_error(y_true, y_pred):
    y_true, y_pred = prepare(y_true, y_pred)
    return jg.reduce_mean(jg.abs(y_pred - y_true), axis=-1)


def mean_absolute_percentage_error(y_true, y_pred):
    y_true, y_pred = prepare(y_true, y_pred)
    diff = jg.abs((y_true - y_pred) / jg.maximum(jg.abs(y_true), EPSILON))
    return 100.0 * jg.reduce_mean(diff, axis=-1)


def huber(y_true, y_pred, delta=1.0):
    y_true, y_pred = prepare(y_true, y_pred)
    err = jg.abs(y_pred - y_true)
    small = jg.minimum(err, delta)
    return jg.reduce_mean(0.5 * jg.square(small) + delta * (err - small), axis=-1)


def binary_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0):
    y_true, y_pred = prepare(y_true, y_pred)
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + 0.5 * label_smoothing
    if from_logits:  # log(1 + exp(-|z|)) form: stable for large |z|
        per = (jg.maximum(y_pred, 0.0) - y_pred * y_true
               + jg.log1p(jg.exp(-jg.abs(y_pred))))
    else:
        p = jg.clip_by_value(y_pred, EPSILON, 1.0 - EPSILON)
        per = -(y_true * jg.log(p) + (1.0 - y_true) * jg.log(1.0 - p))
    return jg.reduce_mean(per, axis=-1)


def categorical_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    y_pred = _tensor(y_pred)
    y_true = _tensor(y_true, y_pred.dtype)
    if label_smoothing:
        k = float(y_pred.shape[axis])
        y_true = y_true * (1.0 - label_smoothing) + label_smoothing / k
    if from_logits:
        return -jg.reduce_sum(y_true * jg.nn.log_softmax(y_pred, axis=axis), axis=axis)
    p = y_pred / jg.reduce_sum(y_pred, axis=axis, keepdims=True)
    p = jg.clip_by_value(p, EPSILON, 1.0 - EPSILON)
    return -jg.reduce_sum(y_true * jg.log(p), axis=axis)


def sparse_categorical_crossentropy(y_true, y_pred, from_logits=False, axis=-1):
    """Integer class labels (shape (n,) or (n, 1)) against scores of shape (n, classes)."""
    y_pred = _tensor(y_pred)
    labels = _tensor(y_true)
    if labels.dtype != jg.int32:
        labels = jg.cast(labels, jg.int32)
    if len(labels.shape) == len(y_pred.shape):
        labels = jg.squeeze(labels, axis=-1)
    if from_logits:
        return jg.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=y_pred)
    depth = y_pred.shape[axis]
    if depth is not None:  # a label outside [0, depth) would silently cost 0
        msg = (f"sparse_categorical_crossentropy: labels must be class indices in "
               f"[0, {depth}) for y_pred of shape {y_pred.shape.as_list()}")
        jg.debugging.assert_non_negative(labels, message=msg)
        jg.debugging.assert_less(labels, depth, message=msg)
    p = y_pred / jg.reduce_sum(y_pred, axis=axis, keepdims=True)
    p = jg.clip_by_value(p, EPSILON, 1.0 - EPSILON)
    onehot = jg.one_hot(labels, depth, dtype=y_pred.dtype)
    return -jg.reduce_sum(onehot * jg.log(p), axis=axis)


def hinge(y_true, y_pred):
    y_true, y_pred = prepare(y_true, y_pred)
    y_true = jg.where(y_true == 0.0, -1.0, y_true)  # 0/1 labels become -1/1
    return jg.reduce_mean(jg.maximum(1.0 - y_true * y_pred, 0.0), axis=-1)


def log_cosh(y_true, y_pred):
    y_true, y_pred = prepare(y_true, y_pred)
    x = y_pred - y_true
    return jg.reduce_mean(x + jg.softplus(-2.0 * x) - 0.6931471805599453, axis=-1)


def kl_divergence(y_true, y_pred):
    y_true, y_pred = prepare(y_true, y_pred)
    t = jg.clip_by_value(y_true, EPSILON, 1.0)
    p = jg.clip_by_value(y_pred, EPSILON, 1.0)
    return jg.reduce_sum(t * jg.log(t / p), axis=-1)


mse = MSE = mean_squared_error
mae = MAE = mean_absolute_error
mape = MAPE = mean_absolute_percentage_error
kld = KLD = kl_divergence
logcosh = log_cosh


# --------------------------------------------------------------------------- Loss classes

class Loss:
    """Base class of losses: subclasses implement ``call(y_true, y_pred)`` returning
    per-sample losses, and ``get_config`` for their hyperparameters.

    >>> class HuberLoss(jg.keras.losses.Loss):
    ...     def __init__(self, threshold=1.0, **kwargs):
    ...         self.threshold = threshold
    ...         super().__init__(**kwargs)
    ...     def call(self, y_true, y_pred): ...
    ...     def get_config(self):
    ...         return {**super().get_config(), "threshold": self.threshold}
    """

    def __init__(self, reduction=Reduction.AUTO, name=None):
        if reduction not in Reduction.all():
            raise ValueError(f"Loss reduction must be one of {Reduction.all()}, "
                             f"got {reduction!r}")
        self.reduction = reduction
        self.name = name or _snake(type(self).__name__)

    def __call__(self, y_true, y_pred, sample_weight=None):
        in_mask = output_mask(y_pred)
        y_pred = _tensor(y_pred)
        y_true = _tensor(y_true)
        if y_true.dtype != y_pred.dtype and y_pred.dtype.is_floating and not self._int_labels:
            y_true = jg.cast(y_true, y_pred.dtype)
        losses = self.call(y_true, y_pred)
        out_mask = output_mask(losses)
        if not jg.is_tensor(losses):
            losses = _tensor(losses)
        reduction = Reduction.SUM_OVER_BATCH_SIZE if self.reduction == "auto" \
            else self.reduction
        mask = in_mask if out_mask is None else out_mask if in_mask is None \
            else jg.logical_and(in_mask, out_mask)
        return reduce_weighted(losses, sample_weight, reduction, mask)

    _int_labels = False

    def call(self, y_true, y_pred):
        raise NotImplementedError(f"{type(self).__name__} must implement call(y_true, y_pred)")

    def get_config(self):
        return {"reduction": self.reduction, "name": self.name}

    @classmethod
    def from_config(cls, config):
        return serialization.call_with_config(cls, config)


def _snake(name):
    out = "".join("_" + c.lower() if c.isupper() else c for c in name).lstrip("_")
    return out


class LossFunctionWrapper(Loss):
    """A Loss around a per-sample function ``fn(y_true, y_pred, **kwargs)``."""

    def __init__(self, fn, reduction=Reduction.AUTO, name=None, **kwargs):
        super().__init__(reduction=reduction, name=name or fn.__name__)
        self.fn = fn
        self._fn_kwargs = kwargs

    def call(self, y_true, y_pred):
        return self.fn(y_true, y_pred, **self._fn_kwargs)

    def get_config(self):
        return {**super().get_config(), **self._fn_kwargs}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def _wrapper_class(class_name, fn, defaults, int_labels=False):
    """A LossFunctionWrapper subclass whose hyperparameters are ``defaults``' keys."""

    def __init__(self, *args, reduction=Reduction.AUTO, name=None, **kwargs):
        params = dict(defaults)
        params.update(zip(defaults, args))
        unknown = set(kwargs) - set(defaults)
        if unknown:
            raise TypeError(f"{class_name}() got unexpected arguments {sorted(unknown)}")
        params.update(kwargs)
        LossFunctionWrapper.__init__(self, fn, reduction=reduction,
                                     name=name or _snake(class_name), **params)

    def from_config(cls, config):
        return cls(**config)

    cls = type(class_name, (LossFunctionWrapper,),
               {"__init__": __init__, "from_config": classmethod(from_config),
                "_int_labels": int_labels, "__module__": __name__,
                "__doc__": f"Loss class for ``{fn.__name__}``; arguments {defaults}."})
    return cls


MeanSquaredError = _wrapper_class("MeanSquaredError", mean_squared_error, {})
MeanAbsoluteError = _wrapper_class("MeanAbsoluteError", mean_absolute_error, {})
MeanAbsolutePercentageError = _wrapper_class("MeanAbsolutePercentageError",
                                             mean_absolute_percentage_error, {})
Huber = _wrapper_class("Huber", huber, {"delta": 1.0})
BinaryCrossentropy = _wrapper_class("BinaryCrossentropy", binary_crossentropy,
                                    {"from_logits": False, "label_smoothing": 0.0})
CategoricalCrossentropy = _wrapper_class("CategoricalCrossentropy", categorical_crossentropy,
                                         {"from_logits": False, "label_smoothing": 0.0,
                                          "axis": -1})
SparseCategoricalCrossentropy = _wrapper_class("SparseCategoricalCrossentropy",
                                               sparse_categorical_crossentropy,
                                               {"from_logits": False, "axis": -1},
                                               int_labels=True)
Hinge = _wrapper_class("Hinge", hinge, {})
LogCosh = _wrapper_class("LogCosh", log_cosh, {})
KLDivergence = _wrapper_class("KLDivergence", kl_divergence, {})

_CLASSES = [Loss, MeanSquaredError, MeanAbsoluteError, MeanAbsolutePercentageError, Huber,
            BinaryCrossentropy, CategoricalCrossentropy, SparseCategoricalCrossentropy, Hinge,
            LogCosh, KLDivergence]
_FUNCTIONS = [mean_squared_error, mean_absolute_error, mean_absolute_percentage_error, huber,
              binary_crossentropy, categorical_crossentropy, sparse_categorical_crossentropy,
              hinge, log_cosh, kl_divergence]
_TABLE = {**{c.__name__: c for c in _CLASSES}, **{f.__name__: f for f in _FUNCTIONS},
          "mse": mean_squared_error, "mae": mean_absolute_error,
          "mape": mean_absolute_percentage_error, "kld": kl_divergence,
          "logcosh": log_cosh, "kullback_leibler_divergence": kl_divergence}


def get(identifier):
    """A loss (function or Loss object) from a name ("mse"), a config, or a callable."""
    if identifier is None or callable(identifier) and not isinstance(identifier, type):
        return identifier
    obj = serialization.deserialize(identifier, _TABLE, kind="loss")
    return obj() if isinstance(obj, type) else obj


def serialize(loss):
    return serialization.serialize(loss)


def deserialize(config, custom_objects=None):
    obj = serialization.deserialize(config, _TABLE, custom_objects, "loss")
    return obj() if isinstance(obj, type) else obj


# ------------------------------------------------ more losses (tf.keras's names and formulas)

def _l2_normalize(x, axis):
    """``x / |x|`` along ``axis``, as Keras computes it: ``x * min(rsqrt(sum(x^2)),
    1 / epsilon)``, so a zero vector stays zero."""
    inv = jg.minimum(jg.rsqrt(jg.reduce_sum(jg.square(x), axis=axis, keepdims=True)),
                     1.0 / EPSILON)
    return x * inv


def _hinge_labels(y_true):
    """Labels that are all 0 or 1 become -1 or 1 (Keras' rule); others stay as given."""
    binary = jg.reduce_all(jg.logical_or(jg.equal(y_true, 0.0), jg.equal(y_true, 1.0)))
    return jg.where(binary, 2.0 * y_true - 1.0, y_true)


def mean_squared_logarithmic_error(y_true, y_pred):
    """Mean over the last axis of ``(log(1 + y_pred) - log(1 + y_true))^2`` (both clipped
    below at epsilon)."""
    y_true, y_pred = prepare(y_true, y_pred)
    first = jg.log(jg.maximum(y_pred, EPSILON) + 1.0)
    second = jg.log(jg.maximum(y_true, EPSILON) + 1.0)
    return jg.reduce_mean(jg.square(first - second), axis=-1)


def poisson(y_true, y_pred):
    """Mean over the last axis of ``y_pred - y_true * log(y_pred + epsilon)``."""
    y_true, y_pred = prepare(y_true, y_pred)
    return jg.reduce_mean(y_pred - y_true * jg.log(y_pred + EPSILON), axis=-1)


def squared_hinge(y_true, y_pred):
    """Mean over the last axis of ``max(1 - y_true * y_pred, 0)^2``; 0/1 labels become
    -1/1."""
    y_true, y_pred = prepare(y_true, y_pred)
    y_true = _hinge_labels(y_true)
    return jg.reduce_mean(jg.square(jg.maximum(1.0 - y_true * y_pred, 0.0)), axis=-1)


def categorical_hinge(y_true, y_pred):
    """``max(max((1 - y_true) * y_pred) - sum(y_true * y_pred) + 1, 0)`` over the last axis
    (one-hot targets)."""
    y_pred = _tensor(y_pred)
    y_pred = y_pred if y_pred.dtype.is_floating else jg.cast(y_pred, jg.float32)
    y_true = _tensor(y_true, y_pred.dtype)
    pos = jg.reduce_sum(y_true * y_pred, axis=-1)
    neg = jg.reduce_max((1.0 - y_true) * y_pred, axis=-1)
    return jg.maximum(neg - pos + 1.0, 0.0)


def cosine_similarity(y_true, y_pred, axis=-1):
    """Minus the cosine of the angle between targets and predictions along ``axis`` (so
    minimizing it aligns them): -1 for parallel vectors, 0 when either is zero."""
    y_true, y_pred = prepare(y_true, y_pred)
    return -jg.reduce_sum(_l2_normalize(y_true, axis) * _l2_normalize(y_pred, axis),
                          axis=axis)


msle = MSLE = mean_squared_logarithmic_error

MeanSquaredLogarithmicError = _wrapper_class("MeanSquaredLogarithmicError",
                                             mean_squared_logarithmic_error, {})
Poisson = _wrapper_class("Poisson", poisson, {})
SquaredHinge = _wrapper_class("SquaredHinge", squared_hinge, {})
CategoricalHinge = _wrapper_class("CategoricalHinge", categorical_hinge, {})
CosineSimilarity = _wrapper_class("CosineSimilarity", cosine_similarity, {"axis": -1})

_MORE_CLASSES = [MeanSquaredLogarithmicError, Poisson, SquaredHinge, CategoricalHinge,
                 CosineSimilarity]
_MORE_FUNCTIONS = [mean_squared_logarithmic_error, poisson, squared_hinge, categorical_hinge,
                   cosine_similarity]
_CLASSES += _MORE_CLASSES
_FUNCTIONS += _MORE_FUNCTIONS
_TABLE.update({c.__name__: c for c in _MORE_CLASSES})
_TABLE.update({f.__name__: f for f in _MORE_FUNCTIONS})
_TABLE["msle"] = mean_squared_logarithmic_error

kullback_leibler_divergence = kl_divergence

from . import losses_extra as _extra  # noqa: E402 - focal, Dice, Tversky (they subclass these)
from .losses_extra import *  # noqa: E402,F401,F403

_CLASSES += _extra.CLASSES
_FUNCTIONS += _extra.FUNCTIONS
_TABLE.update({o.__name__: o for o in _extra.CLASSES + _extra.FUNCTIONS})

from . import losses_circle as _circle  # noqa: E402 - Circle (subclasses LossFunctionWrapper)
from .losses_circle import Circle, circle  # noqa: E402,F401

_CLASSES += _circle.CLASSES
_FUNCTIONS += _circle.FUNCTIONS
_TABLE.update({o.__name__: o for o in _circle.CLASSES + _circle.FUNCTIONS})
