"""Adamax, Adadelta, Ftrl and Lion: each step against a NumPy transcription of the update
rule and (where TensorFlow is installed) tf.keras's optimizer, eager and inside a compiled
step, with learning-rate schedules, in fit, and saved with the model."""

import numpy as np
import pytest

import jitgraph as jg

keras = jg.keras
RNG = np.random.default_rng(11)
W0 = RNG.normal(size=(3, 2)).astype(np.float32)
GRADS = [RNG.normal(size=(3, 2)).astype(np.float32) for _ in range(5)]


def close(a, b, tol=1e-5):
    np.testing.assert_allclose(np.asarray(a, np.float64), np.asarray(b, np.float64),
                               rtol=tol, atol=tol)


# NumPy transcriptions of the update rules, one step each: (w, state, g, t, lr) -> w
def np_adamax(w, s, g, t, lr, b1=0.9, b2=0.999, eps=1e-7):
    s["m"] = s.get("m", 0 * w) + (g - s.get("m", 0 * w)) * (1 - b1)
    s["u"] = np.maximum(b2 * s.get("u", 0 * w), np.abs(g))
    return w - lr * s["m"] / ((1 - b1 ** t) * (s["u"] + eps))


def np_adadelta(w, s, g, t, lr, rho=0.95, eps=1e-7):
    s["ag"] = rho * s.get("ag", 0 * w) + (1 - rho) * g * g
    ad = s.get("ad", 0 * w)
    delta = -np.sqrt(ad + eps) * g / np.sqrt(s["ag"] + eps)
    s["ad"] = rho * ad + (1 - rho) * delta * delta
    return w + lr * delta


def np_ftrl(w, s, g, t, lr, power=-0.5, init=0.1, l1=0.0, l2=0.0, shrink=0.0, beta=0.0):
    acc = s.get("acc", np.full_like(w, init))
    l2 = l2 + beta / (2 * lr)
    new_acc = acc + g * g
    s["lin"] = s.get("lin", 0 * w) + g + 2 * shrink * w - (
        new_acc ** -power - acc ** -power) / lr * w
    quad = new_acc ** -power / lr + 2 * l2
    s["acc"] = new_acc
    return (np.clip(s["lin"], -l1, l1) - s["lin"]) / quad


def np_lion(w, s, g, t, lr, b1=0.9, b2=0.99):
    m = s.get("m", 0 * w)
    w = w - lr * np.sign(m * b1 + g * (1 - b1))
    s["m"] = m * b2 + g * (1 - b2)
    return w


CASES = [
    ("Adamax", {}, np_adamax, {}),
    ("Adamax", {"beta_1": 0.8, "beta_2": 0.9, "epsilon": 1e-3}, np_adamax,
     {"b1": 0.8, "b2": 0.9, "eps": 1e-3}),
    ("Adadelta", {}, np_adadelta, {}),
    ("Adadelta", {"rho": 0.5, "epsilon": 1e-4}, np_adadelta, {"rho": 0.5, "eps": 1e-4}),
    ("Ftrl", {}, np_ftrl, {}),
    ("Ftrl", {"learning_rate_power": -0.7, "initial_accumulator_value": 0.3,
              "l1_regularization_strength": 0.01, "l2_regularization_strength": 0.02,
              "l2_shrinkage_regularization_strength": 0.05, "beta": 0.1}, np_ftrl,
     {"power": -0.7, "init": 0.3, "l1": 0.01, "l2": 0.02, "shrink": 0.05, "beta": 0.1}),
    ("Lion", {}, np_lion, {}),
    ("Lion", {"beta_1": 0.5, "beta_2": 0.8}, np_lion, {"b1": 0.5, "b2": 0.8}),
]
IDS = [f"{c[0]}-{i}" for i, c in enumerate(CASES)]


def run_steps(opt, compiled):
    var = jg.Variable(W0)
    step = (jg.function(lambda g: opt.apply_gradients([(g, var)])) if compiled
            else lambda g: opt.apply_gradients([(g, var)]))
    out = []
    for g in GRADS:
        step(jg.constant(g))
        out.append(var.numpy().copy())
    return out


