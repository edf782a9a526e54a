"""More of ``jg.keras.utils``: ``normalize`` (NumPy in, NumPy out, as in Keras;
``pad_sequences`` is in keras/sequence.py).

>>> jg.keras.utils.normalize([[3.0, 4.0]])   # [[0.6, 0.8]]
"""

import numpy as np


def normalize(x, axis=-1, order=2):
    """``x`` divided by its ``order``-norm along ``axis`` (zero vectors stay zero)."""
    x = np.asarray(x)
    norm = np.atleast_1d(np.linalg.norm(x, order, axis))
    norm[norm == 0] = 1
    return x / np.expand_dims(norm, axis)


__all__ = ["normalize"]
