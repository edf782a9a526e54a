"""Optimizer EMA (use_ema, ema_momentum, ema_overwrite_frequency, finalize_variable_values),
the SwapEMAWeights callback and optimizers.LossScaleOptimizer, against a NumPy reference
(eager and compiled steps) and against tf.keras fits from the same weights and data."""

import numpy as np
import pytest

import jitgraph as jg

K = jg.keras


def _reference(grads, w0, lr, momentum, frequency):
    """Plain SGD with Keras' EMA rule, in float64."""
    w, avg = np.array(w0, np.float64), np.zeros_like(w0, np.float64)
    for step, g in enumerate(grads):
        w = w - lr * g
        m = momentum if step else 0.0
        avg = m * avg + (1 - m) * w
        if frequency and (step + 1) % frequency == 0:
            w = avg.copy()
    return w, avg


@pytest.mark.parametrize("backend", [None, "interpreter", "cpu"])
@pytest.mark.parametrize("frequency", [None, 2])
def test_ema_steps_match_reference(backend, frequency):
    rng = np.random.default_rng(1)
    w0 = rng.normal(size=(3, 2)).astype(np.float32)
    grads = rng.normal(size=(5, 3, 2)).astype(np.float32)
    var = jg.Variable(w0)
    opt = K.optimizers.SGD(0.1, use_ema=True, ema_momentum=0.7,
                           ema_overwrite_frequency=frequency)
    step = opt.apply_gradients if backend is None else jg.function(
        lambda g: opt.apply_gradients([(g, var)]), backend=backend)
    for g in grads:
        step([(g, var)]) if backend is None else step(g)
    w, avg = _reference(grads, w0, 0.1, 0.7, frequency)
    np.testing.assert_allclose(var.numpy(), w, rtol=1e-5, atol=1e-6)
    average = opt.variables[-1]
    assert average.name.startswith(var.name.split(":")[0]) and "average" in average.name
    np.testing.assert_allclose(average.numpy(), avg, rtol=1e-5, atol=1e-6)
    opt.finalize_variable_values([var])
    np.testing.assert_allclose(var.numpy(), avg, rtol=1e-5, atol=1e-6)


def test_without_ema_nothing_changes():
    var = jg.Variable([1.0, 2.0])
    opt = K.optimizers.Adam(0.1)
    opt.apply_gradients([([1.0, 1.0], var)])
    before = var.numpy().copy()
    opt.finalize_variable_values([var])
    np.testing.assert_array_equal(var.numpy(), before)
    assert "use_ema" not in opt.get_config()


def test_config_roundtrip_and_other_optimizers():
    opt = K.optimizers.Adam(use_ema=True, ema_momentum=0.9, ema_overwrite_frequency=4)
    config = opt.get_config()
    assert (config["use_ema"], config["ema_momentum"], config["ema_overwrite_frequency"]) == (
        True, 0.9, 4)
    again = K.optimizers.Adam.from_config(config)
    assert again.use_ema and again.ema_overwrite_frequency == 4
    for cls in (K.optimizers.Adafactor, K.optimizers.Lamb, K.optimizers.Ftrl,
                K.optimizers.Nadam, K.optimizers.AdamW, K.optimizers.Lion):
        var = jg.Variable(np.ones((2, 2), np.float32))
        o = cls(use_ema=True, ema_momentum=0.5)
        o.apply_gradients([(np.ones((2, 2), np.float32), var)])
        first = var.numpy().copy()
        o.apply_gradients([(np.ones((2, 2), np.float32), var)])
        avg = [v for v in o.variables if "average" in v.name]
        assert len(avg) == 1, cls
        np.testing.assert_allclose(avg[0].numpy(), 0.5 * first + 0.5 * var.numpy(), rtol=1e-6)


