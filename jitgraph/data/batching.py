"""Batching transformations: batch, padded_batch, unbatch, window."""

import itertools

import numpy as np

from .. import nest
from ..tensor import TensorShape, TensorSpec
from . import structure
from .dataset import INFINITE_CARDINALITY, UNKNOWN_CARDINALITY, Dataset, DatasetSpec, _check_count
from .transforms import _Unary


def _batch_cardinality(c, size, drop_remainder):
    if c < 0:
        return c
    return c // size if drop_remainder else -(-c // size)


def _stack(elements, what):
    out = []
    for k, col in enumerate(zip(*elements)):
        first = col[0].shape
        if len({a.shape for a in col}) != 1:
            j = next(j for j, a in enumerate(col) if a.shape != first)
            raise ValueError(f"{what}: cannot batch tensors of different shapes in "
                             f"component {k}: the first element has shape {list(first)} and "
                             f"element {j} has shape {list(col[j].shape)}; use padded_batch, "
                             "or map them to one shape first")
        out.append(np.array(col))  # equal shapes: one stacked array (faster than np.stack)
    return out


class Batch(_Unary):
    def __init__(self, input_dataset, batch_size, drop_remainder):
        super().__init__(input_dataset)
        structure.require_tensors(self._spec, "Dataset.batch")
        self._size = _check_count(batch_size, "batch", "batch_size")
        if self._size < 1:
            raise ValueError(f"Dataset.batch: batch_size must be >= 1, got {batch_size}")
        self._drop = bool(drop_remainder)
        self._spec = structure.batched_spec(self._spec, self._size if self._drop else None)

    def _flat_iter(self):
        plan = self._input._plan()
        if plan is not None:
            yield from plan.batches(self._size, self._drop)
            return
        size = self._size
        it = self._input._elements()
        while True:
            chunk = list(itertools.islice(it, size))
            if not chunk or (self._drop and len(chunk) < size):
                return
            yield _stack(chunk, "Dataset.batch")

    def _cardinality(self):
        return _batch_cardinality(self._input._cardinality(), self._size, self._drop)


class PaddedBatch(_Unary):
    def __init__(self, input_dataset, batch_size, padded_shapes, padding_values,
                 drop_remainder):
        super().__init__(input_dataset)
        structure.require_tensors(self._spec, "Dataset.padded_batch")
        self._size = _check_count(batch_size, "padded_batch", "batch_size")
        if self._size < 1:
            raise ValueError(f"Dataset.padded_batch: batch_size must be >= 1, got {batch_size}")
        self._drop = bool(drop_remainder)
        spec = self._spec
        specs = structure.flat_specs(spec)
        if padded_shapes is None:
            shapes = [TensorShape([None] * s.shape.rank) for s in specs]
        else:
            shapes = _shape_leaves(spec, padded_shapes)
        for s, p in zip(specs, shapes):
            if s.shape.rank is None or p.rank != s.shape.rank:
                raise ValueError(f"Dataset.padded_batch: padded shape {p} does not have the "
                                 f"rank of the component {s}")
            for d, q in zip(s.shape, p):
                if d is not None and q is not None and q < d:
                    raise ValueError(f"Dataset.padded_batch: padded shape {p} is smaller "
                                     f"than the component's shape {s.shape}")
        self._shapes = [list(p) for p in shapes]
        if padding_values is None:
            self._pads = [np.zeros((), s.dtype.np) for s in specs]
        else:
            pads = nest.flatten(padding_values) if nest.is_nested(padding_values) else \
                [padding_values] * len(specs)
            if len(pads) != len(specs):
                raise ValueError(f"Dataset.padded_batch: padding_values {padding_values!r} "
                                 f"does not match the element structure {spec}")
            self._pads = [np.asarray(structure.leaf_array(v, "padded_batch"), s.dtype.np)
                          for v, s in zip(pads, specs)]
        out = [TensorSpec([self._size if self._drop else None] +
                          [q if q is not None else (d if padded_shapes is None else None)
                           for d, q in zip(s.shape, p)], s.dtype)
               for s, p in zip(specs, self._shapes)]
        self._spec = structure.pack_specs(spec, out)

    def _flat_iter(self):
        it = self._input._elements()
        while True:
            chunk = list(itertools.islice(it, self._size))
            if not chunk or (self._drop and len(chunk) < self._size):
                return
            yield [self._pad(col, shape, pad)
                   for col, shape, pad in zip(zip(*chunk), self._shapes, self._pads)]

    @staticmethod
    def _pad(col, shape, pad):
        dims = [max(a.shape[i] for a in col) if q is None else q for i, q in enumerate(shape)]
        for a in col:
            if any(n > d for n, d in zip(a.shape, dims)):
                raise ValueError(f"Dataset.padded_batch: an element of shape {list(a.shape)} "
                                 f"does not fit the padded shape {shape}")
        out = np.full([len(col)] + dims, pad, dtype=pad.dtype)
        for j, a in enumerate(col):
            out[(j,) + tuple(slice(0, n) for n in a.shape)] = a
        return out

    def _cardinality(self):
        return _batch_cardinality(self._input._cardinality(), self._size, self._drop)


