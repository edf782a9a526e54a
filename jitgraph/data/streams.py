"""The iteration machinery under the datasets: element streams, index plans and the
buffered shuffle.

An element is a list of NumPy arrays (the flat leaves of the dataset's ``element_spec``).
A dataset whose elements are rows of arrays it holds (``from_tensor_slices``, ``range``)
exposes a ``Plan``: the arrays plus a stream of int64 index chunks. ``shuffle``, ``repeat``,
``take``, ``skip``, ``shard`` and ``cache`` of a planned dataset transform the index stream
only, and ``batch`` gathers each batch with one fancy index per array, so
``from_tensor_slices(...).shuffle(...).batch(...)`` never touches single rows.
"""

import itertools

import numpy as np

ROW_CHUNK = 1024  # rows gathered at a time when a plan is iterated row by row
_DRAW_BLOCK = 1024  # random slot draws made at once while the shuffle buffer is full


class Plan:
    """Rows ``arrays[k][i]`` in the order of the index chunks ``chunks()`` yields (a fresh
    iterator per iteration of the dataset). ``dtypes[k]``, when not None, is the NumPy
    dtype that array's gathered rows are converted to (arrays of narrow integers stay
    small and are widened a batch at a time)."""

    __slots__ = ("arrays", "chunks", "dtypes")

    def __init__(self, arrays, chunks, dtypes=None):
        self.arrays, self.chunks = arrays, chunks
        self.dtypes = dtypes or [None] * len(arrays)

    def derive(self, transform):
        """The same arrays, with ``transform(upstream chunk iterator)`` as the index
        stream."""
        up = self.chunks
        return Plan(self.arrays, lambda: transform(up()), self.dtypes)

    def with_chunks(self, chunks):
        return Plan(self.arrays, chunks, self.dtypes)

    def _gather(self, idx):
        return [a[idx] if d is None else a[idx].astype(d)
                for a, d in zip(self.arrays, self.dtypes)]

    def rows(self):
        for idx in rechunk(self.chunks(), ROW_CHUNK, False):
            cols = self._gather(idx)
            for i in range(len(idx)):
                yield [c[i, ...] for c in cols]

    def batches(self, size, drop_remainder):
        for idx in rechunk(self.chunks(), size, drop_remainder):
            yield self._gather(idx)


def rechunk(chunks, size, drop_remainder):
    """Index chunks of exactly ``size`` (the last may be shorter unless dropped)."""
    pending, have = [], 0
    for c in chunks:
        if not len(c):
            continue
        if not pending and len(c) == size:
            yield c
            continue
        pending.append(c)
        have += len(c)
        while have >= size:
            joined = np.concatenate(pending) if len(pending) > 1 else pending[0]
            yield joined[:size]
            rest = joined[size:]
            pending, have = ([rest], len(rest)) if len(rest) else ([], 0)
    if have and not drop_remainder:
        yield np.concatenate(pending) if len(pending) > 1 else pending[0]


def slice_chunks(chunks, start, stop, step):
    """The positions ``start:stop:step`` of an index stream (``stop`` None: to the end)."""
    pos = 0
    for c in chunks:
        n = len(c)
        if stop is not None and pos >= stop:
            return
        lo = start - pos if start > pos else (-(pos - start)) % step
        hi = n if stop is None else min(n, stop - pos)
        if lo < hi:
            yield c[lo:hi:step]
        pos += n


def slice_elements(elements, start, stop, step):
    return itertools.islice(elements, start, stop, step)


def repeat_stream(make, count):
    """``make()`` (a fresh iterator) ``count`` times, forever when ``count`` is None (but
    not when a pass is empty: an empty dataset repeated stays empty)."""
    it = itertools.count() if count is None else range(count)
    for _ in it:
        empty = True
        for x in make():
            empty = False
            yield x
        if empty:
            return


def buffer_shuffle(items, buffer_size, rng):
    """tf.data's shuffle: fill a buffer with the first ``buffer_size`` items, then output a
    uniformly chosen slot and refill it with the next item; when the input ends, drain the
    buffer in random order. Output position k therefore holds an item from input positions
    < k + buffer_size."""
    items = iter(items)
    buf = list(itertools.islice(items, buffer_size))
    full = len(buf) == buffer_size
    while full:
        draws = rng.integers(0, buffer_size, _DRAW_BLOCK).tolist()
        for j in draws:
            nxt = next(items, _END)
            if nxt is _END:
                full = False
                out = buf[j]
                buf[j] = buf[-1]
                buf.pop()
                yield out
                break
            yield buf[j]
            buf[j] = nxt
    while buf:
        j = int(rng.integers(0, len(buf)))
        out = buf[j]
        buf[j] = buf[-1]
        buf.pop()
        yield out


_END = object()


def shuffle_chunks(chunks, buffer_size, rng):
    """An index stream shuffled with ``buffer_shuffle``'s semantics, a chunk at a time in
    NumPy: step k of a chunk outputs the slot ``j[k]`` drawn for it, which holds the input
    of the chunk's last earlier step that drew the same slot, or else what the buffer held
    when the chunk began (a stable sort by slot finds those steps)."""
    buf = np.empty(0, np.int64)
    for c in chunks:
        if len(buf) < buffer_size:
            take = buffer_size - len(buf)
            buf, c = np.concatenate([buf, c[:take]]), c[take:]
        if len(c):
            out, buf = _buffer_steps(buf, c, rng.integers(0, buffer_size, len(c)))
            yield out
    if len(buf):
        yield buf[rng.permutation(len(buf))]


def _buffer_steps(buf, inputs, slots):
    order = np.argsort(slots, kind="stable")
    by_slot = slots[order]
    same = by_slot[1:] == by_slot[:-1]  # consecutive steps (in time) that drew one slot
    prev = np.full(len(slots), -1, np.int64)
    prev[order[1:][same]] = order[:-1][same]
    out = np.where(prev >= 0, inputs[prev], buf[slots])
    last = np.ones(len(slots), bool)
    last[:-1] = ~same
    buf = buf.copy()
    buf[by_slot[last]] = inputs[order[last]]
    return out, buf
