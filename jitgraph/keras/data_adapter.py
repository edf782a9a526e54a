"""Batches for fit / evaluate / predict: from NumPy arrays (batched here), or from a
``jg.data.Dataset`` or Python iterator that yields whole batches as ``x``, ``(x,)``,
``(x, y)`` or ``(x, y, sample_weight)``, as in Keras.

Every batch reaches the step function as NumPy arrays converted by ``to_numpy_data``
(floats as float32, 64-bit ints as int32), so a dataset and the same arrays train the same
compiled step.
"""

import itertools
import warnings

import numpy as np

import jitgraph as jg

from .base_layer import map_structure


def is_batch_source(x):
    """A dataset, an iterator of batches, or a PyDataset / Sequence (an object with
    ``__len__`` and ``__getitem__`` that returns batches), not arrays, tensors or nests."""
    if isinstance(x, jg.data.Dataset) or _is_py_dataset(x):
        return True
    return hasattr(x, "__next__") and not isinstance(x, (np.ndarray, jg.Tensor))


def _is_py_dataset(x):
    from .utils import PyDataset

    return isinstance(x, PyDataset) or (
        hasattr(x, "__getitem__") and hasattr(x, "__len__") and hasattr(x, "on_epoch_end")
        and not isinstance(x, (np.ndarray, jg.Tensor, list, tuple, dict)))


class _PyDatasetSource:
    """A PyDataset as a dataset of known length: its batches in order each epoch, then
    its ``on_epoch_end``."""

    def __init__(self, data):
        self.data = data

    def _cardinality(self):
        return len(self.data)

    def __iter__(self):
        for i in range(len(self.data)):
            yield self.data[i]


def check_arguments(x, y, batch_size, sample_weight, validation_split, what):
    kind = "a jg.data.Dataset" if isinstance(x, jg.data.Dataset) else \
        "a PyDataset" if _is_py_dataset(x) else "a Python generator"
    for arg, value in (("y", y), ("batch_size", batch_size), ("sample_weight", sample_weight)):
        if value is not None:
            raise ValueError(f"{what}: the `{arg}` argument must not be given when `x` is "
                             f"{kind}: its elements are already batches of (x, y) or "
                             f"(x, y, sample_weight); got {arg}={value!r:.60}")
    if validation_split:
        raise ValueError(f"{what}: validation_split is only supported for NumPy arrays and "
                         f"tensors, not when `x` is {kind}; pass validation_data instead")


def unpack_batch(element):
    """(x, y, sample_weight) of one dataset element."""
    if isinstance(element, list):
        element = tuple(element)
    if isinstance(element, tuple) and not hasattr(type(element), "_fields"):
        if not 1 <= len(element) <= 3:
            raise ValueError(f"Data is expected to be in format `x`, `(x,)`, `(x, y)`, or "
                             f"`(x, y, sample_weight)`, got a tuple of {len(element)} items")
        element = element + (None,) * (3 - len(element))
        return element
    return element, None, None


def _as_arrays(batch):
    from .training import to_numpy_data

    return to_numpy_data(map_structure(
        lambda t: None if t is None else np.asarray(t), batch))


class Batches:
    """The batches of a dataset or iterator, epoch by epoch.

    A dataset is iterated afresh each epoch (a shuffle reshuffles) unless ``steps`` is
    given: then one iterator runs on across epochs, ``steps`` batches an epoch, as in
    Keras; when it runs out the epoch ends early with a warning and the next epoch starts
    a new pass. A generator that runs out ends training.
    """

    def __init__(self, data, steps, what, steps_arg):
        if _is_py_dataset(data):
            data = _PyDatasetSource(data)
        self.data, self.what = data, what
        self.is_dataset = isinstance(data, (jg.data.Dataset, _PyDatasetSource))
        if steps is not None:
            steps = int(steps)
            if steps < 1:
                raise ValueError(f"{what}: {steps_arg} must be a positive number of batches, "
                                 f"got {steps}")
        if self.is_dataset and steps is None:
            n = data._cardinality()
            if n == jg.data.INFINITE_CARDINALITY:
                raise ValueError(f"{what}: the dataset is infinite (e.g. repeat() without a "
                                 f"count): pass {steps_arg}, the number of batches an epoch "
                                 "takes from it")
            steps = n if n >= 0 else None
        self.steps = steps
        self.persistent = not self.is_dataset or self.steps is not None and \
            not self._counted(steps)
        self._raw = None if self.is_dataset else iter(data)
        self._it = None
        self._pending = []  # batches read ahead (the first, to build the model)
        self.exhausted = False

    def _counted(self, steps):
        """True when ``steps`` is the dataset's own length (a fresh pass each epoch)."""
        return self.is_dataset and steps == self.data._cardinality()

    def first(self):
        if not self._pending:
            it = self._iterator()
            b = next(it, None)
            if b is None:
                raise ValueError(f"{self.what}: the data yielded no batches")
            self._pending.append(b)
        return self._pending[0]

    def _iterator(self):
        if self._it is None:
            source = iter(self.data) if self.is_dataset else self._raw
            self._it = (_as_arrays(unpack_batch(e)) for e in source)
        return self._it

    def epoch(self):
        """The batches of one epoch, as (x, y, sample_weight) NumPy nests."""
        it = itertools.chain(self._pending, self._iterator())
        self._pending = []
        n = 0
        for b in it if self.steps is None else itertools.islice(it, self.steps):
            n += 1
            yield b
        if self.steps is not None and n < self.steps:
            warnings.warn(f"{self.what}: the input ran out of data after {n} of "
                          f"{self.steps} batches; this epoch ends here. Make sure the data "
                          "yields at least steps * epochs batches (e.g. use repeat())",
                          stacklevel=3)
            self._it = None  # a dataset starts a new pass next epoch, as in Keras
            self.exhausted = n == 0 or not self.is_dataset  # nothing more will come
        if isinstance(self.data, _PyDatasetSource):
            self.data.data.on_epoch_end()
        if not self.persistent:
            self._it = None
