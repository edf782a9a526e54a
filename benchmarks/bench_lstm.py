"""One SGD training step of an LSTM sequence regressor: LSTM(64) over 20 steps of 32
features, batch 32, a Dense(1) head, mean squared error, GradientTape, update of the 5
Variables.

jg.keras layers under jg.function (the time loop as one jg.while_loop, and unroll=True: a
Python loop unrolled into the traced graph), the jitgraph interpreter and eager tape, against
tf.keras's LSTM under tf.function (plain and jit_compile) and the same LSTM written with
jax.lax.scan under jax.jit, all from the same initial weights. Each row reports the
steady-state median and, in its note, the first call (trace + compile + one step; jitgraph's
with an empty on-disk compile cache). Speedups are against tf.function.

    python benchmarks/bench_lstm.py [--quick]
    python benchmarks/bench_lstm.py --strategy   # the time loop: while_loop vs unrolled

``--strategy`` measures the jg.function[cpu] step with the time loop as one jg.while_loop
(the default) and unrolled (``unroll=True``) for 20 and 50 steps: first call (trace +
compile, empty disk cache) and steady state. Unrolled 50 steps take minutes to compile.
"""

import time

import numpy as np
from common import (
    Row,
    empty_compile_cache,
    guarded,
    jg_backends,
    main_for,
    peer,
    table,
    unavailable,
)

import jitgraph as jg

TITLE = "LSTM training step: batch 32, 20 steps x 32 features, 64 units, Dense(1) head"
BATCH, STEPS, FEATURES, UNITS = 32, 20, 32, 64
LR = 0.01


def make_data(seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((BATCH, STEPS, FEATURES)).astype(np.float32)
    y = rng.standard_normal((BATCH, 1)).astype(np.float32)
    return x, y


def init_weights(seed=1):
    """kernel, recurrent_kernel, bias (tf.keras layout, gates i f c o), head kernel, bias."""
    rng = np.random.default_rng(seed)
    u = UNITS
    bias = np.concatenate([np.zeros(u), np.ones(u), np.zeros(2 * u)])
    return [(rng.standard_normal((FEATURES, 4 * u)) * 0.1).astype(np.float32),
            (rng.standard_normal((u, 4 * u)) * 0.1).astype(np.float32),
            bias.astype(np.float32),
            (rng.standard_normal((u, 1)) * 0.1).astype(np.float32),
            np.zeros(1, np.float32)]


def jg_step(weights, backend=None, unroll=False, steps=STEPS):
    """The train step with jg.keras layers; ``backend=None`` runs it eagerly."""
    lstm = jg.keras.layers.LSTM(UNITS, unroll=unroll)
    head = jg.keras.layers.Dense(1)
    lstm(np.zeros((1, steps, FEATURES), np.float32))
    head(np.zeros((1, UNITS), np.float32))
    lstm.set_weights(weights[:3])
    head.set_weights(weights[3:])
    variables = lstm.trainable_weights + head.trainable_weights

    def step(x, y):
        with jg.GradientTape() as tape:
            loss = jg.reduce_mean(jg.square(head(lstm(x)) - y))
        for v, g in zip(variables, tape.gradient(loss, variables), strict=True):
            v.assign_sub(LR * g)
        return loss

    return step if backend is None else jg.function(step, backend=backend)


def tf_step(tf, weights, jit_compile=False):
    lstm, head = tf.keras.layers.LSTM(UNITS), tf.keras.layers.Dense(1)
    lstm(np.zeros((1, STEPS, FEATURES), np.float32))
    head(np.zeros((1, UNITS), np.float32))
    lstm.set_weights(weights[:3])
    head.set_weights(weights[3:])
    variables = lstm.trainable_variables + head.trainable_variables

    @tf.function(jit_compile=jit_compile)
    def step(x, y):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(head(lstm(x)) - y))
        for v, g in zip(variables, tape.gradient(loss, variables), strict=True):
            v.assign_sub(LR * g)
        return loss

    return step


def jax_step(jax):
    jnp = jax.numpy

    def loss_fn(p, x, y):
        k, rk, b, w, wb = p
        xs = jnp.swapaxes(x @ k + b, 0, 1)

        def cell(carry, xt):
            h, c = carry
            i, f, g, o = jnp.split(xt + h @ rk, 4, axis=-1)
            c = jax.nn.sigmoid(f) * c + jax.nn.sigmoid(i) * jnp.tanh(g)
            return (jax.nn.sigmoid(o) * jnp.tanh(c), c), None

        zeros = jnp.zeros((x.shape[0], UNITS), x.dtype)
        (h, _), _ = jax.lax.scan(cell, (zeros, zeros), xs)
        return jnp.mean(jnp.square(h @ w + wb - y))

    @jax.jit
    def step(p, x, y):
        loss, g = jax.value_and_grad(loss_fn)(p, x, y)
        return [a - LR * b for a, b in zip(p, g, strict=True)], loss

    return step


