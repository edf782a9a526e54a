"""Keras preprocessing layers: deterministic layers (and random layers with degenerate
ranges, which fix the transform) against tf.keras, properties of the random layers, training
flag and seeds, fit with an augmentation stack (compiled, unknown batch), configs, errors."""

import numpy as np
import pytest

import jitgraph as jg

keras_tf = pytest.importorskip("keras")
pytest.importorskip("tensorflow")

K, J = keras_tf.layers, jg.keras.layers
RNG = np.random.default_rng(11)


def _img(*shape):
    return (RNG.random(shape) * 255).astype(np.float32)


def _close(a, b, tol=2e-6):
    a, b = np.asarray(a), np.asarray(b)
    assert a.shape == b.shape, (a.shape, b.shape)
    assert a.dtype == b.dtype, (a.dtype, b.dtype)
    np.testing.assert_allclose(a.astype(np.float64), b.astype(np.float64), rtol=tol,
                               atol=tol * 255)


def _both(name, *args, **kwargs):
    return getattr(K, name)(*args, **kwargs), getattr(J, name)(*args, **kwargs)


# ----------------------------------------------------------------------------- deterministic


@pytest.mark.parametrize("size", [(5, 7), (20, 6), (9, 12)])
@pytest.mark.parametrize("kwargs", [{}, {"crop_to_aspect_ratio": True},
                                    {"pad_to_aspect_ratio": True, "fill_value": 3.0},
                                    {"interpolation": "bicubic"},
                                    {"interpolation": "nearest"},
                                    {"interpolation": "area", "antialias": True}])
def test_resizing_matches_keras(size, kwargs):
    x = _img(2, 9, 12, 3)
    k, j = _both("Resizing", *size, **kwargs)
    _close(j(x), k(x))
    _close(j(x[0]), k(x[0]))


def test_resizing_integer_images_round_back():
    x = _img(2, 9, 12, 3).astype(np.int32)
    k, j = _both("Resizing", 5, 17)
    _close(j(x), k(x))


@pytest.mark.parametrize("size", [(5, 7), (20, 6), (9, 12), (4, 30)])
def test_center_crop_and_random_crop_match_keras(size):
    x = _img(2, 9, 12, 3)
    k, j = _both("CenterCrop", *size)
    _close(j(x), k(x))
    _close(j(x[1]), k(x[1]))
    k, j = _both("RandomCrop", *size)
    _close(j(x, training=False), k(x, training=False))
    _close(j(x[:, :4]), k(x[:, :4]))   # not larger than the crop: Keras' centered crop


@pytest.mark.parametrize("fill_mode", ["reflect", "wrap", "constant", "nearest"])
@pytest.mark.parametrize("interpolation", ["nearest", "bilinear"])
def test_fixed_geometric_transforms_match_keras(fill_mode, interpolation):
    x = _img(2, 9, 12, 3)
    kw = {"fill_mode": fill_mode, "interpolation": interpolation, "fill_value": 7.0}
    for name, args in (("RandomRotation", ((0.1, 0.1),)),
                       ("RandomRotation", ((-0.35, -0.35),)),
                       ("RandomZoom", ((0.3, 0.3), (-0.2, -0.2))),
                       ("RandomZoom", ((-0.3, -0.3),)),
                       ("RandomTranslation", ((0.25, 0.25), (-0.4, -0.4)))):
        k, j = _both(name, *args, **kw)
        _close(j(x), k(x), 1e-5)
        _close(j(x[0]), k(x[0]), 1e-5)


def test_fixed_colour_layers_match_keras():
    x = _img(2, 9, 12, 3)
    k, j = _both("RandomContrast", (-0.5, 0.5))        # factor 1.5 for every image
    _close(j(x), k(x), 1e-5)
    k, j = _both("RandomBrightness", (0.3, 0.3))
    _close(j(x), k(x))
    k, j = _both("RandomBrightness", (-0.2, -0.2), value_range=(0, 1))
    _close(j(x / 255), k(x / 255))


# ----------------------------------------------------------------------------- random layers


RANDOM = [lambda: J.RandomFlip(seed=1), lambda: J.RandomRotation(0.2, seed=2),
          lambda: J.RandomZoom(0.2, 0.3, seed=3), lambda: J.RandomTranslation(0.2, 0.1, seed=4),
          lambda: J.RandomContrast(0.4, seed=5), lambda: J.RandomBrightness(0.2, seed=6),
          lambda: J.RandomCrop(5, 6, seed=7)]


@pytest.mark.parametrize("make", RANDOM)
def test_random_layers_pass_through_outside_training_and_repeat_with_seed(make):
    x = _img(4, 9, 12, 3)
    layer = make()
    np.testing.assert_array_equal(layer(x, training=False), x)
    jg.random.set_seed(5)
    a = make()(x).numpy()
    jg.random.set_seed(5)
    b = make()(x).numpy()
    np.testing.assert_array_equal(a, b)
    assert a.shape == (layer(x).shape if isinstance(layer, J.RandomCrop) else x.shape)
    assert not np.array_equal(a, make()(x).numpy())   # fresh numbers on every call


