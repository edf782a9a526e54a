"""The cpu backend's persistent worker pool (jitgraph/codegen/threadpool.py): large kernels
split across the pool agree with NumPy when called many times from several Python threads,
reductions combine every slice, BLAS thread counts are restored after GEMMs, and a
process with a live pool (asleep or spinning) exits cleanly, also after fork."""

import ctypes
import subprocess
import sys
import textwrap
import threading

import numpy as np
import pytest

import jitgraph as jg
from jitgraph.codegen import blas, loops, threadpool

N = 3 * loops.PAR_MIN + 17  # split across the pool, slices of unequal length


def _elementwise(x, y):
    return jg.tanh(x * y + 1.0) * 0.5 + x * x - y / (1.0 + jg.exp(-x))


def _ref(x, y):
    x, y = x.astype(np.float64), y.astype(np.float64)
    return np.tanh(x * y + 1.0) * 0.5 + x * x - y / (1.0 + np.exp(-x))


def _data(seed, n=N):
    rng = np.random.default_rng(seed)
    return (rng.uniform(-2, 2, n).astype(np.float32), rng.uniform(-2, 2, n).astype(np.float32))


def test_pool_symbol_is_called_by_large_kernels():
    f = jg.function(_elementwise, backend="cpu")
    x, y = _data(0)
    llvm_text = f.get_concrete_function(x, y).explain("llvm")
    assert threadpool.SYMBOL in llvm_text
    assert "pthread_create" not in llvm_text
    np.testing.assert_allclose(f(x, y).numpy(), _ref(x, y), rtol=2e-5, atol=2e-5)


@pytest.mark.parametrize("spin", [0, threadpool.SPIN])
def test_many_calls_from_several_python_threads(spin):
    """Workers that sleep at once (spin 0) and that spin first; every call is checked."""
    f = jg.function(_elementwise, backend="cpu")
    g = jg.function(lambda x: jg.reduce_sum(x * x), backend="cpu")
    h = jg.function(lambda x: jg.reduce_max(x, axis=1), backend="cpu")
    inputs = [_data(s) for s in range(4)]
    m = np.random.default_rng(9).standard_normal((4096, 97)).astype(np.float32)
    f(*inputs[0]), g(inputs[0][0]), h(m)  # compile before the threads start
    old = threadpool.set_spin(spin)
    errors = []

    def worker(k):
        x, y = inputs[k]
        want_f, want_g = _ref(x, y), np.sum(x.astype(np.float64) ** 2)
        try:
            for _ in range(25):
                np.testing.assert_allclose(f(x, y).numpy(), want_f, rtol=2e-5, atol=2e-5)
                np.testing.assert_allclose(float(g(x)), want_g, rtol=1e-4)
                np.testing.assert_array_equal(h(m).numpy(), m.max(axis=1))
        except Exception as e:  # reported by the main thread
            errors.append(e)

    try:
        threads = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        threadpool.set_spin(old)
    assert not errors, errors[0]


def test_partial_results_of_every_slice_are_combined():
    # a full reduction whose slices hold different extremes: a lost slice changes the result
    x = np.zeros(N, np.float32)
    x[N - 1] = 7.0  # in the last slice (a worker's)
    x[0] = -5.0  # in the first slice (the caller's)
    fmax = jg.function(lambda t: jg.reduce_max(t), backend="cpu")
    fmin = jg.function(lambda t: jg.reduce_min(t), backend="cpu")
    fsum = jg.function(lambda t: jg.reduce_sum(t), backend="cpu")
    for _ in range(50):
        assert float(fmax(x)) == 7.0
        assert float(fmin(x)) == -5.0
        assert float(fsum(x)) == 2.0


def test_gemm_restores_blas_thread_count():
    a = np.random.default_rng(1).standard_normal((64, 32)).astype(np.float32)
    b = np.random.default_rng(2).standard_normal((32, 48)).astype(np.float32)
    f = jg.function(lambda p, q: jg.nn.relu(jg.matmul(p, q)) + 1.0, backend="cpu")
    before = blas.set_threads_local(2)
    try:
        np.testing.assert_allclose(f(a, b).numpy(), np.maximum(a @ b, 0) + 1.0, rtol=1e-5,
                                   atol=1e-5)
        # the small GEMM ran with 1 thread, then restored 2 (None: BLAS without the knob)
        assert blas.set_threads_local(2) == (2 if blas.threads_local_address() else None)
    finally:
        blas.set_threads_local(before)


