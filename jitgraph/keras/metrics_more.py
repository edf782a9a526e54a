"""More Keras 3 metrics with their numerics and configs: F1Score, FBetaScore, IoU, BinaryIoU,
OneHotIoU, OneHotMeanIoU, R2Score, PearsonCorrelation, ConcordanceCorrelation,
SensitivityAtSpecificity, SpecificityAtSensitivity, RecallAtPrecision, the streaming means
Hinge, SquaredHinge, CategoricalHinge, KLDivergence, Poisson, MeanAbsolutePercentageError,
and tf.keras.metrics' function names and aliases (``hinge``, ``kld``, ``MAPE``, ...).

>>> f1 = jg.keras.metrics.F1Score(average="macro", threshold=0.5)
>>> f1([[1, 0], [0, 1]], [[0.9, 0.2], [0.6, 0.7]])   # 0.666...
"""

import jitgraph as jg

from . import losses
from .losses_extra import binary_focal_crossentropy, categorical_focal_crossentropy  # noqa: F401
from .metrics import (
    MeanIoU,
    MeanMetricWrapper,
    Metric,
    PrecisionAtRecall,
    _tensor,
    _weights_like,
    _wrapper,
)

EPSILON = 1e-7


# ----------------------------------------------------------------------------- F-scores


class FBetaScore(Metric):
    """The F-beta score per class of multi-label (or one-hot) targets, from true/false
    positive and false negative counts summed over batches. Predictions count as positive
    above ``threshold`` (None: the highest score of each sample). ``average``: None (one
    score per class), "micro" (counts pooled), "macro" (the mean) or "weighted" (by each
    class's number of true labels)."""

    def __init__(self, average=None, beta=1.0, threshold=None, name="fbeta_score",
                 dtype=None):
        super().__init__(name=name, dtype=dtype)
        who = type(self).__name__
        if average not in (None, "micro", "macro", "weighted"):
            raise ValueError(f"{who}: average must be one of None, 'micro', 'macro', "
                             f"'weighted', got {average!r}")
        if not isinstance(beta, float) or beta <= 0.0:
            raise ValueError(f"{who}: beta must be a Python float > 0, got {beta!r}")
        if threshold is not None and (not isinstance(threshold, float)
                                      or not 0.0 < threshold <= 1.0):
            raise ValueError(f"{who}: threshold must be None or a Python float in (0, 1], "
                             f"got {threshold!r}")
        self.average, self.beta, self.threshold = average, beta, threshold
        self.axis = None if average == "micro" else 0
        self._built = False

    def _build(self, t_shape, p_shape):
        if len(p_shape) != 2 or len(t_shape) != 2 or p_shape[-1] is None:
            raise ValueError(f"{type(self).__name__}: expects 2-D inputs (batch_size, "
                             f"output_dim) with output_dim known, got y_true.shape="
                             f"{tuple(t_shape)} and y_pred.shape={tuple(p_shape)}")
        shape = () if self.average == "micro" else (int(p_shape[-1]),)
        for v in ("true_positives", "false_positives", "false_negatives",
                  "intermediate_weights"):
            setattr(self, v, self.add_weight(v, shape))
        self._built = True

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_pred = _tensor(y_pred, self.dtype)
        y_true = _tensor(y_true, self.dtype)
        if not self._built:
            self._build(y_true.shape, y_pred.shape)
        if self.threshold is None:
            top = jg.reduce_max(y_pred, axis=-1, keepdims=True)
            pred = jg.logical_and(y_pred >= top, jg.abs(y_pred) > 1e-9)
        else:
            pred = y_pred > self.threshold
        pred = jg.cast(pred, self.dtype)
        sw = None if sample_weight is None else \
            jg.expand_dims(_tensor(sample_weight, self.dtype), 1)

        def total(v):
            return jg.reduce_sum(v if sw is None else v * sw, axis=self.axis)

        self.true_positives.assign_add(total(pred * y_true))
        self.false_positives.assign_add(total(pred * (1.0 - y_true)))
        self.false_negatives.assign_add(total((1.0 - pred) * y_true))
        self.intermediate_weights.assign_add(total(y_true))

    def result(self):
        if not self._built:
            return jg.constant(0.0, self.dtype)
        tp = self.true_positives.value()
        precision = tp / (tp + self.false_positives + EPSILON)
        recall = tp / (tp + self.false_negatives + EPSILON)
        b2 = self.beta ** 2
        f = precision * recall / (b2 * precision + recall + EPSILON) * (1.0 + b2)
        if self.average == "weighted":
            w = self.intermediate_weights.value()
            return jg.reduce_sum(f * w / (jg.reduce_sum(w) + EPSILON))
        if self.average is not None:
            return jg.reduce_mean(f)
        return f

    def reset_state(self):
        if self._built:
            super().reset_state()

    def get_config(self):
        return {**super().get_config(), "average": self.average, "beta": self.beta,
                "threshold": self.threshold}


