"""Learning-rate schedules (values, use by optimizers eagerly and in compiled steps, saving),
AdamW's decoupled weight decay, and the activation, Embedding, Permute and merge layers."""

import math
import os

import numpy as np
import pytest

import jitgraph as jg

keras = jg.keras
S = keras.optimizers.schedules


@pytest.mark.parametrize("sched,want", [
    (S.ExponentialDecay(0.1, 10, 0.5), lambda s: 0.1 * 0.5 ** (s / 10)),
    (S.ExponentialDecay(0.1, 10, 0.5, staircase=True), lambda s: 0.1 * 0.5 ** (s // 10)),
    (S.InverseTimeDecay(1.0, 4, 0.5), lambda s: 1.0 / (1 + 0.5 * s / 4)),
    (S.PiecewiseConstantDecay([3, 7], [1.0, 0.5, 0.25]),
     lambda s: 1.0 if s <= 3 else 0.5 if s <= 7 else 0.25),
    (S.PolynomialDecay(1.0, 10, 0.1, power=2.0),
     lambda s: (1.0 - 0.1) * (1 - min(s, 10) / 10) ** 2 + 0.1),
    (S.PolynomialDecay(1.0, 4, 0.0, cycle=True),
     lambda s: 1 - s / (4 * max(math.ceil(s / 4), 1))),
    (S.CosineDecay(1.0, 10, alpha=0.2),
     lambda s: 0.8 * 0.5 * (1 + math.cos(math.pi * min(s, 10) / 10)) + 0.2),
    (S.CosineDecay(0.0, 8, warmup_target=2.0, warmup_steps=4),
     lambda s: 2.0 * s / 4 if s < 4 else 2.0 * 0.5 * (1 + math.cos(math.pi * min(s - 4, 8) / 8))),
], ids=["exp", "exp_stair", "inverse", "piecewise", "poly", "poly_cycle", "cosine", "warmup"])
def test_schedule_values(sched, want):
    for s in (0, 1, 3, 4, 5, 7, 8, 10, 13, 20):
        assert abs(float(sched(s)) - want(s)) < 1e-6, s
    again = type(sched).from_config(sched.get_config())
    assert abs(float(again(5)) - want(5)) < 1e-6


def test_optimizer_follows_the_schedule_in_a_compiled_step():
    v = jg.Variable(0.0)
    opt = keras.optimizers.SGD(S.PiecewiseConstantDecay([1], [1.0, 0.1]))

    @jg.function
    def step():
        with jg.GradientTape() as tape:
            loss = v * 1.0
        opt.apply_gradients(zip(tape.gradient(loss, [v]), [v]))
        return opt.learning_rate.value()

    lrs = [float(step()) for _ in range(4)]
    np.testing.assert_allclose(lrs, [1.0, 1.0, 0.1, 0.1], rtol=1e-6)
    np.testing.assert_allclose(float(v), -2.2, rtol=1e-6)
    cfg = opt.get_config()
    assert cfg["learning_rate"]["class_name"] == "PiecewiseConstantDecay"
    assert isinstance(keras.optimizers.SGD.from_config(cfg)._schedule,
                      S.PiecewiseConstantDecay)


def test_fit_with_a_schedule_and_saving(tmp_path):
    rng = np.random.RandomState(0)
    x = rng.randn(64, 3).astype(np.float32)
    y = x @ np.array([[1.0], [-2.0], [0.5]], np.float32)
    model = keras.Sequential([keras.layers.Dense(1)])
    model.compile(keras.optimizers.Adam(S.ExponentialDecay(0.1, 8, 0.5)), "mse")
    h = model.fit(x, y, epochs=4, batch_size=16, verbose=0)
    assert h.history["loss"][-1] < h.history["loss"][0]
    np.testing.assert_allclose(float(model.optimizer.learning_rate.numpy()),
                               0.1 * 0.5 ** (15 / 8), rtol=1e-5)  # the 16th step's rate
    path = os.path.join(tmp_path, "m.keras")
    model.save(path)
    loaded = keras.models.load_model(path)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0),
                               rtol=1e-6)


def test_adamw_decays_weights_and_honours_exclusions():
    w, b = jg.Variable(1.0, name="w"), jg.Variable(1.0, name="bias")
    opt = keras.optimizers.AdamW(0.1, weight_decay=0.5)
    opt.exclude_from_weight_decay(var_names=["bias"])
    opt.apply_gradients([(jg.constant(0.0), w), (jg.constant(0.0), b)])
    np.testing.assert_allclose([float(w), float(b)], [0.95, 1.0], rtol=1e-6)
    assert keras.optimizers.get("adamw").weight_decay == 0.004


