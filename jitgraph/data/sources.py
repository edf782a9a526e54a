"""Datasets that start a pipeline (slices, tensors, range, generators) and those that
combine pipelines (zip, concatenate)."""

import itertools

import numpy as np

from .. import dtypes as _dt
from .. import nest
from ..tensor import TensorShape, TensorSpec
from . import streams, structure
from .dataset import (
    INFINITE_CARDINALITY,
    UNKNOWN_CARDINALITY,
    Dataset,
    _check_count,
    make_rng,
    shuffle_seed,
)


class TensorSlices(Dataset):
    def __init__(self, tensors):
        value = structure.normalize(tensors, "Dataset.from_tensor_slices", keep_narrow=True)
        flat = nest.flatten(value)
        if not flat:
            raise ValueError("Dataset.from_tensor_slices: got an empty structure")
        for a in flat:
            if a.ndim == 0:
                raise ValueError(f"Dataset.from_tensor_slices: every component needs at least "
                                 f"one dimension to slice, got a scalar of dtype {a.dtype}")
        sizes = sorted({a.shape[0] for a in flat})
        if len(sizes) != 1:
            raise ValueError(f"Dataset.from_tensor_slices: all components must have the same "
                             f"size in their first dimension, got sizes {sizes}")
        self._arrays, self._n = flat, sizes[0]
        self._spec = structure.spec_of(value, batch_dim=True)
        self._dtypes = [None if a.dtype == s.dtype.np else s.dtype.np
                        for a, s in zip(flat, structure.flat_specs(self._spec))]

    def _plan(self):
        n = self._n
        return streams.Plan(self._arrays, lambda: iter([np.arange(n, dtype=np.int64)]),
                            self._dtypes)

    def _cardinality(self):
        return self._n


class Tensors(Dataset):
    def __init__(self, tensors):
        value = structure.normalize(tensors, "Dataset.from_tensors")
        self._flat = nest.flatten(value)
        self._spec = structure.spec_of(value)

    def _flat_iter(self):
        yield list(self._flat)

    def _cardinality(self):
        return 1


_PLANNED_RANGE = 1 << 24  # longer ranges count lazily instead of holding their values


class Range(Dataset):
    def __init__(self, args, output_type):
        if not 1 <= len(args) <= 3:
            raise TypeError(f"Dataset.range takes 1 to 3 arguments (stop / start, stop / "
                            f"start, stop, step), got {len(args)}")
        args = [_check_count(a, "range", "argument", allow_negative=True) for a in args]
        start, stop, step = (0, args[0], 1) if len(args) == 1 else (
            args[0], args[1], args[2] if len(args) == 3 else 1)
        if step == 0:
            raise ValueError("Dataset.range: step must not be 0")
        self._range = range(start, stop, step)
        self._dtype = _dt.as_dtype(output_type or _dt.int64)
        self._spec = TensorSpec([], self._dtype)

    def _plan(self):
        if len(self._range) > _PLANNED_RANGE:
            return None
        r, np_dtype = self._range, self._dtype.np
        return streams.Plan([np.arange(r.start, r.stop, r.step).astype(np_dtype)],
                            lambda: iter([np.arange(len(r), dtype=np.int64)]))

    def _flat_iter(self):
        np_dtype = self._dtype.np
        for v in self._range:
            yield [np.asarray(v, np_dtype)]

    def _cardinality(self):
        return len(self._range)


class Generator(Dataset):
    def __init__(self, generator, output_types, output_shapes, args, output_signature):
        if not callable(generator):
            raise TypeError("Dataset.from_generator: `generator` must be a callable that "
                            "returns a Python iterator (pass the generator function, not a "
                            "generator object)")
        if output_signature is None:
            if output_types is None:
                raise TypeError("Dataset.from_generator: pass output_signature (a structure "
                                "of jg.TensorSpec) or output_types")
            output_signature = _signature(output_types, output_shapes)
        for s in nest.flatten(output_signature):
            if not isinstance(s, TensorSpec):
                raise TypeError(f"Dataset.from_generator: output_signature must hold "
                                f"jg.TensorSpec objects, got {s!r}")
        self._gen, self._args = generator, tuple(args or ())
        self._spec = output_signature

    def _flat_iter(self):
        specs = structure.flat_specs(self._spec)
        name = getattr(self._gen, "__name__", "generator")
        for k, value in enumerate(self._gen(*self._args)):
            value = structure.lists_to_tuples(value) if nest.is_nested(self._spec) else value
            try:
                nest.assert_same_structure(self._spec, value, check_types=False)
            except (ValueError, TypeError) as e:
                raise TypeError(f"Dataset.from_generator: element {k} of {name!r} does not "
                                f"match output_signature {self._spec}: {e}") from None
            flat = []
            for leaf, spec in zip(nest.flatten(value), specs):
                a = structure.leaf_array(leaf, "Dataset.from_generator")
                if a.dtype != spec.dtype.np:
                    if not np.can_cast(a.dtype, spec.dtype.np, "same_kind") and a.size:
                        raise TypeError(f"Dataset.from_generator: element {k} of {name!r} has "
                                        f"a component of dtype {a.dtype}, which does not "
                                        f"convert to {spec.dtype.name}")
                    a = a.astype(spec.dtype.np)
                if not spec.shape.is_compatible_with(a.shape):
                    raise ValueError(f"Dataset.from_generator: element {k} of {name!r} has "
                                     f"shape {list(a.shape)}, expected {spec.shape} "
                                     "(output_signature)")
                flat.append(a)
            yield flat


