"""Gradient rules of the control-flow ops ``cond`` and ``while_loop``.

Both ops own sub-graphs that read values of enclosing graphs directly (lexical capture), so
their real inputs are the explicit ones plus the captured values and the Variables their
sub-graphs read. ``tape_inputs`` gives the tape that full list (the tape calls it when it
records an op with sub-graphs), and the rules below return one gradient per entry of it.

Sub-graphs are differentiated by *replay*: ``replay(sg, args)`` emits the sub-graph's ops
again into the graph being built (binding its placeholders to ``args``) under a fresh
GradientTape, whose gradient then uses each op's own rule. Forward values a branch computed
are recomputed in the gradient branch: simple, always correct, and the passes drop what the
gradient does not need.

cond(pred) {then, else} -> ys; given dys:
    cond(pred) {replay(then) + vjp, replay(else) + vjp} -> d(captures)
  A capture neither branch depends on gets None; one only some branch depends on gets zeros
  from the other.

while_loop(vs0) {cond, body} -> vsN, with a trip count N known only at run time; given dvsN:
  (a) N: the forward op itself gains a counter loop var           count the iterations
      (an extra output and body input; the forward pass is not run again to count)
  (b) stack_i = stack_alloc(N, v) for each loop var v;
      while i < N: stack_i[i] = v; v = body(v)                   save each iteration's inputs
  (c) i = N-1; while i >= 0:                                      run the loop in reverse
        v = stack_i[i]; (dv, dcap) = vjp(body at v)(dv); acc_cap += dcap; i -= 1
  -> (dv for vs0, acc_cap for the captures)
  The stacks are ``[N, ...]`` tensors with a dynamic leading dim (ops/loop_state.py): static
  enough for a compiler (one allocation per stack, rows written and read by index).
  The counter also feeds the body its iteration number, which (b) and (c) pass as their own
  index. Integer and bool loop vars are stacked (the body needs them) but carry no gradient;
  the passes drop the stacks and recomputation the gradient does not use.

Limits: a replay re-runs random ops (fresh numbers) and skips stateful ops without outputs
(variable assignments, prints), so gradients of branches or bodies that draw random numbers or
assign a variable and read it back see different values than the forward pass did; a
``jg.custom_gradient`` function called inside a branch or body is differentiated through its
ops (the replay sees the ops, not the Python grad_fn). Loop vars must keep their shape (the
stacks have fixed rows): a loop with relaxed ``shape_invariants`` raises UnimplementedError.
"""

import numpy as np

from .. import errors
from ..dtypes import int32
from ..ir import Value, free_values
from ..ops import loop_state
from ..ops.core import REGISTRY, Type, apply_tensors
from ..tracing import SymbolicTensor, current_graph, graph_scope, placeholder, value_of
from . import tape as _tape

# ----------------------------------------------------------------------------- captures


def captured(operation):
    """(values, variables): what ``operation``'s sub-graphs read from outside, in first-use
    order. Values defined inside the sub-graphs (at any depth) are not captures."""
    values, seen, variables = [], set(), []
    for sg in operation.subgraphs:
        for v in free_values(sg):
            if v not in seen:
                seen.add(v)
                values.append(v)
        for op in sg.walk():
            var = op.attrs.get("var") if op.type == "read_variable" else None
            if var is not None and not any(var is w for w in variables):
                variables.append(var)
    return values, variables


def tape_inputs(operation, tensors):
    """The inputs a tape records for a control op: its explicit inputs, then its captured
    values, then one token per Variable its sub-graphs read (reported to the tapes as a read
    of that variable, so ``tape.gradient(y, var)`` finds the gradient the rule returns)."""
    values, variables = captured(operation)
    extra = [SymbolicTensor(v) for v in values]
    for var in variables:  # a Value of no graph: it only routes the gradient to var
        tok = SymbolicTensor(Value(var.dtype, tuple(var.shape)))
        _tape.notify_variable_read(var, tok)
        extra.append(tok)
    return list(tensors) + extra


# ----------------------------------------------------------------------------- replay


def replay(graph, args, env=None, given=None):
    """Emits ``graph``'s ops into the current graph with its inputs bound to ``args``; returns
    the tensors standing for its outputs. Values from enclosing graphs are used as they are.
    ``env`` (a dict) receives each of ``graph``'s Values' tensor. An op whose outputs are all
    in ``given`` (Value -> tensor, computed elsewhere) is not emitted: its outputs are those
    tensors, recorded on the active tapes as the op's results, so gradients flow through it."""
    env = {} if env is None else env
    env.update(zip(graph.inputs, args, strict=True))
    for op in graph.ops:
        if given and op.outputs and all(v in given for v in op.outputs):
            _replay_given(op, env, given)
        else:
            _replay_op(op, env)
    return [_lookup(env, v) for v in graph.outputs]


