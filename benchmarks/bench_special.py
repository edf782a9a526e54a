"""Special functions (jg.math.lgamma, digamma) on 10M float32 elements: jg.function (one
fused, vectorized kernel; codegen/special_math.py evaluates in float64) against NumPy/SciPy
(scipy.special.gammaln, digamma), tf.function and jax.jit; and the time the first call of
a jg.function of erfc and of its gradient takes (tracing, autodiff, passes, LLVM), with an
empty compile cache.

    python benchmarks/bench_special.py [--quick]
"""

import numpy as np
from common import add_jitgraph, add_peers, check, guarded, main_for, table

import jitgraph as jg

SCIPY = {"lgamma": "gammaln", "digamma": "digamma"}


def _section(name, x):
    import scipy.special

    ref = getattr(scipy.special, SCIPY[name])
    rows, results = [], {"scipy.special": ref(x)}
    rows.append(guarded("scipy.special", lambda: ref(x), x.size, "Gelem/s"))
    add_jitgraph(rows, results, getattr(jg.math, name), [x], x.size, "Gelem/s")
    add_peers(rows, results, {
        "tf.function": ("tensorflow", lambda tf: tf.function(getattr(tf.math, name))),
        "jax.jit": ("jax", lambda jax: jax.jit(getattr(jax.scipy.special, SCIPY[name])
                                               if name == "lgamma" else jax.scipy.special.digamma)),
    }, [x], x.size, "Gelem/s")
    check(rows, results, close=1e-5)
    return table(f"{name}, {x.size:,} float32 in (0, 30)", rows, "jg.function[cpu]")


def _first_call_seconds(fn, x):
    import os
    import tempfile
    import time

    before = os.environ.get("JITGRAPH_CACHE_DIR")
    with tempfile.TemporaryDirectory() as d:
        os.environ["JITGRAPH_CACHE_DIR"] = d  # nothing cached: the whole compilation
        try:
            f = jg.function(fn)
            t0 = time.perf_counter()
            f(x)
            return time.perf_counter() - t0
        finally:
            os.environ.pop("JITGRAPH_CACHE_DIR")
            if before is not None:
                os.environ["JITGRAPH_CACHE_DIR"] = before


def _erfc_gradient(x):
    with jg.GradientTape() as t:
        t.watch(x)
        y = jg.reduce_sum(jg.math.erfc(x) * x)
    return t.gradient(y, x)


def _compile_section():
    rows = ["| dtype | erfc (s) | gradient of sum(erfc(x) * x) (s) |", "|---|---|---|"]
    for dt in (np.float32, np.float64):
        x = np.linspace(-3.0, 6.0, 1000).astype(dt)
        rows.append(f"| {dt.__name__} | {_first_call_seconds(jg.math.erfc, x):.2f} | "
                    f"{_first_call_seconds(_erfc_gradient, x):.2f} |")
    return "\n".join(["### First call of a jg.function (trace + compile, empty cache)", ""]
                     + rows)


def run(quick=False):
    n = 1_000_000 if quick else 10_000_000
    x = np.random.default_rng(0).uniform(0.0, 30.0, n).astype(np.float32)
    out = ["## Special functions (float32)", ""]
    out += [_section("lgamma", x), _section("digamma", x), "", _compile_section()]
    return "\n".join(out)


if __name__ == "__main__":
    main_for(run)
