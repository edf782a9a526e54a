"""Image resizing and augmentation on a batch of 32x224x224x3 float32 images:

- bilinear resize to 112x112 and to 448x448 (TensorFlow's half-pixel numerics, no
  antialiasing): jg.image.resize compiled (per-axis tap tables applied with gather, see
  jitgraph/image/resize.py) vs tf.image.resize in tf.function vs jax.image.resize
  (antialias=False) in jax.jit; the three results are checked against each other;
- an augmentation stack, RandomFlip("horizontal") + RandomRotation(0.1) + RandomContrast(0.2),
  with training=True: jg.keras layers in jg.function vs tf.keras layers in tf.function
  (random numbers differ; only the shapes are compared). JAX has no such layers.

    python benchmarks/bench_image.py [--quick]
"""

import numpy as np
from common import Row, check, main_for, measure, peer, table, unavailable

import jitgraph as jg

BATCH, SIZE = 32, 224


def _row(rows, results, impl, fn):
    try:
        results[impl] = np.asarray(fn())
        rows.append(Row(impl, measure(fn, repeat=9, max_time=10.0)))
    except Exception as e:  # a failing implementation is reported, not fatal
        rows.append(unavailable(impl, "%s: %s" % (type(e).__name__, str(e)[:160])))
        results[impl] = None


def resize_rows(x, out):
    rows, results = [], {}
    xt = jg.constant(x)
    f = jg.function(lambda a: jg.image.resize(a, [out, out]))
    _row(rows, results, "jg.function[cpu]", lambda: f(xt))
    tf = peer("tensorflow")
    if tf is None:
        rows.append(unavailable("tf.function", "tensorflow not installed"))
    else:
        g = tf.function(lambda a: tf.image.resize(a, [out, out]))
        xtf = tf.constant(x)
        _row(rows, results, "tf.function", lambda: g(xtf).numpy())
    jax = peer("jax")
    if jax is None:
        rows.append(unavailable("jax.jit", "jax not installed"))
    else:
        shape = (x.shape[0], out, out, x.shape[3])
        h = jax.jit(lambda a: jax.image.resize(a, shape, "bilinear", antialias=False))
        xj = jax.device_put(x)
        _row(rows, results, "jax.jit", lambda: jax.block_until_ready(h(xj)))
    check(rows, results, close=1e-4)
    return rows


def augment_rows(x):
    rows, results = [], {}
    L = jg.keras.layers
    layers = [L.RandomFlip("horizontal", seed=1), L.RandomRotation(0.1, seed=2),
              L.RandomContrast(0.2, seed=3)]

    def stack(a):
        for layer in layers:
            a = layer(a, training=True)
        return a

    xt = jg.constant(x)
    f = jg.function(stack)
    _row(rows, results, "jg.function[cpu]", lambda: f(xt))
    tf = peer("tensorflow")
    keras = peer("keras") if tf is not None else None
    if keras is None:
        rows.append(unavailable("tf.function (tf.keras layers)", "tensorflow not installed"))
    else:
        K = keras.layers
        tlayers = [K.RandomFlip("horizontal", seed=1), K.RandomRotation(0.1, seed=2),
                   K.RandomContrast(0.2, seed=3)]

        @tf.function
        def g(a):
            for layer in tlayers:
                a = layer(a, training=True)
            return a

        xtf = tf.constant(x)
        _row(rows, results, "tf.function (tf.keras layers)", lambda: g(xtf).numpy())
    rows.append(unavailable("jax.jit", "no JAX equivalent of these layers"))
    shapes = {k: v.shape for k, v in results.items() if v is not None}
    for r in rows:
        if r.impl in shapes and shapes[r.impl] != x.shape:
            r.note = "WRONG shape %s" % (shapes[r.impl],)
    return rows


def _ratios(rows, base="jg.function[cpu]"):
    ours = next((r for r in rows if r.impl == base and r.timing), None)
    out = []
    for r in rows:
        if ours and r.timing and r.impl != base:
            out.append("- %s takes %.2fx the time of %s (medians %.2f ms vs %.2f ms)" % (
                base, ours.timing.median / r.timing.median, r.impl, ours.timing.median * 1e3,
                r.timing.median * 1e3))
    return "\n".join(out) + "\n"


def run(quick=False):
    batch = 8 if quick else BATCH
    x = np.random.default_rng(0).random((batch, SIZE, SIZE, 3)).astype(np.float32)
    text = []
    for out in (112, 448):
        rows = resize_rows(x, out)
        text.append(table("bilinear resize %dx%dx%dx3 -> %dx%d, float32" % (
            batch, SIZE, SIZE, out, out), rows, "jg.function[cpu]") + _ratios(rows))
    rows = augment_rows(x)
    text.append(table("RandomFlip + RandomRotation(0.1) + RandomContrast(0.2), %dx%dx%dx3, "
                      "training=True" % (batch, SIZE, SIZE), rows, "jg.function[cpu]")
                + _ratios(rows))
    return "\n".join(text)


if __name__ == "__main__":
    main_for(run)
