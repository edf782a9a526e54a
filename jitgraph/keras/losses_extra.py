"""More Keras 3 losses with their formulas and configs: BinaryFocalCrossentropy,
CategoricalFocalCrossentropy, Dice, Tversky, CTC and CategoricalGeneralizedCrossEntropy
(classes and functions), registered by name in ``jg.keras.losses`` so
``compile(loss="dice")`` and loading find them.

>>> jg.keras.losses.BinaryFocalCrossentropy(gamma=2.0)([[0.0, 1.0]], [[0.1, 0.8]])
"""

import jitgraph as jg

from .losses import EPSILON, LossFunctionWrapper, Reduction, _tensor


def _pair(y_true, y_pred):
    y_pred = _tensor(y_pred)
    if not y_pred.dtype.is_floating:
        y_pred = jg.cast(y_pred, jg.float32)
    return _tensor(y_true, y_pred.dtype), y_pred


def binary_focal_crossentropy(y_true, y_pred, apply_class_balancing=False, alpha=0.25,
                              gamma=2.0, from_logits=False, label_smoothing=0.0, axis=-1):
    """Binary cross-entropy times ``(1 - p_t) ** gamma`` (p_t: the probability given to the
    true label), which down-weighs easy examples; with ``apply_class_balancing`` also
    ``alpha`` for positives and ``1 - alpha`` for negatives. Mean over ``axis``."""
    y_true, y_pred = _pair(y_true, y_pred)
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + 0.5 * label_smoothing
    if from_logits:
        y_pred = jg.sigmoid(y_pred)
    p = jg.clip_by_value(y_pred, EPSILON, 1.0 - EPSILON)
    bce = -(y_true * jg.log(p) + (1.0 - y_true) * jg.log(1.0 - p))
    p_t = y_true * y_pred + (1.0 - y_true) * (1.0 - y_pred)
    focal = jg.pow(1.0 - p_t, gamma) * bce
    if apply_class_balancing:
        focal = (y_true * alpha + (1.0 - y_true) * (1.0 - alpha)) * focal
    return jg.reduce_mean(focal, axis=axis)


def categorical_focal_crossentropy(y_true, y_pred, alpha=0.25, gamma=2.0, from_logits=False,
                                   label_smoothing=0.0, axis=-1):
    """Categorical cross-entropy of one-hot targets with each class's term weighed by
    ``alpha * (1 - p) ** gamma``; summed over ``axis``."""
    if isinstance(axis, bool):
        raise ValueError(f"categorical_focal_crossentropy: axis must be an int, got {axis!r}")
    y_true, y_pred = _pair(y_true, y_pred)
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + label_smoothing / float(y_true.shape[-1])
    if from_logits:
        y_pred = jg.nn.softmax(y_pred, axis=axis)
    out = y_pred / jg.reduce_sum(y_pred, axis=axis, keepdims=True)
    out = jg.clip_by_value(out, EPSILON, 1.0 - EPSILON)
    focal = alpha * jg.pow(1.0 - out, gamma) * (-y_true * jg.log(out))
    return jg.reduce_sum(focal, axis=axis)


def dice(y_true, y_pred, axis=None):
    """``1 - 2 |y_true . y_pred| / (|y_true| + |y_pred|)`` summed over ``axis`` (None: the
    whole batch, one number)."""
    y_true, y_pred = _pair(y_true, y_pred)
    inter = jg.reduce_sum(y_true * y_pred, axis=axis)
    return 1.0 - 2.0 * inter / (jg.reduce_sum(y_true, axis=axis)
                                + jg.reduce_sum(y_pred, axis=axis) + EPSILON)


def tversky(y_true, y_pred, alpha=0.5, beta=0.5, axis=None):
    """``1 - TP / (TP + alpha FP + beta FN)`` with soft counts summed over ``axis`` (None:
    the whole batch); alpha = beta = 0.5 is the Dice loss."""
    y_true, y_pred = _pair(y_true, y_pred)
    inter = jg.reduce_sum(y_true * y_pred, axis=axis)
    fp = jg.reduce_sum((1.0 - y_pred) * y_true, axis=axis)
    fn = jg.reduce_sum(y_pred * (1.0 - y_true), axis=axis)
    return 1.0 - inter / (inter + fp * alpha + fn * beta + EPSILON)


