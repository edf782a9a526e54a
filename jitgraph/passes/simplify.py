"""Algebraic simplification, repeated to a fixed point. Each rule is one table row (op type ->
function of the op and its new inputs) and returns replacement Values or None:

    x*1, 1*x, x/1, x+0, 0+x, x-0, x**1     -> x   (when the result has x's shape)
    x*0, 0*x                                -> zeros   integers only: for floats NaN*0 is NaN
    -(-x), log(exp(x))                      -> x       (exp(log(x)) stays: log needs x > 0)
    x**2 -> square(x);  x**0.5 -> sqrt(x) (floats)
    transpose(transpose(x, p), q)           -> transpose(x, p∘q), or x for the identity perm
    reshape(reshape(x)), reshape to x's own shape, broadcast_to x's own shape -> one or none
    cast to x's dtype -> x; cast(cast(x, B), C) -> cast(x, C) when x -> B is exact

``x + 0 -> x`` may turn ``-0.0 + 0.0 = +0.0`` into ``-0.0``; the values compare equal, and
every compiler we follow does the same. Ops whose inputs a rule turned into constants are
folded on the way (``x * 0 + 1`` on integers becomes a constant).
"""

import numpy as np

from .. import dtypes as _dt
from .canonicalize import COMMUTATIVE, _commute
from .constant_fold import MAX_ELEMENTS
from .constant_fold import fold_rule as fold
from .rewrite import Rewriter, is_fully_known

MAX_ROUNDS = 8


def _is(rw, v, c):
    """True if Value ``v`` is a constant whose every element equals ``c``."""
    a = rw.const_value(v)
    return a is not None and a.size > 0 and bool(np.all(a == c))


def _same(x, op):
    """``x`` can stand for ``op``'s result: same dtype and shape."""
    out = op.outputs[0]
    return x.dtype is out.dtype and tuple(x.shape) == tuple(out.shape)


def _unit(left, right):
    """A rule that forwards the other operand when one operand is the constant ``left``
    (left side) or ``right`` (right side); None disables that side."""

    def rule(rw, op, inputs):
        a, b = inputs
        if right is not None and _is(rw, b, right) and _same(a, op):
            return [a]
        if left is not None and _is(rw, a, left) and _same(b, op):
            return [b]
        return None

    return rule


def _multiply(rw, op, inputs):
    res = _unit(1, 1)(rw, op, inputs)
    if res is not None:
        return res
    out = op.outputs[0]
    if not out.dtype.is_integer:
        return None
    for x, z in (inputs, inputs[::-1]):
        if _is(rw, z, 0) and _same(x, op):
            return [_zeros(rw, x)]
    return None


def _zeros(rw, x):
    """Zeros shaped like ``x`` in canonical form: a constant when small, else a fill, or a
    full_like while the shape has unknown dims."""
    if not is_fully_known(x.shape):
        return rw.emit1("full_like", [x], dtype=None, value=0)
    if int(np.prod(x.shape)) <= MAX_ELEMENTS:
        return rw.constant(np.zeros(x.shape, x.dtype.np))
    return rw.emit1("fill", [], shape=tuple(x.shape), dtype=x.dtype, value=0)


def _pow(rw, op, inputs):
    x, y = inputs
    if not _same(x, op):
        return None
    if _is(rw, y, 1):
        return [x]
    if _is(rw, y, 2):
        return [rw.emit1("square", [x])]
    if _is(rw, y, 0.5) and x.dtype.is_floating:
        return [rw.emit1("sqrt", [x])]
    return None


def _inverse_of(inner):
    def rule(rw, op, inputs):
        src = inputs[0].op
        if src is not None and src.type == inner:
            return [src.inputs[0]]
        return None

    return rule


def _transpose(rw, op, inputs):
    src = inputs[0].op
    perm = tuple(op.attrs["perm"])
    if src.type != "transpose":
        return [inputs[0]] if perm == tuple(range(len(perm))) else None
    inner = src.attrs["perm"]
    composed = tuple(int(inner[p]) for p in perm)
    x = src.inputs[0]
    if composed == tuple(range(len(composed))):
        return [x]
    return [rw.emit1("transpose", [x], perm=composed)]


_RESHAPES = ("reshape", "expand_squeeze")


def _reshape(rw, op, inputs):
    x = inputs[0]
    if x.dtype is op.outputs[0].dtype and tuple(x.shape) == tuple(op.outputs[0].shape) \
            and (op.type == "expand_squeeze" or list(x.shape).count(None) <= 1):
        return [x]
    src = x.op
    if src.type in _RESHAPES and op.type == "reshape":
        return [rw.emit1("reshape", [src.inputs[0]], shape=op.attrs["shape"])]
    if src.type == "expand_squeeze" and op.type == "expand_squeeze":
        inner = src.attrs["src_axes"]
        axes = tuple(-1 if s < 0 else inner[s] for s in op.attrs["src_axes"])
        return [rw.emit1("expand_squeeze", [src.inputs[0]], src_axes=axes)]
    return None


def _broadcast_to(rw, op, inputs):
    x = inputs[0]
    return [x] if _same(x, op) and None not in x.shape else None


# (from, to) pairs where every value of `from` is exactly representable in `to`
_EXACT = {(a, b) for a in (_dt.bool_,) for b in _dt.ALL} | {
    (_dt.int32, _dt.int64), (_dt.int32, _dt.float64), (_dt.float16, _dt.float32),
    (_dt.float16, _dt.float64), (_dt.float32, _dt.float64)}


def _cast(rw, op, inputs):
    x = inputs[0]
    to = op.attrs["dtype"]
    if x.dtype is to:
        return [x]
    src = x.op
    if src.type == "cast" and (src.inputs[0].dtype, x.dtype) in _EXACT:
        y = src.inputs[0]
        return [y] if y.dtype is to else [rw.emit1("cast", [y], dtype=to)]
    return None


RULES = {
    "add": _unit(0, 0),
    "subtract": _unit(None, 0),
    "multiply": _multiply,
    "divide": _unit(None, 1),
    "pow": _pow,
    "negative": _inverse_of("negative"),
    "log": _inverse_of("exp"),
    "transpose": _transpose,
    "reshape": _reshape,
    "expand_squeeze": _reshape,
    "broadcast_to": _broadcast_to,
    "cast": _cast,
}


class _Counting:
    def __init__(self):
        self.changes = 0

    def __call__(self, rw, op, inputs):
        fn = RULES.get(op.type)
        res = fn(rw, op, inputs) if fn else None
        if res is None:  # a rule may have made this op's inputs constant: fold it
            res = fold(rw, op, inputs)
        if res is None and op.type in COMMUTATIVE:
            # a rule may have made the left operand constant (max(x*0, y) -> max(0, y)):
            # keep canonicalize's order, constants on the right
            res = _commute(rw, op, inputs)
        if res is not None:
            self.changes += 1
        return res


def simplify(graph):
    """``graph`` with the algebraic identities above applied until none applies (a new graph).

    >>> simplify(g)   # transpose(transpose(x)) -> x, x * 1.0 -> x, x ** 2 -> square(x)
    """
    for _ in range(MAX_ROUNDS):
        rule = _Counting()
        graph = Rewriter(rule).run(graph)
        if not rule.changes:
            break
    return graph
