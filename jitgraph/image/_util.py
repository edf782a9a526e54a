"""Argument handling shared by the jg.image modules: images of rank 3 [height, width,
channels] or 4 [batch, height, width, channels] as TensorFlow takes them, checked once with
errors that name the op and the shape."""

import numpy as np

from .. import dtypes as _dt
from .. import errors
from ..ops.core import as_tensor
from ..ops.shape import expand_dims, squeeze
from ..tensor import Tensor

_SMALL_INTS = (np.uint8, np.int8, np.uint16, np.int16)


def fail(message, cls=errors.InvalidArgumentError):
    return cls(errors.at_user_line(message))


def desc(t):
    return f"{t.dtype.name}{list(t.shape)}"


def as_image_tensor(value, op):
    """A Tensor; NumPy arrays of small integer types (uint8 pixels) become int32 with the same
    values, since jitgraph has no uint8."""
    if isinstance(value, np.ndarray) and value.dtype.type in _SMALL_INTS:
        value = value.astype(np.int32)
    return as_tensor(value, op)


def image4(images, op, known_spatial=True, ranks=(3, 4)):
    """(x as [batch, height, width, channels], was_batched)."""
    x = as_image_tensor(images, op)
    if x.ndim not in ranks:
        want = " or ".join({3: "3 [height, width, channels]",
                            4: "4 [batch, height, width, channels]"}[r] for r in ranks)
        raise fail(f"{op}: images must have rank {want}, got {desc(x)}")
    if known_spatial and any(d is None for d in x.shape[-3:-1]):
        raise fail(f"{op}: needs the height and width of {desc(x)} known when tracing; only "
                   f"the batch dim may be None (give them in the input_signature)")
    if x.ndim == 3:
        return expand_dims(x, 0), False
    return x, True


def unbatch(y, batched):
    return y if batched else squeeze(y, [0])


def static_int(v, op, what):
    """A Python int from an int, NumPy scalar or eager tensor; a clear error for a tensor
    computed while tracing."""
    if isinstance(v, Tensor):
        if v._symbolic:
            raise fail(f"{op}: {what} must be known when tracing (a Python int or a constant), "
                       f"got a tensor computed at run time", errors.UnimplementedError)
        v = v.numpy()
    a = np.asarray(v)
    if a.ndim != 0 or not np.issubdtype(a.dtype, np.integer):
        raise fail(f"{op}: {what} must be an integer, got {v!r}")
    return int(a)


def static_float(v, op, what):
    if isinstance(v, Tensor):
        if v._symbolic:
            return None
        v = v.numpy()
    a = np.asarray(v)
    if a.ndim != 0:
        raise fail(f"{op}: {what} must be a scalar, got {v!r}")
    return float(a)


def floating(x, op):
    """x itself when floating; integers as float32 (TensorFlow's float result of resizes and
    statistics)."""
    from ..ops.elementwise import cast

    if x.dtype.is_floating:
        return x
    if x.dtype.is_bool:
        raise fail(f"{op}: needs numeric images, got bool {desc(x)}")
    return cast(x, _dt.float32)
