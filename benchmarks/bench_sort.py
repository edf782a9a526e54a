"""Sorting: jg.sort and jg.math.top_k (k=10) of a 1000x1000 float32 matrix along the last
axis, against np.sort / np.argpartition, tf.function and jax.jit where installed.

jitgraph (codegen/sorting.py) sorts each row with a merge sort of integer keys (a full sort
on the cpu) or a heap over (key, index) pairs kept k long (top_k: O(n log k)); rows run on
the worker pool.

    python benchmarks/bench_sort.py [--quick]
"""

import numpy as np
from common import add_jitgraph, add_peers, check, guarded, main_for, table

import jitgraph as jg

K = 10


def np_top_k(x, k=K):
    """The k largest of each row, largest first, and their indices (argpartition, then a
    sort of the k)."""
    part = np.argpartition(-x, k - 1, axis=-1)[:, :k]
    vals = np.take_along_axis(x, part, -1)
    idx = np.take_along_axis(part, np.argsort(-vals, -1, kind="stable"), -1)
    return np.take_along_axis(x, idx, -1), idx


def _sort_table(x, work):
    rows, results = [], {}
    results["numpy np.sort"] = np.sort(x, -1)
    rows.append(guarded("numpy np.sort", lambda: np.sort(x, -1), work, "GB/s"))
    rows.append(guarded("numpy np.sort(kind='stable')", lambda: np.sort(x, -1, kind="stable"),
                        work, "GB/s"))
    add_jitgraph(rows, results, lambda t: jg.sort(t), [x], work, "GB/s")
    add_peers(rows, results, {
        "jax.jit": ("jax", lambda jax: jax.jit(lambda t: jax.numpy.sort(t, -1))),
        "tf.function": ("tensorflow", lambda tf: tf.function(lambda t: tf.sort(t))),
    }, [x], work, "GB/s")
    check(rows, results, close=0)
    return rows


def _top_k_table(x, work):
    rows, results = [], {}
    results["numpy argpartition"] = np_top_k(x)
    rows.append(guarded("numpy argpartition", lambda: np_top_k(x), work, "GB/s"))
    add_jitgraph(rows, results, lambda t: tuple(jg.math.top_k(t, K)), [x], work, "GB/s")
    add_peers(rows, results, {
        "jax.jit(lax.top_k)": ("jax", lambda jax: jax.jit(lambda t: jax.lax.top_k(t, K))),
        "tf.function(math.top_k)": ("tensorflow", lambda tf: tf.function(
            lambda t: tuple(tf.math.top_k(t, K)))),
    }, [x], work, "GB/s")
    check(rows, results, close=0)
    return rows


def run(quick=False):
    n = 300 if quick else 1000
    x = np.random.default_rng(0).standard_normal((n, n)).astype(np.float32)
    work = 4 * n * n
    out = table(f"sort {n}x{n} float32 along the last axis", _sort_table(x, work),
                "numpy np.sort")
    out += "\n" + table(f"top_k (k={K}) {n}x{n} float32 along the last axis",
                        _top_k_table(x, work), "numpy argpartition")
    return out


if __name__ == "__main__":
    main_for(run)
