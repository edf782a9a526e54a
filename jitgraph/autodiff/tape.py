"""GradientTape: records op applications on watched tensors and replays the ops' gradient
rules in reverse. The rules are jitgraph ops, so the same tape works eagerly, inside a
``jg.function`` trace (gradients become part of the graph) and nested (higher order)."""

import contextlib
import enum
import inspect

import numpy as np

from .. import errors
from .. import tracing as _tracing
from ..ops.core import REGISTRY
from ..tensor import Tensor


class UnconnectedGradients(enum.Enum):
    """What ``GradientTape.gradient`` returns for a source the target does not depend on:
    ``NONE`` (the default) or ``ZERO`` (zeros shaped like the source)."""

    NONE = "none"
    ZERO = "zero"


def _unconnected_mode(value):
    v = value.value if isinstance(value, UnconnectedGradients) else str(value).lower()
    if v not in ("none", "zero"):
        raise ValueError(f"unconnected_gradients must be 'none', 'zero' or a "
                         f"jg.UnconnectedGradients member, got {value!r}")
    return v


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


_read_observers = []  # sets collecting the variables read inside a custom_gradient function


def notify_variable_read(var, tensor):
    for seen in _read_observers:
        seen.setdefault(id(var), var)
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
        self._var_seeds = {}

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
        unconnected_gradients = _unconnected_mode(unconnected_gradients)
        targets = _flatten(target)
        var_targets = [t for t in targets if hasattr(t, "_jg_read")]
        with pause():  # reading a target variable here is not part of the computation
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
            self._var_seeds = {}
            for t, s, v in zip(targets, seeds, _flatten(target)):
                if not isinstance(t, Tensor) or not _differentiable(t):
                    continue
                g = ops.ones_like(t) if s is None else ops.core.as_tensor(s, "output_gradients",
                                                                         t.dtype)
                if any(v is w for w in var_targets):  # d v / d v: the seed goes to v itself
                    prev = self._var_seeds.get(id(v))
                    self._var_seeds[id(v)] = g if prev is None else ops.add(prev, g)
                    continue
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
            if id(s) in self._var_seeds:
                gs.append(self._var_seeds[id(s)])
            g = None
            for x in gs:
                g = x if g is None else ops.add(g, x)
            like = s
        else:
            g = grads.get(_key(s))
            like = s
        if g is None and unconnected == "zero":
            if getattr(like, "dtype", None) is not None and like.dtype.is_floating:
                return ops.zeros_like(like)
        return g

    def jacobian(self, target, sources, unconnected_gradients="none", parallel_iterations=None,
                 experimental_use_pfor=True):
        """Jacobian of ``target`` with respect to each source: shape target.shape +
        source.shape, one gradient per target element. Like ``gradient``, a non-persistent
        tape allows one call. ``parallel_iterations`` and ``experimental_use_pfor`` are
        accepted for compatibility; the rows are computed one by one.

        >>> with jg.GradientTape() as t:
        ...     t.watch(x)
        ...     y = x * x
        >>> t.jacobian(y, x)  # diag(2 x)
        """
        from .. import ops

        target = self._check_once("jacobian", target)
        shape = _static_shape(target, "jacobian", "target")
        n = int(np.prod(shape, dtype=np.int64))
        seeds = [ops.reshape(ops.one_hot(i, n, dtype=target.dtype), shape) for i in range(n)]
        rows = self._rows(target, sources, seeds, unconnected_gradients)
        return self._stack_rows(rows, sources, lambda g: shape + list(g.shape), shape)

    def batch_jacobian(self, target, source, unconnected_gradients="none",
                       parallel_iterations=None, experimental_use_pfor=True):
        """Per-example Jacobian: for ``target`` [b, y...] and ``source`` [b, x...], the
        result is [b, y..., x...] with ``result[i]`` the Jacobian of ``target[i]`` with
        respect to ``source[i]``; example i of the target must depend only on example i of
        the source (as in a batch of independent inputs)."""
        from .. import ops

        target = self._check_once("batch_jacobian", target)
        shape = _static_shape(target, "batch_jacobian", "target")
        if len(shape) < 1:
            raise errors.InvalidArgumentError(
                "GradientTape.batch_jacobian: the target needs a batch dimension (rank >= 1), "
                "got a scalar; use jacobian for scalars")
        src_shape = _static_shape(ops.core.as_tensor(source, "batch_jacobian"),
                                  "batch_jacobian", "source") if not hasattr(
                                      source, "_jg_read") else source.shape.as_list()
        if not src_shape or src_shape[0] != shape[0]:
            raise errors.InvalidArgumentError(
                f"GradientTape.batch_jacobian: target and source need the same batch size "
                f"(first dimension), got target {shape} and source {src_shape}")
        inner = shape[1:]
        n = int(np.prod(inner, dtype=np.int64))
        seeds = [ops.broadcast_to(ops.reshape(ops.one_hot(i, n, dtype=target.dtype), inner),
                                  shape) for i in range(n)]
        rows = self._rows(target, [source], seeds, unconnected_gradients)
        res = self._stack_rows(rows, [source], lambda g: inner + list(g.shape), inner)[0]
        if res is None:
            return None
        # rows stack as [y..., b, x...]: move the batch axis to the front
        k = len(inner)
        perm = [k] + list(range(k)) + list(range(k + 1, len(res.shape)))
        return ops.transpose(res, perm)

    def _check_once(self, what, target):
        if self._used and not self._persistent:
            raise RuntimeError(
                f"A non-persistent GradientTape can only be used to compute one set of "
                f"gradients; create the tape with jg.GradientTape(persistent=True) to call "
                f"{what}() after another gradient computation")
        with pause():
            return _jops().core.as_tensor(target, f"GradientTape.{what}")

    def _rows(self, target, sources, seeds, unconnected_gradients):
        rows = []
        for seed in seeds:
            self._used = False
            keep, self._persistent = self._persistent, True
            try:
                rows.append(_flatten(self.gradient(
                    target, sources, output_gradients=seed,
                    unconnected_gradients=unconnected_gradients)))
            finally:
                self._persistent = keep
        self._used = True
        if not self._persistent:
            self._entries, self._watched, self._var_reads = [], {}, {}
        return rows

    def _stack_rows(self, rows, sources, out_shape, lead):
        ops = _jops()
        flat = iter(range(len(_flatten(sources))))

        def stack(s):
            k = next(flat)
            col = [r[k] for r in rows]
            if not col:  # an empty target: an empty Jacobian
                like = ops.core.as_tensor(s, "jacobian")
                return ops.zeros(lead + like.shape.as_list(), like.dtype)
            if any(g is None for g in col):
                return None
            return ops.reshape(ops.stack(col), out_shape(col[0]))

        return _map_structure(stack, sources)


