"""``jg.data.Dataset``: tf.data's input pipelines.

A Dataset is an immutable description; every ``iter(ds)`` starts a fresh pass. Elements are
nests (tuples, dicts, namedtuples) of jg Tensors; ``element_spec`` gives their
``jg.TensorSpec`` structure. Transformations return new datasets (the classes are in
sources.py, transforms.py, batching.py and order.py; streams.py has the iteration
machinery).

>>> ds = jg.data.Dataset.from_tensor_slices((x, y)).shuffle(1000, seed=1).batch(32)
>>> ds = ds.map(lambda x, y: (x / 255.0, y)).prefetch(jg.data.AUTOTUNE)
>>> for xb, yb in ds: ...

Seeds: ``shuffle(seed=s)`` gives the same orders in every run. Pass k over the dataset (the
k-th ``iter``, or the k-th repetition inside ``repeat``) uses the random stream (s, k) when
``reshuffle_each_iteration`` (the default), else (s, 0) every time. Without ``seed`` the
global seed of ``jg.random.set_seed`` and the shuffle's creation index in the program are
used (the k-th shuffle created since ``set_seed``); with neither, every dataset draws
fresh entropy.
"""

import numpy as np

from .. import tracing
from ..ops import random as _random
from ..tensor import Tensor
from . import structure

INFINITE_CARDINALITY = -1
UNKNOWN_CARDINALITY = -2
AUTOTUNE = -1


class Options:
    """tf.data.Options: accepted and kept (``ds.options()``); jitgraph's pipelines run in the
    consumer's thread in element order, so the threading and optimization options have no
    effect."""

    def __init__(self):
        self.deterministic = None
        self.experimental_deterministic = None
        self.experimental_optimization = _Bag()
        self.threading = _Bag()
        self.experimental_threading = self.threading
        self.experimental_distribute = _Bag()
        self.autotune = _Bag()

    def merge(self, options):
        out = Options()
        out.__dict__.update(self.__dict__)
        for k, v in options.__dict__.items():
            if v is not None:
                setattr(out, k, v)
        return out


class _Bag:
    """An options group: any attribute may be set and read back (None when unset)."""

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return None


class DatasetSpec:
    """The ``element_spec`` entry of an element that is itself a dataset (``window``)."""

    def __init__(self, element_spec):
        self.element_spec = element_spec

    def placeholder(self):
        """An empty dataset of these elements (to find what a function makes of it)."""
        from .batching import _Rows

        return _Rows([], self.element_spec)

    def __eq__(self, other):
        return isinstance(other, DatasetSpec) and other.element_spec == self.element_spec

    def __hash__(self):
        return hash(repr(self.element_spec))

    def __repr__(self):
        return f"DatasetSpec({self.element_spec!r})"


class Iterator:
    """What ``iter(dataset)`` returns: ``next(it)``, ``it.get_next()``, ``element_spec``."""

    def __init__(self, dataset):
        self._spec = dataset.element_spec
        self._pack = structure.packer(self._spec)
        self._flat = dataset._elements()

    @property
    def element_spec(self):
        return self._spec

    def __iter__(self):
        return self

    def __next__(self):
        from .. import errors, tracing

        if tracing.in_graph_mode():  # the element would become a constant of the graph
            raise errors.TracingError(errors.at_user_line(
                "next() on a jg.data iterator inside a jg.function: the element read while "
                "tracing would be compiled into the graph as a constant, and every call "
                "would return it. Call next(iterator) outside and pass the element in, e.g. "
                "`step(next(it))` with step a jg.function"))
        return self._pack(next(self._flat))

    def get_next(self):
        from ..errors import OutOfRangeError

        try:
            return next(self)
        except StopIteration:
            raise OutOfRangeError("End of sequence: the iterator is exhausted") from None


