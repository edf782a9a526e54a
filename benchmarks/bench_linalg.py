"""Matrix factorizations and solves (jg.linalg): a batch of 64 solves and Cholesky
factorizations of 64x64 float32 matrices, 1024 inverses of 8x8, and one 512x512 solve;
the decompositions eigh, svd and qr of 256 x (16x16) float32 matrices and of one 256x256;
jg.function against numpy.linalg (LAPACK), tf.function and jax.jit. (eigh and svd are
checked by sign-free results: eigenvalues and |V|, singular values and |U|.)

jitgraph runs one sequential factorization per matrix (codegen/linalg_kernels.py), the
matrices of a batch in parallel on the worker pool; a single large matrix runs on one
core, where LAPACK's blocked, multithreaded LU is far ahead. eigh and svd call LAPACK
from 16 columns up (codegen/linalg_decomp.py, LAPACK_MIN), their own Jacobi kernels below.

    python benchmarks/bench_linalg.py [--quick]
"""

import numpy as np
from common import add_jitgraph, add_peers, check, guarded, main_for, table

import jitgraph as jg


def _eigh(lib):
    def f(x):
        e, v = lib.linalg.eigh(x)
        return e, abs(v)

    return f


def _svd_jg(x):
    s, u, _ = jg.linalg.svd(x)
    return s, abs(u)


def _svd_np(x):
    u, s, _ = np.linalg.svd(x, full_matrices=False)
    return s, np.abs(u)


def _svd_tf(tf):
    def f(x):
        s, u, _ = tf.linalg.svd(x)
        return s, tf.abs(u)

    return tf.function(f)


def _svd_jax(jax):
    def f(x):
        u, s, _ = jax.numpy.linalg.svd(x, full_matrices=False)
        return s, abs(u)

    return jax.jit(f)


DECOMP = {  # name: (jitgraph, numpy, tf maker, jax maker)
    "eigh": (_eigh(jg), _eigh(np), lambda tf: tf.function(_eigh(tf)),
             lambda jax: jax.jit(_eigh(jax.numpy))),
    "svd": (_svd_jg, _svd_np, _svd_tf, _svd_jax),
    "qr": (jg.linalg.qr, np.linalg.qr, lambda tf: tf.function(tf.linalg.qr),
           lambda jax: jax.jit(jax.numpy.linalg.qr)),
}


def _decomp_section(title, name, x):
    jgf, npf, tff, jaxf = DECOMP[name]
    rows, results = [], {"numpy.linalg": npf(x)}
    rows.append(guarded("numpy.linalg", lambda: npf(x)))
    add_jitgraph(rows, results, jgf, [x])
    add_peers(rows, results, {"tf.function": ("tensorflow", tff), "jax.jit": ("jax", jaxf)},
              [x])
    check(rows, results, close=2e-3)
    return table(title, rows, "jg.function[cpu]")


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
    out += ["", "## Decompositions: eigh, svd, qr (float32)", ""]
    nb, nd, one = (32, 8, 64) if quick else (256, 16, 256)
    sym = rng.normal(size=(nb, nd, nd)).astype(np.float32)
    sym = sym + np.swapaxes(sym, -1, -2)
    sym1 = rng.normal(size=(one, one)).astype(np.float32)
    sym1 = sym1 + sym1.T
    gen = rng.normal(size=(nb, nd, nd)).astype(np.float32)
    gen1 = rng.normal(size=(one, one)).astype(np.float32)
    mid_b, mid_n = (8, 24) if quick else (32, 48)  # above the cpu's LAPACK crossover
    mid = rng.normal(size=(mid_b, mid_n, mid_n)).astype(np.float32)
    mid_sym = mid + np.swapaxes(mid, -1, -2)
    for name, batch_x, mid_x, one_x in [("eigh", sym, mid_sym, sym1), ("svd", gen, mid, gen1),
                                        ("qr", gen, mid, gen1)]:
        out.append(_decomp_section(f"{name}, {nb} x ({nd}x{nd})", name, batch_x))
        out.append(_decomp_section(f"{name}, {mid_b} x ({mid_n}x{mid_n})", name, mid_x))
        out.append(_decomp_section(f"{name}, one {one}x{one}", name, one_x))
    return "\n".join(out)


if __name__ == "__main__":
    main_for(run)
