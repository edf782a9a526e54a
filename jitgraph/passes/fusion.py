"""Fusion: elementwise chains (with broadcasting) and the reductions that end them become
``fusion`` ops, each one loop nest in the generated code.

A ``fusion`` op holds one sub-graph (the fused ops, cloned, with placeholders for the
values it reads) and returns that sub-graph's single output. Its ``kind`` attribute is
``"loop"`` (the root is elementwise: iterate over the output shape) or ``"reduce"`` (the
root is a reduction: iterate over its input shape). The interpreter runs it by
interpreting the sub-graph, so this pass is tested alone, differentially.

How groups form (each graph level separately, cond/while bodies included):
- every reduction and every *materialized* elementwise op is a group root;
- an elementwise op is *inlined* (recomputed inside the groups that use it, never written
  to memory) when all its users are fusible ops of the same graph level and it is not a
  graph output; when its users sit in several groups it is duplicated into each, up to a
  chain of ``MAX_DUP`` duplicated ops (softmax's ``exp(x - max)`` is recomputed by the
  sum kernel and the divide kernel rather than written and read back), and ops calling a
  transcendental (exp, tanh, sigmoid, ...) into at most ``MAX_COSTLY_COPIES`` groups;
- scalar constants are inlined as immediates;
- a ``gather`` whose users all sit in one group joins it as an indexed load of its params
  (its params and indices stay inputs of the kernel): the gathered values are read where
  they are used instead of being written to memory and read back (jg.image.resize's taps).
So ``reduce_sum(x + y*z)`` and the Huber loss are one kernel each.

Row fusion (``kind="row"``): a kernel whose inputs include the results of reductions over the
innermost axes ``r..rank-1`` (keepdims, same rank) of its own iteration space, used by nothing
else, absorbs them (recursively), so softmax, log_softmax and layernorm are one kernel that
walks each row with its phases back to back (row max, row sum of exp, normalize) while the
row is in cache. The sub-graph then holds the reductions too; the root stays the last op.

    fused = fuse(graph)          # Graph -> Graph
"""

import numpy as np

from ..ir import Graph, Operation
from ..ops.core import REGISTRY, Op, register
from .rewrite import Rewriter

MAX_DUP = 8  # longest chain of ops recomputed in more than one kernel
# An op calling a transcendental (vecmath) is recomputed in at most this many kernels; with
# more it is written once and read back: an LSTM step's gate activations were recomputed by
# each of the five kernels that read them (benchmarks/bench_lstm.py: ~15% of the step).
MAX_COSTLY_COPIES = 2
ROW_FUSION = True  # merge row reductions into their consumers (False: the kernels apart)
GATHER_FUSION = True  # gathers join the kernel that uses them (False: written, read back)


def _fusion_infer(types, kind, subgraphs=None, **_):
    if subgraphs is None:
        raise TypeError("fusion: the result types come from the sub-graph (pass subgraphs=)")
    return [v.type for v in subgraphs[0].outputs]


def _fusion_impl(*arrays, subgraphs, env, kind, **_):
    from ..interpreter import run_subgraph

    return run_subgraph(subgraphs[0], dict(env), list(arrays))[0]


if "fusion" not in REGISTRY:
    register(Op("fusion", _fusion_infer, _fusion_impl, kind="control",
                doc="a fused kernel: one loop nest computing its sub-graph (see passes/fusion.py)"))


def scalar_lowerings():
    """Names of the scalar expressions the code generator can emit (elementwise ``lower``)."""
    from ..codegen.scalar import EMITTERS

    return set(EMITTERS)


def _costly():
    from ..codegen.vecmath import NAMES

    return frozenset(NAMES)


def is_elementwise(op, known):
    od = REGISTRY.get(op.type)
    return od is not None and od.kind == "elementwise" and not od.stateful and \
        od.lower in known and len(op.outputs) == 1


def is_reduction(op):
    od = REGISTRY.get(op.type)
    return od is not None and od.kind == "reduce" and op.type not in ("argmax", "argmin") and \
        len(op.inputs) == 1


def is_scalar_constant(op):
    return op.type == "constant" and op.attrs["value"].size == 1 and op.attrs["value"].ndim == 0


