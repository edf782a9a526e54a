"""Stable text form of a Graph: one operation per line, ``dtype[shape]`` on every value,
attributes sorted, sub-graphs indented inside their op, the user's file:line as a comment.

    graph f(%x: f32[?,3], %y: f32[3]) -> (f32[?,3])
      %add: f32[?,3] = add %x, %y                              # model.py:4
      return %add
"""

import os

import numpy as np


def format_attr(v):
    if isinstance(v, np.ndarray):
        # numpy scalars print the shortest text that round-trips in their own dtype
        if v.size <= 8:
            return "[" + ", ".join(str(x) for x in v.ravel()) + "]" if v.ndim else str(v[()])
        return f"<{v.dtype.name}{list(v.shape)}>"
    if isinstance(v, float):
        return repr(v)
    if isinstance(v, (list, tuple)):
        inner = ", ".join(format_attr(x) for x in v)
        return f"[{inner}]" if isinstance(v, list) else f"({inner}{',' if len(v) == 1 else ''})"
    if hasattr(v, "name") and hasattr(v, "np"):  # a DType
        return v.name
    if hasattr(v, "_jg_read"):  # a Variable
        return f"<var {v.name}>"
    return repr(v) if isinstance(v, str) else str(v)


def format_op(op, indent="  ", with_loc=True, attr_text=None):
    """One operation (and its sub-graphs). ``attr_text(value)``, when given, writes every
    attribute, "_" ones included (ir/parser.py's ``serialize`` uses it to refer to arrays
    and Variables by table index)."""
    outs = ", ".join(f"{v.ref}: {v.type}" for v in op.outputs)
    args = ", ".join(v.ref for v in op.inputs)
    # attributes starting with "_" are annotations for the printer and passes, not semantics
    attrs = ", ".join(f"{k}={(attr_text or format_attr)(op.attrs[k])}" for k in sorted(op.attrs)
                      if attr_text is not None or not k.startswith("_"))
    rhs = op.type + (" " + args if args else "") + (" {" + attrs + "}" if attrs else "")
    line = f"{indent}{outs} = {rhs}" if outs else f"{indent}{rhs}"
    if with_loc and op.loc:
        line = f"{line:<60} # {os.path.basename(op.loc[0])}:{op.loc[1]}"
    lines = [line]
    for i, sg in enumerate(op.subgraphs):
        label = op.attrs.get("_labels", ("then", "else") if op.type == "cond"
                             else ("cond", "body"))[i] if len(op.subgraphs) <= 2 else f"g{i}"
        params = ", ".join(f"{v.ref}: {v.type}" for v in sg.inputs)
        lines.append(f"{indent}  {label}({params}):")
        lines.extend(_body(sg, indent + "    ", with_loc, attr_text))
    return "\n".join(lines)


def _body(graph, indent, with_loc, attr_text=None):
    lines = [format_op(op, indent, with_loc, attr_text) for op in graph.ops
             if op.type != "placeholder"]
    lines.append(f"{indent}return " + ", ".join(v.ref for v in graph.outputs))
    return lines


def format_graph(graph, with_loc=True, attr_text=None):
    params = ", ".join(f"{v.ref}: {v.type}" for v in graph.inputs)
    results = ", ".join(str(v.type) for v in graph.outputs)
    head = f"graph {graph.name}({params}) -> ({results})"
    return "\n".join([head] + _body(graph, "  ", with_loc, attr_text))
