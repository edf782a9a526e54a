"""``jg.data``: tf.data's input pipelines (``jg.data.Dataset``).

>>> ds = jg.data.Dataset.from_tensor_slices((x, y)).shuffle(1000, seed=1).batch(32)
>>> model.fit(ds.prefetch(jg.data.AUTOTUNE), epochs=3)
"""

from types import SimpleNamespace as _Namespace

from .dataset import (
    AUTOTUNE,
    INFINITE_CARDINALITY,
    UNKNOWN_CARDINALITY,
    Dataset,
    DatasetSpec,
    Iterator,
    Options,
)

experimental = _Namespace(AUTOTUNE=AUTOTUNE, INFINITE_CARDINALITY=INFINITE_CARDINALITY,
                          UNKNOWN_CARDINALITY=UNKNOWN_CARDINALITY,
                          cardinality=lambda dataset: dataset.cardinality(),
                          Counter=Dataset.counter)

__all__ = ["AUTOTUNE", "INFINITE_CARDINALITY", "UNKNOWN_CARDINALITY", "Dataset",
           "DatasetSpec", "Iterator",
           "Options", "experimental"]


_FILE_DATASETS = ("TextLineDataset", "TFRecordDataset", "FixedLengthRecordDataset")


def __getattr__(name):
    """tf.data's file readers produce string tensors, which jitgraph does not have: a clear
    error saying what to do instead."""
    if name in _FILE_DATASETS:
        from ..unsupported import UnsupportedAttribute, message

        raise UnsupportedAttribute(message(
            f"jg.data.{name}", "datasets of file records (they are string tensors)",
            "read the file in Python or NumPy (open(path).read().splitlines(), np.loadtxt), "
            "turn the text into numbers, and use jg.data.Dataset.from_tensor_slices"))
    raise AttributeError(f"module 'jitgraph.data' has no attribute {name!r}")
