"""Sequential loops with per-step outputs: an RNN-like ``jg.scan`` (h = tanh(h @ W + x_t)
over 1000 steps, hidden size 64) and a TensorArray write loop (1000 steps, each writing a
row of 100 float32), jg.function against tf.function (tf.scan / tf.TensorArray) and
jax.jit (lax.scan / lax.fori_loop with .at[i].set).

Each compiles to one native while loop; the TensorArray's writes store one row per step in
place (codegen/scatter_in_place.py), not a copy of the whole [1000, 100] buffer.

    python benchmarks/bench_scan.py [--quick]
"""

import numpy as np
from common import add_jitgraph, add_peers, check, guarded, main_for, table

import jitgraph as jg

TITLE = "Scan and TensorArray loops, %d steps"


# ----------------------------------------------------------------------------- RNN-like scan


def rnn_jg(xs, w):
    return jg.scan(lambda h, x: jg.tanh(jg.matmul(h[None], w)[0] + x), xs,
                   initializer=jg.zeros([xs.shape[1]]))


def rnn_np(xs, w):
    h, out = np.zeros(xs.shape[1], np.float32), []
    for x in xs:
        h = np.tanh(h @ w + x)
        out.append(h)
    return np.stack(out)


def rnn_tf(tf):
    @tf.function
    def f(xs, w):
        return tf.scan(lambda h, x: tf.tanh(tf.matmul(h[None], w)[0] + x), xs,
                       initializer=tf.zeros([xs.shape[1]]))

    return f


def rnn_jax(jax):
    jnp = jax.numpy

    def f(xs, w):
        def step(h, x):
            h = jnp.tanh(h @ w + x)
            return h, h

        return jax.lax.scan(step, jnp.zeros(xs.shape[1], xs.dtype), xs)[1]

    return jax.jit(f)


# ----------------------------------------------------------------------------- TensorArray


def rows_jg(x, n):
    ta = jg.TensorArray(jg.float32, size=n.shape[0])
    for i in jg.range(n.shape[0]):
        ta = ta.write(i, x * n[i])
    return ta.stack()


def rows_np(x, n):
    return np.stack([x * v for v in n])


def rows_tf(tf):
    @tf.function
    def f(x, n):
        ta = tf.TensorArray(tf.float32, size=n.shape[0])
        for i in tf.range(n.shape[0]):
            ta = ta.write(i, x * n[i])
        return ta.stack()

    return f


def rows_jax(jax):
    jnp = jax.numpy

    def f(x, n):
        out = jnp.zeros((n.shape[0], x.shape[0]), x.dtype)
        return jax.lax.fori_loop(0, n.shape[0], lambda i, o: o.at[i].set(x * n[i]), out)

    return jax.jit(f)


def _section(title, np_fn, jg_fn, peers, args):
    rows, results = [], {"numpy loop": np_fn(*args)}
    rows.append(guarded("numpy loop", lambda: np_fn(*args)))
    add_jitgraph(rows, results, jg_fn, args)
    add_peers(rows, results, peers, args)
    check(rows, results, close=1e-4)
    return table(title, rows, "jg.function[cpu]")


def run(quick=False):
    steps = 200 if quick else 1000
    rng = np.random.default_rng(0)
    xs = rng.normal(size=(steps, 64)).astype(np.float32)
    w = (rng.normal(size=(64, 64)) / 8).astype(np.float32)
    x = rng.normal(size=100).astype(np.float32)
    n = np.arange(steps, dtype=np.float32)
    out = ["## " + TITLE % steps, ""]
    out.append(_section("RNN-like scan h = tanh(h @ W + x_t), hidden 64", rnn_np, rnn_jg,
                        {"tf.function (tf.scan)": ("tensorflow", rnn_tf),
                         "jax.jit (lax.scan)": ("jax", rnn_jax)}, [xs, w]))
    out.append(_section("TensorArray write loop, rows of 100 float32", rows_np, rows_jg,
                        {"tf.function (tf.TensorArray)": ("tensorflow", rows_tf),
                         "jax.jit (fori_loop, .at[i].set)": ("jax", rows_jax)}, [x, n]))
    return "\n".join(out)


if __name__ == "__main__":
    main_for(run)
