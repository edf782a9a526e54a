"""The cuda backend's caching device-memory pool (cuda_memory.py): reuse by size class,
the cache limit, retry after the driver runs out of memory, and, on the emulator, calls
that stop allocating after the first and reused memory poisoned again."""

import gc
import itertools

import numpy as np
import pytest

import jitgraph as jg
from jitgraph import errors
from jitgraph.codegen import cuda_driver
from jitgraph.codegen.cuda_memory import MemoryPool, size_class


class _Raw:
    _next = itertools.count(1 << 20, 1 << 24)

    def __init__(self, n):
        self.n, self.addr = n, next(_Raw._next)

    def __int__(self):
        return self.addr


class _Device:
    """A raw allocator with a byte budget (live raw allocations count against it)."""

    def __init__(self, budget=1 << 40):
        self.budget, self.live = budget, {}

    def alloc(self, n):
        if sum(r.n for r in self.live.values()) + n > self.budget:
            raise MemoryError(f"out of memory allocating {n}")
        r = _Raw(n)
        self.live[r.addr] = r
        return _Tracked(self, r)


class _Tracked(_Raw):
    def __init__(self, dev, r):
        self.n, self.addr, self.dev = r.n, r.addr, dev

    def __del__(self):
        self.dev.live.pop(self.addr, None)


def test_size_classes():
    assert [size_class(n) for n in (0, 1, 512, 513, (1 << 20) - 1)] == \
        [512, 512, 512, 1024, 1 << 20]
    assert [size_class(n) for n in (1 << 20, (2 << 20) + 1)] == [2 << 20, 4 << 20]
    assert size_class(1000, exact=True) == 1000


def test_dropped_memory_is_reused_within_its_size_class():
    pool = MemoryPool(_Raw, limit_bytes=1 << 30)
    a = pool.alloc(1000)
    addr = int(a)
    del a
    b = pool.alloc(900)  # the same 1024-byte class
    assert int(b) == addr and b.nbytes == 900
    c = pool.alloc(5000)  # another class: fresh
    assert int(c) != addr
    assert pool.stats()["hits"] == 1 and pool.stats()["misses"] == 2


def test_the_limit_bounds_the_cache():
    pool = MemoryPool(_Raw, limit_bytes=0)
    a = pool.alloc(100)
    addr = int(a)
    del a
    assert pool.stats()["cached_bytes"] == 0 and int(pool.alloc(100)) != addr
    pool = MemoryPool(_Raw, limit_bytes=1024)
    blocks = [pool.alloc(512) for _ in range(3)]
    del blocks
    assert pool.stats()["cached_bytes"] == 1024 and pool.stats()["cached_blocks"] == 2


def test_memory_the_pool_lets_go_of_is_freed_explicitly():
    freed = []
    pool = MemoryPool(_Raw, freed.append, limit_bytes=512)
    a, b = pool.alloc(512), pool.alloc(512)
    addrs = [int(a), int(b)]
    del a, b  # the first is cached, the second over the limit: freed
    assert [int(r) for r in freed] == addrs[1:]
    pool.empty()
    assert sorted(int(r) for r in freed) == sorted(addrs)


def test_out_of_memory_frees_the_cache_and_retries():
    dev = _Device(budget=4096)
    pool = MemoryPool(dev.alloc, limit_bytes=1 << 30)
    a, b = pool.alloc(2048), pool.alloc(2048)
    del a, b  # both cached: the device is full
    c = pool.alloc(3000)  # another class: the cache is emptied, then it fits
    assert c.size == 3072 and pool.stats()["cached_bytes"] == 0
    with pytest.raises(errors.ResourceExhaustedError, match="no 2048 bytes free"):
        pool.alloc(2048)


@pytest.fixture
def emulator():
    before = cuda_driver.use("emulator")
    yield cuda_driver.get()
    cuda_driver.use(before)


def test_repeated_calls_stop_allocating(emulator):
    f = jg.function(lambda x: jg.reduce_sum(jg.exp(x), axis=1) + 1.0, backend="cuda")
    x = np.random.randn(40, 300).astype(np.float32)
    for _ in range(2):
        f(x)
    gc.collect()
    before = emulator.pool.stats()["misses"]
    for _ in range(5):
        np.testing.assert_allclose(f(x).numpy(), np.exp(x).sum(1) + 1, rtol=1e-5)
    assert emulator.pool.stats()["misses"] == before


def test_reused_memory_is_poisoned_again(emulator):
    a = emulator.alloc(64)
    emulator.htod(a, np.zeros(16, np.float32))
    addr = int(a)
    del a
    b = emulator.alloc(64)
    assert int(b) == addr
    assert (emulator.dtoh(np.zeros(64, np.uint8), b) == 0xFF).all()
