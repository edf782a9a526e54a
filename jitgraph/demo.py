"""``python -m jitgraph demo``: a tour in one screen. Each part is a function ``part_*`` listed
in PARTS, so other demos (e.g. a training run) are added by appending to that list.

The tracing part defines a jg.function with a fusable elementwise chain, a reduction and a
tensor-dependent while loop, prints its traced graph, runs it, checks it against NumPy and
times eager vs compiled execution.
"""

import time

import numpy as np

import jitgraph as jg


@jg.function
def soft_norm(x, tol):
    """Row norms of ``tanh(x) * 0.5 + x * x`` by Newton's method, iterated to ``tol``."""
    y = jg.tanh(x) * 0.5 + x * x  # elementwise chain: one fused kernel for compiled backends
    s = jg.reduce_sum(y * y, axis=1)  # the reduction that ends it

    def not_converged(r, i):
        return jg.reduce_max(jg.abs(r * r - s) / s) > tol

    def newton(r, i):
        return 0.5 * (r + s / r), i + 1

    # the trip count depends on the data; maximum_iterations bounds it
    r, steps = jg.while_loop(not_converged, newton, (s, 0), maximum_iterations=100)
    return r, steps


def numpy_soft_norm(x):
    y = np.tanh(x) * 0.5 + x * x
    return np.sqrt(np.sum(y * y, axis=1))


def _time(fn, repeat=20):
    fn()
    best = float("inf")
    for _ in range(3):
        t = time.perf_counter()
        for _ in range(repeat):
            fn()
        best = min(best, (time.perf_counter() - t) / repeat)
    return best


def part_tracing():
    x = np.random.default_rng(0).uniform(-2.0, 2.0, (512, 64)).astype(np.float32)
    tol = 1e-6
    print("== jg.function: trace, inspect, run ==")
    cf = soft_norm.get_concrete_function(jg.TensorSpec([None, 64], jg.float32), tol)
    print(cf.graph)
    r, steps = soft_norm(x, tol)
    err = np.max(np.abs(r.numpy() - numpy_soft_norm(x)) / numpy_soft_norm(x))
    print(f"\nNewton steps: {int(steps)}; max relative difference to NumPy: {err:.2e}")
    eager = soft_norm.python_function
    t_eager = _time(lambda: eager(jg.constant(x), tol))
    t_comp = _time(lambda: soft_norm(x, tol))
    backend = soft_norm._backend or jg.config.default_backend()
    print(f"eager: {t_eager * 1e3:.2f} ms   jg.function ({backend}): {t_comp * 1e3:.2f} ms   "
          f"ratio {t_eager / t_comp:.2f}x")
    return err < 1e-4


def part_cuda():
    """The same function with backend="cuda": on the GPU when there is one, else on the
    cuda backend's CPU emulator (the same NVPTX kernels, one POSIX thread per GPU thread)."""
    from .codegen import cuda_driver

    print("\n== backend='cuda' ==")
    why = cuda_driver.missing()
    before = cuda_driver.use("emulator" if why else "gpu")
    try:
        if why:
            print(f"no GPU here ({why}).\nRunning the cuda backend on its CPU emulator "
                  f"(JITGRAPH_CUDA_EMULATOR=1): the same kernels, compiled for this CPU")
        else:
            print(f"GPU: {cuda_driver.get().name}")
        x = np.random.default_rng(1).uniform(-2.0, 2.0, (96, 64)).astype(np.float32)
        f = jg.function(soft_norm.python_function, backend="cuda")
        r, steps = f(x, 1e-6)
        err = np.max(np.abs(r.numpy() - numpy_soft_norm(x)) / numpy_soft_norm(x))
        ptx = f.get_concrete_function(x, 1e-6).explain("ptx")
        print(f"{ptx.count('.entry ')} PTX kernels; Newton steps: {int(steps)}; max relative "
              f"difference to NumPy: {err:.2e}")
    finally:
        cuda_driver.use(before)
    return err < 1e-4


PARTS = [part_tracing, part_cuda]
PARTS.append(__import__("jitgraph.keras.demo", fromlist=["demo"]).part_keras)


def main():
    ok = all(part() for part in PARTS)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
