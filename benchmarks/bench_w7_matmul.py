"""W7: matmul 1024^3 and 2048^3 float32, and which BLAS generated code should call.

Target: jg.function >= 0.9x numpy.matmul GFLOP/s. Also measures the two GEMM sources
of jitgraph.codegen.blas (NumPy's OpenBLAS via CBLAS ILP64, SciPy's via the Fortran ABI)
through ctypes, which is how codegen.blas's preference was chosen.

    python benchmarks/bench_w7_matmul.py [--quick]
"""

import numpy as np
from common import add_jitgraph, add_peers, check, guarded, main_for, table

import jitgraph as jg
from jitgraph.codegen import blas

TITLE = "W7 matmul %d^3 float32"
TARGET = "jg.function >= 0.9x numpy.matmul"


def run(quick=False):
    out = []
    for n in ((512,) if quick else (1024, 2048)):
        rng = np.random.default_rng(n)
        a = rng.standard_normal((n, n)).astype(np.float32)
        b = rng.standard_normal((n, n)).astype(np.float32)
        flops = 2.0 * n**3
        kw = dict(repeat=7, min_sample=0.05)
        rows, results = [], {"numpy.matmul": a @ b}
        rows.append(guarded("numpy.matmul", lambda a=a, b=b: a @ b, flops, "GFLOP/s", **kw))
        for src in sorted(blas.sources()):
            impl = "codegen.blas %s (ctypes)" % src
            results[impl] = blas.call(a, b, source=src)
            rows.append(guarded(impl, lambda a=a, b=b, s=src: blas.call(a, b, source=s), flops,
                                "GFLOP/s", **kw))
        add_jitgraph(rows, results, jg.matmul, [a, b], flops, "GFLOP/s", **kw)
        add_peers(rows, results, {
            "numba njit (np.dot)": ("numba", lambda nb: nb.njit(lambda x, y: np.dot(x, y))),
            "jax.jit": ("jax", lambda jax: jax.jit(lambda x, y: x @ y)),
            "tf.function(jit_compile)": ("tensorflow", lambda tf: tf.function(
                lambda x, y: tf.matmul(x, y), jit_compile=True)),
            "tf.function": ("tensorflow", lambda tf: tf.function(lambda x, y: tf.matmul(x, y))),
        }, [a, b], flops, "GFLOP/s", **kw)
        check(rows, results, close=1e-3)
        out.append(table(TITLE % n, rows, "numpy.matmul", TARGET))
    return "\n".join(out)


if __name__ == "__main__":
    main_for(run)
