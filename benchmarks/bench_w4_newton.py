"""W4: elementwise Newton iteration for sqrt of 1M float32 with a data-dependent while loop
(iterate until every element is converged), compiled as one native loop.

Target: jg.function >= 1.5x jax.jit with jax.lax.while_loop.

    python benchmarks/bench_w4_newton.py [--quick]
"""

import numpy as np
from common import add_jitgraph, add_peers, check, guarded, main_for, table

import jitgraph as jg

TITLE = "W4 Newton sqrt with a data-dependent while loop, 1M float32"
TARGET = "jg.function >= 1.5x jax.jit (lax.while_loop)"
TOL = 1e-5


def newton_jg(a):
    x = a
    while jg.reduce_max(jg.abs(x * x - a) / a) > TOL:  # AutoGraph turns this into while_loop
        x = 0.5 * (x + a / x)
    return x


def newton_np(a):
    x = a
    while np.max(np.abs(x * x - a) / a) > TOL:
        x = 0.5 * (x + a / x)
    return x


def newton_jax(jax):
    jnp = jax.numpy

    def f(a):
        def cond(x):
            return jnp.max(jnp.abs(x * x - a) / a) > TOL

        return jax.lax.while_loop(cond, lambda x: 0.5 * (x + a / x), a)

    return jax.jit(f)


def newton_tf(tf):
    @tf.function(jit_compile=True)
    def f(a):
        x = a
        while tf.reduce_max(tf.abs(x * x - a) / a) > TOL:
            x = 0.5 * (x + a / x)
        return x

    return f


def newton_numba(nb):
    @nb.njit(parallel=True, fastmath=True)
    def f(a):
        x = a.copy()
        while True:
            err = np.float32(0.0)
            for i in nb.prange(a.size):
                err = max(err, abs(x[i] * x[i] - a[i]) / a[i])
            if err <= TOL:
                return x
            for i in nb.prange(a.size):
                x[i] = np.float32(0.5) * (x[i] + a[i] / x[i])

    return f


def run(quick=False):
    n = 100_000 if quick else 1_000_000
    a = np.random.default_rng(0).uniform(1, 100, n).astype(np.float32)
    rows, results = [], {"numpy eager": newton_np(a)}
    rows.append(guarded("numpy eager", lambda: newton_np(a)))
    add_jitgraph(rows, results, newton_jg, [a])
    add_peers(rows, results, {"numba parallel": ("numba", newton_numba),
                              "jax.jit": ("jax", newton_jax),
                              "tf.function(jit_compile)": ("tensorflow", newton_tf)}, [a])
    check(rows, results, close=1e-5)
    return table(TITLE.replace("1M", "%gM" % (n / 1e6)), rows, "jax.jit", TARGET)


if __name__ == "__main__":
    main_for(run)
