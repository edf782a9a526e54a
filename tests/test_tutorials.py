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
