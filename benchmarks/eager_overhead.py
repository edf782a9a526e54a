"""Eager overhead: jitgraph eager vs NumPy on tiny inputs, where per-op Python cost dominates.

    python benchmarks/eager_overhead.py

Times (median of repeated timeit runs) ``x + 1`` on a 3-element float32 tensor and one
GradientTape training step of a small MLP-like model (matmul + relu + reduce_mean, gradient
with respect to 2 variables), each against the same computation written in NumPy (the step
with a hand-written backward pass), and prints the ratios.
"""

import statistics
import timeit

import numpy as np

import jitgraph as jg


def median_time(fn, number, repeat=7):
    return statistics.median(timeit.repeat(fn, number=number, repeat=repeat)) / number


def bench_add():
    x = jg.constant([1.0, 2.0, 3.0])
    a = np.array([1.0, 2.0, 3.0], np.float32)
    t_jg = median_time(lambda: x + 1, 20000)
    t_np = median_time(lambda: a + np.float32(1), 20000)
    return t_jg, t_np


def bench_tape_step():
    rng = np.random.RandomState(0)
    xb = rng.randn(8, 4).astype(np.float32)
    w0 = rng.randn(4, 3).astype(np.float32)
    b0 = np.zeros(3, np.float32)
    x = jg.constant(xb)
    w, b = jg.Variable(w0), jg.Variable(b0)

    def jg_step():
        with jg.GradientTape() as tape:
            loss = jg.reduce_mean(jg.nn.relu(jg.matmul(x, w) + b))
        return tape.gradient(loss, [w, b])

    def np_step():
        z = xb @ w0 + b0
        h = np.maximum(z, 0)
        loss = h.mean()
        gh = np.full(h.shape, 1.0 / h.size, np.float32) * (z > 0)
        return loss, xb.T @ gh, gh.sum(axis=0)

    gw, gb = jg_step()
    _, rw, rb = np_step()
    np.testing.assert_allclose(gw.numpy(), rw, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(gb.numpy(), rb, rtol=1e-5, atol=1e-7)
    return median_time(jg_step, 1000), median_time(np_step, 5000)


def main():
    rows = [("x + 1 (3 floats)", *bench_add()), ("GradientTape step", *bench_tape_step())]
    print(f"{'benchmark':<22}{'jitgraph eager':>16}{'NumPy':>12}{'ratio':>9}")
    for name, t_jg, t_np in rows:
        print(f"{name:<22}{t_jg * 1e6:>13.2f} us{t_np * 1e6:>9.2f} us{t_jg / t_np:>8.1f}x")


if __name__ == "__main__":
    main()
