"""GPU benchmarks of the cuda backend, all in one run, each figure a ratio measured here:

1. a fused elementwise chain on 100M float32 as a fraction of device-to-device copy
   bandwidth (target >= 0.70);
2. a row softmax (8192 x 4096 float32) against the memory-bound minimum (one read and
   one write at copy bandwidth) and against PyTorch if present;
3. an MLP training step (784-1024-10, batch 1024) with variables resident on the device,
   against the cpu backend and PyTorch if present;
4. matmul 4096^3 float32 (own register-tiled kernel) against cuBLAS through PyTorch or CuPy.

    python benchmarks/bench_cuda.py            # needs a GPU (scripts/gpu_check.sh)
    python benchmarks/bench_cuda.py --emulator # the same code at small sizes on the CPU
                                               # emulator: a check of this script, no figures
"""

import os
import statistics
import sys
import time
import traceback

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import jitgraph as jg  # noqa: E402
from jitgraph import backends  # noqa: E402
from jitgraph.codegen import cuda_blas, cuda_driver  # noqa: E402
from jitgraph.codegen import cuda_device as D  # noqa: E402

QUICK = False  # --emulator: one sample per figure (the script's check, not figures)


def timeit(fn, sync, repeat=10, warmup=2):
    """Median seconds per call (the device synchronized around each sample)."""
    if QUICK:
        repeat, warmup = 1, 0
    for _ in range(warmup):
        fn()
    sync()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def compiled(fn, *specs):
    cf = jg.function(fn, backend="interpreter").get_concrete_function(*specs)
    return backends.get("cuda").compile(cf.graph)


def torch_cuda():
    try:
        import torch

        return torch if torch.cuda.is_available() else None
    except ImportError:
        return None


def jax_gpu():
    """jax with a GPU device, or None (its allocator told not to take 75% of the GPU)."""
    os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")
    try:
        import jax

        return jax if jax.devices()[0].platform == "gpu" else None
    except Exception:  # not installed, or no GPU plugin
        return None


def time_jax(jax, fn, *arrays, repeat=10):
    """Median seconds of jax.jit(fn) on device copies of ``arrays``."""
    f = jax.jit(fn)
    args = [jax.device_put(a) for a in arrays]
    out = [None]

    def call():
        out[0] = f(*args)
    return timeit(call, lambda: out[0] is None or out[0].block_until_ready(), repeat=repeat)


def row(name, seconds, note):
    print(f"{name:<44s} {seconds * 1e3:10.3f} ms   {note}")


def copy_bandwidth(drv, n=100_000_000):
    """Bytes per second a device-to-device copy of n float32 moves (read + write)."""
    xd, yd = D.to_device(np.ones(n, np.float32)), D.to_device(np.empty(n, np.float32))
    copy = timeit(lambda: drv.dtod(yd.ptr, xd.ptr, 4 * n), drv.synchronize)
    row(f"device-to-device copy, {n / 1e6:g}M f32", copy, f"{8 * n / copy / 1e9:.0f} GB/s")
    return 8 * n / copy


def bench_elementwise(drv, copy_bw, torch, jax, n=100_000_000):
    x = np.random.default_rng(0).random(n, np.float32)
    xd = D.to_device(x)
    yd = D.to_device(np.empty_like(x))
    exe = compiled(lambda v: jg.tanh(v * 1.5 + 0.5) * v - jg.exp(-v), jg.TensorSpec([n]))
    t = timeit(lambda: exe.run_device([xd], outs=[yd]), drv.synchronize)
    bw = 2 * x.nbytes / t
    got = yd.numpy()[:1000]
    want = np.tanh(x[:1000] * 1.5 + 0.5) * x[:1000] - np.exp(-x[:1000])
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    note = f"{bw / 1e9:.0f} GB/s = {bw / copy_bw:.2f} of copy bandwidth (target 0.70)"
    if jax is not None:
        tj = time_jax(jax, lambda v: jax.numpy.tanh(v * 1.5 + 0.5) * v - jax.numpy.exp(-v), x)
        note += f"; jax.jit {tj * 1e3:.3f} ms, ratio jitgraph/jax = {t / tj:.2f}"
    if torch is not None:
        xt = torch.from_numpy(x).cuda()
        tt = timeit(lambda: torch.tanh(xt * 1.5 + 0.5) * xt - torch.exp(-xt),
                    torch.cuda.synchronize)
        note += f"; PyTorch eager {tt * 1e3:.3f} ms, ratio = {t / tt:.2f}"
    row(f"fused chain tanh/exp, {n / 1e6:g}M f32", t, note)


