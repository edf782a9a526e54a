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


@pytest.mark.slow
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

    scores = [0.5, 0.9, 0.3, 0.2]  # the monitored value, fixed: epoch 1 is the best

    class Record(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.weights = []

        def on_epoch_end(self, epoch, logs=None):
            self.weights.append(self.model.get_weights())
            logs["val_prc"] = scores[epoch]  # callbacks share one logs dict (Keras)

    model = _imbalanced_model(keras)
    record = Record()
    stop = keras.callbacks.EarlyStopping(monitor="val_prc", patience=10, mode="max",
                                         restore_best_weights=True, verbose=1)
    model.fit(x, y, batch_size=50, epochs=4, validation_data=(x[:60], y[:60]), verbose=0,
              callbacks=[record, stop])
    assert stop.stopped_epoch == 0  # ran all its epochs
    best = 1
    assert stop.best_epoch == best
    for w, b in zip(model.get_weights(), record.weights[best], strict=True):
        np.testing.assert_array_equal(w, b)
    assert not all(np.array_equal(w, b) for w, b in zip(model.get_weights(),
                                                        record.weights[-1], strict=True))
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


# ------------------------------------------------------------------------ time series

def _weather(n=240, seed=0):
    rng = np.random.RandomState(seed)
    t = np.arange(n)
    day = np.sin(t / 24 * 2 * np.pi)
    data = np.stack([day * 10 + rng.randn(n), 1000 + rng.randn(n), rng.rand(n) * 3, day], 1)
    data = (data - data.mean(0)) / data.std(0)
    return data.astype("float32"), ["T (degC)", "p (mbar)", "wv (m/s)", "Day sin"]


class WindowGenerator:
    """The tutorial's class (with its split_window, make_dataset and example), over one
    array instead of DataFrames."""

    def __init__(self, k, data, columns, input_width, label_width, shift, label_columns=None,
                 shuffle=True):
        self.k, self.data, self.shuffle = k, data, shuffle
        self.label_columns = label_columns
        self.column_indices = {name: i for i, name in enumerate(columns)}
        self.input_width, self.label_width, self.shift = input_width, label_width, shift
        self.total_window_size = input_width + shift
        self.input_slice = slice(0, input_width)
        self.label_start = self.total_window_size - self.label_width
        self.labels_slice = slice(self.label_start, None)

    def split_window(self, features):
        inputs = features[:, self.input_slice, :]
        labels = features[:, self.labels_slice, :]
        if self.label_columns is not None:
            labels = self.k.stack([labels[:, :, self.column_indices[name]]
                                   for name in self.label_columns], axis=-1)
        inputs.set_shape([None, self.input_width, None])
        labels.set_shape([None, self.label_width, None])
        return inputs, labels

    def make_dataset(self, data):
        ds = self.k.keras.utils.timeseries_dataset_from_array(
            data=np.array(data, dtype=np.float32), targets=None,
            sequence_length=self.total_window_size, sequence_stride=1, shuffle=self.shuffle,
            batch_size=32)
        return ds.map(self.split_window)

    @property
    def train(self):
        return self.make_dataset(self.data)

    @property
    def example(self):
        return next(iter(self.train))


def test_timeseries_dataset_from_array_matches_keras():
    data = np.arange(100, dtype=np.float32).reshape(50, 2)
    targets = np.arange(50) * 10
    kw = dict(sequence_length=5, sequence_stride=2, sampling_rate=3, batch_size=4,
              start_index=2, end_index=45)
    ds = keras.utils.timeseries_dataset_from_array(data, targets, **kw)
    assert keras.preprocessing.timeseries_dataset_from_array is \
        keras.utils.timeseries_dataset_from_array
    batches = [(np.asarray(x), np.asarray(y)) for x, y in ds]
    assert int(ds.cardinality()) == len(batches)
    first = batches[0][0][1]  # start position 2 (stride), offset 2 (start_index)
    np.testing.assert_array_equal(first, data[4:4 + 15:3])
    assert batches[0][1][1] == targets[4]
    single = keras.utils.timeseries_dataset_from_array(data, None, 3, batch_size=None)
    np.testing.assert_array_equal(np.asarray(next(iter(single))), data[:3])
    shuffled = keras.utils.timeseries_dataset_from_array(data, None, 3, shuffle=True, seed=4,
                                                          batch_size=8)
    windows = np.concatenate([np.asarray(b) for b in shuffled])
    assert sorted(windows[:, 0, 0]) == list(data[:48, 0])
    with pytest.raises(ValueError, match="sequence_stride"):
        keras.utils.timeseries_dataset_from_array(data, None, 3, sequence_stride=0)
    with pytest.raises(ValueError, match="start_index"):
        keras.utils.timeseries_dataset_from_array(data, None, 3, start_index=60)

    tf = _tf()
    k_ds = tf.keras.utils.timeseries_dataset_from_array(data, targets, **kw)
    k_batches = [(x.numpy(), y.numpy()) for x, y in k_ds]
    assert len(k_batches) == len(batches)
    for (x, y), (kx, ky) in zip(batches, k_batches, strict=True):
        np.testing.assert_array_equal(x, kx)
        np.testing.assert_array_equal(y, ky)


def test_timeseries_window_generator_and_set_shape():
    data, columns = _weather()
    w2 = WindowGenerator(jg, data, columns, input_width=6, label_width=1, shift=1,
                         label_columns=["T (degC)"])
    example_window = jg.stack([data[:7], data[100:107], data[200:207]])
    inputs, labels = w2.split_window(example_window)
    assert inputs.shape == (3, 6, 4) and labels.shape == (3, 1, 1)
    spec = w2.train.element_spec
    assert spec[0].shape == [None, 6, 4] and spec[1].shape == [None, 1, 1]
    with pytest.raises(ValueError, match="not compatible"):
        example_window.set_shape([None, 5, None])

    @jg.function
    def pin(x):
        x.set_shape([None, 3])
        return x * 2.0

    @jg.function(input_signature=[jg.TensorSpec([None, None], jg.float32)])
    def pinned_shape(x):
        x.set_shape([None, 3])
        assert x.shape == [None, 3]  # fixed for the rest of the trace
        return x + 1.0

    np.testing.assert_allclose(pin(np.ones((2, 3), np.float32)).numpy(), 2.0)
    np.testing.assert_allclose(pinned_shape(np.ones((2, 3), np.float32)).numpy(), 2.0)
    # the compiled code checks its reshape sizes before the set_shape assertion runs: the
    # message is reshape's there, the interpreter's is set_shape's
    with pytest.raises(jg.errors.InvalidArgumentError, match="not compatible|cannot reshape"):
        pinned_shape(np.ones((2, 4), np.float32))


def _baseline_and_reshape_models(k, num_features, out_steps):
    class MultiStepLastBaseline(k.keras.Model):
        def call(self, inputs):
            return k.tile(inputs[:, -1:, :], [1, out_steps, 1])

    multi_dense = k.keras.Sequential([
        k.keras.layers.Flatten(), k.keras.layers.Dense(units=8, activation="relu"),
        k.keras.layers.Dense(units=1), k.keras.layers.Reshape([1, -1])])
    multi_conv = k.keras.Sequential([
        k.keras.layers.Lambda(lambda x: x[:, -3:, :]),
        k.keras.layers.Conv1D(16, activation="relu", kernel_size=3),
        k.keras.layers.Dense(out_steps * num_features,
                             kernel_initializer=k.initializers.zeros()),
        k.keras.layers.Reshape([out_steps, num_features])])
    return MultiStepLastBaseline(), multi_dense, multi_conv


def test_timeseries_single_and_multi_step_models():
    data, columns = _weather()
    conv_window = WindowGenerator(jg, data, columns, 3, 1, 1, label_columns=["T (degC)"])
    baseline, multi_dense, multi_conv = _baseline_and_reshape_models(jg, 4, out_steps=6)
    x, _ = conv_window.example
    assert multi_dense(x).shape == (32, 1, 1)
    wide = WindowGenerator(jg, data, columns, 24, 24, 1, label_columns=["T (degC)"])
    with pytest.raises(ValueError, match="expected axis -1 of input shape to have value 12"):
        multi_dense(wide.example[0])
    multi_window = WindowGenerator(jg, data, columns, 24, 6, 6, shuffle=False)
    mx, my = multi_window.example
    assert baseline(mx).shape == my.shape == (32, 6, 4)
    assert multi_conv(mx).shape == (32, 6, 4)
    multi_conv.compile(loss=keras.losses.MeanSquaredError(), optimizer=keras.optimizers.Adam(),
                       metrics=[keras.metrics.MeanAbsoluteError()])
    history = multi_conv.fit(multi_window.train, epochs=1, verbose=0)
    assert sorted(history.history) == ["loss", "mean_absolute_error"]
    with pytest.raises(ValueError, match="at most one -1"):
        layers.Reshape([-1, -1])
    with pytest.raises(ValueError, match="cannot be reshaped"):
        layers.Reshape([5, -1])(np.zeros((2, 12), np.float32))

    tf = _tf()
    k_multi_window = WindowGenerator(tf, data, columns, 24, 6, 6, shuffle=False)
    k_baseline, _, k_multi_conv = _baseline_and_reshape_models(tf, 4, out_steps=6)
    k_baseline.compile(loss="mse", metrics=["mae"])
    baseline.compile(loss="mse", metrics=["mae"])
    np.testing.assert_allclose(
        baseline.evaluate(multi_window.train, verbose=0),
        k_baseline.evaluate(k_multi_window.train, verbose=0), rtol=1e-5)
    k_multi_conv(k_multi_window.example[0])
    _copy_weights(k_multi_conv, multi_conv)
    np.testing.assert_allclose(multi_conv(mx).numpy(),
                               k_multi_conv(k_multi_window.example[0]).numpy(), rtol=1e-4,
                               atol=1e-5)


def _feedback_class(k):
    class FeedBack(k.keras.Model):
        """The tutorial's autoregressive model: an LSTMCell run over its own predictions."""

        def __init__(self, units, out_steps, num_features):
            super().__init__()
            self.out_steps, self.units = out_steps, units
            self.lstm_cell = k.keras.layers.LSTMCell(units)
            self.lstm_rnn = k.keras.layers.RNN(self.lstm_cell, return_state=True)
            self.dense = k.keras.layers.Dense(num_features)

        def warmup(self, inputs):
            x, *state = self.lstm_rnn(inputs)
            return self.dense(x), state

        def call(self, inputs, training=None):
            predictions = []
            prediction, state = self.warmup(inputs)
            predictions.append(prediction)
            for _ in range(1, self.out_steps):
                x, state = self.lstm_cell(prediction, states=state, training=training)
                prediction = self.dense(x)
                predictions.append(prediction)
            predictions = k.stack(predictions)
            return k.transpose(predictions, [1, 0, 2])

    return FeedBack


def test_timeseries_feedback_lstm_and_residual_wrapper():
    data, columns = _weather()
    window = WindowGenerator(jg, data, columns, 12, 4, 4, shuffle=False)
    model = _feedback_class(jg)(units=8, out_steps=4, num_features=4)
    x, y = window.example
    prediction, state = model.warmup(x)
    assert prediction.shape == (32, 4) and len(state) == 2
    assert model(x).shape == y.shape == (32, 4, 4)

    class ResidualWrapper(keras.Model):
        def __init__(self, model):
            super().__init__()
            self.model = model

        def call(self, inputs, *args, **kwargs):
            return inputs + self.model(inputs, *args, **kwargs)

    residual = ResidualWrapper(keras.Sequential([
        layers.LSTM(8, return_sequences=True),
        layers.Dense(4, kernel_initializer=jg.initializers.zeros())]))
    np.testing.assert_allclose(residual(x).numpy(), x.numpy())

    tf = _tf()

    k_model = _feedback_class(tf)(units=8, out_steps=4, num_features=4)
    k_model(x.numpy())
    fresh = _feedback_class(jg)(units=8, out_steps=4, num_features=4)
    fresh(x)
    _copy_weights(k_model, fresh)
    np.testing.assert_allclose(fresh(x).numpy(), k_model(x.numpy()).numpy(), rtol=1e-4,
                               atol=1e-5)


@pytest.mark.slow
def test_timeseries_feedback_lstm_fits():
    data, columns = _weather()
    window = WindowGenerator(jg, data, columns, 12, 4, 4)
    model = _feedback_class(jg)(units=8, out_steps=4, num_features=4)
    model.compile(loss="mse", optimizer="adam", metrics=["mae"])
    history = model.fit(window.train, epochs=2, validation_data=window.train, verbose=0)
    assert history.history["loss"][1] < history.history["loss"][0]
    assert sorted(history.history) == ["loss", "mae", "val_loss", "val_mae"]


# ------------------------------------------------------------------------ CNN, autoencoders

def _cifar_cnn(k):
    model = k.models.Sequential()
    model.add(k.layers.Conv2D(8, (3, 3), activation="relu", input_shape=(32, 32, 3)))
    model.add(k.layers.MaxPooling2D((2, 2)))
    model.add(k.layers.Conv2D(8, (3, 3), activation="relu"))
    model.add(k.layers.MaxPooling2D((2, 2)))
    model.add(k.layers.Flatten())
    model.add(k.layers.Dense(10))
    model.compile(optimizer="adam",
                  loss=k.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    return model


@pytest.mark.slow
def test_cnn_on_cifar_shaped_data_with_uint8_labels_matches_tensorflow():
    """CIFAR's images and labels are uint8 (a dtype jitgraph lacks): fit, evaluate and calls
    take them as int32."""
    rng = np.random.RandomState(0)
    images = rng.randint(0, 256, (48, 32, 32, 3)).astype("uint8")
    labels = rng.randint(0, 10, (48, 1)).astype("uint8")
    model = _cifar_cnn(keras)
    assert model(images[:2]).shape == (2, 10)  # uint8 pixels into the model
    tf = _tf()
    k_model = _cifar_cnn(tf.keras)
    _copy_weights(k_model, model)
    x = images / 255.0
    fit = dict(epochs=2, batch_size=16, shuffle=False, validation_data=(x[:16], labels[:16]),
               verbose=0)
    history = model.fit(x, labels, **fit)
    k_history = k_model.fit(x, labels, **fit)
    for key, values in k_history.history.items():
        np.testing.assert_allclose(history.history[key], values, rtol=1e-3, atol=1e-4,
                                   err_msg=key)
    np.testing.assert_allclose(model.evaluate(x, labels, verbose=0),
                               k_model.evaluate(x, labels, verbose=0), rtol=1e-3)


def test_uint8_images_and_labels_into_models():
    """uint8 pixels become the Input's float32 (Keras converts inputs to the Input's dtype);
    uint8 labels go through fit as int32; a float fed to an int32 Input is converted."""
    rng = np.random.RandomState(0)
    pixels = rng.randint(0, 256, (6, 4)).astype("uint8")
    labels = rng.randint(0, 3, (6, 1)).astype("uint8")
    model = keras.Sequential([keras.Input((4,)), layers.Dense(3)])
    np.testing.assert_allclose(model(pixels).numpy(), model(pixels.astype("float32")).numpy())
    model.compile(optimizer="sgd",
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    history = model.fit(pixels / 255.0, labels, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    ids = keras.Input((4,), dtype="int32")
    doubled = keras.Model(ids, layers.Lambda(lambda x: x * 2)(ids))
    assert doubled(np.ones((2, 4), np.float32)).dtype == jg.int32


def test_boolean_mask_indexing_of_tensors():
    """``train_data[train_labels]`` with a bool array: boolean_mask, as TensorFlow."""
    t = jg.constant(np.arange(12.0).reshape(4, 3))
    mask = np.array([True, False, True, False])
    np.testing.assert_array_equal(t[mask].numpy(), np.arange(12.0).reshape(4, 3)[mask])
    np.testing.assert_array_equal(t[~mask].numpy(), np.arange(12.0).reshape(4, 3)[~mask])
    np.testing.assert_array_equal(t[jg.constant(mask)].numpy(), t[mask].numpy())
    np.testing.assert_array_equal(t[t > 5].numpy(), np.arange(6.0, 12.0))
    np.testing.assert_array_equal(t[[True, False, True, True]].numpy()[:, 0], [0, 6, 9])
    with pytest.raises(jg.errors.InvalidArgumentError, match="does not match"):
        t[np.array([True, False])]

    @jg.function
    def inside(x):
        return x[x > 1.0]

    with pytest.raises(jg.errors.UnimplementedError, match="jg.where"):
        inside(t)


def _anomaly_detector(k):
    class AnomalyDetector(k.keras.Model):
        def __init__(self):
            super().__init__()
            self.encoder = k.keras.Sequential([k.keras.layers.Dense(16, activation="relu"),
                                               k.keras.layers.Dense(8, activation="relu")])
            self.decoder = k.keras.Sequential([k.keras.layers.Dense(16, activation="relu"),
                                               k.keras.layers.Dense(40, activation="sigmoid")])

        def call(self, x):
            return self.decoder(self.encoder(x))

    return AnomalyDetector()


@pytest.mark.slow
def test_autoencoder_anomaly_detection_threshold_matches_tensorflow():
    rng = np.random.RandomState(0)
    raw = rng.randn(120, 41).astype("float32")
    labels, data = raw[:, -1] > 0, raw[:, :-1]
    min_val, max_val = jg.reduce_min(data), jg.reduce_max(data)
    data = jg.cast((data - min_val) / (max_val - min_val), jg.float32)
    normal, anomalous = data[labels], data[~labels]
    model = _anomaly_detector(jg)
    model.compile(optimizer="adam", loss="mae")
    model(normal[:1])
    tf = _tf()
    k_model = _anomaly_detector(tf)
    k_model.compile(optimizer="adam", loss="mae")
    k_model(normal.numpy()[:1])
    _copy_weights(k_model, model)
    fit = dict(epochs=2, batch_size=32, shuffle=False, verbose=0,
               validation_data=(data.numpy(), data.numpy()))
    history = model.fit(normal, normal, **fit)
    k_history = k_model.fit(normal.numpy(), normal.numpy(), **fit)
    for key, values in k_history.history.items():
        np.testing.assert_allclose(history.history[key], values, rtol=1e-4, err_msg=key)

    def threshold_of(k, m, x):
        loss = k.keras.losses.mae(m.predict(x, verbose=0), x)
        return np.mean(loss) + np.std(loss)

    threshold = threshold_of(jg, model, normal)
    np.testing.assert_allclose(threshold, threshold_of(tf, k_model, normal.numpy()), rtol=1e-4)
    preds = jg.math.less(keras.losses.mae(model(data), data), threshold)
    k_preds = tf.math.less(tf.keras.losses.mae(k_model(data.numpy()), data.numpy()), threshold)
    np.testing.assert_array_equal(preds.numpy(), k_preds.numpy())
    assert anomalous.shape[0] + normal.shape[0] == 120


def test_conv_and_denoising_autoencoders():
    rng = np.random.RandomState(0)
    x = rng.rand(16, 28, 28).astype("float32")

    class Autoencoder(keras.Model):
        def __init__(self, latent_dim, shape):
            super().__init__()
            self.latent_dim, self.shape = latent_dim, shape
            self.encoder = keras.Sequential([layers.Flatten(),
                                             layers.Dense(latent_dim, activation="relu")])
            self.decoder = keras.Sequential([
                layers.Dense(jg.math.reduce_prod(shape).numpy(), activation="sigmoid"),
                layers.Reshape(shape)])

        def call(self, x):
            return self.decoder(self.encoder(x))

    dense = Autoencoder(8, x.shape[1:])
    dense.compile(optimizer="adam", loss=keras.losses.MeanSquaredError())
    dense.fit(x, x, epochs=1, shuffle=True, validation_data=(x, x), verbose=0)
    assert dense.decoder(dense.encoder(x).numpy()).shape == (16, 28, 28)
    x = x[..., jg.newaxis]
    noisy = jg.clip_by_value(x + 0.2 * jg.random.normal(shape=x.shape), clip_value_min=0.,
                             clip_value_max=1.)
    encoder = keras.Sequential([
        layers.Input(shape=(28, 28, 1)),
        layers.Conv2D(4, (3, 3), activation="relu", padding="same", strides=2),
        layers.Conv2D(2, (3, 3), activation="relu", padding="same", strides=2)])
    decoder = keras.Sequential([
        layers.Conv2DTranspose(2, kernel_size=3, strides=2, activation="relu", padding="same"),
        layers.Conv2DTranspose(4, kernel_size=3, strides=2, activation="relu", padding="same"),
        layers.Conv2D(1, kernel_size=(3, 3), activation="sigmoid", padding="same")])
    assert encoder(noisy).shape == (16, 7, 7, 2) and decoder(encoder(noisy)).shape == x.shape

    tf = _tf()
    k_decoder = tf.keras.Sequential([
        tf.keras.layers.Conv2DTranspose(2, kernel_size=3, strides=2, activation="relu",
                                        padding="same"),
        tf.keras.layers.Conv2DTranspose(4, kernel_size=3, strides=2, activation="relu",
                                        padding="same"),
        tf.keras.layers.Conv2D(1, kernel_size=(3, 3), activation="sigmoid", padding="same")])
    code = encoder(noisy).numpy()
    k_decoder(code)
    _copy_weights(k_decoder, decoder)
    np.testing.assert_allclose(decoder(code).numpy(), k_decoder(code).numpy(), rtol=1e-4,
                               atol=1e-5)


# ------------------------------------------------------------------------ DCGAN

def _gan(k):
    generator = k.keras.Sequential([
        k.keras.layers.Dense(7 * 7 * 4, use_bias=False, input_shape=(8,)),
        k.keras.layers.BatchNormalization(), k.keras.layers.LeakyReLU(),
        k.keras.layers.Reshape((7, 7, 4)),
        k.keras.layers.Conv2DTranspose(4, (5, 5), strides=(2, 2), padding="same",
                                       use_bias=False),
        k.keras.layers.BatchNormalization(), k.keras.layers.LeakyReLU(),
        k.keras.layers.Conv2DTranspose(1, (5, 5), strides=(2, 2), padding="same",
                                       use_bias=False, activation="tanh")])
    discriminator = k.keras.Sequential([
        k.keras.layers.Conv2D(4, (5, 5), strides=(2, 2), padding="same",
                              input_shape=[28, 28, 1]),
        k.keras.layers.LeakyReLU(), k.keras.layers.Flatten(), k.keras.layers.Dense(1)])
    cross_entropy = k.keras.losses.BinaryCrossentropy(from_logits=True)
    gen_opt, disc_opt = k.keras.optimizers.Adam(1e-2), k.keras.optimizers.Adam(1e-2)

    @k.function
    def train_step(images, noise):
        with k.GradientTape() as gen_tape, k.GradientTape() as disc_tape:
            generated = generator(noise, training=True)
            real_output = discriminator(images, training=True)
            fake_output = discriminator(generated, training=True)
            gen_loss = cross_entropy(k.ones_like(fake_output), fake_output)
            disc_loss = (cross_entropy(k.ones_like(real_output), real_output)
                         + cross_entropy(k.zeros_like(fake_output), fake_output))
        gen_grads = gen_tape.gradient(gen_loss, generator.trainable_variables)
        disc_grads = disc_tape.gradient(disc_loss, discriminator.trainable_variables)
        gen_opt.apply_gradients(zip(gen_grads, generator.trainable_variables))
        disc_opt.apply_gradients(zip(disc_grads, discriminator.trainable_variables))
        return gen_loss, disc_loss

    return generator, discriminator, gen_opt, disc_opt, train_step


@pytest.mark.slow
def test_dcgan_train_step_matches_tensorflow_and_checkpoints(tmp_path):
    rng = np.random.RandomState(0)
    images = (rng.rand(3, 8, 28, 28, 1).astype("float32") - 0.5) * 2
    noises = rng.randn(3, 8, 8).astype("float32")
    generator, discriminator, gen_opt, disc_opt, train_step = _gan(jg)
    assert generator.output_shape == (None, 28, 28, 1)
    tf = _tf()
    k_generator, k_discriminator, _, _, k_train_step = _gan(tf)
    _copy_weights(k_generator, generator)
    _copy_weights(k_discriminator, discriminator)
    for batch, noise in zip(images, noises, strict=True):
        losses = [float(v) for v in train_step(batch, noise)]
        k_losses = [float(v) for v in k_train_step(batch, noise)]
        np.testing.assert_allclose(losses, k_losses, rtol=1e-3, atol=1e-4)
    np.testing.assert_allclose(generator(noises[0], training=False).numpy(),
                               k_generator(noises[0], training=False).numpy(), rtol=2e-3,
                               atol=2e-3)

    checkpoint = jg.train.Checkpoint(generator_optimizer=gen_opt,
                                     discriminator_optimizer=disc_opt, generator=generator,
                                     discriminator=discriminator)
    prefix = str(tmp_path / "ckpt")
    checkpoint.save(file_prefix=prefix)
    before = generator(noises[1], training=False).numpy()
    train_step(images[0], noises[0])
    assert int(gen_opt.iterations.numpy()) == 4
    checkpoint.restore(jg.train.latest_checkpoint(str(tmp_path)))
    np.testing.assert_array_equal(generator(noises[1], training=False).numpy(), before)
    assert int(gen_opt.iterations.numpy()) == 3


# ------------------------------------------------------------------------ CVAE

def _cvae(k, latent_dim=2):
    class CVAE(k.keras.Model):
        def __init__(self, latent_dim):
            super().__init__()
            self.latent_dim = latent_dim
            self.encoder = k.keras.Sequential([
                k.keras.layers.InputLayer(input_shape=(28, 28, 1)),
                k.keras.layers.Conv2D(filters=4, kernel_size=3, strides=(2, 2),
                                      activation="relu"),
                k.keras.layers.Flatten(), k.keras.layers.Dense(latent_dim + latent_dim)])
            self.decoder = k.keras.Sequential([
                k.keras.layers.InputLayer(input_shape=(latent_dim,)),
                k.keras.layers.Dense(units=7 * 7 * 4, activation=k.nn.relu),
                k.keras.layers.Reshape(target_shape=(7, 7, 4)),
                k.keras.layers.Conv2DTranspose(filters=4, kernel_size=3, strides=2,
                                               padding="same", activation="relu"),
                k.keras.layers.Conv2DTranspose(filters=1, kernel_size=3, strides=2,
                                               padding="same")])

        @k.function
        def sample(self, eps=None):
            if eps is None:
                eps = k.random.normal(shape=(10, self.latent_dim))
            return self.decode(eps, apply_sigmoid=True)

        def encode(self, x):
            mean, logvar = k.split(self.encoder(x), num_or_size_splits=2, axis=1)
            return mean, logvar

        def reparameterize(self, mean, logvar):
            eps = k.random.normal(shape=mean.shape)
            return eps * k.exp(logvar * .5) + mean

        def decode(self, z, apply_sigmoid=False):
            logits = self.decoder(z)
            return k.sigmoid(logits) if apply_sigmoid else logits

    return CVAE(latent_dim)


def _elbo_loss(k, model, x, z=None):
    def log_normal_pdf(sample, mean, logvar, raxis=1):
        log2pi = k.math.log(2. * np.pi)
        return k.reduce_sum(-.5 * ((sample - mean) ** 2. * k.exp(-logvar) + logvar + log2pi),
                            axis=raxis)

    mean, logvar = model.encode(x)
    z = model.reparameterize(mean, logvar) if z is None else z(mean)
    x_logit = model.decode(z)
    cross_ent = k.nn.sigmoid_cross_entropy_with_logits(logits=x_logit, labels=x)
    logpx_z = -k.reduce_sum(cross_ent, axis=[1, 2, 3])
    logpz = log_normal_pdf(z, 0., 0.)
    logqz_x = log_normal_pdf(z, mean, logvar)
    return -k.reduce_mean(logpx_z + logpz - logqz_x)


@pytest.mark.slow
def test_cvae_elbo_and_compiled_train_step():
    rng = np.random.RandomState(0)
    x = (rng.rand(8, 28, 28, 1) > 0.5).astype("float32")
    model = _cvae(jg)
    optimizer = keras.optimizers.Adam(1e-3)

    @jg.function
    def train_step(model, x, optimizer):
        with jg.GradientTape() as tape:
            loss = _elbo_loss(jg, model, x)
        gradients = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(gradients, model.trainable_variables))
        return loss

    first = [float(train_step(model, x, optimizer)) for _ in range(3)]
    assert all(np.isfinite(first)) and len(set(first)) == 3  # fresh eps, updated weights
    assert train_step.experimental_get_tracing_count() == 1
    assert model.sample().shape == (10, 28, 28, 1)
    eps = np.zeros((10, 2), np.float32)
    np.testing.assert_allclose(model.sample(eps).numpy(),
                               jg.sigmoid(model.decoder(eps)).numpy(), rtol=1e-5)
    assert int(optimizer.iterations.numpy()) == 3

    tf = _tf()
    k_model = _cvae(tf)
    k_model.encoder(x)
    k_model.decoder(eps)
    model.encoder.set_weights(k_model.encoder.get_weights())
    model.decoder.set_weights(k_model.decoder.get_weights())
    np.testing.assert_allclose(float(_elbo_loss(jg, model, x, z=lambda m: m)),
                               float(_elbo_loss(tf, k_model, x, z=lambda m: m)), rtol=1e-4)


# ------------------------------------------------------------------------ data augmentation

@pytest.mark.slow
def test_data_augmentation_layers_in_model_and_dataset_map():
    rng = np.random.RandomState(0)
    images = rng.randint(0, 256, (8, 24, 24, 3)).astype("float32")
    labels = rng.randint(0, 5, (8,)).astype("int64")
    resize_and_rescale = keras.Sequential([layers.Resizing(12, 12), layers.Rescaling(1. / 255)])
    augmentation = keras.Sequential([layers.RandomFlip("horizontal_and_vertical"),
                                     layers.RandomRotation(0.2)])
    ds = jg.data.Dataset.from_tensor_slices((images, labels))
    prepared = ds.map(lambda x, y: (resize_and_rescale(x), y)).batch(4).map(
        lambda x, y: (augmentation(x, training=True), y), num_parallel_calls=jg.data.AUTOTUNE)
    spec = prepared.element_spec
    assert spec[0].shape == [None, 12, 12, 3] and spec[1].shape == [None]
    model = keras.Sequential([layers.Conv2D(4, 3, padding="same", activation="relu"),
                              layers.MaxPooling2D(), layers.Flatten(), layers.Dense(5)])
    model.compile(optimizer="adam",
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    history = model.fit(prepared, epochs=1, verbose=0)
    assert sorted(history.history) == ["accuracy", "loss"]
    inside = keras.Sequential([resize_and_rescale, augmentation, layers.Conv2D(2, 3)])
    assert inside(images[:2], training=True).shape == (2, 10, 10, 2)
    np.testing.assert_allclose(augmentation(images[:2], training=False).numpy(), images[:2])

    tf = _tf()
    k_resize = tf.keras.Sequential([tf.keras.layers.Resizing(12, 12),
                                    tf.keras.layers.Rescaling(1. / 255)])
    np.testing.assert_allclose(resize_and_rescale(images).numpy(), k_resize(images).numpy(),
                               rtol=1e-5, atol=1e-6)


def test_data_augmentation_stateless_ops_seeded_per_element_from_a_counter():
    """The tutorial's tf.data option: (image, label) zipped with a Counter's (seed, seed),
    mapped through stateless image ops whose seed is a traced tensor."""
    rng = np.random.RandomState(0)
    images = rng.rand(6, 16, 16, 3).astype("float32")
    ds = jg.data.Dataset.from_tensor_slices((images, np.arange(6)))

    def augment(image_label, seed):
        image, label = image_label
        image = jg.image.resize_with_crop_or_pad(image, 20, 20)
        new_seed = jg.random.split(seed, num=1)[0, :]
        image = jg.image.stateless_random_crop(image, size=[16, 16, 3], seed=seed)
        image = jg.image.stateless_random_brightness(image, max_delta=0.5, seed=new_seed)
        return jg.clip_by_value(image, 0, 1), label

    counter = jg.data.experimental.Counter()
    assert counter.element_spec == jg.TensorSpec([], jg.int64)
    augmented = jg.data.Dataset.zip((ds, (counter, counter))).map(augment)
    out = [np.asarray(x) for x, _ in augmented]
    assert len(out) == 6 and all(o.shape == (16, 16, 3) for o in out)
    for i, o in enumerate(out):  # the traced seed draws what an eager seed (i, i) draws
        eager, _ = augment((jg.constant(images[i]), i), jg.constant([i, i], jg.int64))
        np.testing.assert_allclose(o, eager.numpy(), rtol=1e-6)
    assert len({float(o.sum()) for o in out}) == 6

    generator = jg.random.Generator.from_seed(123, alg="philox")

    def f(x, y):
        seed = generator.make_seeds(1)[:, 0]
        return augment((x, y), seed)

    first, second = (np.asarray(next(iter(ds.map(f).batch(6)))[0]) for _ in range(2))
    assert first.shape == (6, 16, 16, 3) and not np.array_equal(first, second)
    with pytest.raises(jg.errors.InvalidArgumentError, match="pair of integers"):
        jg.function(lambda s: jg.random.stateless_uniform([2], seed=s))(jg.constant([1.0, 2.0]))


# ------------------------------------------------------------------------ customization basics

def test_customization_basics_tensors_devices_and_datasets(tmp_path):
    assert int(jg.math.add(1, 2)) == 3 and jg.math.square(5).dtype == jg.int32
    x = jg.linalg.matmul([[1]], [[2, 3]])
    assert x.shape == (1, 2) and x.dtype == jg.int32
    tensor = jg.math.multiply(np.ones([3, 3]), 42)
    np.testing.assert_array_equal(np.add(tensor, 1), np.full((3, 3), 43.0))
    assert not x.device.endswith("GPU:0")
    with jg.device("CPU:0"):
        x = jg.random.uniform([10, 10])
        assert x.device.endswith("CPU:0")  # the tutorial's check, on TensorFlow's full name
    assert jg.Variable(1.0).device.endswith("CPU:0")
    ds = jg.data.Dataset.from_tensor_slices([1, 2, 3, 4, 5, 6]).map(jg.math.square)
    assert sorted(int(v) for b in ds.shuffle(2).batch(2) for v in b) == [1, 4, 9, 16, 25, 36]
    path = tmp_path / "lines.txt"
    path.write_text("Line 1\nLine 2\n")
    with pytest.raises(jg.errors.UnimplementedError, match="string tensors.*from_tensor_slices"):
        jg.data.TextLineDataset(str(path))
    assert not hasattr(jg.data, "TextLineDataset")


# ------------------------------------------------------------------------ custom training

def _penguin_model(k):
    return k.keras.Sequential([
        k.keras.layers.Dense(10, activation=k.nn.relu, input_shape=(4,)),
        k.keras.layers.Dense(10, activation=k.nn.relu), k.keras.layers.Dense(3)])


def _walkthrough(k, model, train_dataset, test_dataset, epochs=2):
    """The tutorial's loop: loss, grad, SGD steps, Mean and SparseCategoricalAccuracy per
    epoch, then Accuracy on argmax predictions."""
    loss_object = k.keras.losses.SparseCategoricalCrossentropy(from_logits=True)

    def loss(model, x, y, training):
        return loss_object(y_true=y, y_pred=model(x, training=training))

    def grad(model, inputs, targets):
        with k.GradientTape() as tape:
            loss_value = loss(model, inputs, targets, training=True)
        return loss_value, tape.gradient(loss_value, model.trainable_variables)

    optimizer = k.keras.optimizers.SGD(learning_rate=0.05)
    losses, accuracies = [], []
    for _ in range(epochs):
        epoch_loss_avg = k.keras.metrics.Mean()
        epoch_accuracy = k.keras.metrics.SparseCategoricalAccuracy()
        for x, y in train_dataset:
            loss_value, grads = grad(model, x, y)
            optimizer.apply_gradients(zip(grads, model.trainable_variables))
            epoch_loss_avg.update_state(loss_value)
            epoch_accuracy.update_state(y, model(x, training=True))
        losses.append(float(epoch_loss_avg.result()))
        accuracies.append(float(epoch_accuracy.result()))
    test_accuracy = k.keras.metrics.Accuracy()
    for x, y in test_dataset:
        prediction = k.math.argmax(model(x, training=False), axis=1, output_type=k.int64)
        test_accuracy(prediction, y)
    return losses, accuracies, float(test_accuracy.result()), int(optimizer.iterations)


def _penguins(k, n=90, seed=0):
    rng = np.random.RandomState(seed)
    species = rng.randint(0, 3, n).astype("int64")
    feats = (rng.randn(n, 4) + species[:, None] * 1.5).astype("float32")
    ds = k.data.Dataset.from_tensor_slices({"features": feats, "species": species})

    def pack(d):
        return d["features"], d["species"]

    return ds.take(64).map(pack).batch(32), ds.skip(64).map(pack).batch(32)


def test_custom_training_walkthrough_matches_tensorflow():
    train_dataset, test_dataset = _penguins(jg)
    features, labels = next(iter(train_dataset))
    assert features.shape == (32, 4) and labels.dtype == jg.int64
    model = _penguin_model(jg)
    tf = _tf()
    k_model = _penguin_model(tf)
    _copy_weights(k_model, model)
    result = _walkthrough(jg, model, train_dataset, test_dataset)
    k_result = _walkthrough(tf, k_model, *_penguins(tf))
    np.testing.assert_allclose(result[0], k_result[0], rtol=1e-4)
    np.testing.assert_allclose(result[1], k_result[1], rtol=1e-6)
    np.testing.assert_allclose(result[2], k_result[2], rtol=1e-6)
    assert result[3] == k_result[3] == 4
    predict = jg.convert_to_tensor([[0.3, 0.8, 0.4, 0.5], [0.4, 0.1, 0.8, 0.5]])
    for logits, k_logits in zip(model(predict, training=False),
                                k_model(predict.numpy(), training=False), strict=True):
        class_idx = jg.math.argmax(logits).numpy()
        assert class_idx == tf.math.argmax(k_logits).numpy()
        np.testing.assert_allclose(float(jg.nn.softmax(logits)[class_idx]),
                                   float(tf.nn.softmax(k_logits)[class_idx]), rtol=1e-4)
