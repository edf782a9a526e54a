"""Activation functions by name (``Dense(10, activation="relu")``), built from jitgraph ops.

>>> jg.keras.activations.get("relu")(jg.constant([-1.0, 2.0]))   # [0., 2.]
"""

import jitgraph as jg

from . import serialization

_SELU_ALPHA = 1.6732632423543772
_SELU_SCALE = 1.0507009873554805


def linear(x):
    return x


def relu(x, alpha=0.0, max_value=None, threshold=0.0):
    if alpha == 0.0 and max_value is None and threshold == 0.0:
        return jg.nn.relu(x)
    y = jg.where(x > threshold, x, alpha * (x - threshold))
    return y if max_value is None else jg.minimum(y, max_value)


def sigmoid(x):
    return jg.sigmoid(x)


def tanh(x):
    return jg.tanh(x)


def softmax(x, axis=-1):
    return jg.nn.softmax(x, axis=axis)


def log_softmax(x, axis=-1):
    return jg.nn.log_softmax(x, axis=axis)


def softplus(x):
    return jg.softplus(x)


def softsign(x):
    return x / (jg.abs(x) + 1.0)


def exponential(x):
    return jg.exp(x)


def elu(x, alpha=1.0):
    # exp of the clipped value keeps the unused branch finite for large x
    return jg.where(x > 0.0, x, alpha * jg.expm1(jg.minimum(x, 0.0)))


def selu(x):
    return _SELU_SCALE * elu(x, _SELU_ALPHA)


def swish(x):
    return x * jg.sigmoid(x)


silu = swish


def gelu(x, approximate=False):
    if approximate:
        return 0.5 * x * (1.0 + jg.tanh(0.7978845608028654 * (x + 0.044715 * x * x * x)))
    return 0.5 * x * (1.0 + jg.erf(x * 0.7071067811865476))


def hard_sigmoid(x):
    """Keras 3's piecewise-linear sigmoid, ``relu6(x + 3) / 6`` (Keras 2 had
    ``clip(0.2 x + 0.5, 0, 1)``: tf.keras in TensorFlow 2.16+ is Keras 3)."""
    return jg.clip_by_value(x / 6.0 + 0.5, 0.0, 1.0)


def leaky_relu(x, alpha=0.3):
    return jg.where(x > 0.0, x, alpha * x)


_TABLE = {f.__name__: f for f in (linear, relu, sigmoid, tanh, softmax, log_softmax, softplus,
                                  softsign, exponential, elu, selu, swish, gelu, hard_sigmoid,
                                  leaky_relu)}
_TABLE["silu"] = swish


def get(identifier):
    """An activation from a name, a serialized config, a callable, or None (linear)."""
    if identifier is None:
        return linear
    if callable(identifier):
        return identifier
    return serialization.deserialize(identifier, _TABLE, kind="activation function")


def serialize(activation):
    """The name of an activation (a custom function's ``__name__``; a layer's config)."""
    if activation in _TABLE.values():
        return activation.__name__
    return serialization.serialize(activation)


def deserialize(config, custom_objects=None):
    return serialization.deserialize(config, _TABLE, custom_objects, "activation function")


from . import activations_more as _more  # noqa: E402 - relu6, mish, glu, sparsemax, ...
from .activations_more import *  # noqa: E402,F401,F403

_TABLE.update({f.__name__: f for f in _more.FUNCTIONS})
_TABLE["hard_swish"] = _more.hard_silu
