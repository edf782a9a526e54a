"""Callbacks for fit: History (returned by fit), the progress bar, EarlyStopping,
LambdaCallback.

The progress bar prints one line per epoch. With ``verbose=1`` the line is redrawn in place
(with an ETA) while the epoch runs when the output is a terminal; with ``verbose=2`` only the
finished line is printed.
"""

import sys
import time

import numpy as np


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
        pass

    def on_train_batch_end(self, batch, logs=None):
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

    def on_train_batch_end(self, batch, logs=None):
        self._bar.update(batch + 1, logs)

    def on_epoch_end(self, epoch, logs=None):
        self._bar.update(self.params.get("steps") or 0, logs, finalize=True)


class EarlyStopping(Callback):
    """Stops fit when ``monitor`` has not improved by ``min_delta`` for ``patience`` epochs;
    ``restore_best_weights`` puts back the best epoch's weights."""

    def __init__(self, monitor="val_loss", min_delta=0.0, patience=0, mode="auto",
                 restore_best_weights=False):
        super().__init__()
        self.monitor, self.min_delta, self.patience = monitor, abs(min_delta), patience
        if mode == "auto":
            mode = "max" if "acc" in monitor or "precision" in monitor \
                or "recall" in monitor else "min"
        self.sign = 1.0 if mode == "min" else -1.0
        self.restore_best_weights = restore_best_weights
        self.stopped_epoch = 0

    def on_train_begin(self, logs=None):
        self.wait, self.best, self.best_weights = 0, np.inf, None

    def on_epoch_end(self, epoch, logs=None):
        value = (logs or {}).get(self.monitor)
        if value is None:
            return
        score = self.sign * value
        if score < self.best - self.min_delta:
            self.best, self.wait = score, 0
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            return
        self.wait += 1
        if self.wait >= self.patience:
            self.stopped_epoch = epoch
            self.model.stop_training = True
            if self.best_weights is not None:
                self.model.set_weights(self.best_weights)


class LambdaCallback(Callback):
    def __init__(self, on_epoch_begin=None, on_epoch_end=None, on_train_begin=None,
                 on_train_end=None, on_batch_end=None):
        super().__init__()
        for name, fn in (("on_epoch_begin", on_epoch_begin), ("on_epoch_end", on_epoch_end),
                         ("on_train_begin", on_train_begin), ("on_train_end", on_train_end),
                         ("on_train_batch_end", on_batch_end)):
            if fn is not None:
                setattr(self, name, fn)


class CallbackList:
    """Forwards each hook to every callback."""

    def __init__(self, callbacks, model, params):
        self.callbacks = list(callbacks)
        for c in self.callbacks:
            c.set_model(model)
            c.set_params(params)

    def __getattr__(self, hook):
        def call(*args, **kwargs):
            for c in self.callbacks:
                getattr(c, hook)(*args, **kwargs)

        return call