def _replay_given(op, env, given):
    outs = [given[v] for v in op.outputs]
    od = REGISTRY[op.type]
    if _tape.ACTIVE and od.grad is not None:
        _tape.record(od, [_lookup(env, v) for v in op.inputs], outs, dict(op.attrs))
    env.update(zip(op.outputs, outs, strict=True))


def _lookup(env, v):
    return env[v] if v in env else SymbolicTensor(v)


def _replay_op(op, env):
    if op.type == "placeholder":
        return
    if op.type == "read_variable":
        env[op.outputs[0]] = op.attrs["var"]._jg_read()  # tells tapes about the read
        return
    od = REGISTRY[op.type]
    if od.stateful and not op.outputs:
        return  # assignments and prints happened in the forward pass
    ins = [_lookup(env, v) for v in op.inputs]
    if op.subgraphs:
        outs = _replay_nested(op, od, ins, env)
    else:
        outs = apply_tensors(od, ins, dict(op.attrs))
        outs = outs if isinstance(outs, list) else [outs]
    env.update(zip(op.outputs, outs, strict=True))


def _replay_nested(op, od, ins, env):
    from .. import tracing

    g = current_graph()
    subs = []
    for sg in op.subgraphs:
        new = tracing.new_subgraph(sg.name, g)
        with graph_scope(new):
            phs = [placeholder(new, p.op.name, p.dtype, p.shape) for p in sg.inputs]
            outs = replay(sg, phs, env)
            new.outputs = [value_of(new, t) for t in outs]
        subs.append(new)
    outs = tracing.record(g, od, ins, dict(op.attrs), [v.type for v in op.outputs], subs)
    if _tape.ACTIVE and od.grad is not None:
        _tape.record(od, ins, outs, dict(op.attrs))
    return outs


def _vjp(graph, args, out_grads, wrt, given=None):
    """Replays ``graph`` on ``args`` and returns the gradients of its outputs (weighted by
    ``out_grads``, None = no gradient) w.r.t. ``wrt`` (tensors among ``args``, captured
    tensors, Variables); unconnected floating entries are zeros, others None. ``given``: as
    for ``replay``."""
    with _tape.GradientTape(watch_accessed_variables=False) as tape:
        tape.watch([w for w in wrt if _differentiable(w)])
        outs = replay(graph, args, given=given)
    pairs = [(o, g) for o, g in zip(outs, out_grads, strict=True)
             if g is not None and _differentiable(o)]
    if not pairs:
        return [_zeros(w) if _differentiable(w) else None for w in wrt]
    grads = tape.gradient([o for o, _ in pairs], list(wrt),
                          output_gradients=[g for _, g in pairs])
    return [_zeros(w) if g is None and _differentiable(w) else g
            for w, g in zip(wrt, grads, strict=True)]


def _int(n):
    from ..ops.core import as_tensor

    return as_tensor(n, "while_loop gradient")


def _differentiable(t):
    return t.dtype.is_floating


def _zeros(t):
    from .. import ops

    if None in tuple(t.shape):
        return ops.zeros_like(t)
    return ops.zeros(tuple(t.shape), dtype=t.dtype)


def _depends(graph, values):
    """Which of ``values`` ``graph``'s outputs depend on differentiably: through floating
    values and ops with a gradient rule (nested sub-graphs included), not stop_gradient."""
    want = set(values)
    seen, stack, found = set(), list(graph.outputs), set()
    while stack:
        v = stack.pop()
        if v in seen or not v.dtype.is_floating:
            continue
        seen.add(v)
        if v in want:
            found.add(v)
            continue
        op = v.op
        if op is None or op.type in _NO_GRAD or (op.op_def is not None and op.op_def.grad is None):
            continue  # a graph input, stop_gradient, a constant or a variable read
        stack.extend(op.inputs)
        for sg in op.subgraphs:
            stack.extend(sg.outputs)
            for inner in sg.walk():
                stack.extend(inner.inputs)
    return found


_NO_GRAD = {"stop_gradient"}


# ----------------------------------------------------------------------------- cond


def _cond_grad(inputs, outputs, grads, **attrs):
    from ..ops.control import cond

    op = outputs[0]._ir.op
    values, variables = captured(op)
    caps = inputs[1:1 + len(values)]
    used = set().union(*(_depends(sg, values) for sg in op.subgraphs))
    keep = _differentiated(caps, used, variables)
    if not keep:
        return [None] * len(inputs)

    def branch(sg):
        return lambda: _vjp(sg, [], grads, keep)

    res = cond(inputs[0], branch(op.subgraphs[0]), branch(op.subgraphs[1]))
    res = list(res) if isinstance(res, (list, tuple)) else [res]
    return _scatter(inputs, values, variables, keep, res)


