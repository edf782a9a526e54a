"""The reference backend: runs a Graph op by op with each op's NumPy implementation
(``REGISTRY[op.type].impl``). Every pass and compiled backend is tested against it.

Conventions for op implementations called from here:
- ``impl(*input_arrays, **attrs)`` returns one array (ops with ``n_outputs == 1``) or a
  sequence of arrays; results are cast to the dtype of the op's output Values and checked
  against their static shapes, so a wrong type rule fails loudly at its op's line.
- An op with sub-graphs (``cond``, ``while_loop``, a fused kernel, ...) is called as
  ``impl(*input_arrays, subgraphs=op.subgraphs, env=env, **attrs)``; it runs a sub-graph with
  ``run_subgraph(graph, env, args)``. ``env`` maps Values to arrays; sub-graphs see the Values
  of enclosing graphs through it (lexical scope).
"""

import weakref

import numpy as np

from . import backends, errors
from .ir.printer import format_op
from .ops.core import REGISTRY, Type, fmt_shape, widen

_PLANS = weakref.WeakKeyDictionary()  # Graph -> list of steps


def _shape_ok(shape, static):
    if len(shape) != len(static):
        return False
    for d, s in zip(shape, static, strict=False):
        if s is not None and d != s:
            return False
    return True


def _bad_result(op, what):
    where = f" ({errors.format_location(op.loc)})" if op.loc else ""
    return errors.InvalidArgumentError(f"{op.type}: {what}{where}:\n{format_op(op)}")


def _store(op, res, env):
    outs = op.outputs
    if len(outs) == 1 and op.op_def is not None and op.op_def.n_outputs == 1:
        res = (res,)
    elif len(res) != len(outs):
        raise _bad_result(op, f"the implementation returned {len(res)} results, the graph "
                              f"expects {len(outs)}")
    for v, r in zip(outs, res, strict=False):
        env[v] = _fix(op, v, r)


def _fix(op, v, r):
    """``r`` as an array of ``v``'s dtype, checked against ``v``'s static shape."""
    if type(r) is not np.ndarray:
        r = np.asarray(r)
    if r.dtype != v.dtype.np:
        r = r.astype(v.dtype.np)
    if r.shape != v.shape and not _shape_ok(r.shape, v.shape):
        raise _bad_result(op, f"produced shape {fmt_shape(r.shape)} where the type rule "
                              f"promised {fmt_shape(v.shape)}")
    return r


# A step is (code, impl, inputs, attrs, output Value, output np dtype, output shape, op).
# code 1/2/3: single-output op with 1, 2 or any number of inputs; 0: anything else (several
# outputs, sub-graphs), stored through _store.
_GENERAL = 0


class _Widened:
    """An op record whose impl computes on bfloat16 inputs in float32 (ops/core.widen)."""

    def __init__(self, od):
        self.impl, self.n_outputs = widen(od.impl), od.n_outputs


def _step(op):
    if op.type in ("placeholder", "constant"):
        return None  # bound by the caller / preloaded into the environment
    od = REGISTRY.get(op.type)
    if od is None:
        raise errors.UnimplementedError(f"the interpreter does not know op {op.type!r}:\n"
                                        f"{format_op(op)}")
    attrs = dict(op.attrs)
    ins = tuple(op.inputs)
    if not op.subgraphs and any(v.dtype.name == "bfloat16" for v in ins):
        od = _Widened(od)  # NumPy has no bfloat16 arithmetic: float32, rounded by _fix
    if op.subgraphs:
        attrs["subgraphs"] = op.subgraphs
        return (_GENERAL, od.impl, ins, attrs, None, None, None, op)
    if od.n_outputs != 1 or len(op.outputs) != 1:
        return (_GENERAL, od.impl, ins, attrs, None, None, None, op)
    out = op.outputs[0]
    code = len(ins) if len(ins) in (1, 2) else 3
    return (code, od.impl, ins, attrs, out, out.dtype.np, out.shape, op)


def _plan(graph):
    plan = _PLANS.get(graph)
    if plan is None:
        plan = [s for s in map(_step, graph.ops) if s is not None]
        _PLANS[graph] = plan
    return plan


def _run_plan(plan, env):
    op = None
    try:
        for code, impl, ins, attrs, out, dt, shape, op in plan:
            if code == 2:
                r = impl(env[ins[0]], env[ins[1]], **attrs)
            elif code == 1:
                r = impl(env[ins[0]], **attrs)
            elif code == 3:
                r = impl(*[env[v] for v in ins], **attrs)
            else:
                if op.subgraphs:
                    _store(op, impl(*[env[v] for v in ins], env=env, **attrs), env)
                else:
                    _store(op, impl(*[env[v] for v in ins], **attrs), env)
                continue
            if type(r) is not np.ndarray or r.dtype != dt or r.shape != shape:
                r = _fix(op, out, r)
            env[out] = r
    except (errors.JitgraphError, *_FOREIGN) as e:
        if op is None:
            raise
        shape_error = _type_rule_error(op, env)
        if shape_error is not None:  # run-time sizes the type rule rejects: its message
            raise shape_error from e
        if not isinstance(e, errors.JitgraphError):
            raise _foreign_error(op, env, e) from e
        if op.loc and e.args and isinstance(e.args[0], str):
            e.args = (errors.at_op_line(e.args[0], op.loc),) + e.args[1:]
        raise