class _Analysis:
    """Decides, per graph level, which ops are inlined and which are roots."""

    def __init__(self):
        self.known = scalar_lowerings()
        self.root = set()  # ids of root ops
        self.inline = set()  # ids of inlined elementwise ops
        self.drop = set()  # ids of scalar constants used only inside kernels
        self.gathered = set()  # ids of gathers loaded by the one kernel that uses them

    def graph(self, g):
        users = {}
        for op in g.ops:
            for v in op.inputs:
                users.setdefault(v, []).append(op)
            for sg in op.subgraphs:
                for inner in _free_uses(sg):
                    users.setdefault(inner, []).append(None)  # used from a nested graph
        for v in g.outputs:
            users.setdefault(v, []).append(None)
        groups, dup = {}, {}
        for op in reversed(g.ops):
            for sg in op.subgraphs:
                self.graph(sg)
            if is_reduction(op):
                self.root.add(id(op))
                groups[id(op)] = {id(op)}
                continue
            if is_scalar_constant(op):
                us = users.get(op.outputs[0], [])
                if us and all(u is not None and (id(u) in self.inline or id(u) in self.root)
                              for u in us):
                    self.drop.add(id(op))
                continue
            if op.type == "gather" and GATHER_FUSION:
                us = users.get(op.outputs[0], [])
                if us and all(u is not None and (id(u) in self.inline or id(u) in self.root)
                              for u in us):
                    gs = set().union(*(groups[id(u)] for u in us))
                    if len(gs) == 1:
                        self.gathered.add(id(op))
                        groups[id(op)], dup[id(op)] = gs, 0
                continue
            if not is_elementwise(op, self.known):
                continue
            us = users.get(op.outputs[0], [])
            fusible_users = us and all(
                u is not None and (id(u) in self.inline or id(u) in self.root) for u in us)
            if fusible_users:
                gs = set().union(*(groups[id(u)] for u in us))
                depth = 0
                if len(gs) > 1:
                    depth = 1 + max(dup.get(id(u), 0) for u in us)
                if depth <= MAX_DUP and (len(gs) <= MAX_COSTLY_COPIES or
                                         REGISTRY[op.type].lower not in _costly()):
                    self.inline.add(id(op))
                    groups[id(op)], dup[id(op)] = gs, depth
                    continue
            self.root.add(id(op))
            groups[id(op)] = {id(op)}


def _free_uses(graph):
    from ..ir.clone import free_values

    return free_values(graph)


def _members(root, inline, gathered=frozenset()):
    """The ops of root's group in program order: root plus the inlined ops it reaches (a
    gathered gather's inputs stay inputs of the kernel)."""
    seen, stack, out = set(), [root], []
    while stack:
        op = stack.pop()
        if id(op) in seen:
            continue
        seen.add(id(op))
        out.append(op)
        if id(op) in gathered:
            continue
        for v in op.inputs:
            p = v.op
            if p is not None and p.graph is root.graph and (
                    id(p) in inline or id(p) in gathered or is_scalar_constant(p)):
                stack.append(p)  # not a constant of an enclosing graph: it is an input
    order = {id(o): i for i, o in enumerate(root.graph.ops)}
    return sorted(out, key=lambda o: order[id(o)])


def _build(rw, root, inline, cloned, drop=frozenset(), gathered=frozenset()):
    members = _members(root, inline, gathered)
    inside = {id(o) for o in members}
    sub = Graph("kernel", parent=rw.graph)
    local, ext = {}, []
    ext, seen = [], set()
    for op in members:
        for v in op.inputs:
            if v not in seen and (v.op is None or id(v.op) not in inside):
                seen.add(v)
                ext.append(v)
    where = {id(o): i for i, o in enumerate(root.graph.ops)}
    ext.sort(key=lambda v: where.get(id(v.op), -1))
    for i, v in enumerate(ext):
        local[v] = sub.add_input(f"in{i}", v.type)
    ext = [rw.vmap[v] for v in ext]
    for op in members:
        # an op recomputed in several kernels gets a fresh name in the second and later ones,
        # and so does a scalar constant that also stays outside (a nested graph uses it)
        moved = op is root or id(op) in inline or id(op) in drop or id(op) in gathered
        name = rw.graph.claim_name(op.name) if moved and id(op) not in cloned \
            else rw.graph.unique_name(op.name)
        cloned.add(id(op))
        new = Operation(op.type, name, [local[v] for v in op.inputs], op.attrs,
                        [v.type for v in op.outputs], loc=op.loc, graph=sub)
        sub.ops.append(new)
        for a, b in zip(op.outputs, new.outputs):
            local[a] = b
    sub.outputs = [local[root.outputs[0]]]
    kind = "reduce" if is_reduction(root) else "loop"
    out = rw._add("fusion", rw.graph.unique_name("fusion"), ext,
                  {"kind": kind, "_labels": ("kernel",)}, [root.outputs[0].type], None,
                  [sub], root.loc)
    return out.outputs


def fuse(graph):
    """A copy of ``graph`` with elementwise chains and their reductions grouped into
    ``fusion`` ops.

    >>> print(fuse(concrete.graph))   # reduce_sum(x + y*z) prints as one fusion op
    """
    a = _Analysis()
    a.graph(graph)
    cloned = set()

    def rule(rw, op, inputs):
        if id(op) in a.inline or id(op) in a.drop or id(op) in a.gathered:
            # left out of the new graph: only the kernels that inline it use it, and they
            # copy it from the old graph (mapping it to itself keeps the Rewriter happy)
            return list(op.outputs)
        if id(op) in a.root:
            return _build(rw, op, a.inline, cloned, a.drop, a.gathered)
        return None

    out = Rewriter(rule).run(graph)
    if ROW_FUSION:
        _merge_rows(out)
    return out


