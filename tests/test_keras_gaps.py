"""The tf.keras names jg.keras gained to close gaps: 3-D / transposed / separable / depthwise
convolutions, 3-D pooling and reshaping, PReLU, ThresholdedReLU, the dropout variants,
EinsumDense, RMSNormalization, RandomHeight/Width, InputSpec, Wrapper; the focal, Dice and
Tversky losses; the IoU, F-score, R2, correlation, hinge and sensitivity metrics; Adafactor
and Lamb; BackupAndRestore. NumPy references (always), tf.keras with copied weights or the
same variables (skipped without TensorFlow), eager == compiled, configs, errors."""

import numpy as np
import pytest

import jitgraph as jg

keras = jg.keras
L = keras.layers
RNG = np.random.default_rng(21)


def close(a, b, tol=1e-5):
    np.testing.assert_allclose(np.asarray(a, np.float64), np.asarray(b, np.float64),
                               rtol=tol, atol=tol)


def rand(*shape, dtype=np.float32):
    return RNG.normal(size=shape).astype(dtype)


def eager_and_compiled(layer, x, **kwargs):
    """The layer's output eagerly and from a cpu-compiled function (they must agree)."""
    eager = layer(x, **kwargs).numpy()
    compiled = jg.function(lambda t: layer(t, **kwargs))(jg.constant(x)).numpy()
    close(compiled, eager, 1e-5)
    return eager


def fd_check(fn, x, eps=1e-6, tol=1e-6):
    """float64 central differences of sum(w * fn(x)) in a random direction vs the tape."""
    x = np.asarray(x, np.float64)
    w = RNG.normal(size=np.shape(fn(jg.constant(x)).numpy()))
    v = RNG.normal(size=x.shape)
    t = jg.constant(x)
    with jg.GradientTape() as tape:
        tape.watch(t)
        y = jg.reduce_sum(fn(t) * w)
    g = tape.gradient(y, t).numpy()
    fd = (np.sum(w * fn(jg.constant(x + eps * v)).numpy())
          - np.sum(w * fn(jg.constant(x - eps * v)).numpy())) / (2 * eps)
    assert abs(fd - np.sum(g * v)) <= tol * max(1.0, abs(fd))


# ================================================================== layers

# (name, jg/tf constructor arguments, input shape)
_LAYER_CASES = [
    ("Conv3D", dict(filters=4, kernel_size=3, strides=2, padding="same"), (2, 5, 6, 4, 3)),
    ("Conv3D", dict(filters=4, kernel_size=(2, 3, 1), groups=2, dilation_rate=(1, 2, 1),
                    activation="relu"), (2, 5, 6, 4, 4)),
    ("Conv1DTranspose", dict(filters=4, kernel_size=3, strides=2), (2, 5, 3)),
    ("Conv1DTranspose", dict(filters=2, kernel_size=3, strides=2, padding="same",
                             output_padding=1), (2, 5, 3)),
    ("Conv3DTranspose", dict(filters=3, kernel_size=3, strides=2, padding="same"),
     (2, 3, 4, 2, 2)),
    ("Conv3DTranspose", dict(filters=2, kernel_size=(2, 3, 2), strides=(1, 2, 3)),
     (1, 3, 2, 2, 3)),
    ("SeparableConv1D", dict(filters=4, kernel_size=3, depth_multiplier=2, padding="same",
                             strides=2), (2, 7, 3)),
    ("SeparableConv2D", dict(filters=4, kernel_size=3, depth_multiplier=2, dilation_rate=2),
     (2, 7, 8, 3)),
    ("DepthwiseConv1D", dict(kernel_size=3, depth_multiplier=2, padding="same"), (2, 7, 3)),
    ("MaxPooling3D", dict(pool_size=2, padding="same"), (2, 5, 4, 3, 3)),
    ("AveragePooling3D", dict(pool_size=3, strides=2, padding="same"), (2, 5, 4, 3, 3)),
    ("AveragePooling3D", dict(pool_size=(2, 1, 2)), (2, 4, 3, 4, 2)),
    ("GlobalMaxPooling3D", dict(), (2, 3, 4, 2, 3)),
    ("GlobalAveragePooling3D", dict(keepdims=True), (2, 3, 4, 2, 3)),
    ("UpSampling3D", dict(size=(1, 2, 3)), (2, 2, 3, 2, 3)),
    ("ZeroPadding3D", dict(padding=((1, 0), (0, 2), (1, 1))), (2, 2, 3, 2, 3)),
    ("Cropping3D", dict(cropping=((1, 0), (0, 2), 1)), (2, 3, 4, 3, 3)),
    ("PReLU", dict(shared_axes=[1]), (2, 5, 3)),
    ("PReLU", dict(alpha_initializer="ones"), (2, 3, 4)),
    ("ThresholdedReLU", dict(theta=0.5), (2, 5, 3)),
    ("EinsumDense", dict(equation="ab,bc->ac", output_shape=4, bias_axes="c"), (2, 5)),
    ("EinsumDense", dict(equation="abc,cde->abde", output_shape=(None, 3, 4), bias_axes="de"),
     (2, 5, 6)),
    ("EinsumDense", dict(equation="...b,bc->...c", output_shape=4, bias_axes="c"),
     (2, 5, 3, 6)),
    ("EinsumDense", dict(equation="ab...,bc->ac...", output_shape=(4, None), bias_axes="c"),
     (2, 5, 3)),
    ("RMSNormalization", dict(), (2, 5, 3)),
    ("RMSNormalization", dict(axis=[-2, -1], epsilon=1e-3), (2, 5, 3)),
    ("AdaptiveAveragePooling1D", dict(output_size=4), (2, 10, 3)),
    ("AdaptiveMaxPooling2D", dict(output_size=(3, 4)), (2, 7, 9, 3)),
    ("AdaptiveAveragePooling2D", dict(output_size=3, data_format="channels_first"),
     (2, 3, 7, 5)),
    ("AdaptiveMaxPooling3D", dict(output_size=(2, 3, 4)), (1, 5, 7, 6, 2)),
]
_IDS = [f"{n}-{i}" for i, (n, _, _) in enumerate(_LAYER_CASES)]


@pytest.mark.parametrize("name,kwargs,shape", _LAYER_CASES, ids=_IDS)
def test_layer_matches_tf_keras_with_copied_weights(name, kwargs, shape):
    tf = pytest.importorskip("tensorflow")
    x = rand(*shape)
    t_layer = getattr(tf.keras.layers, name)(**kwargs)
    t_layer(x)
    weights = [w + 0.3 * rand(*w.shape) for w in t_layer.get_weights()]  # not the initial ones
    t_layer.set_weights(weights)
    want = t_layer(x).numpy()
    layer = getattr(L, name)(**kwargs)
    layer(x)
    assert [tuple(w.shape) for w in layer.get_weights()] == [w.shape for w in weights]
    layer.set_weights(weights)
    close(eager_and_compiled(layer, x), want, 2e-5)
    assert tuple(layer.compute_output_shape((None,) + shape[1:])) == \
        tuple(t_layer.compute_output_shape((None,) + shape[1:]))