def bench_variants(drv, copy_bw, n=100_000_000):
    """Where the elementwise time goes: chains of more or less work per element, each
    with the grid-stride loop as ptx.batch_depth picks it, 4 iterations together and one
    at a time; and the row softmax both ways."""
    from jitgraph.codegen import ptx

    x = np.random.default_rng(1).random(n, np.float32)
    xd, yd = D.to_device(x), D.to_device(np.empty_like(x))
    chains = {"x*1.5+0.5 (2 flops)": lambda v: v * 1.5 + 0.5,
              "poly, 8 flops": lambda v: (((v * 1.5 + 0.5) * v - 0.25) * v + 2.0) * v,
              "exp": jg.exp, "tanh": jg.tanh, "x / (1 + x)": lambda v: v / (1.0 + v),
              "tanh/exp chain": lambda v: jg.tanh(v * 1.5 + 0.5) * v - jg.exp(-v)}
    if n != 100_000_000:  # the emulator's check of this script: one chain, one way
        chains = dict(list(chains.items())[:1])
    chosen = ptx.batch_depth
    forced = [("as chosen", chosen), ("4 deep", lambda *e: 4), ("one", lambda *e: 1)]
    if n != 100_000_000:
        forced = forced[1:]

    def fractions(fn, spec, args, outs, nbytes):
        got = []
        for _, depth in forced:
            ptx.batch_depth = depth
            exe = compiled(fn, spec)
            got.append(nbytes / copy_bw / timeit(lambda e=exe: e.run_device(args, outs=outs),
                                                 drv.synchronize))
        return ", ".join(f"{label} {f:.2f}" for (label, _), f in zip(forced, got, strict=True))

    try:
        for label, fn in chains.items():
            print(f"  {label:<20s} fraction of copy bandwidth: "
                  f"{fractions(fn, jg.TensorSpec([n]), [xd], [yd], 2 * x.nbytes)}")
        shape = (8192, 4096) if n == 100_000_000 else (64, 1500)
        s = D.to_device(np.random.default_rng(2).standard_normal(shape, np.float32))
        so = D.to_device(np.empty(shape, np.float32))
        got = fractions(jg.nn.softmax, jg.TensorSpec(list(shape)), [s], [so],
                        8 * shape[0] * shape[1])
        print(f"  softmax {shape}: fraction of the one-read-one-write minimum: {got}")
    finally:
        ptx.batch_depth = chosen


def bench_softmax(drv, copy_bw, torch, jax, shape=(8192, 4096)):
    x = np.random.randn(*shape).astype(np.float32)
    xd, yd = D.to_device(x), D.to_device(np.empty_like(x))
    exe = compiled(jg.nn.softmax, jg.TensorSpec(list(shape)))
    t = timeit(lambda: exe.run_device([xd], outs=[yd]), drv.synchronize)
    e = np.exp(x[:4] - x[:4].max(1, keepdims=True))
    np.testing.assert_allclose(yd.numpy()[:4], e / e.sum(1, keepdims=True), rtol=1e-5,
                               atol=1e-6)
    floor = 2 * x.nbytes / copy_bw
    note = f"{floor / t:.2f} of the one-read-one-write minimum"
    if torch is not None:
        xt = torch.from_numpy(x).cuda()
        tt = timeit(lambda: torch.softmax(xt, 1), torch.cuda.synchronize)
        note += f"; PyTorch {tt * 1e3:.3f} ms, ratio jitgraph/PyTorch = {t / tt:.2f}"
    if jax is not None:
        tj = time_jax(jax, lambda v: jax.nn.softmax(v, axis=1), x)
        note += f"; jax.jit {tj * 1e3:.3f} ms, ratio jitgraph/jax = {t / tj:.2f}"
    row(f"row softmax {shape[0]}x{shape[1]} f32", t, note)


