"""What ``Model.compile`` makes of its ``loss``, ``loss_weights``, ``metrics`` and
``weighted_metrics`` for a model with one output or several: ``model.compiled_loss`` and
``model.compiled_metrics`` (callable / updatable, as in tf.keras 2, so custom ``train_step``
code that uses them runs unchanged).

Several outputs (a list, or a dict from a functional model) take losses and metrics as a
list (by position), a dict (by output name) or one object (applied to every output); the
targets and sample weights come in the same structure (one sample-weight array serves every
output). Each output's loss and metrics are logged as ``<output>_loss`` and
``<output>_<metric>``, as in Keras.

>>> model.compile(optimizer="adam",
...               loss={"score": "mse", "class": "categorical_crossentropy"},
...               loss_weights={"score": 2.0, "class": 1.0},
...               metrics={"class": ["accuracy"]})
"""

import numpy as np

import jitgraph as jg

from . import losses as losses_mod
from . import metrics as metrics_mod
from .base_layer import flatten

_ACCURACY = {"sparse_categorical_crossentropy": metrics_mod.SparseCategoricalAccuracy,
             "categorical_crossentropy": metrics_mod.CategoricalAccuracy,
             "binary_crossentropy": metrics_mod.BinaryAccuracy}


def output_names(model, y_pred):
    """The names of the model's outputs in flat order: a dict's keys, else the names of the
    layers that make them (a subclassed model's outputs: output_1, output_2, ...)."""
    n = len(flatten(y_pred))
    names = getattr(model, "output_names", None)
    if names and len(names) == n and (not isinstance(y_pred, dict) or set(names) == set(y_pred)):
        return list(names)
    if isinstance(y_pred, dict):
        return list(y_pred)
    return [f"output_{i + 1}" for i in range(n)]


def by_output(value, names, what, broadcast=True):
    """``value`` (one object, a list by position or a dict by name) as one entry per
    output name; a dict may leave outputs out (None)."""
    if isinstance(value, dict):
        unknown = set(value) - set(names)
        if unknown:
            raise ValueError(f"compile: {what} has keys {sorted(unknown)} that are not "
                             f"outputs of the model; its outputs are {names}")
        return [value.get(n) for n in names]
    if isinstance(value, (list, tuple)) and len(names) > 1:
        if len(value) != len(names):
            raise ValueError(f"compile: {what} is a list of {len(value)} entries but the "
                             f"model has {len(names)} outputs {names}: give one entry per "
                             "output (None for none), or a dict by output name")
        return list(value)
    return [value] * len(names) if broadcast else [value] + [None] * (len(names) - 1)


def preds_by_output(y_pred, names):
    """The model's outputs in the order of ``names`` (a dict of outputs by key: inside a
    jg.function its keys come sorted)."""
    if isinstance(y_pred, dict):
        return [y_pred[n] for n in names]
    return flatten(y_pred)


def targets_by_output(y, names):
    """The targets (or sample weights) of each output, from the structure ``fit`` got."""
    if y is None:
        return [None] * len(names)
    if isinstance(y, dict):
        missing = [n for n in names if n not in y]
        if len(names) > 1 and len(missing) == len(names):
            raise ValueError(f"the targets are a dict with keys {sorted(y)} but the model's "
                             f"outputs are {names}: key the targets by output name")
        return [y.get(n) for n in names] if len(names) > 1 or names[0] in y \
            else list(y.values())
    if isinstance(y, (list, tuple)) and len(names) > 1:
        if len(y) != len(names):
            raise ValueError(f"got {len(y)} target arrays for a model with {len(names)} "
                             f"outputs {names}: give one per output")
        return list(y)
    if len(names) > 1:
        return [y] * len(names)  # one array (sample weights) for every output
    return [y]


def map_specs(fn, spec):
    """``fn`` over the leaves of compile's loss/metrics argument (lists and dicts by
    output; a dict with "class_name" is one serialized object, a leaf)."""
    if isinstance(spec, dict) and "class_name" not in spec:
        return {k: map_specs(fn, v) for k, v in spec.items()}
    if isinstance(spec, (list, tuple)):
        return [map_specs(fn, v) for v in spec]
    return fn(spec)


def match_rank(y, y_pred):
    """Targets of shape (n,) against predictions of shape (n, 1) become (n, 1)."""
    if y is None or y_pred is None or not hasattr(y_pred, "shape"):
        return y
    if len(np.shape(y)) == 1 and len(y_pred.shape) == 2 and y_pred.shape[-1] == 1:
        return jg.expand_dims(y if jg.is_tensor(y) else jg.constant(y), -1)
    return y


def _batch_size(t):
    return jg.cast(jg.shape(t)[0], jg.float32)


