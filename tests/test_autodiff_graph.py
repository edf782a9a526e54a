"""Gradients inside graphs: GradientTape in @jg.function, jg.grad / jg.value_and_grad of plain
functions and of jg.functions, gradients through cond and while_loop, the loop stacks.

Every gradient is checked against float64 central finite differences in a random direction,
and traced gradients against the eager tape's, on every available backend."""

import numpy as np
import pytest
from op_cases import CASES

import jitgraph as jg
from jitgraph import backends, errors
from jitgraph.ops import loop_state


def _available(name):
    try:
        backends.get(name)
        return True
    except errors.UnimplementedError:
        return False


BACKENDS = [b for b in ("interpreter", "cpu") if _available(b)]


def _rng(seed=0):
    return np.random.RandomState(seed)


def _t(a):
    return jg.constant(np.asarray(a, dtype=np.float64))


def finite_difference(fn, args, dirs, eps=1e-6):
    """d/dt fn(args + t*dirs) at 0 by central differences (fn returns a float64 scalar)."""
    def at(t):
        return float(fn(*[_t(a + t * d) for a, d in zip(args, dirs)]).numpy())

    return (at(eps) - at(-eps)) / (2 * eps)


def directional(grads, dirs):
    return sum(0.0 if g is None else float(np.sum(np.asarray(g) * d))
               for g, d in zip(grads, dirs))


def check_fd(scalar_fn, grads, args, seed=0, tol=1e-5):
    """``grads`` (one per arg) agree with finite differences of ``scalar_fn`` at ``args``."""
    rng = _rng(seed)
    dirs = [rng.standard_normal(np.shape(a)) for a in args]
    numeric = finite_difference(scalar_fn, args, dirs)
    analytic = directional(grads, dirs)
    assert abs(numeric - analytic) <= tol * max(1.0, abs(numeric)), (numeric, analytic)


def weighted(fn, w):
    """sum(w * fn(...)) as a scalar function (w a fixed random cotangent)."""
    return lambda *xs: jg.reduce_sum(jg.constant(w) * fn(*xs))


def tape_in_function(fn, backend, autograph=True):
    """A jg.function computing (y, grads of sum(w*y)) with a GradientTape inside."""
    @jg.function(backend=backend, autograph=autograph)
    def step(w, *xs):
        with jg.GradientTape() as tape:
            for x in xs:
                tape.watch(x)
            y = fn(*xs)
        return y, tape.gradient(y, list(xs), output_gradients=w)

    return step


def eager_grads(fn, args, w):
    xs = [_t(a) for a in args]
    with jg.GradientTape() as tape:
        tape.watch(xs)
        y = fn(*xs)
    return tape.gradient(y, xs, output_gradients=jg.constant(w))


def check_traced(fn, args, backend, seed=0, tol=1e-5, autograph=True):
    """Traced tape gradients == eager tape gradients == finite differences."""
    args = [np.asarray(a, np.float64) for a in args]
    y0 = fn(*[_t(a) for a in args])
    w = _rng(seed + 1).standard_normal(y0.shape.as_list())
    y, grads = tape_in_function(fn, backend, autograph)(jg.constant(w), *[_t(a) for a in args])
    np.testing.assert_allclose(y.numpy(), y0.numpy(), rtol=1e-10, atol=1e-12)
    for g, e in zip(grads, eager_grads(fn, args, w)):
        assert (g is None) == (e is None)
        if g is not None:
            np.testing.assert_allclose(g.numpy(), e.numpy(), rtol=1e-9, atol=1e-12)
    check_fd(weighted(fn, w), grads, args, seed, tol)
    return grads


# ----------------------------------------------------------------------------- every op


def _float64_case(c):
    return c.grad and any(np.asarray(a).dtype == np.float64 for a in c.args)


_OP_CASES = [c for c in CASES if _float64_case(c)]


def over_floats(c):
    """(fn of the float64 args only, those args): the other args are fixed constants."""
    fl = [i for i, a in enumerate(c.args) if np.asarray(a).dtype == np.float64]

    def fn(*xs):
        full = [jg.constant(a) for a in c.args]
        for i, x in zip(fl, xs):
            full[i] = x
        return c.fn(*full)

    return fn, [c.args[i] for i in fl]


def test_op_cases_cover_the_differentiable_ops():
    from jitgraph.ops.core import REGISTRY

    covered = {c.op for c in _OP_CASES}
    skip_kinds = {"control", "loop_state", "fusion", "backend", "random", "state", "source"}
    zero_grad = {"sign", "floor", "ceil", "round", "floordiv", "mod", "stop_gradient",
                 "full_like", "cast"}
    missing = [n for n, op in REGISTRY.items() if op.grad is not None and n not in covered
               and n not in zero_grad and op.kind not in skip_kinds]
    assert missing == []


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("c", _OP_CASES, ids=repr)
def test_traced_gradient_of_every_op(c, backend):
    # the cases' lambdas have no control flow; autograph=False keeps this test about gradients
    check_traced(*over_floats(c), backend, autograph=False)
