"""fit / evaluate / predict: batching NumPy data, the epoch loop, callbacks, and the step
functions, compiled with ``jg.function`` (unknown batch dimension, so a smaller last batch
reuses the trace) unless the model was compiled with ``run_eagerly=True``.
"""

import numpy as np

import jitgraph as jg

from . import callbacks as cbks
from . import data_adapter
from .base_layer import flatten, map_structure
from .initializers import _numpy_rng


def to_numpy_data(x):
    """Arrays for batching: floats as float32 (Keras' default float), other integer types
    than int32 (64-bit ones, and the uint8/int16... of images and labels, which jitgraph
    has no dtype for) as int32."""
    def conv(a):
        if a is None:
            return None
        a = np.asarray(a.numpy() if hasattr(a, "numpy") else a)
        if a.dtype.kind == "f" and a.dtype != np.float32:
            return a.astype(np.float32)
        if a.dtype.kind in "iu" and a.dtype != np.int32:
            return a.astype(np.int32)
        if a.dtype.kind == "b":
            return a.astype(np.float32)
        return a

    return map_structure(conv, x)


def num_samples(x):
    sizes = {len(a) for a in flatten(x) if a is not None}
    if len(sizes) != 1:
        raise ValueError(f"fit/evaluate/predict: all inputs and targets must have the same "
                         f"number of samples (first dimension), got sizes {sorted(sizes)}")
    return sizes.pop()


def take(x, idx):
    return map_structure(lambda a: None if a is None else a[idx], x)


def batches(n, batch_size, shuffle, rng):
    order = rng.permutation(n) if shuffle else np.arange(n)
    return [order[i:i + batch_size] for i in range(0, n, batch_size)]


def _spec(a):
    return jg.TensorSpec((None,) + tuple(a.shape[1:]), jg.as_dtype(a.dtype))


# ``step`` (taking one tuple) as a function of the batch entries present (x; x, y;
# x, y, sample_weight; x, sample_weight), with named tensor parameters, the form
# jg.function's signature matching needs
_STEP_BY_PRESENCE = {
    (True,): lambda step: lambda x: step(_pack_x(x)),
    (True, False, False): lambda step: lambda x: step(_pack_x(x)),
    (True, True, False): lambda step: lambda x, y: step((x, y)),
    (True, False, True): lambda step: lambda x, sample_weight: step((x, None, sample_weight)),
    (True, True, True): lambda step: lambda x, y, sample_weight: step((x, y, sample_weight)),
}


def _pack_x(x):
    """What train_step gets for inputs alone, as Keras' pack_x_y_sample_weight: ``x``
    itself, or ``(x,)`` when ``x`` is a tuple or list (several inputs)."""
    return (x,) if isinstance(x, (tuple, list)) else x


def make_function(model, step):
    """``step`` compiled per pattern of present batch entries (a later ``evaluate`` with
    sample weights after one without needs a step with one more argument), each with a
    signature whose batch dim is unknown; ``step`` itself when the model runs eagerly."""
    return _ByPresence(model, step)


class _ByPresence:
    def __init__(self, model, step):
        self._model, self._step = model, step
        self._by_presence = {}

    def __call__(self, *batch):
        present = tuple(a is not None for a in batch)
        args = [a for a in batch if a is not None]
        fn = self._by_presence.get(present)
        if fn is None:
            if present not in _STEP_BY_PRESENCE:
                raise ValueError("fit/evaluate/predict: the inputs `x` are missing (None)")
            fn = _STEP_BY_PRESENCE[present](self._step)
            if not self._model.run_eagerly and hasattr(jg, "function"):
                if all(isinstance(a, np.ndarray) for a in args):
                    fn = _BySignature(fn)
                else:
                    fn = jg.function(fn, reduce_retracing=True)
            self._by_presence[present] = fn
        return fn(*args)

    def experimental_get_tracing_count(self):
        return sum(f.experimental_get_tracing_count() for f in self._by_presence.values()
                   if hasattr(f, "experimental_get_tracing_count"))


