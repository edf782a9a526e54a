"""Functions to inspect with the jitgraph command, e.g.

    jitgraph show examples/cli_example.py:bias_tanh "float32[None,3], float32[3]"
    jitgraph show examples/cli_example.py:newton_sqrt "float64[4]" --dot
"""

import jitgraph as jg


@jg.function
def bias_tanh(x, b):
    """A fusable elementwise chain with a broadcast bias, then a row reduction."""
    y = jg.tanh(x + b) * 0.5 + 1.0
    return jg.reduce_sum(y * y, axis=1)


@jg.function
def newton_sqrt(a):
    """Elementwise Newton iterations to a tolerance: a tensor-dependent while loop."""
    x = a
    while jg.reduce_max(jg.abs(x * x - a)) > 1e-6:
        x = 0.5 * (x + a / x)
    return x


def scale(x, k):
    """A plain function: the command wraps it in jg.function; `k` is a Python value."""
    return x * k
