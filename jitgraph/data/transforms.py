"""The transformations of a dataset: map, filter, flat_map, interleave, batching, shuffle,
repeat, take/skip/shard, cache, scan, reduce."""

import itertools
import os

import numpy as np

from .. import nest
from ..tensor import TensorShape, TensorSpec
from . import streams, structure
from .dataset import (
    INFINITE_CARDINALITY,
    UNKNOWN_CARDINALITY,
    Dataset,
    DatasetSpec,
    _check_count,
    make_rng,
    shuffle_seed,
)
from .functions import Traced, call_with_element, function_name


class _Unary(Dataset):
    def __init__(self, input_dataset):
        self._input = input_dataset
        self._spec = input_dataset.element_spec

    def _inputs(self):
        return [self._input]

    def _cardinality(self):
        return self._input._cardinality()


class Passthrough(_Unary):
    """prefetch and with_options: the same elements."""

    def _plan(self):
        return self._input._plan()

    def _flat_iter(self):
        return self._input._elements()


# -- functions of elements ---------------------------------------------------------------

class Map(_Unary):
    def __init__(self, input_dataset, fn):
        super().__init__(input_dataset)
        self._fn = Traced(fn, self._spec, "map")
        self._spec = self._fn.out_spec

    def _flat_iter(self):
        fn = self._fn
        for e in self._input._elements():
            yield fn(e)


def _scalar_bool(kind):
    def check(spec):
        if nest.is_nested(spec) or spec.dtype.name != "bool" or spec.shape != []:
            raise TypeError(f"the {kind} predicate must return a scalar bool tensor, got "
                            f"{spec}")
    return check


class Filter(_Unary):
    def __init__(self, input_dataset, predicate):
        super().__init__(input_dataset)
        self._fn = Traced(predicate, self._spec, "filter", check=_scalar_bool("filter"))

    def _flat_iter(self):
        fn = self._fn
        for e in self._input._elements():
            if fn(e)[0]:
                yield e

    def _cardinality(self):
        c = self._input._cardinality()
        return INFINITE_CARDINALITY if c == INFINITE_CARDINALITY else UNKNOWN_CARDINALITY


class TakeWhile(_Unary):
    def __init__(self, input_dataset, predicate):
        super().__init__(input_dataset)
        self._fn = Traced(predicate, self._spec, "take_while",
                          check=_scalar_bool("take_while"))

    def _flat_iter(self):
        fn = self._fn
        for e in self._input._elements():
            if not fn(e)[0]:
                return
            yield e

    def _cardinality(self):
        return UNKNOWN_CARDINALITY


class _DatasetFunction:
    """A flat_map / interleave function. It builds Dataset objects, which a graph cannot
    hold, so it runs as Python on eager tensors once per input element; the element_spec of
    its datasets is found at construction by calling it on zero-filled elements."""

    def __init__(self, fn, in_spec, kind):
        if not callable(fn):
            raise TypeError(f"Dataset.{kind}: expected a function, got {type(fn).__name__}")
        self.fn, self.in_spec, self.kind, self.name = fn, in_spec, kind, function_name(fn)
        specs = [self._probe(k).element_spec for k in (1, 2)]
        structure.same_structure(specs[0], specs[1], f"Dataset.{kind}")
        self.out_spec = nest.map_structure(
            lambda a, b: TensorSpec(structure.merge_shapes(a.shape, b.shape), a.dtype), *specs)

    def _probe(self, unknown_dim):
        flat = [s.placeholder() if isinstance(s, DatasetSpec) else
                np.zeros([unknown_dim if d is None else d for d in s.shape], s.dtype.np)
                for s in structure.flat_specs(self.in_spec)]
        return self(flat)

    def __call__(self, flat):
        out = call_with_element(self.fn, structure.pack(self.in_spec, flat))
        if not isinstance(out, Dataset):
            raise TypeError(f"Dataset.{self.kind}: the function {self.name!r} must return a "
                            f"jg.data.Dataset, got {type(out).__name__}")
        return out

    def elements(self, flat):
        ds = self(flat)
        spec = ds.element_spec
        ok = True
        try:
            nest.assert_same_structure(spec, self.out_spec)
        except (ValueError, TypeError):
            ok = False
        ok = ok and all(a.dtype is b.dtype and b.shape.is_compatible_with(a.shape)
                        for a, b in zip(nest.flatten(spec), nest.flatten(self.out_spec)))
        if not ok:
            raise TypeError(f"Dataset.{self.kind}: the function {self.name!r} returned a "
                            f"dataset of {spec}, but its elements were found to be "
                            f"{self.out_spec} at construction")
        return ds._elements()


