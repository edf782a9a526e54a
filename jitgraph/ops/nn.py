"""``jg.nn``: activations, softmax and losses, as compositions of other ops (numerically
stable forms: softmax subtracts the max, log_softmax = x - max - log(sum(exp(x - max)))).
They need no op records of their own; relu, sigmoid, tanh and softplus are elementwise ops.
softmax, log_softmax and the softmax cross-entropies compute on float16 and bfloat16 logits in
float32."""

import inspect

from .. import errors
from ..tensor import Tensor, TensorShape
from .composite import embedding_lookup, l2_normalize  # noqa: F401 - tf.nn names
from .conv import *  # noqa: F401,F403 - conv2d, conv1d, depthwise_conv2d, pooling
from .conv import __all__ as _conv_names
from .core import as_tensor
from .elementwise import abs as _abs
from .elementwise import (
    cast,
    erf,
    exp,
    log,
    log1p,
    maximum,
    minimum,
    relu,
    sigmoid,
    softplus,
    tanh,
    where,
)
from .nn_more import *  # noqa: E402,F401,F403 - more tf.nn functions (ops/nn_more.py)
from .reduce import reduce_max, reduce_mean, reduce_sum
from .shape import shape as _shape
from .sort import in_top_k, top_k  # noqa: F401 - tf.nn names
from .state import stop_gradient


def _x(x, name):
    return as_tensor(x, name)


def _widened(fn):
    """``fn`` computing on float16 or bfloat16 logits in float32, the result rounded back (as
    XLA does): the shifted logits of a wide float16 range overflow (-60000 - 60000), and
    bfloat16's 8-bit significand would round each step of the composition."""
    sig = inspect.signature(fn)

    def wrapped(*args, **kwargs):
        bound = sig.bind(*args, **kwargs)
        a = bound.arguments
        x = a.get("logits")
        x = None if x is None else as_tensor(x, fn.__name__)
        if x is None or x.dtype.name not in ("float16", "bfloat16"):
            return fn(*args, **kwargs)
        a["logits"] = cast(x, "float32")
        if fn.__name__ == "softmax_cross_entropy_with_logits" and a.get("labels") is not None:
            a["labels"] = cast(as_tensor(a["labels"], fn.__name__, x.dtype), "float32")
        return cast(fn(*bound.args, **bound.kwargs), x.dtype)

    wrapped.__name__, wrapped.__doc__ = fn.__name__, fn.__doc__
    return wrapped


def relu6(features, name=None):
    """``min(max(x, 0), 6)``."""
    return minimum(relu(features), 6)


def leaky_relu(features, alpha=0.2, name=None):
    """``x`` where positive, ``alpha * x`` elsewhere."""
    x = _x(features, "leaky_relu")
    return where(x > 0, x, x * alpha)


def elu(features, name=None):
    """``x`` where positive, ``exp(x) - 1`` elsewhere."""
    x = _x(features, "elu")
    return where(x > 0, x, exp(minimum(x, 0)) - 1)


def selu(features, name=None):
    """Scaled ELU with the self-normalizing constants."""
    alpha, scale = 1.6732632423543772, 1.0507009873554805
    x = _x(features, "selu")
    return scale * where(x > 0, x, alpha * (exp(minimum(x, 0)) - 1))


def gelu(features, approximate=False, name=None):
    """Gaussian error linear unit (exact erf form, or the tanh approximation)."""
    x = _x(features, "gelu")
    if approximate:
        return 0.5 * x * (1 + tanh(0.7978845608028654 * (x + 0.044715 * x * x * x)))
    return 0.5 * x * (1 + erf(x * 0.7071067811865476))


def silu(features, beta=1.0, name=None):
    """``x * sigmoid(beta * x)`` (also ``jg.nn.swish``)."""
    x = _x(features, "silu")
    return x * sigmoid(x * beta)


swish = silu


@_widened
def softmax(logits, axis=-1, name=None):
    """``exp(x) / sum(exp(x))`` along ``axis``, computed with the max subtracted."""
    x = _x(logits, "softmax")
    e = exp(x - stop_gradient(reduce_max(x, axis=axis, keepdims=True)))
    return e / reduce_sum(e, axis=axis, keepdims=True)


@_widened
def log_softmax(logits, axis=-1, name=None):
    """``x - log(sum(exp(x)))`` along ``axis``, stable for large logits."""
    x = _x(logits, "log_softmax")
    z = x - stop_gradient(reduce_max(x, axis=axis, keepdims=True))
    return z - log(reduce_sum(exp(z), axis=axis, keepdims=True))


