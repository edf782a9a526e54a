"""Throughput of jitgraph.codegen.vecmath functions in a one-thread vectorized loop over an
in-cache float32/float64 array (compute bound), next to NumPy's ufunc on the same array.

    python benchmarks/bench_vecmath.py [--quick]
"""

import os
import sys

import numpy as np
from common import Row, main_for, measure, table

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "tests"))
import test_vecmath  # noqa: E402  (compiles one kernel per function)

TITLE = "vecmath throughput, 16K-element arrays in cache, 1 thread (Gelem/s)"
NUMPY = {"exp": np.exp, "log": np.log, "tanh": np.tanh, "sin": np.sin, "expm1": np.expm1,
         "log1p": np.log1p}


def run(quick=False):
    rows = []
    n = 16384
    for dtype in ("float32", "float64"):
        x = np.random.default_rng(0).uniform(0.1, 3, n).astype(dtype)
        for name in ("exp", "expm1", "log", "log1p", "tanh", "sigmoid", "sin", "erf"):
            test_vecmath.run(name, dtype, x)
            kernel = test_vecmath._KERNELS[name, dtype, 16 if dtype == "float32" else 8]
            out = np.empty_like(x)
            px, po = x.ctypes.data, out.ctypes.data
            rows.append(Row("vecmath %s %s" % (name, dtype),
                            measure(lambda k=kernel, a=px, o=po: k(a, a, o, n), repeat=9),
                            n, "Gelem/s"))
            if name in NUMPY:
                f = NUMPY[name]
                rows.append(Row("numpy %s %s" % (name, dtype),
                                measure(lambda f=f, a=x, o=out: f(a, out=o), repeat=9), n,
                                "Gelem/s"))
    return table(TITLE, rows)


if __name__ == "__main__":
    main_for(run)