class FlatMap(_Unary):
    def __init__(self, input_dataset, fn):
        super().__init__(input_dataset)
        self._fn = _DatasetFunction(fn, self._spec, "flat_map")
        self._spec = self._fn.out_spec

    def _flat_iter(self):
        for e in self._input._elements():
            yield from self._fn.elements(e)

    def _cardinality(self):
        return UNKNOWN_CARDINALITY


class Interleave(_Unary):
    def __init__(self, input_dataset, fn, cycle_length, block_length):
        super().__init__(input_dataset)
        self._fn = _DatasetFunction(fn, self._spec, "interleave")
        self._spec = self._fn.out_spec
        if cycle_length is None or cycle_length == -1:  # AUTOTUNE: the cores we may use
            cycle_length = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") \
                else os.cpu_count() or 1
        self._cycle = _check_count(cycle_length, "interleave", "cycle_length")
        self._block = 1 if block_length is None else _check_count(block_length, "interleave",
                                                                  "block_length")
        if self._cycle < 1 or self._block < 1:
            raise ValueError("Dataset.interleave: cycle_length and block_length must be >= 1")

    def _flat_iter(self):
        """tf.data's deterministic order: visit the cycle's slots in turn, taking up to
        block_length elements from each; an empty slot opens the next input element's
        dataset when the turn comes to it; a finished one is left empty for its turn."""
        inputs = self._input._elements()
        slots = [None] * self._cycle
        open_count, end_of_input, k, taken = 0, False, 0, 0
        while not end_of_input or open_count:
            it = slots[k]
            if it is not None:
                e = next(it, None)
                if e is not None:
                    yield e
                    taken += 1
                    if taken == self._block:
                        taken, k = 0, (k + 1) % self._cycle
                    continue
                slots[k] = None
                open_count -= 1
                taken, k = 0, (k + 1) % self._cycle
            elif not end_of_input:
                e = next(inputs, None)
                if e is None:
                    end_of_input = True
                else:
                    slots[k] = self._fn.elements(e)
                    open_count += 1
            else:
                taken, k = 0, (k + 1) % self._cycle

    def _cardinality(self):
        return UNKNOWN_CARDINALITY


class Scan(_Unary):
    def __init__(self, input_dataset, initial_state, fn):
        super().__init__(input_dataset)
        state = structure.normalize(initial_state, "Dataset.scan")
        self._state = nest.flatten(state)
        state_spec = structure.spec_of(state)

        def check(spec):
            if not isinstance(spec, tuple) or len(spec) != 2:
                raise TypeError(f"the scan function must return a pair (new_state, "
                                f"output_element), got {spec}")
            _check_state(state_spec, spec[0], "scan")

        self._fn = Traced(fn, self._spec, "scan", check=check, state_spec=state_spec)
        self._n_state = len(self._state)
        self._spec = self._fn.out_spec[1]

    def _flat_iter(self):
        fn, n, state = self._fn, self._n_state, list(self._state)
        for e in self._input._elements():
            out = fn(state + list(e))
            state = out[:n]
            yield out[n:]


def _check_state(state_spec, new_spec, kind):
    try:
        nest.assert_same_structure(state_spec, new_spec)
    except (ValueError, TypeError) as e:
        raise TypeError(f"the {kind} function must return a state of the initial state's "
                        f"structure {state_spec}: {e}") from None
    for a, b in zip(nest.flatten(state_spec), nest.flatten(new_spec)):
        if a.dtype is not b.dtype or not a.shape.is_compatible_with(b.shape):
            raise TypeError(f"the {kind} function changed a state component from {a} to {b}; "
                            "the state must keep its dtype and shape (cast it or give the "
                            "initial state the final shape)")


def reduce(dataset, initial_state, fn):
    state = structure.normalize(initial_state, "Dataset.reduce")
    state_spec = structure.spec_of(state)
    traced = Traced(fn, dataset.element_spec, "reduce",
                    check=lambda spec: _check_state(state_spec, spec, "reduce"),
                    state_spec=state_spec)
    flat = nest.flatten(state)
    for e in dataset._elements():
        flat = traced(list(flat) + list(e))
    return structure.pack(state_spec, flat)


