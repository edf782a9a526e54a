"""W1: fused elementwise chain tanh(x*y + 1)*0.5 + x*x - y/(1 + exp(-x)) on 10M float32.

Target: jg.function >= 1.5x TensorFlow+XLA and >= 20x NumPy eager.

    python benchmarks/bench_w1_elementwise.py [--quick]
"""

import numpy as np
from common import Row, add_jitgraph, add_peers, check, guarded, main_for, ratio, table

import jitgraph as jg

TITLE = "W1 fused elementwise chain, 10M float32"
TARGET = "jg.function >= 1.5x tf.function(jit_compile=True), >= 20x NumPy eager"


def chain(m):
    """The workload, written once against a namespace m (jg, np, jnp, tf.math)."""
    return lambda x, y: m.tanh(x * y + 1.0) * 0.5 + x * x - y / (1.0 + m.exp(-x))


def run(quick=False):
    n = 1_000_000 if quick else 10_000_000
    rng = np.random.default_rng(0)
    x = rng.uniform(-3, 3, n).astype(np.float32)
    y = rng.uniform(-3, 3, n).astype(np.float32)
    work = 3 * 4 * n  # read x, y; write the result
    rows, results = [], {}
    f_np = chain(np)
    results["numpy eager"] = f_np(x, y)
    rows.append(guarded("numpy eager", lambda: f_np(x, y), work, "GB/s"))
    add_jitgraph(rows, results, chain(jg), [x, y], work, "GB/s")
    add_peers(rows, results, {
        "numba parallel": ("numba", lambda nb: nb.njit(parallel=True, fastmath=False)(chain(np))),
        "jax.jit": ("jax", lambda jax: jax.jit(chain(jax.numpy))),
        "tf.function(jit_compile)": ("tensorflow",
                                     lambda tf: tf.function(chain(tf.math), jit_compile=True)),
        "tf.function": ("tensorflow", lambda tf: tf.function(chain(tf.math))),
    }, [x, y], work, "GB/s")
    check(rows, results, close=1e-5)
    return table(TITLE, rows, "numpy eager", TARGET) + summary(rows)


def summary(rows: list[Row]):
    best = next((r.impl for r in rows if r.impl.startswith("jg.function") and r.timing), None)
    if best is None:
        return "\n(no jg.function measurement)\n"
    out = ["", "%s vs:" % best]
    for peer in ("numpy eager", "tf.function(jit_compile)", "jax.jit", "numba parallel"):
        r = ratio(rows, best, peer)
        if r is not None:
            out.append("- %s: %.2fx (median), %.2fx (best)" % (peer, r,
                                                               ratio(rows, best, peer, True)))
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    main_for(run)