class _BySignature:
    """One compiled step per data signature (dtypes and shapes past the batch dim): a later
    ``fit`` with labels of another shape traces again, as in Keras, instead of failing the
    first signature's check."""

    def __init__(self, fn):
        self._fn = fn
        self._by_key = {}

    def __call__(self, *args):
        key = tuple((a.dtype.str, a.shape[1:]) for a in args)
        f = self._by_key.get(key)
        if f is None:
            f = self._by_key[key] = _GeneralOrSpecialized(self._fn, [_spec(a) for a in args])
        return f(*args)

    def experimental_get_tracing_count(self):
        return sum(f.experimental_get_tracing_count() for f in self._by_key.values())


class _GeneralOrSpecialized:
    """The step traced once for any batch size; if the model needs static shapes that the
    unknown batch dim cannot give (e.g. random numbers in Dropout), traced per batch shape
    instead (the last, smaller batch then costs one more trace)."""

    def __init__(self, fn, signature):
        self._fn = fn
        self._compiled = jg.function(fn, input_signature=signature)
        self._first = True

    def __call__(self, *args):
        if not self._first:
            return self._compiled(*args)
        try:
            out = self._compiled(*args)
        except jg.errors.UnimplementedError as e:
            if "when tracing" not in str(e):
                raise
            self._compiled = jg.function(self._fn)
            out = self._compiled(*args)
        self._first = False
        return out

    def experimental_get_tracing_count(self):
        return self._compiled.experimental_get_tracing_count()


def _results(model, values):
    """Python floats of the step's metric results, by metric name."""
    names = model._step_metric_names
    return {n: float(np.asarray(v)) for n, v in zip(names, values)}


def prepare_first_batch(model, x, y):
    """Builds the model eagerly on a first batch (so its variables and the optimizer's slots
    exist before any tracing) and resolves metric names such as "accuracy". A model
    without ``call`` (a GAN whose train_step calls its sub-models) is not called."""
    from .models import Model

    if type(model).call is Model.call:
        model._metrics_resolved = True  # nothing to resolve without predictions
    else:
        with jg.init_scope():
            y_pred = model(x, training=False)
        model._clear_losses()
        model._resolve_metrics(y, y_pred)
    if model.optimizer is not None:
        model.optimizer.build(model.trainable_variables)


