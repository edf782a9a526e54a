"""GradientTape: the book examples, structures, persistence, variables, higher order."""

import numpy as np
import pytest

import jitgraph as jg


def f(w1, w2):
    return 3 * w1 ** 2 + 2 * w1 * w2


def test_book_example_variables():
    w1, w2 = jg.Variable(5.0), jg.Variable(3.0)
    with jg.GradientTape() as tape:
        z = f(w1, w2)
    g = tape.gradient(z, [w1, w2])
    np.testing.assert_allclose([g[0].numpy(), g[1].numpy()], [36.0, 10.0])


def test_non_persistent_second_call_raises():
    w1, w2 = jg.Variable(5.0), jg.Variable(3.0)
    with jg.GradientTape() as tape:
        z = f(w1, w2)
    tape.gradient(z, w1)
    with pytest.raises(RuntimeError, match="persistent=True"):
        tape.gradient(z, w2)


def test_persistent_tape():
    w1, w2 = jg.Variable(5.0), jg.Variable(3.0)
    with jg.GradientTape(persistent=True) as tape:
        z = f(w1, w2)
    assert float(tape.gradient(z, w1)) == 36.0
    assert float(tape.gradient(z, w2)) == 10.0


def test_constants_need_watch():
    c1, c2 = jg.constant(5.0), jg.constant(3.0)
    with jg.GradientTape() as tape:
        z = f(c1, c2)
    assert tape.gradient(z, [c1, c2]) == [None, None]
    with jg.GradientTape() as tape:
        tape.watch(c1)
        tape.watch(c2)
        z = f(c1, c2)
    assert [float(g) for g in tape.gradient(z, [c1, c2])] == [36.0, 10.0]


def test_nested_structures_preserved():
    a, b, c = jg.Variable(1.0), jg.Variable(2.0), jg.Variable(3.0)
    with jg.GradientTape() as tape:
        y = a * b * c
    g = tape.gradient(y, {"x": [a, (b,)], "y": c})
    assert isinstance(g, dict) and isinstance(g["x"], list) and isinstance(g["x"][1], tuple)
    assert (float(g["x"][0]), float(g["x"][1][0]), float(g["y"])) == (6.0, 3.0, 2.0)


def test_unconnected_and_integer_sources_give_none():
    a, b = jg.Variable(1.0), jg.Variable(2.0)
    i = jg.constant(3)
    with jg.GradientTape() as tape:
        tape.watch(i)
        y = a * 2.0 + jg.cast(i, jg.float32)
    g = tape.gradient(y, [a, b, i])
    assert float(g[0]) == 2.0 and g[1] is None and g[2] is None
    with jg.GradientTape() as tape:
        y = a * 2.0
    assert float(tape.gradient(y, b, unconnected_gradients="zero")) == 0.0


def test_watch_accessed_variables_false():
    a, b = jg.Variable(1.0), jg.Variable(2.0)
    with jg.GradientTape(watch_accessed_variables=False) as tape:
        tape.watch(a)
        y = a * b
    ga, gb = tape.gradient(y, [a, b])
    assert float(ga) == 2.0 and gb is None


def test_non_trainable_variable_not_watched():
    a = jg.Variable(1.0, trainable=False)
    with jg.GradientTape() as tape:
        y = a * 3.0
    assert tape.gradient(y, a) is None


def test_stop_recording():
    x = jg.Variable(2.0)
    with jg.GradientTape() as tape:
        y = x * x
        with tape.stop_recording():
            z = x * 10.0
        total = y + z
    assert float(tape.gradient(total, x)) == 4.0


def test_output_gradients():
    x = jg.Variable([1.0, 2.0])
    with jg.GradientTape() as tape:
        y = x * x
    g = tape.gradient(y, x, output_gradients=jg.constant([1.0, 10.0]))
    np.testing.assert_allclose(g.numpy(), [2.0, 40.0])


def test_multiple_targets_are_summed():
    x = jg.Variable(3.0)
    with jg.GradientTape() as tape:
        y1, y2 = x * 2.0, x * x
    assert float(tape.gradient([y1, y2], x)) == 8.0


