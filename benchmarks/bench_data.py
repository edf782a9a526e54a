"""Input pipelines: one epoch of an MNIST-sized pipeline with jg.data vs tf.data vs a plain
NumPy batching loop, and one epoch of ``model.fit`` on a jg.data dataset vs on arrays.

The pipeline: ``from_tensor_slices`` of 60000x784 float32 images + int32 labels,
``shuffle(buffer)``, ``batch(128)``, ``map(normalize)`` (x / 255, on the whole batch),
``prefetch(AUTOTUNE)``; an epoch iterates every batch (each batch's arrays are read, as a
training step would). Variants: the shuffle buffer at 10000 (tf.data's usual choice) and at
60000 (a full permutation), and ``map`` before ``batch`` (one call per element). Medians of
repeated epochs (each a fresh pass, so a fresh shuffle), ratios to NumPy.

    python benchmarks/bench_data.py [--repeat 5] [--no-tf]
"""

import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from common import Row, env_header, measure, table  # noqa: E402

import jitgraph as jg  # noqa: E402

N, D, BATCH = 60000, 784, 128


def data():
    rng = np.random.default_rng(0)
    x = (rng.random((N, D), dtype=np.float32) * 255.0).astype(np.float32)
    y = rng.integers(0, 10, N).astype(np.int32)
    return x, y


def consume(ds):
    n = 0
    for xb, yb in ds:
        n += np.asarray(xb).shape[0] + np.asarray(yb).shape[0] * 0
    assert n == N, n


def pipeline(m, x, y, buffer, map_first):
    ds = m.data.Dataset.from_tensor_slices((x, y)).shuffle(buffer, seed=1)
    def norm(a, b):
        return a / 255.0, b

    ds = ds.map(norm).batch(BATCH) if map_first else ds.batch(BATCH).map(
        norm, num_parallel_calls=m.data.AUTOTUNE)
    return ds.prefetch(m.data.AUTOTUNE)


def numpy_epoch(x, y, rng):
    order = rng.permutation(N)
    n = 0
    for i in range(0, N, BATCH):
        idx = order[i:i + BATCH]
        xb, yb = x[idx] / np.float32(255.0), y[idx]
        n += xb.shape[0] + yb.shape[0] * 0
    assert n == N


def pipeline_rows(x, y, tf, repeat):
    out = []
    rng = np.random.default_rng(1)
    variants = [("buffer 10000, batch then map", 10000, False),
                ("buffer 60000, batch then map", 60000, False),
                ("buffer 10000, map then batch", 10000, True)]
    for title, buffer, map_first in variants:
        rows = [Row("numpy loop (permutation)", measure(lambda: numpy_epoch(x, y, rng),
                                                         repeat=repeat, warmup=1))]
        jds = pipeline(jg, x, y, buffer, map_first)
        rows.append(Row("jitgraph jg.data", measure(lambda d=jds: consume(d), repeat=repeat,
                                                    warmup=1)))
        if tf is not None:
            tds = pipeline(tf, x, y, buffer, map_first)
            rows.append(Row("tensorflow tf.data", measure(lambda d=tds: consume(d),
                                                          repeat=repeat, warmup=1)))
        out.append(table(f"One epoch of the input pipeline ({title})", rows,
                         baseline="numpy loop (permutation)"))
    return out


def mlp(seed=0):
    jg.random.set_seed(seed)
    m = jg.keras.Sequential([jg.keras.layers.Dense(128, activation="relu"),
                             jg.keras.layers.Dense(10)])
    m.compile(optimizer="adam", loss=jg.keras.losses.SparseCategoricalCrossentropy(
        from_logits=True), metrics=["accuracy"])
    return m


def fit_rows(x, y, repeat):
    xs = x / np.float32(255.0)
    m1, m2 = mlp(), mlp()
    ds = jg.data.Dataset.from_tensor_slices((xs, y)).shuffle(N, seed=1).batch(BATCH) \
        .prefetch(jg.data.AUTOTUNE)
    rows = [Row("fit on arrays (batch_size=128, shuffle=True)",
                measure(lambda: m1.fit(xs, y, batch_size=BATCH, epochs=1, verbose=0),
                        repeat=repeat, warmup=1)),
            Row("fit on jg.data (shuffle 60000, batch 128)",
                measure(lambda: m2.fit(ds, epochs=1, verbose=0), repeat=repeat, warmup=1))]
    return [table("One epoch of fit, MLP 784-128-10 (Adam)", rows,
                  baseline="fit on arrays (batch_size=128, shuffle=True)")]


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--no-tf", action="store_true")
    args = p.parse_args()
    tf = None
    if not args.no_tf:
        try:
            import tensorflow as tf
        except ImportError:
            tf = None
    x, y = data()
    print("\n".join(env_header()))
    print()
    for t in pipeline_rows(x, y, tf, args.repeat) + fit_rows(x, y, args.repeat):
        print(t)
        print()


if __name__ == "__main__":
    main()