class Dataset:
    """Base class of all datasets; create one with a ``from_*`` / ``range`` constructor."""

    _spec = None
    _options = None

    # -- what subclasses provide
    def _flat_iter(self):
        """A fresh iterator of elements as lists of NumPy arrays."""
        raise NotImplementedError

    def _plan(self):
        """A streams.Plan when the elements are rows of held arrays, else None."""
        return None

    def _cardinality(self):
        return UNKNOWN_CARDINALITY

    def _inputs(self):
        return []

    def _elements(self):
        if tracing.in_graph_mode():
            raise TypeError(
                "iterating a jg.data.Dataset inside a jg.function is not supported: iterate "
                "the dataset outside and call the compiled step per batch, e.g. "
                "`for x, y in ds: train_step(x, y)` with train_step a jg.function")
        plan = self._plan()
        return plan.rows() if plan is not None else iter(self._flat_iter())

    # -- constructors
    @staticmethod
    def from_tensor_slices(tensors, name=None):
        """One element per row (first-axis slice) of every component."""
        from .sources import TensorSlices

        return TensorSlices(tensors)

    @staticmethod
    def from_tensors(tensors, name=None):
        """A dataset of the single element ``tensors``."""
        from .sources import Tensors

        return Tensors(tensors)

    @staticmethod
    def range(*args, output_type=None, name=None):
        """``range(stop)``, ``range(start, stop[, step])``: int64 scalars, as in tf.data."""
        from .sources import Range

        return Range(args, output_type)

    @staticmethod
    def counter(start=0, step=1, dtype=None, name=None):
        """``start``, ``start + step``, ... without end (``tf.data.experimental.Counter``):
        zipped with another dataset it numbers its elements, or seeds each one."""
        import sys

        end = sys.maxsize if step > 0 else -sys.maxsize - 1
        return Dataset.range(start, end, step, output_type=dtype or "int64")

    @staticmethod
    def from_generator(generator, output_types=None, output_shapes=None, args=None,
                       output_signature=None, name=None):
        """The values a Python generator yields, converted to ``output_signature``
        (a structure of ``jg.TensorSpec``) or ``output_types``/``output_shapes``."""
        from .sources import Generator

        return Generator(generator, output_types, output_shapes, args, output_signature)

    @staticmethod
    def zip(*datasets, name=None):
        """Elements of several datasets side by side (a tuple or dict of datasets), until
        the shortest ends."""
        from .sources import Zip

        if len(datasets) == 1 and not isinstance(datasets[0], Dataset):
            datasets = datasets[0]
        return Zip(datasets)

    @staticmethod
    def sample_from_datasets(datasets, weights=None, seed=None, stop_on_empty_dataset=False,
                             rerandomize_each_iteration=None):
        """Each element from a dataset drawn with probability ``weights`` (uniform when
        None); an exhausted dataset leaves the draw (or ends it: stop_on_empty_dataset)."""
        from .sources import Sample

        return Sample(datasets, weights, seed, stop_on_empty_dataset,
                      rerandomize_each_iteration)

    @staticmethod
    def choose_from_datasets(datasets, choice_dataset, stop_on_empty_dataset=True):
        """The next element of ``datasets[c]`` for each int64 ``c`` of ``choice_dataset``."""
        from .sources import Choose

        return Choose(datasets, choice_dataset, stop_on_empty_dataset)

    # -- transformations
    def concatenate(self, dataset, name=None):
        from .sources import Concatenate

        return Concatenate(self, dataset)

    def map(self, map_func, num_parallel_calls=None, deterministic=None, name=None):
        """``map_func`` traced once for the element signature (tuples are passed as
        separate arguments) and run as one compiled call per element."""
        from .transforms import Map

        return Map(self, map_func)

    def filter(self, predicate, name=None):
        from .transforms import Filter

        return Filter(self, predicate)

    def flat_map(self, map_func, name=None):
        from .transforms import FlatMap

        return FlatMap(self, map_func)

    def interleave(self, map_func, cycle_length=None, block_length=None,
                   num_parallel_calls=None, deterministic=None, name=None):
        from .transforms import Interleave

        return Interleave(self, map_func, cycle_length, block_length)

    def batch(self, batch_size, drop_remainder=False, num_parallel_calls=None,
              deterministic=None, name=None):
        from .batching import Batch

        return Batch(self, batch_size, drop_remainder)

    def padded_batch(self, batch_size, padded_shapes=None, padding_values=None,
                     drop_remainder=False, name=None):
        from .batching import PaddedBatch

        return PaddedBatch(self, batch_size, padded_shapes, padding_values, drop_remainder)

    def unbatch(self, name=None):
        from .batching import Unbatch

        return Unbatch(self)

    def rebatch(self, batch_size, drop_remainder=False, name=None):
        """The same rows in batches of ``batch_size``."""
        return self.unbatch().batch(batch_size, drop_remainder)

    def shuffle(self, buffer_size, seed=None, reshuffle_each_iteration=True, name=None):
        from .order import Shuffle

        return Shuffle(self, buffer_size, seed, reshuffle_each_iteration)

    def repeat(self, count=None, name=None):
        from .order import Repeat

        return Repeat(self, count)

    def take(self, count, name=None):
        from .order import Slice

        return Slice(self, "take", count)

    def skip(self, count, name=None):
        from .order import Slice

        return Slice(self, "skip", count)

    def shard(self, num_shards, index, name=None):
        from .order import Slice

        return Slice(self, "shard", num_shards, index)

    def cache(self, filename="", name=None):
        from .order import Cache

        if filename:
            raise NotImplementedError(
                f"Dataset.cache({filename!r}): caching to files is not implemented in "
                "jitgraph; use cache() to keep the elements in memory")
        return Cache(self)

    def prefetch(self, buffer_size, name=None):
        """Accepted for tf.data compatibility and returns an equivalent dataset: elements
        are produced on demand in the consumer's thread. (A producer thread would not
        overlap with the consumer's compiled steps, which hold the GIL while they run, and
        a pipeline over held arrays is mostly one gather per batch.)"""
        from .transforms import Passthrough

        _check_count(buffer_size, "prefetch", "buffer_size", allow_autotune=True)
        return Passthrough(self)

    def enumerate(self, start=0, name=None):
        return Dataset.zip((Dataset.range(start, np.iinfo(np.int64).max), self))

    def window(self, size, shift=None, stride=1, drop_remainder=False, name=None):
        """Elements that are datasets of ``size`` elements, one every ``shift``; take them
        apart with flat_map: ``ds.window(3, 1, drop_remainder=True).flat_map(lambda w:
        w.batch(3))``."""
        from .batching import Window

        return Window(self, size, shift, stride, drop_remainder)

    def take_while(self, predicate, name=None):
        from .transforms import TakeWhile

        return TakeWhile(self, predicate)

    def scan(self, initial_state, scan_func, name=None):
        from .transforms import Scan

        return Scan(self, initial_state, scan_func)

    def unique(self, name=None):
        from .transforms import Unique

        return Unique(self)

    def apply(self, transformation_func):
        """``transformation_func(self)``, which must return a Dataset."""
        out = transformation_func(self)
        if not isinstance(out, Dataset):
            raise TypeError(f"Dataset.apply: the transformation must return a Dataset, got "
                            f"{type(out).__name__}")
        return out

    def with_options(self, options, name=None):
        from .transforms import Passthrough

        if not isinstance(options, Options):
            raise TypeError(f"with_options: expected jg.data.Options, got "
                            f"{type(options).__name__}")
        out = Passthrough(self)
        out._options = options if self._options is None else self._options.merge(options)
        return out

    def options(self):
        for d in self._lineage():
            if d._options is not None:
                return d._options
        return Options()

    def _lineage(self):
        yield self
        for d in self._inputs():
            yield from d._lineage()

    # -- consuming
    def reduce(self, initial_state, reduce_func, name=None):
        """``reduce_func(state, element)`` folded over the dataset (traced once)."""
        from .transforms import reduce

        return reduce(self, initial_state, reduce_func)

    def get_single_element(self, name=None):
        """The only element of a dataset of one element."""
        from ..errors import InvalidArgumentError

        it = self._elements()
        first = next(it, None)
        if first is None:
            raise InvalidArgumentError("Dataset.get_single_element: the dataset is empty")
        if next(it, None) is not None:
            raise InvalidArgumentError("Dataset.get_single_element: the dataset has more "
                                       "than one element; use take(1) for the first")
        return structure.pack(self.element_spec, first)

    def as_numpy_iterator(self):
        spec = self.element_spec
        return (structure.pack_numpy(spec, flat) for flat in self._elements())

    def __iter__(self):
        return Iterator(self)

    @property
    def element_spec(self):
        return self._spec

    def cardinality(self):
        """The number of elements as an int64 scalar tensor, or INFINITE_CARDINALITY (-1)
        / UNKNOWN_CARDINALITY (-2)."""
        return Tensor(np.asarray(self._cardinality(), np.int64))

    def __len__(self):
        n = self._cardinality()
        if n == INFINITE_CARDINALITY:
            raise TypeError("The dataset is infinite.")
        if n == UNKNOWN_CARDINALITY:
            raise TypeError("The dataset length is unknown.")
        return int(n)

    def __bool__(self):
        return True

    def __array__(self, dtype=None, copy=None):
        raise TypeError("a jg.data.Dataset is not a tensor: iterate it (`for x in ds`), "
                        "pass it to model.fit, or take elements with ds.take(n)")

    def _not_a_tensor(self, *args):
        raise TypeError(f"{self!r} is a jg.data.Dataset, not a tensor: iterate it (`for x in "
                        "ds`) and pass the batches to ops or to a jg.function")

    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = _not_a_tensor
    __truediv__ = __rtruediv__ = __matmul__ = __rmatmul__ = __neg__ = __pow__ = _not_a_tensor

    def __repr__(self):
        return f"<{type(self).__name__}Dataset element_spec={self.element_spec}>"