def test_stop_gradient():
    x = jg.Variable(3.0)
    with jg.GradientTape() as tape:
        y = x * jg.stop_gradient(x)
    assert float(tape.gradient(y, x)) == 3.0


@pytest.mark.parametrize("fn,d1,d2", [
    (lambda x: x ** 3, lambda x: 3 * x ** 2, lambda x: 6 * x),
    (jg.sin, np.cos, lambda x: -np.sin(x)),
    (jg.exp, np.exp, np.exp),
    (jg.tanh, lambda x: 1 - np.tanh(x) ** 2,
     lambda x: -2 * np.tanh(x) * (1 - np.tanh(x) ** 2)),
    (jg.sigmoid, lambda x: (s := 1 / (1 + np.exp(-x))) * (1 - s),
     lambda x: (s := 1 / (1 + np.exp(-x))) * (1 - s) * (1 - 2 * s)),
])
def test_second_derivatives_nested_tapes(fn, d1, d2):
    x0 = np.array([0.3, -0.7, 1.1])
    x = jg.constant(x0)
    with jg.GradientTape() as outer:
        outer.watch(x)
        with jg.GradientTape() as inner:
            inner.watch(x)
            y = fn(x)
        g = inner.gradient(y, x)
    h = outer.gradient(g, x)
    np.testing.assert_allclose(g.numpy(), d1(x0), rtol=1e-10)
    np.testing.assert_allclose(h.numpy(), d2(x0), rtol=1e-10)


def test_second_derivative_through_matmul_and_softmax():
    x0 = np.random.RandomState(0).randn(2, 3)
    w = jg.constant(np.random.RandomState(1).randn(3, 3))
    x = jg.constant(x0)

    def loss(x):
        return jg.reduce_sum(jg.nn.softmax(x @ w) ** 2)

    with jg.GradientTape() as outer:
        outer.watch(x)
        with jg.GradientTape() as inner:
            inner.watch(x)
            y = loss(x)
        g = inner.gradient(y, x)
        s = jg.reduce_sum(g * g)
    h = outer.gradient(s, x).numpy()
    v = np.random.RandomState(2).randn(2, 3)

    def gs(t):
        xx = jg.constant(x0 + t * v)
        with jg.GradientTape() as tp:
            tp.watch(xx)
            yy = loss(xx)
        return float(jg.reduce_sum(tp.gradient(yy, xx) ** 2))

    eps = 1e-6
    np.testing.assert_allclose((gs(eps) - gs(-eps)) / (2 * eps), np.sum(h * v), rtol=1e-5)


def test_custom_gradient_softplus_is_finite_at_100():
    @jg.custom_gradient
    def my_softplus(z):
        def grad(dy):
            return dy / (1 + 1 / jg.exp(z))

        return jg.math.log(jg.exp(z) + 1), grad

    x = jg.Variable(100.0)
    with jg.GradientTape() as tape:
        y = my_softplus(x)
    g = tape.gradient(y, x)
    assert np.isfinite(g.numpy()) and float(g) == 1.0


def test_jacobian_basics():
    x = jg.constant([1.0, 2.0, 3.0])
    with jg.GradientTape(persistent=True) as tape:
        tape.watch(x)
        y = x * x
    j = tape.jacobian(y, x)
    np.testing.assert_allclose(j.numpy(), np.diag([2.0, 4.0, 6.0]))


def test_small_training_step_decreases_loss():
    rng = np.random.RandomState(0)
    X = jg.constant(rng.randn(16, 3).astype(np.float32))
    y = jg.constant(rng.randn(16, 1).astype(np.float32))
    w, b = jg.Variable(jg.zeros([3, 1])), jg.Variable(jg.zeros([1]))
    losses = []
    for _ in range(5):
        with jg.GradientTape() as tape:
            loss = jg.reduce_mean(jg.square(X @ w + b - y))
        gw, gb = tape.gradient(loss, [w, b])
        w.assign_sub(0.1 * gw)
        b.assign_sub(0.1 * gb)
        losses.append(float(loss))
    assert losses[-1] < losses[0]
