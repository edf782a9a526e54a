"""``jg.train.CheckpointManager`` and the directory's ``checkpoint`` state file.

The state file is TensorFlow's text format, one field a line, paths relative to the
directory:

    model_checkpoint_path: "ckpt-3"
    all_model_checkpoint_paths: "ckpt-2"
    all_model_checkpoint_paths: "ckpt-3"
    all_model_checkpoint_timestamps: 1764345600.25
    all_model_checkpoint_timestamps: 1764345660.5
    last_preserved_timestamp: 1764345500.0

It is replaced atomically after the checkpoint's own files are complete, so
``latest_checkpoint`` never names a half-written checkpoint.
"""

import os
import re
import time

from . import checkpoint_format as _ckpt
from . import errors

STATE_FILE = "checkpoint"
_LINE = re.compile(r'^\s*(\w+)\s*:\s*(.*?)\s*$')


def _rel(directory, path):
    path = os.fspath(path)
    try:
        rel = os.path.relpath(path, directory)
    except ValueError:
        return path
    return path if rel.startswith("..") else rel


def _abs(directory, path):
    return path if os.path.isabs(path) else os.path.join(directory, path)


def read_checkpoint_state(directory):
    """{"model_checkpoint_path", "all_model_checkpoint_paths", "all_model_checkpoint_
    timestamps", "last_preserved_timestamp"} from ``directory``'s state file (paths made
    absolute), or None when there is none."""
    path = os.path.join(os.fspath(directory), STATE_FILE)
    if not os.path.exists(path):
        return None
    state = {"model_checkpoint_path": None, "all_model_checkpoint_paths": [],
             "all_model_checkpoint_timestamps": [], "last_preserved_timestamp": None}
    with open(path) as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            m = _LINE.match(line)
            if m is None or m.group(1) not in state:
                raise errors.DataLossError(f"{path}:{n}: not a checkpoint state line: "
                                           f"{line.strip()!r}")
            key, value = m.groups()
            value = value.strip('"') if value.startswith('"') else float(value)
            if isinstance(state[key], list):
                state[key].append(value)
            else:
                state[key] = value
    directory = os.fspath(directory)
    if state["model_checkpoint_path"] is not None:
        state["model_checkpoint_path"] = _abs(directory, state["model_checkpoint_path"])
    state["all_model_checkpoint_paths"] = [_abs(directory, p)
                                           for p in state["all_model_checkpoint_paths"]]
    return state


def update_checkpoint_state(directory, latest, all_paths, timestamps=None,
                            last_preserved=None):
    """Writes ``directory``'s state file (atomically)."""
    directory = os.fspath(directory)
    lines = [f'model_checkpoint_path: "{_rel(directory, latest)}"']
    lines += [f'all_model_checkpoint_paths: "{_rel(directory, p)}"' for p in all_paths]
    lines += [f"all_model_checkpoint_timestamps: {t!r}" for t in timestamps or ()]
    if last_preserved is not None:
        lines.append(f"last_preserved_timestamp: {last_preserved!r}")
    text = ("\n".join(lines) + "\n").encode()
    os.makedirs(directory, exist_ok=True)
    _ckpt._atomic_write(os.path.join(directory, STATE_FILE), lambda f: f.write(text))


def latest_checkpoint(checkpoint_dir, latest_filename=None):
    """The prefix of the newest checkpoint in ``checkpoint_dir``, or None.

    >>> ckpt.restore(jg.train.latest_checkpoint("/tmp/ckpts"))
    """
    state = read_checkpoint_state(checkpoint_dir)
    if state is None or state["model_checkpoint_path"] is None:
        return None
    path = state["model_checkpoint_path"]
    return path if os.path.exists(_ckpt._index_path(path)) else None