def bench_mlp(drv, torch, jax, batch=1024, sizes=(784, 1024, 10)):
    rng = np.random.RandomState(0)
    x = rng.randn(batch, sizes[0]).astype(np.float32)
    y = rng.randint(0, sizes[2], batch).astype(np.int32)

    def make(backend):
        w1 = jg.Variable(rng.randn(sizes[0], sizes[1]).astype(np.float32) * 0.05)
        b1 = jg.Variable(np.zeros(sizes[1], np.float32))
        w2 = jg.Variable(rng.randn(sizes[1], sizes[2]).astype(np.float32) * 0.05)
        vs = [w1, b1, w2]

        @jg.function(backend=backend)
        def step(xb, yb):
            with jg.GradientTape() as tape:
                h = jg.nn.relu(xb @ w1 + b1)
                loss = jg.reduce_mean(jg.nn.sparse_softmax_cross_entropy_with_logits(
                    labels=yb, logits=h @ w2))
            for v, g in zip(vs, tape.gradient(loss, vs), strict=False):
                v.assign_sub(0.01 * g)
            return loss
        return step

    gpu_step = D.device_function(make("cuda"))
    xd, yd = D.to_device(x), D.to_device(y)
    with D.resident_variables():
        t = timeit(lambda: gpu_step(xd, yd), drv.synchronize)
        # steps issued back to back, one synchronize at the end: the host's share
        t0 = time.perf_counter()
        issues = 2 if QUICK else 20
        for _ in range(issues):
            gpu_step(xd, yd)
        issue = (time.perf_counter() - t0) / issues
        drv.synchronize()
        blas = "n/a"
        if cuda_blas.get() is not None:  # its products (< MIN_FMAS) forced through cuBLAS
            min_fmas, cuda_blas.MIN_FMAS = cuda_blas.MIN_FMAS, 0
            try:
                blas = f"{timeit(lambda: gpu_step(xd, yd), drv.synchronize) * 1e3:.3f} ms"
            finally:
                cuda_blas.MIN_FMAS = min_fmas
    cpu_step = make("cpu")
    tc = timeit(lambda: cpu_step(x, y), lambda: None, repeat=5)
    note = (f"matmuls through cuBLAS {blas}; host issues a step in {issue * 1e3:.3f} ms; "
            f"cpu backend {tc * 1e3:.2f} ms (speedup {tc / t:.1f}x)")
    if torch is not None:
        net = torch.nn.Sequential(torch.nn.Linear(sizes[0], sizes[1]), torch.nn.ReLU(),
                                  torch.nn.Linear(sizes[1], sizes[2])).cuda()
        opt = torch.optim.SGD(net.parameters(), lr=0.01)
        xt, yt = torch.from_numpy(x).cuda(), torch.from_numpy(y).long().cuda()

        def tstep():
            opt.zero_grad()
            loss = torch.nn.functional.cross_entropy(net(xt), yt)
            loss.backward()
            opt.step()
        tt = timeit(tstep, torch.cuda.synchronize)
        note += f"; PyTorch {tt * 1e3:.3f} ms, ratio jitgraph/PyTorch = {t / tt:.2f}"
    if jax is not None:
        jnp = jax.numpy
        params = [jnp.asarray(rng.randn(sizes[0], sizes[1]).astype(np.float32) * 0.05),
                  jnp.zeros(sizes[1], jnp.float32),
                  jnp.asarray(rng.randn(sizes[1], sizes[2]).astype(np.float32) * 0.05)]

        def loss(p, xb, yb):
            logits = jax.nn.relu(xb @ p[0] + p[1]) @ p[2]
            return -jnp.mean(jnp.take_along_axis(jax.nn.log_softmax(logits), yb[:, None], 1))

        @jax.jit
        def jstep(p, xb, yb):
            return [a - 0.01 * g for a, g in zip(p, jax.grad(loss)(p, xb, yb), strict=True)]

        xj, yj = jax.device_put(x), jax.device_put(y)
        state = [params]

        def call():
            state[0] = jstep(state[0], xj, yj)
        with jax.default_matmul_precision("float32"):  # no TF32, as jitgraph and PyTorch
            tj = timeit(call, lambda: state[0][0].block_until_ready())
        note += f"; jax.jit {tj * 1e3:.3f} ms, ratio jitgraph/jax = {t / tj:.2f}"
    row(f"MLP train step {sizes} batch {batch}", t, note)