def test_ema_argument_errors():
    with pytest.raises(ValueError, match=r"Adam: ema_momentum must be in the range \[0, 1\]"):
        K.optimizers.Adam(use_ema=True, ema_momentum=1.5)
    with pytest.raises(ValueError, match="ema_overwrite_frequency must be an integer >= 1"):
        K.optimizers.SGD(use_ema=True, ema_overwrite_frequency=0)
    with pytest.raises(ValueError, match="ema_overwrite_frequency must be an integer"):
        K.optimizers.SGD(use_ema=True, ema_overwrite_frequency=2.5)


def test_loss_scale_optimizer_alias_and_inner_ema():
    assert K.optimizers.LossScaleOptimizer is K.mixed_precision.LossScaleOptimizer
    var = jg.Variable([1.0, 2.0])
    opt = K.optimizers.LossScaleOptimizer(K.optimizers.SGD(0.5, use_ema=True,
                                                           ema_momentum=0.5))
    opt.apply_gradients([([1.0, 1.0], var)])  # step 1: average = var
    opt.apply_gradients([([np.inf, 1.0], var)])  # skipped: neither var nor average moves
    opt.apply_gradients([([1.0, 1.0], var)])
    np.testing.assert_allclose(var.numpy(), [0.0, 1.0])
    opt.finalize_variable_values([var])
    np.testing.assert_allclose(var.numpy(), [0.25, 1.25])


def _model(keras_module, w0, constraint=None):
    m = keras_module.Sequential([
        keras_module.Input((4,)),
        keras_module.layers.Dense(3, activation="tanh", kernel_constraint=constraint),
        keras_module.layers.Dense(2)])
    m.set_weights(w0)
    return m


def _data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(48, 4)).astype(np.float32)
    y = rng.normal(size=(48, 2)).astype(np.float32)
    w0 = [rng.normal(size=(4, 3)).astype(np.float32), np.zeros(3, np.float32),
          rng.normal(size=(3, 2)).astype(np.float32), np.zeros(2, np.float32)]
    return x, y, w0


def _fit(keras_module, name, opt_kwargs, callbacks, constraint=None):
    x, y, w0 = _data()
    m = _model(keras_module, w0, constraint and getattr(keras_module.constraints, constraint)())
    m.compile(optimizer=getattr(keras_module.optimizers, name)(**opt_kwargs), loss="mse")
    seen = []
    record = keras_module.callbacks.LambdaCallback(
        on_epoch_end=lambda e, logs: seen.append([np.array(w) for w in m.get_weights()]))
    h = m.fit(x, y, batch_size=16, epochs=3, shuffle=False, verbose=0,
              validation_data=(x[:16], y[:16]), callbacks=callbacks(keras_module) + [record])
    return [np.asarray(w) for w in m.get_weights()], h.history, seen


CASES = [
    ("SGD", dict(learning_rate=0.1, momentum=0.9, ema_momentum=0.8), None),
    ("Adam", dict(learning_rate=0.01, ema_momentum=0.8, ema_overwrite_frequency=3), None),
    pytest.param("Adam", dict(learning_rate=0.05, ema_momentum=0.6), "NonNeg",
                 marks=pytest.mark.slow),
    pytest.param("Adagrad", dict(learning_rate=0.1, ema_momentum=0.9,
                                 ema_overwrite_frequency=2), None, marks=pytest.mark.slow),
]


