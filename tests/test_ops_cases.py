"""Every case of op_cases.py: eager == NumPy reference, and float64 central finite differences
in a random direction == the GradientTape gradient."""

import numpy as np
import pytest
from op_cases import CASES, uncovered_ops

import jitgraph as jg


def _close(got, want, dtype):
    got, want = np.asarray(got), np.asarray(want)
    assert got.shape == want.shape, (got.shape, want.shape)
    if dtype.kind == "f":
        tol = 1e-5 if dtype == np.float32 else 1e-10
        np.testing.assert_allclose(got, want, rtol=tol, atol=tol)
    else:
        np.testing.assert_array_equal(got, want)


def test_every_op_has_a_case():
    assert uncovered_ops() == []


@pytest.mark.parametrize("c", CASES, ids=repr)
def test_eager_matches_numpy(c):
    with np.errstate(all="ignore"):
        want = c.ref(*c.args)
    got = c.fn(*[jg.constant(a) for a in c.args])
    assert isinstance(got, jg.Tensor)
    assert got._value.flags.c_contiguous
    _close(got.numpy(), want, np.asarray(want).dtype)


def numeric_grad_check(fn, args, seed=0, eps=1e-6, tol=1e-5):
    """Checks d/dt sum(w * fn(x + t v)) at t=0 against <grad, v> for float64 inputs."""
    rng = np.random.RandomState(seed)
    fl = [i for i, a in enumerate(args) if np.asarray(a).dtype == np.float64]
    if not fl:
        pytest.skip("no float64 inputs")  # pragma: no cover - cases are chosen with floats
    xs = [jg.constant(a) for a in args]
    with jg.GradientTape() as tape:
        for i in fl:
            tape.watch(xs[i])
        y = fn(*xs)
    w = rng.standard_normal(y.shape.as_list())
    grads = tape.gradient(y, [xs[i] for i in fl], output_gradients=jg.constant(w))
    vs = {i: rng.standard_normal(np.shape(args[i])) for i in fl}

    def f(t):
        moved = [jg.constant(np.asarray(a) + t * vs[i]) if i in vs else jg.constant(a)
                 for i, a in enumerate(args)]
        return float(np.sum(w * fn(*moved).numpy()))

    numeric = (f(eps) - f(-eps)) / (2 * eps)
    analytic = sum(0.0 if g is None else float(np.sum(g.numpy() * vs[i]))
                   for i, g in zip(fl, grads))
    assert abs(numeric - analytic) <= tol * max(1.0, abs(numeric)), (numeric, analytic)


_GRAD_CASES = [c for c in CASES if c.grad and any(np.asarray(a).dtype == np.float64
                                                   for a in c.args)]


@pytest.mark.parametrize("c", _GRAD_CASES, ids=repr)
def test_gradient_matches_finite_differences(c):
    numeric_grad_check(c.fn, c.args)


ZERO_GRAD = {"sign", "floor", "ceil", "round", "floordiv", "stop_gradient", "full_like"}


def test_differentiable_ops_have_grad_cases():
    from op_cases import EXEMPT, EXEMPT_KINDS

    from jitgraph.ops.core import REGISTRY

    with_grad = {c.op for c in _GRAD_CASES}
    missing = [n for n, op in REGISTRY.items() if op.grad is not None and n not in with_grad
               and n not in ZERO_GRAD | {"cast"} and n not in EXEMPT
               and op.kind not in EXEMPT_KINDS]
    assert missing == []


def test_cast_gradient_is_cast_back():
    x = jg.constant(np.array([0.5, -2.0]))
    with jg.GradientTape() as tape:
        tape.watch(x)
        y = jg.cast(x, jg.float32) * jg.constant([3.0, 4.0])
    g = tape.gradient(y, x)
    assert g.dtype == jg.float64
    np.testing.assert_array_equal(g.numpy(), [3.0, 4.0])


@pytest.mark.parametrize("fn", [jg.sign, jg.floor, jg.math.ceil, jg.round,
                                lambda x: x // 0.7, jg.stop_gradient,
                                jg.ones_like])
def test_piecewise_constant_ops_have_no_gradient(fn):
    x = jg.constant(np.array([0.3, -1.2, 2.5]))
    with jg.GradientTape() as tape:
        tape.watch(x)
        y = fn(x)
    g = tape.gradient(y, x)
    assert g is None or not np.any(g.numpy())
