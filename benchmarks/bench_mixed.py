"""A/B: one compiled Keras training step under the "float32" policy vs "mixed_float16"
(float16 compute, float32 variables, loss scaling), cpu backend, interleaved rounds, medians.

Models: an MLP 784-256-10 (batch 256) and a small CNN (Conv2D 16 3x3, MaxPooling, Dense 10;
28x28x1 inputs, batch 64); the step is what fit compiles: forward, float32 loss, scaled
gradients, unscaling, the finiteness check and the (skippable) SGD update. Also the float16
vs float32 matmul on its own.

    python benchmarks/bench_mixed.py [--rounds 15]

On a CPU without float16 arithmetic, float16 is stored as 16 bits and computed in float32
(each load converts, each store rounds; a float16 matmul is float32 GEMM between casts), so
mixed_float16 costs about what float32 does here (ratios 0.7-1.1 over three runs on a
2-core machine at load 12-15, i.e. within noise); it pays on GPUs. Before float16 matmul
went to GEMM, the MLP step was 39x slower in mixed_float16 and a 1024x1024 matmul 87x.
"""

import argparse

import numpy as np
from bench_changes import _rounds as interleaved

import jitgraph as jg

mp = jg.keras.mixed_precision
L = jg.keras.layers


def _mlp():
    return jg.keras.Sequential([L.Dense(256, activation="relu"), L.Dense(10),
                                L.Activation("softmax", dtype="float32")])


def _cnn():
    return jg.keras.Sequential([L.Conv2D(16, 3, activation="relu"), L.MaxPooling2D(),
                                L.Flatten(), L.Dense(10),
                                L.Activation("softmax", dtype="float32")])


def make_step(build, policy, x):
    """A compiled train step of a fresh model under ``policy`` (weights from seed 0)."""
    mp.set_global_policy(policy)
    try:
        jg.random.set_seed(0)
        model = build()
        model(x[:1])
        opt = jg.keras.optimizers.SGD(0.01)
        if policy == "mixed_float16":
            opt = mp.LossScaleOptimizer(opt)
        loss_fn = jg.keras.losses.SparseCategoricalCrossentropy()
        scaling = isinstance(opt, mp.LossScaleOptimizer)

        @jg.function
        def step(xb, yb):
            with jg.GradientTape() as tape:
                loss = loss_fn(yb, jg.cast(model(xb, training=True), jg.float32))
                scaled = opt.get_scaled_loss(loss) if scaling else loss
            grads = tape.gradient(scaled, model.trainable_variables)
            if scaling:
                grads = opt.get_unscaled_gradients(grads)
            opt.apply_gradients(zip(grads, model.trainable_variables))
            return loss
    finally:
        mp.set_global_policy(None)
    return step


def _rounds(fns, args, rounds):
    for f in fns.values():
        f(*args)  # compile
        f(*args)
    return interleaved(fns, args, rounds)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=15)
    a = ap.parse_args()
    rng = np.random.default_rng(0)
    cases = {
        "MLP 784-256-10, batch 256": (_mlp, rng.standard_normal((256, 784)).astype(np.float32),
                                      rng.integers(0, 10, 256).astype(np.int32)),
        "CNN 28x28x1, batch 64": (_cnn, rng.standard_normal((64, 28, 28, 1)).astype(np.float32),
                                  rng.integers(0, 10, 64).astype(np.int32)),
    }
    print(f"{'workload':34} {'float32 ms':>11} {'mixed_float16 ms':>17} {'ratio f16/f32':>14}")
    for name, (build, x, y) in cases.items():
        fns = {p: make_step(build, p, x) for p in ("float32", "mixed_float16")}
        t = _rounds(fns, (x, y), a.rounds)
        print(f"{name:34} {t['float32'] * 1e3:11.2f} {t['mixed_float16'] * 1e3:17.2f} "
              f"{t['mixed_float16'] / t['float32']:14.2f}")
    mm = jg.function(jg.matmul)
    for n in (256, 1024):
        a32 = rng.standard_normal((n, n)).astype(np.float32)
        a16 = a32.astype(np.float16)
        t = _rounds({"float32": lambda p=a32: mm(p, p), "float16": lambda p=a16: mm(p, p)}, (),
                    a.rounds)
        print(f"{f'matmul {n}x{n} (op alone)':34} {t['float32'] * 1e3:11.2f} "
              f"{t['float16'] * 1e3:17.2f} {t['float16'] / t['float32']:14.2f}")

if __name__ == "__main__":
    main()
