"""Streaming metrics: state held in variables, updated batch by batch (also inside a compiled
train step), read with ``result()``.

>>> precision = jg.keras.metrics.Precision()
>>> precision([0, 1, 1, 1, 0, 1, 0, 1], [1, 1, 0, 1, 0, 1, 0, 1])   # 0.8
>>> precision([0, 1, 0, 0, 1, 0, 1, 1], [1, 0, 1, 1, 0, 0, 0, 0])   # 0.5 (both batches)
"""

import numpy as np

import jitgraph as jg

from . import initializers, losses, serialization


def _tensor(x, dtype=None):
    return losses._tensor(x, dtype)


class Metric:
    """Base class: ``add_weight`` for state, ``update_state``, ``result``, ``reset_state``.

    Calling a metric updates it and returns the result so far.
    """

    def __init__(self, name=None, dtype=None, **kwargs):
        unknown = set(kwargs) - {"trainable", "autocast"}
        if unknown:
            raise TypeError(f"{type(self).__name__}() got unexpected arguments "
                            f"{sorted(unknown)}")
        self.name = name or losses._snake(type(self).__name__)
        self.dtype = jg.as_dtype(dtype or jg.float32)
        self._metric_variables = []

    def add_weight(self, name=None, shape=(), dtype=None, initializer="zeros", **kwargs):
        """Creates a state variable (eagerly, even while a train step is being traced)."""
        if isinstance(name, (tuple, list)):  # Keras 3 order: add_weight(shape, ...)
            name, shape = kwargs.pop("name", None), name
        dtype = jg.as_dtype(dtype or self.dtype)
        init = initializers.get(initializer)
        with jg.init_scope():
            v = jg.Variable(init(tuple(shape), dtype=dtype), trainable=False,
                            name=f"{self.name}/{name or 'state'}")
        v._jg_keras_initializer = init  # used by reset_state
        self._metric_variables.append(v)
        return v

    @property
    def variables(self):
        return list(self._metric_variables)

    weights = variables

    def update_state(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} must implement update_state")

    def result(self):
        raise NotImplementedError(f"{type(self).__name__} must implement result")

    def reset_state(self):
        for v in self._metric_variables:
            v.assign(v._jg_keras_initializer(tuple(v.shape), dtype=v.dtype))

    reset_states = reset_state

    def __call__(self, *args, **kwargs):
        self.update_state(*args, **kwargs)
        return self.result()

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype.name}

    @classmethod
    def from_config(cls, config):
        return serialization.call_with_config(cls, config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name!r}>"


def _weights_like(values, sample_weight):
    if sample_weight is None:
        return None
    sw = _tensor(sample_weight, values.dtype)
    while len(sw.shape) > len(values.shape) and sw.shape[-1] == 1:
        sw = jg.squeeze(sw, axis=-1)
    while len(sw.shape) < len(values.shape):
        sw = jg.expand_dims(sw, -1)
    return sw * jg.ones_like(values)


class Reduce(Metric):
    """Sum or weighted mean of the values seen."""

    _mean = True

    def __init__(self, name=None, dtype=None, **kwargs):
        super().__init__(name=name, dtype=dtype, **kwargs)
        self.total = self.add_weight("total")
        if self._mean:
            self.count = self.add_weight("count")

    def update_state(self, values, sample_weight=None):
        values = _tensor(values, self.dtype)
        sw = _weights_like(values, sample_weight)
        if sw is not None:
            values = values * sw
        self.total.assign_add(jg.reduce_sum(values))
        if self._mean:
            n = jg.reduce_sum(sw) if sw is not None else jg.cast(jg.size(values), self.dtype)
            self.count.assign_add(n)

    def result(self):
        if not self._mean:
            return jg.identity(self.total)
        return _safe_div(self.total, self.count)


def _safe_div(a, b):
    return jg.where(b > 0.0, a / jg.maximum(b, 1e-30), 0.0 * a)


class Mean(Reduce):
    """The (weighted) mean of all values passed to ``update_state``."""


class Sum(Reduce):
    _mean = False


