"""Convolution and pooling: the Keras layers (shapes, summary, configs, saving, a CNN that
learns, compiled == eager), the errors users cause, and agreement with TensorFlow's
tf.nn ops and tf.keras layers (skipped where TensorFlow is not installed). The ops' values
on every backend and their gradients are checked by the differential cases in op_cases.py."""

import os
import re

import numpy as np
import pytest

import jitgraph as jg

keras = jg.keras
L = keras.layers
RNG = np.random.default_rng(3)
HERE = os.path.basename(__file__)


def _x(*shape):
    return RNG.normal(size=shape).astype(np.float32)


# ----------------------------------------------------------------------------- layer shapes

LAYERS = [
    (lambda: L.Conv2D(4, 3), (2, 9, 8, 3)),
    (lambda: L.Conv2D(4, (3, 2), strides=2, padding="same"), (2, 9, 8, 3)),
    (lambda: L.Conv2D(2, 3, dilation_rate=2, padding="same", use_bias=False), (1, 7, 7, 2)),
    (lambda: L.Conv2D(6, 1, strides=(2, 1), activation="relu"), (2, 5, 5, 3)),
    (lambda: L.Conv2D(4, 3, groups=2), (2, 6, 6, 4)),
    (lambda: L.Conv1D(5, 3), (2, 10, 3)),
    (lambda: L.Conv1D(5, 3, strides=2, padding="same"), (2, 9, 3)),
    (lambda: L.Conv1D(2, 2, padding="causal", dilation_rate=2), (2, 7, 3)),
    (lambda: L.Conv2DTranspose(4, 3, strides=2), (2, 3, 4, 5)),
    (lambda: L.Conv2DTranspose(2, (2, 3), (2, 1), "same", output_padding=(1, 0)), (2, 3, 4, 5)),
    (lambda: L.DepthwiseConv2D(3, depth_multiplier=2, padding="same"), (2, 6, 5, 3)),
    (lambda: L.DepthwiseConv2D((2, 3), strides=2, use_bias=False), (2, 6, 5, 3)),
    (lambda: L.MaxPooling2D(), (2, 7, 6, 3)),
    (lambda: L.MaxPooling2D(3, strides=2, padding="same"), (2, 7, 6, 3)),
    (lambda: L.AveragePooling2D((2, 3), padding="same"), (2, 7, 6, 3)),
    (lambda: L.MaxPooling1D(), (2, 7, 3)),
    (lambda: L.AveragePooling1D(3, strides=1, padding="same"), (2, 7, 3)),
    (lambda: L.GlobalAveragePooling2D(), (2, 4, 5, 3)),
    (lambda: L.GlobalMaxPooling2D(keepdims=True), (2, 4, 5, 3)),
    (lambda: L.GlobalAveragePooling1D(), (2, 6, 3)),
    (lambda: L.GlobalMaxPooling1D(), (2, 6, 3)),
    (lambda: L.ZeroPadding2D(((1, 2), (0, 3))), (2, 4, 5, 3)),
    (lambda: L.ZeroPadding1D(2), (2, 4, 3)),
    (lambda: L.Cropping2D(((1, 0), (1, 2))), (2, 4, 5, 3)),
    (lambda: L.Cropping1D((0, 2)), (2, 5, 3)),
    (lambda: L.UpSampling2D((2, 3)), (2, 3, 2, 3)),
    (lambda: L.UpSampling1D(3), (2, 3, 2)),
]


@pytest.mark.parametrize("make,shape", LAYERS, ids=lambda v: "" if callable(v) else str(v))
def test_layer_output_shape_config_round_trip(make, shape):
    layer = make()
    x = _x(*shape)
    y = layer(x)
    assert tuple(layer.compute_output_shape(jg.TensorShape(shape))) == tuple(y.shape)
    batchless = layer.compute_output_shape(jg.TensorShape((None,) + shape[1:]))
    assert tuple(batchless) == (None,) + tuple(y.shape)[1:]
    cfg = layer.get_config()
    clone = type(layer).from_config(cfg)
    assert clone.get_config() == cfg
    clone(x)
    clone.set_weights(layer.get_weights())
    np.testing.assert_allclose(clone(x).numpy(), y.numpy(), rtol=1e-6)
    again = L.deserialize(L.serialize(layer))
    assert type(again) is type(layer) and again.get_config() == cfg


