"""The IR: a Graph of Operations on typed Values.

Value       one result: ``dtype``, ``shape`` (tuple, None = unknown dim), ``op`` (its producer)
            and ``index`` (which output of ``op``). Printed as ``%opname`` (``%opname:1`` for
            outputs after the first).
Operation   ``type`` (the op name in the registry, e.g. ``add``; ``placeholder`` for graph
            inputs), ``name`` (unique in its graph), ``inputs`` (Values), ``attrs`` (dict of
            static Python values), ``outputs`` (Values), ``subgraphs`` (``cond``: [then, else];
            ``while_loop``: [cond, body]) and ``loc`` (the user's (file, line)).
Graph       ``inputs`` (Values of its placeholder ops), ``ops`` in execution order,
            ``outputs`` (Values). Sub-graphs may use Values of enclosing graphs directly
            (lexical scope); ``parent`` points at the enclosing graph.
"""

import itertools
from typing import NamedTuple

from ..ops.core import Type

_uid = itertools.count()


class Value:
    __slots__ = ("dtype", "shape", "op", "index", "uid")

    def __init__(self, dtype, shape, op=None, index=0):
        self.dtype = dtype
        self.shape = tuple(shape)
        self.op = op
        self.index = index
        self.uid = next(_uid)

    @property
    def type(self):
        return Type(self.dtype, self.shape)

    @property
    def name(self):
        """TensorFlow-style tensor name, ``"opname:index"``."""
        return f"{self.op.name}:{self.index}"

    @property
    def ref(self):
        """How the printer refers to this value."""
        return f"%{self.op.name}" if self.index == 0 else f"%{self.op.name}:{self.index}"

    def __repr__(self):
        return f"<Value {self.ref}: {self.type}>"


class Operation:
    __slots__ = ("type", "name", "inputs", "attrs", "outputs", "subgraphs", "loc", "graph")

    def __init__(self, type, name, inputs, attrs, out_types, subgraphs=(), loc=None, graph=None):
        self.type = type
        self.name = name
        self.inputs = list(inputs)
        self.attrs = dict(attrs)
        self.outputs = [Value(t.dtype, t.shape, self, i) for i, t in enumerate(out_types)]
        self.subgraphs = list(subgraphs)
        self.loc = loc
        self.graph = graph

    @property
    def op_def(self):
        from ..ops.core import REGISTRY

        return REGISTRY.get(self.type)

    def __repr__(self):
        return f"<Operation {self.name!r} type={self.type}>"


class NodeDef(NamedTuple):
    """One operation of ``Graph.as_graph_def()``."""

    name: str
    op: str
    input: list
    attr: dict


class GraphDef(NamedTuple):
    """``Graph.as_graph_def()``: the operations as ``NodeDef``s, in order."""

    node: list


class Graph:
    def __init__(self, name="graph", parent=None):
        self.name = name
        self.parent = parent
        self.inputs = []
        self.ops = []
        self.outputs = []
        self._names = {}
        self.variables = []  # Variables this graph reads or writes, in first-use order

    # -- building
    def unique_name(self, base):
        root = self.root
        n = root._names.get(base, 0)
        root._names[base] = n + 1
        name = base if n == 0 else f"{base}_{n}"
        while name in root._names and n:
            n += 1
            root._names[base] = n + 1
            name = f"{base}_{n}"
        if n:
            root._names[name] = 1
        return name

    def claim_name(self, name):
        """Marks ``name`` as taken, for ops added with a name of their own (copied ops keep
        theirs), so unique_name never hands it out again."""
        self.root._names.setdefault(name, 1)
        return name

    @property
    def root(self):
        g = self
        while g.parent is not None:
            g = g.parent
        return g

    def add_op(self, type, inputs, attrs, out_types, subgraphs=(), loc=None, name=None):
        op = Operation(type, self.unique_name(name or type), inputs, attrs, out_types,
                       subgraphs, loc, self)
        self.ops.append(op)
        return op

    def add_input(self, name, type, loc=None):
        op = self.add_op("placeholder", [], {}, [type], loc=loc, name=name)
        self.inputs.append(op.outputs[0])
        return op.outputs[0]

    def register_variable(self, var):
        root = self.root
        if not any(v is var for v in root.variables):
            root.variables.append(var)

    # -- TensorFlow-style inspection
    def get_operations(self):
        return list(self.ops)

    def walk(self):
        """All operations, including those in sub-graphs, in order."""
        for op in self.ops:
            yield op
            for sg in op.subgraphs:
                yield from sg.walk()

    def get_operation_by_name(self, name):
        for op in self.walk():
            if op.name == name:
                return op
        raise KeyError(f"the graph has no operation named {name!r}; it has: "
                       f"{', '.join(op.name for op in self.ops)}")

    def as_graph_def(self):
        """A GraphDef-shaped summary: ``.node`` lists one ``NodeDef(name, op, input, attr)``
        per top-level operation, inputs named ``"op"`` or ``"op:i"`` as in TensorFlow
        (``len(g.as_graph_def().node)`` counts the operations). Sub-graphs of control-flow
        ops stay inside their op's ``attr["subgraphs"]``."""
        def ref(v):
            i = next(k for k, o in enumerate(v.op.outputs) if o is v)
            return v.op.name if i == 0 else f"{v.op.name}:{i}"

        nodes = []
        for op in self.ops:
            attr = dict(op.attrs)
            if op.subgraphs:
                attr["subgraphs"] = [sg.as_graph_def() for sg in op.subgraphs]
            nodes.append(NodeDef(op.name, op.type, [ref(v) for v in op.inputs], attr))
        return GraphDef(nodes)

    def get_tensor_by_name(self, name):
        opname, _, idx = name.partition(":")
        op = self.get_operation_by_name(opname)
        return op.outputs[int(idx or 0)]

    def __str__(self):
        from .printer import format_graph

        return format_graph(self)

    def __repr__(self):
        return f"<Graph {self.name!r}: {len(self.ops)} ops>"
