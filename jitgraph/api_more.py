"""TensorFlow's top-level helpers that are not array ops: ``case``, ``group``, ``no_op``,
``tuple``, ``gradients``, ``hessians``, ``recompute_grad``, ``grad_pass_through``,
``no_gradient``, ``inside_function``, ``get_logger`` and the initializer classes
``constant_initializer``, ``zeros_initializer``, ``ones_initializer``,
``random_normal_initializer`` and ``random_uniform_initializer``; ``eig``, ``eigvals`` and
``matrix_square_root`` are jg.linalg's.

jitgraph has no graph collections or control-dependency edges to manage: a jg.function
keeps every stateful op (assignments, prints, asserts) in program order, so ``group`` and
``no_op`` return None and ``tuple`` returns identities.

``gradients``/``hessians`` are TensorFlow's graph-mode functions: inside a jg.function they
differentiate the graph traced so far, from ``ys`` back to ``xs`` (tensors of that graph),
with the ops' gradient rules (the ones GradientTape uses; a ``custom_gradient``'s own rule is
not seen there, its forward ops are differentiated). Eagerly they raise, as TensorFlow's
do: use a GradientTape.

>>> @jg.function
... def h(x):
...     return jg.hessians(jg.reduce_sum(x ** 3), x)[0]   # diag(6 x)
"""

import builtins
import logging

import numpy as np

from . import dtypes as _dt
from . import errors, tracing
from .ops import REGISTRY
from .ops import control as _control
from .ops.core import as_tensor
from .ops.linalg_more import eig, eigvals  # noqa: F401 - TensorFlow's top level has them too
from .ops.linalg_more import sqrtm as matrix_square_root  # noqa: F401
from .tensor import Tensor

# ----------------------------------------------------------------------------- control


def case(pred_fn_pairs, default=None, exclusive=False, strict=False, name="case"):
    """The result of the callable paired with the first true predicate in
    ``pred_fn_pairs`` (a list of ``(pred, fn)``), else of ``default``. Without a default
    the last callable runs when no predicate is true, after an assertion that fails
    (``InvalidArgumentError``) if its predicate is false too, as TensorFlow. With
    ``exclusive`` more than one true predicate is an error.

    >>> jg.case([(x < 0, lambda: -x), (x > 10, lambda: x - 10)], default=lambda: x)
    """
    if isinstance(pred_fn_pairs, dict):
        pred_fn_pairs = list(pred_fn_pairs.items())
    pairs = list(pred_fn_pairs)
    if not pairs:
        if default is None:
            raise TypeError("case: needs at least one (pred, fn) pair or a default")
        return default()
    for i, p in enumerate(pairs):
        if not (isinstance(p, (builtins.tuple, list)) and len(p) == 2 and callable(p[1])):
            raise TypeError(f"case: pred_fn_pairs[{i}] must be a (predicate, callable) pair, "
                            f"got {p!r}")
    preds = [as_tensor(p, "case", _dt.bool_) for p, _ in pairs]
    for i, p in enumerate(preds):
        if not p.dtype.is_bool or p.ndim != 0:
            raise errors.InvalidArgumentError(errors.at_user_line(
                f"case: predicate {i} must be a scalar bool, got {p.dtype.name}"
                f"{list(p.shape)}"))
    fns = [f for _, f in pairs]
    symbolic = any(p._symbolic for p in preds)
    if exclusive:
        _check(_sum_true(preds) <= 1 if symbolic else
               sum(bool(p.numpy()) for p in preds) <= 1,
               "case: more than one predicate is true, but exclusive=True")
    if not symbolic:
        for p, f in zip(preds, fns):
            if bool(p.numpy()):
                return f()
        if default is None:
            _check(False, "case: none of the predicates is true, and there is no default")
        return default()
    if default is None:
        last_pred, last_fn = preds[-1], fns[-1]
        preds, fns = preds[:-1], fns[:-1]

        def default():
            _check(last_pred, "case: none of the predicates is true, and there is no "
                              "default (when the function ran)")
            return last_fn()

    def pick(k):
        if k == len(fns):
            return default()
        return _control.cond(preds[k], fns[k], lambda: pick(k + 1))

    return pick(0)


def _sum_true(preds):
    from .ops import add_n, cast

    return add_n([cast(p, _dt.int32) for p in preds])


def _check(ok, message):
    """Raises now (a Python bool or an eager tensor), or records an assert op."""
    if isinstance(ok, Tensor) and ok._symbolic:
        from .ops.core import apply

        apply("assert", ok, message=errors.at_user_line(message))
        return
    if not bool(ok.numpy() if isinstance(ok, Tensor) else ok):
        raise errors.InvalidArgumentError(errors.at_user_line(message))


def group(*inputs, name=None):
    """TensorFlow groups ops under one control dependency; a jg.function already runs
    every stateful op it traced, in program order, so there is nothing to group: returns
    None."""
    return None


def no_op(name=None):
    """Does nothing; returns None (see ``group``)."""
    return None


