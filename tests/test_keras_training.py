"""jg.keras training: fit/evaluate/predict (compiled and eager), History, progress bar,
callbacks, the custom training loop with Nadam, and fit on the digits set."""

import io
import re

import numpy as np
import pytest

import jitgraph as jg

keras = jg.keras


def regression_data(n=150, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 8)).astype(np.float32)
    y = (X @ rng.normal(size=(8, 1)) + 0.3).astype(np.float32)
    return X, y


def small_model(seed=0, **dense_kwargs):
    jg.random.set_seed(seed)
    return keras.Sequential([
        keras.layers.Dense(16, activation="relu", input_shape=(8,), **dense_kwargs),
        keras.layers.Dense(1)])


def test_fit_returns_history_and_learns():
    X, y = regression_data()
    model = small_model()
    model.compile(loss="mse", optimizer=keras.optimizers.Adam(0.01), metrics=["mae"])
    before = model.evaluate(X, y, verbose=0)
    hist = model.fit(X, y, epochs=5, batch_size=32, verbose=0, validation_data=(X, y))
    assert set(hist.history) == {"loss", "mae", "val_loss", "val_mae"}
    assert len(hist.history["loss"]) == 5 and hist.epoch == list(range(5))
    assert hist.history["loss"][-1] < hist.history["loss"][0]
    loss, mae = model.evaluate(X, y, verbose=0)
    assert loss < before[0] / 2
    assert loss == pytest.approx(hist.history["val_loss"][-1], rel=1e-5)
    pred = model.predict(X, batch_size=64)
    assert pred.shape == (150, 1)
    np.testing.assert_allclose(mae, np.abs(pred - y).mean(), rtol=1e-4)
    assert model.evaluate(X, y, verbose=0, return_dict=True)["mae"] == pytest.approx(mae)


def test_compiled_step_traced_once_with_a_smaller_last_batch():
    if not hasattr(jg, "function"):
        pytest.skip("jg.function is not available")
    X, y = regression_data(n=100)  # batches of 32, 32, 32 and 4
    model = small_model()
    model.compile(loss="mse", optimizer="sgd")
    model.fit(X, y, epochs=2, batch_size=32, verbose=0)
    assert model._train_function.experimental_get_tracing_count() == 1


def test_eager_and_compiled_fit_give_the_same_weights():
    X, y = regression_data(n=100)
    weights = []
    for eager in (True, False):
        model = small_model(seed=5, kernel_regularizer="l2")
        model.compile(loss="mse", optimizer=keras.optimizers.SGD(0.01, momentum=0.9),
                      metrics=["mae"], run_eagerly=eager)
        jg.random.set_seed(9)  # the same shuffling in both runs
        model.fit(X, y, epochs=1, batch_size=16, verbose=0)
        weights.append(model.get_weights())
    for a, b in zip(*weights):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    assert not np.allclose(weights[0][0], small_model(seed=5).get_weights()[0])


def test_progress_bar_lines(capsys):
    X, y = regression_data(n=64)
    model = small_model()
    model.compile(loss="mse", optimizer="adam", metrics=["mae"])
    model.fit(X, y, epochs=2, batch_size=32, verbose=1)
    out = capsys.readouterr().out
    assert out.count("Epoch ") == 2 and "Epoch 2/2" in out
    line = [ln for ln in out.splitlines() if ln.startswith("2/2 [")][0]
    assert "=" * 30 in line and " - loss: " in line and "mae: " in line
    assert re.search(r" \d+(ms|us)/step", line)
    model.fit(X, y, epochs=1, batch_size=32, verbose=2)
    assert capsys.readouterr().out.splitlines()[1].startswith("2/2 - ")
    model.fit(X, y, epochs=1, verbose=0)
    assert capsys.readouterr().out == ""


def test_progress_bar_eta_on_terminals():
    class Tty(io.StringIO):
        def isatty(self):
            return True

    stream = Tty()
    bar = keras.callbacks.Progbar(10, stream=stream, interval=0.0)
    bar.update(3, {"loss": 0.5})
    assert "ETA:" in stream.getvalue() and "3/10 [" in stream.getvalue()
    assert stream.getvalue().startswith("\r")


def test_callbacks_early_stopping_and_lambda():
    X, y = regression_data(n=64)
    model = small_model()
    model.compile(loss="mse", optimizer=keras.optimizers.SGD(0.0))  # nothing improves
    epochs_seen = []
    cb = keras.callbacks.LambdaCallback(on_epoch_end=lambda e, logs: epochs_seen.append(e))
    stop = keras.callbacks.EarlyStopping(monitor="loss", patience=1, min_delta=1e-3)
    hist = model.fit(X, y, epochs=10, verbose=0, callbacks=[cb, stop])
    assert len(hist.history["loss"]) == 2 and epochs_seen == [0, 1]


