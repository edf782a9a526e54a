"""GradientTape: records op applications on watched tensors and replays the ops' gradient
rules in reverse. The rules are jitgraph ops, so the same tape works eagerly, inside a
``jg.function`` trace (gradients become part of the graph) and nested (higher order)."""

import contextlib

import numpy as np

from .. import errors
from ..ops.core import REGISTRY
from ..tensor import Tensor

ACTIVE = False  # True while any tape records: apply() checks this before calling record()
_tapes = []  # recording tapes, innermost last
_ops = []  # the jitgraph.ops module, bound on first use (it imports this one)


def _jops():
    if not _ops:
        from .. import ops

        _ops.append(ops)
    return _ops[0]


def _refresh():
    global ACTIVE
    ACTIVE = any(t._recording for t in _tapes)


class _Entry:
    __slots__ = ("op", "inputs", "outputs", "attrs", "grad_fn")

    def __init__(self, op, inputs, outputs, attrs, grad_fn=None):
        self.op, self.inputs, self.outputs, self.attrs = op, inputs, outputs, attrs
        self.grad_fn = grad_fn


def _key(t):
    """Identity of a tensor on the tape: a symbolic tensor is its IR Value (several Python
    objects may stand for one Value, e.g. a branch's captured outer value), else the object."""
    return ~t._ir.uid if t._symbolic else id(t)


def _differentiable(t):
    return t.dtype.is_floating


def record(op, inputs, outputs, attrs, grad_fn=None):
    if outputs and outputs[0]._symbolic and outputs[0]._ir.op.subgraphs:
        from .control import tape_inputs  # cond/while_loop: also the values they capture

        inputs = tape_inputs(outputs[0]._ir.op, inputs)
    for tape in _tapes:
        if not tape._recording:
            continue
        w = tape._watched
        if any(_key(t) in w for t in inputs):
            tape._entries.append(_Entry(op, inputs, outputs, attrs, grad_fn))
            for o in outputs:
                if _differentiable(o):
                    w[_key(o)] = o


def notify_variable_read(var, tensor):
    for tape in _tapes:
        if not tape._recording:
            continue
        if (tape._watch_accessed and var.trainable) or id(var) in tape._watched_vars:
            tape._watched_vars.setdefault(id(var), var)
            tape._var_reads.setdefault(id(var), []).append(tensor)
            tape._watched[_key(tensor)] = tensor


@contextlib.contextmanager
def pause():
    """No tape records inside this block."""
    saved = [(t, t._recording) for t in _tapes]
    for t in _tapes:
        t._recording = False
    _refresh()
    try:
        yield
    finally:
        for t, r in saved:
            t._recording = r
        _refresh()


