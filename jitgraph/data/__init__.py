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
