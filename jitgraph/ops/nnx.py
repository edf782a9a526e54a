"""More of ``jg.nn`` (TensorFlow's ``tf.nn``), as compositions of other ops:
``batch_normalization``, ``log_poisson_loss``, ``weighted_cross_entropy_with_logits``,
``compute_average_loss`` and ``scale_regularization_loss`` (one replica: jitgraph runs a
function on one device, so the global batch is the local one)."""

import math

from .. import errors
from .composite import add_n
from .core import as_tensor
from .elementwise import abs as _abs
from .elementwise import cast, exp, log, log1p, relu, rsqrt, where
from .reduce import reduce_sum
from .shape import shape as _shape


def batch_normalization(x, mean, variance, offset, scale, variance_epsilon, name=None):
    """``(x - mean) * scale / sqrt(variance + variance_epsilon) + offset`` (``offset``,
    ``scale`` may be None), computed as TensorFlow does: ``x * inv + (offset - mean * inv)``
    with ``inv = scale * rsqrt(variance + variance_epsilon)``."""
    x = as_tensor(x, "batch_normalization")
    inv = rsqrt(as_tensor(variance, "batch_normalization", x.dtype) + variance_epsilon)
    if scale is not None:
        inv = inv * as_tensor(scale, "batch_normalization", x.dtype)
    mean = as_tensor(mean, "batch_normalization", x.dtype)
    shift = -mean * inv if offset is None else \
        as_tensor(offset, "batch_normalization", x.dtype) - mean * inv
    return x * inv + shift


def log_poisson_loss(targets, log_input, compute_full_loss=False, name=None):
    """``exp(log_input) - log_input * targets``; with ``compute_full_loss`` plus Stirling's
    approximation of ``log(targets!)`` where ``targets > 1``."""
    c = as_tensor(log_input, "log_poisson_loss")
    z = as_tensor(targets, "log_poisson_loss", c.dtype)
    if z.dtype != c.dtype:
        raise errors.InvalidArgumentError(
            f"log_poisson_loss: targets ({z.dtype.name}) and log_input ({c.dtype.name}) must "
            f"have one dtype; convert one with jg.cast")
    loss = exp(c) - c * z
    if compute_full_loss:
        small = (z >= 0) & (z <= 1)
        zs = where(small, 1.0, z)  # log only where it is used: finite gradients
        stirling = zs * log(zs) - zs + 0.5 * log(2 * math.pi * zs)
        loss = loss + where(small, 0.0, stirling)
    return loss


def weighted_cross_entropy_with_logits(labels, logits, pos_weight, name=None):
    """``labels * -log(sigmoid(logits)) * pos_weight + (1 - labels) *
    -log(1 - sigmoid(logits))``, in the stable form ``(1 - z) x + l (log1p(exp(-|x|)) +
    relu(-x))``, ``l = 1 + (pos_weight - 1) z``."""
    x = as_tensor(logits, "weighted_cross_entropy_with_logits")
    z = as_tensor(labels, "weighted_cross_entropy_with_logits", x.dtype)
    lw = 1 + (as_tensor(pos_weight, "weighted_cross_entropy_with_logits", x.dtype) - 1) * z
    return (1 - z) * x + lw * (log1p(exp(-_abs(x))) + relu(-x))


def compute_average_loss(per_example_loss, sample_weight=None, global_batch_size=None,
                         name=None):
    """``sum(per_example_loss * sample_weight) / global_batch_size``; the batch size
    defaults to the loss's first dim (one replica)."""
    loss = as_tensor(per_example_loss, "compute_average_loss")
    if sample_weight is not None:
        loss = loss * as_tensor(sample_weight, "compute_average_loss", loss.dtype)
    total = reduce_sum(loss)
    if global_batch_size is None:
        if not loss.shape:
            return total
        n = loss.shape[0]
        n = cast(_shape(loss)[0], loss.dtype) if n is None else float(n)
    else:
        n = float(global_batch_size) if isinstance(global_batch_size, (int, float)) else \
            cast(as_tensor(global_batch_size, "compute_average_loss"), loss.dtype)
    return total / n


def scale_regularization_loss(regularization_loss, name=None):
    """The sum of the regularization losses (a list or a tensor) divided by the number of
    replicas (1)."""
    if isinstance(regularization_loss, (list, tuple)):
        return add_n([as_tensor(t, "scale_regularization_loss") for t in regularization_loss])
    return reduce_sum(as_tensor(regularization_loss, "scale_regularization_loss"))


__all__ = ["batch_normalization", "log_poisson_loss", "weighted_cross_entropy_with_logits",
           "compute_average_loss", "scale_regularization_loss"]