def _differentiated(caps, used, variables):
    """What a control op's gradient is taken w.r.t.: the floating captures its sub-graphs
    depend on (``used``), then its floating Variables (not a random generator's state)."""
    return [c for c in caps if _differentiable(c) and c._ir in used] + \
        [w for w in variables if _differentiable(w)]


def _scatter(inputs, values, variables, keep, res):
    """One gradient per tape input (explicit inputs, captures, variable tokens)."""
    by_key = {}
    for w, g in zip(keep, res, strict=True):
        by_key[id(w) if hasattr(w, "_jg_read") else w._ir] = g
    n_explicit = len(inputs) - len(values) - len(variables)
    out = [None] * n_explicit
    out += [by_key.get(v) for v in values]
    out += [by_key.get(id(var)) for var in variables]
    return out


# ----------------------------------------------------------------------------- while_loop


def _while_grad(inputs, outputs, grads, maximum_iterations=None, **attrs):
    from ..ops.control import while_loop

    op = outputs[0]._ir.op
    cond_g, body_g = op.subgraphs
    values, variables = captured(op)
    n = len(outputs)  # the loop vars (op may since have gained a trip counter)
    init, caps = list(inputs[:n]), inputs[n:n + len(values)]
    used = _depends(body_g, values)
    keep = _differentiated(caps, used, variables)
    dif = [k for k in range(n) if _differentiable(init[k])]
    if not dif:
        return [None] * len(inputs)
    _check_fixed_shapes(op, init)

    trips = _trip_count(op)  # the body now also takes the iteration number i, last

    kept = _residuals(body_g)  # body values the saving loop stacks for the reverse loop
    stacks, kept_stacks = _saving_loop(op, init, trips, kept)

    def reverse_body(i, *state):
        dvs, acc = state[:len(dif)], state[len(dif):]
        vs = [loop_state.stack_read(s, i) for s in stacks]
        given = {v: loop_state.stack_read(s, i) for v, s in zip(kept, kept_stacks, strict=True)}
        out_grads = [None] * (n + 1)
        for k, g in zip(dif, dvs, strict=True):
            out_grads[k] = g
        res = _vjp(body_g, vs + [i], out_grads, [vs[k] for k in dif] + keep, given)
        return [i - 1] + res[:len(dif)] + [a + g for a, g in zip(acc, res[len(dif):], strict=True)]

    seeds = [grads[k] if grads[k] is not None else _zeros(outputs[k]) for k in dif]
    res = while_loop(lambda i, *state: i >= 0, reverse_body,
                     [trips - 1] + seeds + [_zeros(w) for w in keep])
    d_init = [None] * n
    for k, g in zip(dif, res[1:1 + len(dif)], strict=True):
        d_init[k] = g
    return d_init + _scatter(inputs, values, variables, keep, res[1 + len(dif):])[n:]


def _saving_loop(op, init, trips, kept):
    """Step (b): a loop running ``op``'s body ``trips`` times from ``init``, stacking each
    iteration's loop vars and the ``kept`` body values; returns the two lists of stacks. When
    it stands for the forward loop (``_forward_from_save_loop``) a later gradient of the same
    loop (a persistent tape) reuses it."""
    from ..ops.control import while_loop

    saves = op.graph.root.__dict__.setdefault("_loop_saves", {})
    if id(op) in saves:
        return saves[id(op)]
    body_g, n = op.subgraphs[1], len(init)

    def save_body(i, *state):
        vs, stacks, kept_stacks = state[:n], state[n:2 * n], state[2 * n:]
        stacks = [loop_state.stack_write(s, i, v) for s, v in zip(stacks, vs, strict=True)]
        env = {}
        outs = replay(body_g, list(vs) + [i], env)[:n]
        kept_stacks = [loop_state.stack_write(s, i, env[v])
                       for s, v in zip(kept_stacks, kept, strict=True)]
        return [i + 1] + outs + stacks + kept_stacks

    g, start = current_graph(), len(current_graph().ops)
    stacks = [loop_state.stack_alloc(trips, v) for v in init]
    stacks += [loop_state.stack_alloc(trips, _zeros(SymbolicTensor(v))) for v in kept]
    saved = while_loop(lambda i, *state: i < trips, save_body, [_int(0)] + init + stacks)
    result = saved[1 + n:1 + 2 * n], saved[1 + 2 * n:]
    if _forward_from_save_loop(op, g, start, saved[1:1 + n]):
        saves[id(op)] = result
    return result


