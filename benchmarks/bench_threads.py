"""Threading configurations of the cpu backend compared in one process: W3 (MLP step),
W4 (Newton while loop), W1 (elementwise chain), W9 (sum of squares).

Configurations (each workload compiled once per configuration, samples interleaved
round-robin so that load changes hit every configuration alike, with a pause before each
sample so that OpenBLAS workers still spinning from the previous configuration's GEMMs do
not slow the next one):

- ``per-call threads``: kernels split by threads created per kernel call (the backend
  before the worker pool; ``llvm_cpu._emit_parallel``), BLAS with its 2 threads
- ``pool``: the persistent worker pool (``codegen.threadpool``), BLAS with its 2 threads
  (``linalg.BLAS_PAR_MIN = linalg.POOL_GEMM_MIN = 0``)
- ``pool, gemm 1 thread``: the pool; GEMMs below ``linalg.BLAS_PAR_MIN`` on one BLAS thread
- ``pool + gemm policy``: the default: the pool; 2-D GEMMs of ``linalg.POOL_GEMM_MIN`` to
  ``linalg.BLAS_PAR_MIN`` multiply-adds split by rows across the pool (one BLAS thread per
  slice), smaller ones on one BLAS thread, larger ones on BLAS's own threads
- ``1 thread``: kernels on one thread (``loops.N_THREADS = 1``), BLAS with 1 thread

    python benchmarks/bench_threads.py [--quick] [--rounds N] [--only W3,W4]

Prints median ms per call and each configuration's speed-up over ``per-call threads``.
"""

import argparse
import os
import statistics
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))

import jitgraph as jg  # noqa: E402
from jitgraph.codegen import blas, linalg, llvm_cpu, loops, threadpool  # noqa: E402

CONFIGS = ("per-call threads", "pool", "pool, gemm 1 thread", "pool + gemm policy", "1 thread")
BLAS_THREADS = {"per-call threads": 2, "pool": 2, "pool, gemm 1 thread": 2,
                "pool + gemm policy": 2, "1 thread": 1}


def compile_with(config, fn, args):
    """Compile ``fn`` for ``args`` under ``config``'s code-generation choices."""
    saved = threadpool.declare, loops.N_THREADS, linalg.BLAS_PAR_MIN, linalg.POOL_GEMM_MIN
    if config == "per-call threads":
        threadpool.declare = llvm_cpu._emit_parallel
    if config in ("per-call threads", "pool"):
        linalg.BLAS_PAR_MIN = linalg.POOL_GEMM_MIN = 0
    if config == "pool, gemm 1 thread":
        linalg.POOL_GEMM_MIN = 0
    if config == "1 thread":
        loops.N_THREADS = 1
    try:
        f = jg.function(fn, backend="cpu")
        f(*args)
        return f
    finally:
        threadpool.declare, loops.N_THREADS, linalg.BLAS_PAR_MIN, linalg.POOL_GEMM_MIN = saved


def workloads(quick):
    from bench_w1_elementwise import chain
    from bench_w4_newton import newton_jg
    from train_step import init_params, make_data, make_step

    rng = np.random.default_rng(0)
    n = 1_000_000 if quick else 10_000_000
    x = rng.uniform(-3, 3, n).astype(np.float32)
    y = rng.uniform(-3, 3, n).astype(np.float32)
    a = rng.uniform(1, 100, 100_000 if quick else 1_000_000).astype(np.float32)
    xb, yb = make_data(256)
    xt, yt = jg.constant(xb), jg.constant(yb)

    def w3(config):
        step = make_step([jg.Variable(p) for p in init_params()])
        return compile_with(config, step, (xt, yt)), (xt, yt)

    return {
        "W3": w3,
        "W4": lambda c: (compile_with(c, newton_jg, (a,)), (a,)),
        "W1": lambda c: (compile_with(c, chain(jg), (x, y)), (x, y)),
        "W9": lambda c: (compile_with(c, lambda t: jg.reduce_sum(t * t), (x,)), (x,)),
    }


def sample(f, args, blas_threads, min_time=0.05):
    blas.set_threads_local(blas_threads)
    calls, t0 = 0, time.perf_counter()
    while True:
        f(*args)
        calls += 1
        dt = time.perf_counter() - t0
        if dt >= min_time:
            return dt / calls


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--only", default="W3,W4,W1,W9")
    args = ap.parse_args()
    print("load average %.2f %.2f %.2f, %d cores" % (os.getloadavg() + (os.cpu_count(),)))
    wl = workloads(args.quick)
    print("| workload | " + " | ".join(CONFIGS) + " |")
    print("|---" * (len(CONFIGS) + 1) + "|")
    for name in args.only.split(","):
        built = {c: wl[name](c) for c in CONFIGS}
        times = {c: [] for c in CONFIGS}
        for _ in range(args.rounds):
            for c in CONFIGS:
                f, fargs = built[c]
                time.sleep(0.15)  # let the previous configuration's OpenBLAS workers go idle
                times[c].append(sample(f, fargs, BLAS_THREADS[c]))
        blas.set_threads_local(2)
        med = {c: statistics.median(times[c]) for c in CONFIGS}
        base = med[CONFIGS[0]]
        cells = ["%.2f ms (%.2fx)" % (med[c] * 1e3, base / med[c]) for c in CONFIGS]
        print("| %s | %s |" % (name, " | ".join(cells)), flush=True)


if __name__ == "__main__":
    main()
