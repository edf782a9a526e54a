"""The Layer base class: lazy build, weights, losses, the training flag, configs.

A layer builds itself on its first call from the input shape (inside ``jg.init_scope``, so
its variables are ordinary eager variables even when the first call happens while a train
step is traced). Sub-layers, variables and metrics assigned as attributes (also inside
lists, tuples and dicts) are found when weights or losses are collected.
"""

import inspect
import re
import sys
import threading

import numpy as np

import jitgraph as jg

from . import activations, constraints, initializers, regularizers, serialization

_NAME_COUNTS = {}
_context = threading.local()


def unique_name(base):
    """"dense", "dense_1", ...: Keras' automatic layer names."""
    n = _NAME_COUNTS.get(base, 0)
    _NAME_COUNTS[base] = n + 1
    return base if n == 0 else f"{base}_{n}"


def reset_names():
    _NAME_COUNTS.clear()


def snake_case(name):
    """Keras' default names: ``Dense`` -> dense, ``Conv2D`` -> conv2d, ``LSTM`` -> lstm,
    ``ReLU`` -> re_lu, ``MultiHeadAttention`` -> multi_head_attention."""
    out = re.sub("(.)([A-Z][a-z0-9]+)", r"\1_\2", name)
    out = re.sub("([a-z])([A-Z])", r"\1_\2", out).lower()
    return out if not out.startswith("_") else "private" + out


def _batch_free(values):
    return map_structure(lambda t: (None,) + tuple(t.shape)[1:] if hasattr(t, "shape") and
                         len(t.shape) else None, values)


def _merge_shapes(old, new):
    """The output shape a layer reports (summary, output_shape): the new call's, with the
    dims that differed between calls as None (a sequence length that varies)."""
    if old is None or new is None or type(old) is not type(new):
        return new
    if isinstance(new, tuple) and all(d is None or isinstance(d, int) for d in new):
        if len(old) != len(new) or not all(d is None or isinstance(d, int) for d in old):
            return new
        return tuple(a if a == b else None for a, b in zip(old, new))
    if isinstance(new, (list, tuple)) and len(old) == len(new):
        return type(new)(_merge_shapes(a, b) for a, b in zip(old, new))
    if isinstance(new, dict) and old.keys() == new.keys():
        return {k: _merge_shapes(old[k], v) for k, v in new.items()}
    return new


def map_structure(fn, x):
    """Applies ``fn`` to the leaves of nested lists, tuples and dicts."""
    if isinstance(x, (list, tuple)):
        return type(x)(map_structure(fn, v) for v in x)
    if isinstance(x, dict):
        return {k: map_structure(fn, v) for k, v in x.items()}
    return fn(x)


def flatten(x):
    if isinstance(x, (list, tuple)):
        return [leaf for v in x for leaf in flatten(v)]
    if isinstance(x, dict):
        return [leaf for k in x for leaf in flatten(x[k])]
    return [x]


def _call_stack():
    s = getattr(_context, "stack", None)
    if s is None:
        s = _context.stack = []
    return s


def in_outer_call():
    return not _call_stack()


def _accepts(fn, name):
    params = inspect.signature(fn).parameters
    return name in params or any(p.kind is p.VAR_KEYWORD for p in params.values())