def _forward_from_save_loop(op, g, start, saved):
    """Lets the saving loop (b) stand for the forward loop: it runs the same body from the
    same values, so its final loop vars are the forward loop's. The ops building it (from
    ``g.ops[start:]``) move to just after ``op`` and every later use of ``op``'s loop vars
    reads them instead; ``op`` is then left computing what its condition needs (its trip
    count), and DCE drops the rest of it, so the forward body runs once, not twice.

    Tensors the user still holds stand for ``op``'s Values: ``tracing.value_of`` maps them
    to the saving loop's from now on (the graph's ``forwarded`` table), so ops built later
    and the function's results read the saving loop too.

    Only when the gradient is built in the forward loop's own graph and the loop has no
    effects (random numbers or variable writes would make the replay differ from the
    forward pass; a write must also happen once). Returns whether it did."""
    from ..passes.rewrite import has_effects

    if g is not op.graph or op not in g.ops or has_effects(op):
        return False
    built = g.ops[start:]
    del g.ops[start:]
    at = g.ops.index(op) + 1
    g.ops[at:at] = built
    repl = {v: t._ir for v, t in zip(op.outputs, saved)}
    for later in g.ops[at + len(built):]:
        _redirect(later, repl)
    g.root.__dict__.setdefault("forwarded", {}).update(repl)  # for ops and results to come
    return True


def _redirect(op, repl):
    op.inputs = [repl.get(v, v) for v in op.inputs]
    for sg in op.subgraphs:
        sg.outputs = [repl.get(v, v) for v in sg.outputs]
        for inner in sg.ops:
            _redirect(inner, repl)


_RESIDUAL_OPS = {"matmul"}


def _residuals(body):
    """The values of ``body`` the saving loop stacks rather than the reverse loop recomputing
    them: results of its top-level matmuls (of static shape). A row costs a write and a read of
    the result; recomputing it costs the product. The reverse body reads them where its replay
    would emit the op (``replay(given=...)``); a stack the gradient does not read is dropped by
    DCE with its writes."""
    return [o.outputs[0] for o in body.ops if o.type in _RESIDUAL_OPS
            and o.outputs[0].dtype.is_floating and None not in tuple(o.outputs[0].shape)]


def _trip_count(op):
    """The number of iterations ``op`` runs, as a new output of ``op`` itself: the forward loop
    gains a counter (an extra loop var from 0) rather than being run again to count. Asking
    twice (a persistent tape) gives the same counter."""
    counters = op.graph.root.__dict__.setdefault("_loop_trip_counters", {})
    if id(op) in counters:
        return SymbolicTensor(counters[id(op)])
    i32 = Type(int32, ())
    zero = _add_before(op, "constant", {"value": np.zeros((), np.int32)}, i32)
    cond_g, body_g = op.subgraphs
    _add_input_first(cond_g, i32)
    count = _add_input_first(body_g, i32)
    with graph_scope(body_g), _tape.pause():
        body_g.outputs.append((SymbolicTensor(count) + 1)._ir)
    op.inputs.append(zero)
    op.outputs.append(Value(i32.dtype, (), op, len(op.outputs)))
    counters[id(op)] = op.outputs[-1]
    return SymbolicTensor(op.outputs[-1])


def _add_before(op, type, attrs, out_type):
    g = op.graph
    new = g.add_op(type, [], attrs, [out_type], loc=op.loc)
    g.ops.remove(new)
    g.ops.insert(g.ops.index(op), new)
    return new.outputs[0]


def _add_input_first(graph, ty):
    """A new last input of ``graph`` whose placeholder op sits with the other placeholders."""
    v = graph.add_input("iteration", ty)
    graph.ops.remove(v.op)
    graph.ops.insert(len(graph.inputs) - 1, v.op)
    return v


def _check_fixed_shapes(op, init):
    for k, (ph, v) in enumerate(zip(op.subgraphs[1].inputs[:len(init)], init, strict=True)):
        if tuple(ph.shape) != tuple(v.shape):
            raise errors.UnimplementedError(errors.at_user_line(
                f"the gradient of jg.while_loop: loop var {k} is {v._ir.type} before the loop but "
                f"may change shape (shape_invariants say {ph.type}); gradients need loop vars "
                "of a fixed shape: pad them to a fixed size, or compute this gradient eagerly"))


def attach():
    """Installs the rules on the registered control ops (ops/control.py owns their forward)."""
    for name, rule in (("cond", _cond_grad), ("while_loop", _while_grad)):
        if name in REGISTRY:
            REGISTRY[name].grad = rule