class F1Score(FBetaScore):
    """FBetaScore with beta = 1: the harmonic mean of precision and recall."""

    def __init__(self, average=None, threshold=None, name="f1_score", dtype=None):
        super().__init__(average=average, beta=1.0, threshold=threshold, name=name,
                         dtype=dtype)

    def get_config(self):
        cfg = super().get_config()
        cfg.pop("beta")
        return cfg


# ----------------------------------------------------------------------------- IoU


class IoU(MeanIoU):
    """Intersection-over-union of the classes ``target_class_ids`` (averaged over those that
    occur), from the confusion matrix of ``num_classes`` classes summed over batches."""

    def __init__(self, num_classes, target_class_ids, name=None, dtype=None,
                 ignore_class=None, sparse_y_true=True, sparse_y_pred=True, axis=-1):
        super().__init__(num_classes, name=name, dtype=dtype, ignore_class=ignore_class,
                         sparse_y_true=sparse_y_true, sparse_y_pred=sparse_y_pred, axis=axis)
        ids = [int(i) for i in target_class_ids]
        if not ids or max(ids) >= self.num_classes or min(ids) < 0:
            raise ValueError(f"{type(self).__name__}: target_class_ids {list(ids)} must be "
                             f"class ids in [0, {self.num_classes})")
        self.target_class_ids = ids

    def result(self):
        cm = self.total_cm.value()
        tp = jg.linalg.diag_part(cm)
        den = jg.reduce_sum(cm, axis=0) + jg.reduce_sum(cm, axis=1) - tp
        ids = jg.constant(self.target_class_ids, jg.int32)
        tp, den = jg.gather(tp, ids), jg.gather(den, ids)
        valid = den > 1e-9
        iou = jg.where(valid, tp / (den + EPSILON), jg.zeros_like(tp))
        return jg.reduce_sum(iou) / (jg.reduce_sum(jg.cast(valid, self.dtype)) + EPSILON)

    def get_config(self):
        return {**super().get_config(), "target_class_ids": self.target_class_ids}


class BinaryIoU(IoU):
    """IoU of binary targets against predictions thresholded at ``threshold``; by default
    the mean over both classes."""

    def __init__(self, target_class_ids=(0, 1), threshold=0.5, name=None, dtype=None):
        super().__init__(2, target_class_ids, name=name, dtype=dtype)
        self.threshold = float(threshold)

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true = _tensor(y_true, self.dtype)
        y_pred = jg.cast(_tensor(y_pred, jg.float32) >= self.threshold, jg.int32)
        if sample_weight is not None:  # per sample or per element: flattened with the labels
            sample_weight = jg.reshape(_weights_like(y_true, sample_weight), (-1,))
        return super().update_state(jg.reshape(y_true, (-1,)), jg.reshape(y_pred, (-1,)),
                                    sample_weight)

    def get_config(self):
        return {"target_class_ids": self.target_class_ids, "threshold": self.threshold,
                "name": self.name, "dtype": self.dtype.name}


class OneHotIoU(IoU):
    """IoU of one-hot targets (and score predictions, reduced with argmax)."""

    def __init__(self, num_classes, target_class_ids, name=None, dtype=None,
                 ignore_class=None, sparse_y_pred=False, axis=-1):
        super().__init__(num_classes, target_class_ids, name=name, dtype=dtype,
                         ignore_class=ignore_class, sparse_y_true=False,
                         sparse_y_pred=sparse_y_pred, axis=axis)

    def get_config(self):
        cfg = super().get_config()
        cfg.pop("sparse_y_true")
        return cfg


