"""W3: one SGD training step of a 784-256-10 MLP (relu, sparse softmax cross-entropy,
batch 256, GradientTape + SGD on 4 Variables), the step written once in train_step.py.

Target: jg.function >= 1.5x jax.jit of the same step. Needs graph autodiff (GradientTape
inside jg.function); until then its rows say why they are missing.

    python benchmarks/bench_w3_mlp.py [--quick]
"""

import numpy as np
from common import guarded, jg_backends, main_for, peer, table, unavailable
from train_step import HIDDEN, IN, OUT, init_params, jax_sgd_step, make_data, make_step

import jitgraph as jg

TITLE = "W3 MLP training step 784-256-10, batch 256, float32"
TARGET = "jg.function >= 1.5x jax.jit"
LR = 0.01


def numpy_step(params, x, y):
    w1, b1, w2, b2 = params
    h_pre = x @ w1 + b1
    h = np.maximum(h_pre, 0)
    logits = h @ w2 + b2
    z = logits - logits.max(axis=1, keepdims=True)
    p = np.exp(z)
    p /= p.sum(axis=1, keepdims=True)
    n = x.shape[0]
    loss = -np.mean(np.log(p[np.arange(n), y]))
    g = p
    g[np.arange(n), y] -= 1
    g /= n
    gw2, gb2 = h.T @ g, g.sum(0)
    gh = (g @ w2.T) * (h_pre > 0)
    gw1, gb1 = x.T @ gh, gh.sum(0)
    for v, gv in zip(params, (gw1, gb1, gw2, gb2), strict=True):
        v -= LR * gv
    return loss


def jax_step(jax):
    return jax_sgd_step(jax, LR)


def tf_step(tf, params):
    variables = [tf.Variable(p) for p in params]

    @tf.function(jit_compile=True)
    def step(x, y):
        with tf.GradientTape() as tape:
            h = tf.nn.relu(tf.matmul(x, variables[0]) + variables[1])
            logits = tf.matmul(h, variables[2]) + variables[3]
            loss = tf.reduce_mean(
                tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits))
        for v, g in zip(variables, tape.gradient(loss, variables), strict=True):
            v.assign_sub(LR * g)
        return loss

    return step


def run(quick=False):
    batch = 256
    x, y = make_data(batch)
    params = init_params()
    flops = 3 * 2.0 * batch * (IN * HIDDEN + HIDDEN * OUT)  # forward + 2x backward matmuls
    rows, losses = [], {}
    p_np = [p.copy() for p in params]
    losses["numpy eager (hand-written backprop)"] = numpy_step([p.copy() for p in params], x, y)
    rows.append(guarded("numpy eager (hand-written backprop)", lambda: numpy_step(p_np, x, y),
                        flops, "GFLOP/s"))
    xt, yt = jg.constant(x), jg.constant(y)
    impls = {"jitgraph eager": None} | {"jg.function[%s]" % b: b for b in jg_backends()}
    for impl, backend in impls.items():
        try:
            step = make_step([jg.Variable(p) for p in params])
            step = step if backend is None else jg.function(step, backend=backend)
            losses[impl] = float(step(xt, yt))
            rows.append(guarded(impl, lambda s=step: s(xt, yt), flops, "GFLOP/s"))
        except Exception as e:
            rows.append(unavailable(impl, "%s: %s" % (type(e).__name__, str(e)[:160])))
    jax = peer("jax")
    if jax:
        step = jax_step(jax)
        state = {"p": [jax.device_put(p) for p in params]}
        xj, yj = jax.device_put(x), jax.device_put(y)

        def jrun():
            state["p"], loss = step(state["p"], xj, yj)
            return jax.block_until_ready(loss)

        losses["jax.jit"] = float(jrun())
        rows.append(guarded("jax.jit", jrun, flops, "GFLOP/s"))
    tf = peer("tensorflow")
    if tf:
        step = tf_step(tf, params)
        xt_, yt_ = tf.constant(x), tf.constant(y)
        losses["tf.function(jit_compile)"] = float(step(xt_, yt_))
        rows.append(guarded("tf.function(jit_compile)", lambda: step(xt_, yt_), flops,
                            "GFLOP/s"))
    ref = losses["numpy eager (hand-written backprop)"]
    for r in rows:
        if r.impl in losses and abs(losses[r.impl] - ref) > 1e-3 * abs(ref):
            r.note = "WRONG first-step loss %.5f (numpy %.5f)" % (losses[r.impl], ref)
    return table(TITLE, rows, "jax.jit", TARGET)


if __name__ == "__main__":
    main_for(run)