ROW_COMBINERS = {"reduce_sum", "reduce_mean", "reduce_max", "reduce_min", "reduce_prod"}


def _row_space(op):
    """(rank, r) of fusion ``op`` as a row-fusion root: iteration rank and the first
    reduced axis (None for a loop kernel); None when it cannot be one."""
    root = op.subgraphs[0].outputs[0].op
    if op.attrs["kind"] == "loop":
        return len(op.outputs[0].shape), None
    if op.attrs["kind"] != "reduce" or root.type not in ROW_COMBINERS:
        return None
    rank = len(root.inputs[0].shape)
    axes = tuple(sorted(root.attrs["axis"]))
    if not axes or axes != tuple(range(axes[0], rank)) or axes[0] == 0:
        return None
    return rank, axes[0]


def _row_reduction(op, rank):
    """First reduced axis of fusion ``op`` if it is a keepdims reduction over trailing axes
    of a rank-``rank`` float32/64 space (a phase of a row kernel), else None."""
    if op is None or op.type != "fusion" or op.attrs["kind"] != "reduce":
        return None
    root = op.subgraphs[0].outputs[0].op
    sp = _row_space(op)
    if sp is None or sp[0] != rank or not root.attrs.get("keepdims") or \
            len(root.outputs[0].shape) != rank or \
            root.outputs[0].dtype.name not in ("float32", "float64"):
        return None
    return sp[1]


def _merge_rows(g):
    """Merges row reductions into the kernels that consume them (see module docstring)."""
    for op in g.ops:
        if op.type != "fusion":
            for sg in op.subgraphs:
                _merge_rows(sg)
    users = {}
    for op in g.ops:
        for v in op.inputs:
            users.setdefault(v, []).append(op)
        for sg in op.subgraphs:
            for v in _free_uses(sg):
                users.setdefault(v, []).append(None)
    for v in g.outputs:
        users.setdefault(v, []).append(None)
    gone = set()
    for f in reversed(list(g.ops)):
        if f.type != "fusion" or id(f) in gone:
            continue
        sp = _row_space(f)
        if sp is None:
            continue
        rank, r = sp
        members, grew = [f], True
        while grew:
            grew = False
            ids = {id(m) for m in members}
            for m in list(members):
                for v in m.inputs:
                    p = v.op
                    if p is None or id(p) in ids or p.graph is not g:
                        continue
                    pr = _row_reduction(p, rank)
                    if pr is None or (r is not None and pr != r) or not all(
                            u is not None and id(u) in ids for u in users.get(v, [])):
                        continue
                    r = pr
                    members.append(p)
                    ids.add(id(p))
                    grew = True
        if len(members) == 1:
            continue
        gone.update(id(m) for m in members)
        _replace_row(g, f, members)


def _replace_row(g, f, members):
    order = {id(o): i for i, o in enumerate(g.ops)}
    members.sort(key=lambda o: order[id(o)])
    ids = {id(m) for m in members}
    sub = Graph("kernel", parent=g)
    local, ext = {}, []
    for m in members:
        for v in m.inputs:
            if (v.op is None or id(v.op) not in ids) and v not in local:
                ext.append(v)
                local[v] = sub.add_input(f"in{len(ext) - 1}", v.type)
    for m in members:
        ms = m.subgraphs[0]
        inner = {ph: local[v] for ph, v in zip(ms.inputs, m.inputs)}
        for op in ms.ops:
            if op.type == "placeholder":
                continue
            new = Operation(op.type, op.name, [inner[v] for v in op.inputs], op.attrs,
                            [v.type for v in op.outputs], loc=op.loc, graph=sub)
            sub.ops.append(new)
            for a, b in zip(op.outputs, new.outputs):
                inner[a] = b
        local[m.outputs[0]] = inner[ms.outputs[0]]
    sub.outputs = [local[f.outputs[0]]]
    new = Operation("fusion", f.name, ext, {"kind": "row", "_labels": ("kernel",)},
                    [f.outputs[0].type], [sub], loc=f.loc, graph=g)
    new.outputs = f.outputs
    for v in new.outputs:
        v.op = new
    g.ops = [new if o is f else o for o in g.ops if o is f or id(o) not in ids]


def count_kernels(graph):
    """Number of fusion ops in ``graph`` (sub-graphs of control flow included)."""
    return sum(1 for op in graph.walk() if op.type == "fusion")


__all__ = ["fuse", "count_kernels", "scalar_lowerings", "MAX_DUP", "np"]
