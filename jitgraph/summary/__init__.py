"""``jg.summary``: TensorBoard event files, as ``tf.summary`` writes them.

>>> writer = jg.summary.create_file_writer("logs/train")
>>> with writer.as_default(step=0):
...     jg.summary.scalar("loss", 0.5)
...     jg.summary.histogram("weights", w)

Files are ``events.out.tfevents.*`` TFRecord files of ``Event`` protobufs, encoded by hand
(protowire.py, records.py, events.py; no protobuf or tensorboard package needed), readable by
TensorBoard and by ``jitgraph.summary.reader``. Summary calls work eagerly and inside
``jg.function`` (as host calls of the compiled code; see api.py for what is fixed when
tracing); ``graph`` writes a traced function's graph as a ``GraphDef`` for TensorBoard's
graph view (graphdef.py). Every backend runs the host calls (the cuda backend copies their
inputs back between launches). Not supported: name-scope prefixes on tags
(``jg.name_scope`` does not prefix names) and profiler traces (``trace_on``/``trace_export``
raise).
"""

from . import experimental, reader  # noqa: F401
from .api import (  # noqa: F401
    flush,
    graph,
    histogram,
    image,
    record_if,
    scalar,
    should_record_summaries,
    text,
    trace_export,
    trace_off,
    trace_on,
    write,
)
from .writer import NoopWriter as _NoopWriter
from .writer import SummaryWriter


def create_file_writer(logdir, max_queue=None, flush_millis=None, filename_suffix=None,
                       name=None, experimental_trackable=False, experimental_mesh=None):
    """A ``SummaryWriter`` for a new event file in ``logdir`` (created if missing). Events are
    queued and written every ``max_queue`` (10) events, ``flush_millis`` (120000) ms, on
    ``flush()``/``close()``, on leaving ``as_default()`` and at exit."""
    return SummaryWriter(logdir, max_queue=max_queue, flush_millis=flush_millis,
                         filename_suffix=filename_suffix)


def create_noop_writer():
    """A writer that writes nothing (its ``as_default`` keeps the current default writer)."""
    return _NoopWriter()


__all__ = ["SummaryWriter", "create_file_writer", "create_noop_writer", "scalar", "histogram",
           "image", "text", "write", "graph", "flush", "record_if", "should_record_summaries",
           "experimental", "trace_on", "trace_off", "trace_export"]
