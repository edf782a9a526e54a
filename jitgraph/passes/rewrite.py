"""The graph copier every pass is built on: a pass never mutates its input graph, it copies it
through a ``Rewriter`` and changes what it wants on the way.

A ``Rewriter`` walks the old graph in order (sub-graphs of ``cond``/``while_loop`` included)
and builds a new one. ``vmap`` maps each old Value to its new Value; because sub-graphs
capture enclosing Values lexically, one map serves the whole tree. For each old op it calls
``rule(rw, op, inputs)`` with the op's *new* inputs:

- ``None``: copy the op unchanged (its sub-graphs are rewritten with the same rule),
- a list of new Values (one per output of ``op``): use them instead; each must have the old
  output's dtype and shape (checked, so a wrong rewrite fails loudly, never silently), or
  None for an output nobody uses,
- ``DROP``: leave the op out (only for ops whose results nobody uses, e.g. DCE; when the
  op's inputs may be gone too, pass ``keep=`` to the Rewriter instead).

Rules build replacements with ``rw.emit(type, inputs, **attrs)`` (types from the op's type
rule, the user's line from the op being rewritten), ``rw.constant(array)``, ``rw.copy(op,
inputs)`` and ``rw.inline(subgraph)`` (copy a sub-graph's ops into the current graph, e.g. the
taken branch of a ``cond``). ``rw.const_value(v)`` is the ndarray of a ``constant`` Value.

Copied ops keep their names, so ``str()`` of a rewritten graph reads like the original; new
ops get fresh names. Example, a pass that turns ``negative(negative(x))`` into ``x``::

    def rule(rw, op, inputs):
        src = inputs[0].op
        if op.type == "negative" and src.type == "negative":
            return [src.inputs[0]]
        return None

    new_graph = rewrite(graph, rule)
"""

import numpy as np

from ..ir import Graph, Operation
from ..ir.verify import VerificationError
from ..ops.core import REGISTRY, Type

DROP = object()


