"""jg.keras.backend: the few backend helpers Keras code commonly uses, and the owner of the
global settings ``jg.keras.config`` reads and writes (floatx, the fuzz factor epsilon, the
image data format)."""

import sys

import jitgraph as jg

from . import base_layer

_EPSILON = 1e-7
_FLOATX = "float32"


def epsilon():
    return _EPSILON


# the modules whose losses and metrics clip with the fuzz factor (their EPSILON is read when
# a loss is computed, so a compiled function keeps the value it was traced with)
_EPSILON_USERS = ("losses", "losses_extra", "metrics_more")


def set_epsilon(value):
    """Sets the fuzz factor the built-in losses and metrics clip with (1e-7 by default).

    >>> jg.keras.config.set_epsilon(1e-5)
    """
    global _EPSILON
    _EPSILON = float(value)
    for name in _EPSILON_USERS:
        module = sys.modules.get(f"{__package__}.{name}")
        if module is not None:
            module.EPSILON = _EPSILON


def floatx():
    return _FLOATX


_FLOATX_CHOICES = ("bfloat16", "float16", "float32", "float64")


def set_floatx(value):
    """Sets the default float dtype: of ``Input``, of layers built without ``dtype=`` (their
    policy is ``Policy(floatx())`` unless ``set_global_policy`` set one) and of
    ``jg.keras.random``'s draws.

    >>> jg.keras.config.set_floatx("float64")
    """
    global _FLOATX
    name = getattr(value, "name", value)
    if name not in _FLOATX_CHOICES:
        raise ValueError(f"set_floatx: unknown floatx {value!r}; use one of "
                         f"{', '.join(map(repr, _FLOATX_CHOICES))}")
    if name == "bfloat16" and getattr(jg, "bfloat16", None) is None:
        raise ValueError("set_floatx('bfloat16'): jitgraph has bfloat16 only with the ml_dtypes "
                         "package; install it, or use 'float16', 'float32' or 'float64'")
    _FLOATX = name


_IMAGE_DATA_FORMAT = "channels_last"


def image_data_format():
    """Always ``"channels_last"``: jitgraph's image layers work on NHWC data."""
    return _IMAGE_DATA_FORMAT


def set_image_data_format(data_format):
    """Accepts ``"channels_last"``; ``"channels_first"`` raises, since jitgraph's
    convolution and pooling layers are channels_last only."""
    if data_format == "channels_last":
        return
    if data_format == "channels_first":
        raise ValueError("set_image_data_format('channels_first'): jitgraph's image layers "
                         "support channels_last (NHWC) only; keep 'channels_last' and "
                         "transpose the data with jg.transpose(x, [0, 2, 3, 1])")
    raise ValueError(f"set_image_data_format: data_format must be 'channels_last' or "
                     f"'channels_first', got {data_format!r}")


def clear_session():
    """Resets the automatic layer names ("dense", "dense_1", ...)."""
    base_layer.reset_names()


def mean(x, axis=None, keepdims=False):
    return jg.reduce_mean(x, axis=axis, keepdims=keepdims)


def sum(x, axis=None, keepdims=False):  # noqa: A001 - Keras' name
    return jg.reduce_sum(x, axis=axis, keepdims=keepdims)


def square(x):
    return jg.square(x)


def sqrt(x):
    return jg.sqrt(x)


def abs(x):  # noqa: A001
    return jg.abs(x)
