"""Summary writers and the per-thread summary state (default writer, default step,
recording condition), as ``tf.summary`` keeps them.

A ``SummaryWriter`` owns one event file, ``<logdir>/events.out.tfevents.<seconds>.<host>.
<pid>.<n><suffix>``: it writes the ``file_version`` event when created, then queues
events and appends them when ``max_queue`` are waiting, when ``flush_millis`` have passed
since the last flush, on ``flush()``, on leaving ``as_default()``, on ``close()`` and when
the process exits.

Compiled functions refer to a writer by its key (the ``_writer`` attribute of the
``write_summary`` op, see summary/api.py), looked up in ``_LIVE`` when the op runs. Keys are
random, so a graph saved with ``jg.saved_model`` and loaded in another process never writes
into an unrelated writer there.
"""

import atexit
import itertools
import os
import socket
import threading
import time
import uuid
import warnings

from . import events
from .records import frame

_LIVE = {}  # writer key -> open SummaryWriter (closed writers are removed)
_COUNTER = itertools.count()


class _State(threading.local):
    def __init__(self):
        self.writer = None
        self.step = None
        self.is_recording = None


STATE = _State()


class _DefaultContext:
    """``writer.as_default(step)``: a class (not a generator) so that ``set_as_default`` is
    just ``__enter__`` without an exit that could run when the generator is collected."""

    def __init__(self, writer, step):
        self._writer, self._step = writer, step

    def __enter__(self):
        self._old_writer, self._old_step = STATE.writer, STATE.step
        STATE.writer = self._writer
        if self._step is not None:
            STATE.step = self._step
        return self._writer

    def __exit__(self, *exc):
        STATE.writer.flush()
        STATE.writer = self._old_writer
        if self._step is not None:
            STATE.step = self._old_step
        return False


class SummaryWriter:
    """The writer ``jg.summary.create_file_writer`` returns. Use it with
    ``with writer.as_default(step=None):`` (or ``writer.set_as_default()``); summary calls
    then write to it.

    >>> writer = jg.summary.create_file_writer("/tmp/logs")
    >>> with writer.as_default(step=1):
    ...     jg.summary.scalar("loss", 0.25)
    """

    def __init__(self, logdir, max_queue=None, flush_millis=None, filename_suffix=None):
        self.logdir = os.fspath(logdir)
        self._max_queue = 10 if max_queue is None else int(max_queue)
        self._flush_secs = (120000 if flush_millis is None else int(flush_millis)) / 1000.0
        suffix = ".v2" if filename_suffix is None else str(filename_suffix)
        os.makedirs(self.logdir, exist_ok=True)
        name = (f"events.out.tfevents.{int(time.time()):010d}.{socket.gethostname()}."
                f"{os.getpid()}.{next(_COUNTER)}{suffix}")
        self.path = os.path.join(self.logdir, name)
        self._lock = threading.Lock()
        self._queue = []
        self._file = open(self.path, "ab")
        self._file.write(frame(events.event(time.time(), file_version=events.FILE_VERSION,
                                            source_writer=events.SOURCE_WRITER)))
        self._file.flush()
        self._last_flush = time.monotonic()
        self._closed = False
        self._key = uuid.uuid4().hex[:16]
        _LIVE[self._key] = self

    def __repr__(self):
        return f"<SummaryWriter {self.path!r}{' (closed)' if self._closed else ''}>"

    # -- TensorFlow's interface
    def as_default(self, step=None):
        """A context in which this writer is the default (and ``step``, if given, the
        default step); leaving it flushes the writer."""
        self._check_open("as_default")
        return _DefaultContext(self, step)

    def set_as_default(self, step=None):
        """Makes this writer the default for the current thread, without a context."""
        self.as_default(step).__enter__()

    def init(self):
        """Accepted for compatibility: the file is opened when the writer is created."""
        self._check_open("init")

    def flush(self):
        """Appends the queued events to the file and flushes it to the operating system."""
        with self._lock:
            if self._queue and not self._closed:
                self._file.write(b"".join(self._queue))
                self._file.flush()
            self._queue = []
            self._last_flush = time.monotonic()

    def close(self):
        """Flushes and closes the file; the writer cannot be used afterwards."""
        if self._closed:
            return
        self.flush()
        with self._lock:
            self._closed = True
            self._file.close()
        _LIVE.pop(self._key, None)

    # -- jitgraph's part
    def write_event(self, step, summary):
        """Queues an event with ``summary`` (a serialized ``Summary``) at ``step``."""
        self.write_raw(events.event(time.time(), step=int(step), summary=summary))

    def write_raw(self, event):
        """Queues a serialized ``Event``."""
        record = frame(event)
        with self._lock:
            self._queue.append(record)
            due = (len(self._queue) >= self._max_queue
                   or time.monotonic() - self._last_flush >= self._flush_secs)
        if due:
            self.flush()

    def _check_open(self, what):
        if self._closed:
            raise RuntimeError(f"SummaryWriter.{what}: the writer for {self.path!r} is "
                               f"already closed; create a new one with "
                               f"jg.summary.create_file_writer")


class NoopWriter(SummaryWriter):
    """``jg.summary.create_noop_writer()``: every method does nothing, and ``as_default`` leaves
    the current default writer in place (as TensorFlow's no-op writer does)."""

    def __init__(self):  # no file, no key
        self._closed = False

    def __repr__(self):
        return "<SummaryWriter (no-op)>"

    def as_default(self, step=None):
        return _NoopContext()

    def set_as_default(self, step=None):
        pass

    def init(self):
        pass

    def flush(self):
        pass

    def close(self):
        pass


class _NoopContext:
    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return False


_warned = set()


def live_writer(key, tag):
    """The open writer with ``key``, or None (with a one-time warning) when it has been
    closed since the function that writes to it was traced (or the function was loaded from
    a saved model written by another process)."""
    w = _LIVE.get(key)
    if w is None and key not in _warned:
        _warned.add(key)
        warnings.warn(f"jg.summary: summary {tag!r} was not written: its writer has been "
                      f"closed (or belongs to another process: a loaded saved model). A "
                      f"jg.function writes to the writer that was the default when it was "
                      f"traced; trace it again under an open writer",
                      RuntimeWarning, stacklevel=2)
    return w


@atexit.register
def _flush_all():
    for w in list(_LIVE.values()):
        try:
            w.flush()
        except (OSError, ValueError):
            pass
