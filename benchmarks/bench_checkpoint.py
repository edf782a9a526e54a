"""Checkpoint save and restore of a 10.7M-parameter Keras MLP (1024 -> 2400 -> 2400 -> 1024,
float32, 43 MB of weights): jg.train.Checkpoint against tf.train.Checkpoint where installed.

Each sample writes the whole checkpoint (``write``: index + data file, atomically renamed)
or reads it back into the model's variables (``read``); files go to a temporary folder.

    python benchmarks/bench_checkpoint.py [--quick]
"""

import os
import tempfile

import numpy as np
from common import guarded, main_for, peer, table, unavailable

import jitgraph as jg

SIZES = (1024, 2400, 2400, 1024)


def _params(sizes):
    return sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:]))


def _build(keras, sizes, seed):
    model = keras.Sequential([keras.layers.Dense(n) for n in sizes[1:]])
    model(np.zeros((1, sizes[0]), np.float32))
    rng = np.random.default_rng(seed)
    for w in model.weights:
        w.assign(rng.standard_normal(tuple(w.shape)).astype(np.float32))
    return model


def _rows(ckpt_cls, keras, name, sizes, folder, repeat):
    model = _build(keras, sizes, 0)
    ckpt = ckpt_cls(model=model)
    prefix = os.path.join(folder, name)
    want = [np.asarray(w.numpy()) for w in model.weights]
    save = guarded(f"{name} write", lambda: ckpt.write(prefix), repeat=repeat, warmup=1,
                   min_sample=0)
    fresh = _build(keras, sizes, 1)
    target = ckpt_cls(model=fresh)
    load = guarded(f"{name} read", lambda: target.read(prefix), repeat=repeat, warmup=1,
                   min_sample=0)
    ok = all(np.array_equal(a, np.asarray(w.numpy())) for a, w in zip(want, fresh.weights))
    if not ok:
        load.note = "WRONG RESULT (restored weights differ)"
    return [save, load]


def run(quick=False):
    sizes = (256, 600, 600, 256) if quick else SIZES
    repeat = 3 if quick else 7
    rows_save, rows_load = [], []
    with tempfile.TemporaryDirectory() as folder:
        s, r = _rows(jg.train.Checkpoint, jg.keras, "jg.train.Checkpoint", sizes, folder,
                     repeat)
        rows_save.append(s)
        rows_load.append(r)
        tf = peer("tensorflow")
        if tf is None:
            rows_save.append(unavailable("tf.train.Checkpoint write", "tensorflow absent"))
            rows_load.append(unavailable("tf.train.Checkpoint read", "tensorflow absent"))
        else:
            s, r = _rows(tf.train.Checkpoint, tf.keras, "tf.train.Checkpoint", sizes, folder,
                         repeat)
            rows_save.append(s)
            rows_load.append(r)
    n = _params(sizes)
    title = f"{n / 1e6:.1f}M-parameter MLP {sizes}, float32 ({4 * n / 1e6:.0f} MB)"
    for rows in (rows_save, rows_load):
        for row in rows:
            row.work, row.unit = 4.0 * n, "GB/s"
    return (table(f"checkpoint write, {title}", rows_save, "tf.train.Checkpoint write") + "\n"
            + table(f"checkpoint read, {title}", rows_load, "tf.train.Checkpoint read"))


if __name__ == "__main__":
    main_for(run)
