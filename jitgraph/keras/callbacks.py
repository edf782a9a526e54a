"""Callbacks for fit: History (returned by fit), the progress bar, EarlyStopping,
ModelCheckpoint, LearningRateScheduler, ReduceLROnPlateau, TerminateOnNaN, CSVLogger,
LambdaCallback, TensorBoard (keras/tensorboard.py), BackupAndRestore (keras/callbacks_more.py).

The progress bar prints one line per epoch. With ``verbose=1`` the line is redrawn in place
(with an ETA) while the epoch runs when the output is a terminal; with ``verbose=2`` only the
finished line is printed.
"""

import csv
import math
import os
import sys
import time

import numpy as np


def _sign(monitor, mode, who):
    """+1 when smaller values of ``monitor`` are better, -1 when larger ones are."""
    if mode == "auto":
        mode = "max" if any(k in monitor for k in ("acc", "precision", "recall", "auc")) \
            else "min"
    if mode not in ("min", "max"):
        raise ValueError(f"{who}: mode must be 'auto', 'min' or 'max', got {mode!r}")
    return 1.0 if mode == "min" else -1.0


class Callback:
    """Base class: override any of the ``on_*`` hooks; ``self.model`` is the model."""

    def __init__(self):
        self.model = None
        self.params = {}

    def set_model(self, model):
        self.model = model

    def set_params(self, params):
        self.params = params

    def on_train_begin(self, logs=None):
        pass

    def on_train_end(self, logs=None):
        pass

    def on_epoch_begin(self, epoch, logs=None):
        pass

    def on_epoch_end(self, epoch, logs=None):
        pass

    def on_train_batch_begin(self, batch, logs=None):
        self.on_batch_begin(batch, logs)

    def on_train_batch_end(self, batch, logs=None):
        self.on_batch_end(batch, logs)

    # Keras' older names of the train-batch hooks (overriding either works)
    def on_batch_begin(self, batch, logs=None):
        pass

    def on_batch_end(self, batch, logs=None):
        pass

    def on_test_begin(self, logs=None):
        pass

    def on_test_end(self, logs=None):
        pass

    def on_test_batch_begin(self, batch, logs=None):
        pass

    def on_test_batch_end(self, batch, logs=None):
        pass

    def on_predict_begin(self, logs=None):
        pass

    def on_predict_end(self, logs=None):
        pass

    def on_predict_batch_begin(self, batch, logs=None):
        pass

    def on_predict_batch_end(self, batch, logs=None):
        pass


class History(Callback):
    """``history.history["loss"]`` is the list of per-epoch losses; also every metric and
    ``val_*`` value."""

    def __init__(self):
        super().__init__()
        self.history = {}
        self.epoch = []

    def on_train_begin(self, logs=None):
        self.history, self.epoch = {}, []

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for k, v in (logs or {}).items():
            self.history.setdefault(k, []).append(v)


def format_logs(logs):
    return " - ".join(f"{k}: {v:.4f}" for k, v in logs.items())


def _format_step(seconds):
    """Keras' per-step figure: ms, or us below a millisecond."""
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.0f}ms/step"
    return f"{seconds * 1e6:.0f}us/step"


def _format_time(seconds):
    if seconds >= 3600:
        return f"{int(seconds // 3600)}:{int(seconds % 3600 // 60):02d}:{int(seconds % 60):02d}"
    if seconds >= 60:
        return f"{int(seconds // 60)}:{int(seconds % 60):02d}"
    return f"{seconds:.0f}s"