@pytest.mark.parametrize("compiled", [False, True], ids=["eager", "compiled"])
@pytest.mark.parametrize("name,kwargs,ref,ref_kwargs", CASES, ids=IDS)
def test_update_rule_matches_numpy(name, kwargs, ref, ref_kwargs, compiled):
    lr = 0.05
    got = run_steps(getattr(keras.optimizers, name)(learning_rate=lr, **kwargs), compiled)
    w, state = W0.astype(np.float64), {}
    for t, (g, w_got) in enumerate(zip(GRADS, got), start=1):
        w = ref(w, state, g.astype(np.float64), t, lr, **ref_kwargs)
        close(w_got, w, 1e-5)


@pytest.mark.parametrize("name,kwargs,ref,ref_kwargs", CASES, ids=IDS)
def test_update_rule_matches_tf_keras(name, kwargs, ref, ref_kwargs):
    tf = pytest.importorskip("tensorflow")
    lr = 0.05
    tf_opt = getattr(tf.keras.optimizers, name)(learning_rate=lr, **kwargs)
    tf_var = tf.Variable(W0)
    want = []
    for g in GRADS:
        tf_opt.apply_gradients([(tf.constant(g), tf_var)])
        want.append(tf_var.numpy().copy())
    got = run_steps(getattr(keras.optimizers, name)(learning_rate=lr, **kwargs), True)
    for a, b in zip(got, want):
        close(a, b, 1e-5)


@pytest.mark.parametrize("name", ["Adamax", "Adadelta", "Ftrl", "Lion"])
def test_schedule_applies_per_step_like_tf_keras(name):
    sched = keras.optimizers.schedules.ExponentialDecay(0.1, decay_steps=1, decay_rate=0.5)
    got = run_steps(getattr(keras.optimizers, name)(learning_rate=sched), True)
    ref = dict(Adamax=np_adamax, Adadelta=np_adadelta, Ftrl=np_ftrl, Lion=np_lion)[name]
    w, state = W0.astype(np.float64), {}
    for t, (g, w_got) in enumerate(zip(GRADS, got), start=1):
        w = ref(w, state, g.astype(np.float64), t, 0.1 * 0.5 ** (t - 1))
        close(w_got, w, 1e-5)


@pytest.mark.parametrize("name", ["adamax", "adadelta", "ftrl", "lion"])
def test_fit_with_string_name_and_save_load_with_slots(name, tmp_path):
    x = RNG.normal(size=(64, 3)).astype(np.float32)
    y = x @ np.array([[1.0], [-2.0], [0.5]], np.float32)
    model = keras.Sequential([keras.layers.Dense(1, input_shape=(3,))])
    model.compile(loss="mse", optimizer=name)
    model.fit(x, y, batch_size=16, epochs=2, verbose=0)
    opt = model.optimizer
    assert type(opt).__name__.lower() == name
    slot_names = {v.name.split(":")[0].split("/")[-1] for v in opt.variables[2:]}
    assert slot_names == set(type(opt)._slot_names)
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    assert type(loaded.optimizer) is type(opt)
    assert loaded.optimizer.get_config() == opt.get_config()
    for a, b in zip(loaded.optimizer.variables, opt.variables):
        close(a.numpy(), b.numpy())
    # the loaded model continues training exactly as the original does
    model.fit(x, y, batch_size=16, epochs=1, verbose=0, shuffle=False)
    loaded.fit(x, y, batch_size=16, epochs=1, verbose=0, shuffle=False)
    for a, b in zip(loaded.weights, model.weights):
        close(a.numpy(), b.numpy())


def test_config_round_trip_and_argument_errors():
    ftrl = keras.optimizers.Ftrl(0.2, l1_regularization_strength=0.1, beta=0.5)
    cfg = ftrl.get_config()
    assert cfg["learning_rate"] == pytest.approx(0.2) and cfg["beta"] == 0.5
    assert keras.optimizers.Ftrl.from_config(cfg).get_config() == cfg
    for cls in (keras.optimizers.Adamax, keras.optimizers.Adadelta, keras.optimizers.Lion):
        c = cls().get_config()
        assert cls.from_config(c).get_config() == c
        assert c["learning_rate"] == pytest.approx(0.001)
    with pytest.raises(ValueError, match="Ftrl: learning_rate_power must be negative or zero"):
        keras.optimizers.Ftrl(learning_rate_power=0.5)
    with pytest.raises(ValueError, match="Ftrl: initial_accumulator_value must be positive"):
        keras.optimizers.Ftrl(initial_accumulator_value=-1.0)
    with pytest.raises(ValueError, match=r"Lion: beta_1 must be in \(0, 1\]"):
        keras.optimizers.Lion(beta_1=0.0)
