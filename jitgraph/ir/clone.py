"""Graph copies and scope queries: ``copy_graph`` (a deep copy of the structure that shares
attribute objects such as constants and Variables) and ``free_values`` (the Values a
sub-graph uses from enclosing graphs)."""

from .graph import Graph, Operation


def copy_graph(graph, parent=None, vmap=None):
    """A structural copy of ``graph``: new Graphs, Operations and Values with the same names,
    types, attributes and locations. ``vmap`` maps old Values to new ones (filled in)."""
    vmap = {} if vmap is None else vmap
    g = Graph(graph.name, parent=parent)
    if parent is None:
        g._names = dict(graph.root._names)
        g.variables = list(graph.root.variables)
    for op in graph.ops:
        new = Operation(op.type, op.name, [vmap.get(v, v) for v in op.inputs], op.attrs,
                        [v.type for v in op.outputs], loc=op.loc, graph=g)
        new.subgraphs = [copy_graph(sg, g, vmap) for sg in op.subgraphs]
        g.ops.append(new)
        for a, b in zip(op.outputs, new.outputs, strict=False):
            vmap[a] = b
    g.inputs = [vmap[v] for v in graph.inputs]
    g.outputs = [vmap.get(v, v) for v in graph.outputs]
    return g


def free_values(graph):
    """Values used inside ``graph`` (sub-graphs included) that are defined outside it, in
    order of first use."""
    defined, free, seen = set(), [], set()
    _collect(graph, defined, free, seen)
    return free


def _collect(graph, defined, free, seen):
    def use(v):
        if v not in defined and v not in seen:
            seen.add(v)
            free.append(v)

    defined.update(graph.inputs)
    for op in graph.ops:
        for v in op.inputs:
            use(v)
        for sg in op.subgraphs:
            _collect(sg, defined, free, seen)
        defined.update(op.outputs)
    for v in graph.outputs:
        use(v)