@pytest.mark.parametrize("swap_on_epoch", [False, True])
@pytest.mark.parametrize("name,kwargs,constraint", CASES)
def test_fit_with_ema_matches_tf_keras(name, kwargs, constraint, swap_on_epoch):
    keras = pytest.importorskip("keras")

    def callbacks(mod):
        return [mod.callbacks.SwapEMAWeights(swap_on_epoch=swap_on_epoch)]

    ours = _fit(K, name, dict(use_ema=True, **kwargs), callbacks, constraint)
    theirs = _fit(keras, name, dict(use_ema=True, **kwargs), callbacks, constraint)
    for a, b in zip(ours[0], theirs[0]):  # final weights: the averages (finalized)
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    # validation ran on the averages
    np.testing.assert_allclose(ours[1]["val_loss"], theirs[1]["val_loss"], rtol=1e-5)
    np.testing.assert_allclose(ours[1]["loss"], theirs[1]["loss"], rtol=1e-5)
    for ea, eb in zip(ours[2], theirs[2]):  # what later callbacks saw at each epoch's end
        for a, b in zip(ea, eb):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_swap_for_evaluate_and_predict_restores_weights():
    x, y, w0 = _data()
    m = _model(K, w0)
    opt = K.optimizers.SGD(0.1, use_ema=True, ema_momentum=0.9)
    m.compile(optimizer=opt, loss="mse")
    m.fit(x, y, batch_size=16, epochs=1, shuffle=False, verbose=0)
    # fit finalized the weights to the averages; one more step so that they differ again
    opt.apply_gradients(zip([np.ones_like(w) for w in m.get_weights()],
                            m.trainable_variables))
    trained = [w.copy() for w in m.get_weights()]
    averages = [v.numpy() for v in opt.variables if "average" in v.name]
    swap = K.callbacks.SwapEMAWeights()
    seen = []
    probe = K.callbacks.LambdaCallback(
        on_test_batch_end=lambda b, logs: seen.append(m.get_weights()[0].copy()))
    m.evaluate(x, y, verbose=0, callbacks=[swap, probe])
    np.testing.assert_allclose(seen[0], averages[0])
    pred = m.predict(x[:4], callbacks=[swap])
    m2 = _model(K, averages)
    np.testing.assert_allclose(pred, m2.predict(x[:4]), rtol=1e-6)
    for a, b in zip(m.get_weights(), trained):
        np.testing.assert_array_equal(a, b)


def test_swap_requires_use_ema():
    x, y, w0 = _data()
    m = _model(K, w0)
    m.compile(optimizer="sgd", loss="mse")
    with pytest.raises(ValueError, match="use_ema=True; SGD has use_ema=False"):
        m.fit(x, y, epochs=1, verbose=0, callbacks=[K.callbacks.SwapEMAWeights()])


def test_averages_are_slots_saved_by_checkpoints(tmp_path):
    var = jg.Variable([1.0, 2.0], name="w")
    opt = K.optimizers.Adam(0.1, use_ema=True, ema_momentum=0.5)
    for _ in range(3):
        opt.apply_gradients([([1.0, -1.0], var)])
    average = opt.get_slot(var, "average")
    saved = average.numpy().copy()
    path = jg.train.Checkpoint(opt=opt, w=var).save(str(tmp_path / "ckpt"))
    names = [n for n, _ in jg.train.list_variables(path)]
    assert "w/.OPTIMIZER_SLOT/opt/average/.ATTRIBUTES/VARIABLE_VALUE" in names
    var2 = jg.Variable([0.0, 0.0], name="w")
    opt2 = K.optimizers.Adam(0.1, use_ema=True, ema_momentum=0.5)
    jg.train.Checkpoint(opt=opt2, w=var2).restore(path)
    opt2.apply_gradients([([0.0, 0.0], var2)])  # creates the slots: restored on creation
    np.testing.assert_allclose(opt2.get_slot(var2, "average").numpy(),
                               0.5 * saved + 0.5 * var2.numpy(), rtol=1e-6)


def test_model_save_and_load_keeps_averages(tmp_path):
    x, y, w0 = _data()
    m = _model(K, w0)
    m.compile(optimizer=K.optimizers.SGD(0.1, use_ema=True), loss="mse")
    m.fit(x, y, batch_size=16, epochs=1, verbose=0)
    m.save(str(tmp_path / "m.keras"))
    loaded = K.models.load_model(str(tmp_path / "m.keras"))
    assert loaded.optimizer.use_ema
    for a, b in zip(m.optimizer.variables, loaded.optimizer.variables):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
