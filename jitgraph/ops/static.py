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


__all__ = []
