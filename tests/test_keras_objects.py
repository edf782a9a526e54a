"""jg.keras losses, metrics, optimizers, activations, initializers, regularizers and
constraints, each checked against an independent NumPy computation."""

import numpy as np
import pytest

import jitgraph as jg

keras = jg.keras
RNG = np.random.default_rng(7)


def close(a, b, tol=1e-5):
    np.testing.assert_allclose(np.asarray(a, np.float64), np.asarray(b, np.float64),
                               rtol=tol, atol=tol)


# ------------------------------------------------------------------------------ losses

Y_TRUE = RNG.normal(size=(6, 3)).astype(np.float32)
Y_PRED = RNG.normal(size=(6, 3)).astype(np.float32)


def np_huber(t, p, d=1.0):
    e = np.abs(p - t)
    return np.where(e <= d, 0.5 * e**2, d * e - 0.5 * d**2).mean(-1)


@pytest.mark.parametrize("cls,fn,ref", [
    (keras.losses.MeanSquaredError, keras.losses.mean_squared_error,
     lambda t, p: ((p - t) ** 2).mean(-1)),
    (keras.losses.MeanAbsoluteError, keras.losses.mean_absolute_error,
     lambda t, p: np.abs(p - t).mean(-1)),
    (keras.losses.Huber, keras.losses.huber, np_huber),
])
def test_regression_losses(cls, fn, ref):
    per = ref(Y_TRUE, Y_PRED)
    close(fn(Y_TRUE, Y_PRED), per)
    close(cls()(Y_TRUE, Y_PRED), per.mean())
    close(cls(reduction="sum")(Y_TRUE, Y_PRED), per.sum())
    close(cls(reduction="none")(Y_TRUE, Y_PRED), per)
    sw = np.array([1, 0, 2, 1, 0, 1], np.float32)
    close(cls()(Y_TRUE, Y_PRED, sample_weight=sw), (per * sw).sum() / 6)


def test_loss_squeezes_trailing_unit_dim():
    t = np.array([1.0, 2.0, 3.0], np.float32)
    p = np.array([[1.5], [2.0], [2.0]], np.float32)
    close(keras.losses.MeanSquaredError()(t, p), (0.25 + 0 + 1) / 3)


def test_crossentropies():
    logits = RNG.normal(size=(5, 4)).astype(np.float32)
    probs = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    labels = np.array([0, 3, 1, 2, 3])
    onehot = np.eye(4, dtype=np.float32)[labels]
    ref = -np.log(probs[np.arange(5), labels])
    close(keras.losses.SparseCategoricalCrossentropy(from_logits=True)(labels, logits),
          ref.mean())
    close(keras.losses.SparseCategoricalCrossentropy()(labels, probs), ref.mean())
    close(keras.losses.CategoricalCrossentropy(from_logits=True)(onehot, logits), ref.mean())
    close(keras.losses.CategoricalCrossentropy()(onehot, probs), ref.mean())
    z = RNG.normal(size=(5, 1)).astype(np.float32)
    b = (RNG.random((5, 1)) > 0.5).astype(np.float32)
    p = 1 / (1 + np.exp(-z))
    bce = -(b * np.log(p) + (1 - b) * np.log(1 - p)).mean()
    close(keras.losses.BinaryCrossentropy(from_logits=True)(b, z), bce)
    close(keras.losses.BinaryCrossentropy()(b, p), bce, 1e-4)


def test_loss_names_and_errors():
    assert keras.losses.get("mse") is keras.losses.mean_squared_error
    assert isinstance(keras.losses.get("Huber"), keras.losses.Huber)
    assert keras.losses.Huber(2.0).get_config()["delta"] == 2.0
    with pytest.raises(ValueError, match="Unknown loss: 'no_such_loss'.*custom_objects"):
        keras.losses.get("no_such_loss")
    with pytest.raises(ValueError, match="reduction"):
        keras.losses.MeanSquaredError(reduction="mean")


def create_huber(threshold=1.0):
    def huber_fn(y_true, y_pred):
        error = y_true - y_pred
        is_small_error = jg.abs(error) < threshold
        squared_loss = jg.square(error) / 2
        linear_loss = threshold * jg.abs(error) - threshold**2 / 2
        return jg.where(is_small_error, squared_loss, linear_loss)

    return huber_fn


class HuberLoss(keras.losses.Loss):
    def __init__(self, threshold=1.0, **kwargs):
        self.threshold = threshold
        super().__init__(**kwargs)

    def call(self, y_true, y_pred):
        return create_huber(self.threshold)(y_true, y_pred)

    def get_config(self):
        return {**super().get_config(), "threshold": self.threshold}