def categorical_generalized_cross_entropy(y_true, y_pred, q):
    """Generalized cross-entropy (Zhang & Sabuncu 2018) of integer labels: ``(1 - p^q) / q``
    with ``p`` the probability ``y_pred`` gives the true class; robust to noisy labels
    (q -> 0: cross-entropy, q = 1: mean absolute error)."""
    y_pred = _tensor(y_pred)
    if not y_pred.dtype.is_floating:
        y_pred = jg.cast(y_pred, jg.float32)
    labels = _tensor(y_true)
    labels = labels if labels.dtype == jg.int32 else jg.cast(labels, jg.int32)
    onehot = jg.one_hot(labels, int(y_pred.shape[-1]), dtype=y_pred.dtype)
    p = jg.reduce_sum(y_pred * onehot, axis=-1)
    return (1.0 - jg.pow(p, q)) / q


_NEG = -1e30  # log(0) in the CTC recursion: exp(_NEG - m) is 0, and no inf - inf appears


def _logsumexp3(a, b, c):
    m = jg.maximum(jg.maximum(a, b), c)
    return m + jg.log(jg.exp(a - m) + jg.exp(b - m) + jg.exp(c - m))


def ctc(y_true, y_pred):
    """Connectionist temporal classification loss, one value per sample, as Keras 3 (and
    ``tf.nn.ctc_loss``) compute it: ``y_true`` (batch, max_length) integer labels padded
    with 0, which is also the blank class; ``y_pred`` (batch, timesteps, classes) logits
    (log-softmaxed here); every sample uses all timesteps. The forward (alpha) recursion
    runs in log space over the time axis with ``jg.foldl``, so it compiles and
    differentiates; an impossible alignment (labels longer than the time allows) gives
    inf (TensorFlow gives a large finite number there)."""
    y_pred = _tensor(y_pred)
    if not y_pred.dtype.is_floating:
        y_pred = jg.cast(y_pred, jg.float32)
    labels = _tensor(y_true)
    if len(labels.shape) != 2:
        raise ValueError(f"ctc: targets y_true must have shape (batch_size, max_length) "
                         f"of integer labels, got shape {tuple(labels.shape)}")
    if len(y_pred.shape) != 3:
        raise ValueError(f"ctc: y_pred must be logits of shape (batch_size, timesteps, "
                         f"num_classes), got shape {tuple(y_pred.shape)}")
    if None in tuple(y_pred.shape)[1:] or labels.shape[1] is None:
        raise ValueError(f"ctc: needs the timesteps, classes and label length known, got "
                         f"y_true {tuple(labels.shape)} and y_pred {tuple(y_pred.shape)}")
    labels = labels if labels.dtype == jg.int32 else jg.cast(labels, jg.int32)
    classes, lmax = int(y_pred.shape[2]), int(labels.shape[1])
    # the extended label sequence blank, l1, blank, l2, ..., blank (length 2 lmax + 1)
    ext = jg.reshape(jg.stack([jg.zeros_like(labels), labels], axis=2), [-1, 2 * lmax])
    ext = jg.concat([ext, jg.zeros_like(labels[:, :1])], axis=1)
    logp = jg.nn.log_softmax(y_pred, axis=-1)
    lp = jg.matmul(logp, jg.one_hot(ext, classes, dtype=y_pred.dtype), transpose_b=True)
    # a path may skip the blank before position s where z_s differs from z_{s-2}
    skip = jg.logical_and(ext > 0, jg.not_equal(ext, jg.pad(ext[:, :-2], [[0, 0], [2, 0]],
                                                            constant_values=-1)))
    first = jg.concat([lp[:, 0, :2], jg.zeros_like(lp[:, 0, 2:]) + _NEG], axis=1)

    def step(alpha, lp_t):
        a1 = jg.pad(alpha[:, :-1], [[0, 0], [1, 0]], constant_values=_NEG)
        a2 = jg.pad(alpha[:, :-2], [[0, 0], [2, 0]], constant_values=_NEG)
        a2 = jg.where(skip, a2, jg.zeros_like(a2) + _NEG)
        return _logsumexp3(alpha, a1, a2) + lp_t

    alpha = first if int(y_pred.shape[1]) == 1 else \
        jg.foldl(step, jg.transpose(lp[:, 1:], [1, 0, 2]), initializer=first)
    length = 2 * jg.reduce_sum(jg.cast(labels > 0, jg.int32), axis=1)
    s = 2 * lmax + 1
    end = jg.one_hot(length, s, dtype=y_pred.dtype) + \
        jg.one_hot(length - 1, s, dtype=y_pred.dtype)  # the last label or the blank after
    top = jg.reduce_max(alpha, axis=1, keepdims=True)
    loglik = jg.squeeze(top, 1) + jg.log(jg.reduce_sum(end * jg.exp(alpha - top), axis=1))
    return jg.where(loglik < 0.5 * _NEG, jg.zeros_like(loglik) + float("inf"), -loglik)


