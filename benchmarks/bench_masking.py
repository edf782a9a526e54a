"""A masked LSTM training step: Embedding(mask_zero=True) -> LSTM(64) over 50 steps ->
Dense(1), batch 32, sequences of 10..50 tokens right-padded with 0, mean squared error,
GradientTape, SGD update of every weight.

jg.keras under jg.function (the masked time loop is the same one jg.while_loop, reading
each step's mask) against the same model without a mask (mask_zero=False, same tokens), and
both against tf.keras under tf.function, from the same initial weights. The masked losses
of jitgraph and tf.keras are checked to agree. Each row: steady-state median of one step;
jitgraph's note: the first call (trace + compile with an empty on-disk cache + one step).

    python benchmarks/bench_masking.py
"""

import time

import numpy as np
from common import empty_compile_cache, measure

import jitgraph as jg

BATCH, STEPS, VOCAB, EMBED, UNITS = 32, 50, 1000, 32, 64
LR = 0.01


def make_data(seed=0):
    rng = np.random.default_rng(seed)
    lens = rng.integers(10, STEPS + 1, BATCH)
    tok = np.zeros((BATCH, STEPS), np.int32)
    for i, n in enumerate(lens):
        tok[i, :n] = rng.integers(1, VOCAB, n)
    return tok, rng.standard_normal((BATCH, 1)).astype(np.float32)


def build(mod, mask_zero):
    inp = mod.Input((STEPS,), dtype="int32")
    x = mod.layers.Embedding(VOCAB, EMBED, mask_zero=mask_zero)(inp)
    return mod.Model(inp, mod.layers.Dense(1)(mod.layers.LSTM(UNITS)(x)))


def jg_step(model):
    variables = model.trainable_weights

    @jg.function
    def step(x, y):
        with jg.GradientTape() as tape:
            loss = jg.reduce_mean(jg.square(model(x) - y))
        for v, g in zip(variables, tape.gradient(loss, variables), strict=True):
            v.assign_sub(LR * g)
        return loss

    return step


def tf_step(tf, model):
    variables = model.trainable_variables

    @tf.function
    def step(x, y):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(model(x) - y))
        grads = tape.gradient(loss, variables)
        for v, g in zip(variables, grads, strict=True):
            v.assign_sub(LR * tf.convert_to_tensor(g))
        return loss

    return step


def main():
    tok, y = make_data()
    try:
        import tensorflow as tf
    except ImportError:
        tf = None
    rows = []
    for masked in (True, False):
        ours = build(jg.keras, masked)
        theirs = build(tf.keras, masked) if tf else None
        if theirs is not None:
            ours.set_weights(theirs.get_weights())
        step = jg_step(ours)
        with empty_compile_cache():  # first call: trace + compile from scratch + one step
            t0 = time.perf_counter()
            first = float(step(tok, y))
            compile_s = time.perf_counter() - t0
        t = measure(lambda step=step: step(tok, y), repeat=9, max_time=10.0)
        rows.append((f"jg.function[cpu] {'masked' if masked else 'no mask'}", t.median,
                     f"first call {compile_s:.1f} s"))
        if theirs is not None:
            tstep = tf_step(tf, theirs)
            want = float(tstep(tok, y))
            assert abs(first - want) <= 1e-4 * max(1.0, abs(want)), (first, want)
            t = measure(lambda tstep=tstep: tstep(tok, y), repeat=9, max_time=10.0)
            rows.append((f"tf.function {'masked' if masked else 'no mask'}", t.median, ""))
    print(f"masked LSTM training step: batch {BATCH}, {STEPS} steps, Embedding({VOCAB}, "
          f"{EMBED}), LSTM({UNITS}), Dense(1)")
    for name, sec, note in rows:
        print(f"  {name:<28} {sec * 1e3:8.2f} ms   {note}")
    by = {name: sec for name, sec, _ in rows}
    for kind in ("masked", "no mask"):
        ours, theirs = by.get(f"jg.function[cpu] {kind}"), by.get(f"tf.function {kind}")
        if ours and theirs:
            print(f"  {kind}: jitgraph / tf.function = {ours / theirs:.2f}x time")
    cost = by["jg.function[cpu] masked"] / by["jg.function[cpu] no mask"]
    line = f"  mask cost (masked / unmasked step): jitgraph {cost:.2f}x"
    if tf:
        line += f", tf.function {by['tf.function masked'] / by['tf.function no mask']:.2f}x"
    print(line)


if __name__ == "__main__":
    main()
