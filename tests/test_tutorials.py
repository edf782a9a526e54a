"""The cores of TensorFlow's tutorials (basic regression, overfit and underfit, imbalanced
data, time series, CNN, autoencoders, DCGAN, CVAE, data augmentation, customization, custom
training) run on jitgraph unchanged except ``tf`` -> ``jg``, with small synthetic data: each
a regression test of something that failed, compared against TensorFlow (weights copied)
where it is installed."""

import os

import numpy as np
import pytest

import jitgraph as jg

keras = jg.keras
layers = jg.keras.layers


def _tf():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    return pytest.importorskip("tensorflow")


def _copy_weights(src_tf, dst_jg):
    dst_jg.set_weights([np.asarray(w) for w in src_tf.get_weights()])


# ------------------------------------------------------------------------ basic regression

def _auto_mpg(n=64, seed=0):
    rng = np.random.RandomState(seed)
    x = (rng.rand(n, 9) * np.array([8, 400, 200, 5000, 20, 12, 1, 1, 1])).astype("float32")
    y = (x[:, 0] * 2 - x[:, 1] / 50 + x[:, 3] / 1000 + rng.randn(n)).astype("float32")
    return x, y


def test_basic_regression_one_feature_vector_into_input_shape_1():
    """``Normalization(input_shape=[1], axis=None)`` fed a vector of samples: Keras adds the
    missing trailing axis of size 1 (predict, fit and evaluate on ``x[:, 1]``)."""
    x, y = _auto_mpg()
    horsepower = x[:, 1]
    norm = layers.Normalization(input_shape=[1], axis=None)
    norm.adapt(horsepower)
    model = keras.Sequential([norm, layers.Dense(units=1)])
    assert model.predict(horsepower[:10], verbose=0).shape == (10, 1)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.1),
                  loss="mean_absolute_error")
    history = model.fit(horsepower, y, epochs=2, verbose=0, validation_split=0.2)
    assert sorted(history.history) == ["loss", "val_loss"] and history.epoch == [0, 1]
    assert np.isfinite(model.evaluate(horsepower, y, verbose=0))
    assert model.predict(jg.linspace(0.0, 250, 251), verbose=0).shape == (251, 1)
    inputs = keras.Input(shape=(1,))
    functional = keras.Model(inputs, layers.Dense(2)(inputs))
    assert functional(horsepower[:3]).shape == (3, 2)
    assert functional(horsepower[:3, None, None]).shape == (3, 2)  # a trailing 1 squeezed

    tf = _tf()
    k_norm = tf.keras.layers.Normalization(input_shape=[1], axis=None)
    k_norm.adapt(horsepower)
    k_model = tf.keras.Sequential([k_norm, tf.keras.layers.Dense(units=1)])
    _copy_weights(k_model, model)
    np.testing.assert_allclose(model.predict(horsepower, verbose=0),
                               k_model.predict(horsepower, verbose=0), rtol=1e-5, atol=1e-5)


def test_basic_regression_normalization_weights_and_dataset_adapt():
    """The Normalization layer has Keras' weights (mean, variance, count), so weights copy
    across; ``adapt`` takes a dataset of batches too."""
    x, y = _auto_mpg()
    norm = layers.Normalization(axis=-1)
    norm.adapt(x)
    assert [tuple(w.shape) for w in norm.get_weights()] == [(9,), (9,), ()]
    batched = layers.Normalization()
    batched.adapt(jg.data.Dataset.from_tensor_slices(x).batch(10))
    np.testing.assert_allclose(batched.mean.numpy(), norm.mean.numpy(), rtol=1e-5)
    np.testing.assert_allclose(batched.variance.numpy(), norm.variance.numpy(), rtol=1e-5)
    first = layers.Normalization()
    first.adapt(jg.data.Dataset.from_tensor_slices(x).batch(10), steps=1)
    np.testing.assert_allclose(first.mean.numpy(), x[:10].mean(0), rtol=1e-5)

    tf = _tf()
    k_norm = tf.keras.layers.Normalization(axis=-1)
    k_norm.adapt(x)
    np.testing.assert_allclose(norm(x[:5]).numpy(), k_norm(x[:5]).numpy(), rtol=1e-4,
                               atol=1e-5)
    dnn = keras.Sequential([norm, layers.Dense(8, activation="relu"), layers.Dense(1)])
    k_dnn = tf.keras.Sequential([k_norm, tf.keras.layers.Dense(8, activation="relu"),
                                 tf.keras.layers.Dense(1)])
    k_dnn.build((None, 9))
    dnn.build((None, 9))
    _copy_weights(k_dnn, dnn)
    np.testing.assert_allclose(dnn.predict(x, verbose=0), k_dnn.predict(x, verbose=0),
                               rtol=1e-4, atol=1e-4)