def test_fit_with_add_loss_model_and_layer_metric():
    from test_keras_layers import ReconstructingRegressor

    X, y = regression_data(n=64)
    jg.random.set_seed(1)
    model = ReconstructingRegressor(1)
    model.compile(loss="mse", optimizer="nadam")
    hist = model.fit(X, y, epochs=2, verbose=0)
    assert "reconstruction_error" in hist.history
    assert hist.history["reconstruction_error"][1] < hist.history["reconstruction_error"][0]


def test_fit_errors_are_clear():
    X, y = regression_data(n=10)
    model = small_model()
    with pytest.raises(RuntimeError, match="compile"):
        model.fit(X, y, verbose=0)
    model.compile(loss="mse", optimizer="sgd")
    with pytest.raises(ValueError, match="same number of samples"):
        model.fit(X, y[:5], verbose=0)


def test_custom_training_loop_with_nadam_and_metrics():
    X, y = regression_data(n=256, seed=1)
    jg.random.set_seed(2)
    l2_reg = keras.regularizers.l2(0.05)
    model = keras.models.Sequential([
        keras.layers.Dense(30, activation="elu", kernel_initializer="he_normal",
                           kernel_regularizer=l2_reg),
        keras.layers.Dense(1, kernel_regularizer=l2_reg)])
    optimizer = keras.optimizers.Nadam(learning_rate=0.01)
    loss_fn = keras.losses.mean_squared_error
    mean_loss = keras.metrics.Mean()
    metrics = [keras.metrics.MeanAbsoluteError()]
    rng = np.random.default_rng(0)
    history = []
    for _epoch in range(3):
        for _step in range(len(X) // 32):
            idx = rng.integers(len(X), size=32)
            X_batch, y_batch = X[idx], y[idx]
            with jg.GradientTape() as tape:
                y_pred = model(X_batch, training=True)
                main_loss = jg.reduce_mean(loss_fn(y_batch, y_pred))
                loss = main_loss + sum(model.losses)
            gradients = tape.gradient(loss, model.trainable_variables)
            optimizer.apply_gradients(zip(gradients, model.trainable_variables))
            for variable in model.variables:
                if variable.constraint is not None:
                    variable.assign(variable.constraint(variable))
            mean_loss(loss)
            for metric in metrics:
                metric(y_batch, y_pred)
        history.append((float(mean_loss.result()), float(metrics[0].result())))
        for metric in [mean_loss] + metrics:
            metric.reset_states()
    assert history[-1][0] < history[0][0] and history[-1][1] < history[0][1]
    assert int(optimizer.iterations.numpy()) == 3 * (256 // 32)


def test_train_step_override():
    X, y = regression_data(n=32)
    calls = []

    class Counting(keras.Sequential):
        def train_step(self, data):
            calls.append(1)
            return super().train_step(data)

    model = Counting([keras.layers.Dense(1)])
    model.compile(loss="mse", optimizer="sgd", run_eagerly=True)
    model.fit(X, y, batch_size=8, epochs=1, verbose=0)
    assert len(calls) == 4


def test_fit_on_digits_reaches_accuracy():
    datasets = pytest.importorskip("sklearn.datasets",
                                   reason="scikit-learn (the `test` extra) provides the "
                                          "digits data set")
    digits = datasets.load_digits()
    X = (digits.data / 16.0).astype(np.float32)
    y = digits.target.astype(np.int32)
    rng = np.random.default_rng(0)
    order = rng.permutation(len(X))
    X, y = X[order], y[order]
    X_train, y_train, X_val, y_val = X[:1400], y[:1400], X[1400:], y[1400:]
    jg.random.set_seed(0)
    model = keras.Sequential([keras.Input(shape=(64,)),
                              keras.layers.Dense(64, activation="relu"),
                              keras.layers.Dense(10, activation="softmax")])
    model.compile(loss="sparse_categorical_crossentropy",
                  optimizer=keras.optimizers.Adam(0.01), metrics=["accuracy"])
    hist = model.fit(X_train, y_train, epochs=8, batch_size=64, verbose=0,
                     validation_data=(X_val, y_val))
    assert hist.history["val_accuracy"][-1] >= 0.93
    pred = model.predict(X_val).argmax(-1)
    assert np.mean(pred == y_val) == pytest.approx(hist.history["val_accuracy"][-1],
                                                   abs=1e-6)


def test_evaluate_weights_batches_by_size():
    X, y = regression_data(n=70)
    model = small_model()
    model.compile(loss="mse", optimizer="sgd")
    per_sample = ((model.predict(X) - y) ** 2).mean()
    for bs in (8, 32, 70):
        assert model.evaluate(X, y, batch_size=bs, verbose=0) == pytest.approx(per_sample,
                                                                               rel=1e-5)


def test_compiled_fit_with_dropout():
    X, y = regression_data(n=70)
    jg.random.set_seed(0)
    model = keras.Sequential([keras.layers.Dense(16, activation="relu"),
                              keras.layers.Dropout(0.3), keras.layers.Dense(1)])
    model.compile(loss="mse", optimizer=keras.optimizers.Adam(0.01))
    hist = model.fit(X, y, epochs=4, batch_size=32, verbose=0)
    assert hist.history["loss"][-1] < hist.history["loss"][0]
    # in inference Dropout passes inputs through: predictions are repeatable
    np.testing.assert_array_equal(model.predict(X), model.predict(X))


def test_fit_again_with_labels_of_another_shape_traces_again():
    """A second fit with labels of another rank compiles a step for that signature (it
    failed the first step's input_signature); the first one is kept."""
    rng = np.random.default_rng(0)
    x = rng.random((64, 4)).astype("float32")
    y = rng.integers(0, 3, 64)
    model = jg.keras.Sequential([jg.keras.layers.Dense(3)])
    model.compile(loss=jg.keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  optimizer="sgd")
    model.fit(x, y, epochs=1, batch_size=32, verbose=0)
    h = model.fit(x, y[:, None], epochs=2, batch_size=32, verbose=0)
    assert len(h.history["loss"]) == 2 and np.isfinite(h.history["loss"]).all()
    model.fit(x, y, epochs=1, batch_size=32, verbose=0)
    assert model._train_function.experimental_get_tracing_count() == 2


def _weighted_eval_data():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(10, 3)).astype(np.float32)
    y = rng.normal(size=(10, 1)).astype(np.float32)
    w = rng.uniform(0.1, 1.0, size=10).astype(np.float32)
    return x, y, w


def _linear_model(keras_module, weighted_metrics=None):
    model = keras_module.Sequential([keras_module.Input((3,)), keras_module.layers.Dense(
        1, kernel_initializer="ones", bias_initializer="zeros")])
    model.compile(loss="mse", optimizer="sgd", metrics=["mae"],
                  weighted_metrics=weighted_metrics)
    return model


@pytest.mark.parametrize("run_eagerly", [False, True])
def test_evaluate_with_sample_weight_after_evaluate_without(run_eagerly):
    x, y, w = _weighted_eval_data()
    model = _linear_model(keras)
    model.run_eagerly = run_eagerly
    r = (x.sum(1, keepdims=True) - y)[:, 0]
    plain = model.evaluate(x, y, verbose=0, batch_size=4)
    np.testing.assert_allclose(plain, [(r ** 2).mean(), np.abs(r).mean()], rtol=1e-5)
    # Keras: each batch's loss is sum(w * l) / batch size, batches averaged by size;
    # `metrics` ignore the weights
    weighted = model.evaluate(x, y, sample_weight=w, verbose=0, batch_size=4)
    np.testing.assert_allclose(weighted, [np.mean(w * r ** 2), np.abs(r).mean()], rtol=1e-5)
    assert model.evaluate(x, y, verbose=0, batch_size=4) == plain
    model.fit(x, y, sample_weight=w, epochs=1, batch_size=4, verbose=0, shuffle=False)
    model.fit(x, y, epochs=1, batch_size=4, verbose=0, shuffle=False)
    assert model.predict(x, batch_size=4).shape == (10, 1)
    if not run_eagerly:
        assert model._test_function.experimental_get_tracing_count() == 2


def test_weighted_metrics_receive_the_sample_weights():
    x, y, w = _weighted_eval_data()
    model = _linear_model(keras, weighted_metrics=["mae", "mse"])
    r = (x.sum(1, keepdims=True) - y)[:, 0]
    got = model.evaluate(x, y, sample_weight=w, verbose=0, batch_size=4, return_dict=True)
    assert list(got) == ["loss", "mae", "weighted_mae", "mse"]
    np.testing.assert_allclose(list(got.values()), [
        np.mean(w * r ** 2), np.abs(r).mean(), (w * np.abs(r)).sum() / w.sum(),
        (w * r ** 2).sum() / w.sum()], rtol=1e-5)
    config = model.get_compile_config()
    assert config["weighted_metrics"] == ["mae", "mse"]


def test_weighted_evaluate_matches_tf_keras():
    tf = pytest.importorskip("tensorflow")
    x, y, w = _weighted_eval_data()
    ours = _linear_model(keras, weighted_metrics=["mae"])
    ref = _linear_model(tf.keras, weighted_metrics=["mae"])
    for kwargs in ({}, {"sample_weight": w}):
        got = ours.evaluate(x, y, batch_size=4, verbose=0, return_dict=True, **kwargs)
        want = ref.evaluate(x, y, batch_size=4, verbose=0, return_dict=True, **kwargs)
        assert list(got) == list(want)
        np.testing.assert_allclose(list(got.values()), list(want.values()), rtol=1e-5)