class OneHotMeanIoU(MeanIoU):
    """MeanIoU of one-hot targets (and score predictions, reduced with argmax)."""

    def __init__(self, num_classes, name=None, dtype=None, ignore_class=None,
                 sparse_y_pred=False, axis=-1):
        super().__init__(num_classes, name=name, dtype=dtype, ignore_class=ignore_class,
                         sparse_y_true=False, sparse_y_pred=sparse_y_pred, axis=axis)

    def get_config(self):
        cfg = super().get_config()
        cfg.pop("sparse_y_true")
        return cfg


# ----------------------------------------------------------------------------- regression


class R2Score(Metric):
    """The coefficient of determination ``1 - SS_res / SS_tot`` per output column of 2-D
    targets, over all batches; ``class_aggregation`` "uniform_average" (the mean),
    "variance_weighted_average" or None (per column); ``num_regressors`` > 0 gives the
    adjusted R2 (falls back to the plain one when there are too few samples)."""

    def __init__(self, class_aggregation="uniform_average", num_regressors=0, name="r2_score",
                 dtype=None):
        super().__init__(name=name, dtype=dtype)
        if class_aggregation not in (None, "uniform_average", "variance_weighted_average"):
            raise ValueError(f"R2Score: class_aggregation must be one of None, "
                             f"'uniform_average', 'variance_weighted_average', got "
                             f"{class_aggregation!r}")
        if num_regressors < 0:
            raise ValueError(f"R2Score: num_regressors must be >= 0, got {num_regressors!r}")
        self.class_aggregation, self.num_regressors = class_aggregation, int(num_regressors)
        self.num_samples = self.add_weight("num_samples")
        self._built = False

    def _build(self, t_shape, p_shape):
        if len(p_shape) != 2 or len(t_shape) != 2 or p_shape[-1] is None:
            raise ValueError(f"R2Score: expects 2-D inputs (batch_size, output_dim) with "
                             f"output_dim known, got y_true.shape={tuple(t_shape)} and "
                             f"y_pred.shape={tuple(p_shape)}; reshape 1-D ones to (-1, 1)")
        n = (int(p_shape[-1]),)
        self.squared_sum, self.sum = self.add_weight("squared_sum", n), self.add_weight("sum", n)
        self.total_mse, self.count = self.add_weight("residual", n), self.add_weight("count", n)
        self._built = True

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true, y_pred = _tensor(y_true, self.dtype), _tensor(y_pred, self.dtype)
        if len(y_true.shape) == len(y_pred.shape) - 1:
            y_true = jg.expand_dims(y_true, -1)
        elif len(y_pred.shape) == len(y_true.shape) - 1:
            y_pred = jg.expand_dims(y_pred, -1)
        if not self._built:
            self._build(y_true.shape, y_pred.shape)
        sw = jg.ones_like(y_true) if sample_weight is None else _tensor(sample_weight,
                                                                          self.dtype)
        if len(sw.shape) == 1:
            sw = jg.expand_dims(sw, 1)
        sw = sw * jg.ones_like(y_true)
        self.sum.assign_add(jg.reduce_sum(y_true * sw, axis=0))
        self.squared_sum.assign_add(jg.reduce_sum(y_true * y_true * sw, axis=0))
        self.total_mse.assign_add(jg.reduce_sum(jg.square(y_true - y_pred) * sw, axis=0))
        self.count.assign_add(jg.reduce_sum(sw, axis=0))
        self.num_samples.assign_add(jg.cast(jg.size(y_true), self.dtype))

    def result(self):
        if not self._built:
            return jg.constant(0.0, self.dtype)
        mean = self.sum / self.count
        total = self.squared_sum - self.sum * mean
        raw = 1.0 - self.total_mse / total
        raw = jg.where(jg.math.is_inf(raw), jg.zeros_like(raw), raw)
        if self.class_aggregation == "uniform_average":
            r2 = jg.reduce_mean(raw)
        elif self.class_aggregation == "variance_weighted_average":
            r2 = jg.reduce_sum(total * raw) / jg.reduce_sum(total)
        else:
            r2 = raw
        if self.num_regressors:
            n, p = self.num_samples.value(), float(self.num_regressors)
            adjusted = 1.0 - (1.0 - r2) * (n - 1.0) / jg.maximum(n - p - 1.0, 1e-30)
            r2 = jg.where(p < n - 1.0, adjusted, r2)  # too few samples: the plain R2
        return r2

    def get_config(self):
        return {**super().get_config(), "class_aggregation": self.class_aggregation,
                "num_regressors": self.num_regressors}