def test_keras_names_weight_shapes_and_summary():
    jg.keras.backend.clear_session()
    model = keras.Sequential([
        L.Conv2D(8, 3, activation="relu", input_shape=(12, 12, 1)),
        L.MaxPooling2D(),
        L.Conv2D(4, 3, padding="same", strides=2),
        L.GlobalAveragePooling2D(),
        L.Dense(3)])
    assert [w.name for w in model.weights[:4]] == [
        "conv2d/kernel:0", "conv2d/bias:0", "conv2d_1/kernel:0", "conv2d_1/bias:0"]
    assert [tuple(w.shape) for w in model.weights] == [(3, 3, 1, 8), (8,), (3, 3, 8, 4), (4,),
                                                       (4, 3), (3,)]
    lines = []
    model.summary(print_fn=lines.append)
    text = "\n".join(lines)
    for line in ("conv2d (Conv2D)", "(None, 10, 10, 8)", "80",
                 "max_pooling2d (MaxPooling2D)", "(None, 5, 5, 8)", "conv2d_1 (Conv2D)",
                 "(None, 3, 3, 4)", "292", "(None, 4)", "Total params: 387"):
        assert line in text, (line, text)


def test_groups_are_separate_convolutions():
    layer = L.Conv2D(4, 3, groups=2, use_bias=False)
    x = _x(2, 6, 6, 4)
    y = layer(x).numpy()
    k = layer.kernel.numpy()
    for g in range(2):
        want = jg.nn.conv2d(x[..., 2 * g:2 * g + 2], k[..., 2 * g:2 * g + 2], 1, "VALID")
        np.testing.assert_allclose(y[..., 2 * g:2 * g + 2], want.numpy(), rtol=1e-5, atol=1e-6)


def test_causal_conv1d_sees_no_future():
    layer = L.Conv1D(2, 3, padding="causal", dilation_rate=2)
    x = _x(1, 9, 2)
    y = layer(x).numpy()
    x2 = x.copy()
    x2[:, 6:] += 1.0  # changing steps >= 6 leaves outputs 0..5 alone
    y2 = layer(x2).numpy()
    np.testing.assert_allclose(y[:, :6], y2[:, :6], rtol=1e-6)
    assert not np.allclose(y[:, 6:], y2[:, 6:])


def test_upsampling_repeats_and_padding_cropping_invert():
    x = _x(2, 3, 4, 2)
    up = L.UpSampling2D((2, 3))(x).numpy()
    np.testing.assert_array_equal(up, x.repeat(2, axis=1).repeat(3, axis=2))
    padded = L.ZeroPadding2D(((1, 2), (3, 0)))(x)
    np.testing.assert_array_equal(L.Cropping2D(((1, 2), (3, 0)))(padded).numpy(), x)


# ----------------------------------------------------------------------------- models


def _cnn():
    jg.random.set_seed(1)
    inputs = keras.Input(shape=(8, 8, 1))
    h = L.Conv2D(8, 3, padding="same", activation="relu")(inputs)
    h = L.MaxPooling2D()(h)
    h = L.Conv2D(8, 3, activation="relu")(h)
    h = L.GlobalMaxPooling2D()(h)
    return keras.Model(inputs, L.Dense(2)(h))


def _bars(n, seed=0):
    """8x8 images holding one horizontal (class 0) or vertical (class 1) bar, plus noise."""
    r = np.random.default_rng(seed)
    x = r.normal(0, 0.3, (n, 8, 8, 1)).astype(np.float32)
    y = r.integers(0, 2, n).astype(np.int32)
    for i in range(n):
        p = r.integers(1, 7)
        if y[i]:
            x[i, 1:7, p, 0] += 1.5
        else:
            x[i, p, 1:7, 0] += 1.5
    return x, y


def test_small_cnn_learns_bars():
    x, y = _bars(256)
    model = _cnn()
    model.compile(loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  optimizer=keras.optimizers.Adam(0.02), metrics=["accuracy"])
    hist = model.fit(x, y, batch_size=32, epochs=6, verbose=0)
    loss = hist.history["loss"]
    assert loss[-1] < 0.25 * loss[0], loss
    xt, yt = _bars(128, seed=1)
    _, acc = model.evaluate(xt, yt, verbose=0)
    assert acc > 0.9, acc


