"""One SGD training step of a 784-256-10 MLP (batch 256): forward, sparse softmax
cross-entropy, backward with GradientTape, update of the 4 Variables.

Eager tape vs the same step under @jg.function (interpreter, and cpu once that backend is
registered), and jax.jit of the same step when jax is installed. Each figure is the median of
repeated calls, printed with its ratio to eager.

    python benchmarks/train_step.py [--repeats 30] [--batch 256]
"""

import argparse
import statistics
import time

import numpy as np

import jitgraph as jg

IN, HIDDEN, OUT = 784, 256, 10


def make_data(batch, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, IN)).astype(np.float32)
    y = rng.integers(0, OUT, batch).astype(np.int32)
    return x, y


def init_params(seed=1):
    rng = np.random.default_rng(seed)
    return [(rng.standard_normal((IN, HIDDEN)) * np.sqrt(2 / IN)).astype(np.float32),
            np.zeros(HIDDEN, np.float32),
            (rng.standard_normal((HIDDEN, OUT)) * np.sqrt(2 / HIDDEN)).astype(np.float32),
            np.zeros(OUT, np.float32)]


def make_step(variables, lr=0.01):
    w1, b1, w2, b2 = variables

    def step(x, y):
        with jg.GradientTape() as tape:
            h = jg.nn.relu(jg.matmul(x, w1) + b1)
            logits = jg.matmul(h, w2) + b2
            loss = jg.reduce_mean(
                jg.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits))
        grads = tape.gradient(loss, variables)
        for v, g in zip(variables, grads, strict=True):
            v.assign_sub(lr * g)
        return loss

    return step


def timed(fn, repeats):
    fn()  # warm up (traces and compiles)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def jax_sgd_step(jax, lr=0.01):
    """The same MLP step for jax.jit: ``step(params, x, y) -> (new_params, loss)``."""
    jnp = jax.numpy

    def loss_fn(p, x, y):
        w1, b1, w2, b2 = p
        logits = jax.nn.relu(x @ w1 + b1) @ w2 + b2
        logp = jax.nn.log_softmax(logits)
        return -jnp.mean(jnp.take_along_axis(logp, y[:, None], axis=1))

    @jax.jit
    def step(p, x, y):
        loss, g = jax.value_and_grad(loss_fn)(p, x, y)
        return [a - lr * b for a, b in zip(p, g, strict=True)], loss

    return step


def jax_step(x, y, params, repeats, lr=0.01):
    try:
        import jax
        import jax.numpy as jnp
    except ImportError:
        return None

    step = jax_sgd_step(jax, lr)
    state = {"p": [jnp.asarray(a) for a in params]}
    xj, yj = jnp.asarray(x), jnp.asarray(y)

    def run():
        state["p"], loss = step(state["p"], xj, yj)
        loss.block_until_ready()

    return timed(run, repeats)


def available_backends():
    from jitgraph import backends, errors

    names = []
    for name in ("interpreter", "cpu"):
        try:
            backends.get(name)
            names.append(name)
        except errors.UnimplementedError:  # the cpu backend is not built here
            pass
    return names


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=30)
    ap.add_argument("--batch", type=int, default=256)
    args = ap.parse_args()
    x, y = make_data(args.batch)
    params = init_params()
    xt, yt = jg.constant(x), jg.constant(y)
    results = {}

    variables = [jg.Variable(p) for p in params]
    eager = make_step(variables)
    results["eager tape"] = timed(lambda: eager(xt, yt), args.repeats)
    losses = {"eager tape": float(eager(xt, yt))}
    for name in available_backends():
        variables = [jg.Variable(p) for p in params]
        compiled = jg.function(make_step(variables), backend=name)
        label = f"jg.function ({name})"
        results[label] = timed(lambda c=compiled: c(xt, yt), args.repeats)
        losses[label] = float(compiled(xt, yt))
    t = jax_step(x, y, params, args.repeats)
    if t is not None:
        results["jax.jit"] = t

    base = results["eager tape"]
    print(f"MLP {IN}-{HIDDEN}-{OUT}, batch {args.batch}, SGD step; median of {args.repeats} "
          "(each variant runs the same number of steps from the same weights: equal losses)")
    for label, sec in results.items():
        extra = f"   final loss {losses[label]:.4f}" if label in losses else ""
        print(f"  {label:<26} {sec * 1e3:9.3f} ms   eager/this = {base / sec:6.2f}x{extra}")


if __name__ == "__main__":
    main()
