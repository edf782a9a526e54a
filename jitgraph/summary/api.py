"""The summary functions (``jg.summary.scalar``, ``histogram``, ``image``, ``text``,
``write``) and the recording state around them (``record_if``,
``should_record_summaries``, ``flush``).

Inside ``jg.function``: a summary call records a ``write_summary`` op (ops/io.py), a host
call like ``jg.print``'s: each time the compiled function runs, the op hands the
summarized value to the writer, which encodes it (summary/plugins.py) and queues the event.
What is decided when the function is traced, and what when it runs, follows TensorFlow:

- the writer is the default writer at trace time (none: nothing is recorded and the call
  returns ``False``); calling the function later under another writer does not change it;
- the step is the ``step`` argument or the default step at trace time: a Variable
  (``optimizer.iterations``) or a tensor computed in the function is read when the
  function runs, a Python int is fixed when tracing (use a Variable for a changing step);
- ``record_if``'s condition at trace time: a Python bool (or a callable returning one)
  decides while tracing; a bool tensor computed in the function decides on each run.

The value returned is a bool tensor: whether the summary was recorded.
"""

import contextlib
import time

import numpy as np

from .. import dtypes as _dt
from .. import errors
from ..ops.core import apply, as_tensor
from .writer import STATE, live_writer

_NO_STEP = ("No step set. Please specify one either through the `step` argument or through "
            "jg.summary.experimental.set_step()")


def _bool(v):
    from ..tensor import constant

    return constant(bool(v))


def _recording():
    """The recording condition: a Python bool, or a symbolic bool tensor."""
    c = STATE.is_recording
    if callable(c):
        c = c()
    if c is None:
        return True
    if isinstance(c, (bool, np.bool_)):
        return bool(c)
    t = as_tensor(c, "record_if")
    if not t.dtype.is_bool or len(t.shape) != 0:
        raise ValueError(f"jg.summary.record_if: the condition must be a bool scalar, got "
                         f"{t.dtype.name}{list(t.shape)}")
    return t if t._symbolic else bool(t.numpy())


def should_record_summaries():
    """A bool tensor: True when a default writer is set and ``record_if`` allows writing."""
    if STATE.writer is None:
        return _bool(False)
    cond = _recording()
    return _bool(cond) if isinstance(cond, bool) else cond


@contextlib.contextmanager
def record_if(condition):
    """Summaries inside are written only when ``condition`` holds: a Python bool, a bool
    scalar tensor, or a callable returning one (called at each summary call eagerly, and
    when tracing inside a jg.function).

    >>> with jg.summary.record_if(lambda: step % 100 == 0):
    ...     jg.summary.scalar("loss", loss, step=step)
    """
    old = STATE.is_recording
    try:
        STATE.is_recording = condition
        yield
    finally:
        STATE.is_recording = old


def flush(writer=None, name=None):
    """Flushes ``writer`` (default: the default writer, if any)."""
    writer = STATE.writer if writer is None else writer
    if writer is not None:
        writer.flush()


def _step_tensor(step, tag):
    if isinstance(step, (int, np.integer)) and not isinstance(step, bool):
        return as_tensor(np.int64(step), "summary")
    t = as_tensor(step, "summary")  # a Variable is read here (in the graph when tracing)
    if not t.dtype.is_integer or t.dtype.is_bool or len(t.shape) != 0:
        raise TypeError(errors.at_user_line(
            f"jg.summary: the step of summary {tag!r} must be an integer scalar (a Python "
            f"int, an integer tensor or Variable), got {t.dtype.name}{list(t.shape)}"))
    if t.dtype is not _dt.int64:
        from ..ops.elementwise import cast

        t = cast(t, _dt.int64)
    return t