class _Wrapped(LossFunctionWrapper):
    """A Keras 3 loss class over ``fn``: its keyword arguments (``params`` with defaults)
    are attributes and part of the config."""

    fn, params = None, {}

    def __init__(self, *args, reduction=Reduction.AUTO, name=None, dtype=None, **kwargs):
        values = dict(self.params)
        values.update(zip(self.params, args))
        unknown = set(kwargs) - set(self.params)
        if unknown:
            raise TypeError(f"{type(self).__name__}() got unexpected arguments "
                            f"{sorted(unknown)}")
        values.update(kwargs)
        super().__init__(type(self).fn, reduction=reduction,
                         name=name or type(self).fn.__name__, **values)
        for k, v in values.items():
            setattr(self, k, v)

    @classmethod
    def from_config(cls, config):
        return cls(**{k: v for k, v in config.items() if k != "dtype"})


class BinaryFocalCrossentropy(_Wrapped):
    """Loss class of ``binary_focal_crossentropy``."""

    fn = staticmethod(binary_focal_crossentropy)
    params = {"apply_class_balancing": False, "alpha": 0.25, "gamma": 2.0,
              "from_logits": False, "label_smoothing": 0.0, "axis": -1}


class CategoricalFocalCrossentropy(_Wrapped):
    """Loss class of ``categorical_focal_crossentropy``."""

    fn = staticmethod(categorical_focal_crossentropy)
    params = {"alpha": 0.25, "gamma": 2.0, "from_logits": False, "label_smoothing": 0.0,
              "axis": -1}


class Dice(_Wrapped):
    """Loss class of ``dice``."""

    fn = staticmethod(dice)
    params = {"axis": None}


class Tversky(_Wrapped):
    """Loss class of ``tversky``."""

    fn = staticmethod(tversky)
    params = {"alpha": 0.5, "beta": 0.5, "axis": None}


class CategoricalGeneralizedCrossEntropy(_Wrapped):
    """Loss class of ``categorical_generalized_cross_entropy``; ``q`` in (0, 1)."""

    fn = staticmethod(categorical_generalized_cross_entropy)
    params = {"q": 0.5}
    _int_labels = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not 0.0 < self.q < 1.0:
            raise ValueError(f"CategoricalGeneralizedCrossEntropy: q must be in (0, 1), got "
                             f"q={self.q!r}")


class CTC(_Wrapped):
    """Loss class of ``ctc`` (integer labels padded with 0, the blank)."""

    fn = staticmethod(ctc)
    params = {}
    _int_labels = True


CLASSES = [BinaryFocalCrossentropy, CategoricalFocalCrossentropy, Dice, Tversky, CTC,
           CategoricalGeneralizedCrossEntropy]
FUNCTIONS = [binary_focal_crossentropy, categorical_focal_crossentropy, dice, tversky, ctc,
             categorical_generalized_cross_entropy]

__all__ = [c.__name__ for c in CLASSES] + [f.__name__ for f in FUNCTIONS]
