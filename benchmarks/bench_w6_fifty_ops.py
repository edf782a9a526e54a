"""W6: a 50-op elementwise function: first call (trace + compile + run) and steady state.

Targets: jg.function's first call >= 10% faster than jax.jit's first call; steady state at
least as fast as tf.function. First calls use a fresh function object and a new constant
each time, so no in-memory cache helps; jitgraph's first call is measured with an empty
on-disk compile cache ("cold") and with the entry already on disk ("disk cache hit", what a
second process sees).

    python benchmarks/bench_w6_fifty_ops.py [--quick]
"""

import os
import statistics
import tempfile

import numpy as np
from common import (
    Row,
    Timing,
    add_jitgraph,
    add_peers,
    check,
    first_call,
    guarded,
    main_for,
    peer,
    table,
)

import jitgraph as jg

TITLE = "W6 50-op elementwise function, 1M float32"
TARGET = "first call >= 1.1x jax.jit's first call; steady state >= 1.0x tf.function"


_STEPS = ["x * 1.0001", "x + C", "m.tanh(x)", "x - 0.25", "m.sin(x)", "x * x",
          "m.sqrt(x + 1.0)", "x / 1.5", "m.abs(x)", "m.exp(-x)"]
_SOURCE = "def f(x):\n" + "".join(
    "    x = %s\n" % _STEPS[i % len(_STEPS)] for i in range(50)) + "    return x\n"


def fifty(m, c=0.5):
    """50 elementwise ops cycling through a few kinds, as straight-line source code (what a
    user writes; every peer compiles the same text). c makes each instance distinct."""
    namespace = {"m": m, "C": c}
    exec(compile(_SOURCE, "<w6 fifty ops>", "exec"), namespace)
    return namespace["f"]


def _first_calls(make, trials):
    return [first_call(lambda i=i: make(0.5 + 1e-3 * (i + 1))) for i in range(trials)]


def _row(impl, times, note=""):
    med = statistics.median(times)
    return Row(impl, Timing(med, min(times), (max(times) - min(times)) / med, len(times)),
               note=note)


def first_call_rows(x, trials):
    rows = []
    with tempfile.TemporaryDirectory() as d:
        old = os.environ.get("JITGRAPH_CACHE_DIR")
        os.environ["JITGRAPH_CACHE_DIR"] = d
        try:
            for b in (["cpu"] if "cpu" in jg.backends.names() else []) + ["interpreter"]:
                def make(c, b=b):
                    return jg.function(fifty(jg, c), backend=b)(x)
                try:
                    rows.append(_row("jg.function[%s] first call, cold" % b,
                                     _first_calls(make, trials)))
                    if b == "cpu":  # same graphs again: a new Function, entries on disk
                        rows.append(_row("jg.function[cpu] first call, disk cache hit",
                                         _first_calls(make, trials)))
                except Exception as e:
                    rows.append(Row("jg.function[%s] first call" % b, None,
                                    note="%s: %s" % (type(e).__name__, str(e)[:120])))
        finally:
            if old is None:
                del os.environ["JITGRAPH_CACHE_DIR"]
            else:
                os.environ["JITGRAPH_CACHE_DIR"] = old
    jax = peer("jax")
    if jax:
        xj = jax.device_put(x)
        rows.append(_row("jax.jit first call", _first_calls(
            lambda c: jax.block_until_ready(jax.jit(fifty(jax.numpy, c))(xj)), trials)))
    tf = peer("tensorflow")
    if tf:
        xt = tf.constant(x)
        rows.append(_row("tf.function first call", _first_calls(
            lambda c: tf.function(fifty(tf.math, c))(xt), trials)))
        rows.append(_row("tf.function(jit_compile) first call", _first_calls(
            lambda c: tf.function(fifty(tf.math, c), jit_compile=True)(xt), trials)))
    return rows


def run(quick=False):
    n = 100_000 if quick else 1_000_000
    x = np.random.default_rng(0).uniform(-1, 1, n).astype(np.float32)
    out = [table(TITLE.replace("1M", "%gM" % (n / 1e6)) + ": first call",
                 first_call_rows(x, 3 if quick else 5), "jax.jit first call", TARGET)]
    rows, results = [], {}
    f_np = fifty(np)
    results["numpy eager"] = f_np(x)
    work = 2 * 4 * n
    rows.append(guarded("numpy eager", lambda: f_np(x), work, "GB/s"))
    add_jitgraph(rows, results, fifty(jg), [x], work, "GB/s")
    add_peers(rows, results, {
        "numba parallel": ("numba", lambda nb: nb.njit(parallel=True)(fifty(np))),
        "jax.jit": ("jax", lambda jax: jax.jit(fifty(jax.numpy))),
        "tf.function": ("tensorflow", lambda tf: tf.function(fifty(tf.math))),
        "tf.function(jit_compile)": ("tensorflow", lambda tf: tf.function(
            fifty(tf.math), jit_compile=True)),
    }, [x], work, "GB/s")
    check(rows, results, close=1e-4)
    out.append(table(TITLE.replace("1M", "%gM" % (n / 1e6)) + ": steady state", rows,
                     "tf.function", TARGET))
    return "\n".join(out)


if __name__ == "__main__":
    main_for(run)