# ------------------------------------------------------------------------ overfit and underfit

def _two_class_data(n=200, features=28, seed=0):
    rng = np.random.RandomState(seed)
    x = rng.randn(n, features).astype("float32")
    y = (x[:, :1] + x[:, 1:2] ** 2 > 1).astype("float32")
    return x, y


def _fit_overfit_model(k, x, y, epochs=2):
    """The tutorial's compile_and_fit on an l2-regularized model (no dropout, no shuffle:
    deterministic), with the InverseTimeDecay schedule and its metrics."""
    schedule = k.optimizers.schedules.InverseTimeDecay(0.01, decay_steps=4, decay_rate=1,
                                                       staircase=False)
    model = k.Sequential([
        k.layers.Dense(16, activation="elu", kernel_regularizer=k.regularizers.l2(0.001),
                       input_shape=(x.shape[1],)),
        k.layers.Dense(1)])
    model.compile(optimizer=k.optimizers.Adam(schedule),
                  loss=k.losses.BinaryCrossentropy(from_logits=True),
                  metrics=[k.metrics.BinaryCrossentropy(from_logits=True,
                                                        name="binary_crossentropy"),
                           "accuracy"])
    return model


def test_overfit_underfit_regularized_fit_matches_tensorflow():
    x, y = _two_class_data()
    model = _fit_overfit_model(keras, x, y)
    stop = keras.callbacks.EarlyStopping(monitor="val_binary_crossentropy", patience=200)
    tf = _tf()
    k_model = _fit_overfit_model(tf.keras, x, y)
    _copy_weights(k_model, model)
    fit = dict(batch_size=50, epochs=3, validation_split=0.25, shuffle=False, verbose=0)
    history = model.fit(x, y, callbacks=[stop], **fit)
    k_history = k_model.fit(x, y, **fit)
    assert sorted(history.history) == sorted(k_history.history)
    for key, values in k_history.history.items():
        np.testing.assert_allclose(history.history[key], values, rtol=2e-4, atol=2e-5,
                                   err_msg=key)
    assert len(model.losses) == 1
    np.testing.assert_allclose(float(model.losses[0]), float(k_model.losses[0]), rtol=1e-4)


# ------------------------------------------------------------------------ imbalanced data

def _imbalanced_metrics(k):
    return [k.metrics.BinaryCrossentropy(name="cross entropy"),
            k.metrics.MeanSquaredError(name="Brier score"),
            k.metrics.TruePositives(name="tp"), k.metrics.FalsePositives(name="fp"),
            k.metrics.TrueNegatives(name="tn"), k.metrics.FalseNegatives(name="fn"),
            k.metrics.BinaryAccuracy(name="accuracy"), k.metrics.Precision(name="precision"),
            k.metrics.Recall(name="recall"), k.metrics.AUC(name="auc"),
            k.metrics.AUC(name="prc", curve="PR")]


def _imbalanced_model(k, output_bias=None):
    if output_bias is not None:
        output_bias = k.initializers.Constant(output_bias)
    model = k.Sequential([k.layers.Dense(16, activation="relu", input_shape=(29,)),
                          k.layers.Dense(1, activation="sigmoid",
                                         bias_initializer=output_bias)])
    model.compile(optimizer=k.optimizers.Adam(learning_rate=1e-2),
                  loss=k.losses.BinaryCrossentropy(), metrics=_imbalanced_metrics(k))
    return model


