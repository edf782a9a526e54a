"""A jitgraph Graph as a TensorFlow ``GraphDef`` (for TensorBoard's graph view):

- one ``NodeDef`` per operation: ``name`` (the operation's name), ``op`` (its type),
  ``input`` (``producer`` or ``producer:k`` for its k-th output);
- the operations of ``cond``/``while_loop`` sub-graphs are nested under their op's name
  (``cond/then/multiply``), so TensorBoard draws them inside a group; the values they
  capture from outside are edges from the outer nodes;
- attributes: ``_output_shapes`` and ``T`` (the first output's dtype) as TensorBoard reads
  them, and each jitgraph attribute as a string in its printed form.

The nodes are for reading, not for running: TensorFlow does not know jitgraph's op types.
"""

from ..ir.printer import format_attr
from . import events
from . import protowire as pw

_DT = {"float32": events.DT_FLOAT, "float64": events.DT_DOUBLE, "int32": events.DT_INT32,
       "int64": events.DT_INT64, "bool": events.DT_BOOL, "float16": 19, "bfloat16": 14}


def _shape(shape):
    dims = b"".join(pw.bytes_field(2, pw.varint_field(1, -1 if d is None else d))
                    for d in shape)
    return dims


def _attr(key, value):
    return pw.bytes_field(5, pw.bytes_field(1, key) + pw.bytes_field(2, value))


def _node(name, op, inputs, outputs=()):
    body = pw.bytes_field(1, name) + pw.bytes_field(2, op.type)
    body += b"".join(pw.bytes_field(3, i) for i in inputs)
    attrs = []
    for k in sorted(op.attrs):
        if not k.startswith("_"):
            attrs.append((k, pw.bytes_field(2, format_attr(op.attrs[k]))))  # AttrValue.s
    if outputs:
        shapes = b"".join(pw.bytes_field(7, _shape(v.shape)) for v in outputs)
        attrs.append(("_output_shapes", pw.bytes_field(1, shapes)))  # AttrValue.list.shape
        dt = _DT.get(outputs[0].dtype.name)
        if dt is not None:
            attrs.append(("T", pw.varint_field(6, dt)))  # AttrValue.type
    body += b"".join(_attr(k, v) for k, v in sorted(attrs))
    return pw.bytes_field(1, body)


def _labels(op):
    """The sub-graphs' labels, as the IR printer names them."""
    if len(op.subgraphs) > 2:
        return [f"g{i}" for i in range(len(op.subgraphs))]
    return op.attrs.get("_labels", ("then", "else") if op.type == "cond" else ("cond", "body"))


def graph_def(graph):
    """The serialized GraphDef of ``graph`` (a jitgraph ``Graph``)."""
    names, nodes = {}, []

    def ref(value, prefix):
        op = value.op
        if id(op) not in names:  # a sub-graph's own argument (a loop variable)
            names[id(op)] = f"{prefix}{op.name}"
            nodes.append(_node(names[id(op)], op, [], op.outputs))
        name = names[id(op)]
        return name if value.index == 0 else f"{name}:{value.index}"

    def emit(g, prefix):
        for op in g.ops:
            name = names.setdefault(id(op), f"{prefix}{op.name}")
            inputs = [ref(v, prefix) for v in op.inputs]
            for label, sub in zip(_labels(op), op.subgraphs):
                emit(sub, f"{name}/{label}/")
            nodes.append(_node(name, op, inputs, op.outputs))

    emit(graph, "")
    versions = pw.bytes_field(4, pw.varint_field(1, 1))  # VersionDef.producer
    return b"".join(nodes) + versions
