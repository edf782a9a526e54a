"""Conv: one SGD training step of a small CNN on 28x28x1 images, batch 64: conv 3x3x32 (relu),
max pool 2x2, conv 3x3x64 (relu), max pool 2x2, dense 1600->10, sparse softmax
cross-entropy; and the forward pass alone. jg.nn.conv2d and max_pool2d are compositions of
pad, gather, matmul and reductions (jitgraph/ops/conv.py); the peers call their own
convolution kernels (tf.nn.conv2d, jax.lax.conv_general_dilated).

    python benchmarks/bench_conv.py [--quick]
"""

import numpy as np
from common import guarded, jg_backends, main_for, peer, table, unavailable

import jitgraph as jg

TITLE = "CNN training step, batch %d, 28x28x1 -> conv3x3x32 -> pool -> conv3x3x64 -> pool " \
    "-> dense 10, float32"
LR = 0.01
SHAPES = [(3, 3, 1, 32), (32,), (3, 3, 32, 64), (64,), (5 * 5 * 64, 10), (10,)]


def make_data(batch, seed=0):
    r = np.random.default_rng(seed)
    return (r.standard_normal((batch, 28, 28, 1)).astype(np.float32),
            r.integers(0, 10, batch).astype(np.int32))


def init_params(seed=1):
    r = np.random.default_rng(seed)
    out = []
    for s in SHAPES:
        fan_in = int(np.prod(s[:-1])) if len(s) > 1 else 1
        out.append((r.standard_normal(s) * np.sqrt(2 / fan_in)).astype(np.float32)
                   if len(s) > 1 else np.zeros(s, np.float32))
    return out


def flops(batch):
    conv1 = 2 * batch * 26 * 26 * 9 * 1 * 32
    conv2 = 2 * batch * 11 * 11 * 9 * 32 * 64
    dense = 2 * batch * 1600 * 10
    return conv1 + conv2 + dense  # forward; a training step is about 3x


def jg_forward(p, x):
    h = jg.nn.relu(jg.nn.conv2d(x, p[0], 1, "VALID") + p[1])
    h = jg.nn.max_pool2d(h, 2, 2, "VALID")
    h = jg.nn.relu(jg.nn.conv2d(h, p[2], 1, "VALID") + p[3])
    h = jg.nn.max_pool2d(h, 2, 2, "VALID")
    return jg.matmul(jg.reshape(h, [-1, 1600]), p[4]) + p[5]


def jg_step(variables):
    def step(x, y):
        with jg.GradientTape() as tape:
            logits = jg_forward(variables, x)
            loss = jg.reduce_mean(
                jg.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits))
        for v, g in zip(variables, tape.gradient(loss, variables), strict=True):
            v.assign_sub(LR * g)
        return loss

    return step


def tf_fns(tf, params, jit_compile):
    variables = [tf.Variable(p) for p in params]

    def forward(x):
        p = variables
        h = tf.nn.relu(tf.nn.conv2d(x, p[0], 1, "VALID") + p[1])
        h = tf.nn.max_pool2d(h, 2, 2, "VALID")
        h = tf.nn.relu(tf.nn.conv2d(h, p[2], 1, "VALID") + p[3])
        h = tf.nn.max_pool2d(h, 2, 2, "VALID")
        return tf.matmul(tf.reshape(h, [-1, 1600]), p[4]) + p[5]

    @tf.function(jit_compile=jit_compile)
    def step(x, y):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(
                labels=y, logits=forward(x)))
        for v, g in zip(variables, tape.gradient(loss, variables), strict=True):
            v.assign_sub(LR * g)
        return loss

    return step, tf.function(forward, jit_compile=jit_compile)


def jax_fns(jax):
    jnp, lax = jax.numpy, jax.lax

    def conv(x, w):
        return lax.conv_general_dilated(x, w, (1, 1), "VALID",
                                        dimension_numbers=("NHWC", "HWIO", "NHWC"))

    def pool(x):
        return lax.reduce_window(x, -jnp.inf, lax.max, (1, 2, 2, 1), (1, 2, 2, 1), "VALID")

    def forward(p, x):
        h = pool(jax.nn.relu(conv(x, p[0]) + p[1]))
        h = pool(jax.nn.relu(conv(h, p[2]) + p[3]))
        return h.reshape(-1, 1600) @ p[4] + p[5]

    def loss_fn(p, x, y):
        logp = jax.nn.log_softmax(forward(p, x))
        return -jnp.mean(jnp.take_along_axis(logp, y[:, None], axis=1))

    @jax.jit
    def step(p, x, y):
        loss, g = jax.value_and_grad(loss_fn)(p, x, y)
        return [a - LR * b for a, b in zip(p, g, strict=True)], loss

    return step, jax.jit(forward)


