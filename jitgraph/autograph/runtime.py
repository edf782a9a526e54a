"""Runtime helpers that converted code calls (``ag__.if_stmt``, ``ag__.while_stmt``, ...).

Each helper decides when it runs: a symbolic tensor condition (or iterable) becomes graph
control flow (``cond`` / ``while_loop`` from ``ops/control.py``); anything else, eager tensors
included, runs the plain Python statement. State flows functionally: a generated branch or
loop body takes the variables it may change as parameters and returns their new values.
"""

import sys

import numpy as np

from .. import errors
from ..tensor import Tensor
from ..tracing import is_symbolic


class Undefined:
    """The value of a variable that has not been assigned yet (on this path)."""

    __slots__ = ("name",)

    def __init__(self, name):
        self.name = name

    def _fail(self, *args, **kwargs):
        raise errors.TracingError(errors.at_user_line(
            f"'{self.name}' is used before it is defined on every path; assign it before "
            "the `if`/loop that defines it"))

    __getattr__ = __call__ = __getitem__ = __bool__ = __iter__ = __len__ = _fail
    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = _fail
    __truediv__ = __rtruediv__ = __neg__ = __lt__ = __gt__ = __le__ = __ge__ = _fail
    __array__ = __float__ = __int__ = __index__ = _fail

    def __repr__(self):
        return f"<undefined '{self.name}'>"


class UndefinedReturnValue(Undefined):
    """``retval_`` before a ``return`` ran; in a tensor if/loop it becomes zeros of the type
    the ``return`` gives it (read only where ``do_return`` is true)."""

    __slots__ = ()


def ld(scope, name):
    """``name`` from the ``locals()`` dict ``scope``, or Undefined when it is unbound."""
    return scope.get(name, Undefined(name)) if name in scope else Undefined(name)


def retval(value):
    """The function's result: None when no ``return`` ran."""
    return None if isinstance(value, Undefined) else value


def _caller_loc(depth=2):
    f = sys._getframe(depth)
    return f.f_code.co_filename, f.f_lineno


def _where(loc):
    return errors.format_location(loc)


def _control():
    from ..ops import control

    return control


# ----------------------------------------------------------------------------- values


_PY_SCALARS = (bool, int, float, np.bool_, np.number)


def _tensorizable(v):
    if isinstance(v, (Tensor, np.ndarray) + _PY_SCALARS) or hasattr(type(v), "_jg_components"):
        return True
    if isinstance(v, (tuple, list)) and v:
        return all(_tensorizable(x) for x in v)
    return False


def _to_tensor(v, like=None):
    """A Tensor (or tuple/list of them) for a branch/loop value; Python scalars take the
    dtype of ``like`` (the value's type elsewhere) so ``y = 0`` matches a float32 ``y``."""
    from .. import convert_to_tensor

    if isinstance(v, Tensor) or hasattr(type(v), "_jg_components"):  # a TensorArray carries its own
        return v
    if isinstance(v, (tuple, list)):
        likes = like if isinstance(like, (tuple, list)) and len(like) == len(v) else [None] * len(v)
        return type(v)(_to_tensor(x, lk) for x, lk in zip(v, likes, strict=True))
    dtype = like.dtype if isinstance(like, Tensor) else None
    return convert_to_tensor(v, dtype=dtype)


def _type_str(v):
    if isinstance(v, Tensor):
        return f"{v.dtype.name}{list(v.shape)}"
    return type(v).__name__


def _same_static(a, b):
    if a is b:
        return True
    if isinstance(a, _PY_SCALARS) and type(a) is type(b):
        return bool(a == b)
    return False


def _truth(pred):
    """A bool scalar tensor for a symbolic condition (``if t`` means ``t != 0``)."""
    from .. import not_equal

    if pred.dtype.is_bool and pred.ndim == 0:
        return pred
    if pred.ndim != 0:
        raise errors.TracingError(errors.at_user_line(
            f"the condition is a tensor of shape {list(pred.shape)}, not a scalar; reduce it "
            "with jg.reduce_any / jg.reduce_all"))
    return not_equal(pred, 0)


# ----------------------------------------------------------------------------- if


