"""Stacks of per-iteration values: the state the gradient of ``while_loop`` keeps.

A stack is an ordinary tensor ``[n, *element_shape]`` whose leading dim is only known at run
time (the trip count of the loop that fills it). Three ops, value semantics like every op:

    stack_alloc(n, like)     zeros [n, *like.shape] of like's dtype (like gives the element
                             type and, for unknown dims, the element shape at run time)
    stack_write(buf, i, x)   buf with row i replaced by x
    stack_read(buf, i)       row i of buf

The NumPy implementations copy on write (the interpreter is the reference, not the fast path);
a compiling backend writes in place when ``buf`` is dead after the write, which it always is
for the stacks autodiff/control.py builds (they are loop-carried). Row indices out of range
raise OutOfRangeError. The gradient rules make second derivatives through loops work.
"""

import numpy as np

from .. import errors
from .core import Op, Type, apply, fmt_shape, register


def _check_index(op_name, t):
    if not (t.dtype.is_integer and len(t.shape) == 0):
        raise errors.InvalidArgumentError(
            f"{op_name}: the row index must be an integer scalar, got {t}")


def _alloc_infer(types):
    n, like = types
    _check_index("stack_alloc", n)
    return Type(like.dtype, (None,) + tuple(like.shape))


def _alloc_impl(n, like):
    if int(n) < 0:
        raise errors.OutOfRangeError(f"stack_alloc: negative number of rows {int(n)}")
    return np.zeros((int(n),) + like.shape, like.dtype)


def _compatible(a, b):
    return len(a) == len(b) and all(x is None or y is None or x == y
                                    for x, y in zip(a, b, strict=True))


def _write_infer(types):
    buf, i, x = types
    _check_index("stack_write", i)
    if x.dtype is not buf.dtype or not _compatible(x.shape, buf.shape[1:]):
        raise errors.InvalidArgumentError(
            f"stack_write: a row of a {buf} stack must be {buf.dtype.short}"
            f"{fmt_shape(buf.shape[1:])}, got {x}")
    return buf


def _row(op_name, buf, i):
    i = int(i)
    if not 0 <= i < buf.shape[0]:
        raise errors.OutOfRangeError(
            f"{op_name}: row {i} is out of range for a stack of {buf.shape[0]} rows")
    return i


def _write_impl(buf, i, x):
    if x.shape != buf.shape[1:]:  # no broadcasting: a loop var changed shape
        raise errors.InvalidArgumentError(
            f"stack_write: a row of this stack has shape {fmt_shape(buf.shape[1:])}, got "
            f"{fmt_shape(x.shape)}; the gradient of jg.while_loop needs loop vars whose shape "
            "stays the same in every iteration")
    out = buf.copy()
    out[_row("stack_write", buf, i)] = x
    return out


def _read_infer(types):
    buf, i = types
    _check_index("stack_read", i)
    if not buf.shape:
        raise errors.InvalidArgumentError(f"stack_read: expected a stack, got a scalar {buf}")
    return Type(buf.dtype, tuple(buf.shape[1:]))


def _read_impl(buf, i):
    return np.array(buf[_row("stack_read", buf, i)])


def _g_write(inputs, outputs, grads):
    from .shape import zeros_like

    buf, i, x = inputs
    g = grads[0]
    return [stack_write(g, i, zeros_like(x)), None, stack_read(g, i)]


def _g_read(inputs, outputs, grads):
    from .shape import zeros_like

    buf, i = inputs
    return [stack_write(zeros_like(buf), i, grads[0]), None]


register(Op("stack_alloc", _alloc_infer, _alloc_impl, kind="loop_state", lower="stack_alloc",
            unify=(), doc="zeros [n, *like.shape]: a stack of n rows"))
register(Op("stack_write", _write_infer, _write_impl, grad=_g_write, kind="loop_state",
            lower="stack_write", unify=(), doc="the stack with row i replaced by x"))
register(Op("stack_read", _read_infer, _read_impl, grad=_g_read, kind="loop_state",
            lower="stack_read", unify=(), doc="row i of the stack"))


def stack_alloc(n, like):
    """A stack of ``n`` zero rows shaped like ``like``: ``stack_alloc(5, x)``."""
    return apply("stack_alloc", n, like)


def stack_write(buf, i, x):
    """``buf`` with row ``i`` replaced by ``x``: ``buf = stack_write(buf, i, x)``."""
    return apply("stack_write", buf, i, x)


def stack_read(buf, i):
    """Row ``i`` of ``buf``: ``x_i = stack_read(buf, i)``."""
    return apply("stack_read", buf, i)


__all__ = []  # internal to autodiff; not part of the jg.* namespace