def _record(plugin, tag, data, step, description, **params):
    """Records (or, eagerly, writes) one summary; returns whether it was recorded."""
    writer = STATE.writer
    if writer is None:
        return _bool(False)
    cond = _recording()
    if cond is False:
        return _bool(False)
    step = STATE.step if step is None else step
    if step is None:
        raise ValueError(_NO_STEP)
    cond_t = _bool(True) if cond is True else cond
    inputs = [_step_tensor(step, tag), cond_t] + ([data] if data is not None else [])
    # "_writer": the key is not printed with the graph, so the graph's text (and the compile
    # cache's key) does not change with each new writer
    apply("write_summary", *inputs, _writer=writer._key, tag=str(tag), plugin=plugin,
          description=description or "", **params)
    return cond_t


def write_from_op(key, tag, plugin, step, data, params):
    """The ``write_summary`` op's host side: encode ``data`` and queue the event."""
    from .plugins import encode_value

    writer = live_writer(key, tag)
    if writer is None:
        return
    params = dict(params)
    if "text" in params:
        array = np.array(params.pop("text"), object).reshape(params.pop("text_shape"))
    else:
        array = data[0]
    writer.write_event(step, encode_value(plugin, tag, array, **params))


def _tensor(data, what, name):
    if isinstance(data, str) or (isinstance(data, np.ndarray) and data.dtype.kind in "OSU"):
        raise TypeError(f"jg.summary.{what}({name!r}): data must be numeric, got text")
    return as_tensor(data, f"summary.{what}")


def scalar(name, data, step=None, description=None):
    """Writes the scalar ``data`` (converted to float32) under tag ``name``.

    >>> with writer.as_default():
    ...     jg.summary.scalar("loss", 0.5, step=3)
    """
    t = _tensor(data, "scalar", name)
    if len(t.shape) != 0:
        raise ValueError(errors.at_user_line(
            f"jg.summary.scalar({name!r}): data must be a scalar, got shape "
            f"{list(t.shape)}; reduce it first (jg.reduce_mean) or use jg.summary.histogram"))
    return _record("scalars", name, t, step, description)


def _static_int(value, what, name, arg):
    if hasattr(value, "numpy") or hasattr(value, "_jg_read"):
        t = as_tensor(value, f"summary.{what}")
        if t._symbolic:
            raise TypeError(errors.at_user_line(
                f"jg.summary.{what}({name!r}): {arg} must be known when tracing (a Python "
                f"int), not a tensor computed in the function"))
        value = t.numpy()
    return int(value)


def histogram(name, data, step=None, buckets=None, description=None):
    """Writes a histogram of ``data`` (any shape) with ``buckets`` equal-width buckets
    (default 30) from its minimum to its maximum."""
    t = _tensor(data, "histogram", name)
    k = 30 if buckets is None else _static_int(buckets, "histogram", name, "buckets")
    return _record("histograms", name, t, step, description, buckets=k)


def image(name, data, step=None, max_outputs=3, description=None):
    """Writes up to ``max_outputs`` images of ``data`` ``[k, height, width, channels]``
    (1: grey, 2: grey + alpha, 3: RGB, 4: RGBA) as PNGs; floats are taken in [0, 1], a
    NumPy uint8 array as it is, wider integers are divided down to 0..255."""
    # jitgraph has no uint8 tensors: uint8 pixels arrive as a wider integer; say so
    as_uint8 = isinstance(data, np.ndarray) and data.dtype == np.uint8
    t = _tensor(data, "image", name)
    shape = list(t.shape)
    if len(shape) != 4:
        raise ValueError(errors.at_user_line(
            f"jg.summary.image({name!r}): data must have rank 4 [k, height, width, channels], "
            f"got shape {shape}; add a batch axis with jg.expand_dims(image, 0)"))
    if shape[3] is not None and not 1 <= shape[3] <= 4:
        raise ValueError(errors.at_user_line(
            f"jg.summary.image({name!r}): images need 1 to 4 channels, got {shape[3]}"))
    if t.dtype.is_bool:
        raise TypeError(f"jg.summary.image({name!r}): bool images are not supported; "
                        f"cast them to float32")
    k = _static_int(max_outputs, "image", name, "max_outputs")
    if k < 0:
        raise ValueError(f"jg.summary.image({name!r}): max_outputs must be >= 0, got {k}")
    extra = {"uint8": True} if as_uint8 else {}
    return _record("images", name, t, step, description, max_outputs=k, **extra)