@_widened
def sparse_softmax_cross_entropy_with_logits(labels=None, logits=None, name=None):
    """Per-example ``-log_softmax(logits)[label]``; ``labels`` are class indices.

    >>> jg.nn.sparse_softmax_cross_entropy_with_logits(labels=[0], logits=[[2., 1.]])
    """
    from .indexing import one_hot

    if labels is None or logits is None:
        raise ValueError("sparse_softmax_cross_entropy_with_logits needs labels= and logits=")
    z = _x(logits, "sparse_softmax_cross_entropy_with_logits")
    lab = as_tensor(labels, "sparse_softmax_cross_entropy_with_logits")
    if not lab.dtype.is_integer:
        raise errors.InvalidArgumentError(
            f"sparse_softmax_cross_entropy_with_logits: labels must be integer class indices, "
            f"got {lab.dtype.name}")
    n = z.shape[-1]
    if not lab._symbolic and n is not None and lab._value.size and (
            lab._value.min() < 0 or lab._value.max() >= n):
        bad = lab._value[(lab._value < 0) | (lab._value >= n)].ravel()[0]
        raise errors.OutOfRangeError(errors.at_user_line(
            f"sparse_softmax_cross_entropy_with_logits: label {int(bad)} is out of range for "
            f"{n} classes; valid labels are 0..{n - 1}"))
    if lab._symbolic and n is not None:  # else a bad label silently costs 0 (one_hot of it)
        from .core import apply
        from .elementwise import greater_equal, less, logical_and
        from .reduce import reduce_all

        ok = logical_and(greater_equal(lab, 0), less(lab, n))
        apply("assert", reduce_all(ok), message=errors.at_user_line(
            f"sparse_softmax_cross_entropy_with_logits: a label is out of range for {n} "
            f"classes; valid labels are 0..{n - 1} (when the function ran)"))
    return -reduce_sum(one_hot(lab, n, dtype=z.dtype) * log_softmax(z), axis=-1)


@_widened
def softmax_cross_entropy_with_logits(labels=None, logits=None, axis=-1, name=None):
    """Per-example ``-sum(labels * log_softmax(logits))``; ``labels`` are distributions."""
    z = _x(logits, "softmax_cross_entropy_with_logits")
    lab = as_tensor(labels, "softmax_cross_entropy_with_logits", z.dtype)
    return -reduce_sum(lab * log_softmax(z, axis=axis), axis=axis)


def sigmoid_cross_entropy_with_logits(labels=None, logits=None, name=None):
    """``max(x, 0) - x * z + log(1 + exp(-|x|))``: stable binary cross-entropy."""
    x = _x(logits, "sigmoid_cross_entropy_with_logits")
    z = as_tensor(labels, "sigmoid_cross_entropy_with_logits", x.dtype)
    return maximum(x, 0) - x * z + log1p(exp(-_abs(x)))


def l2_loss(t, name=None):
    """``sum(t ** 2) / 2``."""
    x = _x(t, "l2_loss")
    return reduce_sum(x * x) / 2


def moments(x, axes, shift=None, keepdims=False, name=None):
    """(mean, variance) of ``x`` over ``axes``."""
    x = _x(x, "moments")
    mean = reduce_mean(x, axis=axes, keepdims=True)
    var = reduce_mean((x - stop_gradient(mean)) ** 2, axis=axes, keepdims=True)
    if not keepdims:
        from .core import normalize_axis
        from .shape import squeeze

        ax = list(normalize_axis(axes, x.ndim, "moments"))
        mean, var = squeeze(mean, ax), squeeze(var, ax)
    return mean, var


def dropout(x, rate, noise_shape=None, seed=None, name=None):
    """Zeros each element with probability ``rate`` and scales the rest by 1/(1-rate)."""
    from . import random as _random

    x = _x(x, "dropout")
    if not 0 <= float(rate) < 1:
        raise errors.InvalidArgumentError(f"dropout: rate must be in [0, 1), got {rate}")
    if float(rate) == 0:
        return x
    keep = _random.uniform(_noise_shape(x, noise_shape), dtype=x.dtype, seed=seed) >= rate
    return where(keep, x / (1 - float(rate)), x * 0)


def _noise_shape(x, noise_shape):
    """The shape of dropout's keep mask: ``noise_shape`` with None dims taken from ``x``
    (TensorFlow's rule); ``jg.shape(x)`` when x has dims unknown when tracing."""
    if noise_shape is None:
        return x.shape.as_list() if x.shape.is_fully_defined() else _shape(x)
    dims = noise_shape.as_list() if isinstance(noise_shape, TensorShape) else noise_shape
    if isinstance(dims, Tensor):
        return dims
    dims = list(dims)
    if len(dims) != x.ndim:
        raise errors.InvalidArgumentError(errors.at_user_line(
            f"dropout: noise_shape {dims} must have one entry per dim of x "
            f"(shape {x.shape.as_list()})"))
    known = x.shape.as_list()
    dims = [known[i] if d is None else d for i, d in enumerate(dims)]
    return [_shape(x)[i] if d is None else d for i, d in enumerate(dims)]


def bias_add(value, bias, data_format=None, name=None):
    """``value + bias`` over the last axis."""
    return _x(value, "bias_add") + bias


__all__ = ["relu", "relu6", "leaky_relu", "elu", "selu", "gelu", "sigmoid", "tanh", "softmax",
           "log_softmax", "softplus", "silu", "swish", "sparse_softmax_cross_entropy_with_logits",
           "softmax_cross_entropy_with_logits", "sigmoid_cross_entropy_with_logits", "l2_loss",
           "moments", "dropout", "bias_add", "l2_normalize", "embedding_lookup", *_conv_names]

from .conv3d import *  # noqa: E402,F401,F403 - conv3d, conv3d_transpose, 3-D pooling
from .conv3d import __all__ as _conv3d_names  # noqa: E402
from .nnx import *  # noqa: E402,F401,F403 - more tf.nn functions (ops/nnx.py)

__all__ += _conv3d_names
