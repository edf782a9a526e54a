"""Constant folding: an op whose inputs are all constants is run once, now, with its own
NumPy implementation (the one eager mode and the interpreter use), and becomes a constant.

Not folded: ops with effects or that read state (``has_effects``/``reads_state``), ops with
sub-graphs, ops whose result has more than ``MAX_ELEMENTS`` elements (a ``fill`` of a big
shape stays a cheap ``fill`` instead of a big literal in the graph) and ops whose
implementation raises (the error then happens at run time, where the user expects it).
Folding reaches into sub-graphs; a ``cond`` whose predicate is a constant is replaced by the
ops of the branch it takes.
"""

import numpy as np

from .rewrite import is_fully_known, op_def, reads_state, rewrite

MAX_ELEMENTS = 1 << 16


def _foldable(op, values):
    od = op_def(op)
    if od is None or od.kind == "control" or op.subgraphs or reads_state(op):
        return False
    if any(v is None for v in values) or not op.outputs:
        return False
    for t in op.outputs:
        if not is_fully_known(t.shape) or int(np.prod(t.shape)) > MAX_ELEMENTS:
            return False
    return True


def fold_rule(rw, op, inputs):
    """The folding rule, for ``Rewriter``: new constants for ``op`` or None."""
    values = [rw.const_value(v) for v in inputs]
    if op.type == "cond":
        return _fold_cond(rw, op, values)
    if op.type == "constant" or not _foldable(op, values):
        return None
    try:
        res = op_def(op).impl(*values, **op.attrs)
    except Exception:  # noqa: BLE001 - left for run time, which reports it to the user
        return None
    res = tuple(res) if isinstance(res, (tuple, list)) else (res,)
    if len(res) != len(op.outputs):
        return None
    out = []
    for r, t in zip(res, op.outputs, strict=True):
        r = np.asarray(r)
        if r.dtype != t.dtype.np:
            r = r.astype(t.dtype.np)
        if r.shape != tuple(t.shape):
            return None
        out.append(rw.constant(r))
    return out


def _fold_cond(rw, op, values):
    pred = values[0]
    if pred is None:
        return None
    then, else_ = op.subgraphs
    return rw.inline(then if bool(pred) else else_)


def constant_fold(graph):
    """``graph`` with its constant sub-expressions evaluated (a new graph).

    >>> constant_fold(g)   # x * (2.0 + 1.0) -> x * 3.0
    """
    return rewrite(graph, fold_rule)
