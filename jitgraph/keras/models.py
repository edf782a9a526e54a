"""Model (subclassing with ``call``, or functional ``Model(inputs, outputs)``) and Sequential:
compile, fit, evaluate, predict, summary, save; ``load_model``.

>>> model = jg.keras.Sequential([jg.keras.layers.Dense(30, activation="relu",
...                                                    input_shape=(8,)),
...                              jg.keras.layers.Dense(1)])
>>> model.compile(loss="mse", optimizer="sgd")
>>> history = model.fit(X, y, epochs=10, validation_data=(X_val, y_val))
"""


import jitgraph as jg

from . import (
    compile_utils,
    functional,
    masking,
    mixed_precision,
    optimizers,
    serialization,
    training,
)
from . import metrics as metrics_mod
from .base_layer import Layer, flatten, map_structure
from .functional import InputLayer, KerasTensor


class Model(Layer):
    """A layer with training: subclass it and define ``call``, or build it from the
    functional API as ``Model(inputs=..., outputs=...)``."""

    def __new__(cls, *args, **kwargs):
        if cls is Model and (len(args) >= 2 or "inputs" in kwargs):
            return Layer.__new__(Functional, *args, **kwargs)
        return super().__new__(cls, *args, **kwargs)

    def __init__(self, *args, **kwargs):
        if _functional_arguments(args, kwargs) and not isinstance(self, Functional):
            # a subclass of Model built as Model(inputs, outputs): a functional model that
            # keeps the subclass's methods (a custom train_step), as in Keras
            self.__class__ = _with_functional(type(self))
            Functional.__init__(self, *args, **kwargs)
            return
        base = {k: kwargs.pop(k) for k in ("name", "trainable", "dtype") if k in kwargs}
        super().__init__(**base)
        self.optimizer = None
        self.loss = None
        self.compiled_loss = compile_utils.LossesContainer(None)
        self.compiled_metrics = compile_utils.MetricsContainer()
        self._metric_specs = []
        self._weighted_metric_specs = []
        self._metrics_resolved = False
        self._compiled = False
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
        self.compiled_loss = compile_utils.LossesContainer(loss, loss_weights)
        self._metric_specs = metrics if isinstance(metrics, dict) else list(metrics or [])
        self._weighted_metric_specs = weighted_metrics if isinstance(weighted_metrics, dict) \
            else list(weighted_metrics or [])
        self.compiled_metrics = compile_utils.MetricsContainer(self._metric_specs,
                                                               self._weighted_metric_specs)
        self._metrics_resolved = False
        self._compiled = True
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

    @property
    def _loss_fn(self):
        """The loss function of a one-output model (None without a compiled loss)."""
        return self.compiled_loss.single

    def _resolve_metrics(self, y_true, y_pred):
        """Sets up the compiled losses and metrics for the model's outputs (their names
        and structure), from a first batch's targets and predictions."""
        if self._metrics_resolved:
            return
        names = compile_utils.output_names(self, y_pred)
        self.compiled_loss.build(names)
        self.compiled_metrics.build(names, y_true, y_pred, self.compiled_loss.loss_fn)
        self._metrics_resolved = True

    @property
    def metrics(self):
        """The loss tracker, the compiled metrics, then metrics tracked by layers."""
        head = ([self._loss_tracker] if self._loss_tracker else []) + \
            self.compiled_loss.metrics + list(self.compiled_metrics)
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
        """The compiled loss (each output's, weighted by loss_weights) plus every loss in
        ``self.losses`` (regularization, add_loss), computed in float32 under a mixed
        precision policy, as Keras does."""
        if y_pred is not None and not self._metrics_resolved:
            self._resolve_metrics(y, y_pred)
        y_pred = map_structure(_loss_precision, y_pred)
        return self.compiled_loss(y, y_pred, sample_weight,
                                  regularization_losses=[_loss_precision(t)
                                                         for t in self.losses])

    def compute_metrics(self, x, y, y_pred, sample_weight=None):
        self.compiled_metrics.update_state(y, y_pred, sample_weight)
        return {m.name: m.result() for m in self.metrics}

    def train_step(self, data):
        x, y, sample_weight = unpack(data)
        scaling = isinstance(self.optimizer, mixed_precision.LossScaleOptimizer)
        with jg.GradientTape() as tape:
            y_pred = self(x, training=True)
            loss = self.compute_loss(x, y, y_pred, sample_weight)
            scaled = self.optimizer.get_scaled_loss(loss) if scaling else loss
        variables = self.trainable_variables
        if variables:  # Keras trains a model without weights (only add_loss) as a no-op
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
            initial_epoch=0, steps_per_epoch=None, validation_steps=None, class_weight=None,
            validation_batch_size=None, validation_freq=1, **kwargs):
        """Trains for ``epochs`` epochs; returns a History (``history.history["loss"]``).
        ``x`` may be a jg.data.Dataset (or generator) of ``(x, y)`` batches."""
        _check_kwargs("fit", kwargs)
        return training.fit(self, x, y, batch_size, epochs, verbose, callbacks,
                            validation_split, validation_data, shuffle, sample_weight,
                            initial_epoch, steps_per_epoch, validation_steps, class_weight,
                            validation_batch_size, validation_freq)

    def evaluate(self, x=None, y=None, batch_size=None, verbose=1, sample_weight=None,
                 return_dict=False, steps=None, callbacks=None, **kwargs):
        """The loss (and metrics) on the data: a float, a list, or a dict."""
        _check_kwargs("evaluate", kwargs)
        return training.evaluate(self, x, y, batch_size, verbose, return_dict, sample_weight,
                                 steps, callbacks)

    def predict(self, x, batch_size=None, verbose=0, steps=None, callbacks=None, **kwargs):
        """The model's outputs as NumPy arrays, computed batch by batch."""
        _check_kwargs("predict", kwargs)
        return training.predict(self, x, batch_size, verbose, steps, callbacks)

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
        from .saving import _save_model

        _save_model(self, filepath, overwrite=overwrite, include_optimizer=include_optimizer)

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

    def get_layer(self, name=None, index=None):
        """The layer called ``name``, or the one at position ``index`` of ``layers``."""
        if index is not None and name is not None:
            raise ValueError("get_layer: give name or index, not both")
        if index is not None:
            if not -len(self.layers) <= index < len(self.layers):
                raise ValueError(f"get_layer: index {index} is out of range: the model "
                                 f"{self.name!r} has {len(self.layers)} layers")
            return self.layers[index]
        if name is not None:
            for layer in self.layers:
                if layer.name == name:
                    return layer
            raise ValueError(f"get_layer: no layer named {name!r} in model {self.name!r}; "
                             f"its layers are {[lay.name for lay in self.layers]}")
        raise ValueError("get_layer: give the layer's name or index")

    def to_json(self, **kwargs):
        """The architecture as JSON text (``jg.keras.models.model_from_json`` reads it)."""
        import json

        return json.dumps(serialization.serialize(self), **kwargs)

    @classmethod
    def from_config(cls, config, custom_objects=None):
        if "nodes" in config and "layers" in config:  # a functional model's config
            from .saving import functional_from_config

            model = functional_from_config(config, custom_objects)
            if cls is not Model and not isinstance(model, cls):
                model.__class__ = _with_functional(cls)
            return model
        with serialization.custom_object_scope(custom_objects):
            return serialization.call_with_config(cls, config)

    def plot_model(self, *args, **kwargs):
        from .utils import plot_model

        return plot_model(self, *args, **kwargs)

    def get_compile_config(self):
        if self.optimizer is None:
            return None
        return {"optimizer": serialization.serialize(self.optimizer),
                "loss": compile_utils.map_specs(_serialize_loss, self.loss),
                "loss_weights": self.compiled_loss._weights_spec,
                "metrics": compile_utils.map_specs(_serialize_metric, self._metric_specs),
                "weighted_metrics": compile_utils.map_specs(_serialize_metric,
                                                            self._weighted_metric_specs),
                "run_eagerly": self._run_eagerly}


