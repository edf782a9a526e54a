"""Control flow as ops: ``jg.cond``, ``jg.while_loop``, ``jg.switch_case``.

Eagerly they are plain Python. While tracing they record one op that owns sub-graphs:
  cond        inputs [pred: bool scalar]; subgraphs [then, else] (no inputs, lexical capture);
              outputs = the flattened branch outputs
  while_loop  inputs = the flattened initial loop vars; subgraphs [cond (placeholders for the
              loop vars -> one bool scalar), body (same placeholders -> new loop vars)];
              attrs {maximum_iterations: int | None}; outputs = the final loop vars
Python structures (nested lists/tuples/dicts/namedtuples) are flattened here and rebuilt on
the way out. Gradient rules live in autodiff/control.py.
"""

import numpy as np

from .. import errors, tracing
from ..autodiff import tape as _tape
from ..ir import Graph
from ..tensor import Tensor
from .core import REGISTRY, Op, Type, as_tensor, fmt_shape, register

# ----------------------------------------------------------------------------- structures


def _is_leaf(x):
    return isinstance(x, (Tensor, np.ndarray, np.generic, bool, int, float)) or \
        hasattr(x, "_jg_read")


def flatten(x):
    """(leaves, structure) of a nest of lists/tuples/namedtuples/dicts; None stays part of
    the structure."""
    leaves = []
    return leaves, _flatten(x, leaves)


class _Composite:
    """A structure node for an object that carries tensors (a TensorArray): ``x`` rebuilds it
    from its components' leaves (``x._jg_rebuild``)."""

    __slots__ = ("x", "parts")

    def __init__(self, x, parts):
        self.x, self.parts = x, parts

    def __repr__(self):
        return type(self.x).__name__


class _Leaf:
    __slots__ = ("i",)

    def __init__(self, i):
        self.i = i

    def __eq__(self, other):
        return isinstance(other, _Leaf)

    def __repr__(self):
        return "*"


def _flatten(x, leaves):
    if hasattr(type(x), "_jg_components"):
        return _Composite(x, [_flatten(c, leaves) for c in x._jg_components()])
    if _is_leaf(x):
        leaves.append(x)
        return _Leaf(len(leaves) - 1)
    if isinstance(x, tuple) and hasattr(x, "_fields"):
        return type(x)(*[_flatten(c, leaves) for c in x])
    if isinstance(x, (list, tuple)):
        return type(x)(_flatten(c, leaves) for c in x)
    if isinstance(x, dict):
        return {k: _flatten(x[k], leaves) for k in sorted(x, key=repr)}
    if x is None:
        return None
    raise TypeError(errors.at_user_line(
        f"control flow values must be tensors, numbers or lists/tuples/dicts of them; got "
        f"{type(x).__name__} {x!r:.60}"))


def unflatten(struct, leaves):
    if isinstance(struct, _Composite):
        return struct.x._jg_rebuild([unflatten(c, leaves) for c in struct.parts])
    if isinstance(struct, _Leaf):
        return leaves[struct.i]
    if isinstance(struct, tuple) and hasattr(struct, "_fields"):
        return type(struct)(*[unflatten(c, leaves) for c in struct])
    if isinstance(struct, (list, tuple)):
        return type(struct)(unflatten(c, leaves) for c in struct)
    if isinstance(struct, dict):
        return {k: unflatten(v, leaves) for k, v in struct.items()}
    return struct