def bench_matmul(drv, torch, n=4096):
    """matmul n^3 float32 through jitgraph: its own register-tiled kernel and cuBLAS
    (cuda_blas.py, the default where the library loads), against cuBLAS through PyTorch
    or CuPy."""
    a = np.random.randn(n, n).astype(np.float32)
    b = np.random.randn(n, n).astype(np.float32)
    ad, bd, cd = D.to_device(a), D.to_device(b), D.to_device(np.empty_like(a))
    exe = compiled(jg.matmul, jg.TensorSpec([n, n]), jg.TensorSpec([n, n]))
    times = {}
    for label, enabled in (("own kernel", False), ("through cuBLAS", True)):
        if enabled and cuda_blas.get() is None:
            continue
        cuda_blas.ENABLED = enabled
        try:
            times[label] = timeit(lambda: exe.run_device([ad, bd], outs=[cd]), drv.synchronize,
                                  repeat=5)
            np.testing.assert_allclose(cd.numpy()[:2], a[:2] @ b, rtol=2e-3, atol=2e-3)
        finally:
            cuda_blas.ENABLED = True
    flops = 2 * n ** 3
    ref = None
    if torch is not None:
        at, bt = torch.from_numpy(a).cuda(), torch.from_numpy(b).cuda()
        torch.backends.cuda.matmul.allow_tf32 = False
        ref = ("PyTorch/cuBLAS", timeit(lambda: at @ bt, torch.cuda.synchronize, repeat=5))
    else:
        try:
            import cupy

            ac, bc = cupy.asarray(a), cupy.asarray(b)
            ref = ("CuPy/cuBLAS", timeit(lambda: ac @ bc, cupy.cuda.Device().synchronize,
                                         repeat=5))
        except ImportError:
            pass
    for label, t in times.items():
        note = f"{flops / t / 1e12:.1f} TFLOP/s"
        if ref:
            note += f"; {ref[0]} {flops / ref[1] / 1e12:.1f} TFLOP/s, ratio = {ref[1] / t:.2f}"
        row(f"matmul {n}x{n}x{n} f32, {label}", t, note)


def main(argv):
    global QUICK
    emulate = QUICK = "--emulator" in argv
    if cuda_driver.missing() and not emulate:
        print(f"bench_cuda: no GPU here ({cuda_driver.missing()})")
        return 0
    cuda_driver.use("emulator" if emulate else "gpu")
    drv = cuda_driver.get()
    torch = None if emulate else torch_cuda()
    jax = None if emulate else jax_gpu()
    print(f"device: {drv.name} ({drv.arch()}), torch: {torch.__version__ if torch else 'no'}, "
          f"jax: {jax.__version__ if jax else 'no'}")
    if emulate:
        print("(emulator: small sizes to check this script; the times are not figures)")
    small = dict(n=1 << 16) if emulate else {}
    copy_bw = copy_bandwidth(drv, **small)
    benches = [lambda: bench_elementwise(drv, copy_bw, torch, jax, **small),
               lambda: bench_variants(drv, copy_bw, **small),
               lambda: bench_softmax(drv, copy_bw, torch, jax, **(
                   dict(shape=(64, 1500)) if emulate else {})),
               lambda: bench_mlp(drv, torch, jax, **(
                   dict(batch=32, sizes=(50, 64, 10)) if emulate else {})),
               lambda: bench_matmul(drv, torch, **(dict(n=96) if emulate else {}))]
    failed = 0
    for f in benches:
        try:
            f()
        except Exception as e:  # report and go on: one failure must not hide the rest
            print(f"FAILED: {type(e).__name__}: {e}")
            traceback.print_exc()
            failed += 1
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