class MeanMetricWrapper(Mean):
    """The mean over all samples of ``fn(y_true, y_pred, **kwargs)``."""

    def __init__(self, fn, name=None, dtype=None, **kwargs):
        super().__init__(name=name or getattr(fn, "__name__", "metric"), dtype=dtype)
        self._fn = fn
        self._fn_kwargs = kwargs

    def update_state(self, y_true, y_pred, sample_weight=None):
        mask = losses.output_mask(y_pred)  # a masked model output: masked steps weigh 0
        values = self._fn(y_true, y_pred, **self._fn_kwargs)
        if mask is not None:
            from .masking import mask_weights

            sample_weight = mask_weights(sample_weight, mask, self.dtype, "sum")
        return super().update_state(values, sample_weight)

    def get_config(self):
        return {**super().get_config(), **self._fn_kwargs}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


# -------------------------------------------------------------- per-sample metric functions

def accuracy(y_true, y_pred):
    y_true, y_pred = losses.prepare(y_true, y_pred)
    return jg.cast(jg.equal(y_true, y_pred), y_pred.dtype)


def binary_accuracy(y_true, y_pred, threshold=0.5):
    y_true, y_pred = losses.prepare(y_true, y_pred)
    pred = jg.cast(y_pred > threshold, y_pred.dtype)
    return jg.reduce_mean(jg.cast(jg.equal(y_true, pred), y_pred.dtype), axis=-1)


def categorical_accuracy(y_true, y_pred):
    y_pred = _tensor(y_pred)
    hit = jg.equal(jg.argmax(_tensor(y_true), axis=-1), jg.argmax(y_pred, axis=-1))
    return jg.cast(hit, jg.float32)


def sparse_categorical_accuracy(y_true, y_pred):
    y_pred = _tensor(y_pred)
    labels = _tensor(y_true)
    if len(labels.shape) == len(y_pred.shape) and labels.shape[-1] == 1:
        labels = jg.squeeze(labels, axis=-1)
    pred = jg.argmax(y_pred, axis=-1)
    return jg.cast(jg.equal(jg.cast(labels, pred.dtype), pred), jg.float32)


def _top_k_matches(labels, y_pred, k):
    y_pred = _tensor(y_pred)
    shape = tuple(labels.shape)
    if len(y_pred.shape) > 2:
        y_pred = jg.reshape(y_pred, (-1, y_pred.shape[-1]))
    flat = jg.reshape(labels, (-1,)) if len(shape) > 1 else labels
    flat = flat if flat.dtype == jg.int32 else jg.cast(flat, jg.int32)
    matches = jg.cast(jg.math.in_top_k(flat, y_pred, k), jg.float32)
    if len(shape) <= 1:
        return matches
    if None in shape[1:]:
        raise ValueError(f"top-k accuracy: labels of shape {shape} need known dimensions after "
                         "the batch; give them as (batch,) or (batch, 1)")
    return jg.reshape(matches, (-1,) + shape[1:])


def top_k_categorical_accuracy(y_true, y_pred, k=5):
    """1.0 where the class of the one-hot target is among the ``k`` highest scores."""
    return _top_k_matches(jg.argmax(_tensor(y_true), axis=-1), y_pred, k)


mean_squared_error = mse = losses.mean_squared_error
mean_absolute_error = mae = losses.mean_absolute_error
binary_crossentropy = losses.binary_crossentropy
categorical_crossentropy = losses.categorical_crossentropy
sparse_categorical_crossentropy = losses.sparse_categorical_crossentropy


def _wrapper(class_name, fn, defaults):
    def __init__(self, name=None, dtype=None, **kwargs):
        unknown = set(kwargs) - set(defaults)
        if unknown:
            raise TypeError(f"{class_name}() got unexpected arguments {sorted(unknown)}")
        MeanMetricWrapper.__init__(self, fn, name=name or losses._snake(class_name),
                                   dtype=dtype, **{**defaults, **kwargs})

    return type(class_name, (MeanMetricWrapper,),
                {"__init__": __init__, "__module__": __name__,
                 "__doc__": f"Streaming mean of ``{fn.__name__}``."})


MeanSquaredError = _wrapper("MeanSquaredError", losses.mean_squared_error, {})
MeanAbsoluteError = _wrapper("MeanAbsoluteError", losses.mean_absolute_error, {})
Accuracy = _wrapper("Accuracy", accuracy, {})
BinaryAccuracy = _wrapper("BinaryAccuracy", binary_accuracy, {"threshold": 0.5})
CategoricalAccuracy = _wrapper("CategoricalAccuracy", categorical_accuracy, {})
SparseCategoricalAccuracy = _wrapper("SparseCategoricalAccuracy", sparse_categorical_accuracy,
                                     {})