def tuple(tensors, name=None, control_inputs=None):  # noqa: A001 - TensorFlow's name
    """The tensors as a list of identities (None entries stay None); TensorFlow adds
    control dependencies between them, which jitgraph does not need (see ``group``)."""
    from .ops import identity

    return [None if t is None else identity(as_tensor(t, "tuple")) for t in tensors]


def inside_function():
    """True while a jg.function is being traced."""
    return tracing.in_graph_mode()


def get_logger():
    """The ``logging.Logger`` jitgraph writes its warnings to (named "jitgraph")."""
    return logging.getLogger("jitgraph")


# ----------------------------------------------------------------------------- gradients


def _as_list(x):
    return list(x) if isinstance(x, (list, builtins.tuple)) else [x]


def gradients(ys, xs, grad_ys=None, name="gradients", gate_gradients=False,
              aggregation_method=None, stop_gradients=None, unconnected_gradients="none"):
    """``d(sum(ys)) / d(x)`` for each of ``xs`` (None where ``ys`` does not depend on it),
    inside a jg.function: the graph traced so far is differentiated from ``ys`` back to
    ``xs``. Eagerly it raises (use jg.GradientTape), as TensorFlow's."""
    from .autodiff import tape as _tape

    graph = tracing.current_graph()
    if graph is None:
        raise RuntimeError(
            "jg.gradients (and jg.hessians) work inside a jg.function only, as TensorFlow's "
            "tf.gradients; eagerly use jg.GradientTape: with jg.GradientTape() as t: "
            "t.watch(x); y = f(x)  then  t.gradient(y, x)")
    ys, xs = _as_list(ys), _as_list(xs)
    if stop_gradients:
        raise errors.UnimplementedError(errors.at_user_line(
            "gradients: stop_gradients is not supported; apply jg.stop_gradient to those "
            "tensors before computing ys"))
    for i, x in enumerate(xs):
        if not isinstance(x, Tensor) or not x._symbolic:
            raise errors.InvalidArgumentError(errors.at_user_line(
                f"gradients: xs[{i}] must be a tensor of the function being traced (a "
                f"Variable's value: read it with v.value() and use that tensor in ys), got "
                f"{type(x).__name__}"))
    tape = _tape.GradientTape(persistent=True)
    tape._recording = False
    watched = tape._watched
    for x in xs:
        if x.dtype.is_floating:
            watched[_tape._key(x)] = x
    for op in graph.get_operations():
        od = REGISTRY.get(op.type)
        if od is None or od.grad is None:
            continue
        ins = [tracing.SymbolicTensor(v) for v in op.inputs]
        outs = [tracing.SymbolicTensor(v) for v in op.outputs]
        if op.subgraphs:
            from .autodiff.control import tape_inputs

            ins = tape_inputs(op, ins)
        if any(_tape._key(t) in watched for t in ins):
            tape._entries.append(_tape._Entry(od, ins, outs, dict(op.attrs)))
            for o in outs:
                if o.dtype.is_floating:
                    watched[_tape._key(o)] = o
    return tape.gradient(ys if len(ys) > 1 else ys[0], xs,
                         output_gradients=grad_ys if grad_ys is None or len(ys) > 1
                         else _as_list(grad_ys)[0],
                         unconnected_gradients=unconnected_gradients)


def hessians(ys, xs, gate_gradients=False, aggregation_method=None, name="hessians"):
    """For each of ``xs``, the matrix of second derivatives of ``sum(ys)``, shaped
    ``x.shape + x.shape`` (inside a jg.function; see ``gradients``)."""
    from .ops import reshape, stack, zeros_like

    xs = _as_list(xs)
    out = []
    for x in xs:
        (g,) = gradients(ys, [x])
        n = int(np.prod(x.shape.as_list()))
        if g is None:
            out.append(None)
            continue
        flat = reshape(g, [-1])
        rows = []
        for i in range(n):
            (h,) = gradients(flat[i], [x])
            rows.append(zeros_like(x) if h is None else h)
        out.append(reshape(stack(rows), x.shape.as_list() + x.shape.as_list()))
    return out


def recompute_grad(f):
    """``f`` unchanged: TensorFlow recomputes ``f``'s forward pass during the backward pass
    to save memory; jitgraph keeps the values it needs (the results and gradients are the
    same)."""
    import functools

    @functools.wraps(f)
    def wrapper(*args, **kwargs):
        return f(*args, **kwargs)

    return wrapper


def grad_pass_through(f):
    """A function computing ``f(x)`` whose gradient with respect to ``x`` is the identity
    (``f`` is skipped by backpropagation), e.g. to train through a quantizer or an
    assignment.

    >>> y = jg.grad_pass_through(jg.round)(x)   # dy/dx = 1
    """
    import functools

    from .autodiff import custom_gradient

    @functools.wraps(f)
    def wrapper(*args, **kwargs):
        @custom_gradient
        def passed(*xs):
            return f(*xs, **kwargs), lambda *dy: dy[0] if len(xs) == 1 else \
                [dy[0]] * len(xs)

        return passed(*args)

    return wrapper