def if_stmt(cond, true_fn, false_fn, state, names):
    """``if cond:`` with ``true_fn(*state)``/``false_fn(*state)`` returning the new state.

    >>> y, = if_stmt(x > 0, lambda y: (1,), lambda y: (2,), (None,), ("y",))  # doctest: +SKIP
    """
    if not is_symbolic(cond):
        return true_fn(*state) if cond else false_fn(*state)
    return _tensor_if(cond, true_fn, false_fn, state, names, _caller_loc())


def _tensor_if(cond, true_fn, false_fn, state, names, loc):
    state = _init_returns(state, [true_fn, false_fn])
    raw = {}

    def branch(key, fn):
        def run():
            out = tuple(fn(*state))
            raw[key] = out
            other = raw.get(not key)
            flat = []
            for i, v in enumerate(out):
                if other is not None:  # both branches traced: report one-sided names now
                    pair = (v, other[i]) if key else (other[i], v)
                    _merge_branch(names[i], *pair, None, loc)
                like = other[i] if other is not None else state[i]
                flat.append(_to_tensor(v, like) if _tensorizable(v) else _dummy())
            return tuple(flat)

        return run

    outs = _control().cond(_truth(cond), branch(True, true_fn), branch(False, false_fn))
    outs = tuple(outs) if isinstance(outs, (tuple, list)) else (outs,)
    result = []
    for i, name in enumerate(names):
        a, b = raw[True][i], raw[False][i]
        result.append(_merge_branch(name, a, b, outs[i] if i < len(outs) else None, loc))
    return tuple(result)


def _dummy():
    from .. import constant

    return constant(False)


def _merge_branch(name, a, b, out, loc):
    ua, ub = isinstance(a, Undefined), isinstance(b, Undefined)
    if ua and ub:
        return a
    if ua or ub:
        side = "false" if ua else "true"
        raise errors.TracingError(
            f"'{name}' is defined only in the {side} branch of the `if` at {_where(loc)}; "
            f"define it before the if (or in both branches)")
    if _same_static(a, b):
        return a
    if _tensorizable(a) and _tensorizable(b):
        return out
    raise errors.TracingError(
        f"'{name}' is a Python {type(a).__name__} in one branch and {_type_str(b)} in the "
        f"other of the tensor `if` at {_where(loc)}; only tensors (and numbers) can depend on "
        "a tensor condition")


def if_exp(cond, true_fn, false_fn):
    """``a if cond else b`` with lazily evaluated branches."""
    if not is_symbolic(cond):
        return true_fn() if cond else false_fn()
    (v,) = _tensor_if(cond, lambda _: (true_fn(),), lambda _: (false_fn(),), (None,), ("<expr>",),
                      _caller_loc())
    return v


# ----------------------------------------------------------------------------- and/or/not


def and_(*fns):
    """``a and b and ...`` with each operand a thunk: short-circuits on tensors too."""
    v = fns[0]()
    for i, fn in enumerate(fns[1:], 1):
        if is_symbolic(v):
            rest = fns[i:]
            return if_exp(v, lambda rest=rest: and_(*rest), lambda v=v: v)
        if not v:
            return v
        v = fn()
    return v


def or_(*fns):
    """``a or b or ...`` with each operand a thunk: short-circuits on tensors too."""
    v = fns[0]()
    for i, fn in enumerate(fns[1:], 1):
        if is_symbolic(v):
            rest = fns[i:]
            return if_exp(v, lambda v=v: v, lambda rest=rest: or_(*rest))
        if v:
            return v
        v = fn()
    return v


def not_(v):
    """``not v``: ``logical_not`` on a symbolic tensor, Python ``not`` otherwise."""
    if is_symbolic(v):
        from .. import logical_not

        return logical_not(_truth(v))
    return not v


# ----------------------------------------------------------------------------- while


def while_stmt(test, body, state, names):
    """``while test(*state): state = body(*state)``; becomes a ``while_loop`` as soon as the
    test is a symbolic tensor (also after some Python iterations).

    >>> i, = while_stmt(lambda i: i < 3, lambda i: (i + 1,), (0,), ("i",))  # doctest: +SKIP
    """
    state = tuple(state)
    while True:
        c = _probe(test, state)
        if is_symbolic(c):
            return _tensor_while(test, body, state, names, _caller_loc())
        if not c:
            return state
        state = tuple(body(*state))