def test_custom_loss_subclass_config_round_trip():
    loss = HuberLoss(2.0)
    ref = np_huber(Y_TRUE, Y_PRED * 3, 2.0).mean()
    close(loss(Y_TRUE, Y_PRED * 3), ref)
    again = HuberLoss.from_config(loss.get_config())
    assert again.threshold == 2.0 and again.name == "huber_loss"
    close(again(Y_TRUE, Y_PRED * 3), ref)


# ----------------------------------------------------------------------------- metrics

def test_precision_streams_over_batches():
    precision = keras.metrics.Precision()
    assert float(precision([0, 1, 1, 1, 0, 1, 0, 1], [1, 1, 0, 1, 0, 1, 0, 1])) == \
        pytest.approx(0.8)
    assert float(precision([0, 1, 0, 0, 1, 0, 1, 1], [1, 0, 1, 1, 0, 0, 0, 0])) == \
        pytest.approx(0.5)
    assert float(precision.result()) == pytest.approx(0.5)
    assert [float(v.numpy()) for v in precision.variables] == [4.0, 4.0]
    precision.reset_states()
    assert [float(v.numpy()) for v in precision.variables] == [0.0, 0.0]


def test_recall_and_accuracies():
    t = np.array([0, 1, 1, 1, 0, 1, 0, 1])
    p = np.array([1, 1, 0, 1, 0, 1, 0, 0])
    tp = np.sum((t == 1) & (p == 1))
    assert float(keras.metrics.Recall()(t, p)) == pytest.approx(tp / np.sum(t == 1))
    assert float(keras.metrics.Precision()(t, p)) == pytest.approx(tp / np.sum(p == 1))
    assert float(keras.metrics.Accuracy()(t, p)) == pytest.approx(np.mean(t == p))
    assert float(keras.metrics.BinaryAccuracy()(t, p * 0.9)) == pytest.approx(np.mean(t == p))
    scores = RNG.normal(size=(10, 3)).astype(np.float32)
    labels = RNG.integers(0, 3, 10)
    acc = np.mean(scores.argmax(-1) == labels)
    assert float(keras.metrics.SparseCategoricalAccuracy()(labels, scores)) == \
        pytest.approx(acc)
    assert float(keras.metrics.CategoricalAccuracy()(np.eye(3)[labels], scores)) == \
        pytest.approx(acc)


def test_mean_sum_and_regression_metrics_stream():
    m, s = keras.metrics.Mean(), keras.metrics.Sum()
    m([1.0, 2.0]), s([1.0, 2.0])
    m(6.0, sample_weight=2.0), s(3.0)
    assert float(m.result()) == pytest.approx((1 + 2 + 12) / 4)
    assert float(s.result()) == pytest.approx(6.0)
    mae = keras.metrics.MeanAbsoluteError()
    mae(Y_TRUE[:3], Y_PRED[:3])
    mae(Y_TRUE[3:], Y_PRED[3:])
    close(mae.result(), np.abs(Y_TRUE - Y_PRED).mean())
    mse = keras.metrics.MeanSquaredError()
    close(mse(Y_TRUE, Y_PRED), ((Y_TRUE - Y_PRED) ** 2).mean())


class HuberMetric(keras.metrics.Metric):
    def __init__(self, threshold=1.0, **kwargs):
        super().__init__(**kwargs)
        self.threshold = threshold
        self.huber_fn = create_huber(threshold)
        self.total = self.add_weight("total", initializer="zeros")
        self.count = self.add_weight("count", initializer="zeros")

    def update_state(self, y_true, y_pred, sample_weight=None):
        metric = self.huber_fn(jg.constant(y_true), jg.constant(y_pred))
        self.total.assign_add(jg.reduce_sum(metric))
        self.count.assign_add(jg.cast(jg.size(metric), jg.float32))

    def result(self):
        return self.total / self.count

    def get_config(self):
        return {**super().get_config(), "threshold": self.threshold}


def test_metric_subclass_streams_and_configures():
    m = HuberMetric(2.0)
    m(Y_TRUE[:2] * 3, Y_PRED[:2])
    m(Y_TRUE[2:] * 3, Y_PRED[2:])
    close(m.result(), np_huber(Y_TRUE * 3, Y_PRED, 2.0).mean())
    again = HuberMetric.from_config(m.get_config())
    assert again.threshold == 2.0 and again.name == m.name


def test_metric_inside_function_updates_state():
    m = keras.metrics.Mean()

    @jg.function
    def step(x):
        m.update_state(x)
        return m.result()

    step(jg.constant([1.0, 3.0]))
    assert float(step(jg.constant([5.0, 7.0]))) == pytest.approx(4.0)


# -------------------------------------------------------------------------- optimizers

