"""fit / evaluate / predict: batching NumPy data, the epoch loop, callbacks, and the step
functions, compiled with ``jg.function`` (unknown batch dimension, so a smaller last batch
reuses the trace) unless the model was compiled with ``run_eagerly=True``.
"""

import numpy as np

import jitgraph as jg

from . import callbacks as cbks
from .base_layer import flatten, map_structure
from .initializers import _numpy_rng


def to_numpy_data(x):
    """Arrays for batching: floats as float32 (Keras' default float), 64-bit ints as
    int32."""
    def conv(a):
        if a is None:
            return None
        a = np.asarray(a.numpy() if hasattr(a, "numpy") else a)
        if a.dtype.kind == "f" and a.dtype != np.float32:
            return a.astype(np.float32)
        if a.dtype.kind in "iu" and a.dtype.itemsize == 8:
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


def _step_with_arity(step, n):
    """``step`` (taking one tuple) as a function of ``n`` named tensors, the form
    jg.function's signature matching needs."""
    if n == 1:
        return lambda x: step((x,))
    if n == 2:
        return lambda x, y: step((x, y))
    return lambda x, y, sample_weight: step((x, y, sample_weight))


def make_function(model, step, sample):
    """``step`` compiled with a signature whose batch dim is unknown, or ``step`` itself
    when the model runs eagerly (or jg.function is not available)."""
    args = [a for a in sample if a is not None]
    fn = _step_with_arity(step, len(args))
    if model.run_eagerly or not hasattr(jg, "function"):
        return fn
    if all(isinstance(a, np.ndarray) for a in args):
        return _BySignature(fn)
    return jg.function(fn, reduce_retracing=True)


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


def _call(fn, args):
    return fn(*[a for a in args if a is not None])


def _results(model, values):
    """Python floats of the step's metric results, by metric name."""
    names = model._step_metric_names
    return {n: float(np.asarray(v)) for n, v in zip(names, values)}


def prepare_first_batch(model, x, y):
    """Builds the model eagerly on a first batch (so its variables and the optimizer's slots
    exist before any tracing) and resolves metric names such as "accuracy"."""
    with jg.init_scope():
        y_pred = model(x, training=False)
    model._clear_losses()
    model._resolve_metrics(y, y_pred)
    if model.optimizer is not None:
        model.optimizer.build(model.trainable_variables)


def fit(model, x, y, batch_size, epochs, verbose, callbacks, validation_split,
        validation_data, shuffle, sample_weight, initial_epoch):
    if model.optimizer is None:
        raise RuntimeError("You must compile your model before training: call "
                           "model.compile(optimizer=..., loss=...)")
    x, y, sw = to_numpy_data(x), to_numpy_data(y), to_numpy_data(sample_weight)
    if validation_data is None and validation_split:
        n = num_samples((x, y))
        cut = int(n * (1.0 - validation_split))
        validation_data = (take(x, slice(cut, None)), take(y, slice(cut, None)))
        x, y = take(x, slice(0, cut)), take(y, slice(0, cut))
        sw = take(sw, slice(0, cut))
    n = num_samples((x, y) if sw is None else (x, y, sw))
    batch_size = batch_size or 32
    rng = _numpy_rng(None)
    first = take((x, y, sw), slice(0, min(batch_size, n)))
    prepare_first_batch(model, first[0], first[1])
    if model._train_function is None:
        model._train_function = make_function(model, model._train_step_fn, first)
    history = cbks.History()
    steps = -(-n // batch_size)
    cb_list = [history] + list(callbacks or [])
    if verbose:
        cb_list.insert(1, cbks.ProgbarLogger(verbose))
    calls = cbks.CallbackList(cb_list, model, {"epochs": epochs, "steps": steps,
                                                "verbose": verbose})
    model.stop_training = False
    calls.on_train_begin()
    for epoch in range(initial_epoch, epochs):
        model.reset_metrics()
        calls.on_epoch_begin(epoch)
        logs = {}
        for step, idx in enumerate(batches(n, batch_size, shuffle, rng)):
            bx, by, bsw = take((x, y, sw), idx)
            calls.on_train_batch_begin(step)
            logs = _results(model, _call(model._train_function, (bx, by, bsw)))
            model._clear_losses()
            calls.on_train_batch_end(step, logs)
            if model.stop_training:  # e.g. TerminateOnNaN
                break
        logs = dict(logs)
        if validation_data is not None:
            vx, vy = validation_data[0], validation_data[1]
            val = evaluate(model, vx, vy, batch_size, verbose=0, return_dict=True)
            logs.update({f"val_{k}": v for k, v in val.items()})
        calls.on_epoch_end(epoch, logs)
        if model.stop_training:
            break
    calls.on_train_end()
    history.model = model
    history.params = {"epochs": epochs, "steps": steps, "verbose": verbose}
    model.history = history
    return history


def evaluate(model, x, y, batch_size, verbose, return_dict, sample_weight=None):
    if model._loss_fn is None:
        raise RuntimeError("You must compile your model before evaluating it: call "
                           "model.compile(loss=...)")
    x, y, sw = to_numpy_data(x), to_numpy_data(y), to_numpy_data(sample_weight)
    n = num_samples((x, y))
    batch_size = batch_size or 32
    first = take((x, y, sw), slice(0, min(batch_size, n)))
    if not model._metrics_resolved:
        prepare_first_batch(model, first[0], first[1])
    if model._test_function is None:
        model._test_function = make_function(model, model._test_step_fn, first)
    model.reset_metrics()
    steps = -(-n // batch_size)
    bar = cbks.Progbar(steps, verbose=verbose) if verbose else None
    logs = {}
    for step, idx in enumerate(batches(n, batch_size, False, None)):
        logs = _results(model, _call(model._test_function, take((x, y, sw), idx)))
        model._clear_losses()
        if bar:
            bar.update(step + 1, logs)
    if bar:
        bar.update(steps, logs, finalize=True)
    if return_dict:
        return logs
    values = list(logs.values())
    return values[0] if len(values) == 1 else values


def predict(model, x, batch_size, verbose):
    x = to_numpy_data(x)
    n = num_samples(x)
    batch_size = batch_size or 32
    if model._predict_function is None:
        sample = (take(x, slice(0, min(batch_size, n))),)
        model._predict_function = make_function(model, model._predict_step_fn, sample)
    outs = []
    for idx in batches(n, batch_size, False, None):
        out = model._predict_function(take(x, idx))
        model._clear_losses()
        outs.append(map_structure(lambda t: np.asarray(t), out))
    if isinstance(outs[0], (list, tuple)):
        return type(outs[0])(np.concatenate([o[i] for o in outs]) for i in range(len(outs[0])))
    return np.concatenate(outs)