# Keras' arguments for its worker threads: accepted, the data is read in this process
_IGNORED_LOOP_KWARGS = {"workers", "use_multiprocessing", "max_queue_size"}


def _check_kwargs(what, kwargs):
    unknown = sorted(set(kwargs) - _IGNORED_LOOP_KWARGS)
    if unknown:
        raise TypeError(f"{what}() got unexpected keyword arguments {unknown}")


def _functional_arguments(args, kwargs):
    """Whether a Model(...) call builds a functional model: inputs and outputs given."""
    return len(args) >= 2 or "inputs" in kwargs and "outputs" in kwargs or \
        len(args) == 1 and "outputs" in kwargs


_FUNCTIONAL_SUBCLASSES = {}


def _with_functional(cls):
    """``cls`` (a subclass of Model) with Functional's graph behind it: cls's own methods
    first, then Functional's."""
    if cls not in _FUNCTIONAL_SUBCLASSES:
        _FUNCTIONAL_SUBCLASSES[cls] = type(cls.__name__, (cls, Functional),
                                           {"__module__": cls.__module__,
                                            "__qualname__": cls.__qualname__})
    return _FUNCTIONAL_SUBCLASSES[cls]


def _serialize_metric(metric):
    if metric is None or isinstance(metric, str):
        return metric
    config = metrics_mod.serialize(metric)
    name = metric.__dict__.get("_compile_name")  # before compile prefixed the output's name
    if name is not None and isinstance(config, dict) and "name" in config.get("config", {}):
        config["config"]["name"] = name
    return config


def _serialize_loss(loss):
    if loss is None or isinstance(loss, str):
        return loss
    return serialization.serialize(loss)


_match_rank = compile_utils.match_rank


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