def no_gradient(op_type):
    """Declares the op ``op_type`` (a jitgraph op name, see ``jg.ops.REGISTRY``) not
    differentiable: gradients through it are None from now on."""
    if not isinstance(op_type, str):
        raise TypeError(f"no_gradient: op_type must be the op's name (a string), got "
                        f"{op_type!r}")
    od = REGISTRY.get(op_type)
    if od is None:
        raise LookupError(f"no_gradient: jitgraph has no op named {op_type!r}; the names are "
                          f"the keys of jg.ops.REGISTRY (e.g. 'round', 'floor')")
    od.grad = lambda inputs, outputs, grads, **attrs: [None] * len(inputs)


# ----------------------------------------------------------------------------- initializers


class _Initializer:
    """TensorFlow 2's initializer protocol: ``init(shape, dtype=jg.float32)`` returns a
    tensor; ``get_config()`` / ``from_config(config)``."""

    def get_config(self):
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def _dtype(self, dtype, floating=True):
        dt = _dt.as_dtype(dtype or _dt.float32)
        if floating and not dt.is_floating:
            raise errors.InvalidArgumentError(
                f"{type(self).__name__}: expected a floating dtype, got {dt.name}")
        return dt


def _shape_list(shape):
    return shape.as_list() if hasattr(shape, "as_list") else list(shape) if isinstance(
        shape, (list, builtins.tuple)) else [int(s) for s in np.asarray(shape).reshape(-1)]


class constant_initializer(_Initializer):  # noqa: N801 - TensorFlow's name
    """Fills with ``value``: a scalar, or a value with as many elements as the shape
    (reshaped to it)."""

    def __init__(self, value=0, support_partition=False):
        self.value = value

    def __call__(self, shape, dtype=None, **kwargs):
        from .ops import fill, reshape

        dims = _shape_list(shape)
        dt = _dt.as_dtype(dtype) if dtype is not None else None
        v = np.asarray(self.value.numpy() if hasattr(self.value, "numpy") else self.value)
        dt = dt or {"i": _dt.int32, "u": _dt.int32, "b": _dt.bool_}.get(v.dtype.kind,
                                                                         _dt.float32)
        if v.ndim == 0:
            return fill(dims, as_tensor(v.astype(dt.np), "constant_initializer"))
        if v.size != int(np.prod(dims)):
            raise TypeError(f"constant_initializer: value has {v.size} elements, the shape "
                            f"{dims} needs {int(np.prod(dims))}")
        return reshape(as_tensor(v.astype(dt.np), "constant_initializer"), dims)

    def get_config(self):
        v = self.value
        return {"value": v.tolist() if isinstance(v, np.ndarray) else v}


class zeros_initializer(_Initializer):  # noqa: N801
    """Fills with zeros."""

    def __call__(self, shape, dtype=_dt.float32, **kwargs):
        from .ops import zeros

        return zeros(_shape_list(shape), dtype=self._dtype(dtype, floating=False))


class ones_initializer(_Initializer):  # noqa: N801
    """Fills with ones."""

    def __call__(self, shape, dtype=_dt.float32, **kwargs):
        from .ops import ones

        return ones(_shape_list(shape), dtype=self._dtype(dtype, floating=False))


class _Seeded(_Initializer):
    """With a ``seed`` every call gives the same values (stateless draws, as TensorFlow's
    seeded initializers); without one, fresh values from ``jg.random``."""

    def _draw(self, kind, shape, dtype, a, b):
        from .ops import random as _random

        dims = _shape_list(shape)
        dt = self._dtype(dtype)
        if self.seed is not None:
            seed = [int(self.seed), 0]
            if kind == "normal":
                return _random.stateless_normal(dims, seed, mean=a, stddev=b, dtype=dt)
            return _random.stateless_uniform(dims, seed, minval=a, maxval=b, dtype=dt)
        if kind == "normal":
            return _random.normal(dims, mean=a, stddev=b, dtype=dt)
        return _random.uniform(dims, minval=a, maxval=b, dtype=dt)


class random_normal_initializer(_Seeded):  # noqa: N801
    """Normal values with ``mean`` and ``stddev``."""

    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        self.mean, self.stddev, self.seed = mean, stddev, seed

    def __call__(self, shape, dtype=_dt.float32, **kwargs):
        return self._draw("normal", shape, dtype, self.mean, self.stddev)

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev, "seed": self.seed}


class random_uniform_initializer(_Seeded):  # noqa: N801
    """Uniform values in [minval, maxval)."""

    def __init__(self, minval=-0.05, maxval=0.05, seed=None):
        self.minval, self.maxval, self.seed = minval, maxval, seed

    def __call__(self, shape, dtype=_dt.float32, **kwargs):
        return self._draw("uniform", shape, dtype, self.minval, self.maxval)

    def get_config(self):
        return {"minval": self.minval, "maxval": self.maxval, "seed": self.seed}


__all__ = ["case", "group", "no_op", "tuple", "inside_function", "get_logger", "gradients",
           "hessians", "recompute_grad", "grad_pass_through", "no_gradient",
           "constant_initializer", "zeros_initializer", "ones_initializer",
           "random_normal_initializer", "random_uniform_initializer", "eig", "eigvals",
           "matrix_square_root"]