BinaryCrossentropy = _wrapper("BinaryCrossentropy", losses.binary_crossentropy,
                              {"from_logits": False, "label_smoothing": 0.0})
CategoricalCrossentropy = _wrapper("CategoricalCrossentropy", losses.categorical_crossentropy,
                                   {"from_logits": False, "label_smoothing": 0.0})
SparseCategoricalCrossentropy = _wrapper("SparseCategoricalCrossentropy",
                                         losses.sparse_categorical_crossentropy,
                                         {"from_logits": False})


class RootMeanSquaredError(Mean):
    def update_state(self, y_true, y_pred, sample_weight=None):
        super().update_state(losses.mean_squared_error(y_true, y_pred), sample_weight)

    def result(self):
        return jg.sqrt(super().result())


class _Confusion(Metric):
    """Counts of true/false positives for predictions thresholded at ``thresholds``."""

    _counts = ()

    def __init__(self, thresholds=None, name=None, dtype=None, **kwargs):
        super().__init__(name=name, dtype=dtype, **kwargs)
        self.thresholds = 0.5 if thresholds is None else thresholds
        for c in self._counts:
            setattr(self, c, self.add_weight(c))

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true, y_pred = losses.prepare(y_true, y_pred)
        pred = jg.cast(y_pred > self.thresholds, self.dtype)
        true = jg.cast(jg.cast(y_true, jg.bool), self.dtype)
        w = _weights_like(pred, sample_weight)
        w = jg.ones_like(pred) if w is None else w
        cells = {"true_positives": true * pred, "false_positives": (1.0 - true) * pred,
                 "false_negatives": true * (1.0 - pred),
                 "true_negatives": (1.0 - true) * (1.0 - pred)}
        for c in self._counts:
            getattr(self, c).assign_add(jg.cast(jg.reduce_sum(cells[c] * w), self.dtype))

    def get_config(self):
        return {**super().get_config(), "thresholds": self.thresholds}


class Precision(_Confusion):
    """true positives / predicted positives, over all batches seen."""

    _counts = ("true_positives", "false_positives")

    def result(self):
        tp = self.true_positives
        return _safe_div(tp + 0.0, tp + self.false_positives)


class Recall(_Confusion):
    """true positives / actual positives, over all batches seen."""

    _counts = ("true_positives", "false_negatives")

    def result(self):
        tp = self.true_positives
        return _safe_div(tp + 0.0, tp + self.false_negatives)


_CLASSES = [Metric, Mean, Sum, MeanMetricWrapper, MeanSquaredError, MeanAbsoluteError, Accuracy,
            BinaryAccuracy, CategoricalAccuracy, SparseCategoricalAccuracy, BinaryCrossentropy,
            CategoricalCrossentropy, SparseCategoricalCrossentropy, RootMeanSquaredError,
            Precision, Recall]
_TABLE = {c.__name__: c for c in _CLASSES}
_STRINGS = {"accuracy": Accuracy, "acc": Accuracy, "mse": MeanSquaredError,
            "mean_squared_error": MeanSquaredError, "mae": MeanAbsoluteError,
            "mean_absolute_error": MeanAbsoluteError, "binary_accuracy": BinaryAccuracy,
            "categorical_accuracy": CategoricalAccuracy,
            "sparse_categorical_accuracy": SparseCategoricalAccuracy,
            "precision": Precision, "recall": Recall,
            "binary_crossentropy": BinaryCrossentropy,
            "categorical_crossentropy": CategoricalCrossentropy,
            "sparse_categorical_crossentropy": SparseCategoricalCrossentropy}


def get(identifier, custom_objects=None):
    """A Metric object from a name, a config, a Metric, a Metric class or a function
    ``fn(y_true, y_pred)`` (wrapped in a streaming mean named after it)."""
    if isinstance(identifier, Metric):
        return identifier
    if isinstance(identifier, type) and issubclass(identifier, Metric):
        return identifier()
    if callable(identifier):
        return MeanMetricWrapper(identifier)
    if isinstance(identifier, str) and identifier in _STRINGS:
        return _STRINGS[identifier](name=identifier)
    obj = serialization.deserialize(identifier, _TABLE, custom_objects, "metric")
    if isinstance(obj, type):
        return obj()
    return obj if isinstance(obj, Metric) else MeanMetricWrapper(obj)