def test_activation_layers():
    x = np.array([[-2.0, -0.5, 0.5, 3.0, 8.0]], np.float32)
    L = keras.layers
    np.testing.assert_allclose(L.ReLU()(x).numpy(), np.maximum(x, 0))
    np.testing.assert_allclose(L.ReLU(max_value=6.0, negative_slope=0.1, threshold=1.0)(x)
                               .numpy(), np.where(x > 1, np.minimum(x, 6), 0.1 * (x - 1)),
                               rtol=1e-6)
    np.testing.assert_allclose(L.LeakyReLU()(x).numpy(), np.where(x > 0, x, 0.3 * x),
                               rtol=1e-6)
    np.testing.assert_allclose(L.ELU(0.5)(x).numpy(), np.where(x > 0, x, 0.5 * np.expm1(x)),
                               rtol=1e-6)
    e = np.exp(x - x.max(0, keepdims=True))
    np.testing.assert_allclose(L.Softmax(axis=0)(x).numpy(), e / e.sum(0, keepdims=True))
    np.testing.assert_array_equal(L.Permute((2, 1))(np.zeros((4, 2, 3))).shape, (4, 3, 2))


def test_embedding_trains_only_the_rows_it_uses():
    emb = keras.layers.Embedding(10, 4, embeddings_initializer="zeros")
    ids = np.array([[1, 3], [3, 7]], np.int32)
    assert emb(ids).shape == (2, 2, 4)
    with jg.GradientTape() as tape:
        loss = jg.reduce_sum(emb(ids))
    (g,) = tape.gradient(loss, emb.trainable_variables)
    counts = np.bincount(ids.ravel(), minlength=10)
    np.testing.assert_allclose(np.asarray(g), np.repeat(counts[:, None], 4, 1))
    model = keras.Sequential([keras.layers.Embedding(10, 3), keras.layers.Flatten(),
                              keras.layers.Dense(1)])
    model.compile("adam", "mse")
    model.fit(ids, np.ones((2, 1), np.float32), epochs=2, verbose=0)


def test_merge_layers_in_a_functional_model_and_saving(tmp_path):
    a, b = keras.Input(shape=(3,)), keras.Input(shape=(3,))
    L = keras.layers
    outs = [L.subtract([a, b]), L.multiply([a, b]), L.average([a, b]), L.maximum([a, b]),
            L.minimum([a, b])]
    model = keras.Model([a, b], L.concatenate(outs))
    x, y = np.random.randn(2, 3).astype(np.float32), np.random.randn(2, 3).astype(np.float32)
    want = np.concatenate([x - y, x * y, (x + y) / 2, np.maximum(x, y), np.minimum(x, y)], 1)
    np.testing.assert_allclose(model.predict([x, y], verbose=0), want, rtol=1e-6)
    path = os.path.join(tmp_path, "merge.keras")
    model.save(path)
    np.testing.assert_allclose(keras.models.load_model(path).predict([x, y], verbose=0), want,
                               rtol=1e-6)


def test_constructor_errors_name_the_argument():
    with pytest.raises(ValueError, match="ExponentialDecay: decay_steps must be > 0, got 0"):
        S.ExponentialDecay(0.1, 0, 0.5)
    with pytest.raises(ValueError, match="one more value than boundaries"):
        S.PiecewiseConstantDecay([1, 2], [1.0, 0.5])
    with pytest.raises(ValueError, match="ReLU: max_value must be >= 0, got -1"):
        keras.layers.ReLU(max_value=-1)
    with pytest.raises(ValueError, match=r"Permute: dims must be a permutation of 1..2"):
        keras.layers.Permute((0, 1))
    with pytest.raises(ValueError, match="Embedding: input_dim and output_dim must be positive"):
        keras.layers.Embedding(0, 4)
    with pytest.raises(ValueError, match="needs exactly 2 inputs, got 3"):
        keras.layers.Subtract()([jg.ones([1]), jg.ones([1]), jg.ones([1])])
    with pytest.raises(ValueError, match="ReduceLROnPlateau: factor must be in"):
        keras.callbacks.ReduceLROnPlateau(factor=2.0)


def test_normalization_adapt_invert_fit_and_saving(tmp_path):
    rng = np.random.RandomState(0)
    x = (rng.randn(200, 3) * [1, 10, 100] + [5, -5, 50]).astype(np.float32)
    norm = keras.layers.Normalization()
    norm.adapt(x)
    y = norm(x).numpy()
    np.testing.assert_allclose(y.mean(0), 0, atol=1e-4)
    np.testing.assert_allclose(y.std(0), 1, rtol=1e-4)
    back = keras.layers.Normalization(mean=norm.mean.numpy(), variance=norm.variance.numpy(),
                                      invert=True)
    np.testing.assert_allclose(back(y).numpy(), x, rtol=1e-4, atol=1e-3)
    whole = keras.layers.Normalization(axis=None)
    whole.adapt(x)
    assert whole.mean.shape == () and abs(float(whole.mean.numpy()) - x.mean()) < 1e-3
    model = keras.Sequential([keras.Input(shape=(3,)), norm, keras.layers.Dense(1)])
    model.compile("adam", "mse")
    model.fit(x, x[:, :1], epochs=2, verbose=0)
    assert len(model.trainable_weights) == 2  # the statistics are not trained
    path = os.path.join(tmp_path, "norm.keras")
    model.save(path)
    np.testing.assert_allclose(keras.models.load_model(path).predict(x, verbose=0),
                               model.predict(x, verbose=0), rtol=1e-6)
    with pytest.raises(ValueError, match="both mean and variance"):
        keras.layers.Normalization(mean=[0.0])