def _jg_maker(weights, xt, yt, backend=None, unroll=False, steps=STEPS):
    def make():
        step = jg_step(weights, backend, unroll, steps)
        return lambda: step(xt, yt)

    return make


def _timed_first(fn):
    t0 = time.perf_counter()
    value = float(np.asarray(fn()))
    return value, time.perf_counter() - t0


def _add(rows, losses, impl, make, repeat):
    """Builds the step (make() -> zero-argument callable), times its first call, then its
    steady state."""
    try:
        fn = make()
        losses[impl], first = _timed_first(fn)
    except Exception as e:  # a failing implementation is reported, not fatal
        rows.append(unavailable(impl, "%s: %s" % (type(e).__name__, str(e)[:160])))
        return
    row = guarded(impl, fn, repeat=repeat)
    row.note = ("first call %.2f s" % first) + (" " + row.note if row.note else "")
    rows.append(row)


def run(quick=False):
    x, y = make_data()
    weights = init_weights()
    repeat = 5 if quick else 15
    rows, losses = [], {}
    xt, yt = jg.constant(x), jg.constant(y)
    with empty_compile_cache():
        _add(rows, losses, "jitgraph eager", _jg_maker(weights, xt, yt), 3 if quick else 7)
        variants = [(b, False) for b in jg_backends()]
        if not quick and "cpu" in jg_backends():
            variants.insert(1, ("cpu", True))
        for backend, unroll in variants:
            impl = "jg.function[%s]%s" % (backend, " unroll=True" if unroll else "")
            _add(rows, losses, impl, _jg_maker(weights, xt, yt, backend, unroll), repeat)
    tf = peer("tensorflow")
    if tf:
        xf, yf = tf.constant(x), tf.constant(y)
        for jit in (False, True):
            impl = "tf.function" + ("(jit_compile)" if jit else "")
            _add(rows, losses, impl, lambda j=jit: (
                lambda s: lambda: s(xf, yf))(tf_step(tf, weights, j)), repeat)
    else:
        rows.append(unavailable("tf.function", "tensorflow not installed"))
    jax = peer("jax")
    if jax:
        def make_jax():
            step, state = jax_step(jax), {"p": [jax.device_put(w) for w in weights]}
            xj, yj = jax.device_put(x), jax.device_put(y)

            def call():
                state["p"], loss = step(state["p"], xj, yj)
                return jax.block_until_ready(loss)

            return call

        _add(rows, losses, "jax.jit (lax.scan)", make_jax, repeat)
    else:
        rows.append(unavailable("jax.jit (lax.scan)", "jax not installed"))
    ref = losses.get("jitgraph eager")
    for r in rows:
        if ref is not None and r.impl in losses and abs(losses[r.impl] - ref) > 1e-4 * abs(ref):
            r.note += " WRONG first-step loss %.6f (eager %.6f)" % (losses[r.impl], ref)
    return table(TITLE, rows, "tf.function") + _ratios(rows)


def _ratios(rows):
    base = {r.impl: r.timing.median for r in rows if r.timing}
    ours = base.get("jg.function[cpu]")
    if ours is None:
        return ""
    lines = ["", "jg.function[cpu] steady state vs peers (median time ratio, >1: jitgraph "
             "faster):"]
    lines += ["- vs %s: %.2fx" % (impl, t / ours) for impl, t in base.items()
              if not impl.startswith("jg") and not impl.startswith("jitgraph")]
    return "\n".join(lines) + "\n"


def strategy(quick=False):
    """First call and steady state of the cpu step, time loop as while_loop vs unrolled."""
    weights = init_weights()
    rows = []
    for steps in (20, 50):
        x = np.random.default_rng(0).standard_normal((BATCH, steps, FEATURES))
        xt, yt = jg.constant(x.astype(np.float32)), jg.constant(make_data()[1])
        for unroll in (False, True):
            impl = "%d steps, %s" % (steps, "unroll=True" if unroll else "while_loop")
            with empty_compile_cache():
                _add(rows, {}, impl, _jg_maker(weights, xt, yt, "cpu", unroll, steps),
                     5 if quick else 15)
    return table("jg.function[cpu] LSTM training step: the time loop, batch 32, 32 "
                 "features, 64 units", rows, "20 steps, while_loop")


if __name__ == "__main__":
    import sys

    if "--strategy" in sys.argv:
        sys.argv.remove("--strategy")
        main_for(strategy)
    else:
        main_for(run)


__all__ = ["Row"]
