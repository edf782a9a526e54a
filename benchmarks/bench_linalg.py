"""Matrix factorizations and solves (jg.linalg): a batch of 64 solves and Cholesky
factorizations of 64x64 float32 matrices, 1024 inverses of 8x8, and one 512x512 solve;
jg.function against numpy.linalg (LAPACK), tf.function and jax.jit.

jitgraph runs one sequential factorization per matrix (codegen/linalg_kernels.py), the
matrices of a batch in parallel on the worker pool; a single large matrix runs on one
core, where LAPACK's blocked, multithreaded LU is far ahead.

    python benchmarks/bench_linalg.py [--quick]
"""

import numpy as np
from common import add_jitgraph, add_peers, check, guarded, main_for, table

import jitgraph as jg


def _spd(rng, batch, n):
    a = rng.normal(size=(batch, n, n))
    return (a @ np.swapaxes(a, -1, -2) + n * np.eye(n)).astype(np.float32)


def _wc(rng, batch, n):
    return (rng.normal(size=(batch, n, n)) + 2 * np.sqrt(n) * np.eye(n)).astype(np.float32)


def _tf(name):
    def make(tf):
        fn = {"solve": tf.linalg.solve, "cholesky": tf.linalg.cholesky,
              "inv": tf.linalg.inv}[name]
        return tf.function(fn)

    return make


def _jax(name):
    def make(jax):
        jnp = jax.numpy
        fn = {"solve": jnp.linalg.solve, "cholesky": jnp.linalg.cholesky,
              "inv": jnp.linalg.inv}[name]
        return jax.jit(fn)

    return make


JG = {"solve": jg.linalg.solve, "cholesky": jg.linalg.cholesky, "inv": jg.linalg.inv}
NP = {"solve": np.linalg.solve, "cholesky": np.linalg.cholesky, "inv": np.linalg.inv}


def _section(title, name, args, flops):
    rows, results = [], {"numpy.linalg": NP[name](*args)}
    rows.append(guarded("numpy.linalg", lambda: NP[name](*args), flops, "GFLOP/s"))
    add_jitgraph(rows, results, JG[name], args, flops, "GFLOP/s")
    add_peers(rows, results, {"tf.function": ("tensorflow", _tf(name)),
                              "jax.jit": ("jax", _jax(name))}, args, flops, "GFLOP/s")
    check(rows, results, close=1e-3)
    return table(title, rows, "jg.function[cpu]")


def run(quick=False):
    rng = np.random.default_rng(0)
    batch, n, big = (16, 32, 128) if quick else (64, 64, 512)
    a, s = _wc(rng, batch, n), _spd(rng, batch, n)
    b = rng.normal(size=(batch, n, 8)).astype(np.float32)
    small = _wc(rng, 1024, 8)
    a1, b1 = _wc(rng, 1, big)[0], rng.normal(size=(big, 1)).astype(np.float32)
    out = ["## Linear algebra: factorizations and solves (float32)", ""]
    out.append(_section(f"solve, {batch} x ({n}x{n}), 8 right-hand sides", "solve", [a, b],
                        batch * (2 / 3 * n**3 + 2 * n * n * 8)))
    out.append(_section(f"cholesky, {batch} x ({n}x{n})", "cholesky", [s],
                        batch * n**3 / 3))
    out.append(_section("inv, 1024 x (8x8)", "inv", [small], 1024 * 2 * 8**3))
    out.append(_section(f"solve, one {big}x{big}, 1 right-hand side", "solve", [a1, b1],
                        2 / 3 * big**3))
    return "\n".join(out)


if __name__ == "__main__":
    main_for(run)