def test_random_flip_flips_each_image_or_not():
    x = _img(16, 5, 6, 1)
    for mode, fn in (("horizontal", lambda a: a[:, ::-1]), ("vertical", lambda a: a[::-1]),
                     ("horizontal_and_vertical", lambda a: a[::-1, ::-1])):
        y = J.RandomFlip(mode)(x).numpy()
        flipped = [np.array_equal(y[i], fn(x[i])) for i in range(16)]
        assert all(f or np.array_equal(y[i], x[i]) for i, f in enumerate(flipped))
        assert 0 < sum(flipped) < 16


def test_random_rotation_draws_per_image_within_the_factor():
    x = np.zeros((8, 21, 21, 1), np.float32)
    x[:, 10, 15] = 1.0       # a dot 5 pixels right of the center
    y = J.RandomRotation((0.1, 0.2), interpolation="nearest", fill_mode="constant")(x).numpy()
    angles = []
    for img in y[..., 0]:
        r, c = np.argwhere(img == 1.0)[0]
        angles.append(np.degrees(np.arctan2(10 - r, c - 10)) % 360)
    assert all(30.0 <= a <= 78.0 for a in angles), angles   # 36..72 degrees, pixel rounding
    assert len(set(np.round(angles))) > 1


def test_random_contrast_and_brightness_stay_in_range():
    x = _img(6, 5, 6, 3)
    for layer in (J.RandomContrast(0.9), J.RandomBrightness(0.9)):
        y = layer(x).numpy()
        assert y.min() >= 0 and y.max() <= 255
    d = J.RandomBrightness((0.1, 0.2))(x).numpy() - x
    inside = (x > 60) & (x < 200)
    per_image = [np.unique(np.round(d[i][inside[i]], 3)) for i in range(6)]
    assert all(len(p) == 1 and 25.4 <= p[0] <= 51.1 for p in per_image)


def _fit_and_predict(layers):
    jg.random.set_seed(0)
    x = RNG.random((32, 16, 16, 3)).astype(np.float32)
    y = RNG.integers(0, 3, 32)
    model = jg.keras.Sequential(layers + [J.Flatten(), J.Dense(3)])
    model.compile(loss=jg.keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  optimizer="adam")
    hist = model.fit(x, y, epochs=2, batch_size=16, verbose=0)   # batch dim None: compiled
    assert np.isfinite(hist.history["loss"]).all()
    # predict runs the layers with training=False: deterministic
    np.testing.assert_array_equal(model.predict(x[:4], verbose=0),
                                  model.predict(x[:4], verbose=0))


def test_colour_augmentation_trains_with_fit_and_predicts():
    _fit_and_predict([J.RandomFlip("horizontal", seed=1), J.RandomContrast(0.2),
                      J.RandomBrightness(0.1, value_range=(0, 1))])


@pytest.mark.slow
def test_full_augmentation_stack_trains_with_fit_and_predicts():
    _fit_and_predict([J.RandomFlip("horizontal", seed=1), J.RandomRotation(0.1, seed=2),
                      J.RandomZoom(0.1), J.RandomTranslation(0.1, 0.1), J.RandomContrast(0.2),
                      J.RandomBrightness(0.1, value_range=(0, 1)), J.RandomCrop(12, 12),
                      J.Resizing(8, 8)])


def test_configs_round_trip_through_deserialize():
    layers = [J.Resizing(4, 5, interpolation="bicubic", crop_to_aspect_ratio=True),
              J.CenterCrop(3, 4), J.RandomCrop(3, 4, seed=1), J.RandomFlip("vertical"),
              J.RandomRotation((-0.1, 0.2), fill_mode="wrap"), J.RandomZoom(0.1, (-0.2, 0.1)),
              J.RandomTranslation(0.1, 0.2, interpolation="nearest"), J.RandomContrast(0.3),
              J.RandomBrightness(0.2, value_range=(0, 1)),
              J.Discretization(bin_boundaries=[0.0, 1.0], output_mode="one_hot"),
              J.CategoryEncoding(5, "count"), J.IntegerLookup(vocabulary=[3, 9, 4])]
    for layer in layers:
        clone = J.deserialize(J.serialize(layer))
        assert type(clone) is type(layer)
        assert clone.get_config() == layer.get_config()


# ----------------------------------------------------------------------------- non-image


def test_normalization_matches_keras():
    x = RNG.random((20, 4, 3)).astype(np.float32) * 5
    for kw in ({}, {"axis": None}, {"axis": 1}, {"invert": True}, {"axis": (1, 2)}):
        k, j = _both("Normalization", **kw)
        k.adapt(x)
        j.adapt(x)
        _close(j(x), k(x), 1e-6)
    k, j = _both("Normalization", mean=2.0, variance=4.0, invert=True)
    _close(j(x), k(x))


