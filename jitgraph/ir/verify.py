"""verify(graph): structural and type checks, run after every pass in tests."""

from ..errors import JitgraphError
from .printer import format_op


class VerificationError(JitgraphError):
    pass


def verify(graph):
    """Raises VerificationError naming the offending line if ``graph`` is malformed."""
    _verify(graph, set())
    return graph


def _verify(graph, outer):
    from ..ops.core import REGISTRY, type_of  # noqa: F401

    defined = set(outer)
    names = set()
    for v in graph.inputs:
        defined.add(v.uid)
    for op in graph.ops:
        if op.name in names:
            raise VerificationError(f"duplicate op name {op.name!r} in graph {graph.name}")
        names.add(op.name)
        for v in op.inputs:
            if v.uid not in defined:
                raise VerificationError(
                    f"{v.ref} is used before it is defined:\n{format_op(op)}")
        if op.type != "placeholder":
            od = REGISTRY.get(op.type)
            if od is None:
                raise VerificationError(f"unknown op type {op.type!r}:\n{format_op(op)}")
            if od.kind not in ("control",):
                try:
                    expect = od.infer([v.type for v in op.inputs], **op.attrs)
                except Exception as e:  # noqa: BLE001 - reported with the op's line
                    raise VerificationError(
                        f"type rule rejects the op ({e}):\n{format_op(op)}") from None
                expect = expect if isinstance(expect, list) else [expect]
                got = [v.type for v in op.outputs]
                if [(t.dtype, tuple(t.shape)) for t in expect] != [
                        (t.dtype, tuple(t.shape)) for t in got]:
                    raise VerificationError(
                        f"result types {', '.join(map(str, got))} differ from the type rule's "
                        f"{', '.join(map(str, expect))}:\n{format_op(op)}")
        for v in op.outputs:
            if v.op is not op:
                raise VerificationError(f"{v.ref} does not point back at its op")
        for sg in op.subgraphs:
            _verify(sg, defined)
        for v in op.outputs:
            defined.add(v.uid)
    for v in graph.outputs:
        if v.uid not in defined:
            raise VerificationError(f"graph {graph.name} returns undefined value {v.ref}")