def _shape_leaves(spec, padded_shapes):
    """padded_shapes follows the element structure; its leaves are shapes (lists, tuples,
    TensorShapes, -1/None for a dimension padded to the batch's longest)."""
    def shape(p):
        p = TensorShape(p) if not isinstance(p, TensorShape) else p
        return TensorShape([None if d is None or d == -1 else d for d in p])

    if not nest.is_nested(spec):
        return [shape(padded_shapes)]
    keys = sorted(spec) if isinstance(spec, dict) else range(len(spec))
    out = []
    for k in keys:
        out.extend(_shape_leaves(spec[k], padded_shapes[k]))
    return out


class Unbatch(_Unary):
    def __init__(self, input_dataset):
        super().__init__(input_dataset)
        structure.require_tensors(self._spec, "Dataset.unbatch")
        specs = structure.flat_specs(self._spec)
        self._batch_dim = None
        dims = {s.shape[0] for s in specs if s.shape.rank}
        if len(dims) == 1:
            self._batch_dim = dims.pop()
        self._spec = structure.unbatched_spec(self._spec, "Dataset.unbatch")

    def _flat_iter(self):
        for e in self._input._elements():
            n = {a.shape[0] for a in e}
            if len(n) != 1:
                raise ValueError(f"Dataset.unbatch: the components of an element have "
                                 f"different first dimensions {sorted(n)}")
            for i in range(n.pop()):
                yield [a[i, ...] for a in e]

    def _cardinality(self):
        c = self._input._cardinality()
        if c < 0 or self._batch_dim is None:
            return UNKNOWN_CARDINALITY if c != INFINITE_CARDINALITY else c
        return c * self._batch_dim



class Window(_Unary):
    """Elements that are datasets of ``size`` consecutive input elements (every
    ``stride``-th), starting every ``shift`` elements: one dataset per component, in the
    element's structure (``DatasetSpec`` in ``element_spec``)."""

    def __init__(self, input_dataset, size, shift, stride, drop_remainder):
        super().__init__(input_dataset)
        self._size = _check_count(size, "window", "size")
        self._shift = self._size if shift is None else _check_count(shift, "window", "shift")
        self._stride = _check_count(stride, "window", "stride")
        if min(self._size, self._shift, self._stride) < 1:
            raise ValueError("Dataset.window: size, shift and stride must be >= 1")
        self._drop = bool(drop_remainder)
        self._specs = structure.flat_specs(self._spec)
        self._spec = nest.map_structure(DatasetSpec, self._spec)

    def _flat_iter(self):
        it = self._input._elements()
        buf, base, start, ended = [], 0, 0, False  # buf[i] is input element base + i
        span = (self._size - 1) * self._stride + 1
        while True:
            while not ended and base + len(buf) < start + span:
                e = next(it, None)
                if e is None:
                    ended = True
                elif base + len(buf) < start:  # between windows (shift > span)
                    base += 1
                else:
                    buf.append(e)
            rows = buf[start - base:start - base + span:self._stride]
            if not rows or (self._drop and len(rows) < self._size):
                return
            yield [_Rows([[r[k]] for r in rows], s) for k, s in enumerate(self._specs)]
            start += self._shift
            gone = min(len(buf), start - base)
            del buf[:gone]
            base += gone

    def _cardinality(self):
        c = self._input._cardinality()
        if c < 0:
            return c
        if self._drop:
            span = (self._size - 1) * self._stride + 1
            return 0 if c < span else (c - span) // self._shift + 1
        return -(-c // self._shift)


class _Rows(Dataset):
    """A window's component: the rows it holds."""

    def __init__(self, rows, spec):
        self._rows, self._spec = rows, spec

    def _flat_iter(self):
        return iter(self._rows)

    def _cardinality(self):
        return len(self._rows)