def _same_rank(y_true, y_pred):
    y_pred = _tensor(y_pred)
    if not y_pred.dtype.is_floating:
        y_pred = jg.cast(y_pred, jg.float32)
    y_true = _tensor(y_true, y_pred.dtype)
    if len(y_true.shape) == len(y_pred.shape) + 1 and y_true.shape[-1] == 1:
        y_true = jg.squeeze(y_true, -1)
    elif len(y_pred.shape) == len(y_true.shape) + 1 and y_pred.shape[-1] == 1:
        y_pred = jg.squeeze(y_pred, -1)
    return y_true, y_pred


def _std(x, axis):
    return jg.sqrt(jg.reduce_mean(jg.square(x - jg.reduce_mean(x, axis=axis, keepdims=True)),
                                  axis=axis, keepdims=True))


def pearson_correlation(y_true, y_pred, axis=-1):
    """Pearson's correlation of targets and predictions along ``axis``, one per sample."""
    y_true, y_pred = _same_rank(y_true, y_pred)
    t = y_true - jg.reduce_mean(y_true, axis=axis, keepdims=True)
    p = y_pred - jg.reduce_mean(y_pred, axis=axis, keepdims=True)
    return jg.reduce_mean(t / _std(t, axis) * (p / _std(p, axis)), axis=axis)


def concordance_correlation(y_true, y_pred, axis=-1):
    """Lin's concordance correlation along ``axis``, computed as Keras 3 does: the mean of
    ``2 (y_true - mean_pred)(y_pred - mean_pred) / (var_true + var_pred + (mean_true -
    mean_pred)^2)``."""
    y_true, y_pred = _same_rank(y_true, y_pred)
    mt = jg.reduce_mean(y_true, axis=axis, keepdims=True)
    mp = jg.reduce_mean(y_pred, axis=axis, keepdims=True)
    vt = jg.square(_std(y_true - mt, axis))
    vp = jg.square(_std(y_pred - mp, axis))
    covar = (y_true - mp) * (y_pred - mp)
    norm = vt + vp + jg.square(mt - mp)
    return jg.reduce_mean(2.0 * covar / (norm + EPSILON), axis=axis)


class _Correlation(MeanMetricWrapper):
    fn = None

    def __init__(self, name=None, dtype=None, axis=-1):
        super().__init__(type(self).fn, name=name or type(self).fn.__name__, dtype=dtype,
                         axis=axis)
        self.axis = axis

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class PearsonCorrelation(_Correlation):
    """Streaming mean of ``pearson_correlation`` over the samples."""

    fn = staticmethod(pearson_correlation)


class ConcordanceCorrelation(_Correlation):
    """Streaming mean of ``concordance_correlation`` over the samples."""

    fn = staticmethod(concordance_correlation)


# ----------------------------------------------------------------------------- at-constraint


class _AtConstraint(PrecisionAtRecall):
    """The best ``_dependent`` rate over the thresholds whose ``_constrained`` rate is at
    least the given value (PrecisionAtRecall's counts)."""

    _arg = _constrained = _dependent = None

    def __init__(self, value, num_thresholds=200, class_id=None, name=None, dtype=None):
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"{type(self).__name__}: {self._arg} must be in [0, 1], got "
                             f"{self._arg}={value}")
        super().__init__(value, num_thresholds=num_thresholds, class_id=class_id, name=name,
                         dtype=dtype)
        del self.recall
        setattr(self, self._arg, float(value))
        self.value = float(value)

    def _rates(self):
        tp, fp = self.true_positives.value(), self.false_positives.value()
        tn, fn = self.true_negatives.value(), self.false_negatives.value()
        recall = jg.divide_no_nan(tp, tp + fn)
        return {"sensitivity": recall, "recall": recall,
                "specificity": jg.divide_no_nan(tn, tn + fp),
                "precision": jg.divide_no_nan(tp, tp + fp)}

    def result(self):
        rates = self._rates()
        dep = rates[self._dependent]
        feasible = rates[self._constrained] >= self.value
        return jg.maximum(jg.reduce_max(jg.where(feasible, dep, jg.zeros_like(dep))), 0.0)

    def get_config(self):
        return {**Metric.get_config(self), self._arg: self.value,
                "num_thresholds": self.num_thresholds, "class_id": self.class_id}