class Progbar:
    """A one-line progress bar: ``12/45 [=====>......] - ETA: 3s - loss: 0.41``."""

    def __init__(self, target, width=30, verbose=1, stream=None, interval=0.1):
        self.target, self.width, self.verbose = target, width, verbose
        self.stream = stream or sys.stdout
        self.interval = interval
        self.dynamic = hasattr(self.stream, "isatty") and self.stream.isatty()
        self._start = time.perf_counter()
        self._last = 0.0

    def _bar(self, current):
        if not self.target:
            return f"{current}/Unknown"
        n = len(str(self.target))
        done = int(self.width * current / self.target)
        arrow = ">" if current < self.target and done < self.width else ""
        bar = "=" * (done if not arrow else max(done - 1, 0)) + arrow
        return f"{current:>{n}}/{self.target} [{bar:<{self.width}}]"

    def update(self, current, logs=None, finalize=False):
        """Redraws the line (only on terminals, at most every ``interval`` seconds), or
        prints the finished line when ``finalize``."""
        now = time.perf_counter()
        elapsed = now - self._start
        logs = logs or {}
        if finalize:
            per_step = elapsed / max(current, 1)
            timing = f"{_format_time(elapsed)} {_format_step(per_step)}"
            if self.verbose == 2:
                line = f"{current}/{self.target} - {timing}"
            else:
                line = f"{self._bar(current)} - {timing}"
            tail = format_logs(logs)
            self._write((line + (" - " + tail if tail else "")), end="\n")
            return
        if self.verbose != 1 or not self.dynamic or now - self._last < self.interval:
            return
        self._last = now
        eta = elapsed / max(current, 1) * (self.target - current) if self.target else 0.0
        tail = format_logs(logs)
        self._write(f"{self._bar(current)} - ETA: {_format_time(eta)}"
                    + (" - " + tail if tail else ""), end="")

    def _write(self, text, end):
        prefix = "\r" if self.dynamic else ""
        self.stream.write(prefix + text + end)
        self.stream.flush()


class ProgbarLogger(Callback):
    """Prints ``Epoch i/n`` and the progress line of each epoch (fit's verbose=1 or 2)."""

    def __init__(self, verbose=1, stream=None):
        super().__init__()
        self.verbose, self.stream = verbose, stream
        self._bar = None

    def on_epoch_begin(self, epoch, logs=None):
        stream = self.stream or sys.stdout
        stream.write(f"Epoch {epoch + 1}/{self.params.get('epochs', '?')}\n")
        self._bar = Progbar(self.params.get("steps"), verbose=self.verbose, stream=stream)
        self._seen = 0

    def on_train_batch_end(self, batch, logs=None):
        self._seen = batch + 1
        self._bar.update(batch + 1, logs)

    def on_epoch_end(self, epoch, logs=None):
        # steps is None for data of unknown length: the bar ends at the batches seen
        self._bar.update(self.params.get("steps") or self._seen, logs, finalize=True)