def test_compiled_training_step_equals_eager():
    model = _cnn()
    x, y = _bars(16)
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)

    def step(x, y):
        with jg.GradientTape() as tape:
            loss = loss_fn(y, model(x, training=True))
        return [loss] + tape.gradient(loss, model.trainable_variables)

    eager = step(jg.constant(x), jg.constant(y))
    for backend in ("cpu", "interpreter"):
        compiled = jg.function(step, backend=backend)(jg.constant(x), jg.constant(y))
        for a, b in zip(compiled, eager, strict=True):
            np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=2e-4, atol=1e-5)


def test_unknown_batch_in_a_signature_with_gradients():
    w = jg.Variable(_x(3, 3, 2, 3))

    def f(x):
        with jg.GradientTape() as tape:
            tape.watch(x)
            y = jg.nn.avg_pool2d(jg.nn.conv2d(x, w, 2, "SAME"), 3, 2, "SAME")
            y = jg.nn.max_pool2d(jg.nn.depthwise_conv2d(y, jg.ones([2, 2, 3, 2]), 1, "SAME"),
                                 2, 1, "VALID")
            loss = jg.reduce_sum(y * y)
        return [loss] + tape.gradient(loss, [x, w])

    spec = [jg.TensorSpec([None, 7, 6, 2], jg.float32)]
    for backend in ("cpu", "interpreter"):
        g = jg.function(f, input_signature=spec, backend=backend)
        for n in (1, 3):
            x = _x(n, 7, 6, 2)
            for a, b in zip(g(x), f(jg.constant(x)), strict=True):
                np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("suffix", ["", ".keras"])
def test_cnn_saved_and_loaded(tmp_path, suffix):
    x, y = _bars(64)
    for model in (_cnn(), keras.Sequential([
            L.ZeroPadding2D(1, input_shape=(8, 8, 1)), L.Conv2D(4, 3, strides=2),
            L.AveragePooling2D(padding="same"), L.UpSampling2D(), L.Cropping2D(1),
            L.Flatten(), L.Dense(2)])):
        model.compile(loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                      optimizer="adam")
        model.fit(x, y, epochs=1, batch_size=32, verbose=0)
        path = tmp_path / f"cnn_{model.name}{suffix}"
        model.save(path)
        loaded = keras.models.load_model(path)
        assert [type(a) for a in loaded.layers] == [type(b) for b in model.layers]
        np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


def test_conv1d_model_fits():
    jg.random.set_seed(2)
    r = np.random.default_rng(0)
    x = r.normal(size=(64, 12, 2)).astype(np.float32)
    y = (x[:, 2:, 0] - x[:, :-2, 1]).max(axis=1, keepdims=True).astype(np.float32)
    model = keras.Sequential([L.Conv1D(8, 3, activation="relu", input_shape=(12, 2)),
                              L.MaxPooling1D(2), L.Conv1D(8, 2, padding="causal"),
                              L.GlobalAveragePooling1D(), L.Dense(1)])
    model.compile(loss="mse", optimizer=keras.optimizers.Adam(0.01))
    hist = model.fit(x, y, epochs=8, batch_size=16, verbose=0)
    assert hist.history["loss"][-1] < 0.5 * hist.history["loss"][0]


# ----------------------------------------------------------------------------- errors


def _raises(fn, *parts):
    with pytest.raises(jg.errors.InvalidArgumentError) as e:
        fn()
    msg = str(e.value)
    for p in parts:
        assert p in msg, (p, msg)
    return msg


def test_rank3_input_names_op_shape_and_fix():
    msg = _raises(lambda: jg.nn.conv2d(np.zeros((28, 28, 1), np.float32),
                                       np.zeros((3, 3, 1, 4), np.float32), 1, "SAME"),
                  "conv2d", "rank 4", "float32[28, 28, 1]", "jg.expand_dims", HERE)
    assert "NHWC" in msg