def _jitgraph_rows(rows, losses, outs, params, x, y, work):
    xt, yt = jg.constant(x), jg.constant(y)
    impls = {"jitgraph eager": None} | {"jg.function[%s]" % b: b for b in jg_backends()}
    for impl, backend in impls.items():
        try:
            variables = [jg.Variable(p) for p in params]
            step = jg_step(variables)
            fwd = lambda x, v=variables: jg_forward(v, x)  # noqa: E731
            if backend is not None:
                step, fwd = jg.function(step, backend=backend), jg.function(fwd, backend=backend)
            outs[impl] = fwd(xt).numpy()
            rows["fwd"].append(guarded(impl, lambda f=fwd: f(xt), work, "GFLOP/s"))
            losses[impl] = float(step(xt, yt))
            rows["step"].append(guarded(impl, lambda s=step: s(xt, yt), 3 * work, "GFLOP/s"))
        except Exception as e:
            for k in rows:
                rows[k].append(unavailable(impl, "%s: %s" % (type(e).__name__, str(e)[:160])))


def _peer_rows(rows, losses, outs, params, x, y, work):
    tf = peer("tensorflow")
    if tf is None:
        for k in rows:
            rows[k].append(unavailable("tf.function", "tensorflow not installed"))
    else:
        xt, yt = tf.constant(x), tf.constant(y)
        for impl, jit in (("tf.function", False), ("tf.function(jit_compile)", True)):
            step, fwd = tf_fns(tf, params, jit)
            outs[impl] = fwd(xt).numpy()
            rows["fwd"].append(guarded(impl, lambda f=fwd: f(xt), work, "GFLOP/s"))
            losses[impl] = float(step(xt, yt))
            rows["step"].append(guarded(impl, lambda s=step: s(xt, yt), 3 * work, "GFLOP/s"))
    jax = peer("jax")
    if jax is None:
        for k in rows:
            rows[k].append(unavailable("jax.jit", "jax not installed"))
        return
    step, fwd = jax_fns(jax)
    state = {"p": [jax.device_put(p) for p in params]}
    xj, yj = jax.device_put(x), jax.device_put(y)
    outs["jax.jit"] = np.asarray(fwd(state["p"], xj))
    rows["fwd"].append(guarded("jax.jit", lambda: jax.block_until_ready(fwd(state["p"], xj)),
                               work, "GFLOP/s"))

    def jrun():
        state["p"], loss = step(state["p"], xj, yj)
        return jax.block_until_ready(loss)

    losses["jax.jit"] = float(jrun())
    rows["step"].append(guarded("jax.jit", jrun, 3 * work, "GFLOP/s"))


def run(quick=False):
    batch = 16 if quick else 64
    x, y = make_data(batch)
    params = init_params()
    work = flops(batch)
    rows, losses, outs = {"fwd": [], "step": []}, {}, {}
    _jitgraph_rows(rows, losses, outs, params, x, y, work)
    _peer_rows(rows, losses, outs, params, x, y, work)
    ref_loss = next(iter(losses.values()), None)
    ref_out = next(iter(outs.values()), None)
    for r in rows["step"]:
        if r.impl in losses and abs(losses[r.impl] - ref_loss) > 1e-3 * abs(ref_loss):
            r.note = "WRONG first-step loss %.5f (%.5f)" % (losses[r.impl], ref_loss)
    for r in rows["fwd"]:
        if r.impl in outs and not np.allclose(outs[r.impl], ref_out, rtol=1e-3, atol=1e-3):
            r.note = "WRONG logits"
    base = "jg.function[cpu]"
    text = table(TITLE % batch + ": training step (SGD)", rows["step"], base) + "\n" + \
        table(TITLE % batch + ": forward only", rows["fwd"], base)
    lines = []
    for kind in ("step", "fwd"):
        ours = next((r for r in rows[kind] if r.impl == base and r.timing), None)
        for r in rows[kind]:
            if ours and r.timing and r.impl in ("tf.function", "tf.function(jit_compile)",
                                                "jax.jit"):
                lines.append("- %s: %s takes %.2fx the time of %s (medians %s vs %s)" % (
                    kind, base, ours.timing.median / r.timing.median, r.impl,
                    _ms(ours.timing.median), _ms(r.timing.median)))
    return text + "\n" + "\n".join(lines) + "\n"


def _ms(t):
    return "%.2f ms" % (t * 1e3)


if __name__ == "__main__":
    main_for(run)