def serialize(metric):
    if isinstance(metric, MeanMetricWrapper) and type(metric) is MeanMetricWrapper:
        return serialization.serialize(metric._fn)
    return serialization.serialize(metric)


deserialize = get


# ------------------------------------------- more metrics (tf.keras's names and numerics)

def sparse_top_k_categorical_accuracy(y_true, y_pred, k=5):
    """1.0 where the integer label is among the ``k`` highest scores (``y_true`` of shape
    (n,) or (n, 1); the result has ``y_true``'s shape)."""
    return _top_k_matches(_tensor(y_true), y_pred, k)


def cosine_similarity(y_true, y_pred, axis=-1):
    """The cosine of the angle between targets and predictions along ``axis``."""
    return -losses.cosine_similarity(y_true, y_pred, axis=axis)


mean_squared_logarithmic_error = msle = losses.mean_squared_logarithmic_error
logcosh = losses.log_cosh

TopKCategoricalAccuracy = _wrapper("TopKCategoricalAccuracy", top_k_categorical_accuracy,
                                   {"k": 5})
SparseTopKCategoricalAccuracy = _wrapper("SparseTopKCategoricalAccuracy",
                                         sparse_top_k_categorical_accuracy, {"k": 5})
CosineSimilarity = _wrapper("CosineSimilarity", cosine_similarity, {"axis": -1})
MeanSquaredLogarithmicError = _wrapper("MeanSquaredLogarithmicError",
                                       losses.mean_squared_logarithmic_error, {})
MeanAbsolutePercentageError = _wrapper("MeanAbsolutePercentageError",
                                       losses.mean_absolute_percentage_error, {})


class LogCoshError(_wrapper("LogCoshError", losses.log_cosh, {})):
    """Streaming mean of ``log_cosh`` (named "logcosh", as in tf.keras)."""

    def __init__(self, name="logcosh", dtype=None):
        super().__init__(name=name, dtype=dtype)


def _flat_weights(y_pred, sample_weight, label_weights=None):
    """Per-element weights of ``y_pred``'s shape (or None): sample weights broadcast from the
    batch axis, times label weights broadcast along the last axis."""
    w = _weights_like(y_pred, sample_weight)
    if label_weights is not None:
        lw = _tensor(label_weights, y_pred.dtype) * jg.ones_like(y_pred)
        w = lw if w is None else w * lw
    return w


def _threshold_counts(y_true, y_pred, thresholds, sample_weight, label_weights=None,
                      per_label=False):
    """Weighted true/false positive/negative counts of ``y_pred > t`` for each threshold t:
    a dict of (T,) tensors, or (T, labels) with ``per_label``."""
    y_true, y_pred = losses.prepare(y_true, y_pred)
    w = _flat_weights(y_pred, sample_weight, label_weights)
    labels = jg.cast(jg.cast(y_true, jg.bool), y_pred.dtype)
    w = jg.ones_like(y_pred) if w is None else w
    if per_label:  # (n, L) -> (L, n) rows, compared as (T, L, n)
        pred, labels, w = (jg.transpose(t) for t in (y_pred, labels, w))
        th = jg.constant(np.asarray(thresholds, np.float32).reshape(-1, 1, 1))
        axis = 2
    else:
        pred, labels, w = (jg.reshape(t, (1, -1)) for t in (y_pred, labels, w))
        th = jg.constant(np.asarray(thresholds, np.float32).reshape(-1, 1))
        axis = 1
    th = jg.cast(th, y_pred.dtype)
    pos = jg.cast(pred > th, y_pred.dtype)
    neg = 1.0 - pos
    return {"true_positives": jg.reduce_sum(pos * labels * w, axis=axis),
            "false_positives": jg.reduce_sum(pos * (1.0 - labels) * w, axis=axis),
            "true_negatives": jg.reduce_sum(neg * (1.0 - labels) * w, axis=axis),
            "false_negatives": jg.reduce_sum(neg * labels * w, axis=axis)}