@pytest.mark.parametrize("name,kwargs,shape", _LAYER_CASES, ids=_IDS)
def test_layer_config_round_trips_and_matches_tf_keys(name, kwargs, shape):
    layer = getattr(L, name)(**kwargs)
    cfg = layer.get_config()
    again = L.deserialize(L.serialize(layer))
    assert type(again) is type(layer)
    assert {k: v for k, v in again.get_config().items() if k != "name"} == \
        {k: v for k, v in cfg.items() if k != "name"}
    tf = pytest.importorskip("tensorflow")
    want = set(getattr(tf.keras.layers, name)(**kwargs).get_config())
    missing = want - set(cfg) - {"quantization_config", "lora_rank", "lora_alpha",
                                 "gamma_regularizer"}
    assert not missing, missing
    for key in set(want) & set(cfg) - {"name", "dtype"}:
        t_value = getattr(tf.keras.layers, name)(**kwargs).get_config()[key]
        if isinstance(t_value, (int, float, str, tuple, list, type(None))):
            assert cfg[key] == t_value or list(np.ravel(cfg[key])) == list(
                np.ravel(t_value)), key


def _np_conv3d(x, w, stride):
    k = w.shape[:3]
    out = [(n - kk) // stride + 1 for n, kk in zip(x.shape[1:4], k)]
    y = np.zeros((x.shape[0], *out, w.shape[4]))
    for pos in np.ndindex(*out):
        win = x[(slice(None), *[slice(p * stride, p * stride + kk) for p, kk in zip(pos, k)])]
        y[(slice(None), *pos)] = np.tensordot(win, w, axes=[[1, 2, 3, 4], [0, 1, 2, 3]])
    return y


def test_conv3d_and_pooling_layers_match_numpy():
    x = rand(2, 5, 4, 6, 2)
    conv = L.Conv3D(3, (2, 3, 2), strides=1, use_bias=False)
    conv(x)
    close(eager_and_compiled(conv, x), _np_conv3d(x, conv.kernel.numpy(), 1), 1e-5)
    close(eager_and_compiled(L.MaxPooling3D(2), x),
          x[:, :4, :4, :6].reshape(2, 2, 2, 2, 2, 3, 2, 2).max(axis=(2, 4, 6)))
    close(eager_and_compiled(L.AveragePooling3D((1, 2, 3)), x),
          x.reshape(2, 5, 1, 2, 2, 2, 3, 2).mean(axis=(2, 4, 6)))
    close(eager_and_compiled(L.GlobalAveragePooling3D(), x), x.mean(axis=(1, 2, 3)))
    close(L.UpSampling3D(2)(x), x.repeat(2, 1).repeat(2, 2).repeat(2, 3))
    close(L.ZeroPadding3D(1)(x), np.pad(x, [(0, 0), (1, 1), (1, 1), (1, 1), (0, 0)]))
    close(L.Cropping3D(((1, 2), 1, (0, 3)))(x), x[:, 1:-2, 1:-1, :-3])


def test_adaptive_pooling_matches_numpy_windows():
    x = rand(2, 7, 3, dtype=np.float64)
    bounds = [(0, 3), (2, 5), (4, 7)]  # floor(i 7 / 3), ceil((i + 1) 7 / 3)
    close(L.AdaptiveAveragePooling1D(3, dtype="float64")(x),
          np.stack([x[:, a:b].mean(1) for a, b in bounds], 1), 1e-12)
    close(L.AdaptiveMaxPooling1D(3, dtype="float64")(x),
          np.stack([x[:, a:b].max(1) for a, b in bounds], 1), 1e-12)
    fd_check(L.AdaptiveAveragePooling2D((2, 3), dtype="float64"), rand(1, 5, 4, 2))
    fd_check(L.AdaptiveMaxPooling2D((2, 3), dtype="float64"), rand(1, 5, 4, 2))


def test_separable_and_depthwise_match_numpy():
    x = rand(2, 6, 3)
    dw = L.DepthwiseConv1D(3, depth_multiplier=2, use_bias=False)
    dw(x)
    k = dw.depthwise_kernel.numpy()  # (3, in 3, 2)
    want = np.stack([np.einsum("nkc,kcm->ncm", x[:, i:i + 3], k).reshape(2, 6)
                     for i in range(4)], axis=1)
    close(eager_and_compiled(dw, x), want)
    sep = L.SeparableConv1D(5, 3, depth_multiplier=2, use_bias=False)
    sep(x)
    sep.depthwise_kernel.assign(k)
    close(eager_and_compiled(sep, x), want @ sep.pointwise_kernel.numpy()[0])


def test_conv_layer_gradients_match_finite_differences():
    for layer, shape in [(L.Conv3D(2, 2, strides=(1, 2, 1), padding="same", dtype="float64"),
                          (1, 3, 4, 3, 2)),
                         (L.Conv3DTranspose(2, 2, strides=2, dtype="float64"), (1, 2, 2, 2, 2)),
                         (L.Conv1DTranspose(2, 3, strides=2, padding="same",
                                            dtype="float64"), (2, 4, 3)),
                         (L.SeparableConv2D(2, 2, depth_multiplier=2, dtype="float64"),
                          (1, 4, 3, 2)),
                         (L.AveragePooling3D(2, strides=1, padding="same", dtype="float64"),
                          (1, 3, 3, 2, 2)),
                         (L.MaxPooling3D(2, dtype="float64"), (1, 4, 2, 2, 1)),
                         (L.EinsumDense("abc,cd->abd", (None, 3), dtype="float64"), (2, 3, 4)),
                         (L.PReLU(alpha_initializer="ones", dtype="float64"), (2, 5)),
                         (L.RMSNormalization(dtype="float64"), (2, 3, 4))]:
        fd_check(layer, rand(*shape, dtype=np.float64))


def test_conv3d_grads_match_tf_keras():
    tf = pytest.importorskip("tensorflow")
    x = rand(2, 4, 3, 5, 2)
    t_layer, layer = (m.layers.Conv3DTranspose(3, 2, strides=(2, 1, 2), padding="same")
                      for m in (tf.keras, keras))
    t_layer(x), layer(x)
    layer.set_weights(t_layer.get_weights())
    tx, jx = tf.constant(x), jg.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(tx)
        ty = tf.reduce_sum(t_layer(tx) ** 2)
    t_grads = tape.gradient(ty, [tx] + t_layer.trainable_weights)
    with jg.GradientTape() as tape:
        tape.watch(jx)
        jy = jg.reduce_sum(layer(jx) ** 2)
    grads = tape.gradient(jy, [jx] + layer.trainable_weights)
    for g, t in zip(grads, t_grads):
        close(g, t, 1e-4)


@pytest.mark.slow  # fit compiles a train step
def test_conv3d_model_trains_compiled():
    x, y = rand(16, 4, 4, 4, 1), rand(16, 1)
    model = keras.Sequential([L.Conv3D(2, 2, activation="relu", input_shape=(4, 4, 4, 1)),
                              L.MaxPooling3D(), L.GlobalAveragePooling3D(), L.Dense(1)])
    model.compile(loss="mse", optimizer="adam")
    hist = model.fit(x, y, epochs=3, batch_size=8, verbose=0)
    assert np.isfinite(hist.history["loss"]).all()
    close(model.predict(x, verbose=0), model(x).numpy(), 1e-5)


def test_models_with_new_layers_save_load_and_pass_masks(tmp_path):
    x = rand(4, 5, 6)
    x[0, 3:] = 0.0
    masked = L.Masking()(x)
    for layer in [L.PReLU(), L.ThresholdedReLU(0.1), L.GaussianDropout(0.2),
                  L.AlphaDropout(0.1), L.RMSNormalization(), L.SpatialDropout1D(0.3)]:
        np.testing.assert_array_equal(np.asarray(layer(masked)._keras_mask),
                                      np.abs(x).sum(-1) != 0)
    model = keras.Sequential([
        L.EinsumDense("abc,cd->abd", (None, 3), bias_axes="d", input_shape=(5, 6)),
        L.PReLU(), L.ThresholdedReLU(0.1), L.GaussianDropout(0.2), L.AlphaDropout(0.1),
        L.RMSNormalization(), L.SpatialDropout1D(0.3)])
    out = model(x)
    model.save(tmp_path / "seq.keras")
    loaded = keras.models.load_model(tmp_path / "seq.keras")
    close(loaded(x), out)
    inputs = keras.Input((4, 4, 4, 2))
    h = L.Conv3D(3, 2, padding="same")(inputs)
    h = L.MaxPooling3D()(h)
    h = L.Conv3DTranspose(2, 2, strides=2)(h)
    h = L.ZeroPadding3D(1)(h)
    h = L.Cropping3D(1)(h)
    volume = keras.Model(inputs, L.GlobalAveragePooling3D()(L.UpSampling3D()(h)))
    v = rand(2, 4, 4, 4, 2)
    volume.save(tmp_path / "vol")
    close(keras.models.load_model(tmp_path / "vol")(v), volume(v))
    assert tuple(volume.output_shape) == (None, 2)


def test_dropout_variants_statistics_and_inference_passthrough():
    jg.random.set_seed(3)
    x = np.ones((64, 4, 4, 8), np.float32)
    for layer in [L.GaussianDropout(0.3), L.AlphaDropout(0.3), L.SpatialDropout2D(0.3)]:
        close(layer(x, training=False), x)
        close(layer(x), x)  # a direct call without training passes through
    g = L.GaussianDropout(0.3)(np.ones(40000, np.float32), training=True).numpy()
    assert abs(g.mean() - 1) < 0.02 and abs(g.std() - np.sqrt(0.3 / 0.7)) < 0.02
    z = rand(40000)  # SELU-normalized inputs keep mean 0 and variance 1
    a = L.AlphaDropout(0.2)(z, training=True).numpy()
    assert abs(a.mean()) < 0.03 and abs(a.std() - 1) < 0.03
    s = L.SpatialDropout2D(0.5)(x, training=True).numpy()
    per_map = s.reshape(64, 16, 8)
    assert (per_map == per_map[:, :1]).all()  # a whole feature map is kept or dropped
    assert set(np.unique(s)) <= {0.0, 2.0} and 0.3 < (s == 0).mean() < 0.7
    s3 = L.SpatialDropout3D(0.5)(np.ones((8, 2, 2, 2, 16), np.float32), training=True).numpy()
    assert (s3.reshape(8, 8, 16) == s3.reshape(8, 8, 16)[:, :1]).all()
    cf = L.SpatialDropout2D(0.5, data_format="channels_first")(x, training=True).numpy()
    assert (cf.reshape(64, 4, 32) == cf.reshape(64, 4, 32)[:, :, :1]).all()
    compiled = jg.function(lambda t: L.SpatialDropout3D(0.5)(t, training=True))
    assert compiled(jg.ones((3, 2, 2, 2, 4))).shape == (3, 2, 2, 2, 4)


def test_random_height_and_width():
    jg.random.set_seed(1)
    images = rand(2, 10, 8, 3)
    h = L.RandomHeight(0.3)(images).shape
    assert 7 <= h[1] <= 13 and h[2:] == (8, 3)
    w = L.RandomWidth((0.5, 0.6))(images).shape
    assert w[1] == 10 and w[2] in (12, 13)
    close(L.RandomHeight(0.3)(images, training=False), images)
    with pytest.raises(NotImplementedError, match="RandomZoom"):
        jg.function(lambda t: L.RandomHeight(0.2)(t, training=True))(jg.constant(images))
    with pytest.raises(ValueError, match="larger than -1"):
        L.RandomWidth((-1.5, 0.2))


def test_input_spec_checks_calls_eager_and_symbolic():
    class Needs3(L.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.input_spec = L.InputSpec(ndim=3, axes={-1: 4})

    layer = Needs3(name="needs3")
    assert layer(np.ones((2, 3, 4), np.float32)).shape == (2, 3, 4)
    with pytest.raises(ValueError, match="'needs3'.*expected ndim=3, found ndim=2"):
        layer(np.ones((2, 4), np.float32))
    with pytest.raises(ValueError, match="axis -1 .* value 4"):
        layer(np.ones((2, 3, 5), np.float32))
    with pytest.raises(ValueError, match="axis -1"):
        Needs3()(keras.Input((3, 5)))
    with pytest.raises(ValueError, match="expected ndim=4"):
        L.SpatialDropout2D(0.5)(np.ones((2, 3, 4), np.float32))
    spec = L.InputSpec(dtype="float32", min_ndim=2)
    assert L.InputSpec.from_config(spec.get_config()).get_config() == spec.get_config()


def test_wrapper_holds_the_layer_and_serializes():
    class Twice(L.Wrapper):
        def call(self, inputs):
            return 2.0 * self.layer(inputs)

    dense = L.Dense(3)
    wrapped = Twice(dense)
    x = rand(2, 4)
    close(wrapped(x), 2 * dense(x).numpy())
    assert len(wrapped.trainable_weights) == 2
    cfg = keras.layers.serialize(wrapped)
    again = keras.layers.deserialize(cfg, custom_objects={"Twice": Twice})
    assert isinstance(again.layer, L.Dense) and again.layer.units == 3
    with pytest.raises(ValueError, match="must be a jg.keras.layers.Layer"):
        Twice("dense")


def test_layer_errors_name_the_problem():
    with pytest.raises(ValueError, match="Conv3D layer .* rank 5"):
        L.Conv3D(2, 2)(np.ones((2, 4, 4, 1), np.float32))
    with pytest.raises(ValueError, match="output_padding must be 3 ints"):
        L.Conv3DTranspose(2, 2, strides=2, output_padding=(1, 1))
    with pytest.raises(NotImplementedError, match="channels_first"):
        L.SeparableConv2D(2, 2, data_format="channels_first")
    with pytest.raises(ValueError, match="neither the input nor the weight"):
        L.EinsumDense("ab,bc->ad", 4)(np.ones((2, 3), np.float32))
    with pytest.raises(ValueError, match="bias_axes"):
        L.EinsumDense("ab,bc->ac", 4, bias_axes="x")(np.ones((2, 3), np.float32))
    with pytest.raises(ValueError, match="invalid equation"):
        L.EinsumDense("ab,bc,cd->ad", 4)
    with pytest.raises(ValueError, match="shared_axes"):
        L.PReLU(shared_axes=[3])(np.ones((2, 3), np.float32))
    with pytest.raises(jg.errors.InvalidArgumentError, match="conv3d: input has 2 channels"):
        jg.nn.conv3d(np.ones((1, 3, 3, 3, 2)), np.ones((2, 2, 2, 3, 1)), 1, "VALID")
    with pytest.raises(jg.errors.InvalidArgumentError, match="conv3d_transpose: a conv3d of"):
        jg.nn.conv3d_transpose(np.ones((1, 2, 2, 2, 1)), np.ones((2, 2, 2, 1, 1)),
                               [1, 9, 9, 9, 1], 2, "SAME")
    with pytest.raises(jg.errors.UnimplementedError, match="NDHWC"):
        jg.nn.max_pool3d(np.ones((1, 2, 2, 2, 1)), 2, 2, "VALID", data_format="NCDHW")


# ================================================================== losses

def _np_bce(t, p):
    p = np.clip(p, 1e-7, 1 - 1e-7)
    return -(t * np.log(p) + (1 - t) * np.log(1 - p))


def _np_losses():
    """(class name, kwargs, per-batch NumPy reference for y_true t and y_pred p)."""
    def bfce(t, p, gamma=2.0):
        pt = t * p + (1 - t) * (1 - p)
        return ((1 - pt) ** gamma * _np_bce(t, p)).mean(-1).mean()

    def cfce(t, p):
        q = np.clip(p / p.sum(-1, keepdims=True), 1e-7, 1 - 1e-7)
        return (0.25 * (1 - q) ** 2 * -t * np.log(q)).sum(-1).mean()

    def dice(t, p):
        return 1 - 2 * (t * p).sum() / (t.sum() + p.sum() + 1e-7)

    def tversky(t, p, a=0.3, b=0.7):
        tp, fp, fn = (t * p).sum(), ((1 - p) * t).sum(), (p * (1 - t)).sum()
        return 1 - tp / (tp + a * fp + b * fn + 1e-7)

    return [("BinaryFocalCrossentropy", {}, bfce),
            ("CategoricalFocalCrossentropy", {}, cfce),
            ("Dice", {}, dice),
            ("Tversky", {"alpha": 0.3, "beta": 0.7}, tversky)]


@pytest.mark.parametrize("name,kwargs,ref", _np_losses(), ids=lambda v: v if isinstance(
    v, str) else "")
def test_new_losses_match_numpy_eager_and_compiled(name, kwargs, ref):
    t = np.eye(5)[RNG.integers(0, 5, 6)] if "Categorical" in name else \
        (RNG.uniform(size=(6, 5)) > 0.5).astype(np.float64)
    p = RNG.uniform(0.05, 0.95, size=(6, 5))
    loss = getattr(keras.losses, name)(**kwargs)
    close(loss(t, p), ref(t, p), 1e-9)
    compiled = jg.function(lambda a, b: loss(a, b), backend="cpu")
    close(compiled(jg.constant(t), jg.constant(p)), ref(t, p), 1e-9)
    fd_check(lambda q: loss(jg.constant(t), q), p)
    assert keras.losses.get(type(loss).__name__).get_config() == type(loss)().get_config()
    again = keras.losses.deserialize(keras.losses.serialize(loss))
    assert again.get_config() == loss.get_config()


_TF_LOSS_CASES = [
    ("BinaryFocalCrossentropy", dict(apply_class_balancing=True, gamma=1.5,
                                     label_smoothing=0.1)),
    ("BinaryFocalCrossentropy", dict(from_logits=True, alpha=0.4)),
    ("CategoricalFocalCrossentropy", dict(from_logits=True, label_smoothing=0.2, alpha=0.5)),
    ("CategoricalFocalCrossentropy", dict(gamma=0.5)),
    ("Dice", dict()), ("Dice", dict(axis=-1)),
    ("Tversky", dict(alpha=0.2, beta=0.8)), ("Tversky", dict(axis=-1))]


@pytest.mark.parametrize("name,kwargs", _TF_LOSS_CASES)
def test_new_losses_match_tf_keras(name, kwargs):
    tf = pytest.importorskip("tensorflow")
    t = np.eye(4, dtype=np.float32)[RNG.integers(0, 4, 6)] if "Categorical" in name else \
        (RNG.uniform(size=(6, 4)) > 0.5).astype(np.float32)
    p = (rand(6, 4) if kwargs.get("from_logits") else
         RNG.uniform(0.02, 0.98, size=(6, 4)).astype(np.float32))
    sw = RNG.uniform(size=6).astype(np.float32)
    ours, theirs = getattr(keras.losses, name)(**kwargs), getattr(tf.keras.losses, name)(**kwargs)
    close(ours(t, p), theirs(t, p).numpy(), 1e-5)
    if kwargs.get("axis", -1) is not None:
        close(ours(t, p, sample_weight=sw), theirs(t, p, sample_weight=sw).numpy(), 1e-5)
    want = {k: v for k, v in theirs.get_config().items() if k not in ("dtype", "reduction")}
    got = {k: v for k, v in ours.get_config().items() if k != "reduction"}
    assert got == want
    fn = getattr(keras.losses, ours.name)
    close(fn(t, p, **kwargs), getattr(tf.keras.losses, ours.name)(t, p, **kwargs).numpy(), 1e-5)


@pytest.mark.slow  # fit compiles a train step
def test_new_losses_by_name_in_compile_and_fit():
    x = rand(32, 3)
    y = (x[:, :1] > 0).astype(np.float32)
    for loss in ["binary_focal_crossentropy", "dice", keras.losses.Tversky(axis=-1)]:
        model = keras.Sequential([L.Dense(1, activation="sigmoid", input_shape=(3,))])
        model.compile(loss=loss, optimizer="adam")
        hist = model.fit(x, y, epochs=2, batch_size=16, verbose=0)
        assert np.isfinite(hist.history["loss"]).all()
    assert keras.losses.kullback_leibler_divergence is keras.losses.kl_divergence
    with pytest.raises(ValueError, match="axis must be an int"):
        keras.losses.categorical_focal_crossentropy([[1.0, 0.0]], [[0.5, 0.5]], axis=True)
    with pytest.raises(TypeError, match="unexpected arguments"):
        keras.losses.Dice(gamma=2.0)


# ================================================================== metrics

def _np_fbeta(t, p, beta, threshold=None, average=None):
    pred = (p > threshold) if threshold is not None else \
        ((p >= p.max(-1, keepdims=True)) & (np.abs(p) > 1e-9))
    pred = pred.astype(np.float64)
    axis = None if average == "micro" else 0
    tp, fp = (pred * t).sum(axis), (pred * (1 - t)).sum(axis)
    fn = ((1 - pred) * t).sum(axis)
    prec, rec = tp / (tp + fp + 1e-7), tp / (tp + fn + 1e-7)
    f = prec * rec / (beta ** 2 * prec + rec + 1e-7) * (1 + beta ** 2)
    if average == "weighted":
        w = t.sum(0)
        return (f * w / (w.sum() + 1e-7)).sum()
    return f.mean() if average else f


def _np_r2(t, p):
    return np.mean(1 - ((t - p) ** 2).sum(0) / ((t - t.mean(0)) ** 2).sum(0))


def _np_iou(t_ids, p_ids, n, targets):
    cm = np.zeros((n, n))
    np.add.at(cm, (t_ids, p_ids), 1.0)
    tp = np.diag(cm)
    den = cm.sum(0) + cm.sum(1) - tp
    vals = [tp[i] / den[i] for i in targets if den[i] > 0]
    return np.mean(vals)


def test_new_metrics_match_numpy_over_batches_eager_and_compiled():
    t = (RNG.uniform(size=(12, 4)) > 0.5).astype(np.float32)
    p = RNG.uniform(size=(12, 4)).astype(np.float32)
    rt, rp = rand(12, 3), rand(12, 3)
    ids, pids = RNG.integers(0, 4, 12), RNG.integers(0, 4, 12)
    corr = lambda a, b: np.mean([np.corrcoef(x, y)[0, 1] for x, y in zip(a, b)])  # noqa: E731
    cases = [
        (keras.metrics.F1Score(), t, p, _np_fbeta(t, p, 1.0)),
        (keras.metrics.FBetaScore(beta=2.0, average="weighted", threshold=0.4), t, p,
         _np_fbeta(t, p, 2.0, 0.4, "weighted")),
        (keras.metrics.F1Score(average="micro", threshold=0.5), t, p,
         _np_fbeta(t, p, 1.0, 0.5, "micro")),
        (keras.metrics.R2Score(), rt, rp, _np_r2(rt, rp)),
        (keras.metrics.IoU(4, [1, 3]), ids, pids, _np_iou(ids, pids, 4, [1, 3])),
        (keras.metrics.OneHotMeanIoU(4), np.eye(4)[ids], np.eye(4)[pids],
         _np_iou(ids, pids, 4, range(4))),
        (keras.metrics.BinaryIoU(), t, p, _np_iou(t.ravel().astype(int),
                                                  (p.ravel() >= 0.5).astype(int), 2, [0, 1])),
        (keras.metrics.PearsonCorrelation(), rt, rp, corr(rt, rp)),
        (keras.metrics.Hinge(), t, 2 * p - 1, np.maximum(1 - (2 * t - 1) * (2 * p - 1),
                                                         0).mean()),
        (keras.metrics.Poisson(), t, p + 0.1, (p + 0.1 - t * np.log(p + 0.1 + 1e-7)).mean()),
    ]
    for metric, a, b, want in cases:
        for half in (slice(0, 6), slice(6, 12)):
            metric.update_state(a[half], b[half])
        close(metric.result(), want, 1e-5)
        metric.reset_state()
        step = jg.function(lambda x, y, m=metric: m.update_state(x, y))
        for half in (slice(0, 6), slice(6, 12)):
            step(jg.constant(a[half]), jg.constant(b[half]))
        close(metric.result(), want, 1e-5)


_TF_METRIC_CASES = [
    ("F1Score", dict(average="macro", threshold=0.5)), ("F1Score", dict()),
    ("FBetaScore", dict(beta=2.0, average="weighted")),
    ("FBetaScore", dict(average="micro", threshold=0.3)),
    ("IoU", dict(num_classes=4, target_class_ids=[0, 2])), ("BinaryIoU", dict()),
    ("BinaryIoU", dict(target_class_ids=[1], threshold=0.3)),
    ("OneHotIoU", dict(num_classes=4, target_class_ids=[1, 3])),
    ("OneHotMeanIoU", dict(num_classes=4)), ("R2Score", dict()),
    ("R2Score", dict(class_aggregation="variance_weighted_average")),
    ("R2Score", dict(class_aggregation=None, num_regressors=2)),
    ("PearsonCorrelation", dict()), ("ConcordanceCorrelation", dict()),
    ("SensitivityAtSpecificity", dict(specificity=0.6)),
    ("SpecificityAtSensitivity", dict(sensitivity=0.5, num_thresholds=50)),
    ("RecallAtPrecision", dict(precision=0.6, class_id=2)), ("Hinge", dict()),
    ("SquaredHinge", dict()), ("CategoricalHinge", dict()), ("KLDivergence", dict()),
    ("Poisson", dict()), ("MeanAbsolutePercentageError", dict())]


@pytest.mark.filterwarnings("ignore:You are passing weight")  # tf.keras on whole weights
@pytest.mark.parametrize("name,kwargs", _TF_METRIC_CASES)
def test_new_metrics_match_tf_keras_with_weights(name, kwargs):
    tf = pytest.importorskip("tensorflow")
    t = (RNG.uniform(size=(8, 4)) > 0.5).astype(np.float32)
    p = RNG.uniform(size=(8, 4)).astype(np.float32)
    w = RNG.uniform(size=8).astype(np.float32)
    if name in ("IoU",):
        t, p = RNG.integers(0, 4, 8), RNG.integers(0, 4, 8)
    if name.startswith("OneHot") or name in ("CategoricalHinge", "KLDivergence"):
        t = np.eye(4, dtype=np.float32)[RNG.integers(0, 4, 8)]
    if name in ("R2Score", "PearsonCorrelation", "ConcordanceCorrelation",
                "MeanAbsolutePercentageError"):
        t = rand(8, 3)
        p = t + 0.5 * rand(8, 3)
    if name in ("Hinge", "SquaredHinge"):
        p = 2 * p - 1
    if "IoU" in name:  # tf.keras counts in integers: whole weights only
        w = np.round(3 * w).astype(np.float32)
        if name == "BinaryIoU":
            w = np.round(3 * RNG.uniform(size=t.shape)).astype(np.float32)
    ours, theirs = getattr(keras.metrics, name)(**kwargs), getattr(tf.keras.metrics,
                                                                    name)(**kwargs)
    for half in (slice(0, 4), slice(4, 8)):
        ours.update_state(t[half], p[half], sample_weight=w[half])
        theirs.update_state(t[half], p[half], sample_weight=w[half])
    close(ours.result(), theirs.result().numpy(), 2e-5)
    skip = ("dtype", "name")
    assert {k: v for k, v in ours.get_config().items() if k not in skip} == \
        {k: v for k, v in theirs.get_config().items() if k not in skip}
    again = keras.metrics.deserialize(keras.metrics.serialize(ours))
    assert type(again) is type(ours) and again.get_config() == ours.get_config()


def test_metric_names_aliases_and_errors():
    m = keras.metrics
    for name, cls in [("hinge", m.Hinge), ("kld", m.KLDivergence),
                      ("mape", m.MeanAbsolutePercentageError), ("f1_score", m.F1Score),
                      ("r2_score", m.R2Score),
                      ("poisson", m.Poisson), ("squared_hinge", m.SquaredHinge)]:
        assert type(m.get(name)) is cls
    assert m.KLDivergence().name == "kl_divergence"
    assert m.MAE is keras.losses.mean_absolute_error and m.KLD is keras.losses.kl_divergence
    assert m.kullback_leibler_divergence is m.kld and m.MAPE is m.mape
    assert m.huber is keras.losses.huber and m.binary_focal_crossentropy is \
        keras.losses.binary_focal_crossentropy
    with pytest.raises(ValueError, match="beta must be a Python float"):
        m.FBetaScore(beta=2)
    with pytest.raises(ValueError, match="expects 2-D inputs"):
        m.F1Score()([1.0, 0.0], [0.3, 0.8])
    with pytest.raises(ValueError, match="target_class_ids"):
        m.IoU(3, [0, 3])
    with pytest.raises(ValueError, match="specificity must be in"):
        m.SensitivityAtSpecificity(1.5)
    with pytest.raises(ValueError, match="class_aggregation"):
        m.R2Score(class_aggregation="median")


@pytest.mark.slow  # fit compiles a train step
def test_new_metrics_in_compile_and_fit():
    x = rand(32, 3)
    y = np.concatenate([(x[:, :1] > 0), (x[:, 1:2] > 0)], axis=1).astype(np.float32)
    model = keras.Sequential([L.Dense(2, activation="sigmoid", input_shape=(3,))])
    model.compile(loss="binary_crossentropy", optimizer="adam",
                  metrics=[keras.metrics.F1Score(average="macro", threshold=0.5),
                           keras.metrics.BinaryIoU(), "hinge", keras.metrics.R2Score()])
    hist = model.fit(x, y, epochs=2, batch_size=16, verbose=0)
    assert {"f1_score", "binary_io_u", "hinge", "r2_score"} <= set(hist.history)
    results = model.evaluate(x, y, verbose=0, return_dict=True)
    assert all(np.isfinite(v) for v in results.values())


# ================================================================== optimizers, callbacks

_SHAPES = [(3, 4), (5,), (2, 3, 2), ()]


def _np_adafactor_step(x, g, s, t, lr=0.001, decay=-0.8, eps1=1e-30, eps2=1e-3, clip=1.0):
    """Keras 3's Adafactor update for one variable (relative_step, no weight decay)."""
    rms = lambda a: np.sqrt(np.mean(np.square(a)))  # noqa: E731
    lr = min(lr, 1 / np.sqrt(t))
    alpha = max(eps2, rms(x)) * min(lr, 1 / np.sqrt(t))
    g2 = g * g + eps1
    beta = 1 - t ** decay
    if x.ndim >= 2:
        s["r"] = beta * s["r"] + (1 - beta) * g2.mean(-1)
        s["c"] = beta * s["c"] + (1 - beta) * g2.mean(-2)
        v = (s["r"] / s["r"].mean(-1, keepdims=True))[..., None] * s["c"][..., None, :]
    else:
        s["v"] = v = beta * s["v"] + (1 - beta) * g2
    u = g / np.sqrt(v)
    return x - alpha * u / max(1.0, rms(u) / clip)


def _np_lamb_step(x, g, s, t, lr=0.001, b1=0.9, b2=0.999, eps=1e-7):
    s["m"] = s["m"] + (g - s["m"]) * (1 - b1)
    s["v"] = s["v"] + (g * g - s["v"]) * (1 - b2)
    update = (s["m"] / (1 - b1 ** t)) / (np.sqrt(s["v"] / (1 - b2 ** t)) + eps)
    wn, gn = np.linalg.norm(x), np.linalg.norm(update)
    ratio = wn / gn if wn > 0 and gn > 0 else 1.0
    return x - ratio * lr * update


@pytest.mark.parametrize("name,ref", [("Adafactor", _np_adafactor_step),
                                      ("Lamb", _np_lamb_step)])
def test_new_optimizers_match_numpy_steps_eager_and_compiled(name, ref):
    xs = [rand(*s, dtype=np.float64) for s in _SHAPES]
    vs = [jg.Variable(x) for x in xs]
    opt = getattr(keras.optimizers, name)()
    step = jg.function(lambda gs: opt.apply_gradients(zip(gs, vs)))
    states = [{"r": np.zeros(x.shape[:-1]), "c": np.zeros(x.shape[:-2] + x.shape[-1:]),
               "v": np.zeros(x.shape), "m": np.zeros(x.shape)} for x in xs]
    for t in range(1, 5):
        gs = [rand(*s, dtype=np.float64) for s in _SHAPES]
        if t % 2:
            opt.apply_gradients(zip([jg.constant(g) for g in gs], vs))
        else:
            step([jg.constant(g) for g in gs])
        xs = [ref(x, g, s, t) for x, g, s in zip(xs, gs, states)]
        for v, x in zip(vs, xs):  # (the learning rate is held in float32)
            close(v, x, 1e-7)


_TF_OPT_CASES = [
    ("Adafactor", dict()),
    ("Adafactor", dict(learning_rate=0.5, relative_step=False, clip_threshold=0.5,
                       weight_decay=0.01, beta_2_decay=-0.5)),
    ("Lamb", dict()), ("Lamb", dict(learning_rate=0.01, weight_decay=0.1, beta_1=0.8))]


@pytest.mark.parametrize("name,kwargs", _TF_OPT_CASES)
def test_new_optimizers_match_tf_keras_step_by_step(name, kwargs):
    tf = pytest.importorskip("tensorflow")
    init = [rand(*s) for s in _SHAPES]
    t_vars, vs = [tf.Variable(x) for x in init], [jg.Variable(x) for x in init]
    theirs, ours = (getattr(m.optimizers, name)(**kwargs) for m in (tf.keras, keras))
    for _ in range(4):
        gs = [rand(*s) for s in _SHAPES]
        theirs.apply_gradients(zip([tf.constant(g) for g in gs], t_vars))
        ours.apply_gradients(zip([jg.constant(g) for g in gs], vs))
        for a, b in zip(vs, t_vars):
            close(a, b.numpy(), 2e-6)
    want = theirs.get_config()
    assert {k: v for k, v in ours.get_config().items() if k != "name"} == \
        {k: want[k] for k in ours.get_config() if k != "name"}
    again = keras.optimizers.deserialize(keras.optimizers.serialize(ours))
    assert type(again) is type(ours) and again.get_config() == ours.get_config()


@pytest.mark.slow  # fit compiles a train step
def test_new_optimizers_by_name_train_a_model():
    x = rand(32, 3)
    y = x @ np.array([[1.0], [-2.0], [0.5]], np.float32)
    for opt in ["adafactor", "lamb"]:
        model = keras.Sequential([L.Dense(1, input_shape=(3,))])
        model.compile(loss="mse", optimizer=keras.optimizers.get(opt))
        hist = model.fit(x, y, epochs=3, batch_size=8, verbose=0)
        assert type(model.optimizer).__name__.lower() == opt
        assert hist.history["loss"][-1] < hist.history["loss"][0]


def _small_model():
    jg.random.set_seed(5)
    model = keras.Sequential([L.Dense(4, activation="tanh", input_shape=(3,)), L.Dense(1)])
    model.compile(loss="mse", optimizer=keras.optimizers.Adam(0.01))
    return model


class _Interrupt(keras.callbacks.Callback):
    def __init__(self, at_epoch):
        super().__init__()
        self.at_epoch = at_epoch

    def on_epoch_end(self, epoch, logs=None):
        if epoch == self.at_epoch:
            raise RuntimeError("interrupted")


def test_names_resolve_in_every_namespace():
    assert keras.losses.get("dice") is keras.losses.dice
    assert isinstance(keras.losses.get("BinaryFocalCrossentropy"),
                      keras.losses.BinaryFocalCrossentropy)
    assert type(keras.optimizers.get("adafactor")) is keras.optimizers.Adafactor
    assert type(keras.optimizers.get("Lamb")) is keras.optimizers.Lamb
    assert type(keras.metrics.get("concordance_correlation")) is \
        keras.metrics.ConcordanceCorrelation
    for alias, cls in [("Convolution3D", L.Conv3D), ("MaxPool3D", L.MaxPooling3D),
                       ("GlobalAvgPool3D", L.GlobalAveragePooling3D),
                       ("SeparableConvolution2D", L.SeparableConv2D)]:
        assert getattr(L, alias) is cls
        assert type(L.deserialize({"class_name": alias, "config": {"filters": 2,
                                                                   "kernel_size": 2}}
                                  if "Conv" in alias else {"class_name": alias,
                                                           "config": {}})) is cls


class _Weights(keras.callbacks.Callback):
    def on_train_begin(self, logs=None):
        self.at_start = [w.copy() for w in self.model.get_weights()]


@pytest.mark.parametrize("save_freq", ["epoch", 5])
def test_backup_and_restore_resumes_where_training_stopped(tmp_path, save_freq):
    x = rand(32, 3)
    y = x.sum(1, keepdims=True)
    reference = _small_model()
    reference.fit(x, y, epochs=5, batch_size=8, verbose=0, shuffle=False)
    backup_dir = tmp_path / "backup"
    backup = keras.callbacks.BackupAndRestore(backup_dir, save_freq=save_freq)
    model = _small_model()
    with pytest.raises(RuntimeError, match="interrupted"):
        model.fit(x, y, epochs=5, batch_size=8, verbose=0, shuffle=False,
                  callbacks=[backup, _Interrupt(2)])
    assert backup_dir.is_dir()
    if save_freq != "epoch":  # the last backup: after batch 10 (epoch 2's second of 4)
        model = _small_model()
        model.fit(x, y, epochs=2, batch_size=8, verbose=0, shuffle=False)
        model.fit(x[:16], y[:16], epochs=1, batch_size=8, verbose=0, shuffle=False)
    resumed, seen = _small_model(), _Weights()
    hist = resumed.fit(x, y, epochs=5, batch_size=8, verbose=0, shuffle=False,
                       callbacks=[backup, seen])
    for got, want in zip(seen.at_start, model.get_weights()):
        close(got, want, 1e-6)
    if save_freq == "epoch":  # epochs 0-2 completed: 3 and 4 remain, as if never stopped
        assert len(hist.history["loss"]) == 2
        close(resumed.predict(x, verbose=0), reference.predict(x, verbose=0), 1e-6)
    else:  # the interrupted epoch runs again from its start
        assert len(hist.history["loss"]) == 3
    assert not backup_dir.exists()  # deleted after a normal end
    assert len(resumed.fit(x, y, epochs=2, verbose=0).history["loss"]) == 2  # fresh fit
    with pytest.raises(ValueError, match="save_freq"):
        keras.callbacks.BackupAndRestore(backup_dir, save_freq=0)


# ================================================================== CTC

def _np_ctc(labels, logits):
    """-log of the summed probability of every alignment (brute force over all paths)."""
    import itertools

    t, c = logits.shape
    logp = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    want = [int(v) for v in labels if v != 0]
    total = 0.0
    for path in itertools.product(range(c), repeat=t):
        collapsed = [k for i, k in enumerate(path) if k != 0 and (i == 0 or path[i - 1] != k)]
        if collapsed == want:
            total += np.exp(sum(logp[i, k] for i, k in enumerate(path)))
    return -np.log(total) if total > 0 else np.inf


def test_ctc_matches_brute_force_and_differentiates():
    labels = np.array([[1, 2, 0], [2, 2, 1], [1, 0, 0], [0, 0, 0]], np.int32)
    logits = rand(4, 6, 3, dtype=np.float64)
    want = [_np_ctc(lab, lg) for lab, lg in zip(labels, logits)]
    close(keras.losses.ctc(labels, logits), want, 1e-9)
    compiled = jg.function(keras.losses.ctc)
    close(compiled(jg.constant(labels), jg.constant(logits)), want, 1e-9)
    close(keras.losses.CTC()(labels, logits), np.mean(want), 1e-9)
    fd_check(lambda z: keras.losses.ctc(labels, z), logits)
    impossible = keras.losses.ctc(np.array([[1, 1, 1]], np.int32), rand(1, 4, 3)).numpy()
    assert np.isinf(impossible).all()  # three 1s need at least 5 steps (blanks between)
    assert keras.losses.get("CTC").get_config() == {"reduction": "auto", "name": "ctc"}
    with pytest.raises(ValueError, match=r"ctc: targets y_true must have shape"):
        keras.losses.ctc(np.ones((2, 3, 1), np.int32), rand(2, 5, 4))
    with pytest.raises(ValueError, match=r"ctc: y_pred must be logits"):
        keras.losses.ctc(np.ones((2, 3), np.int32), rand(2, 5))


def test_ctc_matches_tf_keras_values_and_gradients():
    tf = pytest.importorskip("tensorflow")
    labels = np.array([[1, 2, 2, 0], [3, 1, 4, 2], [2, 0, 0, 0]], np.int32)
    logits = rand(3, 12, 5, dtype=np.float64)
    close(keras.losses.ctc(labels, logits), tf.keras.losses.ctc(labels, logits).numpy(), 1e-5)
    x, tx = jg.constant(logits), tf.constant(logits)
    with jg.GradientTape() as tape:
        tape.watch(x)
        y = jg.reduce_sum(keras.losses.ctc(labels, x))
    with tf.GradientTape() as t_tape:
        t_tape.watch(tx)
        ty = tf.reduce_sum(tf.keras.losses.ctc(labels, tx))
    close(tape.gradient(y, x), t_tape.gradient(ty, tx).numpy(), 1e-5)


def test_rank_dispatching_pools_take_volumes():
    x = rand(1, 4, 4, 6, 2)
    close(jg.nn.max_pool(x, 2, 2, "VALID"), jg.nn.max_pool3d(x, 2, 2, "VALID"))
    close(jg.nn.avg_pool(x, [1, 2, 3], 1, "SAME"), jg.nn.avg_pool3d(x, [1, 2, 3], 1, "SAME"))


# ================================================================== activations

_ACTIVATIONS = ["relu6", "celu", "glu", "hard_silu", "hard_swish", "hard_tanh", "hard_shrink",
                "soft_shrink", "tanh_shrink", "log_sigmoid", "mish", "squareplus",
                "sparse_plus", "sparse_sigmoid"]


def _np_sparsemax(z):
    out = np.zeros_like(z)
    for i, row in enumerate(z):
        s = np.sort(row)[::-1]
        k = np.arange(1, len(s) + 1)
        kz = k[1 + k * s > np.cumsum(s)].max()
        tau = (s[:kz].sum() - 1) / kz
        out[i] = np.maximum(row - tau, 0)
    return out


def test_new_activations_match_numpy_and_differentiate():
    x = 3 * rand(4, 6, dtype=np.float64)
    a = keras.activations
    relu6 = np.clip(x, 0, 6)
    refs = {"relu6": relu6, "hard_silu": x * np.clip(x + 3, 0, 6) / 6,
            "mish": x * np.tanh(np.log1p(np.exp(x))), "log_sigmoid": -np.log1p(np.exp(-x)),
            "squareplus": (x + np.sqrt(x * x + 4)) / 2, "tanh_shrink": x - np.tanh(x),
            "glu": x[:, :3] / (1 + np.exp(-x[:, 3:])),
            "celu": np.maximum(x, 0) + np.minimum(0, np.expm1(x)),
            "soft_shrink": np.sign(x) * np.maximum(np.abs(x) - 0.5, 0),
            "hard_sigmoid": np.clip(x + 3, 0, 6) / 6}  # Keras 3's (relu6(x + 3) / 6)
    for name, want in refs.items():
        close(a.get(name)(jg.constant(x)), want, 1e-12)
    close(a.sparsemax(jg.constant(x)), _np_sparsemax(x), 1e-12)
    close(np.sum(a.sparsemax(jg.constant(x)).numpy(), -1), np.ones(4), 1e-12)
    close(a.sparsemax(jg.constant(x), axis=0), _np_sparsemax(x.T).T, 1e-12)
    close(a.threshold(jg.constant(x), 0.5, -1.0), np.where(x > 0.5, x, -1.0))
    for fn in [a.mish, a.celu, a.squareplus, a.sparsemax, a.glu, a.log_sigmoid]:
        fd_check(fn, x)
    compiled = jg.function(lambda t: a.sparsemax(a.mish(t)))
    close(compiled(jg.constant(x)), a.sparsemax(a.mish(jg.constant(x))), 1e-12)
    assert L.Dense(2, activation="hard_swish").get_config()["activation"] == "hard_silu"
    with pytest.raises(ValueError, match="even"):
        a.glu(jg.ones((2, 3)))


def test_new_activations_match_tf_keras():
    tf = pytest.importorskip("tensorflow")
    x = 3 * rand(3, 6)
    for name in _ACTIVATIONS:
        close(getattr(keras.activations, name)(jg.constant(x)),
              getattr(tf.keras.activations, name)(x).numpy(), 1e-6)


# ================================================================== small names

def test_pad_sequences_normalize_dot_and_initializer_names():
    u = keras.utils
    seqs = [[1, 2, 3, 4], [5], [], [6, 7]]
    np.testing.assert_array_equal(u.pad_sequences(seqs, maxlen=3),
                                  [[2, 3, 4], [0, 0, 5], [0, 0, 0], [0, 6, 7]])
    np.testing.assert_array_equal(
        u.pad_sequences(seqs, maxlen=3, padding="post", truncating="post", value=-1),
        [[1, 2, 3], [5, -1, -1], [-1, -1, -1], [6, 7, -1]])
    assert u.pad_sequences(seqs).shape == (4, 4)
    assert u.pad_sequences([np.ones((2, 3)), np.ones((1, 3))], dtype="float32").shape == \
        (2, 2, 3)
    with pytest.raises(ValueError, match="'pre' or 'post'"):
        u.pad_sequences(seqs, padding="middle")
    x = rand(3, 4)
    x[1] = 0
    close(u.normalize(x), x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-30))
    close(u.normalize(x, axis=0, order=1), x / np.abs(x).sum(0, keepdims=True))
    a, b = rand(2, 3), rand(2, 3)
    close(L.dot([a, b], axes=1), (a * b).sum(1, keepdims=True))
    init = keras.initializers
    assert init.IdentityInitializer is init.Identity and init.lecun_uniform is init.LecunUniform
    assert isinstance(init.get("OrthogonalInitializer"), init.Orthogonal)
    assert init.truncated_normal is init.TruncatedNormal


def test_spectral_normalization_matches_tf_keras_and_bounds_the_norm():
    x = rand(4, 5)
    layer = L.SpectralNormalization(L.Dense(3), power_iterations=2)
    layer(x)
    # the wrapper's own weight, then the wrapped layer's (Keras 3: kernel, vector_u, bias;
    # copies between the two go by name)
    assert [w.name.split("/")[-1] for w in layer.weights] == ["vector_u:0", "kernel:0", "bias:0"]
    for step in range(6):  # eager and compiled training calls alternate
        y = layer(x, training=True) if step % 2 else \
            jg.function(lambda t: layer(t, training=True))(jg.constant(x))
    assert abs(np.linalg.svd(layer.layer.kernel.numpy(), compute_uv=False)[0] - 1) < 1e-3
    close(layer(x), y)  # inference uses the normalized kernel as it is
    again = L.deserialize(L.serialize(layer))
    assert again.power_iterations == 2 and isinstance(again.layer, L.Dense)
    with pytest.raises(ValueError, match="no 'kernel' nor 'embeddings'"):
        L.SpectralNormalization(L.ReLU())(x)
    with pytest.raises(ValueError, match="power_iterations"):
        L.SpectralNormalization(L.Dense(2), power_iterations=0)
    tf = pytest.importorskip("tensorflow")
    theirs = tf.keras.layers.SpectralNormalization(tf.keras.layers.Dense(3), power_iterations=2)
    theirs(x)
    ours = L.SpectralNormalization(L.Dense(3), power_iterations=2)
    ours(x)
    by_name = {w.name: w.numpy() for w in theirs.weights}
    ours.set_weights([by_name[w.name.split("/")[-1].split(":")[0]] for w in ours.weights])
    for _ in range(3):
        close(ours(x, training=True), theirs(x, training=True).numpy(), 1e-5)


def test_new_layers_under_mixed_precision():
    policy = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        x = rand(2, 4, 4, 4, 3)
        for layer, inputs in [(L.Conv3D(2, 2), x), (L.Conv3DTranspose(2, 2), x),
                              (L.AveragePooling3D(), x), (L.SeparableConv2D(2, 2), x[:, 0]),
                              (L.EinsumDense("ab,bc->ac", 3), x[:, 0, 0, 0]),
                              (L.PReLU(), x[:, 0, 0])]:
            y = layer(inputs)
            assert y.dtype == jg.float16 and all(w.dtype == jg.float32 for w in layer.weights)
        big = np.full((1, 4), 300.0, np.float32)  # its mean square overflows float16
        close(L.RMSNormalization()(big), np.ones((1, 4)), 1e-3)
        spectral = L.SpectralNormalization(L.Dense(2))
        assert spectral(x[:, 0, 0, 0], training=True).dtype == jg.float16
        assert spectral.vector_u.dtype == jg.float32
    finally:
        keras.mixed_precision.set_global_policy(policy)


def test_orthogonal_regularizer_and_generalized_cross_entropy():
    w = rand(5, 3, dtype=np.float64)
    for mode, m in [("rows", w), ("columns", w.T)]:
        u = m / np.linalg.norm(m, axis=1, keepdims=True)
        cos = u @ u.T
        n = len(m)
        want = 0.1 * 0.5 * np.abs(cos - np.diag(np.diag(cos))).sum() / (n * (n - 1) / 2)
        reg = keras.regularizers.OrthogonalRegularizer(0.1, mode)
        close(reg(jg.constant(w)), want, 1e-12)
        fd_check(lambda t, r=reg: r(t), w)
        assert keras.regularizers.get(keras.regularizers.serialize(reg)).get_config() == \
            {"factor": 0.1, "mode": mode}
    dense = L.Dense(3, kernel_regularizer=keras.regularizers.OrthogonalRegularizer(0.5))
    dense(rand(2, 4))
    assert len(dense.losses) == 1 and float(dense.losses[0]) > 0
    with pytest.raises(ValueError, match="2-D weight"):
        keras.regularizers.OrthogonalRegularizer()(jg.ones((2, 2, 2)))
    labels = RNG.integers(0, 4, 6)
    p = RNG.uniform(0.1, 1.0, size=(6, 4))
    p /= p.sum(1, keepdims=True)
    want = (1 - p[np.arange(6), labels] ** 0.7) / 0.7
    close(keras.losses.categorical_generalized_cross_entropy(labels, p, 0.7), want, 1e-12)
    close(keras.losses.CategoricalGeneralizedCrossEntropy(q=0.7)(labels, p), want.mean(), 1e-12)
    fd_check(lambda t: keras.losses.categorical_generalized_cross_entropy(labels, t, 0.7), p)
    with pytest.raises(ValueError, match=r"q must be in \(0, 1\)"):
        keras.losses.CategoricalGeneralizedCrossEntropy(q=1.5)
    tf = pytest.importorskip("tensorflow")
    w32 = w.astype(np.float32)
    close(keras.regularizers.OrthogonalRegularizer(0.1, "columns")(jg.constant(w32)),
          tf.keras.regularizers.OrthogonalRegularizer(0.1, "columns")(tf.constant(w32)).numpy())
    close(keras.losses.CategoricalGeneralizedCrossEntropy(q=0.3)(labels, p),
          tf.keras.losses.CategoricalGeneralizedCrossEntropy(q=0.3)(labels, p).numpy())