class _ArrayBatches:
    """NumPy data cut into batches of ``batch_size``, in a new order each epoch when
    ``shuffle``; the same interface as data_adapter.Batches."""

    exhausted = False

    def __init__(self, data, batch_size, shuffle):
        self.data, self.batch_size, self.shuffle = data, batch_size or 32, shuffle
        self.n = num_samples(tuple(a for a in data if a is not None))
        self.steps = -(-self.n // self.batch_size)
        self.rng = _numpy_rng(None) if shuffle else None

    def first(self):
        return take(self.data, slice(0, min(self.batch_size, self.n)))

    def epoch(self):
        for idx in batches(self.n, self.batch_size, self.shuffle, self.rng):
            yield take(self.data, idx)


def _no_steps(steps, arg, what):
    if steps is not None:
        raise ValueError(f"{what}: `{arg}` is supported only when the data is a "
                         "jg.data.Dataset or a generator of batches; with arrays, set "
                         "batch_size (or batch them with jg.data.Dataset.from_tensor_slices)")


def _validate(calls, *args, **kwargs):
    """``evaluate(*args, **kwargs)`` for fit's validation, between on_test_begin and
    on_test_end of fit's callbacks, as in Keras (SwapEMAWeights swaps the averages in)."""
    calls.on_test_begin()
    logs = evaluate(*args, **kwargs)
    calls.on_test_end(dict(logs))
    return logs


def fit(model, x, y, batch_size, epochs, verbose, callbacks, validation_split,
        validation_data, shuffle, sample_weight, initial_epoch, steps_per_epoch=None,
        validation_steps=None, class_weight=None, validation_batch_size=None,
        validation_freq=1):
    if not isinstance(validation_freq, int) or validation_freq < 1:
        raise ValueError(f"fit: validation_freq must be a positive number of epochs, got "
                         f"{validation_freq!r}")
    if model.optimizer is None:
        raise RuntimeError("You must compile your model before training: call "
                           "model.compile(optimizer=..., loss=...)")
    if data_adapter.is_batch_source(x):
        data_adapter.check_arguments(x, y, batch_size, sample_weight, validation_split, "fit")
        source = data_adapter.Batches(x, steps_per_epoch, "fit", "steps_per_epoch")
    else:
        _no_steps(steps_per_epoch, "steps_per_epoch", "fit")
        x, y, sw = to_numpy_data(x), to_numpy_data(y), to_numpy_data(sample_weight)
        if validation_data is None and validation_split:
            n = num_samples((x, y))
            cut = int(n * (1.0 - validation_split))
            validation_data = (take(x, slice(cut, None)), take(y, slice(cut, None)))
            x, y = take(x, slice(0, cut)), take(y, slice(0, cut))
            sw = take(sw, slice(0, cut))
        source = _ArrayBatches((x, y, sw), batch_size, shuffle)
    first = source.first()
    prepare_first_batch(model, first[0], first[1])
    if model._train_function is None:
        model._train_function = make_function(model, model._train_step_fn)
    history = cbks.History()
    steps = source.steps
    # the user's callbacks first, then History (so it records what they add to the logs,
    # e.g. ReduceLROnPlateau's learning_rate), then the progress bar, as in Keras
    cb_list = list(callbacks or []) + [history]
    if verbose:
        cb_list.append(cbks.ProgbarLogger(verbose))
    calls = cbks.CallbackList(cb_list, model, {"epochs": epochs, "steps": steps,
                                                "verbose": verbose})
    model.stop_training = False
    calls.on_train_begin()
    initial_epoch = model.__dict__.pop("_initial_epoch", None) or initial_epoch  # resumed
    for epoch in range(initial_epoch, epochs):
        model.reset_metrics()
        calls.on_epoch_begin(epoch)
        logs = {}
        for step, (bx, by, bsw) in enumerate(source.epoch()):
            calls.on_train_batch_begin(step)
            bsw = class_sample_weights(class_weight, by, bsw)
            logs = _results(model, model._train_function(bx, by, bsw))
            model._clear_losses()
            calls.on_train_batch_end(step, logs)
            if model.stop_training:  # e.g. TerminateOnNaN
                break
        logs = dict(logs)
        if source.exhausted:
            model.stop_training = True
        if validation_data is not None:
            if (epoch + 1) % validation_freq and data_adapter.is_batch_source(validation_data):
                val = {}
            elif data_adapter.is_batch_source(validation_data):
                val = _validate(calls, model, validation_data, None, None, verbose=0,
                                return_dict=True, steps=validation_steps)
            elif (epoch + 1) % validation_freq == 0:
                vx, vy = validation_data[0], validation_data[1]
                vsw = validation_data[2] if len(validation_data) > 2 else None
                val = _validate(calls, model, vx, vy, validation_batch_size or batch_size,
                                verbose=0, return_dict=True, sample_weight=vsw)
            else:
                val = {}
            logs.update({f"val_{k}": v for k, v in val.items()})
        calls.on_epoch_end(epoch, logs)
        if model.stop_training:
            break
    if epochs > 0 and hasattr(model.optimizer, "finalize_variable_values"):
        model.optimizer.finalize_variable_values(model.trainable_weights)  # e.g. EMA weights
    calls.on_train_end()
    history.model = model
    history.params = {"epochs": epochs, "steps": steps, "verbose": verbose}
    model.history = history
    return history


def class_sample_weights(class_weight, y, sample_weight):
    """Per-sample weights from ``class_weight`` ({class index: weight}; classes not in it
    weigh 1) for integer labels, one-hot rows (argmax) or 0/1 labels of shape (n, 1),
    times ``sample_weight`` when both are given."""
    if not class_weight:
        return sample_weight
    leaves = flatten(y)
    if len(leaves) != 1 or leaves[0] is None:
        raise ValueError("fit: class_weight is supported only for a model with one output "
                         "and targets; for several outputs pass sample_weight instead")
    labels = np.asarray(leaves[0])
    labels = labels.reshape(len(labels), -1)
    labels = np.argmax(labels, axis=1) if labels.shape[1] > 1 else \
        np.round(labels[:, 0]).astype(np.int64)
    top = max(int(k) for k in class_weight)
    if labels.size and (labels.min() < 0 or labels.max() > top):
        raise ValueError(f"fit: class_weight has weights for classes 0..{top} but the targets "
                         f"hold class {int(labels.max() if labels.max() > top else labels.min())}")
    table = np.array([float(class_weight.get(c, 1.0)) for c in range(top + 1)], np.float32)
    weights = table[labels]
    if sample_weight is not None:
        weights = weights * np.asarray(sample_weight, np.float32).reshape(len(weights))
    return weights


def evaluate(model, x, y, batch_size, verbose, return_dict, sample_weight=None,
             steps=None, callbacks=None):
    if not model._compiled:
        raise RuntimeError("You must compile your model before evaluating it: call "
                           "model.compile(loss=...)")
    if data_adapter.is_batch_source(x):
        data_adapter.check_arguments(x, y, batch_size, sample_weight, None, "evaluate")
        source = data_adapter.Batches(x, steps, "evaluate", "steps")
    else:
        _no_steps(steps, "steps", "evaluate")
        x, y, sw = to_numpy_data(x), to_numpy_data(y), to_numpy_data(sample_weight)
        source = _ArrayBatches((x, y, sw), batch_size, False)
    first = source.first()
    if not model._metrics_resolved:
        prepare_first_batch(model, first[0], first[1])
    if model._test_function is None:
        model._test_function = make_function(model, model._test_step_fn)
    model.reset_metrics()
    bar = cbks.Progbar(source.steps, verbose=verbose) if verbose else None
    calls = cbks.CallbackList(callbacks or [], model, {"steps": source.steps,
                                                       "verbose": verbose})
    calls.on_test_begin()
    logs, done = {}, 0
    for step, batch in enumerate(source.epoch()):
        calls.on_test_batch_begin(step)
        logs = _results(model, model._test_function(*batch))
        model._clear_losses()
        calls.on_test_batch_end(step, logs)
        done = step + 1
        if bar:
            bar.update(done, logs)
    if bar:
        bar.update(done, logs, finalize=True)
    calls.on_test_end(dict(logs))
    if return_dict:
        return logs
    values = list(logs.values())
    return values[0] if len(values) == 1 else values


def predict(model, x, batch_size, verbose, steps=None, callbacks=None):
    if data_adapter.is_batch_source(x):
        data_adapter.check_arguments(x, None, batch_size, None, None, "predict")
        source = data_adapter.Batches(x, steps, "predict", "steps")
    else:
        _no_steps(steps, "steps", "predict")
        source = _ArrayBatches((to_numpy_data(x), None, None), batch_size, False)
    if model._predict_function is None:
        model._predict_function = make_function(model, model._predict_step_fn)
    calls = cbks.CallbackList(callbacks or [], model, {"steps": source.steps,
                                                       "verbose": verbose})
    calls.on_predict_begin()
    outs = []
    for step, (bx, _, _) in enumerate(source.epoch()):
        calls.on_predict_batch_begin(step)
        out = model._predict_function(bx)
        model._clear_losses()
        outs.append(map_structure(lambda t: np.asarray(t), out))
        calls.on_predict_batch_end(step, {"outputs": outs[-1]})
    calls.on_predict_end()
    return _concatenate(outs)


def _concatenate(outs):
    """The batches' outputs joined along the batch axis, in the outputs' structure (an
    array, a list or tuple of them, or a dict by output name)."""
    first = outs[0]
    if isinstance(first, dict):
        return {k: _concatenate([o[k] for o in outs]) for k in first}
    if isinstance(first, (list, tuple)):
        return type(first)(_concatenate([o[i] for o in outs]) for i in range(len(first)))
    return np.concatenate(outs)