def _static_shape(t, what, arg):
    shape = t.shape.as_list()
    if any(d is None for d in shape):
        raise errors.InvalidArgumentError(
            f"GradientTape.{what}: the {arg} has shape {t.shape} with dimensions unknown "
            f"when tracing; give the jg.function an input_signature with static shapes")
    return shape


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
    one gradient per tensor argument) instead of differentiating ``f``'s body. When ``f``
    reads variables, ``grad_fn(dy, variables=None)`` gets them and returns
    ``(input_grads, variable_grads)``, as in TensorFlow.

    >>> @jg.custom_gradient
    ... def clip_gradients(y):
    ...     return y, lambda dy: jg.clip_by_norm(dy, 0.5)
    """
    import functools

    from ..ops.core import as_tensor

    @functools.wraps(f)
    def wrapper(*args, **kwargs):
        from ..tensor import Tensor

        targs = [as_tensor(a, f.__name__) if not isinstance(a, Tensor) else a for a in args]
        g = _tracing.current_graph()
        if g is not None:  # saved_model.save warns: the rule lives in Python, not the graph
            root = g.root
            root.custom_gradients = getattr(root, "custom_gradients", set()) | {f.__name__}
        seen = {}
        _read_observers.append(seen)
        try:
            with pause():
                y, grad_fn = f(*targs, **kwargs)
        finally:
            _read_observers.remove(seen)
        if ACTIVE:
            takes_vars = "variables" in inspect.signature(grad_fn).parameters
            variables = list(seen.values()) if takes_vars else []
            if variables:
                reads = [v._jg_read() for v in variables]  # the tape sees these reads
            else:
                reads = []
            arg_keys = {_key(a) for a in targs}
            with pause():  # an output that is an input needs its own identity on the tape
                y = _map_structure(
                    lambda o: _jops().identity(o) if isinstance(o, Tensor)
                    and _key(o) in arg_keys else o, y)
            outs = _flatten(y)

            def call_grad(*dys):
                if takes_vars:
                    res, var_grads = grad_fn(*dys, variables=variables)
                    var_grads = list(var_grads)
                    if len(var_grads) != len(variables):
                        raise ValueError(
                            f"custom_gradient {f.__name__}: grad_fn returned "
                            f"{len(var_grads)} variable gradients for {len(variables)} "
                            f"variables read in the function")
                else:
                    res, var_grads = grad_fn(*dys), []
                res = list(res) if isinstance(res, (list, tuple)) else [res]
                return res + var_grads

            record(_CUSTOM, targs + reads, outs, {}, grad_fn=call_grad)
        return y

    return wrapper


class _CustomOp:
    name = "custom_gradient"
    grad = None


_CUSTOM = _CustomOp()
REGISTRY  # noqa: B018 - imported for its side effect of loading the op registry