def _same_structure(a, b):
    if isinstance(a, _Composite) or isinstance(b, _Composite):
        return isinstance(a, _Composite) and isinstance(b, _Composite) and \
            a.x._jg_same_kind(b.x) and _same_structure(a.parts, b.parts)
    if isinstance(a, _Leaf) or isinstance(b, _Leaf):
        return isinstance(a, _Leaf) and isinstance(b, _Leaf)
    if isinstance(a, dict) and isinstance(b, dict):
        return list(a) == list(b) and all(_same_structure(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same_structure(x, y) for x, y in zip(a, b, strict=False))
    return a is None and b is None


def _type_text(t):
    return f"{t.dtype.name}{fmt_shape(t.shape)}"


def _scalar(t):
    """A one-element tensor of known shape (e.g. bool[1]) as a scalar, as TensorFlow allows."""
    shape = tuple(t.shape)
    if shape and all(d == 1 for d in shape):
        from .shape import reshape

        return reshape(t, [])
    return t


def _weak(x):
    return isinstance(x, (bool, int, float)) and not isinstance(x, Tensor)


# ----------------------------------------------------------------------------- cond


def _cond_infer(types, subgraphs):
    then, other = subgraphs
    return [Type(a.dtype, _merge_shapes(a.shape, b.shape))
            for a, b in zip(then.outputs, other.outputs, strict=False)]


def _merge_shapes(a, b):
    return tuple(x if x == y else None for x, y in zip(a, b, strict=False))


def _cond_impl(pred, subgraphs, env):
    from ..interpreter import run_subgraph

    return run_subgraph(subgraphs[0] if pred else subgraphs[1], env, [])


register(Op("cond", _cond_infer, _cond_impl, kind="control", n_outputs=None,
            doc="runs sub-graph then or else depending on the bool scalar input"))


def _trace_fn(parent, name, fn, args=()):
    g = Graph(name, parent=parent)
    with tracing.graph_scope(g):
        out = fn(*args)
    return g, out


def _to_values(graph, leaves, hints, what):
    """IR Values in ``graph`` for output leaves; Python numbers take the dtype of ``hints``."""
    vals = []
    with tracing.graph_scope(graph):
        for x, h in zip(leaves, hints, strict=False):
            dtype = h.dtype if _weak(x) and isinstance(h, Tensor) else None
            t = as_tensor(x, what, dtype)
            vals.append(tracing.value_of(graph, t))
    return vals


def cond(pred, true_fn=None, false_fn=None, name=None):
    """``true_fn()`` if ``pred`` else ``false_fn()``; a graph op when ``pred`` is symbolic.

    >>> jg.cond(x > 0, lambda: x * 2.0, lambda: -x)
    """
    if true_fn is None or false_fn is None:
        raise TypeError("jg.cond needs both true_fn and false_fn")
    graph = tracing.current_graph()
    if hasattr(pred, "_jg_read"):
        pred = pred._jg_read()
    if graph is None or not tracing.is_symbolic(pred):
        return true_fn() if bool(pred) else false_fn()
    pred = _scalar(pred)
    if not (pred.dtype.is_bool and pred.ndim == 0):
        raise errors.InvalidArgumentError(errors.at_user_line(
            f"jg.cond: pred must be a bool scalar, got {_type_text(pred)}; compare it "
            "(x > 0) or reduce it (jg.reduce_any) first"))
    then_g, then_out = _trace_fn(graph, "then", true_fn)
    else_g, else_out = _trace_fn(graph, "else", false_fn)
    from ..tensor_array import match_branches

    then_out, else_out = match_branches(then_out, else_out, then_g, else_g)
    tl, ts = flatten(then_out)
    el, es = flatten(else_out)
    if not _same_structure(ts, es):
        raise errors.InvalidArgumentError(errors.at_user_line(
            f"jg.cond: true_fn returns {ts!r} but false_fn returns {es!r} (* = a tensor); both "
            "branches must return the same structure"))
    then_g.outputs = _to_values(then_g, tl, el, "jg.cond true_fn result")
    else_g.outputs = _to_values(else_g, el, tl, "jg.cond false_fn result")
    for i, (a, b) in enumerate(zip(then_g.outputs, else_g.outputs, strict=False)):
        if a.dtype is not b.dtype or len(a.shape) != len(b.shape):
            raise errors.InvalidArgumentError(errors.at_user_line(
                f"jg.cond: output {i} is {_type_text(a.type)} in true_fn but "
                f"{_type_text(b.type)} in false_fn; both branches must return the same dtypes "
                "and ranks: cast one with jg.cast"))
    subgraphs = [then_g, else_g]
    return _record("cond", graph, [pred], {}, subgraphs, ts)


def _record(op_name, graph, tensors, attrs, subgraphs, struct):
    od = REGISTRY[op_name]
    out_types = od.infer([], subgraphs=subgraphs, **attrs)
    outs = tracing.record(graph, od, tensors, attrs, out_types, subgraphs)
    if _tape.ACTIVE and od.grad is not None and outs:
        _tape.record(od, list(tensors), outs, attrs)
    return unflatten(struct, outs)


# ----------------------------------------------------------------------------- while_loop


def _while_infer(types, subgraphs, maximum_iterations=None):
    return [v.type for v in subgraphs[1].inputs]


def _while_impl(*init, subgraphs, env, maximum_iterations=None):
    from ..interpreter import run_subgraph

    cond_g, body_g = subgraphs
    vals, i = list(init), 0
    while maximum_iterations is None or i < maximum_iterations:
        if not run_subgraph(cond_g, env, vals)[0]:
            break
        vals = run_subgraph(body_g, env, vals)
        i += 1
    return vals


register(Op("while_loop", _while_infer, _while_impl, kind="control", n_outputs=None,
            doc="repeats sub-graph body on the loop vars while sub-graph cond is true"))


def _eager_while(cond_fn, body, loop_vars, maximum_iterations, single):
    i = 0
    leaves0, struct = flatten(loop_vars)
    while maximum_iterations is None or i < maximum_iterations:
        if not bool(cond_fn(*loop_vars)):
            break
        new = _pack_single(body(*loop_vars), loop_vars)
        leaves, s = flatten(new)
        if not _same_structure(struct, s):
            raise errors.InvalidArgumentError(errors.at_user_line(
                f"jg.while_loop: body returned {s!r} but the loop vars are {struct!r} "
                "(* = a tensor); return the same structure"))
        for k, (a, b) in enumerate(zip(leaves0, leaves, strict=False)):
            da, db = getattr(a, "dtype", None), getattr(b, "dtype", None)
            if isinstance(a, (Tensor, np.ndarray)) and isinstance(b, (Tensor, np.ndarray)) \
                    and da != db:
                raise errors.InvalidArgumentError(errors.at_user_line(
                    f"jg.while_loop: loop var {k} is {da} before the loop but {db} after "
                    "an iteration; cast it before the loop"))
        loop_vars = unflatten(s, leaves)
        i += 1
    return loop_vars


def while_loop(cond, body, loop_vars, shape_invariants=None, parallel_iterations=10,
               back_prop=True, swap_memory=False, maximum_iterations=None, name=None):
    """Repeats ``loop_vars = body(*loop_vars)`` while ``cond(*loop_vars)``; returns the final
    loop vars (same structure). A graph op while tracing.

    >>> i, s = jg.while_loop(lambda i, s: i < 10, lambda i, s: (i + 1, s + i), (0, 0))
    """
    single = not isinstance(loop_vars, (list, tuple))
    loop_vars = [loop_vars] if single else loop_vars
    graph = tracing.current_graph()
    if graph is None:
        out = _eager_while(cond, body, loop_vars, maximum_iterations, single)
        return out[0] if single else out
    from ..tensor_array import resolve_element_shapes

    loop_vars = resolve_element_shapes(body, loop_vars)
    if tracing.is_symbolic(maximum_iterations) or isinstance(maximum_iterations, Tensor):
        return _counted_while(cond, body, loop_vars, maximum_iterations, shape_invariants,
                              single)
    leaves, struct = flatten(loop_vars)
    init = [as_tensor(x, "jg.while_loop loop var") for x in leaves]
    inv = _flatten_invariants(shape_invariants, []) if shape_invariants is not None else None
    types = [Type(t.dtype, _invariant(t, inv[k] if inv else None, k))
             for k, t in enumerate(init)]
    cond_g, body_g = Graph("cond", parent=graph), Graph("body", parent=graph)
    args = {}
    for g in (cond_g, body_g):
        with tracing.graph_scope(g):
            phs = [tracing.placeholder(g, "lv", ty.dtype, ty.shape) for ty in types]
        args[g] = unflatten(struct, phs)
    with tracing.graph_scope(cond_g):
        c = cond(*args[cond_g])
        c = _scalar(as_tensor(c, "jg.while_loop cond result"))
        if not (c.dtype.is_bool and c.ndim == 0):
            raise errors.InvalidArgumentError(errors.at_user_line(
                f"jg.while_loop: cond must return a bool scalar, got {_type_text(c)}"))
        cond_g.outputs = [tracing.value_of(cond_g, c)]
    with tracing.graph_scope(body_g):
        new = _pack_single(body(*args[body_g]), loop_vars)
    new_leaves, new_struct = flatten(new)
    if not _same_structure(struct, new_struct):
        raise errors.InvalidArgumentError(errors.at_user_line(
            f"jg.while_loop: body returns {new_struct!r} but the loop vars are {struct!r} "
            "(* = a tensor); the body must return the loop vars' structure"))
    body_g.outputs = _to_values(body_g, new_leaves, init, "jg.while_loop body result")
    for k, (ty, v) in enumerate(zip(types, body_g.outputs, strict=False)):
        _check_loop_var(k, ty, v.type, shape_invariants is not None)
    attrs = {"maximum_iterations": None if maximum_iterations is None
             else int(maximum_iterations)}
    out = _record("while_loop", graph, init, attrs, [cond_g, body_g], struct)
    return out[0] if single else out


def _flatten_invariants(inv, out):
    from ..tensor import TensorShape

    # a TensorShape or a list of dims is one loop var's invariant; other lists are structure
    if isinstance(inv, TensorShape) or (isinstance(inv, (list, tuple)) and all(
            d is None or isinstance(d, int) for d in inv)):
        out.append(inv)
    elif isinstance(inv, dict):
        for k in sorted(inv, key=repr):
            _flatten_invariants(inv[k], out)
    else:
        for x in inv:
            _flatten_invariants(x, out)
    return out


def _pack_single(new, loop_vars):
    """A body of one loop var may return it bare (as TensorFlow allows)."""
    if len(loop_vars) == 1 and (_is_leaf(new) or new is None or
                                hasattr(type(new), "_jg_components")):
        return [new]
    return new


def _invariant(t, spec, k):
    if spec is None:
        return tuple(t.shape)
    from ..tensor import TensorShape

    shape = tuple(TensorShape(spec))
    if not TensorShape(shape).is_compatible_with(t.shape):
        raise errors.InvalidArgumentError(errors.at_user_line(
            f"jg.while_loop: shape_invariants[{k}] {fmt_shape(shape)} does not fit loop var {k} "
            f"of shape {fmt_shape(t.shape)}"))
    return shape


def _check_loop_var(k, before, after, has_invariants):
    if after.dtype is not before.dtype:
        raise errors.InvalidArgumentError(errors.at_user_line(
            f"jg.while_loop: loop var {k} is {_type_text(before)} before the loop but "
            f"{_type_text(after)} after one iteration; a loop var keeps its dtype: cast it "
            "with jg.cast (before the loop or in the body)"))
    ok = len(after.shape) == len(before.shape) and all(
        b is None or a == b for a, b in zip(after.shape, before.shape, strict=False))
    if not ok:
        hint = "" if has_invariants else (
            "; to let its shape change, pass shape_invariants with None for the changing dims")
        raise errors.InvalidArgumentError(errors.at_user_line(
            f"jg.while_loop: loop var {k} has shape {fmt_shape(before.shape)} before the loop "
            f"but {fmt_shape(after.shape)} after one iteration ({_type_text(before)} vs "
            f"{_type_text(after)}){hint}"))


def _counted_while(cond_fn, body, loop_vars, maximum_iterations, shape_invariants, single):
    """A tensor ``maximum_iterations``: an extra loop var counts the iterations."""
    from . import logical_and

    limit = as_tensor(maximum_iterations, "maximum_iterations")
    inv = None if shape_invariants is None else [[], shape_invariants]
    out = while_loop(
        lambda n, vs: logical_and(n < limit, cond_fn(*vs)),
        lambda n, vs: (n + 1, list(_pack_single(body(*vs), vs))),
        [as_tensor(0, "maximum_iterations", limit.dtype), list(loop_vars)],
        shape_invariants=inv)
    return out[1][0] if single else out[1]


# ----------------------------------------------------------------------------- switch_case


def switch_case(branch_index, branch_fns, default=None, name=None):
    """Runs ``branch_fns[branch_index]()`` (``default`` or the last branch when out of range).

    >>> jg.switch_case(i, [lambda: x, lambda: x * 2.0, lambda: x * 3.0])
    """
    fns = [f for _, f in sorted(branch_fns.items())] if isinstance(branch_fns, dict) \
        else list(branch_fns)
    default = default or fns[-1]
    if not tracing.is_symbolic(branch_index):
        i = int(branch_index)
        return fns[i]() if 0 <= i < len(fns) else default()

    def pick(k):
        if k == len(fns):
            return default()
        return cond(branch_index == k, fns[k], lambda: pick(k + 1))

    return pick(0)


__all__ = ["cond", "while_loop", "switch_case"]
