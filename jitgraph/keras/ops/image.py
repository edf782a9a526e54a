"""keras.ops.image on jitgraph: resize, crop_images, pad_images, rgb_to_grayscale, rgb_to_hsv,
hsv_to_rgb, affine_transform, extract_patches and gaussian_blur for a single image (H, W, C)
or a batch (N, H, W, C), channels_last or channels_first, built on jg.image and jg.nn. The
other keras.ops.image names raise UnimplementedError pointing at jg.image.

>>> ops.image.resize(images, (64, 64), interpolation="nearest")
"""

import numpy as np

import jitgraph as jg

from ._common import floating, static_dim, tensor, unimplemented
from .nn import _channels_last


def _batched(images, data_format, what):
    """``images`` as a channels_last batch, and the function that restores the caller's
    layout and rank."""
    x = tensor(images)
    if x.shape.rank not in (3, 4):
        raise jg.errors.InvalidArgumentError(
            f"jg.keras.ops.image.{what}: images must be 3-D (one image) or 4-D (a batch), got "
            f"shape {x.shape.as_list()}")
    single = x.shape.rank == 3
    if single:
        x = jg.expand_dims(x, 0)
    x, back = _channels_last(x, data_format)

    def restore(y):
        y = back(y)
        return jg.squeeze(y, axis=[0]) if single else y
    return x, restore


_METHODS = {"bilinear": "bilinear", "nearest": "nearest", "bicubic": "bicubic",
            "lanczos3": "lanczos3", "lanczos5": "lanczos5", "area": "area"}


def resize(images, size, interpolation="bilinear", antialias=False, crop_to_aspect_ratio=False,
           pad_to_aspect_ratio=False, fill_mode="constant", fill_value=0.0, data_format=None):
    if crop_to_aspect_ratio or pad_to_aspect_ratio:
        raise jg.errors.UnimplementedError(
            "jg.keras.ops.image.resize: crop_to_aspect_ratio and pad_to_aspect_ratio are not "
            "supported; crop or pad first with ops.image.crop_images / pad_images")
    if interpolation not in _METHODS:
        raise jg.errors.InvalidArgumentError(
            f"jg.keras.ops.image.resize: interpolation={interpolation!r} is not one of "
            f"{sorted(_METHODS)}")
    x, restore = _batched(images, data_format, "resize")
    out = jg.image.resize(floating(x), list(size), method=_METHODS[interpolation],
                          antialias=antialias)
    return restore(out)


def _hw(x):
    return static_dim(x, 1, "image"), static_dim(x, 2, "image")


def _edges(before, after, target, size, what, name):
    if before is None:
        before = size - target - after if name == "crop" else target - size - after
    if target is None:
        target = size - before - after if name == "crop" else size + before + after
    after = size - before - target if name == "crop" else target - size - before
    if min(before, after, target) < 0:
        raise jg.errors.InvalidArgumentError(
            f"jg.keras.ops.image.{what}: the {name} amounts must be >= 0, got "
            f"{before}, {after} for size {size} and target {target}")
    return before, target


def crop_images(images, top_cropping=None, left_cropping=None, bottom_cropping=None,
                right_cropping=None, target_height=None, target_width=None, data_format=None):
    x, restore = _batched(images, data_format, "crop_images")
    h, w = _hw(x)
    top, th = _edges(top_cropping, bottom_cropping or 0, target_height, h, "crop_images",
                     "crop")
    left, tw = _edges(left_cropping, right_cropping or 0, target_width, w, "crop_images",
                      "crop")
    return restore(x[:, top:top + th, left:left + tw, :])


def pad_images(images, top_padding=None, left_padding=None, bottom_padding=None,
               right_padding=None, target_height=None, target_width=None, data_format=None):
    x, restore = _batched(images, data_format, "pad_images")
    h, w = _hw(x)
    top, th = _edges(top_padding, bottom_padding or 0, target_height, h, "pad_images", "pad")
    left, tw = _edges(left_padding, right_padding or 0, target_width, w, "pad_images", "pad")
    return restore(jg.pad(x, [[0, 0], [top, th - h - top], [left, tw - w - left], [0, 0]]))


def rgb_to_grayscale(images, data_format=None):
    x, restore = _batched(images, data_format, "rgb_to_grayscale")
    return restore(jg.image.rgb_to_grayscale(floating(x)))


def rgb_to_hsv(images, data_format=None):
    x, restore = _batched(images, data_format, "rgb_to_hsv")
    return restore(jg.image.rgb_to_hsv(floating(x)))


def hsv_to_rgb(images, data_format=None):
    x, restore = _batched(images, data_format, "hsv_to_rgb")
    return restore(jg.image.hsv_to_rgb(floating(x)))


def affine_transform(images, transform, interpolation="bilinear", fill_mode="constant",
                     fill_value=0, data_format=None):
    x, restore = _batched(images, data_format, "affine_transform")
    t = tensor(transform, jg.float32)
    if t.shape.rank == 1:
        t = jg.expand_dims(t, 0)
    out = jg.image.affine_transform(floating(x), t, interpolation=interpolation,
                                    fill_mode=fill_mode, fill_value=fill_value)
    return restore(out)


def extract_patches(images, size, strides=None, dilation_rate=1, padding="valid",
                    data_format=None):
    x, restore = _batched(images, data_format, "extract_patches")
    sh, sw = (size, size) if isinstance(size, int) else size
    st = (sh, sw) if strides is None else ((strides, strides) if isinstance(strides, int)
                                           else strides)
    rate = (dilation_rate, dilation_rate) if isinstance(dilation_rate, int) else dilation_rate
    out = jg.image.extract_patches(x, sizes=[1, sh, sw, 1], strides=[1, *st, 1],
                                   rates=[1, *rate, 1], padding=str(padding).upper())
    return restore(out)


def gaussian_blur(images, kernel_size=(3, 3), sigma=(1.0, 1.0), data_format=None):
    x, restore = _batched(images, data_format, "gaussian_blur")
    x = floating(x)

    def kernel1d(n, s):
        t = np.arange(n) - (n - 1) / 2
        k = np.exp(-0.5 * (t / s) ** 2)
        return k / k.sum()
    # keras.ops lays the (size[1], size[0]) outer product out as (size[0], size[1]) rows.
    k2 = np.outer(kernel1d(kernel_size[1], sigma[1]), kernel1d(kernel_size[0], sigma[0]))
    k2 = k2.reshape(kernel_size[0], kernel_size[1])
    channels = static_dim(x, -1, "image.gaussian_blur")
    k = np.tile(k2[:, :, None, None], (1, 1, channels, 1))
    out = jg.nn.depthwise_conv2d(x, jg.constant(k.astype(x.dtype.as_numpy_dtype)),
                                 strides=[1, 1, 1, 1], padding="SAME")
    return restore(out)


_INSTEAD = "use jg.image (TensorFlow's tf.image names, NHWC images)"
for _name in ("elastic_transform", "extract_patches_3d", "map_coordinates",
              "perspective_transform", "scale_and_translate", "sobel_edges", "ssim"):
    globals()[_name] = unimplemented(f"image.{_name}", "this keras.ops.image function is not "
                                     "provided", _INSTEAD)
