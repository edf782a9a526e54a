"""Canonicalization: one spelling for each computation, so later passes match fewer forms.

- commutative binary ops take a constant operand on the right (``2*x`` -> ``x*2``),
- ``identity`` and ``stop_gradient`` disappear (at run time both are the identity; passes run
  after autodiff, so stop_gradient has done its job),
- ``reshape`` spells its target shape from its result type (-1 only for the one unknown dim)
  and ``expand_squeeze`` with at most one unknown dim becomes that ``reshape``,
- float ``x / c`` becomes ``x * (1/c)`` when every element of ``c`` is a power of two (then the
  reciprocal is exact and so is the product),
- ``full_like(x)`` of a fully known shape becomes ``fill`` (no dependence on ``x``), and
  ``shape(x)`` of a fully known shape becomes a constant,
- a float16 or bfloat16 ``matmul`` becomes float32 casts, a float32 ``matmul`` and a cast
  of the result back: what its kernels compute anyway (float32 products and sums, one
  rounding), but through the backends' float32 GEMM instead of a generic reduction kernel
  (~100x faster on the cpu backend at 256x256).

``x - c`` stays a subtraction: rewriting it as ``x + (-c)`` only helps reassociation, which is
not exact for floats.
"""

import numpy as np

from .. import dtypes as _dt
from .rewrite import is_fully_known, rewrite

COMMUTATIVE = {"add", "multiply", "maximum", "minimum", "equal", "not_equal", "logical_and",
               "logical_or", "logical_xor", "squared_difference"}


def _commute(rw, op, inputs):
    a, b = inputs
    if rw.const_value(a) is not None and rw.const_value(b) is None:
        return rw.copy(op, [b, a])
    return None


def _forward(rw, op, inputs):
    return [inputs[0]]


def _reshape_attr(shape):
    return tuple(-1 if d is None else d for d in shape)


def _reshape(rw, op, inputs):
    out = op.outputs[0].shape
    if list(out).count(None) > 1:
        return None
    shape = _reshape_attr(out)
    if op.type == "reshape" and tuple(op.attrs["shape"]) == shape:
        return None
    return [rw.emit1("reshape", inputs, shape=shape)]


def _exact_reciprocal(c):
    if c.dtype.kind != "f" or c.size == 0:
        return None
    with np.errstate(all="ignore"):
        r = (1 / c).astype(c.dtype)
    mant_c, mant_r = np.frexp(c)[0], np.frexp(r)[0]
    if np.all(np.isfinite(r)) and np.all(np.abs(mant_c) == 0.5) and np.all(np.abs(mant_r) == 0.5):
        return r
    return None


def _divide(rw, op, inputs):
    c = rw.const_value(inputs[1])
    r = None if c is None else _exact_reciprocal(c)
    if r is None:
        return None
    return [rw.emit1("multiply", [inputs[0], rw.constant(r)])]


def _matmul_16(rw, op, inputs):
    if op.outputs[0].dtype.name not in ("float16", "bfloat16"):
        return None
    f32 = _dt.float32
    a, b = (rw.emit1("cast", [v], dtype=f32) for v in inputs)
    c = rw.emit1("matmul", [a, b], **op.attrs)
    return [rw.emit1("cast", [c], dtype=op.outputs[0].dtype)]


def _full_like(rw, op, inputs):
    t = op.outputs[0]
    if not is_fully_known(t.shape):
        return None
    return [rw.emit1("fill", [], shape=tuple(t.shape), dtype=t.dtype, value=op.attrs["value"])]


def _shape(rw, op, inputs):
    s = inputs[0].shape
    if not is_fully_known(s):
        return None
    return [rw.constant(np.array(s, dtype=op.attrs["out_type"].np))]


RULES = {name: _commute for name in COMMUTATIVE}
RULES.update({
    "identity": _forward,
    "stop_gradient": _forward,
    "reshape": _reshape,
    "expand_squeeze": _reshape,
    "divide": _divide,
    "full_like": _full_like,
    "matmul": _matmul_16,
    "shape": _shape,
})


def _rule(rw, op, inputs):
    fn = RULES.get(op.type)
    return fn(rw, op, inputs) if fn else None


def canonicalize(graph):
    """Canonical form of ``graph`` (a new graph).

    >>> canonicalize(g)   # 2*x -> x*2, identity(x) -> x, x/4.0 -> x*0.25
    """
    return rewrite(graph, _rule)
