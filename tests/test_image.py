"""jg.image: agreement with tf.image on random images (hypothesis over sizes and methods),
compiled == interpreter == eager, float64 finite-difference gradients of resizing and the
differentiable adjustments, properties of the random ops, and the errors users cause."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import jitgraph as jg
from jitgraph.codegen import cuda_driver

tf = pytest.importorskip("tensorflow")

RNG = np.random.default_rng(7)
METHODS = ["bilinear", "nearest", "bicubic", "area", "lanczos3", "lanczos5", "gaussian",
           "mitchellcubic"]


def _img(*shape, dtype=np.float32):
    return RNG.random(shape).astype(dtype)


def _close(a, b, tol=2e-6):
    a, b = np.asarray(a), np.asarray(b)
    assert a.shape == b.shape, (a.shape, b.shape)
    np.testing.assert_allclose(a.astype(np.float64), b.astype(np.float64), rtol=tol, atol=tol)


# ----------------------------------------------------------------------------- resize vs TF


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("antialias", [False, True])
@given(h=st.integers(1, 12), w=st.integers(1, 12), oh=st.integers(1, 14),
       ow=st.integers(1, 14), batched=st.booleans())
def test_resize_matches_tensorflow(method, antialias, h, w, oh, ow, batched):
    x = _img(2, h, w, 3) if batched else _img(h, w, 2)
    want = tf.image.resize(x, [oh, ow], method=method, antialias=antialias).numpy()
    got = jg.image.resize(x, [oh, ow], method=method, antialias=antialias)
    assert got.dtype == jg.as_dtype(want.dtype)
    _close(got, want, 2e-6 if method not in ("lanczos5", "mitchellcubic") else 5e-6)


@pytest.mark.parametrize("method", ["bilinear", "area", "bicubic", "lanczos3"])
def test_halving_matches_tensorflow_eager_and_compiled(method):
    # bilinear and area halving take the one-reduction path (sizing._resize_blocks)
    x = _img(3, 10, 14, 2)
    want = tf.image.resize(x, [5, 7], method).numpy()
    _close(jg.image.resize(x, [5, 7], method), want)
    f = jg.function(lambda a: jg.image.resize(a, [5, 7], method),
                    input_signature=[jg.TensorSpec([None, 10, 14, 2])])
    _close(f(x), want)


def test_resize_dtypes():
    xi = (RNG.random((5, 6, 3)) * 255).astype(np.int32)
    for m in ("bilinear", "nearest", "area"):
        want = tf.image.resize(xi, [7, 4], method=m).numpy()
        got = jg.image.resize(xi, [7, 4], method=m)
        assert got.dtype == jg.as_dtype(want.dtype)
        _close(got, want, 1e-4)
    # uint8 pixels (NumPy) are accepted; float64 stays float64 (TensorFlow gives float32)
    u8 = xi.astype(np.uint8)
    _close(jg.image.resize(u8, [3, 3]), tf.image.resize(u8, [3, 3]).numpy(), 1e-4)
    x64 = _img(4, 5, 1, dtype=np.float64)
    got = jg.image.resize(x64, [6, 3])
    assert got.dtype == jg.float64
    _close(got, tf.image.resize(x64, [6, 3]).numpy(), 1e-6)


@pytest.mark.parametrize("size", [(5, 9), (20, 6), (3, 3), (9, 12)])
def test_resize_relatives_match_tensorflow(size):
    x = _img(2, 9, 12, 3)
    th, tw = size
    _close(jg.image.resize(x, size, preserve_aspect_ratio=True),
           tf.image.resize(x, size, preserve_aspect_ratio=True))
    _close(jg.image.resize_with_pad(x, th, tw), tf.image.resize_with_pad(x, th, tw))
    _close(jg.image.resize_with_pad(x[0], th, tw, method="nearest"),
           tf.image.resize_with_pad(x[0], th, tw, method="nearest"))
    _close(jg.image.resize_with_crop_or_pad(x, th, tw), tf.image.resize_with_crop_or_pad(x, th, tw))
    _close(jg.image.resize_with_crop_or_pad(x[1], th, tw),
           tf.image.resize_with_crop_or_pad(x[1], th, tw))


def test_crops_pads_flips_rotations_match_tensorflow():
    x = _img(2, 7, 9, 3)
    for img in (x, x[0]):
        _close(jg.image.crop_to_bounding_box(img, 1, 2, 4, 5),
               tf.image.crop_to_bounding_box(img, 1, 2, 4, 5))
        _close(jg.image.pad_to_bounding_box(img, 2, 1, 10, 12),
               tf.image.pad_to_bounding_box(img, 2, 1, 10, 12))
        for f in ("flip_left_right", "flip_up_down", "transpose"):
            _close(getattr(jg.image, f)(img), getattr(tf.image, f)(img))
        for k in range(-1, 5):
            _close(jg.image.rot90(img, k), tf.image.rot90(img, k))
        for frac in (0.33, 0.5, 0.9, 1.0):
            _close(jg.image.central_crop(img, frac), tf.image.central_crop(img, frac))


@pytest.mark.parametrize("sizes,strides,rates,padding", [
    ([1, 3, 2, 1], [1, 2, 1, 1], [1, 1, 2, 1], "SAME"),
    ([1, 2, 2, 1], [1, 2, 2, 1], [1, 1, 1, 1], "VALID"),
    ([1, 3, 3, 1], [1, 1, 3, 1], [1, 2, 1, 1], "VALID"),
])
def test_extract_patches_matches_tensorflow(sizes, strides, rates, padding):
    x = _img(2, 8, 9, 2)
    _close(jg.image.extract_patches(x, sizes, strides, rates, padding),
           tf.image.extract_patches(x, sizes, strides, rates, padding))


# ----------------------------------------------------------------------------- colour


def test_colour_ops_match_tensorflow():
    x = _img(2, 5, 6, 3)
    h = tf.image.rgb_to_hsv(x).numpy()
    pairs = [
        (lambda m: m.rgb_to_hsv(x), 1e-6), (lambda m: m.hsv_to_rgb(h), 1e-6),
        (lambda m: m.adjust_saturation(x, 1.7), 1e-6),
        (lambda m: m.adjust_saturation(x, 0.3), 1e-6), (lambda m: m.adjust_hue(x, 0.3), 1e-6),
        (lambda m: m.adjust_hue(x, -0.7), 1e-6), (lambda m: m.adjust_brightness(x, 0.2), 0),
        (lambda m: m.adjust_contrast(x, 1.6), 1e-6),
        (lambda m: m.adjust_gamma(x, 0.7, 1.2), 1e-6),
        (lambda m: m.rgb_to_grayscale(x), 1e-6), (lambda m: m.rgb_to_yuv(x), 1e-6),
        (lambda m: m.yuv_to_rgb(x), 1e-6), (lambda m: m.rgb_to_yiq(x), 1e-6),
        (lambda m: m.yiq_to_rgb(x), 1e-6), (lambda m: m.per_image_standardization(x), 1e-6),
        (lambda m: m.per_image_standardization(x[0]), 1e-6),
        (lambda m: m.grayscale_to_rgb(tf.constant(x[..., :1]) if m is tf.image else x[..., :1]), 0),
    ]
    for fn, tol in pairs:
        want = fn(tf.image).numpy()
        got = fn(jg.image)
        assert got.dtype == jg.as_dtype(want.dtype)
        _close(got, want, tol)


def test_integer_images_convert_as_tensorflow():
    xi = (RNG.random((2, 4, 5, 3)) * 255).astype(np.int32)
    for fn in (lambda m: m.adjust_brightness(xi, 0.2), lambda m: m.adjust_contrast(xi, 1.6),
               lambda m: m.rgb_to_grayscale(xi), lambda m: m.per_image_standardization(xi),
               lambda m: m.convert_image_dtype(xi, "float32"),
               lambda m: m.convert_image_dtype(xi, "int64"),
               lambda m: m.convert_image_dtype(xi.astype(np.int64) << 32, "int32")):
        want = fn(tf.image).numpy()
        got = fn(jg.image)
        assert got.dtype == jg.as_dtype(want.dtype)
        _close(got, want, 1e-5)
    u8 = xi.astype(np.uint8)
    _close(jg.image.convert_image_dtype(u8, jg.float32),
           tf.image.convert_image_dtype(u8, tf.float32))
    v = np.array([1.0, 0.5, -0.2, 1.3], np.float32)
    for sat in (True, False):
        np.testing.assert_array_equal(
            jg.image.convert_image_dtype(v[:2], jg.int32, saturate=sat).numpy(),
            tf.image.convert_image_dtype(v[:2], tf.int32, saturate=sat).numpy())
    np.testing.assert_array_equal(jg.image.convert_image_dtype(v, jg.int32, saturate=True),
                                  tf.image.convert_image_dtype(v, tf.int32, saturate=True))


# ----------------------------------------------------------------------------- quality


def test_quality_ops_match_tensorflow():
    x = _img(2, 16, 13, 3)
    y = np.clip(x + RNG.normal(0, 0.1, x.shape), 0, 1).astype(np.float32)
    tx = tf.constant(x)
    for i in range(2):
        _close(jg.image.image_gradients(x)[i], tf.image.image_gradients(tx)[i])
    _close(jg.image.sobel_edges(x), tf.image.sobel_edges(tx))
    _close(jg.image.total_variation(x), tf.image.total_variation(tx), 1e-5)
    _close(jg.image.total_variation(x[0]), tf.image.total_variation(tx[0]), 1e-5)
    _close(jg.image.psnr(x, y, 1.0), tf.image.psnr(x, y, 1.0), 1e-5)
    _close(jg.image.ssim(x, y, 1.0), tf.image.ssim(x, y, 1.0), 1e-5)
    _close(jg.image.ssim(x[0], y[0], 1.0), tf.image.ssim(x[0], y[0], 1.0), 1e-5)
    _close(jg.image.ssim(x, y, 1.0, filter_size=7, filter_sigma=1.0),
           tf.image.ssim(x, y, 1.0, filter_size=7, filter_sigma=1.0), 1e-5)
    _close(jg.image.ssim(x, y, 1.0, return_index_map=True),
           tf.image.ssim(x, y, 1.0, return_index_map=True), 1e-5)
    xi, yi = (x * 255).astype(np.int32), (y * 255).astype(np.int32)
    _close(jg.image.psnr(xi, yi, 255), tf.image.psnr(xi, yi, 255), 1e-5)
    _close(jg.image.ssim(xi, yi, 255), tf.image.ssim(xi, yi, 255), 1e-5)


# ----------------------------------------------------------------------------- transforms


def _rotation(angle, h, w):
    cx, cy, c, s = 0.5 * (w - 1), 0.5 * (h - 1), np.cos(angle), np.sin(angle)
    return [c, -s, cx - cx * c + cy * s, s, c, cy - cx * s - cy * c, 0, 0]


TRANSFORMS = np.array([_rotation(0.4, 7, 9), _rotation(-2.0, 7, 9),
                       [1.3, 0.2, -2.5, 0.1, 0.7, 1.5, 0.01, -0.02]], np.float32)


@pytest.mark.parametrize("interpolation", ["nearest", "bilinear"])
@pytest.mark.parametrize("fill_mode", ["reflect", "wrap", "constant", "nearest"])
def test_affine_transform_matches_tensorflow(interpolation, fill_mode):
    x = _img(3, 7, 9, 2)
    want = tf.raw_ops.ImageProjectiveTransformV3(
        images=x, transforms=TRANSFORMS, output_shape=[7, 9], fill_value=0.5,
        interpolation=interpolation.upper(), fill_mode=fill_mode.upper()).numpy()
    _close(jg.image.affine_transform(x, TRANSFORMS, interpolation, fill_mode, 0.5), want, 1e-5)


BOXES = np.array([[0.1, 0.2, 0.8, 0.9], [-0.2, 0.0, 1.3, 0.5], [0.5, 0.5, 0.5, 0.5],
                  [0.9, 0.8, 0.1, 0.2]], np.float32)
BOX_INDICES = np.array([0, 2, 1, 1], np.int32)


@pytest.mark.parametrize("method", ["bilinear", "nearest"])
@pytest.mark.parametrize("crop_size", [[4, 5], [1, 3], [6, 1]])
def test_crop_and_resize_matches_tensorflow(method, crop_size):
    x = _img(3, 7, 9, 2)
    want = tf.image.crop_and_resize(x, BOXES, BOX_INDICES, crop_size, method, 0.5)
    _close(jg.image.crop_and_resize(x, BOXES, BOX_INDICES, crop_size, method, 0.5), want)


def test_crop_and_resize_compiles_and_differentiates_the_boxes():
    x = _img(3, 7, 9, 2)
    f = jg.function(lambda a, b, i: jg.image.crop_and_resize(a, b, i, [4, 5]),
                    input_signature=[jg.TensorSpec([None, 7, 9, 2]), jg.TensorSpec([None, 4]),
                                     jg.TensorSpec([None], jg.int32)])
    _close(f(x, BOXES, BOX_INDICES),
           tf.image.crop_and_resize(x, BOXES, BOX_INDICES, [4, 5]))
    boxes = np.array([[0.13, 0.21, 0.77, 0.93]])
    _check_grad(lambda b: jg.image.crop_and_resize(x.astype(np.float64), b, [1], [3, 4]),
                boxes)


# ----------------------------------------------------------------------------- backends


def _small(x, t):
    return (jg.image.resize(x, [9, 4]), jg.image.resize(x, [4, 4], "area"),
            jg.image.affine_transform(x, t, "bilinear", "reflect"))


def _large(x, t):
    return _small(x, t) + (
        jg.image.resize(x, [3, 7], "bicubic", antialias=True), jg.image.adjust_hue(x, 0.2),
        jg.image.ssim(x, x * 0.9, 1.0, filter_size=3), jg.image.sobel_edges(x),
        jg.image.resize_with_crop_or_pad(x, 8, 3), jg.image.rgb_to_hsv(x),
        jg.image.extract_patches(x, [1, 2, 2, 1], [1, 1, 1, 1], [1, 1, 1, 1], "SAME"))


def _backends_agree(fn, backends):
    x = _img(2, 6, 5, 3)
    t = TRANSFORMS[:2]
    eager = fn(x, t)
    for backend in backends:
        before = cuda_driver.use("emulator") if backend == "cuda" else None
        try:
            got = jg.function(fn, backend=backend)(x, t)
        finally:
            if backend == "cuda":
                cuda_driver.use(before)
        for a, b in zip(got, eager):
            _close(a, b, 1e-5)


def test_compiled_equals_interpreter_equals_eager():
    _backends_agree(_small, ["interpreter", "cpu"])


def test_cuda_emulator_runs_resize_and_transforms():
    _backends_agree(_small, ["cuda"])


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["interpreter", "cpu", "cuda"])
def test_every_backend_runs_the_image_ops(backend):
    _backends_agree(_large, [backend])


def test_unknown_batch_dim_compiles():
    f = jg.function(lambda x: (jg.image.resize(x, [3, 8], "lanczos3"),
                               jg.image.random_flip_left_right(x, seed=3),
                               jg.image.affine_transform(x, TRANSFORMS[2], "nearest")),
                    input_signature=[jg.TensorSpec([None, 7, 9, 2])])
    x = _img(5, 7, 9, 2)
    r, flipped, moved = f(x)
    _close(r, tf.image.resize(x, [3, 8], "lanczos3"))
    for i in range(5):
        assert (np.array_equal(flipped[i], x[i]) or np.array_equal(flipped[i], x[i, :, ::-1]))
    want = tf.raw_ops.ImageProjectiveTransformV3(
        images=x, transforms=np.repeat(TRANSFORMS[2:], 5, 0), output_shape=[7, 9],
        fill_value=0.0, interpolation="NEAREST", fill_mode="CONSTANT")
    _close(moved, want)


# ----------------------------------------------------------------------------- gradients


def _check_grad(fn, x, eps=1e-6, tol=1e-6):
    """<dL/dx, v> against a central difference of L = sum(fn(x) * w) along v, in float64."""
    x = np.asarray(x, np.float64)
    w = RNG.normal(size=np.shape(fn(x))).astype(np.float64)
    v = RNG.normal(size=x.shape)
    xt = jg.constant(x)
    with jg.GradientTape() as tape:
        tape.watch(xt)
        loss = jg.reduce_sum(fn(xt) * w)
    g = tape.gradient(loss, xt).numpy()

    def L(z):
        return float(np.sum(np.asarray(fn(jg.constant(z))) * w))
    fd = (L(x + eps * v) - L(x - eps * v)) / (2 * eps)
    assert abs(np.sum(g * v) - fd) <= tol * max(1.0, abs(fd)), (np.sum(g * v), fd)


@pytest.mark.parametrize("fn", [
    lambda x: jg.image.resize(x, [7, 4]),
    lambda x: jg.image.resize(x, [3, 8], "bicubic"),
    lambda x: jg.image.resize(x, [2, 3], "area"),
    lambda x: jg.image.resize(x[:, :4], [2, 3]),
    lambda x: jg.image.resize(x, [3, 2], "lanczos3", antialias=True),
    lambda x: jg.image.resize_with_pad(x, 7, 3),
    lambda x: jg.image.adjust_contrast(x, 1.7),
    lambda x: jg.image.adjust_gamma(x + 0.5, 1.3),
    lambda x: jg.image.adjust_saturation(x, 0.6),
    lambda x: jg.image.adjust_hue(x, 0.3),
    lambda x: jg.image.rgb_to_grayscale(x),
    lambda x: jg.image.rgb_to_yuv(x),
    lambda x: jg.image.per_image_standardization(x),
    lambda x: jg.image.ssim(x, x * 0.5 + 0.2, 1.0, filter_size=3),
    lambda x: jg.image.sobel_edges(x),
    lambda x: jg.image.total_variation(x),
    lambda x: jg.image.affine_transform(x, TRANSFORMS[2], "bilinear", "reflect"),
    lambda x: jg.image.crop_and_resize(x, BOXES, [0, 1, 1, 0], [3, 4]),
], ids=["bilinear", "bicubic", "area", "halving", "lanczos3_aa", "resize_with_pad", "contrast",
        "gamma", "saturation", "hue", "grayscale", "yuv", "standardization", "ssim", "sobel", "tv",
        "affine", "crop_and_resize"])
def test_gradients_match_finite_differences(fn):
    _check_grad(fn, RNG.random((2, 5, 6, 3)))


def test_gradients_inside_jg_function():
    x = jg.constant(RNG.random((2, 5, 6, 3)))

    @jg.function
    def g(x):
        with jg.GradientTape() as tape:
            tape.watch(x)
            y = jg.reduce_sum(jg.square(jg.image.resize(x, [8, 3], "bicubic")))
        return tape.gradient(y, x)

    with jg.GradientTape() as tape:
        tape.watch(x)
        y = jg.reduce_sum(jg.square(jg.image.resize(x, [8, 3], "bicubic")))
    _close(g(x), tape.gradient(y, x), 1e-10)


# ----------------------------------------------------------------------------- random


def test_random_ops_properties_and_seeds():
    x = _img(6, 5, 7, 3)
    jg.random.set_seed(1)
    a = jg.image.random_flip_left_right(x, seed=2).numpy()
    jg.random.set_seed(1)
    b = jg.image.random_flip_left_right(x, seed=2).numpy()
    np.testing.assert_array_equal(a, b)
    kinds = {np.array_equal(a[i], x[i]) for i in range(6)}
    for i in range(6):
        assert np.array_equal(a[i], x[i]) or np.array_equal(a[i], x[i, :, ::-1])
    ud = jg.image.random_flip_up_down(x).numpy()
    for i in range(6):
        assert np.array_equal(ud[i], x[i]) or np.array_equal(ud[i], x[i, ::-1])
    assert kinds  # both outcomes are allowed; the draw is per image
    s1 = jg.image.stateless_random_flip_left_right(x, seed=[4, 5])
    np.testing.assert_array_equal(s1, jg.image.stateless_random_flip_left_right(x, [4, 5]))
    crop = jg.image.random_crop(x, [6, 3, 4, 3], seed=1).numpy()
    hits = [(i, j) for i in range(3) for j in range(4)
            if np.array_equal(crop, x[:, i:i + 3, j:j + 4])]
    assert len(hits) == 1
    np.testing.assert_array_equal(jg.image.stateless_random_crop(x, [6, 3, 4, 3], [1, 2]),
                                  jg.image.stateless_random_crop(x, [6, 3, 4, 3], [1, 2]))
    d = jg.image.random_brightness(x, 0.3).numpy() - x
    assert np.ptp(d) < 1e-6 and abs(d.flat[0]) <= 0.3
    for fn in (lambda: jg.image.random_contrast(x, 0.5, 1.5),
               lambda: jg.image.random_saturation(x, 0.5, 1.5),
               lambda: jg.image.random_hue(x, 0.2),
               lambda: jg.image.stateless_random_brightness(x, 0.2, [1, 1]),
               lambda: jg.image.stateless_random_contrast(x, 0.5, 1.5, [1, 1]),
               lambda: jg.image.stateless_random_saturation(x, 0.5, 1.5, [1, 1]),
               lambda: jg.image.stateless_random_hue(x, 0.2, [1, 1])):
        assert fn().shape == x.shape


def test_per_example_uniform_for_unknown_batch_is_uniform():
    f = jg.function(lambda x: jg.image.per_example_uniform(x, 0.0, 1.0, seed=5),
                    input_signature=[jg.TensorSpec([None, 1, 1, 1])])
    u = f(np.zeros((4000, 1, 1, 1), np.float32)).numpy()
    assert u.min() >= 0 and u.max() < 1
    assert abs(u.mean() - 0.5) < 0.03 and abs(u.var() - 1 / 12) < 0.01
    assert abs(np.corrcoef(u[:-1], u[1:])[0, 1]) < 0.1
    assert not np.array_equal(u, f(np.zeros((4000, 1, 1, 1), np.float32)).numpy())


# ----------------------------------------------------------------------------- errors


@pytest.mark.parametrize("call,match", [
    (lambda: jg.image.resize(np.ones((4, 5)), [2, 2]), r"rank 3 .* or 4 .*float64\[4, 5\]"),
    (lambda: jg.image.resize(np.ones((4, 5, 1)), [2]), r"size must be 2 integers"),
    (lambda: jg.image.resize(np.ones((4, 5, 1)), [0, 2]), r"size must be positive"),
    (lambda: jg.image.resize(np.ones((4, 5, 1)), [2, 2], "cubic"), r"unknown method 'cubic'"),
    (lambda: jg.image.crop_to_bounding_box(np.ones((4, 5, 1)), 1, 1, 4, 2),
     r"does not fit in the 4x5 image"),
    (lambda: jg.image.pad_to_bounding_box(np.ones((4, 5, 1)), 1, 1, 4, 9), r"does not fit"),
    (lambda: jg.image.central_crop(np.ones((4, 5, 1)), 1.5), r"central_fraction"),
    (lambda: jg.image.adjust_hue(np.ones((4, 5, 2)), 0.1), r"last dimension .* must be 3"),
    (lambda: jg.image.ssim(np.ones((4, 5, 1)), np.ones((4, 5, 1)), 1.0),
     r"smaller than filter_size=11"),
    (lambda: jg.image.random_crop(np.ones((4, 5, 1)), [5, 5, 1]), r"must be positive and fit"),
    (lambda: jg.image.affine_transform(np.ones((4, 5, 1)), [1.0, 0.0]), r"transform must be"),
    (lambda: jg.image.affine_transform(np.ones((4, 5, 1)), np.eye(3).ravel()[:8], "cubic"),
     r"interpolation must be"),
    (lambda: jg.image.convert_image_dtype(np.ones((2, 2, 1)), np.uint8), r"no uint8"),
])
def test_errors_name_the_problem(call, match):
    with pytest.raises(jg.errors.InvalidArgumentError, match=match):
        call()


def test_size_computed_at_run_time_is_rejected():
    @jg.function
    def f(x, n):
        return jg.image.resize(x, jg.stack([n, n]))

    with pytest.raises(jg.errors.UnimplementedError, match="size must be known when tracing"):
        f(np.ones((1, 4, 4, 1), np.float32), jg.constant(3))
