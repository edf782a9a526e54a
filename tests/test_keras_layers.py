"""jg.keras layers and models: lifecycle, weights tracking, training flag, losses, configs,
summary, and the book's custom layers and models."""

import numpy as np
import pytest

import jitgraph as jg

keras = jg.keras
RNG = np.random.default_rng(3)
X = RNG.normal(size=(5, 4)).astype(np.float32)


def close(a, b, tol=1e-5):
    np.testing.assert_allclose(np.asarray(a, np.float64), np.asarray(b, np.float64),
                               rtol=tol, atol=tol)


def test_dense_builds_lazily_and_computes():
    layer = keras.layers.Dense(3, activation="relu", bias_initializer="ones")
    assert not layer.built and layer.weights == []
    y = layer(X)
    assert layer.built and [tuple(w.shape) for w in layer.weights] == [(4, 3), (3,)]
    k, b = (w.numpy() for w in layer.weights)
    close(y, np.maximum(X @ k + b, 0))
    assert layer.count_params() == 15
    assert layer.compute_output_shape(jg.TensorShape((None, 4))) == (None, 3)
    y3 = layer(np.stack([X, X]))  # rank 3: applied to the last axis
    close(y3[1], y)


def test_dense_float64_input_is_cast_and_bad_units_rejected():
    layer = keras.layers.Dense(2)
    assert layer(X.astype(np.float64)).dtype == jg.float32
    with pytest.raises(ValueError, match="units"):
        keras.layers.Dense(0)


def test_flatten_activation_reshape_lambda():
    x = RNG.normal(size=(2, 3, 4)).astype(np.float32)
    close(keras.layers.Flatten()(x), x.reshape(2, 12))
    close(keras.layers.Activation("tanh")(x), np.tanh(x))
    close(keras.layers.Reshape((4, 3))(x), x.reshape(2, 4, 3))
    exponential_layer = keras.layers.Lambda(lambda t: jg.exp(t))
    close(exponential_layer(x), np.exp(x), 1e-5)


def test_dropout_only_in_training():
    layer = keras.layers.Dropout(0.5)
    x = np.ones((200, 10), np.float32)
    close(layer(x), x)
    close(layer(x, training=False), x)
    y = np.asarray(layer(x, training=True))
    assert set(np.unique(y)) <= {0.0, 2.0}
    assert 0.4 < np.mean(y == 0) < 0.6
    with pytest.raises(ValueError, match="rate"):
        keras.layers.Dropout(1.5)


def test_layer_normalization():
    layer = keras.layers.LayerNormalization(epsilon=1e-3)
    y = layer(X)
    ref = (X - X.mean(-1, keepdims=True)) / np.sqrt(X.var(-1, keepdims=True) + 1e-3)
    close(y, ref, 1e-4)
    assert [w.name.split("/")[-1].split(":")[0] for w in layer.weights] == ["gamma", "beta"]


def test_batch_normalization_training_and_inference():
    layer = keras.layers.BatchNormalization(momentum=0.9)
    x = RNG.normal(2.0, 3.0, size=(64, 3)).astype(np.float32)
    y = layer(x, training=True)
    close(y, (x - x.mean(0)) / np.sqrt(x.var(0) + 1e-3), 1e-4)
    close(layer.moving_mean.numpy(), 0.1 * x.mean(0), 1e-5)
    close(layer.moving_variance.numpy(), 0.9 + 0.1 * x.var(0), 1e-4)
    assert len(layer.trainable_weights) == 2 and len(layer.non_trainable_weights) == 2
    yi = layer(x)  # inference: the moving statistics
    mm, mv = layer.moving_mean.numpy(), layer.moving_variance.numpy()
    close(yi, (x - mm) / np.sqrt(mv + 1e-3), 1e-4)


