"""Device memory of the cuda backend: a caching pool over the driver's allocations.

``cuMemAlloc`` costs tens of microseconds and ``cuMemFree`` waits for the device, and a
``jg.function(backend="cuda")`` call allocates its uploaded inputs and its outputs every
time. So, as PyTorch's and CuPy's allocators do, a dropped allocation is not freed: its
memory goes back to the pool, keyed by its size class, and the next request of that class
gets it without a driver call. Reuse is safe in stream order: every launch and copy of the
backend goes to the default stream, so work enqueued after the reuse runs after the work
that used the memory before.

    pool = MemoryPool(raw_alloc, raw_free)   # raw_alloc(nbytes) -> object, int() = address
    buf = pool.alloc(1000)              # a Block: int(buf) is the device address
    del buf                             # its memory is cached, not freed
    pool.stats()                        # {"hits", "misses", "cached_bytes", ...}

Size classes: multiples of 512 bytes below 1 MiB, of 2 MiB above (``exact=True``: the
requested size, for the emulator's out-of-bounds guards). The pool keeps at most
``JITGRAPH_CUDA_POOL_MB`` (default 1024) MiB of cached blocks; beyond it dropped blocks are
freed. When the driver reports no memory the cache is emptied and the request retried.
"""

import os
import threading

from .. import errors

SMALL = 1 << 20
SMALL_STEP = 512
LARGE_STEP = 2 << 20


def size_class(nbytes, exact=False):
    n = max(int(nbytes), 1)
    if exact:
        return n
    step = SMALL_STEP if n < SMALL else LARGE_STEP
    return (n + step - 1) // step * step


def _limit_from_env():
    try:
        return int(float(os.environ.get("JITGRAPH_CUDA_POOL_MB", "1024")) * (1 << 20))
    except ValueError:
        return 1024 << 20


class Block:
    """Device memory handed out by a MemoryPool; ``int(block)`` is its address. Dropping
    the last reference returns the memory to the pool."""

    __slots__ = ("raw", "size", "nbytes", "addr", "_pool")

    def __init__(self, pool, raw, size, nbytes):
        self.raw, self.size, self.nbytes, self._pool = raw, size, nbytes, pool
        self.addr = int(raw)

    def __int__(self):
        return self.addr

    __index__ = __int__

    def __del__(self):
        pool = self._pool
        if pool is not None:
            try:
                pool._release(self.raw, self.size)
            except Exception:  # interpreter shutdown: the pool may be half torn down
                pass


class MemoryPool:
    """See the module docstring. ``raw_free(raw)`` frees memory the pool lets go of (None:
    dropping the object frees it); ``on_reuse(raw, size)`` runs when cached memory is
    handed out again (the emulator poisons it).

    Memory is freed explicitly, not left to the collector: a Block collected as part of a
    reference cycle gives its memory back from ``__del__``, after the collector has
    already cleared weak references to it."""

    def __init__(self, raw_alloc, raw_free=None, limit_bytes=None, exact=False,
                 on_reuse=None):
        self.raw_alloc, self.raw_free = raw_alloc, raw_free
        self.exact, self.on_reuse = exact, on_reuse
        self.limit = _limit_from_env() if limit_bytes is None else int(limit_bytes)
        self.free = {}  # size class -> [raw allocation]
        self.cached = 0
        self.hits = self.misses = 0
        self._lock = threading.Lock()

    def alloc(self, nbytes):
        size = size_class(nbytes, self.exact)
        raw = None
        with self._lock:
            blocks = self.free.get(size)
            if blocks:
                raw = blocks.pop()
                self.cached -= size
                self.hits += 1
        if raw is None:
            self.misses += 1
            raw = self._fresh(size)
        elif self.on_reuse is not None:
            self.on_reuse(raw, size)
        return Block(self, raw, size, int(nbytes))

    def _fresh(self, size):
        try:
            return self.raw_alloc(size)
        except Exception as first:  # pycuda's MemoryError is its own class
            if not self.cached:
                raise errors.ResourceExhaustedError(
                    f"the GPU has no {size} bytes free ({first}); drop device tensors that "
                    f"are no longer needed or use smaller batches") from first
        self.empty()
        try:
            return self.raw_alloc(size)
        except Exception as e:
            raise errors.ResourceExhaustedError(
                f"the GPU has no {size} bytes free, even after freeing the cached blocks "
                f"({e}); drop device tensors that are no longer needed or use smaller "
                f"batches") from e

    def _release(self, raw, size):
        with self._lock:
            if self.cached + size <= self.limit:
                self.free.setdefault(size, []).append(raw)
                self.cached += size
                return
        if self.raw_free is not None:
            self.raw_free(raw)

    def empty(self):
        """Frees every cached block."""
        with self._lock:
            blocks = [raw for v in self.free.values() for raw in v]
            self.free.clear()
            self.cached = 0
        if self.raw_free is not None:
            for raw in blocks:
                self.raw_free(raw)

    def stats(self):
        with self._lock:
            return {"hits": self.hits, "misses": self.misses, "cached_bytes": self.cached,
                    "cached_blocks": sum(len(v) for v in self.free.values()),
                    "limit_bytes": self.limit}


__all__ = ["MemoryPool", "Block", "size_class"]