def _type_rule_error(op, env):
    """The error ``op``'s type rule raises for the run-time shapes of its inputs (None dims
    when traced), as the cpu backend checks them before running, or None."""
    od = REGISTRY.get(op.type)
    if od is None or op.subgraphs or any(v not in env for v in op.inputs):
        return None
    types = [Type(v.dtype, tuple(env[v].shape)) for v in op.inputs]
    try:
        od.infer(types, **op.attrs)
    except errors.InvalidArgumentError as e:
        return type(e)(errors.at_op_line(str(e), op.loc))
    except Exception:  # noqa: BLE001 - a rule that needs more than shapes: no opinion
        return None
    return None


# what NumPy raises for inputs an op's type rule could not check when tracing (run-time
# sizes of None dims, ...): re-raised as InvalidArgumentError naming the op and its line
_FOREIGN = (ValueError, IndexError, TypeError, ArithmeticError, np.linalg.LinAlgError)


def _foreign_error(op, env, e):
    shapes = ", ".join(f"{v.dtype.name}{fmt_shape(env[v].shape)}" if v in env else "?"
                       for v in op.inputs)
    where = f" ({errors.format_location(op.loc)})" if op.loc else ""
    return errors.InvalidArgumentError(f"{op.type}{where}: {e} (inputs {shapes})")


def run_subgraph(graph, env, args):
    """Runs ``graph`` with its inputs bound to ``args`` inside ``env``; returns its outputs."""
    for v, a in zip(graph.inputs, args, strict=False):
        env[v] = a
    _run_plan(_plan(graph), env)
    return [env[v] for v in graph.outputs]


def _check_arg(v, a):
    if type(a) is np.ndarray and a.dtype == v.dtype.np and a.shape == v.shape:
        return a
    if type(a) is not np.ndarray:
        a = np.asarray(a)
    if a.dtype != v.dtype.np:
        raise errors.InvalidArgumentError(
            f"argument {v.op.name!r}: expected dtype {v.dtype.name}, got {a.dtype.name}")
    if a.shape != v.shape and not _shape_ok(a.shape, v.shape):
        raise errors.InvalidArgumentError(
            f"argument {v.op.name!r}: expected shape {fmt_shape(v.shape)}, got "
            f"{fmt_shape(a.shape)}")
    return a


class Executable:
    """A graph ready to run op by op: ``Executable(graph).run([arrays])``."""

    def __init__(self, graph):
        self.graph = graph
        self._checks = [(v, v.dtype.np, v.shape) for v in graph.inputs]
        self._outputs = list(graph.outputs)
        consts = [op for op in graph.walk() if op.type == "constant"]
        self._constants = [op.attrs["value"] for op in consts]
        self._static_ids = {id(c) for c in self._constants}
        self._base_env = {op.outputs[0]: op.attrs["value"] for op in consts}
        self._plan = _plan(graph)
        for op in graph.walk():
            for sg in op.subgraphs:
                _plan(sg)

    def run(self, args):
        checks = self._checks
        if len(args) != len(checks):
            raise errors.InvalidArgumentError(
                f"graph {self.graph.name} takes {len(checks)} arguments, got {len(args)}")
        env = self._base_env.copy()
        for (v, dt, shape), a in zip(checks, args, strict=False):
            if type(a) is not np.ndarray or a.dtype != dt or a.shape != shape:
                a = _check_arg(v, a)
            env[v] = a
        variables = self.graph.variables
        if not variables:
            _run_plan(self._plan, env)
        else:
            # a failed call leaves the variables as they were (assign_variable replaces a
            # variable's array, never writes into it: keeping the arrays is the snapshot)
            saved = [v._value for v in variables]
            try:
                _run_plan(self._plan, env)
            except BaseException:
                for v, a in zip(variables, saved, strict=True):
                    v._value = a
                raise
        return self._fresh([env[v] for v in self._outputs], args)

    def _fresh(self, outs, args):
        """Copies of the results the caller must not share (inputs, constants, variables'
        arrays, views, read-only arrays)."""
        static, variables = self._static_ids, self.graph.variables
        for i, r in enumerate(outs):
            if r.base is None and id(r) not in static and r.flags.writeable:
                for a in args:
                    if r is a:
                        break
                else:
                    for var in variables:
                        if r is var._value:
                            break
                    else:
                        continue
            outs[i] = r.copy()
        return outs


class InterpreterBackend:
    """``backend="interpreter"``: runs graphs op by op (the reference for other backends)."""

    name = "interpreter"

    def compile(self, graph):
        return Executable(graph)

    def explain(self, graph, stage):
        if stage in ("traced", "interpreter"):
            return str(graph)
        raise errors.UnimplementedError(
            f"the interpreter backend runs the graph op by op and produces no {stage!r} code; "
            "use backend='cpu' (or 'cuda' for ptx) to see generated code")


def interpret(graph, args):
    """Runs ``graph`` on a list of arrays and returns the list of its outputs.

    >>> interpret(concrete.graph, [np.ones(3, np.float32)])
    """
    return Executable(graph).run(list(args))


BACKEND = backends.register("interpreter", InterpreterBackend())

__all__ = ["Executable", "InterpreterBackend", "interpret", "run_subgraph"]
