"""jg.keras.config: Keras 3's global settings (floatx, epsilon, the image data format, the
dtype policy), stored in ``jg.keras.backend``, the one owner of these values.

``backend()`` returns ``"jitgraph"``: code that branches on the backend name (``if
keras.config.backend() == "tensorflow": import tensorflow as tf ...``) would hand jitgraph
tensors to another library, so it should take its backend-neutral branch instead.
``enable_unsafe_deserialization``, ``disable_traceback_filtering`` and
``enable_traceback_filtering`` are accepted and do nothing: ``load_model`` has no safe mode
(custom objects and Lambda layers load as they are), and jitgraph's tracebacks are never
filtered.

>>> jg.keras.config.set_floatx("float64")
>>> jg.keras.layers.Dense(3).build((None, 2))   # float64 kernel
>>> jg.keras.config.floatx()
'float64'
"""

from . import mixed_precision
from .backend import (
    epsilon,
    floatx,
    image_data_format,
    set_epsilon,
    set_floatx,
    set_image_data_format,
)


def backend():
    """The backend's name: ``"jitgraph"``."""
    return "jitgraph"


def dtype_policy():
    """The global dtype policy (``jg.keras.mixed_precision.global_policy()``)."""
    return mixed_precision.global_policy()


def set_dtype_policy(policy):
    """Sets the global dtype policy, e.g. ``"mixed_float16"``."""
    mixed_precision.set_global_policy(policy)


def enable_unsafe_deserialization():
    """No-op: ``jg.keras.models.load_model`` has no safe mode to disable."""


def enable_traceback_filtering():
    """No-op: jitgraph does not filter tracebacks."""


def disable_traceback_filtering():
    """No-op: jitgraph does not filter tracebacks."""


def is_traceback_filtering_enabled():
    return False


__all__ = ["backend", "floatx", "set_floatx", "epsilon", "set_epsilon", "image_data_format",
           "set_image_data_format", "dtype_policy", "set_dtype_policy",
           "enable_unsafe_deserialization", "enable_traceback_filtering",
           "disable_traceback_filtering", "is_traceback_filtering_enabled"]
