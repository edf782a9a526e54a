"""Model (subclassing with ``call``, or functional ``Model(inputs, outputs)``) and Sequential:
compile, fit, evaluate, predict, summary, save; ``load_model``.

>>> model = jg.keras.Sequential([jg.keras.layers.Dense(30, activation="relu",
...                                                    input_shape=(8,)),
...                              jg.keras.layers.Dense(1)])
>>> model.compile(loss="mse", optimizer="sgd")
>>> history = model.fit(X, y, epochs=10, validation_data=(X_val, y_val))
"""

import numpy as np

import jitgraph as jg

from . import functional, losses, masking, mixed_precision, optimizers, serialization, training
from . import metrics as metrics_mod
from .base_layer import Layer, flatten, map_structure
from .functional import InputLayer, KerasTensor

_ACCURACY = {"sparse_categorical_crossentropy": metrics_mod.SparseCategoricalAccuracy,
             "categorical_crossentropy": metrics_mod.CategoricalAccuracy,
             "binary_crossentropy": metrics_mod.BinaryAccuracy}


class Model(Layer):
    """A layer with training: subclass it and define ``call``, or build it from the
    functional API as ``Model(inputs=..., outputs=...)``."""

    def __new__(cls, *args, **kwargs):
        if cls is Model and (len(args) >= 2 or "inputs" in kwargs):
            return Layer.__new__(Functional, *args, **kwargs)
        return super().__new__(cls, *args, **kwargs)

    def __init__(self, *args, **kwargs):
        base = {k: kwargs.pop(k) for k in ("name", "trainable", "dtype") if k in kwargs}
        super().__init__(**base)
        self.optimizer = None
        self.loss = None
        self._loss_fn = None
        self.compiled_metrics = []
        self._metric_specs = []
        self._weighted_metric_specs = []
        self._weighted_ids = set()  # compiled metrics that receive the sample weights
        self._metrics_resolved = False
        self._loss_tracker = None
        self._run_eagerly = False
        self._reset_functions()
        self.stop_training = False
        self.history = None
        self._lazy_building = False

    # the outputs carry the masks their layers attached (masking.py); the model adds none
    supports_masking = True

    def compute_mask(self, inputs, mask=None):
        return None

    def _reset_functions(self):
        self._train_function = self._test_function = self._predict_function = None

    # -- building
    def _maybe_build(self, inputs):
        self._lazy_building = True
        try:
            super()._maybe_build(inputs)
        finally:
            self._lazy_building = False

    def build(self, input_shape):
        """Creates the weights: called lazily on the first call, or by the user with an
        input shape (the batch dim may be None), which runs the model once on zeros."""
        if self._lazy_building or self.built:
            self.built = True
            return
        self._run_on_zeros(input_shape, jg.float32)

    def _run_on_zeros(self, batch_shape, dtype):
        def zeros(shape):
            return jg.zeros(tuple(1 if d is None else d for d in shape), dtype=dtype)

        shape = list(batch_shape)
        dummy = [zeros(s) for s in shape] if shape and isinstance(shape[0], (list, tuple)) \
            else zeros(shape)
        with jg.init_scope():
            self(dummy, training=False)
        self._clear_losses()
        self._build_input_shape = batch_shape

    def call(self, inputs, training=None):
        raise NotImplementedError(f"{type(self).__name__} must implement call(inputs), or be "
                                  "built with Model(inputs=..., outputs=...)")

    # -- compile
    def compile(self, optimizer="rmsprop", loss=None, metrics=None, loss_weights=None,
                weighted_metrics=None, run_eagerly=False, steps_per_execution=None,
                jit_compile=None, **kwargs):
        """Sets the optimizer, the loss and the metrics (objects or names) for fit.
        ``metrics`` ignore the sample weights; ``weighted_metrics`` receive them (a name
        also in ``metrics`` reports as "weighted_<name>"), as in Keras."""
        self.optimizer = optimizers.get(optimizer)
        if self._policy.name == "mixed_float16" and not isinstance(
                self.optimizer, mixed_precision.LossScaleOptimizer):  # as Keras does
            self.optimizer = mixed_precision.LossScaleOptimizer(self.optimizer)
        self.loss = loss
        self._loss_fn = losses.get(loss)
        self._metric_specs = list(metrics or [])
        self._weighted_metric_specs = list(weighted_metrics or [])
        self.compiled_metrics = []
        self._metrics_resolved = False
        self._loss_tracker = metrics_mod.Mean(name="loss")
        self._run_eagerly = bool(run_eagerly)
        self._reset_functions()

    @property
    def run_eagerly(self):
        return self._run_eagerly

    @run_eagerly.setter
    def run_eagerly(self, value):
        self._run_eagerly = bool(value)
        self._reset_functions()

    def _resolve_metrics(self, y_true, y_pred):
        """Turns compile's metric names into Metric objects; "accuracy" becomes the kind that
        fits the loss (or the shapes of targets and predictions)."""
        if self._metrics_resolved:
            return
        plain = [self._resolve_metric(m, y_true, y_pred) for m in self._metric_specs]
        names = {m.name for m in plain}
        weighted = []
        for spec in self._weighted_metric_specs:
            m = self._resolve_metric(spec, y_true, y_pred)
            if m.name in names:
                m.name = f"weighted_{m.name}"
            weighted.append(m)
        self.compiled_metrics = plain + weighted
        self._weighted_ids = {id(m) for m in weighted}
        self._metrics_resolved = True

    def _resolve_metric(self, spec, y_true, y_pred):
        if spec not in ("accuracy", "acc"):
            return metrics_mod.get(spec)
        loss_name = getattr(self._loss_fn, "__name__", None) or getattr(
            getattr(self._loss_fn, "fn", None), "__name__", None)
        cls = _ACCURACY.get(loss_name)
        if cls is None:
            pred_shape, true_shape = tuple(y_pred.shape), tuple(np.shape(y_true))
            if pred_shape[-1:] == (1,):
                cls = metrics_mod.BinaryAccuracy
            elif len(true_shape) == len(pred_shape) and true_shape[-1] == pred_shape[-1]:
                cls = metrics_mod.CategoricalAccuracy
            else:
                cls = metrics_mod.SparseCategoricalAccuracy
        return cls(name=spec)

    @property
    def metrics(self):
        """The loss tracker, the compiled metrics, then metrics tracked by layers."""
        head = ([self._loss_tracker] if self._loss_tracker else []) + self.compiled_metrics
        ids = {id(m) for m in head}
        return head + [m for m in super().metrics if id(m) not in ids]

    @property
    def metrics_names(self):
        return [m.name for m in self.metrics]

    def reset_metrics(self):
        for m in self.metrics:
            m.reset_state()

    # -- the steps (overridable, as in Keras)
    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None):
        """The compiled loss plus every loss in ``self.losses`` (regularization, add_loss)."""
        total = None
        y_pred = map_structure(_loss_precision, y_pred)
        if self._loss_fn is not None:
            y_true = _match_rank(y, y_pred)
            if isinstance(self._loss_fn, losses.Loss):
                total = self._loss_fn(y_true, y_pred, sample_weight=sample_weight)
            else:
                total = losses.reduce_weighted(self._loss_fn(y_true, y_pred), sample_weight,
                                               mask=losses.output_mask(y_pred))
        extra = [_loss_precision(t) for t in self.losses]
        if extra:
            reg = extra[0]
            for t in extra[1:]:
                reg = reg + t
            total = reg if total is None else total + reg
        return total

    def compute_metrics(self, x, y, y_pred, sample_weight=None):
        for m in self.compiled_metrics:
            w = sample_weight if id(m) in self._weighted_ids else None
            m.update_state(_match_rank(y, y_pred), y_pred, sample_weight=w)
        return {m.name: m.result() for m in self.metrics}

    def train_step(self, data):
        x, y, sample_weight = unpack(data)
        scaling = isinstance(self.optimizer, mixed_precision.LossScaleOptimizer)
        with jg.GradientTape() as tape:
            y_pred = self(x, training=True)
            loss = self.compute_loss(x, y, y_pred, sample_weight)
            scaled = self.optimizer.get_scaled_loss(loss) if scaling else loss
        variables = self.trainable_variables
        grads = tape.gradient(scaled, variables)
        if scaling:
            grads = self.optimizer.get_unscaled_gradients(grads)
        self.optimizer.apply_gradients(zip(grads, variables))
        self._loss_tracker.update_state(loss, sample_weight=_batch_size(y_pred))
        return self.compute_metrics(x, y, y_pred, sample_weight)

    def test_step(self, data):
        x, y, sample_weight = unpack(data)
        y_pred = self(x, training=False)
        loss = self.compute_loss(x, y, y_pred, sample_weight)
        self._loss_tracker.update_state(loss, sample_weight=_batch_size(y_pred))
        return self.compute_metrics(x, y, y_pred, sample_weight)

    def predict_step(self, data):
        x, _, _ = unpack(data)
        return self(x, training=False)

    def _as_tuple(self, logs):
        self._step_metric_names = list(logs)
        return tuple(logs.values())

    def _train_step_fn(self, data):
        return self._as_tuple(self.train_step(data))

    def _test_step_fn(self, data):
        return self._as_tuple(self.test_step(data))

    def _predict_step_fn(self, data):
        return self.predict_step(data)

    # -- the loops
    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose=1, callbacks=None,
            validation_split=0.0, validation_data=None, shuffle=True, sample_weight=None,
            initial_epoch=0, steps_per_epoch=None, validation_steps=None, **kwargs):
        """Trains for ``epochs`` epochs; returns a History (``history.history["loss"]``).
        ``x`` may be a jg.data.Dataset (or generator) of ``(x, y)`` batches."""
        return training.fit(self, x, y, batch_size, epochs, verbose, callbacks,
                            validation_split, validation_data, shuffle, sample_weight,
                            initial_epoch, steps_per_epoch, validation_steps)

    def evaluate(self, x=None, y=None, batch_size=None, verbose=1, sample_weight=None,
                 return_dict=False, steps=None, **kwargs):
        """The loss (and metrics) on the data: a float, a list, or a dict."""
        return training.evaluate(self, x, y, batch_size, verbose, return_dict, sample_weight,
                                 steps)

    def predict(self, x, batch_size=None, verbose=0, steps=None, **kwargs):
        """The model's outputs as NumPy arrays, computed batch by batch."""
        return training.predict(self, x, batch_size, verbose, steps)

    def __call__(self, inputs, *args, **kwargs):
        return super().__call__(inputs, *args, **kwargs)

    # -- inspection and saving
    def summary(self, line_length=80, print_fn=None):
        """Prints a table of the layers, their output shapes and parameter counts."""
        from .summary import summary_text

        text = summary_text(self, line_length)
        (print_fn or print)(text)

    def save(self, filepath, overwrite=True, include_optimizer=True, **kwargs):
        """Writes the architecture (JSON) and weights (NumPy .npz): a folder, or one zip file
        when ``filepath`` ends with .keras or .zip."""
        from .saving import save_model

        save_model(self, filepath, overwrite=overwrite, include_optimizer=include_optimizer)

    def export(self, filepath, format="tf_saved_model", verbose=True):  # noqa: A002
        """Writes the model as a saved model (its call traced as graphs, no Python code):
        ``jg.saved_model.load(filepath).serve(x)`` runs it."""
        if format not in ("tf_saved_model", "jitgraph"):
            raise ValueError(f"export: format must be 'tf_saved_model', got {format!r}")
        jg.saved_model.save(self, filepath)

    def save_weights(self, filepath):
        from .saving import save_weights

        save_weights(self, filepath)

    def load_weights(self, filepath):
        from .saving import load_weights

        load_weights(self, filepath)

    def get_compile_config(self):
        if self.optimizer is None:
            return None
        return {"optimizer": serialization.serialize(self.optimizer),
                "loss": _serialize_loss(self.loss),
                "metrics": [metrics_mod.serialize(m) if not isinstance(m, str) else m
                            for m in self._metric_specs],
                "weighted_metrics": [metrics_mod.serialize(m) if not isinstance(m, str) else m
                                     for m in self._weighted_metric_specs],
                "run_eagerly": self._run_eagerly}


