"""jg.keras.backend: the few backend helpers Keras code commonly uses."""

import jitgraph as jg

from . import base_layer

_EPSILON = 1e-7
_FLOATX = "float32"


def epsilon():
    return _EPSILON


def set_epsilon(value):
    global _EPSILON
    _EPSILON = float(value)


def floatx():
    return _FLOATX


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
