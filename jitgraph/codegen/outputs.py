"""Output arrays of compiled calls: fresh to the caller, recycled memory underneath.

A compiled call returns new arrays that belong to the caller. Allocating a large one with
``np.empty`` means ``mmap`` of fresh pages, and the kernel that writes it then takes one page
fault per 4 KiB: for a 64 MiB softmax output that is ~8 ms of a ~4 ms kernel on these
machines. TensorFlow and XLA avoid it with a caching allocator; this is ours.

Large outputs (``MIN_BYTES`` and up) are views into *blocks*, raw byte arrays that the pool
keeps a reference to; each starts 64-byte aligned at a page offset chosen to keep a kernel's
stores from 4K-aliasing its loads (``_PAGE_OFFSETS``). A block is in use while anything
else references it (the output array, a Tensor holding it, a view of it: NumPy keeps the
block as the ``base`` of every view), so a block is free again exactly when its reference
count is back to the pool's own.
No finalizers, no hooks: the next allocation of a similar size looks for a free block.

Bounded: at most ``MAX_BLOCKS`` blocks are tracked and at most ``$JITGRAPH_OUTPUT_POOL_MB``
(default 256) MiB of free blocks are kept; beyond that free blocks are released to the
allocator, and new blocks past the count are not tracked (plain ``np.empty`` behaviour).
``JITGRAPH_OUTPUT_POOL_MB=0`` switches the pool off. ``release()`` drops every free block.

    out = outputs.empty((4096, 4096), np.float32)
"""

import os
import sys

import numpy as np

MIN_BYTES = 1 << 20  # below this glibc's heap and NumPy's cache already reuse memory
MAX_BLOCKS = 32
_ALIGN = 64
_PAGE = 4096
# Where in its 4 KiB page each new block's array starts, in turn. NumPy's large arrays start
# 16 bytes into a page (glibc's mmap header); an output starting 64 bytes in made a kernel's
# stores 4K-alias the loads of its inputs: the W1 chain, one thread, 16.6 ms with the output
# at page offset 64 vs 9.4-10.3 ms at 1088, 2112 or 3136 (streaming stores; 12.4 vs 9.3 ms
# plain). Successive blocks take different offsets, so an output fed to the next call is
# not aliased by that call's output either.
_PAGE_OFFSETS = (1088, 2112, 3136, 1600, 2624, 3648)
_made = [0]

_blocks = []  # raw uint8 arrays; free when only this list (and the scan) refers to them
_offsets = {}  # id(block) -> where its array starts (64-byte aligned, at a _PAGE_OFFSETS offset)
_limit = None
_getrefcount = sys.getrefcount
_np_empty = np.empty
_ndarray = np.ndarray
_FREE_REFS = 3  # the list, the loop variable, getrefcount's argument


def _free_limit():
    global _limit
    if _limit is None:
        try:
            _limit = int(float(os.environ.get("JITGRAPH_OUTPUT_POOL_MB", "256")) * (1 << 20))
        except ValueError:
            _limit = 256 << 20
    return _limit


def empty(shape, dtype):
    """An uninitialized array the caller owns, like ``np.empty(shape, dtype)``."""
    fn, args = allocator(shape, dtype)
    return fn(*args)


def allocator(shape, dtype):
    """(callable, args) allocating an array of ``shape``: the pool for large ones,
    ``np.empty`` for the rest (the dispatchers decide once per compiled shape)."""
    dtype = np.dtype(dtype)
    nbytes = dtype.itemsize
    for d in shape:
        nbytes *= d
    if nbytes >= MIN_BYTES:
        return pooled, (tuple(shape), dtype, nbytes)
    return _np_empty, (tuple(shape), dtype)


def pooled(shape, dtype, nbytes):
    """``empty`` for ``nbytes >= MIN_BYTES`` (the dispatcher calls it directly when the size
    is known when compiling)."""
    limit = _limit if _limit is not None else _free_limit()
    if not limit:
        return _np_empty(shape, dtype)
    need = nbytes + _PAGE
    best = _find(need)
    if best is None:
        best = _new_block(need, limit)
    return _ndarray(shape, dtype, buffer=best, offset=_offsets[id(best)])


def _find(need):
    """The smallest free block of need..2*need bytes, or None."""
    best = None
    for b in _blocks:
        if _getrefcount(b) == _FREE_REFS and need <= b.size <= 2 * need and (
                best is None or b.size < best.size):
            best = b
    return best


def _free_blocks():
    # in the comprehension: the list, the comprehension variable, getrefcount's argument
    return [b for b in _blocks if _getrefcount(b) == _FREE_REFS]


def _new_block(need, limit):
    free = _free_blocks()
    kept = sum(b.size for b in free)
    for b in sorted(free, key=lambda b: -b.size):  # release the largest first
        if kept + need <= limit:
            break
        kept -= b.size
        _untrack(b)
    del free
    if len(_blocks) >= MAX_BLOCKS:
        free = _free_blocks()
        _untrack(free[0] if free else _blocks[0])  # an untracked used block is the caller's
        del free
    b = _np_empty(need, np.uint8)
    target = _PAGE_OFFSETS[_made[0] % len(_PAGE_OFFSETS)]
    _made[0] += 1
    _offsets[id(b)] = (target - b.ctypes.data) % _PAGE
    _blocks.append(b)
    return b


def _untrack(x):
    for i, b in enumerate(_blocks):
        if b is x:
            del _blocks[i]
            del _offsets[id(x)]
            return


def release():
    """Releases every free block to the allocator (used blocks stay tracked)."""
    for b in _free_blocks():
        _untrack(b)


def stats():
    """``{"blocks", "free_blocks", "bytes", "free_bytes"}`` of the pool now."""
    free = _free_blocks()
    return {"blocks": len(_blocks), "free_blocks": len(free),
            "bytes": sum(b.size for b in _blocks), "free_bytes": sum(b.size for b in free)}


__all__ = ["empty", "pooled", "allocator", "release", "stats", "MIN_BYTES", "MAX_BLOCKS"]
