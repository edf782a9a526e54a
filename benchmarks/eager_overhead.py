"""Eager overhead: jitgraph eager vs NumPy (and TensorFlow eager, the peer, when installed) on
small inputs, where per-op Python cost dominates.

    python benchmarks/eager_overhead.py [--no-tf]

Times (median of repeated timeit runs, in one process) ``x + 1`` and ``x * y`` on 3-element
float32 tensors, ``reduce_sum`` and ``matmul`` on 64x64, and one GradientTape training step
of a small MLP-like model (matmul + relu + reduce_mean, gradient with respect to 2
variables), each against the same computation written in NumPy (the step with a hand-written
backward pass), and prints the ratios jitgraph / NumPy and jitgraph / TensorFlow.
"""

import os
import statistics
import sys
import timeit

import numpy as np

import jitgraph as jg


def median_time(fn, number, repeat=7):
    return statistics.median(timeit.repeat(fn, number=number, repeat=repeat)) / number


def _tape_model(lib, xb, w0, b0):
    x = lib.constant(xb)
    w, b = lib.Variable(w0), lib.Variable(b0)

    def step():
        with lib.GradientTape() as tape:
            loss = lib.reduce_mean(lib.nn.relu(lib.matmul(x, w) + b))
        return tape.gradient(loss, [w, b])

    return step


def cases(tf=None):
    """(name, number of calls per sample, jitgraph fn, NumPy fn, TensorFlow fn or None)."""
    rng = np.random.RandomState(0)
    v3 = np.array([1.0, 2.0, 3.0], np.float32)
    m64 = rng.randn(64, 64).astype(np.float32)
    xb = rng.randn(8, 4).astype(np.float32)
    w0 = rng.randn(4, 3).astype(np.float32)
    b0 = np.zeros(3, np.float32)
    x, m = jg.constant(v3), jg.constant(m64)
    one = np.float32(1)
    tx = tm = None
    if tf is not None:
        tx, tm = tf.constant(v3), tf.constant(m64)

    def np_step():
        z = xb @ w0 + b0
        h = np.maximum(z, 0)
        loss = h.mean()
        gh = np.full(h.shape, 1.0 / h.size, np.float32) * (z > 0)
        return loss, xb.T @ gh, gh.sum(axis=0)

    jg_step = _tape_model(jg, xb, w0, b0)
    gw, gb = jg_step()
    _, rw, rb = np_step()
    np.testing.assert_allclose(gw.numpy(), rw, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(gb.numpy(), rb, rtol=1e-5, atol=1e-7)
    tf_step = _tape_model(tf, xb, w0, b0) if tf is not None else None
    return [
        ("x + 1 (3 floats)", 20000, lambda: x + 1, lambda: v3 + one,
         tf and (lambda: tx + 1)),
        ("x * y (3 floats)", 20000, lambda: x * x, lambda: v3 * v3,
         tf and (lambda: tx * tx)),
        ("reduce_sum 64x64", 5000, lambda: jg.reduce_sum(m), lambda: np.sum(m64),
         tf and (lambda: tf.reduce_sum(tm))),
        ("matmul 64x64", 3000, lambda: jg.matmul(m, m), lambda: m64 @ m64,
         tf and (lambda: tf.matmul(tm, tm))),
        ("GradientTape step", 1000, jg_step, np_step, tf_step),
    ]


def main():
    tf = None
    if "--no-tf" not in sys.argv:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        try:
            import tensorflow as tf
        except Exception:  # absent or broken: no peer column
            tf = None
    head = f"{'benchmark':<20}{'jitgraph eager':>16}{'NumPy':>12}{'jg/NumPy':>10}"
    print(head + (f"{'TF eager':>12}{'jg/TF':>8}" if tf is not None else ""))
    for name, n, f_jg, f_np, f_tf in cases(tf):
        t_jg, t_np = median_time(f_jg, n), median_time(f_np, n * 5 if n < 5000 else n)
        line = f"{name:<20}{t_jg * 1e6:>13.2f} us{t_np * 1e6:>9.2f} us{t_jg / t_np:>9.1f}x"
        if f_tf is not None:
            t_tf = median_time(f_tf, max(n // 10, 100))
            line += f"{t_tf * 1e6:>9.2f} us{t_jg / t_tf:>7.2f}x"
        print(line)


if __name__ == "__main__":
    main()