def _serialize_loss(loss):
    if loss is None or isinstance(loss, str):
        return loss
    return serialization.serialize(loss)


def _match_rank(y, y_pred):
    """Targets of shape (n,) against predictions of shape (n, 1) become (n, 1)."""
    if y is None or y_pred is None or not hasattr(y_pred, "shape"):
        return y
    if len(np.shape(y)) == 1 and len(y_pred.shape) == 2 and y_pred.shape[-1] == 1:
        return jg.expand_dims(y if jg.is_tensor(y) else jg.constant(y), -1)
    return y


def _batch_size(y_pred):
    """The batch size as a float tensor: the weight of this batch's mean loss in the
    epoch's mean (so a smaller last batch counts for less, as in Keras)."""
    first = flatten(y_pred)[0]
    return jg.cast(jg.shape(first)[0], jg.float32)


def unpack(data):
    """(x, y, sample_weight) from the tuple fit passes to train_step."""
    if not isinstance(data, tuple):
        return data, None, None
    data = data + (None,) * (3 - len(data))
    return data[0], data[1], data[2]


def _shapes_of(tensors):
    shapes = [tuple(t.shape) for t in flatten(tensors)]
    return shapes[0] if len(shapes) == 1 else shapes


class Sequential(Model):
    """A plain stack of layers, each feeding the next.

    >>> model = jg.keras.Sequential([jg.keras.Input(shape=(4,)),
    ...                              jg.keras.layers.Dense(3)])
    """

    def __init__(self, layers=None, name=None, **kwargs):
        super().__init__(name=name, **kwargs)
        self._layers = []
        for layer in layers or []:
            self.add(layer)

    def add(self, layer):
        """Appends a layer (or an ``Input``); builds the model when the input shape is
        known."""
        if isinstance(layer, KerasTensor):
            layer = layer._keras_history[0]
        if not isinstance(layer, Layer):
            raise TypeError(f"Sequential.add expects a Layer, got {layer!r}")
        self._layers.append(layer)
        self._output_shape = None  # another model: its output shape is recorded anew
        first = self._layers[0]
        if first._batch_input_shape is not None:
            self._run_on_zeros(first._batch_input_shape, first._dtype)

    def pop(self):
        if not self.layers:
            raise TypeError("Sequential.pop: there are no layers to remove")
        removed = [lay for lay in self._layers if not isinstance(lay, InputLayer)][-1]
        self._layers.remove(removed)
        self._output_shape = None
        return removed

    @property
    def layers(self):
        return [lay for lay in self._layers if not isinstance(lay, InputLayer)]

    def call(self, inputs, training=None):
        x = inputs
        for layer in self.layers:
            x = layer(x, training=training)
        return x

    def get_config(self):
        return {"name": self.name, "layers": [serialization.serialize(lay)
                                              for lay in self._layers]}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        from .layers import deserialize

        layers = [deserialize(c, custom_objects) for c in config["layers"]]
        return cls(layers=layers, name=config.get("name"))