class Unique(_Unary):
    def __init__(self, input_dataset):
        super().__init__(input_dataset)
        s = self._spec
        if nest.is_nested(s) or s.shape != [] or not s.dtype.is_integer:
            raise TypeError(f"Dataset.unique needs elements that are int32 or int64 scalars, "
                            f"got {s}")

    def _flat_iter(self):
        seen = set()
        for e in self._input._elements():
            v = int(e[0])
            if v not in seen:
                seen.add(v)
                yield e

    def _cardinality(self):
        return UNKNOWN_CARDINALITY


# -- batching ----------------------------------------------------------------------------

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


# -- order and counts ----------------------------------------------------------------------

class Shuffle(_Unary):
    def __init__(self, input_dataset, buffer_size, seed, reshuffle_each_iteration):
        super().__init__(input_dataset)
        self._buffer = _check_count(buffer_size, "shuffle", "buffer_size")
        if self._buffer < 1:
            raise ValueError(f"Dataset.shuffle: buffer_size must be >= 1, got {buffer_size}")
        self._seed = shuffle_seed(seed)
        self._reshuffle = reshuffle_each_iteration is None or bool(reshuffle_each_iteration)
        self._passes = itertools.count()

    def _rng(self):
        k = next(self._passes)
        return make_rng(self._seed, k if self._reshuffle else 0)

    def _plan(self):
        plan = self._input._plan()
        if plan is None:
            return None
        return plan.derive(lambda up: streams.shuffle_chunks(up, self._buffer, self._rng()))

    def _flat_iter(self):
        return streams.buffer_shuffle(self._input._elements(), self._buffer, self._rng())


class Repeat(_Unary):
    def __init__(self, input_dataset, count):
        super().__init__(input_dataset)
        count = -1 if count is None else _check_count(count, "repeat", "count",
                                                      allow_negative=True)
        self._count = None if count < 0 else count

    def _plan(self):
        plan = self._input._plan()
        if plan is None:
            return None
        return plan.with_chunks(lambda: streams.repeat_stream(plan.chunks, self._count))

    def _flat_iter(self):
        return streams.repeat_stream(self._input._elements, self._count)

    def _cardinality(self):
        c = self._input._cardinality()
        if self._count is None:
            return 0 if c == 0 else INFINITE_CARDINALITY
        if self._count == 0:
            return 0
        return c if c < 0 else c * self._count


class Slice(_Unary):
    """take(n), skip(n) and shard(num_shards, index): one slice of the element sequence."""

    def __init__(self, input_dataset, kind, a, b=None):
        super().__init__(input_dataset)
        self._kind = kind
        if kind == "shard":
            num = _check_count(a, "shard", "num_shards")
            index = _check_count(b, "shard", "index")
            if num < 1 or index >= num:
                raise ValueError(f"Dataset.shard: need num_shards >= 1 and 0 <= index < "
                                 f"num_shards, got num_shards={num}, index={index}")
            self._slice = (index, None, num)
        else:
            n = _check_count(a, kind, "count", allow_negative=True)
            if kind == "take":
                self._slice = (0, None if n < 0 else n, 1)
            else:
                self._slice = (0, 0, 1) if n < 0 else (n, None, 1)

    def _plan(self):
        plan = self._input._plan()
        if plan is None:
            return None
        return plan.derive(lambda up: streams.slice_chunks(up, *self._slice))

    def _flat_iter(self):
        return streams.slice_elements(self._input._elements(), *self._slice)

    def _cardinality(self):
        c = self._input._cardinality()
        start, stop, step = self._slice
        if c == UNKNOWN_CARDINALITY:
            return c
        if c == INFINITE_CARDINALITY:
            return stop - start if stop is not None else c
        end = c if stop is None else min(c, stop)
        return max(0, -(-(end - start) // step))


class Cache(_Unary):
    """Keeps the elements (or, over a plan, the index stream) of the first complete pass and
    replays them afterwards."""

    def __init__(self, input_dataset):
        super().__init__(input_dataset)
        self._done = None

    def _plan(self):
        plan = self._input._plan()
        if plan is None:
            return None
        return plan.with_chunks(lambda: self._replay(plan.chunks))

    def _flat_iter(self):
        return self._replay(self._input._elements)

    def _replay(self, make):
        if self._done is not None:
            yield from self._done
            return
        seen = []
        for x in make():
            seen.append(x)
            yield x
        self._done = seen


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
