"""W8: Huber loss and its gradient w.r.t. the predictions on 1M float32
(GradientTape inside jg.function).

Target: jg.function at least as fast as a hand-fused Numba loop, and >= 2x jax.jit.

    python benchmarks/bench_w8_huber.py [--quick]
"""

import numpy as np
from common import add_jitgraph, add_peers, check, guarded, main_for, table

import jitgraph as jg

TITLE = "W8 Huber loss + gradient, 1M float32"
TARGET = "jg.function >= 1.0x hand-fused numba loop, >= 2x jax.jit"
DELTA = 1.0


def huber_jg(pred, target):
    with jg.GradientTape() as tape:
        tape.watch(pred)
        err = pred - target
        a = jg.abs(err)
        loss = jg.reduce_mean(jg.where(a <= DELTA, 0.5 * err * err, DELTA * (a - 0.5 * DELTA)))
    return loss, tape.gradient(loss, pred)


def huber_np(pred, target):
    err = pred - target
    a = np.abs(err)
    loss = np.mean(np.where(a <= DELTA, 0.5 * err * err, DELTA * (a - 0.5 * DELTA)))
    grad = np.where(a <= DELTA, err, DELTA * np.sign(err)) / np.float32(pred.size)
    return loss, grad


def huber_numba(nb):
    @nb.njit(parallel=True, fastmath=True)
    def f(pred, target):
        n = pred.size
        grad = np.empty_like(pred)
        total = 0.0
        inv = np.float32(1.0 / n)
        for i in nb.prange(n):
            e = pred[i] - target[i]
            a = abs(e)
            if a <= DELTA:
                total += 0.5 * e * e
                grad[i] = e * inv
            else:
                total += DELTA * (a - 0.5 * DELTA)
                grad[i] = (DELTA if e > 0 else -DELTA) * inv
        return np.float32(total / n), grad

    return f


def huber_jax(jax):
    jnp = jax.numpy

    def loss(pred, target):
        err = pred - target
        a = jnp.abs(err)
        return jnp.mean(jnp.where(a <= DELTA, 0.5 * err * err, DELTA * (a - 0.5 * DELTA)))

    return jax.jit(jax.value_and_grad(loss))


def huber_tf(tf):
    @tf.function(jit_compile=True)
    def f(pred, target):
        with tf.GradientTape() as tape:
            tape.watch(pred)
            err = pred - target
            a = tf.abs(err)
            loss = tf.reduce_mean(tf.where(a <= DELTA, 0.5 * err * err,
                                           DELTA * (a - 0.5 * DELTA)))
        return loss, tape.gradient(loss, pred)

    return f


def run(quick=False):
    n = 100_000 if quick else 1_000_000
    rng = np.random.default_rng(0)
    pred = rng.standard_normal(n).astype(np.float32) * 2
    target = rng.standard_normal(n).astype(np.float32)
    work = 3 * 4 * n  # read pred, target; write the gradient
    rows, results = [], {"numpy eager": huber_np(pred, target)}
    rows.append(guarded("numpy eager", lambda: huber_np(pred, target), work, "GB/s"))
    add_jitgraph(rows, results, huber_jg, [pred, target], work, "GB/s")
    add_peers(rows, results, {
        "numba parallel (hand-fused loop)": ("numba", huber_numba),
        "jax.jit": ("jax", huber_jax),
        "tf.function(jit_compile)": ("tensorflow", huber_tf),
    }, [pred, target], work, "GB/s")
    check(rows, results, close=1e-4)
    return table(TITLE.replace("1M", "%gM" % (n / 1e6)), rows,
                 "numba parallel (hand-fused loop)", TARGET)


if __name__ == "__main__":
    main_for(run)