def _imbalanced_data(n=600, seed=0):
    rng = np.random.RandomState(seed)
    x = rng.randn(n, 29).astype("float32")
    y = (rng.rand(n, 1) < 0.05).astype("int64")
    x[y[:, 0] == 1] += 1.0
    return x, y


def test_imbalanced_class_weight_bias_and_metrics_match_tensorflow():
    x, y = _imbalanced_data()
    neg, pos = np.bincount(y[:, 0])
    initial_bias = np.log([pos / neg])
    model = _imbalanced_model(keras, initial_bias)
    np.testing.assert_allclose(model.layers[-1].bias.numpy(), initial_bias, rtol=1e-6)
    total = neg + pos
    class_weight = {0: (1 / neg) * (total / 2.0), 1: (1 / pos) * (total / 2.0)}
    tf = _tf()
    k_model = _imbalanced_model(tf.keras, initial_bias)
    _copy_weights(k_model, model)
    fit = dict(batch_size=128, epochs=2, validation_data=(x[:150], y[:150]), shuffle=False,
               verbose=0, class_weight=class_weight)
    history = model.fit(x[150:], y[150:], **fit)
    k_history = k_model.fit(x[150:], y[150:], **fit)
    assert sorted(history.history) == sorted(k_history.history)
    for key, values in k_history.history.items():
        np.testing.assert_allclose(history.history[key], values, rtol=2e-3, atol=2e-4,
                                   err_msg=key)
    results = model.evaluate(x, y, batch_size=128, verbose=0, return_dict=True)
    k_results = k_model.evaluate(x, y, batch_size=128, verbose=0, return_dict=True)
    for key, value in k_results.items():
        np.testing.assert_allclose(results[key], value, rtol=2e-3, atol=2e-4, err_msg=key)


def test_imbalanced_early_stopping_restores_best_weights_at_the_end(capsys):
    """EarlyStopping(restore_best_weights=True) puts back the best epoch's weights when fit
    ends, also when it ran all its epochs without stopping (Keras' rule)."""
    x, y = _imbalanced_data(200)

    class Record(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.weights, self.prc = [], []

        def on_epoch_end(self, epoch, logs=None):
            self.weights.append(self.model.get_weights())
            self.prc.append(logs["val_prc"])

    model = _imbalanced_model(keras)
    record = Record()
    stop = keras.callbacks.EarlyStopping(monitor="val_prc", patience=10, mode="max",
                                         restore_best_weights=True, verbose=1)
    model.fit(x, y, batch_size=50, epochs=4, validation_data=(x[:60], y[:60]), verbose=0,
              callbacks=[record, stop])
    assert stop.stopped_epoch == 0  # ran all its epochs
    best = int(np.argmax(record.prc))
    assert best < 3, record.prc  # the last epoch is not the best: restoring shows
    assert stop.best_epoch == best
    for w, b in zip(model.get_weights(), record.weights[best], strict=True):
        np.testing.assert_array_equal(w, b)
    assert f"Restoring model weights from the end of the best epoch: {best + 1}." in \
        capsys.readouterr().out


def test_imbalanced_oversampling_with_sample_from_datasets():
    x, y = _imbalanced_data()
    pos = y[:, 0] == 1

    def make_ds(features, labels):
        return jg.data.Dataset.from_tensor_slices((features, labels)).shuffle(1000).repeat()

    resampled = jg.data.Dataset.sample_from_datasets(
        [make_ds(x[pos], y[pos]), make_ds(x[~pos], y[~pos])], weights=[0.5, 0.5], seed=1)
    resampled = resampled.batch(256).prefetch(2)
    features, label = next(iter(resampled))
    assert features.shape == (256, 29) and label.shape == (256, 1)
    assert 0.4 < float(np.mean(label.numpy())) < 0.6
    model = _imbalanced_model(keras)
    model.layers[-1].bias.assign([0.0])
    val = jg.data.Dataset.from_tensor_slices((x[:100], y[:100])).cache().batch(64)
    history = model.fit(resampled, epochs=2, steps_per_epoch=3, validation_data=val,
                        verbose=0)
    assert len(history.history["val_prc"]) == 2