def test_channel_mismatch():
    _raises(lambda: jg.nn.conv2d(np.zeros((2, 8, 8, 3), np.float32),
                                 np.zeros((3, 3, 4, 16), np.float32), 1, "SAME"),
            "conv2d", "3 channels", "float32[2, 8, 8, 3]", "float32[3, 3, 4, 16]",
            "[3, 3, 3, 16]", HERE)


def test_bad_padding_string():
    _raises(lambda: jg.nn.conv2d(np.zeros((1, 4, 4, 1), np.float32),
                                 np.zeros((2, 2, 1, 1), np.float32), 1, "FULL"),
            "conv2d", "'SAME' or 'VALID'", "'FULL'", HERE)
    _raises(lambda: jg.nn.avg_pool2d(np.zeros((1, 4, 4, 1), np.float32), 2, 2,
                                     [[0, 0], [1, 1], [1, 1], [0, 0]]),
            "avg_pool2d", "'SAME' or 'VALID'")


def test_kernel_larger_than_input_with_valid():
    _raises(lambda: jg.nn.conv2d(np.zeros((1, 3, 3, 1), np.float32),
                                 np.zeros((5, 5, 1, 1), np.float32), 1, "VALID"),
            "conv2d", "larger", "float32[1, 3, 3, 1]", "float32[5, 5, 1, 1]", "SAME", HERE)
    _raises(lambda: jg.nn.max_pool2d(np.zeros((1, 3, 3, 1), np.float32), 4, 1, "VALID"),
            "max_pool2d", "larger", "ksize [4, 4]")


def test_errors_inside_a_function_point_at_the_users_line():
    @jg.function
    def f(x):
        return jg.nn.conv1d(x, jg.ones([3, 2, 4]), 1, "SAME")

    _raises(lambda: f(jg.ones([2, 9, 3])), "conv1d", "3 channels", "float32[2, 9, 3]",
            "float32[3, 2, 4]", HERE)


def test_conv2d_transpose_output_shape_must_fit():
    _raises(lambda: jg.nn.conv2d_transpose(np.zeros((1, 3, 3, 2), np.float32),
                                           np.zeros((3, 3, 4, 2), np.float32), [1, 9, 6, 4],
                                           2, "SAME"),
            "conv2d_transpose", "[None, 9, 6, 4]", "5x3", "float32[1, 3, 3, 2]", HERE)
    _raises(lambda: jg.nn.conv2d_transpose(np.zeros((1, 3, 3, 2), np.float32),
                                           np.zeros((3, 3, 4, 2), np.float32), [1, 6, 6, 5],
                                           2, "SAME"),
            "conv2d_transpose", "5 channels", "output_channels")


def test_conv_autoencoder_fits():
    jg.random.set_seed(3)
    x = (_bars(64)[0] > 0.75).astype(np.float32)  # the bars, nearly without the noise
    model = keras.Sequential([
        L.Conv2D(8, 3, strides=2, padding="same", activation="relu", input_shape=(8, 8, 1)),
        L.Conv2D(4, 3, strides=2, padding="same", activation="relu"),
        L.Conv2DTranspose(8, 3, strides=2, padding="same", activation="relu"),
        L.Conv2DTranspose(1, 3, strides=2, padding="same")])
    assert model.predict(x, verbose=0).shape == (64, 8, 8, 1)
    model.compile(loss="mse", optimizer=keras.optimizers.Adam(0.01))
    hist = model.fit(x, x, epochs=12, batch_size=16, verbose=0)
    assert hist.history["loss"][-1] < 0.5 * hist.history["loss"][0], hist.history["loss"]


def test_other_argument_errors():
    x = np.zeros((1, 4, 4, 2), np.float32)
    w = np.zeros((2, 2, 2, 1), np.float32)
    _raises(lambda: jg.nn.conv2d(x, w.astype(np.float64), 1, "SAME"), "float32", "float64",
            "jg.cast")
    _raises(lambda: jg.nn.conv2d(x, w, [1, 2, 2, 2], "SAME"), "strides", "batch and channel")
    _raises(lambda: jg.nn.conv2d(x, w, 0, "SAME"), "strides", "positive")
    _raises(lambda: jg.nn.max_pool(np.zeros((1, 2, 2, 4, 4, 2)), 2, 2, "SAME"), "rank 3",
            "or 5 (NDHWC)")  # rank 5 pools in 3-D (conv3d.py)
    with pytest.raises(jg.errors.UnimplementedError, match="NCHW.*NHWC.*transpose"):
        jg.nn.conv2d(x, w, 1, "SAME", data_format="NCHW")
    with pytest.raises(jg.errors.InvalidArgumentError, match="batch dim may be None"):
        jg.function(lambda a: jg.nn.conv2d(a, w, 1, "SAME")).get_concrete_function(
            jg.TensorSpec([None, None, 4, 2]))


