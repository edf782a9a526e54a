"""Streaming metrics: state held in variables, updated batch by batch (also inside a compiled
train step), read with ``result()``.

>>> precision = jg.keras.metrics.Precision()
>>> precision([0, 1, 1, 1, 0, 1, 0, 1], [1, 1, 0, 1, 0, 1, 0, 1])   # 0.8
>>> precision([0, 1, 0, 0, 1, 0, 1, 1], [1, 0, 1, 1, 0, 0, 0, 0])   # 0.5 (both batches)
"""

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
        values = self._fn(y_true, y_pred, **self._fn_kwargs)
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


def top_k_categorical_accuracy(y_true, y_pred, k=5):
    raise NotImplementedError("top_k_categorical_accuracy needs a top_k op, which jitgraph "
                              "does not have yet")


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