class LossesContainer:
    """The compiled loss: ``compiled_loss(y_true, y_pred, sample_weight=None,
    regularization_losses=None)`` returns the weighted sum of every output's loss (plus
    the regularization losses), and tracks each output's loss for the logs."""

    def __init__(self, loss, loss_weights=None):
        self._spec, self._weights_spec = loss, loss_weights
        self._built_for = None
        self._entries = []  # (name, loss fn, weight)
        self._trackers = []

    @property
    def single(self):
        """The loss function when the model has one output (or one loss for all)."""
        fns = [fn for _, fn, _ in self._entries if fn is not None]
        if not self._entries and not isinstance(self._spec, (list, tuple, dict)):
            return losses_mod.get(self._spec)
        return fns[0] if len(fns) == 1 else None

    def build(self, names):
        if self._built_for == names:
            return
        specs = by_output(self._spec, names, "loss")
        weights = by_output(self._weights_spec, names, "loss_weights") \
            if self._weights_spec is not None else [None] * len(names)
        self._entries = [(n, losses_mod.get(s), 1.0 if w is None else float(w))
                         for n, s, w in zip(names, specs, weights)]
        losses_now = [e for e in self._entries if e[1] is not None]
        self._trackers = [metrics_mod.Mean(name=f"{n}_loss") for n, _, _ in losses_now] \
            if len(names) > 1 and len(losses_now) > 1 else []
        self._built_for = names

    @property
    def metrics(self):
        return list(self._trackers)

    def loss_fn(self, index):
        return self._entries[index][1] if self._entries else None

    def __call__(self, y_true, y_pred, sample_weight=None, regularization_losses=None,
                 names=None):
        names = names or self._built_for or output_names(None, y_pred)
        self.build(names)
        preds = preds_by_output(y_pred, names)
        trues = targets_by_output(y_true, names)
        weights = targets_by_output(sample_weight, names)
        total, k = None, 0
        for (name, fn, w), yt, yp, sw in zip(self._entries, trues, preds, weights):
            if fn is None:
                continue
            if yt is None:
                raise ValueError(f"the model's output {name!r} has a loss but no target was "
                                 "given for it")
            value = _one_loss(fn, match_rank(yt, yp), yp, sw)
            if self._trackers:
                self._trackers[k].update_state(value, sample_weight=_batch_size(yp))
                k += 1
            value = value if w == 1.0 else value * w
            total = value if total is None else total + value
        for reg in regularization_losses or []:
            total = reg if total is None else total + reg
        return total


def _one_loss(fn, y_true, y_pred, sample_weight):
    if isinstance(fn, losses_mod.Loss):
        return fn(y_true, y_pred, sample_weight=sample_weight)
    return losses_mod.reduce_weighted(fn(y_true, y_pred), sample_weight,
                                      mask=losses_mod.output_mask(y_pred))


class MetricsContainer(list):
    """The compiled metrics (a list of Metric objects once the first batch has shown the
    outputs); ``update_state(y_true, y_pred, sample_weight=None)`` updates them all."""

    def __init__(self, metrics=None, weighted_metrics=None):
        super().__init__()
        self._specs, self._weighted_specs = metrics, weighted_metrics
        self._slots = []  # (output index, metric, receives sample weights)
        self.built = False

    def build(self, names, y_true, y_pred, loss_of):
        """Turns the specs into Metric objects, one set per output; "accuracy" becomes the
        kind that fits the output's loss (or the shapes of targets and predictions)."""
        if self.built:
            return
        preds = preds_by_output(y_pred, names)
        trues = targets_by_output(y_true, names)
        slots = []
        for specs, weighted in ((self._specs, False), (self._weighted_specs, True)):
            if not specs:
                continue
            shared = False  # one list for every output: each gets its own copies
            if isinstance(specs, dict):
                per_output = by_output(specs, names, "metrics")
            elif len(names) > 1 and isinstance(specs, (list, tuple)) and len(specs) == \
                    len(names) and all(isinstance(s, (list, tuple, type(None)))
                                       for s in specs):
                per_output = list(specs)
            else:
                per_output, shared = [specs] * len(names), len(names) > 1
            for i, group in enumerate(per_output):
                group = [] if group is None else group
                group = list(group) if isinstance(group, (list, tuple)) else [group]
                for spec in group:
                    m = _resolve(spec, trues[i], preds[i], loss_of(i), copy_objects=shared)
                    slots.append((i, m, weighted))
        plain = {m.name for _, m, w in slots if not w}
        for i, m, weighted in slots:
            m.__dict__.setdefault("_compile_name", m.name)  # what get_compile_config saves
            if weighted and m.name in plain:
                m.name = f"weighted_{m.name}"
            if len(names) > 1:
                m.name = f"{names[i]}_{m.name}"
        self._slots = slots
        self[:] = [m for _, m, _ in slots]
        self._names = names
        self.built = True

    @property
    def metrics(self):
        return list(self)

    def update_state(self, y_true, y_pred, sample_weight=None):
        if not self.built:
            return
        preds = preds_by_output(y_pred, self._names)
        trues = targets_by_output(y_true, self._names)
        weights = targets_by_output(sample_weight, self._names)
        for i, m, weighted in self._slots:
            m.update_state(match_rank(trues[i], preds[i]), preds[i],
                           sample_weight=weights[i] if weighted else None)

    def reset_state(self):
        for m in self:
            m.reset_state()


def _resolve(spec, y_true, y_pred, loss_fn, copy_objects):
    if spec in ("accuracy", "acc"):
        loss_name = getattr(loss_fn, "__name__", None) or getattr(
            getattr(loss_fn, "fn", None), "__name__", None)
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
    if copy_objects and isinstance(spec, metrics_mod.Metric):
        return type(spec).from_config(spec.get_config())  # one object per output
    return metrics_mod.get(spec)