def _input_signature(layer):
    """(batch input shape, dtype) a Sequential learns from its first layer: the layer's
    input_shape / Input, or the single Input of a model used as the first layer (a frozen
    base model); (None, None) when unknown."""
    if layer._batch_input_shape is not None:
        return layer._batch_input_shape, layer._dtype
    if isinstance(layer, Model):
        try:
            inputs = flatten(layer.inputs)
        except AttributeError:  # a Sequential without an input shape, a subclassed model
            return None, None
        if len(inputs) == 1:
            return tuple(inputs[0].shape), inputs[0].dtype
    return None, None


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
        shape, dtype = _input_signature(first)
        if shape is not None:
            self._run_on_zeros(shape, dtype)
            self._extend_graph(layer)

    def _extend_graph(self, layer):
        """With a known input shape, the layers are also called on KerasTensors, one node
        each, so ``model.inputs``, ``model.outputs`` and ``layer.output`` exist (feature
        extraction with ``Model(model.inputs, [l.output for l in model.layers])``)."""
        if self.__dict__.get("_graph_error") is not None:
            return
        try:
            if not self.__dict__.get("_graph"):
                first = self._layers[0]
                if isinstance(first, InputLayer):
                    self._graph = [first.get_output_at(0)]
                else:
                    shape, dtype = _input_signature(first)
                    self._graph = [functional.Input(batch_shape=shape, dtype=dtype)]
                todo = self.layers
            else:
                todo = [] if isinstance(layer, InputLayer) else [layer]
            for lay in todo:
                self._graph.append(lay(self._graph[-1]))
        except Exception as e:  # noqa: BLE001 - reported when the graph is asked for
            self._graph, self._graph_error = None, e

    def _graph_ends(self):
        graph = self.__dict__.get("_graph")
        if not graph:
            why = self.__dict__.get("_graph_error")
            raise AttributeError(
                f"Sequential model {self.name!r} has no symbolic inputs/outputs: "
                + (f"calling its layers on a KerasTensor failed ({why})" if why else
                   "give it an input shape first (jg.keras.Input(shape=...) as the first "
                   "layer, or input_shape= on the first layer)"))
        return graph

    @property
    def inputs(self):
        return [self._graph_ends()[0]]

    @property
    def outputs(self):
        return [self._graph_ends()[-1]]

    @property
    def input(self):
        return self._graph_ends()[0]

    @property
    def output(self):
        return self._graph_ends()[-1]

    def pop(self):
        if not self.layers:
            raise TypeError("Sequential.pop: there are no layers to remove")
        removed = [lay for lay in self._layers if not isinstance(lay, InputLayer)][-1]
        self._layers.remove(removed)
        self._output_shape = None
        if self.__dict__.get("_graph"):
            self._graph.pop()
        return removed

    @property
    def layers(self):
        return [lay for lay in self._layers if not isinstance(lay, InputLayer)]

    def call(self, inputs, training=None):
        graph = self.__dict__.get("_graph")
        x = functional.standardize_input(graph[0], inputs) if graph else inputs
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
        self._layers = functional.layers_in_keras_order(inputs, outputs)
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
        inputs = self._inputs_by_name(inputs)
        if mask is not None:  # masks for the inputs, as Keras' Model(x, mask=...)
            for x, m in zip(flatten(inputs), flatten(mask)):
                if m is not None:
                    masking.set_mask(x, masking.as_bool(m))
        return functional.run_nodes(self.inputs, self.outputs, inputs, training)

    def _inputs_by_name(self, inputs):
        """A dict of inputs keyed by the Inputs' names, in the order of ``self.inputs`` (a
        dict's order is not kept through jg.function, which sorts its keys)."""
        if not isinstance(inputs, dict) or isinstance(self.inputs, dict):
            return inputs
        names = [kt.name for kt in flatten(self.inputs)]
        missing = [n for n in names if n not in inputs]
        if missing:
            if len(inputs) == len(names) == 1:
                return next(iter(inputs.values()))
            raise ValueError(f"model {self.name!r}: the inputs are a dict with keys "
                             f"{sorted(inputs)} but the model's Inputs are named {names}; "
                             f"{missing} are missing")
        ordered = [inputs[n] for n in names]
        return ordered if isinstance(self.inputs, (list, tuple)) else ordered[0]

    @property
    def input(self):
        """The model's Input KerasTensor (a list for several inputs)."""
        return self.inputs

    @property
    def output(self):
        return self.outputs

    @property
    def input_names(self):
        return [kt.name for kt in flatten(self.inputs)]

    @property
    def output_names(self):
        """The names of the outputs: a dict's keys, else the layers that make them."""
        if isinstance(self.outputs, dict):
            return list(self.outputs)
        return [kt._keras_history[0].name for kt in flatten(self.outputs)]

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


def model_from_config(config, custom_objects=None):
    """A model (or layer) from ``{"class_name": ..., "config": ...}``, untrained."""
    from .layers import deserialize

    return deserialize(config, custom_objects)


def model_from_json(json_string, custom_objects=None):
    """The model ``model.to_json()`` describes, with fresh weights."""
    import json

    return model_from_config(json.loads(json_string), custom_objects)


def _loss_precision(t):
    """Losses are computed in float32 (as Keras does): float16 predictions are cast, keeping
    their mask."""
    if not jg.is_tensor(t) or not t.dtype.is_floating or t.dtype.size >= 4:
        return t
    y = jg.cast(t, jg.float32)
    masking.set_mask(y, masking.get_mask(t))
    return y