class GradientTape:
    """Records operations for automatic differentiation.

    >>> x = jg.constant(3.0)
    >>> with jg.GradientTape() as tape:
    ...     tape.watch(x)
    ...     y = x * x
    >>> tape.gradient(y, x)  # 6.0
    """

    def __init__(self, persistent=False, watch_accessed_variables=True):
        self._persistent = persistent
        self._watch_accessed = watch_accessed_variables
        self._recording = False
        self._entries = []
        self._watched = {}
        self._watched_vars = {}
        self._var_reads = {}
        self._used = False

    def __enter__(self):
        _tapes.append(self)
        self._recording = True
        _refresh()
        return self

    def __exit__(self, *exc):
        self._recording = False
        if self in _tapes:
            _tapes.remove(self)
        _refresh()
        return False

    def watch(self, tensor):
        for t in _flatten(tensor):
            if hasattr(t, "_jg_read"):
                self._watched_vars[id(t)] = t
            elif isinstance(t, Tensor):
                if _differentiable(t):
                    self._watched[_key(t)] = t
            else:
                raise TypeError(f"GradientTape.watch expects tensors or variables, got "
                                f"{type(t).__name__}")

    def watched_variables(self):
        return tuple(self._watched_vars.values())

    @contextlib.contextmanager
    def stop_recording(self):
        was = self._recording
        self._recording = False
        _refresh()
        try:
            yield
        finally:
            self._recording = was
            _refresh()

    def reset(self):
        self._entries.clear()
        self._watched.clear()
        self._watched_vars.clear()
        self._var_reads.clear()

    def gradient(self, target, sources, output_gradients=None,
                 unconnected_gradients="none"):
        """Gradients of ``target`` (a tensor or a structure of tensors, summed) with respect
        to ``sources`` (a tensor, variable, or nested list/tuple/dict of them); the result
        has the structure of ``sources``, with None for sources ``target`` does not depend
        on."""
        ops = _jops()
        if self._used and not self._persistent:
            raise RuntimeError(
                "A non-persistent GradientTape can only be used to compute one set of "
                "gradients; create the tape with jg.GradientTape(persistent=True) to call "
                "gradient() more than once")
        self._used = True
        targets = _flatten(target)
        targets = [ops.core.as_tensor(t, "GradientTape.gradient") for t in targets]
        if output_gradients is None:
            seeds = [None] * len(targets)
        else:
            seeds = _flatten(output_gradients)
            if len(seeds) != len(targets):
                raise ValueError(f"GradientTape.gradient: {len(targets)} targets but "
                                 f"{len(seeds)} output_gradients")
        was = self._recording
        self._recording = False
        _refresh()
        try:
            grads = {}
            for t, s in zip(targets, seeds):
                if not isinstance(t, Tensor) or not _differentiable(t):
                    continue
                g = ops.ones_like(t) if s is None else ops.core.as_tensor(s, "output_gradients",
                                                                         t.dtype)
                _accumulate(grads, t, g)
            self._backprop(grads)
            result = _map_structure(
                lambda s: self._source_grad(s, grads, unconnected_gradients), sources)
            if not self._persistent:  # used up: let go of the recorded tensors
                self._entries, self._watched, self._var_reads = [], {}, {}
            return result
        finally:
            self._recording = was
            _refresh()

    def _backprop(self, grads):
        ops = _jops()
        watched = self._watched
        for e in reversed(self._entries):
            outputs = e.outputs
            if len(outputs) == 1:
                g = grads.get(_key(outputs[0]))
                if g is None:
                    continue
                out_grads = [g]
            else:
                out_grads = [grads.get(_key(o)) for o in outputs]
                if all(g is None for g in out_grads):
                    continue
                out_grads = [ops.zeros_like(o) if g is None and _differentiable(o) else g
                             for o, g in zip(outputs, out_grads)]
            if e.grad_fn is not None:
                in_grads = e.grad_fn(*out_grads)
            elif e.op.extra.get("grad_needs") and not outputs[0]._symbolic:
                # eager: the rule skips the gradients no watched input takes (a traced graph
                # keeps them, as traced; dead-code elimination drops them there)
                needs = tuple(_key(x) in watched and _differentiable(x) for x in e.inputs)
                in_grads = e.op.grad(e.inputs, outputs, out_grads, needs=needs, **e.attrs)
            else:
                in_grads = e.op.grad(e.inputs, outputs, out_grads, **e.attrs)
            if not isinstance(in_grads, (list, tuple)):
                in_grads = [in_grads]
            if len(in_grads) != len(e.inputs):
                raise errors.JitgraphError(
                    f"the gradient of {e.op.name} returned {len(in_grads)} values for "
                    f"{len(e.inputs)} inputs")
            for x, g in zip(e.inputs, in_grads):
                if g is not None and _key(x) in watched and _differentiable(x):
                    g = ops.core.as_tensor(g, e.op.name, x.dtype)
                    _accumulate(grads, x, g)

    def _source_grad(self, s, grads, unconnected):
        ops = _jops()
        if hasattr(s, "_jg_read"):
            reads = self._var_reads.get(id(s), [])
            gs = [grads[_key(t)] for t in reads if _key(t) in grads]
            g = None
            for x in gs:
                g = x if g is None else ops.add(g, x)
            like = s
        else:
            g = grads.get(_key(s))
            like = s
        if g is None and unconnected in ("zero", "UnconnectedGradients.ZERO"):
            if getattr(like, "dtype", None) is not None and like.dtype.is_floating:
                return ops.zeros_like(like)
        return g

    def jacobian(self, target, sources, unconnected_gradients="none"):
        """Jacobian of ``target`` with respect to each source: shape target.shape +
        source.shape (one gradient per target element; needs a persistent tape)."""
        from .. import ops

        if not self._persistent:
            raise RuntimeError("GradientTape.jacobian needs jg.GradientTape(persistent=True)")
        target = ops.core.as_tensor(target, "GradientTape.jacobian")
        shape = target.shape.as_list()
        n = int(np.prod(shape, dtype=np.int64))
        rows = []
        for i in range(n):
            seed = ops.reshape(ops.one_hot(i, n, dtype=target.dtype), shape)
            self._used = False
            rows.append(_flatten(self.gradient(target, sources, output_gradients=seed,
                                               unconnected_gradients=unconnected_gradients)))
        flat = iter(range(len(_flatten(sources))))

        def stack(s):
            k = next(flat)
            col = [r[k] for r in rows]
            if any(g is None for g in col):
                return None
            return ops.reshape(ops.stack(col), shape + list(col[0].shape)) if col else None

        return _map_structure(stack, sources)


def _accumulate(grads, t, g):
    k = _key(t)
    prev = grads.get(k)
    grads[k] = g if prev is None else _jops().add(prev, g)


def _flatten(x):
    if isinstance(x, dict):
        return [y for k in sorted(x, key=str) for y in _flatten(x[k])]
    if isinstance(x, (list, tuple)):
        return [y for v in x for y in _flatten(v)]
    return [x]


def _map_structure(fn, x):
    if isinstance(x, dict):
        return {k: _map_structure(fn, v) for k, v in x.items()}
    if isinstance(x, tuple) and hasattr(x, "_fields"):
        return type(x)(*[_map_structure(fn, v) for v in x])
    if isinstance(x, (list, tuple)):
        return type(x)(_map_structure(fn, v) for v in x)
    return fn(x)


def custom_gradient(f):
    """Decorator: ``f(*args)`` returns ``(y, grad_fn)``; tapes use ``grad_fn(dy)`` (returning
    one gradient per tensor argument) instead of differentiating ``f``'s body."""
    import functools

    from ..ops.core import as_tensor

    @functools.wraps(f)
    def wrapper(*args, **kwargs):
        from ..tensor import Tensor

        targs = [as_tensor(a, f.__name__) if not isinstance(a, Tensor) else a for a in args]
        with pause():
            y, grad_fn = f(*targs, **kwargs)
        if ACTIVE:
            outs = _flatten(y)

            def call_grad(*dys):
                res = grad_fn(*dys)
                res = list(res) if isinstance(res, (list, tuple)) else [res]
                return res

            record(_CUSTOM, targs, outs, {}, grad_fn=call_grad)
        return y

    return wrapper


class _CustomOp:
    name = "custom_gradient"
    grad = None


_CUSTOM = _CustomOp()
REGISTRY  # noqa: B018 - imported for its side effect of loading the op registry