def test_training_flag_propagates_to_nested_layers():
    seen = []

    class Probe(keras.layers.Layer):
        def call(self, inputs, training=None):
            seen.append(training)
            return inputs

    class Outer(keras.layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.inner = Probe()

        def call(self, inputs):
            return self.inner(inputs)

    outer = Outer()
    outer(X, training=True)
    outer(X, training=False)
    outer(X)
    assert seen == [True, False, None]


class MyDense(keras.layers.Layer):
    def __init__(self, units, activation=None, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.activation = keras.activations.get(activation)

    def build(self, batch_input_shape):
        self.kernel = self.add_weight(name="kernel", shape=[batch_input_shape[-1], self.units],
                                      initializer="glorot_normal")
        self.bias = self.add_weight(name="bias", shape=[self.units], initializer="zeros")
        super().build(batch_input_shape)

    def call(self, X):
        return self.activation(X @ self.kernel + self.bias)

    def compute_output_shape(self, batch_input_shape):
        return jg.TensorShape(batch_input_shape.as_list()[:-1] + [self.units])

    def get_config(self):
        base_config = super().get_config()
        return {**base_config, "units": self.units,
                "activation": keras.activations.serialize(self.activation)}


def test_custom_dense_layer_and_config():
    layer = MyDense(3, activation="relu", name="my_dense")
    y = layer(X)
    close(y, np.maximum(X @ layer.kernel.numpy() + layer.bias.numpy(), 0))
    assert layer.compute_output_shape(jg.TensorShape([None, 4])) == (None, 3)
    cfg = layer.get_config()
    assert cfg["units"] == 3 and cfg["activation"] == "relu" and cfg["name"] == "my_dense"
    again = MyDense.from_config(cfg)
    assert again.units == 3 and again.activation is keras.activations.relu


class MyMultiLayer(keras.layers.Layer):
    def call(self, X):
        X1, X2 = X
        return [X1 + X2, X1 * X2, X1 / X2]


def test_multi_input_layer():
    a, b = X, X + 10.0
    outs = MyMultiLayer()([a, b])
    for got, want in zip(outs, [a + b, a * b, a / b]):
        close(got, want)


class ResidualBlock(keras.layers.Layer):
    def __init__(self, n_layers, n_neurons, **kwargs):
        super().__init__(**kwargs)
        self.hidden = [keras.layers.Dense(n_neurons, activation="elu",
                                          kernel_initializer="he_normal")
                       for _ in range(n_layers)]

    def call(self, inputs):
        Z = inputs
        for layer in self.hidden:
            Z = layer(Z)
        return inputs + Z


class ResidualRegressor(keras.Model):
    def __init__(self, output_dim, **kwargs):
        super().__init__(**kwargs)
        self.hidden1 = keras.layers.Dense(30, activation="elu", kernel_initializer="he_normal")
        self.block1 = ResidualBlock(2, 30)
        self.block2 = ResidualBlock(2, 30)
        self.out = keras.layers.Dense(output_dim)

    def call(self, inputs):
        Z = self.hidden1(inputs)
        for _ in range(1 + 3):
            Z = self.block1(Z)
        Z = self.block2(Z)
        return self.out(Z)


def test_residual_model_tracks_nested_weights():
    model = ResidualRegressor(1)
    y = model(X)
    assert y.shape == (5, 1)
    # hidden1 (2) + block1 (2 Dense x 2) + block2 (4) + out (2): found through lists too
    assert len(model.trainable_variables) == 12
    assert model.count_params() == 4 * 30 + 30 + 4 * (30 * 30 + 30) + 31
    assert [type(lay).__name__ for lay in model.layers] == [
        "Dense", "ResidualBlock", "ResidualBlock", "Dense"]
    assert model.get_config()["output_dim"] == 1
    model.block1.trainable = False
    assert len(model.trainable_variables) == 8 and len(model.non_trainable_variables) == 4


def test_weights_in_dicts_and_plain_variable_attributes():
    class Holder(keras.layers.Layer):
        def __init__(self):
            super().__init__()
            self.parts = {"a": keras.layers.Dense(2), "b": [keras.layers.Dense(3)]}
            self.scale = jg.Variable(2.0)

        def call(self, x):
            return self.parts["b"][0](self.parts["a"](x)) * self.scale

    h = Holder()
    h(X)
    assert len(h.trainable_weights) == 5


class ReconstructingRegressor(keras.Model):
    def __init__(self, output_dim, **kwargs):
        super().__init__(**kwargs)
        self.hidden = [keras.layers.Dense(30, activation="selu",
                                          kernel_initializer="lecun_normal")
                       for _ in range(5)]
        self.out = keras.layers.Dense(output_dim)
        self.reconstruction_mean = keras.metrics.Mean(name="reconstruction_error")

    def build(self, batch_input_shape):
        n_inputs = batch_input_shape[-1]
        self.reconstruct = keras.layers.Dense(n_inputs)
        super().build(batch_input_shape)

    def call(self, inputs, training=None):
        Z = inputs
        for layer in self.hidden:
            Z = layer(Z)
        reconstruction = self.reconstruct(Z)
        recon_loss = jg.reduce_mean(jg.square(reconstruction - inputs))
        self.add_loss(0.05 * recon_loss)
        if training:
            self.reconstruction_mean.update_state(recon_loss)
        return self.out(Z)


def test_add_loss_from_internal_state():
    model = ReconstructingRegressor(1)
    model(X)
    assert len(model.losses) == 1
    Z = X
    for layer in model.hidden:
        Z = layer(Z)
    recon = model.reconstruct(Z)
    close(model.losses[0], 0.05 * np.mean((np.asarray(recon) - X) ** 2), 1e-5)
    model(X)
    assert len(model.losses) == 1  # losses of the previous call are cleared
    assert model.reconstruction_mean in model.metrics


def test_regularizers_add_losses():
    layer = keras.layers.Dense(2, kernel_regularizer=keras.regularizers.l2(0.1),
                               bias_regularizer="l1", bias_initializer="ones")
    layer(X)
    k = layer.kernel.numpy()
    got = sorted(float(v) for v in layer.losses)
    close(got, sorted([0.1 * (k**2).sum(), 0.01 * 2.0]))


def test_custom_functions_as_activation_initializer_regularizer_constraint():
    def my_softplus(z):
        return jg.log(jg.exp(z) + 1.0)

    def my_glorot_initializer(shape, dtype=jg.float32):
        stddev = np.sqrt(2.0 / (shape[0] + shape[1]))
        return jg.random.normal(shape, stddev=stddev, dtype=dtype)

    def my_l1_regularizer(weights):
        return jg.reduce_sum(jg.abs(0.01 * weights))

    def my_positive_weights(weights):
        return jg.where(weights < 0.0, jg.zeros_like(weights), weights)

    layer = keras.layers.Dense(3, activation=my_softplus,
                               kernel_initializer=my_glorot_initializer,
                               kernel_regularizer=my_l1_regularizer,
                               kernel_constraint=my_positive_weights)
    y = layer(X)
    k = layer.kernel.numpy()
    close(y, np.log1p(np.exp(X @ k)), 1e-5)
    close(layer.losses[0], 0.01 * np.abs(k).sum())
    assert layer.kernel.constraint is my_positive_weights
    keras.optimizers.SGD(1.0).apply_gradients([(jg.ones_like(layer.kernel) * 5.0,
                                                layer.kernel)])
    assert layer.kernel.numpy().min() == 0.0


def test_sequential_summary_and_input():
    model = keras.Sequential([keras.Input(shape=(4,)), keras.layers.Dense(8, name="hid"),
                              keras.layers.Dropout(0.2), keras.layers.Dense(2, name="top")])
    lines = []
    model.summary(print_fn=lines.append)
    text = lines[0]
    assert "hid (Dense)" in text and "(None, 8)" in text and "(None, 2)" in text
    assert "Total params: 58" in text and "Trainable params: 58" in text
    assert len(model.layers) == 3
    with pytest.raises(ValueError, match="not been built"):
        keras.Sequential([keras.layers.Dense(1)]).summary()


def test_functional_model_matches_layer_calls():
    inp = keras.Input(shape=(4,))
    h = keras.layers.Dense(6, activation="relu")(inp)
    out = keras.layers.Dense(1)(keras.layers.concatenate([inp, h]))
    model = keras.Model(inputs=inp, outputs=out)
    d1, _, d2 = model.layers[1:]
    ref = d2(np.concatenate([X, np.asarray(d1(X))], axis=1))
    close(model(X), ref)
    assert out.shape == (None, 1)
    assert (inp + 1.0).shape == inp.shape  # an ops call, a layer (Keras 3)
    with pytest.raises(TypeError, match="Lambda"):
        np.asarray(inp)  # a KerasTensor has no value


def test_model_inside_function_builds_eagerly():
    model = keras.Sequential([keras.layers.Dense(3), keras.layers.Dense(1)])

    @jg.function
    def f(x):
        return model(x)

    y = f(jg.constant(X))
    assert len(model.weights) == 4
    close(y, model(X))


def test_input_and_output_shapes_keep_unknown_dims():
    """model/layer .input_shape and .output_shape (and summary) as Keras reports them: the
    batch and any dim declared None (or seen with different sizes) are None."""
    L = jg.keras.layers
    model = jg.keras.Sequential([L.Input(shape=(None, 8)), L.LSTM(4, return_sequences=True),
                                 L.GlobalAveragePooling1D(), L.Dense(2)])
    model(np.zeros((3, 5, 8), np.float32))
    assert model.input_shape == (None, None, 8) and model.output_shape == (None, 2)
    assert model.layers[0].output_shape == (None, None, 4)
    lines = []
    model.summary(print_fn=lines.append)
    assert "(None, None, 4)" in lines[0]
    inp = L.Input(shape=(10, 8))
    functional = jg.keras.Model(inp, L.Dense(2)(L.Flatten()(inp)))
    assert functional.input_shape == (None, 10, 8) and functional.output_shape == (None, 2)
    dense = L.Dense(3)
    with pytest.raises(AttributeError, match="never been called"):
        _ = dense.output_shape
    dense(np.zeros((2, 4), np.float32))
    assert dense.input_shape == (None, 4) and dense.output_shape == (None, 3)


def test_dropout_noise_shape_shares_the_mask_and_fits_with_any_batch():
    layer = keras.layers.Dropout(0.5, noise_shape=(None, 1, 3), seed=2)
    x = np.ones((40, 5, 3), np.float32)
    for y in (layer(x, training=True), jg.function(lambda x: layer(x, training=True))(x)):
        y = y.numpy()
        assert (y == y[:, :1, :]).all() and 0.3 < (y[:, 0] != 0).mean() < 0.7
    np.testing.assert_array_equal(layer(x, training=False).numpy(), x)
    again = keras.layers.Dropout.from_config(layer.get_config())
    assert again.noise_shape == (None, 1, 3)
    model = keras.Sequential([keras.Input((5, 3)), keras.layers.Dropout(0.3, noise_shape=(
        None, 1, 3)), keras.layers.Flatten(), keras.layers.Dense(1)])
    model.compile(loss="mse", optimizer="sgd")
    hist = model.fit(x[:21], np.ones((21, 1), np.float32), batch_size=4, epochs=2, verbose=0)
    assert np.isfinite(hist.history["loss"]).all()
    assert model._train_function.experimental_get_tracing_count() == 1  # any batch size
