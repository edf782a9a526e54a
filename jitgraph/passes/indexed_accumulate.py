"""Indexed accumulation: a sum with the gradient of a ``gather`` adds only the gathered slices.

The gradient of ``x[i]`` (``gather``) is ``gather_grad(g, i, x)``: zeros shaped like ``x``
with ``g`` summed in at ``i``. A ``while_loop`` that reads ``x[i]`` every iteration adds
that dense tensor to its loop-carried gradient accumulator every iteration of the backward
loop: O(steps x size of x). This pass forms one ``gather_grad_add(acc, g, i)`` instead,
whose lowering copies nothing when ``acc`` dies at it (the loop's accumulator does) and adds
``g`` into the indexed slices only::

    add(acc, gather_grad(g, i, like))       -> gather_grad_add(acc, g, i)
    add(acc, gather_grad_add(b, g, i))      -> gather_grad_add(add(acc, b), g, i)
                                               (and the first row again on add(acc, b))

so ``acc + (x[i] grad + x[j] grad)`` becomes two indexed adds into ``acc``. Either operand
order is matched. Only when the sum has the accumulator's dtype and shape, all dims known
(no broadcasting, which a dense add would do and an indexed add cannot). Duplicate indices
sum, as in ``gather_grad``.
"""

from .rewrite import Rewriter, is_fully_known

_FORMS = ("gather_grad", "gather_grad_add")


def _fits(v, out):
    return (v.dtype is out.dtype and tuple(v.shape) == tuple(out.shape)
            and is_fully_known(out.shape))


def _indexed(v, out):
    return v.op is not None and v.op.type in _FORMS and _fits(v, out)


def _accumulate(rw, acc, b):
    """``acc + b`` for ``b`` a gather_grad form: indexed adds into ``acc``."""
    op = b.op
    axis = op.attrs["axis"]
    if op.type == "gather_grad":
        g, idx, _ = op.inputs
        return rw.emit1("gather_grad_add", [acc, g, idx], axis=axis)
    base, g, idx = op.inputs
    inner = (_accumulate(rw, acc, base) if _indexed(base, base)
             else rw.emit1("add", [acc, base]))
    return rw.emit1("gather_grad_add", [inner, g, idx], axis=axis)


def _rule(rw, op, inputs):
    if op.type != "add":
        return None
    out = op.outputs[0]
    a, b = inputs
    if not (_fits(a, out) and _fits(b, out)):
        return None
    if _indexed(b, out):
        return [_accumulate(rw, a, b)]
    if _indexed(a, out):
        return [_accumulate(rw, b, a)]
    return None


def indexed_accumulate(graph):
    """Graph -> Graph: sums with gather gradients become indexed adds (see the docstring)."""
    return Rewriter(_rule).run(graph)


__all__ = ["indexed_accumulate"]
