"""Dead-code elimination: ops whose results nobody needs are dropped.

An op is live if it has effects (``has_effects``: writes a variable, prints, draws random
numbers — also a ``cond``/``while_loop`` containing such an op) or if a live op, a graph
output or a live op's sub-graph uses one of its results. Unused outputs are pruned from
``cond`` (from both branches) and ``while_loop`` (a loop variable goes when its final value is
unused and neither the condition, the effects in the loop nor another kept variable's update
depends on it); the ops computing them then die too. Graph inputs are never removed.
"""

from .rewrite import Rewriter, has_effects


class _Liveness:
    """Marks live ops (by id) walking each graph backwards; ``keep[id(op)]`` holds the output
    indices kept for a control op (for ``while_loop`` also its loop-variable indices)."""

    def __init__(self):
        self.needed = set()  # uids of Values some live op or output uses
        self.live = set()
        self.keep = {}

    def graph(self, g, roots):
        self.needed.update(v.uid for v in roots)
        for op in reversed(g.ops):
            if op.type == "placeholder":
                continue
            used = [i for i, v in enumerate(op.outputs) if v.uid in self.needed]
            if not used and not has_effects(op):
                continue
            self.live.add(id(op))
            if op.type != "while_loop":
                self.needed.update(v.uid for v in op.inputs)
            if op.type == "cond":
                self.keep[id(op)] = used
                for sg in op.subgraphs:
                    self.graph(sg, [sg.outputs[i] for i in used])
            elif op.type == "while_loop":
                self._while(op, used)
            else:
                for sg in op.subgraphs:
                    self.graph(sg, sg.outputs)

    def _while(self, op, used):
        cond, body = op.subgraphs
        keep = set(used)
        keep |= _needed_inputs(cond, cond.outputs)
        while True:
            roots = [body.outputs[i] for i in sorted(keep)]
            more = _needed_inputs(body, roots) - keep
            if not more:
                break
            keep |= more
        keep = sorted(keep)
        self.keep[id(op)] = keep
        self.graph(cond, cond.outputs)
        self.graph(body, [body.outputs[i] for i in keep])
        self.needed.update(op.inputs[i].uid for i in keep)


def _needed_inputs(g, roots):
    """Indices of ``g``'s inputs that ``roots`` or the effectful ops of ``g`` depend on."""
    lv = _Liveness()
    lv.graph(g, roots)
    return {i for i, v in enumerate(g.inputs) if v.uid in lv.needed}


def dce(graph):
    """``graph`` without the ops whose results are unused (a new graph).

    >>> dce(g)   # drops t = exp(x) when nothing reads t; keeps assign_variable and print
    """
    lv = _Liveness()
    lv.graph(graph, graph.outputs)

    def rule(rw, op, inputs):
        keep = lv.keep.get(id(op))
        if keep is None or len(keep) == len(op.outputs):
            return None
        return _prune(rw, op, inputs, keep)

    return Rewriter(rule, keep=lambda op: id(op) in lv.live).run(graph)


def _prune(rw, op, inputs, keep):
    if op.type == "cond":
        subs = [rw.subgraph(sg, rw.graph, keep_outputs=keep) for sg in op.subgraphs]
        ins = inputs
    else:
        cond, body = op.subgraphs
        subs = [rw.subgraph(cond, rw.graph, keep_inputs=keep),
                rw.subgraph(body, rw.graph, keep_inputs=keep, keep_outputs=keep)]
        ins = [inputs[i] for i in keep]
    new = _copy_with_outputs(rw, op, ins, subs, keep)
    out = [None] * len(op.outputs)
    for v, i in zip(new, keep, strict=True):
        out[i] = v
    return out  # None for the pruned outputs: nobody uses them


def _copy_with_outputs(rw, op, inputs, subs, keep):
    types = [op.outputs[i].type for i in keep]
    new = rw._add(op.type, op.name, inputs, op.attrs, types, None, subs, op.loc)
    return new.outputs