def run_optimizer(opt, steps=3):
    """Minimizes sum((w - 1)^2 * c) from w0; returns the weights after each step."""
    w = jg.Variable(np.array([0.5, -1.0, 2.0], np.float32))
    c = np.array([1.0, 2.0, 3.0], np.float32)
    out = []
    for _ in range(steps):
        with jg.GradientTape() as tape:
            loss = jg.reduce_sum(jg.square(w - 1.0) * c)
        opt.apply_gradients(zip(tape.gradient(loss, [w]), [w]))
        out.append(w.numpy().copy())
    return out


def np_steps(update, steps=3):
    w = np.array([0.5, -1.0, 2.0], np.float64)
    c = np.array([1.0, 2.0, 3.0])
    state, out = {}, []
    for t in range(1, steps + 1):
        g = 2 * (w - 1) * c
        w = update(w, g, state, t)
        out.append(w.copy())
    return out


def np_sgd_momentum(lr, mom, nesterov):
    def update(w, g, s, t):
        m = mom * s.get("m", 0.0) - lr * g
        s["m"] = m
        return w + mom * m - lr * g if nesterov else w + m
    return update


def np_adam(lr, b1=0.9, b2=0.999, eps=1e-7):
    def update(w, g, s, t):
        s["m"] = b1 * s.get("m", 0.0) + (1 - b1) * g
        s["v"] = b2 * s.get("v", 0.0) + (1 - b2) * g * g
        alpha = lr * np.sqrt(1 - b2**t) / (1 - b1**t)
        return w - alpha * s["m"] / (np.sqrt(s["v"]) + eps)
    return update


def np_rmsprop(lr, rho=0.9, eps=1e-7):
    def update(w, g, s, t):
        s["r"] = rho * s.get("r", 0.0) + (1 - rho) * g * g
        return w - lr * g / np.sqrt(s["r"] + eps)
    return update


def np_adagrad(lr, init=0.1, eps=1e-7):
    def update(w, g, s, t):
        s["a"] = s.get("a", init) + g * g
        return w - lr * g / (np.sqrt(s["a"]) + eps)
    return update


def np_nadam(lr, b1=0.9, b2=0.999, eps=1e-7):
    def update(w, g, s, t):
        u_t = b1 * (1 - 0.5 * 0.96 ** t)
        u_next = b1 * (1 - 0.5 * 0.96 ** (t + 1))
        s["prod"] = s.get("prod", 1.0) * u_t
        s["m"] = b1 * s.get("m", 0.0) + (1 - b1) * g
        s["v"] = b2 * s.get("v", 0.0) + (1 - b2) * g * g
        m_hat = u_next * s["m"] / (1 - s["prod"] * u_next) + (1 - u_t) * g / (1 - s["prod"])
        v_hat = s["v"] / (1 - b2**t)
        return w - lr * m_hat / (np.sqrt(v_hat) + eps)
    return update


@pytest.mark.parametrize("make,ref", [
    (lambda: keras.optimizers.SGD(0.1), np_sgd_momentum(0.1, 0.0, False)),
    (lambda: keras.optimizers.SGD(0.05, momentum=0.9), np_sgd_momentum(0.05, 0.9, False)),
    (lambda: keras.optimizers.SGD(0.05, momentum=0.9, nesterov=True),
     np_sgd_momentum(0.05, 0.9, True)),
    (lambda: keras.optimizers.Adam(0.1), np_adam(0.1)),
    (lambda: keras.optimizers.Nadam(0.1), np_nadam(0.1)),
    (lambda: keras.optimizers.RMSprop(0.01), np_rmsprop(0.01)),
    (lambda: keras.optimizers.Adagrad(0.1), np_adagrad(0.1)),
])
def test_optimizers_match_numpy(make, ref):
    for got, want in zip(run_optimizer(make()), np_steps(ref)):
        close(got, want, 1e-5)


@pytest.mark.parametrize("name,kwargs", [
    ("RMSprop", {"learning_rate": 0.01}), ("RMSprop", {"learning_rate": 0.01, "centered": True}),
    ("RMSprop", {"learning_rate": 0.01, "momentum": 0.9}), ("Nadam", {"learning_rate": 0.05}),
    ("Adam", {"learning_rate": 0.05, "amsgrad": True}), ("Adagrad", {"learning_rate": 0.1}),
])
def test_optimizers_match_keras3(name, kwargs):
    """Six steps on fixed gradients equal Keras 3's (tf.keras since TensorFlow 2.16)."""
    k3 = pytest.importorskip("keras")
    if not k3.__version__.startswith("3"):
        pytest.skip("needs Keras 3")
    rng = np.random.RandomState(0)
    w0 = rng.randn(5).astype(np.float32)
    grads = [rng.randn(5).astype(np.float32) for _ in range(6)]
    ours, var = getattr(keras.optimizers, name)(**kwargs), jg.Variable(w0)
    theirs, kvar = getattr(k3.optimizers, name)(**kwargs), k3.Variable(w0)
    for g in grads:
        ours.apply_gradients([(jg.constant(g), var)])
        theirs.apply_gradients([(g, kvar)])
        close(var.numpy(), np.asarray(kvar.numpy()), 1e-5)