def _init_returns(state, fns):
    """Gives ``retval_`` entries that are still undefined zeros of the type the first of
    ``fns`` that assigns them gives them (found by a trial trace)."""
    from .. import zeros

    state = list(state)
    todo = [i for i, v in enumerate(state) if isinstance(v, UndefinedReturnValue)]
    for fn in fns:
        if not todo:
            break
        trial = _trial(fn, state)
        for i in list(todo):
            t = trial[i]
            if isinstance(t, Tensor) and t.shape.is_fully_defined():
                state[i] = zeros(tuple(t.shape), dtype=t.dtype)
                todo.remove(i)
            elif _tensorizable(t):
                state[i] = _to_tensor(t) * 0
                todo.remove(i)
    return tuple(state)


def _probe(test, state):
    """``test(*state)``; while tracing it runs in a throwaway graph, so a tensor test (which
    the ``while_loop`` traces again) leaves no dead ops behind. A Python result is the same
    either way: inside a trace every tensor op gives a symbolic tensor."""
    from .. import tracing

    if tracing.current_graph() is None:
        return test(*state)
    with tracing.graph_scope(tracing.new_subgraph("autograph_probe")):
        return test(*state)


def _split_state(state, names, body, loc):
    """Which state entries become loop-carried tensors. A variable first assigned in the
    body and needed after the loop is an error (unless it is the return value)."""
    state = list(_init_returns(state, [body]))
    undef = [i for i, v in enumerate(state) if isinstance(v, Undefined)]
    if undef:
        trial = _trial(body, state)
        for i in undef:
            if not isinstance(trial[i], Undefined):
                raise errors.TracingError(
                    f"'{names[i]}' is defined inside the loop at {_where(loc)} but not before "
                    f"it, and is used after it (it is {_type_str(trial[i])} in the loop); "
                    "define it before the loop")
    carried = [i for i, v in enumerate(state) if _tensorizable(v)]
    for i in carried:
        state[i] = _to_tensor(state[i])
    return state, carried


def _trial(body, state):
    """The state ``body`` returns, traced into a throwaway graph (to learn types)."""
    from .. import tracing

    g = tracing.new_subgraph("autograph_trial")
    with tracing.graph_scope(g):
        args = [tracing.placeholder(g, f"v{i}", v.dtype, v.shape) if isinstance(v, Tensor)
                else v for i, v in enumerate(
                    _to_tensor(v) if _tensorizable(v) else v for v in state)]
        return list(body(*args))


def _tensor_while(test, body, state, names, loc, maximum_iterations=None):
    state, carried = _split_state(state, names, body, loc)

    def full(vals):
        s = list(state)
        for i, v in zip(carried, vals, strict=True):
            s[i] = v
        return s

    def cond_fn(*vals):
        c = test(*full(vals))
        return _truth(c) if isinstance(c, Tensor) else _to_tensor(bool(c))

    def body_fn(*vals):
        new = list(body(*full(vals)))
        out = []
        for i, v in enumerate(new):
            if i in carried:
                out.append(_check_carried(names[i], state[i], v, loc))
            elif not _same_static(state[i], v) and not isinstance(state[i], Undefined):
                raise errors.TracingError(
                    f"'{names[i]}' is a Python {type(state[i]).__name__} changed inside the "
                    f"tensor loop at {_where(loc)}; only tensors can change in a loop whose "
                    "condition is a tensor")
        return tuple(out)

    init = [state[i] for i in carried]
    outs = _control().while_loop(cond_fn, body_fn, init, maximum_iterations=maximum_iterations)
    outs = list(outs) if isinstance(outs, (tuple, list)) else [outs]
    return tuple(full(outs))


