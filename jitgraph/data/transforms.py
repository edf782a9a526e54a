"""Transformations by user functions (map, filter, take_while, flat_map, interleave, scan,
reduce, unique) and the pass-through ones (prefetch, with_options)."""

import os

import numpy as np

from .. import nest
from ..tensor import TensorSpec
from . import structure
from .dataset import (
    INFINITE_CARDINALITY,
    UNKNOWN_CARDINALITY,
    Dataset,
    DatasetSpec,
    _check_count,
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
