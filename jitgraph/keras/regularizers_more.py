"""``OrthogonalRegularizer`` (Keras 3): a penalty on the cosines between the rows (or
columns) of a 2-D weight, pushing them towards orthogonality.

>>> jg.keras.layers.Dense(8, kernel_regularizer=jg.keras.regularizers.OrthogonalRegularizer(0.01))
"""

import math

import jitgraph as jg

from .regularizers import Regularizer


class OrthogonalRegularizer(Regularizer):
    """``factor`` times the mean absolute cosine between pairs of distinct rows
    (``mode="rows"``) or columns (``mode="columns"``) of a 2-D weight, as Keras 3 computes
    it."""

    def __init__(self, factor=0.01, mode="rows"):
        if isinstance(factor, bool) or not isinstance(factor, (int, float)) or \
                math.isinf(factor) or math.isnan(factor) or factor < 0:
            raise ValueError(f"OrthogonalRegularizer: factor must be a non-negative float, "
                             f"got factor={factor!r}")
        if mode not in ("rows", "columns"):
            raise ValueError(f"OrthogonalRegularizer: mode must be 'rows' or 'columns', got "
                             f"mode={mode!r}")
        self.factor, self.mode = float(factor), mode

    def __call__(self, x):
        if len(x.shape) != 2:
            raise ValueError(f"OrthogonalRegularizer: needs a 2-D weight, got shape "
                             f"{tuple(x.shape)}; for a convolution kernel use a Dense-like "
                             f"reshape or another regularizer")
        axis = 1 if self.mode == "rows" else 0
        unit = x / jg.maximum(jg.sqrt(jg.reduce_sum(jg.square(x), axis=axis, keepdims=True)),
                              1e-7)
        product = jg.matmul(unit, unit, transpose_b=True) if self.mode == "rows" else \
            jg.matmul(unit, unit, transpose_a=True)
        size = int(x.shape[1 - axis])
        off_diagonal = product * (1.0 - jg.eye(size, dtype=x.dtype))
        return self.factor * 0.5 * jg.reduce_sum(jg.abs(off_diagonal)) / (
            size * (size - 1.0) / 2.0)

    def get_config(self):
        return {"factor": self.factor, "mode": self.mode}


orthogonal_regularizer = OrthogonalRegularizer

__all__ = ["OrthogonalRegularizer", "orthogonal_regularizer"]