def _check_carried(name, before, v, loc):
    if isinstance(v, Undefined) or not _tensorizable(v):
        raise errors.TracingError(
            f"'{name}' is {_type_str(before)} before the loop at {_where(loc)} but "
            f"{_type_str(v)} after one iteration; a loop variable must stay a tensor")
    if hasattr(type(before), "_jg_components"):
        return _check_composite(name, before, v, loc)
    v = _to_tensor(v, before)
    if v.dtype != before.dtype or not _shape_ok(before.shape, v.shape):
        raise errors.TracingError(
            f"'{name}' is {_type_str(before)} before the loop at {_where(loc)} but "
            f"{_type_str(v)} after one iteration; cast it (or give it its final shape) "
            "before the loop")
    return v


def _check_composite(name, before, v, loc):
    if not before._jg_same_kind(v):
        raise errors.TracingError(
            f"'{name}' is {before!r} before the loop at {_where(loc)} but {v!r} after one "
            "iteration; assign it the result of its own write/scatter/unstack")
    return v


def _shape_ok(a, b):
    return len(a) == len(b) and all(x is None or x == y for x, y in zip(a, b, strict=False))


# ----------------------------------------------------------------------------- for


def for_stmt(iterable, extra_test, body, state, names):
    """``for x in iterable: state = body(x, *state)`` while ``extra_test(*state)`` holds.
    Python iterables (eager tensors, ``range`` of ints) run in Python; a symbolic tensor or
    ``jg.range`` with symbolic bounds becomes a ``while_loop``.

    >>> s, = for_stmt(range(3), None, lambda i, s: (s + i,), (0,), ("s",))  # doctest: +SKIP
    """
    state = tuple(state)
    if is_symbolic(iterable):
        return _tensor_for(iterable, extra_test, body, state, names, _caller_loc())
    for item in iterable:
        if extra_test is not None:
            t = extra_test(*state)
            if is_symbolic(t):
                state = if_stmt(t, lambda *s, item=item: body(item, *s), lambda *s: s, state,
                                names)
                continue
            if not t:
                break
        state = tuple(body(item, *state))
    return state


def _counter(iterable):
    """(start, limit, delta, item_fn) of a tensor loop over ``iterable``."""
    from .. import gather, shape
    from ..tracing import SymbolicTensor

    op = iterable._ir.op
    if op.type == "range" and len(op.inputs) == 3:
        start, limit, delta = (SymbolicTensor(v) for v in op.inputs)
        return start, limit, delta, lambda i: i
    if iterable.ndim == 0:
        raise errors.TracingError(errors.at_user_line("iterating over a scalar tensor"))
    n = iterable.shape[0]
    limit = n if n is not None else shape(iterable)[0]
    return 0, limit, 1, lambda i: gather(iterable, i)


def _tensor_for(iterable, extra_test, body, state, names, loc):
    from .. import convert_to_tensor, greater, less, logical_and, logical_or

    start, limit, delta, item_fn = _counter(iterable)
    start = convert_to_tensor(start)

    def test(i, *s):
        if isinstance(delta, Tensor):
            zero = 0
            more = logical_or(logical_and(greater(delta, zero), less(i, limit)),
                              logical_and(less(delta, zero), greater(i, limit)))
        else:
            more = less(i, limit)
        if extra_test is None:
            return more
        e = extra_test(*s)
        if is_symbolic(e):
            return logical_and(more, _truth(e))
        return more if e else _to_tensor(False)

    def loop_body(i, *s):
        return (i + delta,) + tuple(body(item_fn(i), *s))

    out = _tensor_while(test, loop_body, (start,) + state, ("<loop counter>",) + tuple(names),
                        loc)
    return out[1:]


# ----------------------------------------------------------------------------- calls


def _range(*args):
    if any(is_symbolic(a) for a in args):
        from .. import range as jg_range

        return jg_range(*args)
    return range(*(int(a) if isinstance(a, Tensor) else a for a in args))


def _len(x):
    if is_symbolic(x) and x.ndim and x.shape[0] is None:
        from .. import shape

        return shape(x)[0]
    return len(x)


_BUILTINS = {range: _range, len: _len}


def call(f, *args, **kwargs):
    """Calls ``f``, converting it first when it is user code (not jitgraph or a library);
    ``range``/``len`` of symbolic tensors give tensors."""
    from . import convert

    sub = _BUILTINS.get(f) if isinstance(f, type(len)) or f is range else None
    if sub is not None:
        return sub(*args, **kwargs)
    return convert(f)(*args, **kwargs)