_EXIT_SCRIPT = textwrap.dedent("""
    import os, sys, numpy as np, jitgraph as jg
    from jitgraph.codegen import loops, threadpool
    threadpool.set_spin(int(sys.argv[1]))
    x = np.arange(3 * loops.PAR_MIN, dtype=np.float32)
    f = jg.function(lambda t: jg.reduce_sum(t * 2.0), backend="cpu")
    assert float(f(x)) == float((x.astype(np.float64) * 2).sum())
    if sys.argv[2] == "fork":
        pid = os.fork()
        if pid == 0:  # the child has no workers: its pool starts afresh
            ok = float(f(x)) == float((x.astype(np.float64) * 2).sum())
            os._exit(0 if ok else 3)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0, status
    print("done", flush=True)
""")


@pytest.mark.parametrize("spin,fork", [(0, "no"), (10**9, "no"), (0, "fork")])
def test_process_exits_cleanly_with_pool_alive(spin, fork):
    """Workers asleep (spin 0) or still spinning (huge spin) when the interpreter exits."""
    p = subprocess.run([sys.executable, "-c", _EXIT_SCRIPT, str(spin), fork],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr[-2000:]
    assert p.stdout.strip() == "done"


@pytest.mark.parametrize("ta", [False, True])
@pytest.mark.parametrize("tb", [False, True])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gemm_split_across_the_pool(ta, tb, dtype):
    """GEMMs between linalg.POOL_GEMM_MIN and BLAS_PAR_MIN multiply-adds are split by rows of
    C across the pool (odd row count: unequal slices), with transposes, from 2 threads."""
    from jitgraph.codegen import linalg

    m, k, n = 301, 257, 129
    assert linalg.POOL_GEMM_MIN <= m * k * n < linalg.BLAS_PAR_MIN
    rng = np.random.default_rng(3)
    a = rng.standard_normal((k, m) if ta else (m, k)).astype(dtype)
    b = rng.standard_normal((n, k) if tb else (k, n)).astype(dtype)
    f = jg.function(lambda p, q: jg.matmul(p, q, transpose_a=ta, transpose_b=tb) * 2.0,
                    backend="cpu")
    assert "jg_gemm_slice" in f.get_concrete_function(a, b).explain("llvm")
    want = 2.0 * ((a.T if ta else a).astype(np.float64) @ (b.T if tb else b))
    tol = 1e-4 if dtype == np.float32 else 1e-10
    results = []

    def worker():
        results.extend(f(a, b).numpy() for _ in range(10))

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 20
    for r in results:
        np.testing.assert_allclose(r, want, rtol=tol, atol=tol * 10)


def test_contended_pool_covers_every_index_once():
    """jg_pool_parallel called directly from 4 threads without the GIL: callers that find
    the pool busy run the range themselves, the others share chunks; every call covers
    [0, n) exactly once, and with a partial array (reductions) each chunk c gets slot c."""
    kfn = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64,
                           ctypes.c_int64, ctypes.c_void_p)
    par = ctypes.CFUNCTYPE(None, kfn, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64,
                           ctypes.c_void_p, ctypes.c_int64)(threadpool.install())
    T = threadpool.n_threads()
    errors = []

    def caller(k):
        n = 1000 + 37 * k
        for use_partial in (False, True) * 5:
            seen = np.zeros(n, np.int64)
            part = np.zeros(T, np.int64)

            def body(slots, params, lo, hi, p, seen=seen, part=part, use_partial=use_partial):
                seen[lo:hi] += 1
                if use_partial:
                    slot = (p - part.ctypes.data) // 8
                    part[slot] += hi - lo  # a "partial result": the chunk's length

            cb = kfn(body)
            par(cb, None, None, n, part.ctypes.data if use_partial else None, 8)
            if not (seen == 1).all() or (use_partial and part.sum() != n):
                errors.append((k, use_partial, np.unique(seen), part))

    threads = [threading.Thread(target=caller, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors[:2]
