"""verify(graph): structural and type checks, run after every pass in tests.

Checks: unique op names; every input defined before use, in this graph or an enclosing one
(lexical scope of sub-graphs); sub-graphs point at their parent; result types equal what the
op's type rule gives (for ops with sub-graphs the rule gets ``subgraphs=``); and the typing
of control ops (``_CONTROL`` table).
"""

from ..errors import JitgraphError
from .printer import format_op


class VerificationError(JitgraphError):
    pass


def verify(graph):
    """Raises VerificationError naming the offending line if ``graph`` is malformed.

    >>> verify(concrete.graph)
    """
    _verify(graph, set(), set())
    return graph


def _fail(msg, op=None):
    raise VerificationError(msg + (f":\n{format_op(op)}" if op is not None else ""))


def _types(values):
    return [(v.dtype, tuple(v.shape)) for v in values]


def _compatible(specific, general):
    return specific.dtype is general.dtype and len(specific.shape) == len(general.shape) and all(
        g is None or s == g for s, g in zip(specific.shape, general.shape, strict=False))


def _check_cond(op):
    if len(op.inputs) != 1 or not (op.inputs[0].dtype.is_bool and op.inputs[0].shape == ()):
        _fail("cond takes exactly one bool scalar input", op)
    if len(op.subgraphs) != 2 or any(sg.inputs for sg in op.subgraphs):
        _fail("cond needs two sub-graphs (then, else) without inputs", op)
    for sg in op.subgraphs:
        if len(sg.outputs) != len(op.outputs) or not all(
                _compatible(v, o) for v, o in zip(sg.outputs, op.outputs, strict=False)):
            _fail(f"cond sub-graph {sg.name} returns {_types(sg.outputs)}, which does not fit "
                  f"the op's results {_types(op.outputs)}", op)


def _check_while(op):
    if len(op.subgraphs) != 2:
        _fail("while_loop needs two sub-graphs (cond, body)", op)
    cond, body = op.subgraphs
    n = len(op.inputs)
    if len(cond.inputs) != n or len(body.inputs) != n or len(op.outputs) != n:
        _fail("while_loop: cond inputs, body inputs, op inputs and results must all have one "
              "entry per loop var", op)
    per_var = zip(op.inputs, cond.inputs, body.inputs, op.outputs, strict=False)
    for i, (init, c, b, out) in enumerate(per_var):
        if not (_compatible(init, b) and c.type == b.type and out.type == b.type):
            _fail(f"while_loop: loop var {i} types differ: init {init.type}, cond {c.type}, "
                  f"body {b.type}, result {out.type}", op)
    if len(cond.outputs) != 1 or not (cond.outputs[0].dtype.is_bool and
                                      cond.outputs[0].shape == ()):
        _fail("while_loop: the cond sub-graph must return one bool scalar", op)
    if len(body.outputs) != n or not all(
            _compatible(v, p) for v, p in zip(body.outputs, body.inputs, strict=False)):
        _fail(f"while_loop: body returns {_types(body.outputs)} for loop vars "
              f"{_types(body.inputs)}", op)


_CONTROL = {"cond": _check_cond, "while_loop": _check_while}


def _check_types(op, od):
    attrs = dict(op.attrs)
    if op.subgraphs:
        attrs["subgraphs"] = op.subgraphs
    try:
        expect = od.infer([v.type for v in op.inputs], **attrs)
    except Exception as e:  # noqa: BLE001 - reported with the op's line
        _fail(f"type rule rejects the op ({e})", op)
    expect = expect if isinstance(expect, list) else [expect]
    if _types(expect) != _types(op.outputs):
        _fail(f"result types {', '.join(str(v.type) for v in op.outputs)} differ from the type "
              f"rule's {', '.join(map(str, expect))}", op)


def _verify(graph, outer, names):
    from ..ops.core import REGISTRY

    defined = set(outer)
    defined.update(graph.inputs)
    for v in graph.inputs:
        if v.op is None or v.op.type != "placeholder" or v.op not in graph.ops:
            _fail(f"input {v.ref} of graph {graph.name} is not one of its placeholder ops")
    for op in graph.ops:
        if op.name in names:
            _fail(f"duplicate op name {op.name!r} in graph {graph.name}", op)
        names.add(op.name)
        if op.graph is not graph:
            _fail(f"op {op.name} does not point back at its graph {graph.name}", op)
        for v in op.inputs:
            if v not in defined:
                _fail(f"{v.ref} is used before it is defined or outside its scope", op)
        if op.type != "placeholder":
            od = REGISTRY.get(op.type)
            if od is None:
                _fail(f"unknown op type {op.type!r}", op)
            if op.type in _CONTROL:
                _CONTROL[op.type](op)
            _check_types(op, od)
        for v in op.outputs:
            if v.op is not op:
                _fail(f"{v.ref} does not point back at its op", op)
        for sg in op.subgraphs:
            if sg.parent is not graph:
                _fail(f"sub-graph {sg.name} of {op.name} does not point at its parent graph", op)
            _verify(sg, defined, names)
        defined.update(op.outputs)
    for v in graph.outputs:
        if v not in defined:
            _fail(f"graph {graph.name} returns {v.ref}, which is not defined in its scope")
