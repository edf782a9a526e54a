"""Special functions (jg.math.lgamma, digamma) on 10M float32 elements: jg.function (one
fused, vectorized kernel; codegen/special_math.py evaluates in float64) against NumPy/SciPy
(scipy.special.gammaln, digamma), tf.function and jax.jit.

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


def run(quick=False):
    n = 1_000_000 if quick else 10_000_000
    x = np.random.default_rng(0).uniform(0.0, 30.0, n).astype(np.float32)
    out = ["## Special functions (float32)", ""]
    out += [_section("lgamma", x), _section("digamma", x)]
    return "\n".join(out)


if __name__ == "__main__":
    main_for(run)
