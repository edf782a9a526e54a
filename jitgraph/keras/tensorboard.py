"""``jg.keras.callbacks.TensorBoard``: fit's losses, metrics, learning rate and weights as
TensorBoard event files, written with ``jg.summary`` the way Keras' callback writes them.

Runs ``<log_dir>/train`` and ``<log_dir>/validation``:
- every epoch: ``epoch_<name>`` for each logged value (``epoch_loss``, ``epoch_accuracy``,
  ...) and ``epoch_learning_rate`` in train, ``val_<name>`` as ``epoch_<name>`` in
  validation, at step = the epoch (from 0);
- ``update_freq=N`` (or ``"batch"``, N = 1): ``batch_<name>`` in train at every N-th batch,
  the step counting batches from 1 over the whole fit; while a train step runs the train
  writer is the default, so summaries written inside the model (a layer's ``call``) go to
  train at step ``optimizer.iterations`` when it is a multiple of N (as tf.keras 2 did;
  Keras 3 fixes a Python int step when the step is traced). Evaluation during fit runs
  without a default writer;
- ``histogram_freq=N``: every N-th epoch, a histogram of each layer weight,
  ``<model>/<layer>/<weight>/histogram`` (``write_images=True``: also ``.../image``);
- ``write_graph=True``: the model's Keras config as ``keras`` (plugin
  ``graph_keras_model``, TensorBoard's conceptual graph) for Sequential and functional
  models, as Keras does. The op-level graph of the train step is not written.

Epoch-level summaries are written whatever ``update_freq`` says about the current batch
(Keras 3 drops them when the epoch's last batch number is not a multiple of
``update_freq``; tf.keras 2 did not).

Not supported (a clear ``ValueError``): ``profile_batch`` (no profiler) and
``embeddings_freq``. Evaluation-time hooks are not called by fit, so the
``evaluation_<name>_vs_iterations`` scalars Keras writes are absent.
"""

import json
import os
import time
import warnings

import numpy as np

import jitgraph as jg

from .callbacks import Callback


def _weight_tag(model, weight):
    """Keras 3's weight path: ``<model>/<layer>/<weight>`` (the ``:0`` of the name dropped)."""
    name = str(weight.name)
    head, sep, tail = name.rpartition(":")
    name = (head if sep and tail.isdigit() else name).replace(":", "_")
    prefix = f"{getattr(model, 'name', '')}/"
    return name if prefix == "/" or name.startswith(prefix) else prefix + name


def _weight_image(w):
    """A weight as a ``[k, h, w, 1]`` image batch, as Keras shows them, or None."""
    w = np.squeeze(np.asarray(w))
    if w.ndim == 1:
        w = w.reshape(1, w.shape[0], 1, 1)
    elif w.ndim == 2:
        if w.shape[0] > w.shape[1]:
            w = w.T
        w = w.reshape(1, w.shape[0], w.shape[1], 1)
    elif w.ndim == 3:  # a conv kernel, channels last: one image per kernel
        w = np.transpose(w, (2, 0, 1))
        w = w.reshape(w.shape[0], w.shape[1], w.shape[2], 1)
    return w if w.ndim == 4 and w.shape[-1] in (1, 3, 4) else None