def test_layer_errors():
    with pytest.raises(ValueError, match="padding must be one of 'valid', 'same'"):
        L.Conv2D(4, 3, padding="causal")
    with pytest.raises(ValueError, match="kernel_size"):
        L.Conv2D(4, (3, 3, 3))
    with pytest.raises(NotImplementedError, match="channels_first.*channels_last"):
        L.MaxPooling2D(data_format="channels_first")
    with pytest.raises(ValueError, match="Conv2D layer .conv2d.*rank 4.*\\(28, 28\\)"):
        L.Conv2D(2, 3)(np.zeros((28, 28), np.float32))


# ----------------------------------------------------------------------------- TensorFlow


@pytest.fixture(scope="module")
def tf():
    tf = pytest.importorskip("tensorflow")
    return tf


@pytest.mark.parametrize("args", [
    dict(strides=1, padding="VALID"), dict(strides=2, padding="SAME"),
    dict(strides=[1, 3, 2, 1], padding="SAME"), dict(strides=1, padding="SAME", dilations=2),
    dict(strides=(2, 1), padding=[[0, 0], [2, 1], [0, 3], [0, 0]])])
def test_nn_ops_match_tensorflow(tf, args):
    x, w = _x(2, 9, 8, 3).astype(np.float64), _x(3, 2, 3, 4).astype(np.float64)
    np.testing.assert_allclose(jg.nn.conv2d(x, w, **args).numpy(),
                               tf.nn.conv2d(x, w, **args).numpy(), rtol=1e-10, atol=1e-10)
    if "dilations" not in args:
        pad = args["padding"]
        pad = pad if isinstance(pad, str) else [[0, 0], [2, 1], [0, 1], [0, 0]]  # < ksize
        pool_args = dict(ksize=[3, 2], strides=args["strides"], padding=pad)
        np.testing.assert_allclose(jg.nn.max_pool2d(x, **pool_args).numpy(),
                                   tf.nn.max_pool2d(x, **pool_args).numpy())
        if isinstance(pad, str):
            np.testing.assert_allclose(jg.nn.avg_pool2d(x, **pool_args).numpy(),
                                       tf.nn.avg_pool2d(x, **pool_args).numpy(), rtol=1e-10)


def test_depthwise_matches_tensorflow(tf):
    x, w = _x(2, 7, 6, 3), _x(3, 3, 3, 2)
    for strides, pad in (([1, 1, 1, 1], "SAME"), ([1, 2, 2, 1], "VALID")):
        np.testing.assert_allclose(jg.nn.depthwise_conv2d(x, w, strides, pad).numpy(),
                                   tf.nn.depthwise_conv2d(x, w, strides, pad).numpy(),
                                   rtol=1e-4, atol=1e-5)