def text(name, data, step=None, description=None):
    """Writes ``data``: a Python str (or bytes), or a nested list / NumPy array of them.
    jitgraph has no string tensors: the text is fixed when the call runs (when tracing,
    inside a jg.function)."""
    if hasattr(data, "numpy") or hasattr(data, "_jg_read"):
        raise TypeError(errors.at_user_line(
            f"jg.summary.text({name!r}): data must be a Python str or a list/NumPy array of "
            f"str: jitgraph has no string tensors. To log a number, use jg.summary.scalar"))
    return _record("text", name, None, step, description, **_strings(data, "text", name))


def _is_text(data):
    if isinstance(data, (str, bytes)):
        return True
    if isinstance(data, np.ndarray):
        return data.dtype.kind in "SU" or (data.dtype.kind == "O" and data.size > 0
                                            and isinstance(data.flat[0], (str, bytes)))
    return isinstance(data, (list, tuple)) and len(data) > 0 and all(map(_is_text, data))


def _strings(data, what, name):
    """Strings as op attributes (``text``: flat tuple, ``text_shape``)."""
    a = np.array(data, dtype=object)
    flat = a.ravel().tolist()
    if not all(isinstance(x, (str, bytes)) for x in flat):
        raise TypeError(f"jg.summary.{what}({name!r}): data must hold only str or bytes")
    return {"text": tuple(flat), "text_shape": tuple(a.shape)}


def write(tag, tensor, step=None, metadata=None, name=None):
    """Writes ``tensor`` under ``tag`` as it is, with ``metadata`` (a serialized
    ``SummaryMetadata``: bytes, or anything with ``SerializeToString``). ``tensor`` is
    numeric (any shape), or text (a str or a list/NumPy array of str, fixed when tracing)."""
    if metadata is not None and hasattr(metadata, "SerializeToString"):
        metadata = metadata.SerializeToString()
    meta = bytes(metadata or b"").hex()  # a str attribute, so the graph can be saved
    if _is_text(tensor):
        return _record("tensor", tag, None, step, None, metadata=meta,
                       **_strings(tensor, "write", tag))
    t = _tensor(tensor, "write", tag)
    return _record("tensor", tag, t, step, None, metadata=meta)


def graph(graph_data):
    """Writes a graph for TensorBoard's graph view (at step 0, as TensorFlow does):
    ``graph_data`` is a ConcreteFunction (``f.get_concrete_function(x)``), its ``.graph``,
    or a serialized ``GraphDef`` (bytes). Eager only; returns whether it was written."""
    from ..tracing import current_graph
    from . import events, graphdef

    if current_graph() is not None:
        raise ValueError("jg.summary.graph() cannot be called inside a jg.function; call it "
                         "outside with f.get_concrete_function(...).graph")
    writer = STATE.writer
    if writer is None or not bool(should_record_summaries()):
        return _bool(False)
    g = getattr(graph_data, "graph", graph_data)
    if isinstance(g, (bytes, bytearray)):
        data = bytes(g)
    elif hasattr(g, "ops") and hasattr(g, "inputs"):
        data = graphdef.graph_def(g)
    else:
        raise ValueError(f"jg.summary.graph: expected a ConcreteFunction, a Graph or a "
                         f"serialized GraphDef, got {type(graph_data).__name__}")
    writer.write_raw(events.event(time.time(), graph_def=data))
    return _bool(True)


def _unsupported(what):
    def fn(*args, **kwargs):
        raise errors.UnimplementedError(
            f"jg.summary.{what}: profiler traces are not supported by jitgraph; inspect a "
            f"compiled function with concrete.explain(stage) or the `jitgraph` command")

    fn.__name__ = what
    fn.__doc__ = f"Not supported: raises UnimplementedError ({what} records profiler traces)."
    return fn


trace_on = _unsupported("trace_on")
trace_off = _unsupported("trace_off")
trace_export = _unsupported("trace_export")
