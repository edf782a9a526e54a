"""Graphviz (dot) drawing of a Graph: one node per operation, one edge per use of a value
(labelled with its type), sub-graphs of cond/while_loop as nested clusters.

    jitgraph show model.py:f "float32[None,3]" --dot | dot -Tsvg > f.svg
"""

from .printer import format_attr

_SHAPES = {"placeholder": "ellipse", "constant": "note", "cond": "diamond",
           "while_loop": "hexagon"}


def _q(s):
    return '"' + str(s).replace("\\", "\\\\").replace('"', '\\"') + '"'


def to_dot(graph):
    """The dot source of ``graph``.

    >>> print(to_dot(f.get_concrete_function(x).graph))
    """
    lines = [f"digraph {_q(graph.name)} {{", "  node [fontname=monospace, fontsize=10];",
             "  edge [fontname=monospace, fontsize=9];"]
    ids = {}
    _nodes(graph, lines, ids, "  ")
    _edges(graph, lines, ids)
    for i, v in enumerate(graph.outputs):  # noqa: B007
        lines.append(f'  "return{i}" [label="return {i}", shape=plaintext];')
        lines.append(f'  {_q(ids[v.op])} -> "return{i}" [label={_q(v.type)}];')
    lines.append("}")
    return "\n".join(lines)


def _label(op):
    attrs = {k: v for k, v in op.attrs.items() if not k.startswith("_")}
    text = op.name if op.name == op.type else f"{op.name}\\n{op.type}"
    if attrs:
        text += "\\n" + ", ".join(f"{k}={format_attr(attrs[k])}" for k in sorted(attrs))
    return text.replace('"', "'")


def _nodes(graph, lines, ids, indent):
    for op in graph.ops:
        ids[op] = f"{graph.root.name}.{op.name}"
        shape = _SHAPES.get(op.type, "box")
        lines.append(f'{indent}{_q(ids[op])} [label="{_label(op)}", shape={shape}];')
        for k, sg in enumerate(op.subgraphs):
            lines.append(f'{indent}subgraph "cluster_{op.name}_{k}" {{')
            lines.append(f'{indent}  label={_q(f"{op.name}: {sg.name}")}; style=dashed;')
            _nodes(sg, lines, ids, indent + "  ")
            for i in range(len(sg.outputs)):
                out = f"{op.name}.{sg.name}.out{i}"
                lines.append(f'{indent}  {_q(out)} [label="yield {i}", shape=plaintext];')
                ids[(sg, i)] = out
            lines.append(f"{indent}}}")


def _edges(graph, lines, ids):
    for op in graph.ops:
        for v in op.inputs:
            lines.append(f"  {_q(ids[v.op])} -> {_q(ids[op])} [label={_q(v.type)}];")
        for sg in op.subgraphs:
            _edges(sg, lines, ids)
            for i, v in enumerate(sg.outputs):
                lines.append(f"  {_q(ids[v.op])} -> {_q(ids[(sg, i)])};")
