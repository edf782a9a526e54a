"""W9: reduce_sum(x * x) over 10M float32 (a pure read-bandwidth reduction).

Target: jg.function at least as fast as jax.jit.

    python benchmarks/bench_w9_sumsq.py [--quick]
"""

import numpy as np
from common import add_jitgraph, add_peers, check, guarded, main_for, table

import jitgraph as jg

TITLE = "W9 reduce_sum(x*x), 10M float32"
TARGET = "jg.function >= 1.0x jax.jit"


def numba_sumsq(nb):
    @nb.njit(parallel=True, fastmath=True)
    def f(x):
        s = np.float32(0.0)
        for i in nb.prange(x.size):
            s += x[i] * x[i]
        return s

    return f


def run(quick=False):
    n = 1_000_000 if quick else 10_000_000
    x = np.random.default_rng(0).standard_normal(n).astype(np.float32)
    work = 4 * n
    rows, results = [], {}
    results["numpy eager"] = np.sum(x * x)
    rows.append(guarded("numpy eager", lambda: np.sum(x * x), work, "GB/s"))
    rows.append(guarded("numpy dot (hand-optimized)", lambda: np.dot(x, x), work, "GB/s"))
    add_jitgraph(rows, results, lambda t: jg.reduce_sum(t * t), [x], work, "GB/s")
    add_peers(rows, results, {
        "numba parallel": ("numba", numba_sumsq),
        "jax.jit": ("jax", lambda jax: jax.jit(lambda t: jax.numpy.sum(t * t))),
        "tf.function(jit_compile)": ("tensorflow", lambda tf: tf.function(
            lambda t: tf.reduce_sum(t * t), jit_compile=True)),
    }, [x], work, "GB/s")
    check(rows, results, close=1e-4)
    return table(TITLE.replace("10M", "%gM" % (n / 1e6)), rows, "jax.jit", TARGET)


if __name__ == "__main__":
    main_for(run)
