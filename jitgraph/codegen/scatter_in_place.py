"""In-place ``tensor_scatter_nd_update``: when the tensor written into dies at the update,
its buffer becomes the result and only the updated elements are stored, instead of copying
the whole tensor first. A TensorArray written in a loop (``ta = ta.write(i, row)``, a
``tensor_scatter_nd_update`` of the loop-carried buffer) then costs one row per iteration.

    if dies_at(lw, op, t):                  # codegen/shape_ops.py, _tensor_scatter
        lw.p.storage[out] = lw.st(t)        # no copy; the scatter kernel writes over t

"Dies" means, conservatively: ``t`` lives in the arena (not an argument, constant,
variable or output slot), is defined in the update's own graph (an op output there, or a
loop-carried variable of the ``while_loop`` body the update is in, or an op output there
that an earlier in-place update left in that variable's buffer (two updates of one
iteration); never a loop's condition graph, nor a value captured from an enclosing graph,
which every iteration reads again), and neither ``t`` nor any Value sharing its buffer
(views such as reshape) is used by the update's later ops, their sub-graphs, or the graph's
results.
"""


def dies_at(lw, op, t):
    s = lw.p.storage.get(t)
    if s is None or s.kind != "arena" or t in lw.p.stack_values:
        return False
    g = op.graph
    loop = _owning_loop(g)  # a body's loop-carried buffer is also the loop's outputs
    if t.op is not None and t.op.type == "placeholder":
        if t not in g.inputs or loop is None:
            return False
    elif t.op is None or t.op.graph is not g:
        return False
    aliases = {v for v, st in lw.p.storage.items() if st is s}
    for v in aliases:  # a view of a value of an enclosing graph shares its buffer
        if v.op is None or (v.op.graph is not g and not (
                loop is not None and (v in loop.outputs or v in loop.subgraphs[0].inputs))):
            return False
    if any(v in aliases for v in g.outputs):
        return False
    for later in g.ops[g.ops.index(op) + 1:]:
        if any(v in aliases for v in _reads(later)):
            return False
    return not any(v in aliases and v is not t for v in op.inputs)


def _reads(op):
    """Values ``op`` reads, its sub-graphs' captures included."""
    yield from op.inputs
    for sg in op.subgraphs:
        for inner in sg.walk():
            yield from inner.inputs
        yield from sg.outputs


def _owning_loop(g):
    """The ``while_loop`` op whose body is ``g``, or None."""
    parent = g.parent
    if parent is None:
        return None
    return next((o for o in parent.walk() if o.type == "while_loop" and o.subgraphs[1] is g),
                None)


__all__ = ["dies_at"]
