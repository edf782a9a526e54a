"""Values tracing can know: constant folding at trace time for arguments that must be static
(shapes, sizes, indices of a TensorArray), so ``jg.zeros(jg.shape(x))`` and
``jg.random.uniform([jg.shape(x)[0] * 2, 3])`` trace when ``x``'s shape is known."""

import numpy as np

from ..tensor import Tensor
from .core import REGISTRY, fmt_shape

_MAX_FOLD_DEPTH = 32
_FOLDABLE_KINDS = ("elementwise", "shape", "reduce")


def static_value(t, depth=0):
    """The NumPy value of ``t`` when tracing can know it (an eager tensor, a Python number,
    or a symbolic tensor computed from constants and static shapes); else None."""
    if isinstance(t, (int, np.integer)) and not isinstance(t, bool):
        return np.asarray(t)
    if not isinstance(t, Tensor):
        return None
    if not t._symbolic:
        return np.asarray(t.numpy())
    from ..tracing import SymbolicTensor

    op = t._ir.op
    if op.type == "constant":
        return np.asarray(op.attrs["value"])
    if op.type == "shape" and None not in op.inputs[0].shape:
        return np.array(op.inputs[0].shape, op.attrs["out_type"].np)
    od = REGISTRY.get(op.type)
    if depth > _MAX_FOLD_DEPTH or od is None or op.subgraphs or \
            od.kind not in _FOLDABLE_KINDS or len(op.outputs) != 1:
        return None
    vals = []
    for v in op.inputs:
        x = static_value(SymbolicTensor(v), depth + 1)
        if x is None:
            return None
        vals.append(x)
    try:
        return np.asarray(od.impl(*vals, **op.attrs))
    except Exception:  # noqa: BLE001 - not foldable: the op checks its inputs at run time
        return None


def _dim_of(t):
    """(x, i) when the symbolic scalar ``t`` is ``jg.shape(x)[i]``, else None."""
    op = t._ir.op
    if op.type != "strided_slice" or op.inputs[0].op.type != "shape":
        return None
    key = op.attrs["key"]
    if len(key) != 1 or not isinstance(key[0], int):
        return None
    x = op.inputs[0].op.inputs[0]
    return x, key[0] % len(x.shape)


def run_time_dims(shape):
    """For a shape known only at run time made of dims of ONE tensor x (``jg.shape(x)``, or
    a list of ints and ``jg.shape(x)[i]``): (x, dims) with dims[d] an int or ("dim", i) for
    dim i of x; else None (a static shape, or one of another form)."""
    from ..tracing import SymbolicTensor

    if isinstance(shape, Tensor):
        op = shape._symbolic and shape._ir.op
        if not op or op.type != "shape" or static_value(shape) is not None:
            return None
        x = op.inputs[0]
        return SymbolicTensor(x), tuple(("dim", i) if d is None else d
                                        for i, d in enumerate(x.shape))
    if not isinstance(shape, (list, tuple)):
        return None
    like, dims = None, []
    for d in shape:
        v = static_value(d) if isinstance(d, Tensor) else None
        if not isinstance(d, Tensor) or v is not None:
            if d is None or int(d if v is None else v) < 0:
                return None
            dims.append(int(d if v is None else v))
            continue
        if not d._symbolic or d.shape.rank != 0:
            return None
        found = _dim_of(d)
        if found is None or (like is not None and found[0] is not like):
            return None
        like = found[0]
        dims.append(("dim", found[1]))
    if like is None:
        return None
    return SymbolicTensor(like), tuple(dims)


def dynamic_origin(t, depth=0):
    """Where a symbolic tensor whose value tracing cannot know comes from, for error
    messages: the unknown dims of a ``jg.shape``, else the op that computes it."""
    from ..tracing import SymbolicTensor

    op = t._ir.op
    if op.type == "shape":
        return f"jg.shape of a tensor of shape {fmt_shape(op.inputs[0].shape)} (? = unknown " \
               "when tracing)"
    if op.type in ("read_variable", "placeholder") or not op.inputs or depth > 8:
        return f"the value of {t._ir.name}, known only when the function runs"
    for v in op.inputs:
        if static_value(SymbolicTensor(v)) is None:
            return dynamic_origin(SymbolicTensor(v), depth + 1)
    return f"the result of {op.type!r}, known only when the function runs"


def get_static_value(tensor, partial=False):
    """``jg.get_static_value(t)``: the NumPy value of ``t`` when it is known without running
    a compiled function (an eager tensor, a Variable's current value, or, while tracing, a
    tensor computed from constants and static shapes); else None. ``partial`` is accepted
    for TensorFlow compatibility.

    >>> jg.get_static_value(jg.shape(x)[0])  # x's first dim while tracing, if static
    """
    if hasattr(tensor, "_jg_read"):
        from .. import tracing

        return None if tracing.in_graph_mode() else np.asarray(tensor.numpy())
    if not isinstance(tensor, Tensor):
        return np.asarray(tensor) if isinstance(tensor, (int, float, bool, np.generic,
                                                         np.ndarray, list)) else None
    return static_value(tensor)


__all__ = ["get_static_value"]