class SensitivityAtSpecificity(_AtConstraint):
    """The best sensitivity (recall) at a specificity of at least ``specificity``."""

    _arg, _constrained, _dependent = "specificity", "specificity", "sensitivity"

    def __init__(self, specificity, num_thresholds=200, class_id=None, name=None, dtype=None):
        super().__init__(specificity, num_thresholds, class_id, name, dtype)


class SpecificityAtSensitivity(_AtConstraint):
    """The best specificity at a sensitivity (recall) of at least ``sensitivity``."""

    _arg, _constrained, _dependent = "sensitivity", "sensitivity", "specificity"

    def __init__(self, sensitivity, num_thresholds=200, class_id=None, name=None, dtype=None):
        super().__init__(sensitivity, num_thresholds, class_id, name, dtype)


class RecallAtPrecision(_AtConstraint):
    """The best recall at a precision of at least ``precision``."""

    _arg, _constrained, _dependent = "precision", "precision", "recall"

    def __init__(self, precision, num_thresholds=200, class_id=None, name=None, dtype=None):
        super().__init__(precision, num_thresholds, class_id, name, dtype)


# ----------------------------------------------------------------------------- streaming means

Hinge = _wrapper("Hinge", losses.hinge, {})
SquaredHinge = _wrapper("SquaredHinge", losses.squared_hinge, {})
CategoricalHinge = _wrapper("CategoricalHinge", losses.categorical_hinge, {})
Poisson = _wrapper("Poisson", losses.poisson, {})
MeanAbsolutePercentageError = _wrapper("MeanAbsolutePercentageError",
                                       losses.mean_absolute_percentage_error, {})


class KLDivergence(_wrapper("KLDivergence", losses.kl_divergence, {})):
    """Streaming mean of ``kl_divergence`` (named "kl_divergence", as in tf.keras)."""

    def __init__(self, name="kl_divergence", dtype=None):
        super().__init__(name=name, dtype=dtype)


# tf.keras.metrics' function names (the per-sample functions of losses)
hinge = losses.hinge
squared_hinge = losses.squared_hinge
categorical_hinge = losses.categorical_hinge
poisson = losses.poisson
huber = losses.huber
kld = KLD = kullback_leibler_divergence = kl_divergence = losses.kl_divergence
mape = MAPE = mean_absolute_percentage_error = losses.mean_absolute_percentage_error
MAE = losses.mean_absolute_error
MSE = losses.mean_squared_error
MSLE = losses.mean_squared_logarithmic_error

CLASSES = [FBetaScore, F1Score, IoU, BinaryIoU, OneHotIoU, OneHotMeanIoU, R2Score,
           PearsonCorrelation, ConcordanceCorrelation, SensitivityAtSpecificity,
           SpecificityAtSensitivity, RecallAtPrecision, Hinge, SquaredHinge, CategoricalHinge,
           KLDivergence, Poisson, MeanAbsolutePercentageError]
# names compile(metrics=[...]) accepts
STRINGS = {"hinge": Hinge, "squared_hinge": SquaredHinge,
           "categorical_hinge": CategoricalHinge, "kl_divergence": KLDivergence,
           "kld": KLDivergence, "kullback_leibler_divergence": KLDivergence,
           "poisson": Poisson, "mape": MeanAbsolutePercentageError,
           "mean_absolute_percentage_error": MeanAbsolutePercentageError,
           "f1_score": F1Score, "r2_score": R2Score,
           "pearson_correlation": PearsonCorrelation,
           "concordance_correlation": ConcordanceCorrelation}
FUNCTIONS = ["hinge", "squared_hinge", "categorical_hinge", "poisson", "huber", "kld", "KLD",
             "kullback_leibler_divergence", "kl_divergence", "mape", "MAPE",
             "mean_absolute_percentage_error", "MAE", "MSE", "MSLE", "pearson_correlation",
             "concordance_correlation", "binary_focal_crossentropy",
             "categorical_focal_crossentropy"]

__all__ = [c.__name__ for c in CLASSES] + FUNCTIONS
