"""W5: dispatch overhead: x + 1 on a float32 scalar and on a 3-vector.

Target: jg.function at most 1 microsecond per call.

    python benchmarks/bench_w5_dispatch.py
"""

import numpy as np
from common import add_jitgraph, add_peers, guarded, main_for, table

TITLE = "W5 dispatch, x + 1"
TARGET = "jg.function <= 1 us per call"


def plus_one(x):
    return x + 1.0


def run(quick=False):
    out = []
    for label, x in (("float32 scalar", np.array(1.5, np.float32)),
                     ("float32[3]", np.array([1.0, 2.0, 3.0], np.float32))):
        rows, results = [], {}
        rows.append(guarded("numpy eager", lambda x=x: x + np.float32(1.0), min_sample=0.05))
        add_jitgraph(rows, results, plus_one, [x], min_sample=0.05)
        add_peers(rows, results, {
            "numba njit": ("numba", lambda nb: nb.njit(plus_one)),
            "jax.jit": ("jax", lambda jax: jax.jit(plus_one)),
            "tf.function": ("tensorflow", lambda tf: tf.function(plus_one)),
        }, [x], min_sample=0.05)
        out.append(table("%s, %s" % (TITLE, label), rows, "numpy eager", TARGET))
    return "\n".join(out)


if __name__ == "__main__":
    main_for(run)
