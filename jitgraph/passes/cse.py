"""Common-subexpression elimination: two ops of the same type, on the same inputs, with equal
attributes compute the same thing; the second uses the first one's results.

Attributes are compared by value (NumPy arrays by dtype, shape and bytes, up to
``MAX_ATTR_BYTES``; larger arrays only when they are the same object), so equal constants
merge too. Never merged: ops with effects, ops with sub-graphs, allocations of loop stacks
(``stack_alloc``: each is a block its loop writes in place; two loops sharing one would each
need a copy), and ``read_variable`` across a
write of its variable — each write (including one inside a ``cond``/``while_loop``) starts a
new "version" of the variable and reads only merge within one version. An op inside a
sub-graph may reuse an equal op of an enclosing graph (its value is in scope there), never the
other way round.
"""

import itertools

import numpy as np

from .rewrite import Rewriter, has_effects, written_variables

MAX_ATTR_BYTES = 1 << 16
_FRESH = {"stack_alloc"}


def attr_key(v):
    """A hashable key for an attribute value; equal keys mean equal attributes."""
    if isinstance(v, np.ndarray):
        if v.nbytes <= MAX_ATTR_BYTES:
            return ("nd", v.dtype.str, v.shape, np.ascontiguousarray(v).tobytes())
        return ("id", id(v))
    if isinstance(v, np.generic):
        return ("np", v.dtype.str, v.tobytes())
    if isinstance(v, (list, tuple)):
        return (type(v).__name__,) + tuple(attr_key(x) for x in v)
    if isinstance(v, dict):
        return ("dict",) + tuple((k, attr_key(v[k])) for k in sorted(v))
    if isinstance(v, float):
        return ("float", v.hex() if v == v else "nan")
    if hasattr(v, "_jg_read"):  # a Variable: identity
        return ("var", id(v))
    try:
        hash(v)
    except TypeError:
        return ("id", id(v))
    return (type(v).__name__, v)


class _CSE:
    def __init__(self):
        self.scopes = [{}]  # innermost last; a lookup searches outward
        self.versions = [{}]  # variable id -> version, per scope
        self.counter = itertools.count(1)

    def rule(self, rw, op, inputs):
        if op.subgraphs:
            return self._control(rw, op, inputs)
        if has_effects(op):
            self._bump(written_variables(op))
            return None
        if op.type in _FRESH:
            return None
        key = self._key(op, inputs)
        for scope in reversed(self.scopes):
            if key in scope:
                return scope[key]
        out = rw.copy(op, inputs)
        self.scopes[-1][key] = out
        return out

    def _key(self, op, inputs):
        key = (op.type, tuple(v.uid for v in inputs),
               attr_key({k: v for k, v in op.attrs.items()}))
        if op.type == "read_variable":
            key += (self.versions[-1].get(id(op.attrs["var"]), 0),)
        return key

    def _bump(self, var_ids):
        for vid in var_ids:
            self.versions[-1][vid] = next(self.counter)

    def _control(self, rw, op, inputs):
        writes = written_variables(op)
        if op.type == "while_loop":  # a read in the body may follow a write of an iteration
            self._bump(writes)
        subs = []
        for sg in op.subgraphs:
            self.scopes.append({})
            self.versions.append(dict(self.versions[-1]))
            try:
                subs.append(rw.subgraph(sg, rw.graph))
            finally:
                self.scopes.pop()
                self.versions.pop()
        self._bump(writes)
        return rw.copy(op, inputs, subgraphs=subs)


def cse(graph):
    """``graph`` with repeated pure computations merged (a new graph).

    >>> cse(g)   # a = exp(x); b = exp(x)  ->  b is a
    """
    return Rewriter(_CSE().rule).run(graph)
