"""model.save / load_model: open format, custom objects, identical predictions, and clear
errors for corrupt files and unknown classes."""

import json
import os
import zipfile

import numpy as np
import pytest
from test_keras_layers import MyDense, ResidualBlock, ResidualRegressor
from test_keras_objects import HuberLoss, HuberMetric, create_huber

import jitgraph as jg

keras = jg.keras
RNG = np.random.default_rng(5)
X = RNG.normal(size=(40, 8)).astype(np.float32)
Y = (X[:, :1] - 2 * X[:, 1:2]).astype(np.float32)


def trained(model, loss, metrics=(), epochs=2):
    model.compile(loss=loss, optimizer=keras.optimizers.Nadam(0.01), metrics=list(metrics))
    model.fit(X, Y, epochs=epochs, batch_size=16, verbose=0)
    return model


def seq_model():
    jg.random.set_seed(0)
    return keras.Sequential([keras.layers.Dense(30, activation="selu", input_shape=(8,),
                                                kernel_initializer="lecun_normal"),
                             keras.layers.BatchNormalization(),
                             keras.layers.Dense(1)])


@pytest.mark.parametrize("suffix", ["", ".keras"])
def test_huber_fn_saved_and_reloaded(tmp_path, suffix):
    model = trained(seq_model(), create_huber(2.0), [create_huber(2.0)])
    path = tmp_path / f"my_model_with_a_custom_loss{suffix}"
    model.save(path)
    assert (os.path.isdir(path) if not suffix else zipfile.is_zipfile(path))
    with pytest.raises(ValueError, match="Unknown loss: 'huber_fn'.*custom_objects"):
        keras.models.load_model(path)
    loaded = keras.models.load_model(path, custom_objects={"huber_fn": create_huber(2.0)})
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    # compiled again, with the restored optimizer
    loaded.fit(X, Y, epochs=1, batch_size=16, verbose=0)
    assert int(loaded.optimizer.iterations.numpy()) == int(
        model.optimizer.iterations.numpy()) + 3


def test_huber_loss_class_and_metric_keep_their_threshold(tmp_path):
    model = trained(seq_model(), HuberLoss(2.0), [HuberMetric(2.0)])
    model.save(tmp_path / "m")
    loaded = keras.models.load_model(tmp_path / "m", custom_objects={
        "HuberLoss": HuberLoss, "HuberMetric": HuberMetric})
    assert isinstance(loaded._loss_fn, HuberLoss) and loaded._loss_fn.threshold == 2.0
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    a = model.evaluate(X, Y, verbose=0)
    b = loaded.evaluate(X, Y, verbose=0)
    np.testing.assert_allclose(a, b, rtol=1e-6)
    with open(tmp_path / "m" / "config.json") as f:
        cfg = json.load(f)
    assert cfg["compile_config"]["loss"] == {
        "class_name": "HuberLoss",
        "config": {"reduction": "auto", "name": "huber_loss", "threshold": 2.0}}


def test_custom_layers_and_subclassed_model(tmp_path):
    jg.random.set_seed(1)
    model = keras.Sequential([MyDense(10, activation="relu", input_shape=(8,)),
                              ResidualBlock(2, 10), keras.layers.Dense(1)])
    trained(model, "mse")
    model.save(tmp_path / "seq.keras")
    with pytest.raises(ValueError, match="Unknown layer: 'MyDense'"):
        keras.models.load_model(tmp_path / "seq.keras")
    loaded = keras.models.load_model(tmp_path / "seq.keras", custom_objects={
        "MyDense": MyDense, "ResidualBlock": ResidualBlock})
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))

    sub = trained(ResidualRegressor(1), "mse")
    sub.save(tmp_path / "sub")
    again = keras.models.load_model(tmp_path / "sub", custom_objects={
        "ResidualRegressor": ResidualRegressor, "ResidualBlock": ResidualBlock})
    assert isinstance(again, ResidualRegressor)
    np.testing.assert_array_equal(again.predict(X), sub.predict(X))