def _check_count(v, op, arg, allow_autotune=False, allow_negative=False):
    if isinstance(v, Tensor):
        v = v.numpy()
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)) or (
            np.ndim(v) != 0):
        raise TypeError(f"Dataset.{op}: {arg} must be a Python or NumPy integer, got {v!r}")
    v = int(v)
    if v < 0 and not allow_negative and not (allow_autotune and v == AUTOTUNE):
        raise ValueError(f"Dataset.{op}: {arg} must be >= 0, got {v}")
    return v


def make_rng(seed, counter):
    """NumPy Generator for pass ``counter`` of a shuffle seeded with ``seed`` (a pair, see
    the module docstring)."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(list(seed) +
                                                                      [counter])))


def shuffle_seed(seed):
    """The (global, op) seed pair of a new shuffle."""
    gs = _random.get_global_generator_seed()
    if seed is not None:
        return (_random.DEFAULT_GLOBAL_SEED if gs is None else gs) & 0xFFFFFFFF, \
            int(seed) & 0xFFFFFFFF
    if gs is not None:  # the k-th shuffle since set_seed
        k = _random._state["shuffles"] = _random._state.get("shuffles", 0) + 1
        return gs & 0xFFFFFFFF, 0x5EED0000 + k
    return tuple(np.random.SeedSequence().generate_state(2).tolist())