def _signature(types, shapes):
    """output_types/output_shapes as a structure of TensorSpec (shapes follow the types'
    structure; a leaf's shape is a list or tuple of dims, or None for unknown)."""
    if nest.is_nested(types):
        keys = list(types) if isinstance(types, dict) else range(len(types))
        parts = [_signature(types[k], None if shapes is None else shapes[k]) for k in keys]
        if isinstance(types, dict):
            return dict(zip(keys, parts))
        return type(types)(*parts) if hasattr(type(types), "_fields") else tuple(parts)
    return TensorSpec(TensorShape(shapes), types)


class Zip(Dataset):
    def __init__(self, datasets):
        for d in nest.flatten(datasets):
            if not isinstance(d, Dataset):
                raise TypeError(f"Dataset.zip: expected datasets, got {type(d).__name__}")
        self._datasets = datasets
        self._list = nest.flatten(datasets)
        self._spec = nest.map_structure(lambda d: d.element_spec, datasets)

    def _inputs(self):
        return self._list

    def _flat_iter(self):
        its = [d._elements() for d in self._list]
        while True:
            out = []
            for it in its:
                e = next(it, None)
                if e is None:
                    return
                out.extend(e)
            yield out

    def _cardinality(self):
        cs = [d._cardinality() for d in self._list]
        if UNKNOWN_CARDINALITY in cs:
            return UNKNOWN_CARDINALITY
        finite = [c for c in cs if c != INFINITE_CARDINALITY]
        return min(finite) if finite else INFINITE_CARDINALITY


class Concatenate(Dataset):
    def __init__(self, first, second):
        if not isinstance(second, Dataset):
            raise TypeError(f"Dataset.concatenate: expected a Dataset, got "
                            f"{type(second).__name__}")
        a, b = first.element_spec, second.element_spec
        structure.same_structure(a, b, "Dataset.concatenate")
        structure.check_dtypes(a, b, "Dataset.concatenate")
        self._first, self._second = first, second
        self._spec = nest.map_structure(
            lambda x, y: TensorSpec(structure.merge_shapes(x.shape, y.shape), x.dtype), a, b)

    def _inputs(self):
        return [self._first, self._second]

    def _flat_iter(self):
        yield from self._first._elements()
        yield from self._second._elements()

    def _cardinality(self):
        a, b = self._first._cardinality(), self._second._cardinality()
        if INFINITE_CARDINALITY in (a, b):
            return INFINITE_CARDINALITY
        if UNKNOWN_CARDINALITY in (a, b):
            return UNKNOWN_CARDINALITY
        return a + b


def _common_spec(datasets, what):
    if not datasets or not all(isinstance(d, Dataset) for d in datasets):
        raise TypeError(f"{what}: expected a non-empty list of datasets")
    spec = datasets[0].element_spec
    for d in datasets[1:]:
        structure.same_structure(spec, d.element_spec, what)
        structure.check_dtypes(spec, d.element_spec, what)
        spec = nest.map_structure(
            lambda x, y: TensorSpec(structure.merge_shapes(x.shape, y.shape), x.dtype), spec,
            d.element_spec)
    return spec


class Sample(Dataset):
    def __init__(self, datasets, weights, seed, stop_on_empty, rerandomize):
        self._datasets = list(datasets)
        self._spec = _common_spec(self._datasets, "Dataset.sample_from_datasets")
        n = len(self._datasets)
        w = np.full(n, 1.0 / n) if weights is None else np.asarray(
            structure.leaf_array(weights, "sample_from_datasets"), np.float64)
        if w.shape != (n,) or (w < 0).any() or w.sum() <= 0:
            raise ValueError(f"Dataset.sample_from_datasets: weights must be {n} non-negative "
                             f"numbers, not all 0; got {weights!r}")
        self._weights, self._stop = w, bool(stop_on_empty)
        self._seed, self._passes = shuffle_seed(seed), itertools.count()
        self._rerandomize = rerandomize is None or bool(rerandomize)

    def _inputs(self):
        return self._datasets

    def _flat_iter(self):
        k = next(self._passes)
        rng = make_rng(self._seed, k if self._rerandomize else 0)
        its = [d._elements() for d in self._datasets]
        w = self._weights.copy()
        while w.sum() > 0:
            i = int(rng.choice(len(w), p=w / w.sum()))
            e = next(its[i], None)
            if e is None:
                if self._stop:
                    return
                w[i] = 0.0
                continue
            yield e

    def _cardinality(self):
        cs = [d._cardinality() for d in self._datasets]
        if all(c == INFINITE_CARDINALITY for c in cs):
            return INFINITE_CARDINALITY
        return UNKNOWN_CARDINALITY


class Choose(Dataset):
    def __init__(self, datasets, choice_dataset, stop_on_empty):
        self._datasets = list(datasets)
        self._spec = _common_spec(self._datasets, "Dataset.choose_from_datasets")
        cs = choice_dataset.element_spec if isinstance(choice_dataset, Dataset) else None
        if cs is None or nest.is_nested(cs) or cs.shape != [] or cs.dtype.name != "int64":
            raise TypeError(f"Dataset.choose_from_datasets: choice_dataset must be a dataset "
                            f"of int64 scalars, got {cs}")
        self._choices, self._stop = choice_dataset, bool(stop_on_empty)

    def _inputs(self):
        return self._datasets + [self._choices]

    def _flat_iter(self):
        its = [d._elements() for d in self._datasets]
        for (c,) in self._choices._elements():
            c = int(c)
            if not 0 <= c < len(its):
                raise ValueError(f"Dataset.choose_from_datasets: choice {c} is not the index "
                                 f"of one of the {len(its)} datasets")
            e = next(its[c], None)
            if e is None:
                if self._stop:
                    return
                continue
            yield e
