"""Ops that talk to the host while a program runs, eagerly or in a compiled function (where
codegen/io_ops.py calls back into Python and runs the op's NumPy implementation):

- ``print`` (``jg.print``): prints its inputs; ``format_values(arrays, attrs)`` is the one
  formatter.
- ``write_summary`` (``jg.summary.scalar`` and the others, see summary/api.py): hands a
  summarized value to a summary writer."""

import sys

import numpy as np

from ..tensor import Tensor
from .core import Op, apply, as_tensor, register

_STREAMS = {"stdout": lambda: sys.stdout, "stderr": lambda: sys.stderr}
_SUMMARIZE = 3  # elements kept at each end of a long axis, as tf.print


def _fmt_scalar(v):
    if isinstance(v, (bool, np.bool_)):
        return "1" if v else "0"
    if isinstance(v, (float, np.floating)):
        return "%g" % v
    return str(v)


def _fmt_array(a):
    if a.ndim == 0:
        return _fmt_scalar(a[()])

    def rec(x, depth):
        n = x.shape[0]
        idx = list(range(n)) if n <= 2 * _SUMMARIZE else \
            list(range(_SUMMARIZE)) + [None] + list(range(n - _SUMMARIZE, n))
        if x.ndim == 1:
            return "[" + " ".join("..." if i is None else _fmt_scalar(x[i]) for i in idx) + "]"
        sep = "\n" + " " * (depth + 1)
        return "[" + sep.join("..." if i is None else rec(x[i], depth + 1) for i in idx) + "]"

    return rec(a, 0)


def format_values(arrays, attrs):
    """The text ``jg.print`` writes for ``arrays`` (the op's inputs) and its attrs:
    ``template`` (per printed item: an int = index into arrays, a str = literal text),
    ``sep`` and ``end``."""
    parts = [_fmt_array(np.asarray(arrays[t])) if isinstance(t, int) else t
             for t in attrs["template"]]
    return attrs["sep"].join(parts) + attrs["end"]


def _print_impl(*arrays, template, sep, end, stream):
    out = _STREAMS[stream]()
    out.write(format_values(arrays, {"template": template, "sep": sep, "end": end}))
    out.flush()
    return ()


register(Op("print", lambda types, **attrs: [], _print_impl, kind="io", lower="print",
            unify=(), stateful=True, n_outputs=0,
            doc="prints its inputs (attrs template, sep, end, stream); no outputs"))


def print(*inputs, output_stream=None, summarize=None, sep=" ", end="\n", name=None):  # noqa: A001
    """``jg.print("loss:", loss)``: prints when the program runs (each call of a compiled
    function), in tf.print's format; non-tensor arguments print as text."""
    stream = "stderr" if output_stream is sys.stderr or output_stream == "stderr" else "stdout"
    tensors, template = [], []
    for v in inputs:
        if isinstance(v, Tensor) or hasattr(v, "_jg_read") or isinstance(v, np.ndarray):
            template.append(len(tensors))
            tensors.append(as_tensor(v, "print"))
        else:
            template.append(str(v))
    apply("print", *tensors, template=tuple(template), sep=str(sep), end=str(end), stream=stream)


def _write_summary_infer(types, **attrs):
    step, cond = types[0], types[1]
    if step.dtype.name != "int64" or step.shape != ():
        raise ValueError(f"write_summary: the step must be an int64 scalar, got {step}")
    if not cond.dtype.is_bool or cond.shape != ():
        raise ValueError(f"write_summary: the condition must be a bool scalar, got {cond}")
    return []


def _write_summary_impl(step, cond, *data, _writer, tag, plugin, **params):
    if bool(cond):
        from ..summary.api import write_from_op

        write_from_op(_writer, tag, plugin, int(step), data, params)
    return ()


register(Op("write_summary", _write_summary_infer, _write_summary_impl, kind="io",
            lower="print", unify=(), stateful=True, n_outputs=0,
            doc="when its bool scalar input 1 is true, writes a summary of input 2 (if any) at "
                "step input 0 to the summary writer with key attr _writer (attrs tag, plugin, "
                "description and the plugin's parameters); no outputs"))


__all__ = ["print"]
