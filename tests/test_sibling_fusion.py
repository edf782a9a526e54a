"""Sibling fusion (codegen/siblings.py): an elementwise kernel over the same dims as a full
reduction runs in the reduction's loop."""

import numpy as np
import pytest

import jitgraph as jg
from jitgraph.codegen import _Build


def _kernels(fn, *args):
    graph = jg.function(fn).get_concrete_function(*args).graph
    steps = _Build(graph).program.steps
    return [s[1] for s in steps if s[0] == "kernel"]


def huber(pred, target):
    with jg.GradientTape() as tape:
        tape.watch(pred)
        err = pred - target
        a = jg.abs(err)
        loss = jg.reduce_mean(jg.where(a <= 1.0, 0.5 * err * err, a - 0.5))
    return loss, tape.gradient(loss, pred)


def test_huber_loss_and_gradient_are_one_kernel():
    p, t = jg.constant(np.zeros(1000, np.float32)), jg.constant(np.ones(1000, np.float32))
    ks = _kernels(huber, p, t)
    assert len(ks) == 1 and len(ks[0].siblings) == 1
    rng = np.random.default_rng(1)
    pv, tv = rng.standard_normal(1000).astype(np.float32) * 2, rng.standard_normal(
        1000).astype(np.float32)
    loss, grad = jg.function(huber)(pv, tv)
    ref_loss, ref_grad = jg.function(huber, backend="interpreter")(pv, tv)
    np.testing.assert_allclose(loss.numpy(), ref_loss.numpy(), rtol=1e-6)
    np.testing.assert_array_equal(grad.numpy(), ref_grad.numpy())


@pytest.mark.parametrize("n", [1, 7, 1 << 18])  # one element, a vector tail, threads
@pytest.mark.parametrize("red", [jg.reduce_sum, jg.reduce_max, jg.reduce_mean])
def test_reduction_with_elementwise_siblings(n, red):
    def f(x, y):
        return red(x * y), jg.exp(x) - y, jg.cast(x > y, jg.int32)

    rng = np.random.default_rng(n)
    x = rng.standard_normal((n,)).astype(np.float32)
    y = rng.standard_normal((n,)).astype(np.float32)
    ks = _kernels(f, jg.constant(x), jg.constant(y))
    assert len(ks) == 1 and len(ks[0].siblings) == 2
    got = jg.function(f)(x, y)
    want = jg.function(f, backend="interpreter")(x, y)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g.numpy(), w.numpy(), rtol=2e-6, atol=1e-6)


def test_a_map_of_the_reduction_result_is_not_merged():
    def f(x):
        return x - jg.reduce_mean(x), x * 2.0

    x = np.arange(12, dtype=np.float32).reshape(3, 4)
    ks = _kernels(f, jg.constant(x))
    merged = [k for k in ks if k.siblings]
    assert len(merged) == 1 and len(merged[0].siblings) == 1  # only x * 2 joins
    a, b = jg.function(f)(x)
    np.testing.assert_allclose(a.numpy(), x - x.mean(), rtol=1e-6)
    np.testing.assert_array_equal(b.numpy(), x * 2)


def test_reduction_over_some_axes_has_no_siblings():
    def f(x):
        return jg.reduce_sum(x, axis=1), x + 1.0

    x = np.ones((4, 5), np.float32)
    assert all(not k.siblings for k in _kernels(f, jg.constant(x)))
    s, p = jg.function(f)(x)
    np.testing.assert_array_equal(s.numpy(), 5.0)
    np.testing.assert_array_equal(p.numpy(), 2.0)


def test_unknown_dims_are_not_merged_and_stay_correct():
    # the two kernels' sizes are separate run-time quantities: not provably equal
    spec = jg.TensorSpec([None], jg.float32)
    f = jg.function(lambda x: (jg.reduce_sum(x * x), x * 3.0), input_signature=[spec])
    ks = _kernels(lambda x: (jg.reduce_sum(x * x), x * 3.0), spec)
    assert len(ks) == 2 and not any(k.siblings for k in ks)
    for n in (0, 5, 300000):
        x = np.linspace(-1, 1, n, dtype=np.float32)
        s, t = f(x)
        np.testing.assert_allclose(s.numpy(), np.sum(x.astype(np.float64) ** 2), rtol=1e-4)
        np.testing.assert_array_equal(t.numpy(), x * 3)
