"""keras.losses.Circle: values and gradients against tf.keras, eager == compiled
(interpreter, cpu), float64 finite differences, config round trip and errors."""

import numpy as np
import pytest

import jitgraph as jg

K = jg.keras


def _batch(seed, n=6, dim=4, classes=3, dtype=np.float32):
    rng = np.random.default_rng(seed)
    e = rng.normal(size=(n, dim))
    e /= np.linalg.norm(e, axis=1, keepdims=True)
    return rng.integers(0, classes, size=n).astype(np.int32), e.astype(dtype)


KWARGS = [dict(), dict(gamma=10.0, margin=0.25), dict(remove_diagonal=False),
          dict(reduction="sum"), dict(reduction="none")]


@pytest.mark.parametrize("kwargs", KWARGS)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_circle_matches_tf_keras(kwargs, seed):
    tf = pytest.importorskip("tensorflow")
    keras = pytest.importorskip("keras")
    y, e = _batch(seed)
    y[-1] = 7  # a query without positives: loss 0, left out of the mean
    ours_var = jg.Variable(e)
    with jg.GradientTape() as tape:
        ours = K.losses.Circle(**kwargs)(y, ours_var)
        total = jg.reduce_sum(ours)
    g_ours = tape.gradient(total, ours_var)
    theirs_var = tf.Variable(e)
    with tf.GradientTape() as tape:
        theirs = keras.losses.Circle(**kwargs)(y, theirs_var)
        total = tf.reduce_sum(theirs)
    g_theirs = tape.gradient(total, theirs_var)
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=2e-5, atol=1e-4)
    np.testing.assert_allclose(g_ours.numpy(), g_theirs.numpy(), rtol=2e-4, atol=1e-3)
    assert np.all(np.isfinite(g_ours.numpy()))


def test_circle_function_and_reference_embeddings_match_tf_keras():
    keras = pytest.importorskip("keras")
    y, e = _batch(3)
    ref_y, ref_e = _batch(4, n=5)
    ours = K.losses.circle(y, e, ref_labels=ref_y, ref_embeddings=ref_e, gamma=20.0)
    theirs = keras.losses.circle(y, e, ref_labels=ref_y, ref_embeddings=ref_e, gamma=20.0)
    np.testing.assert_allclose(ours.numpy(), np.asarray(theirs), rtol=2e-5, atol=1e-4)
    weights = np.linspace(0.5, 2.0, 6).astype(np.float32)
    np.testing.assert_allclose(
        K.losses.Circle()(y, e, sample_weight=weights).numpy(),
        keras.losses.Circle()(y, e, sample_weight=weights).numpy(), rtol=2e-5)


@pytest.mark.parametrize("backend", ["interpreter", "cpu"])
def test_circle_compiled_equals_eager(backend):
    y, e = _batch(5)
    loss = K.losses.Circle(gamma=16.0)

    def value_and_grad(labels, emb):
        with jg.GradientTape() as tape:
            tape.watch(emb)
            v = loss(labels, emb)
        return v, tape.gradient(v, emb)

    eager = value_and_grad(jg.constant(y), jg.constant(e))
    compiled = jg.function(value_and_grad, backend=backend)(jg.constant(y), jg.constant(e))
    for a, b in zip(eager, compiled):
        np.testing.assert_allclose(b.numpy(), a.numpy(), rtol=1e-5, atol=1e-5)


def test_circle_gradient_finite_differences_float64():
    y, e = _batch(6, dtype=np.float64)
    f = lambda emb: K.losses.Circle(gamma=4.0)(y, emb)  # noqa: E731
    x = jg.constant(e)
    with jg.GradientTape() as tape:
        tape.watch(x)
        value = f(x)
    grad = tape.gradient(value, x).numpy()
    direction = np.random.default_rng(0).normal(size=e.shape)
    h = 1e-6
    numeric = (f(jg.constant(e + h * direction)).numpy()
               - f(jg.constant(e - h * direction)).numpy()) / (2 * h)
    np.testing.assert_allclose(np.sum(grad * direction), numeric, rtol=1e-5, atol=1e-7)


def test_circle_registered_config_and_errors():
    loss = K.losses.get("Circle")
    assert isinstance(loss, K.losses.Circle) or loss is K.losses.Circle
    c = K.losses.Circle(gamma=30.0, margin=0.3, remove_diagonal=False, name="c")
    config = c.get_config()
    assert (config["gamma"], config["margin"], config["remove_diagonal"]) == (30.0, 0.3, False)
    again = K.losses.Circle.from_config(config)
    assert (again.gamma, again.margin, again.remove_diagonal, again.name) == (
        30.0, 0.3, False, "c")
    with pytest.raises(ValueError, match=r"circle: y_pred must be embeddings of shape"):
        K.losses.circle([0, 1], np.ones(3, np.float32))
    with pytest.raises(ValueError, match=r"y_true must be integer labels of shape \(batch,\)"):
        K.losses.circle(np.zeros((2, 2)), np.ones((2, 3), np.float32))


def test_circle_in_fit():
    y, e = _batch(7, n=32, dim=8)
    model = K.Sequential([K.Input((8,)), K.layers.Dense(4), K.layers.UnitNormalization()])
    model.compile(optimizer=K.optimizers.Adam(0.01), loss=K.losses.Circle(gamma=16.0))
    h = model.fit(e, y, batch_size=32, epochs=5, verbose=0)
    assert h.history["loss"][-1] < h.history["loss"][0]