def test_keras_layers_match_tf_keras_with_copied_weights(tf):
    tk = tf.keras.layers
    pairs = [(L.Conv2D(5, 3, strides=2, padding="same", activation="relu"),
              tk.Conv2D(5, 3, strides=2, padding="same", activation="relu"), (2, 9, 8, 3)),
             (L.Conv2D(4, (2, 3), dilation_rate=2), tk.Conv2D(4, (2, 3), dilation_rate=2),
              (2, 9, 8, 3)),
             (L.Conv1D(3, 3, padding="causal", dilation_rate=2),
              tk.Conv1D(3, 3, padding="causal", dilation_rate=2), (2, 10, 4)),
             (L.DepthwiseConv2D(3, 2, "same", 2), tk.DepthwiseConv2D(3, 2, "same", 2),
              (2, 9, 8, 3)),
             (L.Conv2DTranspose(4, 3, 2), tk.Conv2DTranspose(4, 3, 2), (2, 3, 4, 5)),
             (L.Conv2DTranspose(2, 4, 3, output_padding=2, activation="relu"),
              tk.Conv2DTranspose(2, 4, 3, output_padding=2, activation="relu"), (2, 3, 4, 5)),
             (L.MaxPooling2D(3, 2, "same"), tk.MaxPooling2D(3, 2, "same"), (2, 9, 8, 3)),
             (L.AveragePooling2D(3, 2, "same"), tk.AveragePooling2D(3, 2, "same"),
              (2, 9, 8, 3)),
             (L.AveragePooling1D(2, padding="same"), tk.AveragePooling1D(2, padding="same"),
              (2, 7, 3)),
             (L.GlobalAveragePooling2D(), tk.GlobalAveragePooling2D(), (2, 4, 5, 3)),
             (L.UpSampling2D(2), tk.UpSampling2D(2), (2, 3, 2, 3)),
             (L.ZeroPadding2D(((1, 0), (2, 1))), tk.ZeroPadding2D(((1, 0), (2, 1))),
              (2, 3, 2, 3))]
    for ours, theirs, shape in pairs:
        x = _x(*shape)
        want = theirs(x).numpy()
        ours(x)
        assert [tuple(w.shape) for w in ours.get_weights()] == \
            [tuple(w.shape) for w in theirs.get_weights()]
        for a, b in zip(ours.weights, theirs.weights, strict=True):  # Keras 3 renamed
            assert _short(a.name) in (_short(b.name), "depthwise_" + _short(b.name))  # one
        ours.set_weights(theirs.get_weights())
        np.testing.assert_allclose(ours(x).numpy(), want, rtol=1e-4, atol=1e-5)
        assert tuple(ours.compute_output_shape(jg.TensorShape(shape))) == \
            tuple(theirs.compute_output_shape(shape))
        assert re.sub(r"_\d+$", "", ours.name) == re.sub(r"_\d+$", "", theirs.name)


def _short(name):
    return name.split("/")[-1].split(":")[0]  # "conv2d/kernel:0" (TF 2) or "kernel" (Keras 3)


def _fully_convolutional(layers):
    inp = layers.Input(shape=(None, None, 3))
    x = layers.Conv2D(4, 3, padding="same", activation="relu")(inp)
    x = layers.MaxPooling2D()(x)
    x = layers.Conv2D(6, 3, strides=2)(x)
    return layers.Input, inp, x, layers.GlobalAveragePooling2D()(x)


def test_functional_model_with_unknown_spatial_dims_matches_tf_keras(tf):
    """Input(shape=(None, None, 3)): the model builds (its unknown dims stay None), and runs
    and trains on images of any size, with tf.keras's numbers."""
    _, inp, mid, out = _fully_convolutional(L)
    model = jg.keras.Model(inp, L.Dense(2)(out))
    assert tuple(mid.shape) == (None, None, None, 6) and tuple(out.shape) == (None, 6)
    assert model.output_shape == (None, 2)
    _, tinp, _, tout = _fully_convolutional(tf.keras.layers)
    theirs = tf.keras.Model(tinp, tf.keras.layers.Dense(2)(tout))
    model.set_weights(theirs.get_weights())
    for shape in ((2, 16, 16, 3), (1, 21, 13, 3)):
        x = _x(*shape)
        np.testing.assert_allclose(model(x).numpy(), theirs(x).numpy(), rtol=1e-4, atol=1e-5)
    model.compile(loss="mse", optimizer="sgd")
    model.fit(_x(4, 12, 12, 3), _x(4, 2), epochs=1, verbose=0)
    assert model.predict(_x(3, 24, 20, 3), verbose=0).shape == (3, 2)
    lines = []
    model.summary(print_fn=lines.append)
    assert any("(None, None, None, 6)" in ln for ln in lines)


def test_sequence_length_unknown_at_build_stays_none():
    inp = L.Input(shape=(None,), dtype="int32")
    x = L.Embedding(20, 4)(inp)
    seq = L.LSTM(3, return_sequences=True)(x)
    assert tuple(x.shape) == (None, None, 4) and tuple(seq.shape) == (None, None, 3)
    model = jg.keras.Model(inp, L.GlobalAveragePooling1D()(seq))
    assert model(np.array([[1, 2, 3, 4, 5]], np.int32)).shape == (1, 3)
