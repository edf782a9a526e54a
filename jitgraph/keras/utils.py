"""jg.keras.utils: custom-object registration and small helpers."""

import numpy as np

from .serialization import (  # noqa
    CustomObjectScope,
    custom_object_scope,
    get_custom_objects,
    register_keras_serializable,
)


def to_categorical(y, num_classes=None, dtype="float32"):
    """One-hot rows for integer labels: ``to_categorical([0, 2], 3)``."""
    y = np.asarray(y, dtype=np.int64).reshape(-1)
    n = int(num_classes or (y.max() + 1 if y.size else 0))
    out = np.zeros((y.size, n), dtype=dtype)
    out[np.arange(y.size), y] = 1
    return out


def set_random_seed(seed):
    """Seeds jitgraph's and NumPy's generators (initializers, dropout, shuffling)."""
    import jitgraph as jg

    jg.random.set_seed(seed)
    np.random.seed(seed)


from .utils_more import normalize, pad_sequences  # noqa: E402,F401