def test_optimizer_in_function_and_learning_rate_variable():
    lr = jg.Variable(np.float32(0.1), trainable=False)
    opt = keras.optimizers.SGD(learning_rate=lr)
    w = jg.Variable(np.array([1.0, 2.0], np.float32))

    @jg.function
    def step():
        with jg.GradientTape() as tape:
            loss = jg.reduce_sum(jg.square(w))
        opt.apply_gradients(zip(tape.gradient(loss, [w]), [w]))

    step()
    close(w.numpy(), [0.8, 1.6])
    opt.learning_rate = 0.5  # the compiled step reads the variable: no retrace needed
    step()
    close(w.numpy(), [0.0, 0.0])
    assert int(opt.iterations.numpy()) == 2
    assert keras.optimizers.get("adam").get_config()["name"] == "Adam"


def test_constraint_applied_after_update():
    w = jg.Variable(np.array([0.5, -0.2], np.float32), constraint=keras.constraints.NonNeg())
    keras.optimizers.SGD(1.0).apply_gradients([(jg.constant([1.0, -1.0]), w)])
    close(w.numpy(), [0.0, 0.8])


def test_apply_gradients_all_none_is_a_clear_error():
    w = jg.Variable([1.0])
    with pytest.raises(ValueError, match="no gradients"):
        keras.optimizers.Adam().apply_gradients([(None, w)])


# ----------------------------------------- activations, initializers, regularizers, constraints

def test_activations():
    x = np.linspace(-3, 3, 7).astype(np.float32)
    close(keras.activations.get("relu")(x), np.maximum(x, 0))
    close(keras.activations.get("elu")(x), np.where(x > 0, x, np.expm1(x)))
    close(keras.activations.get("selu")(x),
          1.0507009873554805 * np.where(x > 0, x, 1.6732632423543772 * np.expm1(x)))
    close(keras.activations.get("softplus")(x), np.log1p(np.exp(x)))
    s = np.exp(x) / np.exp(x).sum()
    close(keras.activations.get("softmax")(x[None]), s[None])
    assert keras.activations.get(None)(x) is x
    with pytest.raises(ValueError, match="Unknown activation function: 'nope'"):
        keras.activations.get("nope")


@pytest.mark.parametrize("name,check", [
    ("zeros", lambda a: np.all(a == 0)),
    ("ones", lambda a: np.all(a == 1)),
    ("glorot_uniform", lambda a: np.abs(a).max() <= np.sqrt(6 / (40 + 60))),
    ("he_uniform", lambda a: np.abs(a).max() <= np.sqrt(6 / 40)),
    ("he_normal", lambda a: abs(a.std() - np.sqrt(2 / 40)) < 0.02),
    ("glorot_normal", lambda a: abs(a.std() - np.sqrt(2 / 100)) < 0.02),
])
def test_initializers(name, check):
    a = np.asarray(keras.initializers.get(name)((40, 60)))
    assert a.shape == (40, 60) and a.dtype == np.float32 and check(a)


def test_seeded_initializers_repeat_and_unseeded_follow_global_seed():
    a = keras.initializers.GlorotNormal(seed=3)((5, 4))
    b = keras.initializers.GlorotNormal(seed=3)((5, 4))
    close(a, b, 0)
    jg.random.set_seed(11)
    c = keras.initializers.RandomNormal()((3,))
    jg.random.set_seed(11)
    d = keras.initializers.RandomNormal()((3,))
    close(c, d, 0)
    u = np.asarray(keras.initializers.RandomUniform(-2, 3, seed=1)((1000,)))
    assert u.min() >= -2 and u.max() <= 3 and u.std() > 1
    close(keras.initializers.Constant(2.5)((2,)), [2.5, 2.5])


def test_regularizers_and_constraints():
    w = np.array([[1.0, -2.0], [0.5, 3.0]], np.float32)
    close(keras.regularizers.l1(0.1)(w), 0.1 * np.abs(w).sum())
    close(keras.regularizers.l2(0.1)(w), 0.1 * (w**2).sum())
    close(keras.regularizers.l1_l2(0.1, 0.2)(w), 0.1 * np.abs(w).sum() + 0.2 * (w**2).sum())
    assert keras.regularizers.get({"class_name": "L2", "config": {"l2": 0.3}}).l2 == \
        pytest.approx(0.3)
    close(keras.constraints.NonNeg()(w), np.maximum(w, 0))
    norms = np.sqrt((w**2).sum(0, keepdims=True))
    close(keras.constraints.MaxNorm(2.0)(w), w * np.minimum(norms, 2.0) / (norms + 1e-7))