class _ConditionCount(Metric):
    """One cell of the confusion matrix, counted for predictions above ``thresholds`` (a
    float, default 0.5, or a list: then ``result()`` has one count per threshold)."""

    _cell = None

    def __init__(self, thresholds=None, name=None, dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.init_thresholds = thresholds
        self._scalar = thresholds is None or isinstance(thresholds, (int, float))
        self.thresholds = [0.5 if thresholds is None else float(thresholds)] \
            if self._scalar else [float(t) for t in thresholds]
        for t in self.thresholds:
            if not 0.0 <= t <= 1.0:
                raise ValueError(f"{type(self).__name__}: thresholds must be in [0, 1], got "
                                 f"{thresholds!r}")
        self.accumulator = self.add_weight("accumulator", (len(self.thresholds),))

    def update_state(self, y_true, y_pred, sample_weight=None):
        counts = _threshold_counts(y_true, y_pred, self.thresholds, sample_weight)
        self.accumulator.assign_add(jg.cast(counts[self._cell], self.dtype))

    def result(self):
        return self.accumulator[0] if self._scalar else jg.identity(self.accumulator)

    def get_config(self):
        return {**super().get_config(), "thresholds": self.init_thresholds}


class TruePositives(_ConditionCount):
    _cell = "true_positives"


class FalsePositives(_ConditionCount):
    _cell = "false_positives"


class TrueNegatives(_ConditionCount):
    _cell = "true_negatives"


class FalseNegatives(_ConditionCount):
    _cell = "false_negatives"


_CURVES = {"roc": "ROC", "pr": "PR", "prgain": "PRGAIN"}
_SUMMATIONS = ("interpolation", "minoring", "majoring")


class AUC(Metric):
    """Area under the ROC or precision-recall curve, approximated from the confusion counts
    at ``num_thresholds`` thresholds (tf.keras's algorithm and numbers).

    ``curve``: "ROC" or "PR" (or "PRGAIN"); ``summation_method``: "interpolation"
    (trapezoids for ROC, Davis & Goadrich's interpolation for PR), "minoring" or "majoring";
    ``multi_label=True`` keeps counts per label (the last axis) and averages the AUCs
    (weighted by ``label_weights``); ``from_logits=True`` applies a sigmoid first.

    >>> auc = jg.keras.metrics.AUC()
    >>> auc([0, 0, 1, 1], [0.0, 0.5, 0.3, 0.9])   # 0.75
    """

    def __init__(self, num_thresholds=200, curve="ROC", summation_method="interpolation",
                 name=None, dtype=None, thresholds=None, multi_label=False, num_labels=None,
                 label_weights=None, from_logits=False):
        super().__init__(name=name or "auc", dtype=dtype)
        if str(curve).upper() not in _CURVES.values():
            raise ValueError(f"AUC: curve must be one of {list(_CURVES.values())}, got "
                             f"{curve!r}")
        if str(summation_method).lower() not in _SUMMATIONS:
            raise ValueError(f"AUC: summation_method must be one of {list(_SUMMATIONS)}, got "
                             f"{summation_method!r}")
        self.curve, self.summation_method = str(curve).upper(), str(summation_method).lower()
        self._init_from_thresholds = thresholds is not None
        eps = 1e-7
        if thresholds is not None:
            inner = sorted(float(t) for t in thresholds)
            self.num_thresholds = len(inner) + 2
            full = np.array([0.0] + inner + [1.0])
            even = np.arange(len(full), dtype=np.float32) / (len(full) - 1)
            self._evenly = len(full) >= 3 and bool(np.allclose(full, even, atol=eps))
        else:
            if int(num_thresholds) <= 1:
                raise ValueError(f"AUC: num_thresholds must be an integer > 1, got "
                                 f"num_thresholds={num_thresholds}")
            self.num_thresholds = int(num_thresholds)
            inner = [(i + 1) * 1.0 / (self.num_thresholds - 1)
                     for i in range(self.num_thresholds - 2)]
            self._evenly = True
        self._thresholds = np.array([0.0 - eps] + inner + [1.0 + eps])
        self.multi_label, self.num_labels = bool(multi_label), num_labels
        if num_labels and not self.multi_label:
            raise ValueError("AUC: num_labels is needed only when multi_label=True")
        self.label_weights = None if label_weights is None else \
            np.asarray(label_weights, self.dtype.as_numpy_dtype)
        self.from_logits = bool(from_logits)
        self._built = False
        if not self.multi_label:
            self._build(())
        elif num_labels:
            self._build((int(num_labels),))

    @property
    def thresholds(self):
        return list(self._thresholds)

    def _build(self, label_shape):
        shape = (self.num_thresholds,) + tuple(label_shape)
        for cell in ("true_positives", "false_positives", "true_negatives", "false_negatives"):
            setattr(self, cell, self.add_weight(cell, shape))
        self._built = True

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_pred = _tensor(y_pred, self.dtype)
        if self.multi_label:
            if len(y_pred.shape) != 2:
                raise ValueError(f"AUC {self.name!r}: with multi_label=True y_pred must have "
                                 f"rank 2 (batch, labels), got shape {tuple(y_pred.shape)}")
            if not self._built:
                self._build((int(y_pred.shape[-1]),))
        if self.from_logits:
            y_pred = jg.sigmoid(y_pred)
        label_weights = None if self.multi_label else self.label_weights
        if self._evenly:
            counts = self._bucket_counts(y_true, y_pred, sample_weight, label_weights)
        else:
            counts = _threshold_counts(y_true, y_pred, self._thresholds, sample_weight,
                                       label_weights, per_label=self.multi_label)
        for cell, v in counts.items():
            getattr(self, cell).assign_add(jg.cast(v, self.dtype))

    def _bucket_counts(self, y_true, y_pred, sample_weight, label_weights):
        """Counts for evenly spaced thresholds from one pass over the data: each prediction
        falls in one bucket, and a reversed cumulative sum gives the count above each
        threshold (Keras' method, so the float rounding matches)."""
        y_true, y_pred = losses.prepare(y_true, y_pred)
        n = self.num_thresholds
        w = _flat_weights(y_pred, sample_weight, label_weights)
        w = jg.ones_like(y_pred) if w is None else w
        labels = jg.cast(jg.cast(y_true, jg.bool), y_pred.dtype)
        pos_w, neg_w = labels * w, (1.0 - labels) * w
        bucket = jg.nn.relu(jg.ceil(jg.clip_by_value(y_pred, 0.0, 1.0) * float(n - 1)) - 1.0)
        bucket = jg.cast(bucket, jg.int32)
        if self.multi_label:  # one run of buckets per label: ids label * n + bucket
            num_labels = int(y_pred.shape[-1])
            bucket = bucket + jg.constant(np.arange(num_labels, dtype=np.int32) * n)
            segments = num_labels * n
        else:
            segments = n
        ids = jg.reshape(bucket, (-1,))

        def above(weights):
            per_bucket = jg.unsorted_segment_sum(jg.reshape(weights, (-1,)), ids, segments)
            if self.multi_label:
                per_bucket = jg.reshape(per_bucket, (-1, n))
                return jg.transpose(jg.cumsum(per_bucket, axis=1, reverse=True))
            return jg.cumsum(per_bucket, reverse=True)

        tp, fp = above(pos_w), above(neg_w)
        total_pos = jg.reduce_sum(pos_w, axis=0) if self.multi_label else jg.reduce_sum(pos_w)
        total_neg = jg.reduce_sum(neg_w, axis=0) if self.multi_label else jg.reduce_sum(neg_w)
        return {"true_positives": tp, "false_positives": fp,
                "true_negatives": total_neg - fp, "false_negatives": total_pos - tp}

    def _average(self, terms):
        if not self.multi_label:
            return jg.reduce_sum(terms)
        by_label = jg.reduce_sum(terms, axis=0)
        if self.label_weights is None:
            return jg.reduce_mean(by_label)
        lw = jg.constant(self.label_weights)
        return jg.divide_no_nan(jg.reduce_sum(by_label * lw), jg.reduce_sum(lw))

    def _interpolate_pr_auc(self):
        tp, fp, fn = (v.value() for v in (self.true_positives, self.false_positives,
                                          self.false_negatives))
        dtp = tp[:-1] - tp[1:]
        p = tp + fp
        dp = p[:-1] - p[1:]
        slope = jg.divide_no_nan(dtp, jg.maximum(dp, 0.0))
        intercept = tp[1:] - slope * p[1:]
        ratio = jg.where(jg.logical_and(p[:-1] > 0, p[1:] > 0),
                         jg.divide_no_nan(p[:-1], jg.maximum(p[1:], 0.0)), jg.ones_like(p[1:]))
        terms = jg.divide_no_nan(slope * (dtp + intercept * jg.log(ratio)),
                                 jg.maximum(tp[1:] + fn[1:], 0.0))
        return self._average(terms)

    def result(self):
        if self.curve == "PR" and self.summation_method == "interpolation":
            return self._interpolate_pr_auc()
        tp, fp, tn, fn = (v.value() for v in (self.true_positives, self.false_positives,
                                              self.true_negatives, self.false_negatives))
        recall = jg.divide_no_nan(tp, tp + fn)
        if self.curve == "ROC":
            x, y = jg.divide_no_nan(fp, fp + tn), recall
        elif self.curve == "PR":
            x, y = recall, jg.divide_no_nan(tp, tp + fp)
        else:
            scale = jg.divide_no_nan(tp + fn, tn + fp)
            recall_gain = jg.where(tp == 0.0, jg.zeros_like(tp),
                                   1.0 - scale * jg.divide_no_nan(fn, tp))
            precision_gain = jg.where(tp == 0.0, jg.ones_like(tp),
                                      1.0 - scale * jg.divide_no_nan(fp, tp))
            x, y = jg.maximum(recall_gain, 0.0), precision_gain
        if self.summation_method == "interpolation":
            heights = (y[:-1] + y[1:]) / 2.0
        elif self.summation_method == "minoring":
            heights = jg.minimum(y[:-1], y[1:])
        else:
            heights = jg.maximum(y[:-1], y[1:])
        return self._average((x[:-1] - x[1:]) * heights)

    def get_config(self):
        cfg = {**super().get_config(), "num_thresholds": self.num_thresholds,
               "curve": self.curve, "summation_method": self.summation_method,
               "multi_label": self.multi_label, "num_labels": self.num_labels,
               "label_weights": None if self.label_weights is None
               else self.label_weights.tolist(), "from_logits": self.from_logits}
        if self._init_from_thresholds:
            cfg["thresholds"] = [float(t) for t in self._thresholds[1:-1]]
        return cfg


class MeanIoU(Metric):
    """Mean intersection-over-union of ``num_classes`` classes: for each class,
    ``TP / (TP + FP + FN)`` from the confusion matrix summed over all batches, averaged over
    the classes that occur in targets or predictions. Labels and predictions are class
    ids (``sparse_y_true``/``sparse_y_pred=False``: scores, reduced with argmax over
    ``axis``); ``ignore_class`` and ids outside ``[0, num_classes)`` are left out of the
    counts. The counts are float32 (tf.keras counts in integers, so it truncates fractional
    sample weights, with a warning; here they count as given)."""

    def __init__(self, num_classes, name=None, dtype=None, ignore_class=None,
                 sparse_y_true=True, sparse_y_pred=True, axis=-1):
        super().__init__(name=name, dtype=dtype)
        if int(num_classes) <= 0:
            raise ValueError(f"MeanIoU: num_classes must be a positive integer, got "
                             f"{num_classes!r}")
        self.num_classes, self.ignore_class = int(num_classes), ignore_class
        self.sparse_y_true, self.sparse_y_pred, self.axis = sparse_y_true, sparse_y_pred, axis
        self.total_cm = self.add_weight("total_confusion_matrix",
                                        (self.num_classes, self.num_classes))

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true, y_pred = _tensor(y_true), _tensor(y_pred)
        if not self.sparse_y_true:
            y_true = jg.argmax(y_true, axis=self.axis)
        if not self.sparse_y_pred:
            y_pred = jg.argmax(y_pred, axis=self.axis)
        y_true = jg.reshape(jg.cast(y_true, jg.int32), (-1,))
        y_pred = jg.reshape(jg.cast(y_pred, jg.int32), (-1,))
        w = jg.ones(jg.shape(y_true), self.dtype) if sample_weight is None else \
            jg.reshape(_tensor(sample_weight, self.dtype) * jg.ones_like(
                jg.cast(y_true, self.dtype)), (-1,))
        keep = jg.logical_and(
            jg.logical_and(y_true >= 0, y_true < self.num_classes),
            jg.logical_and(y_pred >= 0, y_pred < self.num_classes))  # ids out of range: skipped
        if self.ignore_class is not None:
            keep = jg.logical_and(keep, jg.not_equal(y_true, int(self.ignore_class)))
        w = jg.where(keep, w, jg.zeros_like(w))
        y_true = jg.where(keep, y_true, jg.zeros_like(y_true))
        y_pred = jg.where(keep, y_pred, jg.zeros_like(y_pred))
        cm = jg.confusion_matrix(y_true, y_pred, num_classes=self.num_classes, weights=w,
                                 dtype=self.dtype)
        self.total_cm.assign_add(cm)

    def result(self):
        cm = self.total_cm.value()
        tp = jg.linalg.diag_part(cm)
        denominator = jg.reduce_sum(cm, axis=0) + jg.reduce_sum(cm, axis=1) - tp
        valid = jg.reduce_sum(jg.cast(denominator > 1e-9, self.dtype))
        return jg.divide_no_nan(jg.reduce_sum(jg.divide_no_nan(tp, denominator)), valid)

    def get_config(self):
        return {**super().get_config(), "num_classes": self.num_classes,
                "ignore_class": self.ignore_class, "sparse_y_true": self.sparse_y_true,
                "sparse_y_pred": self.sparse_y_pred, "axis": self.axis}


class PrecisionAtRecall(Metric):
    """The best precision over the thresholds whose recall is at least ``recall``
    (``num_thresholds`` evenly spaced thresholds in [0, 1]; ``class_id`` picks one column
    of multi-class targets and predictions)."""

    def __init__(self, recall, num_thresholds=200, class_id=None, name=None, dtype=None):
        super().__init__(name=name, dtype=dtype)
        if not 0.0 <= recall <= 1.0:
            raise ValueError(f"PrecisionAtRecall: recall must be in [0, 1], got "
                             f"recall={recall}")
        if int(num_thresholds) <= 0:
            raise ValueError(f"PrecisionAtRecall: num_thresholds must be an integer > 0, got "
                             f"num_thresholds={num_thresholds}")
        self.recall, self.num_thresholds = float(recall), int(num_thresholds)
        self.class_id = class_id
        n = self.num_thresholds
        self.thresholds = [0.5] if n == 1 else \
            [0.0] + [(i + 1) * 1.0 / (n - 1) for i in range(n - 2)] + [1.0]
        for cell in ("true_positives", "false_positives", "true_negatives", "false_negatives"):
            setattr(self, cell, self.add_weight(cell, (len(self.thresholds),)))

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true, y_pred = losses.prepare(y_true, y_pred)
        if self.class_id is not None:
            y_true, y_pred = y_true[..., self.class_id], y_pred[..., self.class_id]
        y_pred = jg.clip_by_value(y_pred, 0.0, 1.0)
        counts = _threshold_counts(y_true, y_pred, self.thresholds, sample_weight)
        for cell, v in counts.items():
            getattr(self, cell).assign_add(jg.cast(v, self.dtype))

    def result(self):
        tp = self.true_positives.value()
        recalls = jg.divide_no_nan(tp, tp + self.false_negatives)
        precisions = jg.divide_no_nan(tp, tp + self.false_positives)
        feasible = recalls >= self.recall
        return jg.maximum(jg.reduce_max(jg.where(feasible, precisions,
                                                 jg.zeros_like(precisions))), 0.0)

    def get_config(self):
        return {**super().get_config(), "recall": self.recall,
                "num_thresholds": self.num_thresholds, "class_id": self.class_id}


_MORE_CLASSES = [TopKCategoricalAccuracy, SparseTopKCategoricalAccuracy, CosineSimilarity,
                 MeanSquaredLogarithmicError, LogCoshError, TruePositives, FalsePositives,
                 TrueNegatives, FalseNegatives, AUC, MeanIoU, PrecisionAtRecall,
                 MeanAbsolutePercentageError]
_CLASSES += _MORE_CLASSES
_TABLE.update({c.__name__: c for c in _MORE_CLASSES})
_STRINGS.update({"top_k_categorical_accuracy": TopKCategoricalAccuracy,
                 "sparse_top_k_categorical_accuracy": SparseTopKCategoricalAccuracy,
                 "cosine_similarity": CosineSimilarity, "msle": MeanSquaredLogarithmicError,
                 "mean_squared_logarithmic_error": MeanSquaredLogarithmicError,
                 "logcosh": LogCoshError, "auc": AUC, "mape": MeanAbsolutePercentageError,
                 "mean_absolute_percentage_error": MeanAbsolutePercentageError})
