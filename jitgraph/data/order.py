"""Transformations of the order and number of elements: shuffle, repeat, take / skip /
shard, cache. Over a planned dataset (streams.Plan) they transform the index stream only."""

import itertools

from . import streams
from .dataset import INFINITE_CARDINALITY, UNKNOWN_CARDINALITY, _check_count, make_rng, shuffle_seed
from .transforms import _Unary


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
