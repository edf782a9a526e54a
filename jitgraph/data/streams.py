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
    iterator per iteration of the dataset)."""

    __slots__ = ("arrays", "chunks")

    def __init__(self, arrays, chunks):
        self.arrays, self.chunks = arrays, chunks

    def derive(self, transform):
        """The same arrays, with ``transform(upstream chunk iterator)`` as the index
        stream."""
        up = self.chunks
        return Plan(self.arrays, lambda: transform(up()))

    def rows(self):
        arrays = self.arrays
        for idx in rechunk(self.chunks(), ROW_CHUNK, False):
            cols = [a[idx] for a in arrays]
            for i in range(len(idx)):
                yield [c[i, ...] for c in cols]

    def batches(self, size, drop_remainder):
        arrays = self.arrays
        for idx in rechunk(self.chunks(), size, drop_remainder):
            yield [a[idx] for a in arrays]


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


def shuffle_chunks(chunks, buffer_size, rng, known_total):
    """An index stream shuffled with ``buffer_shuffle``'s semantics; when the buffer holds
    the whole stream (``known_total`` <= ``buffer_size``) that is a uniform permutation,
    drawn in one call."""
    if known_total is not None and known_total <= buffer_size:
        parts = list(chunks)
        if not parts:
            return
        idx = np.concatenate(parts) if len(parts) > 1 else parts[0]
        yield idx[rng.permutation(len(idx))]
        return
    shuffled = buffer_shuffle((i for c in chunks for i in c.tolist()), buffer_size, rng)
    while True:
        block = list(itertools.islice(shuffled, ROW_CHUNK))
        if not block:
            return
        yield np.array(block, np.int64)