class CheckpointManager:
    """Numbers, rotates and finds the checkpoints of one Checkpoint in a directory.

    >>> manager = jg.train.CheckpointManager(ckpt, "/tmp/ckpts", max_to_keep=3)
    >>> ckpt.restore(manager.latest_checkpoint)      # None on a fresh start: nothing restored
    >>> manager.save()                               # "/tmp/ckpts/ckpt-1"

    ``max_to_keep=None`` keeps every checkpoint; with ``keep_checkpoint_every_n_hours``, a
    checkpoint that would be deleted is kept when at least that many hours passed since the
    last one kept this way. The list of checkpoints is recovered from the directory's state
    file, so a restarted program keeps rotating the same files.
    """

    def __init__(self, checkpoint, directory, max_to_keep, keep_checkpoint_every_n_hours=None,
                 checkpoint_name="ckpt", step_counter=None, checkpoint_interval=None,
                 init_fn=None):
        from .checkpoint import Checkpoint

        if not isinstance(checkpoint, Checkpoint):
            raise TypeError(f"CheckpointManager: checkpoint must be a jg.train.Checkpoint, got "
                            f"{type(checkpoint).__name__}")
        if max_to_keep is not None and max_to_keep <= 0:
            raise ValueError(f"CheckpointManager: max_to_keep must be positive or None, got "
                             f"{max_to_keep}")
        if checkpoint_interval is not None and step_counter is None:
            raise ValueError("CheckpointManager: checkpoint_interval needs a step_counter")
        self._checkpoint = checkpoint
        self._directory = os.fspath(directory)
        self._max_to_keep = max_to_keep
        self._keep_hours = keep_checkpoint_every_n_hours
        self._prefix = os.path.join(self._directory, checkpoint_name)
        self._step_counter, self._interval = step_counter, checkpoint_interval
        self._last_step = None
        self._init_fn = init_fn
        self._maybe_delete = {}  # path -> timestamp, oldest first
        self._last_preserved = time.time()
        self._latest = None
        state = read_checkpoint_state(self._directory)
        if state is not None:
            paths = state["all_model_checkpoint_paths"]
            stamps = state["all_model_checkpoint_timestamps"]
            if len(stamps) != len(paths):
                stamps = [self._last_preserved] * len(paths)
            if state["last_preserved_timestamp"] is not None:
                self._last_preserved = state["last_preserved_timestamp"]
            for p, t in zip(paths, stamps):
                if os.path.exists(_ckpt._index_path(p)):
                    self._maybe_delete[p] = t
            self._latest = latest_checkpoint(self._directory)

    @property
    def directory(self):
        return self._directory

    @property
    def checkpoint(self):
        return self._checkpoint

    @property
    def latest_checkpoint(self):
        """The newest checkpoint's prefix, or None (restoring None restores nothing)."""
        return self._latest

    @property
    def checkpoints(self):
        """The prefixes of the checkpoints being kept for rotation, oldest first."""
        return list(self._maybe_delete)

    @property
    def checkpoint_interval(self):
        return self._interval

    def save(self, checkpoint_number=None, check_interval=True, options=None):
        """Writes ``<directory>/<checkpoint_name>-<n>``, where n is ``checkpoint_number``
        (an int or an integer Variable) or else the checkpoint's save counter; deletes
        checkpoints beyond ``max_to_keep``; returns the path (None when skipped by
        ``checkpoint_interval``)."""
        if check_interval and self._interval is not None:
            step = int(_value(self._step_counter))
            if self._last_step is not None and step < self._last_step + self._interval:
                return None
            self._last_step = step
        ckpt = self._checkpoint
        ckpt._ensure_save_counter()
        from . import tracing

        with tracing.init_scope():
            ckpt._save_counter.assign_add(1)
        number = checkpoint_number if checkpoint_number is not None else ckpt._save_counter
        path = ckpt.write(f"{self._prefix}-{int(_value(number))}")
        now = time.time()
        self._maybe_delete.pop(path, None)  # an overwritten checkpoint moves to the end
        self._maybe_delete[path] = now
        self._latest = path
        self._sweep()
        update_checkpoint_state(self._directory, path, list(self._maybe_delete),
                                list(self._maybe_delete.values()), self._last_preserved)
        return path

    def restore_or_initialize(self):
        """Restores the latest checkpoint (returning its path), or runs ``init_fn`` and
        returns None when there is none."""
        if self._latest is not None:
            self._checkpoint.restore(self._latest)
            return self._latest
        if self._init_fn is not None:
            self._init_fn()
        return None

    def _sweep(self):
        if self._max_to_keep is None:
            return
        while len(self._maybe_delete) > self._max_to_keep:
            path, stamp = next(iter(self._maybe_delete.items()))
            del self._maybe_delete[path]
            if self._keep_hours is not None and \
                    stamp - self._keep_hours * 3600.0 >= self._last_preserved:
                self._last_preserved = stamp
                continue
            for f in _ckpt.checkpoint_files(path):
                if os.path.exists(f):
                    os.remove(f)


def _value(x):
    return x.numpy() if hasattr(x, "numpy") else x


__all__ = ["CheckpointManager", "latest_checkpoint", "read_checkpoint_state",
           "update_checkpoint_state"]