class Layer:
    """Base class of layers: override ``build(input_shape)`` and ``call(inputs, training=None)``
    and, for saving, ``get_config``. Masks (masking.py): ``call`` may take ``mask=None``;
    ``supports_masking`` and ``compute_mask(inputs, mask)`` say which mask the outputs carry.

    >>> class MyDense(jg.keras.layers.Layer):
    ...     def __init__(self, units, **kwargs):
    ...         super().__init__(**kwargs)
    ...         self.units = units
    ...     def build(self, input_shape):
    ...         self.kernel = self.add_weight(name="kernel", shape=[input_shape[-1], self.units])
    ...     def call(self, x):
    ...         return x @ self.kernel
    """

    def __new__(cls, *args, **kwargs):
        obj = super().__new__(cls)
        try:  # remember the constructor's arguments: the default get_config uses them
            bound = inspect.signature(cls.__init__).bind(None, *args, **kwargs)
            cfg = {}
            for k, v in list(bound.arguments.items())[1:]:
                kind = inspect.signature(cls.__init__).parameters[k].kind
                if kind is inspect.Parameter.VAR_KEYWORD:
                    cfg.update(v)
                elif kind is not inspect.Parameter.VAR_POSITIONAL:
                    cfg[k] = v
            obj._auto_config = cfg
        except TypeError:
            obj._auto_config = {}
        return obj

    def __init__(self, trainable=True, name=None, dtype=None, input_shape=None,
                 input_dim=None, batch_input_shape=None, batch_size=None,
                 activity_regularizer=None, dynamic=False, **kwargs):
        unknown = set(kwargs) - {"autocast", "weights", "input_length"}
        if unknown:
            raise TypeError(f"{type(self).__name__}() got unexpected keyword arguments "
                            f"{sorted(unknown)}")
        self._name = name or unique_name(snake_case(type(self).__name__))
        self.trainable = trainable
        self._set_dtype_policy(dtype)
        self._autocast_weights = bool(kwargs.get("autocast", True))  # Keras 3's argument
        self.built = False
        self._trainable_weights, self._non_trainable_weights = [], []
        self._losses, self._callable_losses = [], []
        self._build_input_shape = None
        self._output_shape = self._input_shape = None
        self.activity_regularizer = regularizers.get(activity_regularizer)
        if input_dim is not None and input_shape is None:
            input_shape = (input_dim,)
        if input_shape is not None and batch_input_shape is None:
            batch_input_shape = (batch_size,) + tuple(input_shape)
        self._batch_input_shape = None if batch_input_shape is None \
            else tuple(batch_input_shape)

    # -- identity
    @property
    def trainable(self):
        return self.__dict__.get("_trainable", True)

    @trainable.setter
    def trainable(self, value):
        """Setting it sets it on every nested layer too, as in Keras (a frozen model's
        BatchNormalization layers then run in inference mode)."""
        value = bool(value)
        self.__dict__["_trainable"] = value
        if "_trainable_weights" in self.__dict__:  # past __init__: sub-layers may exist
            for layer in self._flatten_layers(include_self=False):
                layer.__dict__["_trainable"] = value

    @property
    def name(self):
        return self._name

    @property
    def dtype(self):
        """The dtype of the layer's variables (Keras: the policy's variable dtype)."""
        return self._policy.variable_dtype

    @property
    def compute_dtype(self):
        """The dtype the layer computes in; floating inputs are cast to it."""
        return self._dtype.name

    @property
    def variable_dtype(self):
        return self._policy.variable_dtype

    @property
    def dtype_policy(self):
        """The layer's jg.keras.mixed_precision.Policy (``dtype=`` or the global policy)."""
        return self._policy

    @dtype_policy.setter
    def dtype_policy(self, value):
        self._set_dtype_policy(value)

    def _set_dtype_policy(self, dtype):
        from . import mixed_precision

        self._policy = mixed_precision.get_policy(dtype)
        self._dtype = jg.as_dtype(self._policy.compute_dtype)  # what layers compute in

    # Layers whose statistics need float32 (the normalizations) set this: under a 16-bit
    # compute dtype they run in float32 and return the compute dtype, as Keras does.
    _float32_internals = False

    def _run_dtype(self):
        if self._float32_internals and self._dtype.is_floating and self._dtype.size < 4:
            return jg.float32
        return self._dtype

    # -- building
    def build(self, input_shape):
        """Creates the layer's weights; called once, on the first call, from the input
        shape (a TensorShape, or a list of them for several inputs)."""
        self.built = True

    def _maybe_build(self, inputs):
        if self.built:
            return
        shapes = map_structure(lambda t: jg.TensorShape(t.shape) if hasattr(t, "shape")
                               else None, inputs)
        self._build_input_shape = shapes
        self._build_input_dtype = [t.dtype.name for t in flatten(inputs) if hasattr(t, "dtype")]
        with jg.init_scope():
            self.build(shapes)
        self.built = True

    def add_weight(self, name=None, shape=None, dtype=None, initializer=None, regularizer=None,
                   trainable=None, constraint=None, **kwargs):
        """Creates a variable of this layer (eagerly, even while tracing).

        ``initializer`` defaults to "glorot_uniform" for floats and "zeros" otherwise;
        ``regularizer(weight)`` adds to ``losses``; ``constraint(weight)`` runs after each
        optimizer update.
        """
        if isinstance(name, (tuple, list)):  # Keras 3 order: add_weight(shape, initializer)
            name, shape = kwargs.pop("name", None), name
        shape = () if shape is None else tuple(int(d) for d in shape)
        dtype = jg.as_dtype(dtype or self._policy.variable_dtype)
        if initializer is None:
            initializer = "glorot_uniform" if dtype.is_floating else "zeros"
        init = initializers.get(initializer)
        trainable = True if trainable is None else bool(trainable)
        with jg.init_scope():
            value = init(shape, dtype=dtype)
            var = jg.Variable(value, trainable=trainable, dtype=dtype,
                              name=f"{self.name}/{name or 'weight'}",
                              constraint=constraints.get(constraint))
        var._autocast = kwargs.get("autocast", True)  # read in the compute dtype in call
        (self._trainable_weights if trainable else self._non_trainable_weights).append(var)
        _checkpoint_created(self)
        reg = regularizers.get(regularizer)
        if reg is not None:
            self._callable_losses.append(lambda: reg(var))
        return var

    # -- calling
    def __call__(self, inputs, *args, **kwargs):
        from . import functional

        input_spec.check_layer(self, inputs)  # self.input_spec, when the layer sets one
        if functional.is_symbolic_input(inputs):
            return functional.call_layer_symbolically(self, inputs, args, kwargs)
        run_dtype = self._run_dtype()
        inputs = self._autocast(inputs, run_dtype)
        stack = _call_stack()
        training = kwargs.get("training")
        if training is None and stack:
            training = stack[-1]
        if _accepts(self.call, "training"):
            if training is not None or "training" in kwargs:
                kwargs["training"] = training
        else:
            kwargs.pop("training", None)
        if not stack:
            self._clear_losses()
        self._maybe_build(inputs)
        previous_mask = masking.before_call(self, inputs, args, kwargs)
        stack.append(training)
        try:
            with jg.variables.autocast_variables(run_dtype if self._autocast_weights else None):
                outputs = self.call(inputs, *args, **kwargs)
        finally:
            stack.pop()
        if run_dtype is not self._dtype:
            outputs = self._autocast(outputs, self._dtype)
        masking.after_call(self, inputs, outputs, previous_mask)
        if self.activity_regularizer is not None:
            for o in flatten(outputs):
                self.add_loss(self.activity_regularizer(o) / jg.cast(jg.shape(o)[0], o.dtype))
        self._input_shape = _merge_shapes(self._input_shape, _batch_free(inputs))
        self._output_shape = _merge_shapes(self._output_shape, _batch_free(outputs))
        return outputs

    def call(self, inputs, *args, **kwargs):
        return inputs

    # -- masking (see masking.py)
    @property
    def supports_masking(self):
        """Whether the layer attaches ``compute_mask``'s mask to its outputs; by default True
        when a subclass overrides ``compute_mask``. Settable (``self.supports_masking =
        True`` passes masks through unchanged)."""
        own = self.__dict__.get("_supports_masking")
        if own is not None:
            return own
        return type(self).compute_mask is not Layer.compute_mask

    @supports_masking.setter
    def supports_masking(self, value):
        self.__dict__["_supports_masking"] = bool(value)

    def compute_mask(self, inputs, mask=None):
        """The mask of the outputs given the inputs and their mask (default: the input's
        mask, for layers that keep the sequence axis)."""
        return mask

    def _autocast(self, inputs, target):
        def cast(x):
            if isinstance(x, jg.Variable):
                x = x.value()
            if isinstance(x, (np.ndarray, list, float, int, np.generic)):
                arr = np.asarray(x)
                if (arr.dtype.kind == "f" or arr.dtype.name == "bfloat16") and \
                        target.is_floating:
                    arr = arr.astype(target.as_numpy_dtype)
                elif arr.dtype.kind in "iu" and arr.dtype != np.int32:  # uint8 images too
                    arr = arr.astype(np.int32)
                return jg.constant(arr)
            if jg.is_tensor(x) and x.dtype.is_floating and target.is_floating \
                    and x.dtype != target:
                y = jg.cast(x, target)
                masking.set_mask(y, masking.get_mask(x))  # the cast keeps the mask
                return y
            return x

        return map_structure(cast, inputs)

    def compute_output_shape(self, input_shape):
        raise NotImplementedError(f"{type(self).__name__}.compute_output_shape is not "
                                  "implemented; call the layer on data instead")

    # -- losses
    def add_loss(self, loss):
        """Adds a loss tensor (or a zero-argument callable) to ``losses``; fit adds them
        to the training loss."""
        if callable(loss) and not jg.is_tensor(loss):
            self._callable_losses.append(loss)
        else:
            self._losses.append(loss)

    def add_metric(self, value, name=None, aggregation="mean"):
        """Reports the streaming mean of ``value`` under ``name`` in fit's logs."""
        from . import metrics

        registry = self.__dict__.setdefault("_added_metrics", {})
        name = name or f"{self.name}_metric_{len(registry)}"
        if name not in registry:
            registry[name] = (metrics.Mean if aggregation == "mean" else metrics.Sum)(name=name)
        registry[name].update_state(value)

    @property
    def losses(self):
        out = []
        for layer in self._flatten_layers():
            out.extend(layer._losses)
            out.extend(fn() for fn in layer._callable_losses)
        return out

    def _clear_losses(self):
        for layer in self._flatten_layers():
            layer._losses = []

    # -- tracking
    def _tracked_values(self):
        for key, value in self.__dict__.items():
            if key in ("_auto_config", "_output_shape", "_input_shape", "_build_input_shape",
                       "_inbound_nodes", "inputs", "outputs", "_nodes", "history", "optimizer",
                       "_metric_specs", "_weighted_metric_specs", "_graph"):
                continue
            yield from _leaves(value)

    def _flatten_layers(self, include_self=True):
        """This layer and all layers nested in its attributes, depth first, each once."""
        seen, out = set(), []

        def visit(layer):
            if id(layer) in seen:
                return
            seen.add(id(layer))
            out.append(layer)
            for v in layer._tracked_values():
                if isinstance(v, Layer):
                    visit(v)

        visit(self)
        return out if include_self else out[1:]

    @property
    def layers(self):
        return [v for v in _unique(self._tracked_values()) if isinstance(v, Layer)]

    def _own_variables(self):
        own = list(self._trainable_weights) + list(self._non_trainable_weights)
        ids = {id(v) for v in own}
        extra = [v for v in self._tracked_values()
                 if isinstance(v, jg.Variable) and id(v) not in ids]
        return own, _unique(extra)

    def _gather(self, seen):
        """(trainable, non_trainable) variables of this layer and its sub-layers; a layer
        with trainable=False turns all of its variables non-trainable."""
        own, extra = self._own_variables()
        tr = [v for v in own + extra if v.trainable]
        nt = [v for v in own + extra if not v.trainable]
        for child in self.layers:
            if id(child) not in seen:
                seen.add(id(child))
                ct, cn = child._gather(seen)
                tr, nt = tr + ct, nt + cn
        if not self.trainable:
            return [], _unique(tr + nt)
        return _unique(tr), _unique(nt)

    def _collect(self, want_trainable):
        tr, nt = self._gather({id(self)})
        return tr if want_trainable else nt

    @property
    def trainable_weights(self):
        return self._collect(True)

    @property
    def non_trainable_weights(self):
        return self._collect(False)

    @property
    def weights(self):
        """This layer's own weights, then each sub-layer's, in the order they were
        tracked, whatever is trainable (Keras' order: ``get_weights`` lists match between
        Keras and jitgraph, BatchNormalization's statistics next to its gamma and beta)."""
        return _unique(self._ordered_weights(set()))

    def _ordered_weights(self, seen):
        own, extra = self._own_variables()
        out = list(own) + list(extra)
        for child in self.layers:
            if id(child) not in seen:
                seen.add(id(child))
                out.extend(child._ordered_weights(seen))
        return out

    trainable_variables = trainable_weights
    non_trainable_variables = non_trainable_weights
    variables = weights

    @property
    def metrics(self):
        """Metric objects tracked as attributes of this layer and its sub-layers."""
        from .metrics import Metric

        out = []
        for layer in self._flatten_layers():
            out.extend(v for v in layer._tracked_values() if isinstance(v, Metric))
            out.extend(layer.__dict__.get("_added_metrics", {}).values())
        return _unique(out)

    def get_weights(self):
        return [np.array(v.numpy()) for v in self.weights]

    def set_weights(self, weights):
        mine = self.weights
        if len(weights) != len(mine):
            raise ValueError(f"set_weights on layer {self.name!r}: got {len(weights)} arrays "
                             f"but the layer has {len(mine)} weights")
        for v, w in zip(mine, weights):
            w = np.asarray(w)
            if tuple(w.shape) != tuple(v.shape):
                raise ValueError(f"set_weights on layer {self.name!r}: weight {v.name} has "
                                 f"shape {tuple(v.shape)}, got an array of shape {w.shape}")
            v.assign(w.astype(v.dtype.as_numpy_dtype))

    @property
    def output_shape(self):
        """The shape of the layer's output (batch dim None, dims that varied between calls
        None; a list for several outputs), as Keras reports it once the layer was called."""
        return self._seen_shape(self._output_shape, "output")

    @property
    def input_shape(self):
        """The shape of the layer's input, in the same form as ``output_shape``."""
        return self._seen_shape(self._input_shape, "input")

    @property
    def input(self):
        """The KerasTensor(s) this layer was called on in a functional model (or a
        Sequential with a known input shape)."""
        return self._node_tensors("input")

    @input.setter
    def input(self, value):  # a subclass may keep its own attribute under this name
        self.__dict__["_input_attr"] = value

    @property
    def output(self):
        """The KerasTensor(s) this layer returned in a functional model: what
        ``Model(inputs, [layer.output for layer in model.layers])`` extracts."""
        return self._node_tensors("output")

    @output.setter
    def output(self, value):  # a subclass may keep its own attribute under this name
        self.__dict__["_output_attr"] = value

    def _node_tensors(self, what):
        if f"_{what}_attr" in self.__dict__:
            return self.__dict__[f"_{what}_attr"]
        nodes = self.__dict__.get("_inbound_nodes", [])
        if not nodes:
            raise AttributeError(f"the layer {self.name!r} has never been called on a symbolic "
                                 f"input (jg.keras.Input) and thus has no defined {what}: "
                                 "build the model with an Input first")
        if len(nodes) > 1:
            raise AttributeError(f"the layer {self.name!r} has been called {len(nodes)} times "
                                 f"(it is shared), so its {what} is ambiguous: use "
                                 f"layer.get_{what}_at(node_index)")
        return getattr(self, f"get_{what}_at")(0)

    def get_input_at(self, node_index):
        node = self._inbound_nodes[node_index]
        if node.args is None:  # an InputLayer: its input is its output
            return node.outputs
        return node.args

    def get_output_at(self, node_index):
        return self._inbound_nodes[node_index].outputs

    def _seen_shape(self, shape, what):
        if shape is None:
            raise AttributeError(f"the layer {self.name!r} has never been called and thus has "
                                 f"no defined {what} shape: call it (or build the model) first")
        return shape[0] if isinstance(shape, list) and len(shape) == 1 else shape

    def count_params(self):
        return int(sum(int(np.prod(tuple(v.shape))) for v in self.weights))

    # -- config
    def get_config(self):
        """The constructor arguments that rebuild this layer (JSON-able values)."""
        cfg = {k: v for k, v in getattr(self, "_auto_config", {}).items()
               if serialization.is_json_value(v)}
        cfg.update({"name": self.name, "trainable": self.trainable,
                    "dtype": self._policy.name})
        if self._batch_input_shape is not None:
            cfg["batch_input_shape"] = list(self._batch_input_shape)
        for k in ("input_shape", "input_dim", "batch_size"):
            cfg.pop(k, None)
        return cfg

    @classmethod
    def from_config(cls, config):
        return serialization.call_with_config(cls, config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name!r} built={self.built}>"


def _checkpoint_created(obj):
    """Lets a pending checkpoint restore give a new weight its saved value (deferred
    restoration); free when no checkpoint module was ever loaded."""
    if "jitgraph.train" in sys.modules:
        jg.train._notify_created(obj)


def _leaves(value):
    if isinstance(value, (list, tuple)):
        for v in value:
            yield from _leaves(v)
    elif isinstance(value, dict):
        for v in value.values():
            yield from _leaves(v)
    else:
        yield value


def _unique(items):
    seen, out = set(), []
    for x in items:
        if id(x) not in seen:
            seen.add(id(x))
            out.append(x)
    return out


from . import masking  # noqa: E402 - masking's Masking layer subclasses Layer

__all__ = ["Layer", "activations", "unique_name", "map_structure", "flatten"]
from . import input_spec  # noqa: E402 - InputSpec checks in __call__