@pytest.mark.parametrize("mode", ["int", "one_hot", "multi_hot", "count"])
def test_discretization_matches_keras(mode):
    data = RNG.normal(size=(200, 3)).astype(np.float32)
    k, j = _both("Discretization", num_bins=5, output_mode=mode)
    k.adapt(data)
    j.adapt(data)
    np.testing.assert_allclose(j.bin_boundaries, k.bin_boundaries, rtol=1e-6)
    x = RNG.normal(size=(4, 3)).astype(np.float32)
    _close(j(x), k(x))
    k, j = _both("Discretization", bin_boundaries=[-1.0, 0.0, 0.5], output_mode=mode)
    _close(j(x), k(x))


@pytest.mark.parametrize("mode", ["one_hot", "multi_hot", "count"])
def test_category_encoding_matches_keras(mode):
    k, j = _both("CategoryEncoding", 6, mode)
    for x in (np.array([1, 3, 3]), np.array([[1], [5]]), np.array([[1, 3, 3], [0, 0, 4]]),
              np.array([[[1, 2], [3, 4]]])):
        _close(j(x), k(x))
    if mode == "count":
        w = np.array([[0.5, 1, 2], [1, 1, 3]], np.float32)
        x = np.array([[1, 3, 3], [0, 0, 4]])
        _close(j(x, count_weights=w), k(x, count_weights=w))


def test_integer_lookup_matches_keras():
    data = np.array([5, 5, 3, 3, 7, 9, 9, 9, 11])
    k, j = _both("IntegerLookup")
    k.adapt(data)
    j.adapt(data)
    assert [int(v) for v in k.get_vocabulary()] == j.get_vocabulary()
    x = np.array([[5, 3, 7], [9, 11, 12]])
    _close(j(x), k(x))
    for kw in ({"mask_token": 0, "num_oov_indices": 2, "vocabulary": [12, 36, 1138, 42]},
               {"vocabulary": [12, 36, 1138, 42], "invert": True},
               {"vocabulary": [12, 36, 1138, 42], "output_mode": "multi_hot"},
               {"vocabulary": [12, 36, 1138, 42], "output_mode": "count"},
               {"max_tokens": 4}):
        k, j = _both("IntegerLookup", **kw)
        if "vocabulary" not in kw:
            k.adapt(data)
            j.adapt(data)
        x = np.array([[0, 1, 2, 3, 4]]) if kw.get("invert") else \
            np.array([[12, 1138, 0, 5], [42, 1000, 36, 9]])
        _close(j(x), k(x))


def test_lookup_and_discretization_compile():
    lookup = J.IntegerLookup(vocabulary=[12, 36, 1138, 42])
    disc = J.Discretization(bin_boundaries=[-1.0, 0.0, 0.5])
    f = jg.function(lambda a, b: (lookup(a), disc(b)),
                    input_signature=[jg.TensorSpec([None], jg.int64), jg.TensorSpec([None])])
    a = np.array([12, 7, 42, 36], np.int64)
    b = np.array([-2.0, 0.2, 0.7], np.float32)
    got = f(a, b)
    np.testing.assert_array_equal(got[0], lookup(a))
    np.testing.assert_array_equal(got[1], disc(b))


# ----------------------------------------------------------------------------- errors


@pytest.mark.parametrize("make,match", [
    (lambda: J.RandomFlip("diagonal"), r"mode must be one of"),
    (lambda: J.RandomRotation(1.5), r"range \[-1, 1\]"),
    (lambda: J.RandomZoom(-1.0), r"between -1.0 and 1.0"),
    (lambda: J.RandomContrast(0.1, value_range=5), r"value_range must be a pair"),
    (lambda: J.Resizing(4, 4, crop_to_aspect_ratio=True, pad_to_aspect_ratio=True),
     r"only one of"),
    (lambda: J.Discretization(), r"exactly one of bin_boundaries and num_bins"),
    (lambda: J.CategoryEncoding(0), r"num_tokens must be a positive integer"),
    (lambda: J.IntegerLookup(vocabulary=[1, 1]), r"repeated tokens"),
])
def test_bad_arguments_raise(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_bad_inputs_name_the_layer_and_shape():
    with pytest.raises(ValueError, match=r"RandomFlip layer .* rank 3 .* got shape \(4, 5\)"):
        J.RandomFlip()(np.ones((4, 5), np.float32))
    with pytest.raises(NotImplementedError, match="unknown fill_mode 'mirror'"):
        J.RandomRotation(0.1, fill_mode="mirror")
    with pytest.raises(ValueError, match=r"values must be in \[0, 3\)"):
        J.CategoryEncoding(3)(np.array([0, 3]))
    with pytest.raises(ValueError, match="call adapt"):
        J.Discretization(num_bins=3)(np.ones(3, np.float32))
    with pytest.raises(ValueError, match="data_format='channels_last'"):
        J.RandomZoom(0.1, data_format="channels_first")
