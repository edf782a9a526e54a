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


from .sequence import pad_sequences  # noqa: E402,F401
from .utils_more import normalize  # noqa: E402,F401


class PyDataset:
    """Batches computed in Python: subclass it with ``__len__`` (the number of batches)
    and ``__getitem__(index)`` returning ``x``, ``(x, y)`` or ``(x, y, sample_weight)``;
    ``fit`` goes through the batches in order each epoch and calls ``on_epoch_end``.
    (Keras' worker arguments are accepted; the batches are read in this process.)"""

    def __init__(self, workers=1, use_multiprocessing=False, max_queue_size=10):
        self.workers, self.use_multiprocessing = workers, use_multiprocessing
        self.max_queue_size = max_queue_size

    def __len__(self):
        raise NotImplementedError(f"{type(self).__name__} must define __len__ (the number "
                                  "of batches)")

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__(index) "
                                  "returning one batch")

    def on_epoch_end(self):
        pass


Sequence = PyDataset  # tf.keras 2's name


def plot_model(model, to_file="model.png", show_shapes=False, show_dtype=False,
               show_layer_names=True, **kwargs):
    """Not supported: jitgraph does not draw Keras models."""
    raise NotImplementedError(
        "jg.keras.utils.plot_model is not supported: jitgraph does not draw Keras models. "
        "Print the layers, their output shapes and parameter counts with model.summary(); "
        "to draw a traced function's graph use the jitgraph command line "
        "(jitgraph --help, Graphviz output)")


from .timeseries import timeseries_dataset_from_array  # noqa: E402,F401