class Rewriter:
    """Copies a graph, asking ``rule`` about each op; see the module docstring."""

    def __init__(self, rule=None, keep=None):
        self.rule = rule or (lambda rw, op, inputs: None)
        self.keep = keep  # keep(op) False: drop op before looking at its inputs
        self.vmap = {}
        self.graph = None  # the new graph ops are emitted into
        self.op = None  # the old op being rewritten (for locations)

    # -- entry points
    def run(self, graph):
        """A rewritten copy of root graph ``graph``."""
        new = Graph(graph.name)
        for op in graph.walk():  # copies keep their names; new ops must not take them
            new._names[op.name] = max(new._names.get(op.name, 0), 1)
        new = self.subgraph(graph, parent=None, into=new)
        new.variables = list(graph.variables)
        return new

    def subgraph(self, old, parent, keep_inputs=None, keep_outputs=None, into=None):
        """Rewrites graph ``old`` into a new graph under ``parent``; ``keep_inputs`` /
        ``keep_outputs`` (index lists) drop the inputs / outputs not listed."""
        new = into if into is not None else Graph(old.name, parent=parent)
        saved = self.graph, self.op
        self.graph = new
        try:
            ins = [v for i, v in enumerate(old.inputs) if keep_inputs is None or i in keep_inputs]
            keep = {id(v.op) for v in ins}
            for op in old.ops:
                if op.type == "placeholder":
                    if id(op) in keep:
                        self._add(op.type, op.name, [], {}, [o.type for o in op.outputs], op,
                                  loc=op.loc)
                        new.inputs.append(self.vmap[op.outputs[0]])
                    continue
                self.visit(op)
            outs = [v for i, v in enumerate(old.outputs)
                    if keep_outputs is None or i in keep_outputs]
            new.outputs = [self.vmap[v] for v in outs]
        finally:
            self.graph, self.op = saved
        return new

    def visit(self, op):
        if self.keep is not None and not self.keep(op):
            return
        saved = self.op
        self.op = op
        try:
            # None for inputs a rule pruned away (dce drops a while_loop var's dead init)
            inputs = [self.vmap.get(v) for v in op.inputs]
            res = self.rule(self, op, inputs)
            if res is DROP:
                return
            if res is None:
                res = self.copy(op, inputs)
            self._map(op, res)
        finally:
            self.op = saved

    def _map(self, op, res):
        if len(res) != len(op.outputs):
            raise VerificationError(f"rewrite of {op.name} ({op.type}) gave {len(res)} values "
                                    f"for {len(op.outputs)} outputs")
        for old, new in zip(op.outputs, res, strict=True):
            if new is None:  # an output nobody uses (see dce)
                continue
            if (old.dtype, old.shape) != (new.dtype, new.shape):
                raise VerificationError(
                    f"rewrite of {op.name} ({op.type}) replaced {old.type} by {new.type}")
            self.vmap[old] = new

    # -- building blocks for rules
    def copy(self, op, inputs=None, attrs=None, subgraphs=None):
        """Copies ``op`` (same name) with new ``inputs``; sub-graphs are rewritten too."""
        inputs = [self.vmap[v] for v in op.inputs] if inputs is None else inputs
        if subgraphs is None:
            subgraphs = [self.subgraph(sg, self.graph) for sg in op.subgraphs]
        new = self._add(op.type, op.name, inputs, op.attrs if attrs is None else attrs,
                        [v.type for v in op.outputs], None, subgraphs, op.loc)
        return new.outputs

    def emit(self, type, inputs, **attrs):
        """Adds a new op ``type`` (output types from its type rule); returns its outputs."""
        out = REGISTRY[type].infer([v.type for v in inputs], **attrs)
        out = out if isinstance(out, list) else [out]
        return self._add(type, None, inputs, attrs, out, None, (),
                         self.op.loc if self.op else None).outputs

    def emit1(self, type, inputs, **attrs):
        return self.emit(type, inputs, **attrs)[0]

    def constant(self, array):
        """A new ``constant`` op holding ``array`` (made contiguous and read-only)."""
        arr = np.array(array, order="C")  # a copy: the graph owns it
        arr.flags.writeable = False
        return self.emit1("constant", [], value=arr)

    def inline(self, sub):
        """Copies the ops of input-less sub-graph ``sub`` into the current graph; returns the
        new Values of its outputs."""
        for op in sub.ops:
            self.visit(op)
        return [self.vmap[v] for v in sub.outputs]

    @staticmethod
    def const_value(v):
        """The ndarray of Value ``v`` if a ``constant`` op makes it, else None."""
        return v.op.attrs["value"] if v.op is not None and v.op.type == "constant" else None

    def _add(self, type, name, inputs, attrs, out_types, old, subgraphs=(), loc=None):
        g = self.graph
        name = g.unique_name(type) if name is None else g.claim_name(name)
        new = Operation(type, name, inputs, attrs, [Type(t.dtype, t.shape) for t in out_types],
                        subgraphs, loc, g)
        for sg in subgraphs:
            sg.parent = g
        g.ops.append(new)
        if old is not None:
            self.vmap[old.outputs[0]] = new.outputs[0]
        return new


def rewrite(graph, rule=None):
    """A copy of ``graph`` with ``rule`` applied to every op (see the module docstring);
    ``rewrite(graph)`` is a plain deep copy that shares no Value or Operation with ``graph``."""
    return Rewriter(rule).run(graph)


# ----------------------------------------------------------------------------- shared analyses


def op_def(op):
    return REGISTRY.get(op.type)


_PURE_READS = {"read_variable"}  # stateful in the registry, but reading has no side effect


def has_effects(op):
    """True if ``op`` (or an op inside its sub-graphs) writes state, prints or draws random
    numbers: such ops are never folded, merged or dropped. Unknown op types count as
    effectful."""
    if op.type == "placeholder":
        return False
    od = op_def(op)
    if od is None:
        return True
    if od.stateful and op.type not in _PURE_READS:
        return True
    return any(has_effects(o) for sg in op.subgraphs for o in sg.ops)


def reads_state(op):
    """True if ``op`` reads a Variable or has effects (its value may change between runs)."""
    return op.type in _PURE_READS or has_effects(op)


def written_variables(op):
    """ids of the Variables that ``op`` (or its sub-graphs) may write."""
    out = set()
    if op.type not in _PURE_READS and "var" in op.attrs and op_def(op) is not None \
            and op_def(op).stateful:
        out.add(id(op.attrs["var"]))
    for sg in op.subgraphs:
        for o in sg.ops:
            out |= written_variables(o)
    return out


def is_fully_known(shape):
    return all(d is not None for d in shape)