class EarlyStopping(Callback):
    """Stops fit when ``monitor`` has not improved by ``min_delta`` for ``patience`` epochs;
    ``restore_best_weights`` puts back the best epoch's weights."""

    def __init__(self, monitor="val_loss", min_delta=0.0, patience=0, verbose=0,
                 mode="auto", baseline=None, restore_best_weights=False, start_from_epoch=0):
        super().__init__()
        self.monitor, self.min_delta, self.patience = monitor, abs(min_delta), patience
        self.verbose, self.baseline, self.start_from_epoch = verbose, baseline, start_from_epoch
        self.sign = _sign(monitor, mode, "EarlyStopping")
        self.restore_best_weights = restore_best_weights
        self.stopped_epoch = 0

    def on_train_begin(self, logs=None):
        self.wait, self.best, self.best_weights, self.best_epoch = 0, np.inf, None, 0
        self.stopped_epoch = 0
        if self.baseline is not None:  # must be beaten by min_delta to count as progress
            self.best = self.sign * self.baseline

    def on_epoch_end(self, epoch, logs=None):
        value = (logs or {}).get(self.monitor)
        if value is None or epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            # nothing better seen yet (a baseline never beaten): the first weights count
            self.best_weights, self.best_epoch = self.model.get_weights(), epoch
        score = self.sign * value
        if score < self.best - self.min_delta:
            self.best, self.best_epoch, self.wait = score, epoch, 0
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            return
        self.wait += 1
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        """As Keras: the best weights come back at the end of training, whether or not it
        stopped early."""
        if self.stopped_epoch > 0 and self.verbose:
            print(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose:
                print("Restoring model weights from the end of the best epoch: "
                      f"{self.best_epoch + 1}.")
            self.model.set_weights(self.best_weights)


class ModelCheckpoint(Callback):
    """Saves the model (or its weights) after every epoch to ``filepath``, which may name
    the epoch and logged values (``"ckpt-{epoch:02d}-{val_loss:.3f}.keras"``, epochs
    counted from 1); with ``save_best_only`` only when ``monitor`` improved."""

    def __init__(self, filepath, monitor="val_loss", verbose=0, save_best_only=False,
                 save_weights_only=False, mode="auto", save_freq="epoch",
                 initial_value_threshold=None):
        super().__init__()
        if save_freq != "epoch" and not (isinstance(save_freq, int) and save_freq > 0):
            raise ValueError(f"ModelCheckpoint: save_freq must be 'epoch' or a positive "
                             f"number of batches, got {save_freq!r}")
        self.filepath, self.monitor, self.verbose = os.fspath(filepath), monitor, verbose
        self.save_best_only, self.save_weights_only = save_best_only, save_weights_only
        self.save_freq = save_freq
        self.sign = _sign(monitor, mode, "ModelCheckpoint")
        self.initial_value_threshold = initial_value_threshold
        self.best = np.inf

    def on_train_begin(self, logs=None):
        self.best = np.inf if self.initial_value_threshold is None \
            else self.sign * self.initial_value_threshold
        self._batches, self._epoch = 0, 0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self.save_freq == "epoch":
            return
        self._batches += 1
        if self._batches % self.save_freq == 0:  # every save_freq batches, across epochs
            self._save(self._epoch, dict(logs or {}), batch=batch + 1)

    def on_epoch_end(self, epoch, logs=None):
        if self.save_freq == "epoch":
            self._save(epoch, logs or {})

    def _save(self, epoch, logs, batch=None):
        if self.save_best_only:
            value = logs.get(self.monitor)
            if value is None:
                print(f"ModelCheckpoint: {self.monitor!r} is not in the logs "
                      f"({sorted(logs)}); skipping", file=sys.stderr)
                return
            if not self.sign * value < self.best:
                return
            self.best = self.sign * value
        fields = dict(logs, epoch=epoch + 1)
        if batch is not None:
            fields["batch"] = batch
        try:
            path = self.filepath.format(**fields)
        except KeyError as e:
            raise KeyError(f"ModelCheckpoint: the filepath {self.filepath!r} names {e}, which "
                           f"is not among the logged values {sorted(fields)}") from None
        if self.save_weights_only:
            self.model.save_weights(path)
        else:
            self.model.save(path)
        if self.verbose:
            print(f"\nEpoch {epoch + 1}: saved to {path}")


def _current_lr(model):
    return float(np.asarray(model.optimizer.learning_rate.numpy()))


class LearningRateScheduler(Callback):
    """Sets the learning rate to ``schedule(epoch, lr)`` (or ``schedule(epoch)``) at the
    start of each epoch."""

    def __init__(self, schedule, verbose=0):
        super().__init__()
        self.schedule, self.verbose = schedule, verbose

    def on_epoch_begin(self, epoch, logs=None):
        lr = _current_lr(self.model)
        try:
            new = self.schedule(epoch, lr)
        except TypeError:
            new = self.schedule(epoch)
        new = float(np.asarray(new))
        if not math.isfinite(new):
            raise ValueError(f"LearningRateScheduler: the schedule returned {new} for epoch "
                             f"{epoch}")
        self.model.optimizer.learning_rate = new
        if self.verbose:
            print(f"\nEpoch {epoch + 1}: LearningRateScheduler setting learning rate to {new}.")

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:  # logged as in Keras
            logs["learning_rate"] = _current_lr(self.model)


class ReduceLROnPlateau(Callback):
    """Multiplies the learning rate by ``factor`` when ``monitor`` has not improved by
    ``min_delta`` for ``patience`` epochs (not below ``min_lr``), then waits ``cooldown``
    epochs."""

    def __init__(self, monitor="val_loss", factor=0.1, patience=10, verbose=0, mode="auto",
                 min_delta=1e-4, cooldown=0, min_lr=0.0):
        super().__init__()
        if not 0.0 < factor < 1.0:
            raise ValueError(f"ReduceLROnPlateau: factor must be in (0, 1), got {factor}")
        self.monitor, self.factor, self.patience = monitor, factor, patience
        self.verbose, self.min_delta, self.cooldown = verbose, abs(min_delta), cooldown
        self.min_lr = min_lr
        self.sign = _sign(monitor, mode, "ReduceLROnPlateau")

    def on_train_begin(self, logs=None):
        self.best, self.wait, self.cooldown_counter = np.inf, 0, 0

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None and self.model is not None:  # logged as in Keras
            logs["learning_rate"] = _current_lr(self.model)
        value = (logs or {}).get(self.monitor)
        if value is None:
            return
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.wait = 0
        score = self.sign * value
        if score < self.best - self.min_delta:
            self.best, self.wait = score, 0
            return
        if self.cooldown_counter > 0:
            return
        self.wait += 1
        if self.wait >= self.patience:
            lr = _current_lr(self.model)
            if lr > self.min_lr:
                new = max(lr * self.factor, self.min_lr)
                self.model.optimizer.learning_rate = new
                if self.verbose:
                    print(f"\nEpoch {epoch + 1}: ReduceLROnPlateau reducing learning rate "
                          f"to {new}.")
            self.cooldown_counter, self.wait = self.cooldown, 0


class TerminateOnNaN(Callback):
    """Stops fit at the first batch whose loss is NaN or infinite."""

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            print(f"Batch {batch}: invalid loss, terminating training", file=sys.stderr)
            self.model.stop_training = True


class CSVLogger(Callback):
    """Writes one row per epoch (``epoch`` and every logged value) to ``filename``."""

    def __init__(self, filename, separator=",", append=False):
        super().__init__()
        self.filename, self.sep, self.append = os.fspath(filename), separator, append

    def on_train_begin(self, logs=None):
        self._keys = None
        exists = self.append and os.path.exists(self.filename) and \
            os.path.getsize(self.filename) > 0
        self._file = open(self.filename, "a" if self.append else "w", newline="")
        self._header_written = exists

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self._keys is None:
            self._keys = sorted(logs)
        w = csv.writer(self._file, delimiter=self.sep)
        if not self._header_written:
            w.writerow(["epoch"] + self._keys)
            self._header_written = True
        w.writerow([epoch] + [logs.get(k, "NA") for k in self._keys])
        self._file.flush()

    def on_train_end(self, logs=None):
        self._file.close()


class LambdaCallback(Callback):
    """Hooks given as functions: ``LambdaCallback(on_epoch_end=lambda epoch, logs: ...)``;
    any hook name of Callback (``on_train_batch_begin``, ``on_batch_end``, ...)."""

    def __init__(self, on_epoch_begin=None, on_epoch_end=None, on_train_begin=None,
                 on_train_end=None, on_train_batch_begin=None, on_train_batch_end=None,
                 **kwargs):
        super().__init__()
        hooks = {"on_epoch_begin": on_epoch_begin, "on_epoch_end": on_epoch_end,
                 "on_train_begin": on_train_begin, "on_train_end": on_train_end,
                 "on_train_batch_begin": on_train_batch_begin,
                 "on_train_batch_end": on_train_batch_end, **kwargs}
        for name, fn in hooks.items():
            if not (name.startswith("on_") and callable(getattr(Callback, name, None))):
                raise TypeError(f"LambdaCallback: {name!r} is not a callback hook")
            if fn is not None:
                setattr(self, name, fn)


# hooks and their arguments before ``logs``: a missing logs is passed as {} (positionally,
# as Keras passes it, so overrides written as ``def on_train_begin(self, logs)`` work)
_HOOK_ARITY = {"on_train_begin": 0, "on_train_end": 0, "on_test_begin": 0, "on_test_end": 0,
               "on_predict_begin": 0, "on_predict_end": 0}


class CallbackList:
    """Forwards each hook to every callback."""

    def __init__(self, callbacks, model, params):
        self.callbacks = list(callbacks)
        for c in self.callbacks:
            c.set_model(model)
            c.set_params(params)

    def __getattr__(self, hook):
        def call(*args, **kwargs):
            if len(args) == _HOOK_ARITY.get(hook, 1) and "logs" not in kwargs:
                args = args + ({},)
            for c in self.callbacks:
                getattr(c, hook)(*args, **kwargs)

        return call


from .callbacks_ema import SwapEMAWeights  # noqa: E402,F401 - EMA weights for evaluation
from .callbacks_more import BackupAndRestore  # noqa: E402,F401 - subclasses Callback
from .tensorboard import TensorBoard  # noqa: E402,F401 - TensorBoard logs (keras/tensorboard.py)
