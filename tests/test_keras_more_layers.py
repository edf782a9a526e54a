"""Dot, RepeatVector, Rescaling, Cropping1D/2D, ActivityRegularization, SpatialDropout1D,
GroupNormalization, Identity, UnitNormalization: NumPy references, tf.keras with copied
weights where installed, eager == compiled, Sequential and functional models, fit, summary,
compute_output_shape, configs, save/load, errors."""

import numpy as np
import pytest

import jitgraph as jg

keras = jg.keras
L = keras.layers
RNG = np.random.default_rng(9)


def close(a, b, tol=1e-5):
    np.testing.assert_allclose(np.asarray(a, np.float64), np.asarray(b, np.float64),
                               rtol=tol, atol=tol)


def rand(*shape):
    return RNG.normal(size=shape).astype(np.float32)


def np_group_norm(x, groups, gamma, beta, eps=1e-3):
    n, c = x.shape[0], x.shape[-1]
    g = x.reshape(n, -1, groups, c // groups).astype(np.float64)
    mean = g.mean(axis=(1, 3), keepdims=True)
    var = g.var(axis=(1, 3), keepdims=True)
    y = ((g - mean) / np.sqrt(var + eps)).reshape(x.shape)
    return y * gamma + beta


def np_normalize(x, axis, eps):
    with np.errstate(divide="ignore"):
        return x * np.minimum(1 / np.sqrt((x * x).sum(axis, keepdims=True)), 1 / eps)


# ------------------------------------------------------------------ NumPy references

def test_simple_layers_match_numpy():
    x2, x3, x4 = rand(2, 5), rand(2, 6, 4), rand(2, 5, 6, 3)
    close(L.Identity()(x3), x3)
    close(L.Rescaling(1 / 255, offset=-1.0)(x3), x3 / 255 - 1.0)
    close(L.Rescaling(2.0)(np.arange(6, dtype=np.int32).reshape(2, 3)),
          2.0 * np.arange(6).reshape(2, 3))
    close(L.RepeatVector(3)(x2), np.repeat(x2[:, None], 3, axis=1))
    close(L.Cropping1D((1, 2))(x3), x3[:, 1:-2])
    close(L.Cropping1D(1)(x3), x3[:, 1:-1])
    close(L.Cropping2D(((1, 0), (2, 1)))(x4), x4[:, 1:, 2:-1])
    close(L.Cropping2D(1)(x4), x4[:, 1:-1, 1:-1])
    close(L.Cropping2D((1, 2))(x4), x4[:, 1:-1, 2:-2])
    close(L.Cropping2D(((1, 1), (0, 2)), data_format="channels_first")(x4), x4[:, :, 1:-1, :-2])
    x3z = x3.copy()
    x3z[0, 0] = 0.0
    close(L.UnitNormalization()(x3z), np_normalize(x3z, -1, 1e-12))
    close(L.UnitNormalization(axis=[1, 2])(x3), np_normalize(x3, (1, 2), 1e-12))


def test_dot_matches_numpy():
    a2, b2 = rand(4, 5), rand(4, 5)
    close(L.Dot(axes=1)([a2, b2]), (a2 * b2).sum(1, keepdims=True))
    close(L.Dot(axes=-1, normalize=True)([a2, b2]),
          (np_normalize(a2, 1, 1e-7) * np_normalize(b2, 1, 1e-7)).sum(1, keepdims=True))
    a3, b3 = rand(4, 3, 5), rand(4, 6, 5)
    close(L.Dot(axes=2)([a3, b3]), np.einsum("btd,bsd->bts", a3, b3))
    c3 = rand(4, 5, 6)
    close(L.Dot(axes=(1, 1))([a3.transpose(0, 2, 1), c3]), np.einsum("bdt,bds->bts",
                                                                      a3.transpose(0, 2, 1), c3))
    close(L.Dot(axes=(2, 1))([a3, c3]), np.einsum("btd,bds->bts", a3, c3))
    close(L.Dot(axes=(1, 2))([a2, b3]), np.einsum("bd,bsd->bs", a2, b3))
    close(L.Dot(axes=(2, 1))([a3, a2]), np.einsum("btd,bd->bt", a3, a2))
    assert L.Dot(axes=2).compute_output_shape([(None, 3, 5), (None, 6, 5)]) == (None, 3, 6)
    assert L.Dot(axes=1).compute_output_shape([(None, 5), (None, 5)]) == (None, 1)


@pytest.mark.parametrize("groups,shape", [(2, (3, 4)), (2, (3, 5, 4)), (-1, (2, 3, 4, 6)),
                                          (1, (2, 3, 3, 6)), (3, (2, 7, 6))])
def test_group_normalization_matches_numpy(groups, shape):
    x = rand(*shape) * 3 + 1
    layer = L.GroupNormalization(groups=groups)
    layer(x)
    c = shape[-1]
    gamma, beta = rand(c), rand(c)
    layer.set_weights([gamma, beta])
    close(layer(x), np_group_norm(x, c if groups == -1 else groups, gamma, beta), 1e-4)
    assert [w.name.split(":")[0].split("/")[-1] for w in layer.weights] == ["gamma", "beta"]


def test_group_normalization_channels_first_axis():
    x = rand(2, 4, 3, 5)
    layer = L.GroupNormalization(groups=2, axis=1, center=False)
    y = layer(x)
    assert len(layer.weights) == 1 and tuple(layer.weights[0].shape) == (4,)
    close(y, np_group_norm(x.transpose(0, 2, 3, 1), 2, 1.0, 0.0).transpose(0, 3, 1, 2), 1e-4)


def test_spatial_dropout_drops_whole_channels_in_training_only():
    x = np.ones((8, 10, 6), np.float32)
    layer = L.SpatialDropout1D(0.5, seed=1)
    close(layer(x), x)
    y = np.asarray(layer(x, training=True))
    assert set(np.unique(y)) <= {0.0, 2.0}
    assert np.all(y == y[:, :1, :])  # one decision per (sample, channel), at every step
    assert 0.2 < np.mean(y == 0) < 0.8


def test_activity_regularization_adds_its_loss():
    x = rand(4, 3)
    layer = L.ActivityRegularization(l1=0.1, l2=0.01)
    close(layer(x), x)
    (loss,) = layer.losses
    close(loss, (0.1 * np.abs(x).sum() + 0.01 * (x * x).sum()) / 4)
    assert layer.get_config()["l1"] == 0.1 and "activity_regularizer" not in layer.get_config()


def test_layers_eager_equals_compiled():
    cases = [(L.Dot(axes=2, normalize=True), [rand(3, 4, 5), rand(3, 2, 5)]),
             (L.GroupNormalization(groups=2), rand(3, 5, 4)),
             (L.RepeatVector(2), rand(3, 4)), (L.Cropping1D((0, 2)), rand(3, 5, 2)),
             (L.UnitNormalization(), rand(3, 4)), (L.Rescaling(0.5, 0.1), rand(3, 4))]
    for layer, x in cases:
        close(jg.function(lambda x, layer=layer: layer(x))(x), layer(x))
    # unknown batch and sequence lengths
    gn = L.GroupNormalization(groups=2)
    gn(rand(3, 5, 4))
    f = jg.function(lambda x: gn(x), input_signature=[jg.TensorSpec([None, None, 4])])
    x = rand(2, 7, 4)
    close(f(x), gn(x))


# ----------------------------------------------------------------- tf.keras comparisons

def test_layers_match_tf_keras():
    tf = pytest.importorskip("tensorflow")
    x3, x4 = rand(2, 6, 4), rand(2, 5, 6, 4)
    cases = [("GroupNormalization", dict(groups=2), x3),
             ("GroupNormalization", dict(groups=-1, epsilon=1e-5), x4),
             ("GroupNormalization", dict(groups=2, axis=1), rand(2, 4, 3)),
             ("UnitNormalization", {}, x3), ("Rescaling", dict(scale=0.5, offset=2.0), x3),
             ("Cropping1D", dict(cropping=(2, 1)), x3),
             ("Cropping2D", dict(cropping=((1, 2), (0, 1))), x4),
             ("RepeatVector", dict(n=3), rand(2, 4)), ("Identity", {}, x3)]
    for name, kwargs, x in cases:
        ref = getattr(tf.keras.layers, name)(**kwargs)
        ref(x)
        weights = [RNG.normal(size=w.shape).astype(np.float32) for w in ref.weights]
        ref.set_weights(weights)
        ours = getattr(L, name)(**kwargs)
        ours(x)
        ours.set_weights(weights)
        close(ours(x), ref(x).numpy(), 1e-4)
        assert [w.name.split(":")[0].split("/")[-1] for w in ours.weights] == \
            [w.name.split("/")[-1] for w in ref.weights], name
    a, b = rand(3, 4, 5), rand(3, 6, 5)
    for kwargs in (dict(axes=2), dict(axes=(2, 2), normalize=True)):
        close(L.Dot(**kwargs)([a, b]), tf.keras.layers.Dot(**kwargs)([a, b]).numpy())
    close(L.Dot(axes=1)([a[:, 0], b[:, 0]]), tf.keras.layers.Dot(axes=1)([a[:, 0],
                                                                         b[:, 0]]).numpy())


# ------------------------------------------------- models, fit, summary, configs, saving

SEQUENTIAL_CASES = [
    ("Identity", {}, (6, 4)), ("Rescaling", dict(scale=0.5, offset=0.25), (6, 4)),
    ("Cropping1D", dict(cropping=(1, 2)), (6, 4)), ("SpatialDropout1D", dict(rate=0.3), (6, 4)),
    ("GroupNormalization", dict(groups=2), (6, 4)), ("UnitNormalization", {}, (6, 4)),
    ("ActivityRegularization", dict(l2=0.01), (6, 4)),
    ("Cropping2D", dict(cropping=((1, 0), (0, 1))), (4, 4, 2)), ("RepeatVector", dict(n=2), (4,)),
]


@pytest.mark.parametrize("name,kwargs,shape", SEQUENTIAL_CASES,
                         ids=[c[0] for c in SEQUENTIAL_CASES])
def test_layer_in_sequential_fit_summary_config_save(name, kwargs, shape, tmp_path):
    layer = getattr(L, name)(**kwargs)
    model = keras.Sequential([keras.Input(shape=shape), layer, L.Flatten(), L.Dense(1)])
    x = rand(32, *shape)
    y = x.reshape(32, -1).sum(1, keepdims=True) * 0.1
    model.compile(loss="mse", optimizer="adam")
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    lines = []
    model.summary(print_fn=lines.append)
    want_shape = tuple(layer.compute_output_shape(jg.TensorShape((None,) + shape)))
    assert tuple(layer(x[:2]).shape)[1:] == want_shape[1:]
    assert f" {layer.name} (" in lines[0]
    assert "(None, " + ", ".join(str(d) for d in want_shape[1:]) in lines[0]
    cfg = layer.get_config()
    clone = getattr(L, name).from_config(cfg)
    assert clone.get_config() == {**cfg, "name": clone.name}
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    close(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


def test_dot_and_group_norm_in_functional_model_fit_and_save(tmp_path):
    a_in, b_in = keras.Input(shape=(3, 4)), keras.Input(shape=(5, 4))
    scores = L.Dot(axes=2, name="dot")([a_in, L.Dense(4)(b_in)])  # (None, 3, 5)
    h = L.GroupNormalization(groups=1, name="gn")(scores)
    out = L.Dense(1)(L.Flatten()(h))
    model = keras.Model([a_in, b_in], out)
    model.compile(loss="mse", optimizer="adam")
    xa, xb = rand(64, 3, 4), rand(64, 5, 4)
    y = (xa.sum((1, 2)) * xb.sum((1, 2)))[:, None] * 0.1
    history = model.fit([xa, xb], y, batch_size=16, epochs=3, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    lines = []
    model.summary(print_fn=lines.append)
    assert "dot (Dot)" in lines[0] and "(None, 3, 5)" in lines[0]
    model.save(tmp_path / "f")
    loaded = keras.models.load_model(tmp_path / "f")
    close(loaded.predict([xa, xb], verbose=0), model.predict([xa, xb], verbose=0))


def test_errors_name_the_layer_shapes_and_fix():
    with pytest.raises(ValueError, match=r"RepeatVector layer 'rv'.*rank 2.*\(2, 3, 4\).*"
                                         r"Flatten"):
        L.RepeatVector(2, name="rv")(rand(2, 3, 4))
    with pytest.raises(ValueError, match=r"Cropping1D layer 'c'.*leaves nothing.*\(2, 3, 4\)"):
        L.Cropping1D((2, 1), name="c")(rand(2, 3, 4))
    with pytest.raises(ValueError, match=r"Cropping2D layer 'c2'.*rank 4.*\(2, 3, 4\)"):
        L.Cropping2D(1, name="c2")(rand(2, 3, 4))
    with pytest.raises(ValueError, match=r"GroupNormalization layer 'g'.*6 channels.*"
                                         r"\(2, 3, 6\).*groups=4.*divide"):
        L.GroupNormalization(groups=4, name="g")(rand(2, 3, 6))
    gn = L.GroupNormalization(groups=2, name="g2")
    gn(rand(2, 3, 6))
    with pytest.raises(ValueError, match=r"'g2'.*built for rank 3 with 6 channels.*\(2, 3, 4\)"):
        gn(rand(2, 3, 4))
    with pytest.raises(ValueError, match=r"Dot layer 'd'.*axes differ in size.*\(2, 3, 4\).*"
                                         r"\(2, 3, 5\)"):
        L.Dot(axes=2, name="d")([rand(2, 3, 4), rand(2, 3, 5)])
    with pytest.raises(ValueError, match=r"Dot layer 'd2'.*exactly 2 inputs"):
        L.Dot(axes=1, name="d2")([rand(2, 3)])
    with pytest.raises(ValueError, match=r"SpatialDropout1D: rate must be in \[0, 1\)"):
        L.SpatialDropout1D(1.0)
    with pytest.raises(ValueError, match="groups must be a positive integer"):
        L.GroupNormalization(groups=0)
