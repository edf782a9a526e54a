"""W2: row softmax of a 4096x4096 float32 matrix.

Target: jg.function at least as fast as tf.function (oneDNN softmax).

    python benchmarks/bench_w2_softmax.py [--quick]
"""

import numpy as np
from common import add_jitgraph, add_peers, check, guarded, main_for, table

import jitgraph as jg

TITLE = "W2 row softmax, 4096x4096 float32"
TARGET = "jg.function >= 1.0x tf.function"


def softmax_np(x):
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def numba_softmax(nb):
    @nb.njit(parallel=True, fastmath=True)
    def f(x):
        out = np.empty_like(x)
        for i in nb.prange(x.shape[0]):
            m = x[i].max()
            s = np.float32(0.0)
            for j in range(x.shape[1]):
                out[i, j] = np.exp(x[i, j] - m)
                s += out[i, j]
            out[i] /= s
        return out

    return f


def _three_kernels(x):
    """The cpu backend with row fusion switched off (max, sum of exp, normalize kernels):
    the figure before row fusion, measured in the same process."""
    from jitgraph.passes import fusion

    fusion.ROW_FUSION = False
    try:
        f = jg.function(lambda t: jg.nn.softmax(t, axis=-1), backend="cpu")
        t = jg.constant(x)
        f(t)  # compiled now, while the switch is off
    finally:
        fusion.ROW_FUSION = True
    return lambda: f(t)


def run(quick=False):
    n = 1024 if quick else 4096
    x = np.random.default_rng(0).standard_normal((n, n)).astype(np.float32) * 4
    work = 2 * 4 * n * n  # read once, write once
    rows, results = [], {}
    results["numpy eager"] = softmax_np(x)
    rows.append(guarded("numpy eager", lambda: softmax_np(x), work, "GB/s"))
    add_jitgraph(rows, results, lambda t: jg.nn.softmax(t, axis=-1), [x], work, "GB/s")
    rows.append(guarded("jg.function[cpu] without row fusion", _three_kernels(x), work, "GB/s"))
    add_peers(rows, results, {
        "numba parallel": ("numba", numba_softmax),
        "jax.jit": ("jax", lambda jax: jax.jit(lambda t: jax.nn.softmax(t, axis=-1))),
        "tf.function": ("tensorflow", lambda tf: tf.function(lambda t: tf.nn.softmax(t))),
        "tf.function(jit_compile)": ("tensorflow", lambda tf: tf.function(
            lambda t: tf.nn.softmax(t), jit_compile=True)),
    }, [x], work, "GB/s")
    check(rows, results, close=1e-5)
    return table(TITLE.replace("4096", str(n)), rows, "tf.function", TARGET)


if __name__ == "__main__":
    main_for(run)