class Functional(Model):
    """A model built from ``Input`` and layer calls on KerasTensors."""

    def __init__(self, inputs, outputs, name=None, **kwargs):
        super().__init__(name=name, **kwargs)
        self.inputs, self.outputs = inputs, outputs
        nodes = functional.nodes_between(inputs, outputs)
        self._nodes = nodes
        self._layers = []
        for kt in flatten(inputs):
            self._layers.append(kt._keras_history[0])
        for node in nodes:
            if node.layer not in self._layers:
                self._layers.append(node.layer)
        self.built = True
        self._output_shape = [o.shape for o in flatten(outputs)]

    @property
    def layers(self):
        return list(self._layers)

    @property
    def input_shape(self):
        """The shapes of the model's Inputs (a list for several)."""
        return _shapes_of(self.inputs)

    @property
    def output_shape(self):
        return _shapes_of(self.outputs)

    def call(self, inputs, training=None, mask=None):
        if not isinstance(self.inputs, (list, tuple)) and isinstance(inputs, (list, tuple)) \
                and len(inputs) == 1:
            inputs = inputs[0]
        if mask is not None:  # masks for the inputs, as Keras' Model(x, mask=...)
            for x, m in zip(flatten(inputs), flatten(mask)):
                if m is not None:
                    masking.set_mask(x, masking.as_bool(m))
        return functional.run_nodes(self.inputs, self.outputs, inputs, training)

    def get_config(self):
        from .saving import functional_config

        return functional_config(self)

    @classmethod
    def from_config(cls, config, custom_objects=None):
        from .saving import functional_from_config

        return functional_from_config(config, custom_objects)


def load_model(filepath, custom_objects=None, compile=True):  # noqa: A002 - Keras' name
    """Loads what ``model.save`` wrote; custom classes and functions come from
    ``custom_objects`` ({"HuberLoss": HuberLoss, ...})."""
    from .saving import load_model as _load

    return _load(filepath, custom_objects=custom_objects, compile=compile)


def save_model(model, filepath, overwrite=True, include_optimizer=True):
    model.save(filepath, overwrite=overwrite, include_optimizer=include_optimizer)


def clone_model(model, custom_objects=None):
    """A new model with the same architecture and freshly initialized weights."""
    from .layers import deserialize

    return deserialize(serialization.serialize(model), custom_objects)


def _loss_precision(t):
    """Losses are computed in float32 (as Keras does): float16 predictions are cast, keeping
    their mask."""
    if not jg.is_tensor(t) or not t.dtype.is_floating or t.dtype.size >= 4:
        return t
    y = jg.cast(t, jg.float32)
    masking.set_mask(y, masking.get_mask(t))
    return y
