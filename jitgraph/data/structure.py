"""Elements of a dataset: nests of arrays and their ``jg.TensorSpec`` structure.

Inside a pipeline an element travels as a flat tuple of NumPy arrays (one per leaf, in
``jg.nest.flatten`` order); its structure is the dataset's ``element_spec``. Tuples, dicts
and namedtuples are structure; a list is a value (converted to one array), as in tf.data.
Values convert as ``jg.constant`` converts them: NumPy arrays keep their dtype (float64 stays
float64), Python floats become float32, Python ints int32.
"""

import numpy as np

from .. import dtypes as _dt
from .. import nest
from ..tensor import Tensor, TensorShape, TensorSpec, to_numpy
from ..tracing import is_symbolic


def _is_structure(x):
    return isinstance(x, tuple) or isinstance(x, dict)


def normalize(value, what, keep_narrow=False):
    """``value`` with every leaf a NumPy array (lists become arrays)."""
    if _is_structure(value):
        return nest.map_structure(lambda v: leaf_array(v, what, keep_narrow),
                                  _lists_as_leaves(value))
    return leaf_array(value, what, keep_narrow)


class _Leaf:
    """Keeps a list whole while jg.nest walks the structure around it."""

    __slots__ = ("v",)

    def __init__(self, v):
        self.v = v


def _lists_as_leaves(value):
    if isinstance(value, list):
        return _Leaf(value)
    if isinstance(value, dict):
        return type(value)((k, _lists_as_leaves(v)) for k, v in value.items()) \
            if type(value) is not dict else {k: _lists_as_leaves(v) for k, v in value.items()}
    if isinstance(value, tuple):
        items = [_lists_as_leaves(v) for v in value]
        return type(value)(*items) if hasattr(type(value), "_fields") else type(value)(items)
    return value


def leaf_array(v, what, keep_narrow=False):
    """``v`` as a NumPy array the dataset owns (a user's array is copied, as jg.constant
    copies it: tensors are immutable). ``keep_narrow``: integer arrays of a width jitgraph
    widens (uint8, int16, ...) stay narrow here; see ``narrow_dtype``."""
    if isinstance(v, _Leaf):
        v = v.v
    if keep_narrow and isinstance(v, np.ndarray) and narrow_dtype(v.dtype) is not None:
        return np.array(v, order="C")
    if is_symbolic(v):
        raise TypeError(f"{what}: got a symbolic tensor of a jg.function being traced; "
                        "build datasets outside jg.function and pass the batches in")
    if _is_dataset(v):
        raise TypeError(f"{what}: got a jg.data.Dataset where a tensor value was expected; "
                        "to combine datasets use Dataset.zip or concatenate")
    read = getattr(v, "_jg_read", None)
    if read is not None:  # a Variable: its current value
        v = read()
    a = to_numpy(v)
    if a is v or (isinstance(v, np.ndarray) and np.shares_memory(a, v)):
        return np.array(a, order="C")
    return a if a.flags.c_contiguous else np.ascontiguousarray(a)  # 0-d stays 0-d


def narrow_dtype(np_dtype):
    """The jitgraph dtype an integer array of an unsupported width becomes (uint8 -> int64,
    as jg.constant converts it), or None when the array is fine as it is."""
    np_dtype = np.dtype(np_dtype)
    if np_dtype.kind not in "iu" or np_dtype in _dt._BY_NP:
        return None
    return _dt.from_numpy(np_dtype)


def _is_dataset(v):
    from .dataset import Dataset

    return isinstance(v, Dataset)


def spec_of(arrays, batch_dim=None):
    """The TensorSpec structure of a structure of arrays (``batch_dim``: drop the first
    axis, as the slices of the arrays)."""
    def one(a):
        return TensorSpec(a.shape[1:] if batch_dim else a.shape,
                          narrow_dtype(a.dtype) or a.dtype)

    return nest.map_structure(one, arrays)


def flat_specs(spec):
    return nest.flatten(spec)