def test_custom_functions_in_layers(tmp_path):
    def my_softplus(z):
        return jg.log(jg.exp(z) + 1.0)

    def my_l1_regularizer(weights):
        return jg.reduce_sum(jg.abs(0.01 * weights))

    def my_positive_weights(weights):
        return jg.where(weights < 0.0, jg.zeros_like(weights), weights)

    class MyL1Regularizer(keras.regularizers.Regularizer):
        def __init__(self, factor):
            self.factor = factor

        def __call__(self, weights):
            return jg.reduce_sum(jg.abs(self.factor * weights))

        def get_config(self):
            return {"factor": self.factor}

    jg.random.set_seed(2)
    model = keras.Sequential([
        keras.layers.Dense(5, activation=my_softplus, input_shape=(8,),
                           kernel_regularizer=MyL1Regularizer(0.01),
                           kernel_constraint=my_positive_weights),
        keras.layers.Dense(1, kernel_regularizer=my_l1_regularizer)])
    trained(model, "mse")
    assert model.layers[0].kernel.numpy().min() >= 0.0
    model.save(tmp_path / "f")
    custom = {"my_softplus": my_softplus, "my_l1_regularizer": my_l1_regularizer,
              "my_positive_weights": my_positive_weights, "MyL1Regularizer": MyL1Regularizer}
    loaded = keras.models.load_model(tmp_path / "f", custom_objects=custom)
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    assert loaded.layers[0].kernel_regularizer.factor == 0.01
    np.testing.assert_allclose([float(v) for v in loaded.losses],
                               [float(v) for v in model.losses], rtol=1e-6)


def test_functional_and_lambda_round_trip(tmp_path):
    def double(x):
        return 2.0 * x

    inp = keras.Input(shape=(8,), name="features")
    h = keras.layers.Dense(4, activation="tanh", name="h")(inp)
    cat = keras.layers.Concatenate(name="cat")([inp, keras.layers.Lambda(double, name="l")(h)])
    model = keras.Model(inputs=inp, outputs=keras.layers.Dense(1, name="o")(cat))
    trained(model, "mae")
    model.save(tmp_path / "fn.zip")
    loaded = keras.models.load_model(tmp_path / "fn.zip", custom_objects={"double": double})
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))


def test_corrupt_and_foreign_files(tmp_path):
    model = trained(seq_model(), "mse", epochs=1)
    bad = tmp_path / "junk.keras"
    bad.write_bytes(b"not a zip at all")
    with pytest.raises(ValueError, match="corrupt or not a saved"):
        keras.models.load_model(bad)
    model.save(tmp_path / "d")
    (tmp_path / "d" / "config.json").write_text("{ truncated")
    with pytest.raises(ValueError, match="config.json is corrupt"):
        keras.models.load_model(tmp_path / "d")
    model.save(tmp_path / "w")
    (tmp_path / "w" / "weights.npz").write_bytes(b"PK\x03\x04garbage")
    with pytest.raises(ValueError, match="weights.npz is corrupt"):
        keras.models.load_model(tmp_path / "w")
    with pytest.raises(FileNotFoundError):
        keras.models.load_model(tmp_path / "missing")
    os.makedirs(tmp_path / "empty")
    with pytest.raises(ValueError, match="config.json is missing"):
        keras.models.load_model(tmp_path / "empty")


def test_saved_format_is_open(tmp_path):
    model = trained(seq_model(), "mse", epochs=1)
    model.save(tmp_path / "m.keras")
    with zipfile.ZipFile(tmp_path / "m.keras") as z:
        assert sorted(z.namelist()) == ["config.json", "weights.npz"]
        cfg = json.loads(z.read("config.json"))
        z.extract("weights.npz", tmp_path)
    weights = np.load(tmp_path / "weights.npz", allow_pickle=False)
    assert cfg["model"]["class_name"] == "Sequential"
    # 2 Dense x (kernel, bias) + BN gamma, beta, moving mean, moving variance
    assert len(cfg["weight_names"]) == 8
    for i, w in enumerate(model.weights):
        np.testing.assert_array_equal(weights[f"w{i}"], w.numpy())