class TensorBoard(Callback):
    """Writes TensorBoard logs during ``fit``.

    >>> tb = jg.keras.callbacks.TensorBoard(log_dir="logs", histogram_freq=1)
    >>> model.fit(x, y, epochs=5, validation_data=(vx, vy), callbacks=[tb])
    """

    def __init__(self, log_dir="logs", histogram_freq=0, write_graph=True,
                 write_images=False, write_steps_per_second=False, update_freq="epoch",
                 profile_batch=0, embeddings_freq=0, embeddings_metadata=None):
        super().__init__()
        if profile_batch not in (0, None):
            raise ValueError(f"TensorBoard: profile_batch={profile_batch!r} is not supported "
                             f"(jitgraph has no profiler); leave it 0")
        if embeddings_freq:
            raise ValueError(f"TensorBoard: embeddings_freq={embeddings_freq!r} is not "
                             f"supported (no embedding projector); leave it 0")
        if update_freq == "batch":
            update_freq = 1
        if update_freq != "epoch" and not (isinstance(update_freq, int)
                                           and not isinstance(update_freq, bool)
                                           and update_freq > 0):
            raise ValueError(f"TensorBoard: update_freq must be 'epoch', 'batch' or a positive "
                             f"int, got {update_freq!r}")
        self.log_dir = os.fspath(log_dir)
        self.histogram_freq, self.write_graph = histogram_freq, write_graph
        self.write_images, self.write_steps_per_second = write_images, write_steps_per_second
        self.update_freq = update_freq
        self._writers = {}
        self._contexts = []
        self._global_train_batch = 0

    # -- writers
    def set_model(self, model):
        super().set_model(model)
        self._train_dir = os.path.join(self.log_dir, "train")
        self._val_dir = os.path.join(self.log_dir, "validation")
        self._writers = {}
        if self.write_graph:
            self._write_model_config()

    def _writer(self, run):
        if run not in self._writers:
            path = self._train_dir if run == "train" else self._val_dir
            self._writers[run] = jg.summary.create_file_writer(path)
        return self._writers[run]

    def _push_writer(self):
        """While a train step runs, the train writer is the default, so that summaries in
        the model (a layer's ``call``, a custom ``train_step``) are written: at step
        ``optimizer.iterations`` (read when they run) whenever it is a multiple of
        ``update_freq`` (decided in the compiled step, with jg ops)."""
        if self.update_freq == "epoch":
            return
        opt = getattr(self.model, "optimizer", None)
        if opt is not None:
            step, n = opt.iterations, self.update_freq
            record = jg.summary.record_if(lambda: jg.equal(step % n, 0))
        else:
            step, record = self._global_train_batch, jg.summary.record_if(True)
        contexts = (self._writer("train").as_default(step), record)
        for c in contexts:
            c.__enter__()
        self._contexts.append(contexts)

    def _pop_writer(self):
        if self.update_freq == "epoch" or not self._contexts:
            return
        default, record = self._contexts.pop()
        record.__exit__(None, None, None)
        default.__exit__(None, None, None)

    def _write_model_config(self):
        from .serialization import serialize

        if type(self.model).__name__ not in ("Sequential", "Functional"):
            return
        try:
            text = json.dumps(serialize(self.model))
        except (TypeError, ValueError) as exc:
            warnings.warn(f"TensorBoard: the model's config could not be written as JSON "
                          f"({exc}); no graph is written", stacklevel=2)
            return
        from jitgraph.summary.events import summary_metadata

        meta = summary_metadata("graph_keras_model", content=b"1")  # version 1, as Keras
        with self._writer("train").as_default():
            jg.summary.write("keras", text, step=0, metadata=meta)

    # -- hooks
    def on_train_begin(self, logs=None):
        self._global_train_batch = 0

    def on_train_end(self, logs=None):
        self._pop_writer()
        for w in self._writers.values():
            w.close()
        self._writers = {}

    def on_train_batch_begin(self, batch, logs=None):
        self._global_train_batch += 1
        self._push_writer()
        self._batch_start = time.time()

    def on_train_batch_end(self, batch, logs=None):
        step = self._global_train_batch
        if self.update_freq != "epoch":
            with jg.summary.record_if(step % self.update_freq == 0):
                if self.write_steps_per_second:
                    jg.summary.scalar("batch_steps_per_second",
                                      1.0 / max(time.time() - self._batch_start, 1e-9),
                                      step=step)
                for name, value in (logs or {}).items():
                    jg.summary.scalar(f"batch_{name}", float(value), step=step)
        self._pop_writer()

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch_start = time.time()
        self._epoch_iterations = self._iterations()

    def on_epoch_end(self, epoch, logs=None):
        self._log_epoch_metrics(epoch, dict(logs or {}))
        if self.histogram_freq and epoch % self.histogram_freq == 0:
            self._log_weights(epoch)

    # -- what is written
    def _iterations(self):
        opt = getattr(self.model, "optimizer", None)
        return int(np.asarray(opt.iterations.numpy())) if opt is not None else 0

    def _log_epoch_metrics(self, epoch, logs):
        if not logs:
            return
        train = {k: v for k, v in logs.items() if not k.startswith("val_")}
        val = {k[4:]: v for k, v in logs.items() if k.startswith("val_")}
        opt = getattr(self.model, "optimizer", None)
        if opt is not None:
            train["learning_rate"] = float(np.asarray(opt.learning_rate.numpy()))
        if self.write_steps_per_second:
            seconds = max(time.time() - self._epoch_start, 1e-9)
            train["steps_per_second"] = (self._iterations() - self._epoch_iterations) / seconds
        for run, values in (("train", train), ("val", val)):
            if values:
                with jg.summary.record_if(True), self._writer(run).as_default():
                    for name, value in values.items():
                        jg.summary.scalar(f"epoch_{name}", float(value), step=epoch)

    def _log_weights(self, epoch):
        with jg.summary.record_if(True), self._writer("train").as_default():
            for layer in self.model.layers:
                for weight in layer.weights:
                    tag = _weight_tag(self.model, weight)
                    jg.summary.histogram(f"{tag}/histogram", weight, step=epoch)
                    if self.write_images:
                        img = _weight_image(weight.numpy())
                        if img is not None:
                            jg.summary.image(f"{tag}/image", img, step=epoch)