def pack(spec, flat):
    """A structure of jg Tensors (the form iteration yields)."""
    return packer(spec)(flat)


def packer(spec):
    """``pack`` for elements of ``spec``, with the common shapes (one tensor, a plain tuple
    of tensors) packed without walking the structure."""
    def tensors(flat):
        return [Tensor(a) if isinstance(a, np.ndarray) else
                a if _is_dataset(a) else Tensor(np.asarray(a)) for a in flat]

    if not nest.is_nested(spec):
        return lambda flat: tensors(flat)[0]
    if type(spec) is tuple and not any(nest.is_nested(s) for s in spec):
        return lambda flat: tuple(tensors(flat))
    return lambda flat: nest.pack_sequence_as(spec, tensors(flat))


def pack_numpy(spec, flat):
    if len(flat) == 1 and not nest.is_nested(spec):
        return _numpy_value(flat[0])
    return nest.pack_sequence_as(spec, [_numpy_value(a) for a in flat])


def _numpy_value(a):
    a = np.asarray(a)
    return a[()] if a.ndim == 0 else a


def flatten_value(value, what):
    """The flat arrays of an element given in user form (tensors, arrays, scalars)."""
    return [leaf_array(v, what) for v in nest.flatten(_lists_as_leaves(value))]


def lists_to_tuples(value):
    """A function's output: lists are structure there (tf.data turns them into tuples)."""
    if isinstance(value, list):
        return tuple(lists_to_tuples(v) for v in value)
    if isinstance(value, dict):
        return {k: lists_to_tuples(v) for k, v in value.items()}
    if isinstance(value, tuple) and not hasattr(type(value), "_fields"):
        return tuple(lists_to_tuples(v) for v in value)
    if isinstance(value, tuple):
        return type(value)(*[lists_to_tuples(v) for v in value])
    return value


def batched_spec(spec, size):
    """The spec of a batch of ``size`` elements (None: unknown)."""
    return nest.map_structure(lambda s: TensorSpec([size] + _dims(s.shape), s.dtype), spec)


def unbatched_spec(spec, what):
    def one(s):
        if s.shape.rank is None or s.shape.rank == 0:
            raise ValueError(f"{what}: every component must have at least one dimension, got "
                             f"{s}")
        return TensorSpec(_dims(s.shape)[1:], s.dtype)

    return nest.map_structure(one, spec)


def _dims(shape):
    return list(TensorShape(shape).dims)


def merge_shapes(a, b):
    """The most specific shape compatible with both (None where they differ)."""
    a, b = TensorShape(a), TensorShape(b)
    if a.rank is None or b.rank is None or a.rank != b.rank:
        return TensorShape(None)
    return TensorShape([x if x == y else None for x, y in zip(a.dims, b.dims)])


def same_structure(a, b, what):
    try:
        nest.assert_same_structure(a, b)
    except (ValueError, TypeError) as e:
        raise TypeError(f"{what}: the elements have different structures: {e}") from None


def check_dtypes(a, b, what):
    for x, y in zip(nest.flatten(a), nest.flatten(b)):
        if x.dtype is not y.dtype:
            raise TypeError(f"{what}: component dtypes differ ({x.dtype.name} vs "
                            f"{y.dtype.name}); use map with jg.cast to make them agree")


def pack_specs(spec, flat):
    """Flat TensorSpecs in the structure of ``spec``."""
    return nest.pack_sequence_as(spec, list(flat)) if nest.is_nested(spec) else flat[0]


def require_tensors(spec, what):
    """Raises when elements hold datasets (from ``window``), which only flat_map and
    interleave can take apart."""
    if any(not isinstance(s, TensorSpec) for s in nest.flatten(spec)):
        raise TypeError(f"{what}: the elements are datasets ({spec}), as window() makes "
                        "them; take them apart with flat_map or interleave first, e.g. "
                        "ds.window(5).flat_map(lambda w: w.batch(5))")
