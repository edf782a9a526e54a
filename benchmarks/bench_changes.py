"""A/B measurements of single cpu-backend features, each switched on and off in one process
(interleaved rounds, medians), for the "what changed" table of RESULTS.md.

    python benchmarks/bench_changes.py [streaming|page_offsets|loop_copies|rotation|
                                        vector_math|output_pool|dispatch|siblings|
                                        math_text|loop_grad|row_operands|
                                        gather_fusion]...

With no argument it runs them all (~1 minute).
"""

import statistics
import sys
import time
import timeit

import numpy as np
from bench_w4_newton import newton_jg as newton
from bench_w8_huber import huber_jg as huber
from common import empty_compile_cache

import jitgraph as jg
from jitgraph import codegen
from jitgraph.codegen import loop_copies, loops, outputs


def _rounds(fns, args, rounds=11):
    res = {k: [] for k in fns}
    for _ in range(rounds):
        for k, f in fns.items():
            t0 = time.perf_counter()
            f(*args)
            res[k].append(time.perf_counter() - t0)
    return {k: statistics.median(v) for k, v in res.items()}


def streaming():
    """Streaming stores on/off per kernel (loops.STREAM_MIN_BYTES), 10M float32."""
    n = 10_000_000
    rng = np.random.default_rng(0)
    x = rng.random(n, np.float32) + 0.5
    y = rng.random(n, np.float32) + 0.5
    cases = {
        "x*y + x": lambda x, y: x * y + x,
        "8 arithmetic ops": lambda x, y: (x * y + x) * 0.5 - y * y + x * 3.0 - 1.0,
        "one division": lambda x, y: x / y + x,
        "sqrt": lambda x, y: jg.sqrt(x) + y,
        "exp(x) + y": lambda x, y: jg.exp(x) + y,
        "W1 chain": lambda x, y: jg.tanh(x * y + 1.0) * 0.5 + x * x - y / (
            1.0 + jg.exp(-x)),
    }
    saved = loops.STREAM_MIN_BYTES
    fns = {}
    try:
        for name, fn in cases.items():
            for on in (True, False):
                loops.STREAM_MIN_BYTES = saved if on else 1 << 62
                f = jg.function(fn)
                f(x, y)
                fns[(name, on)] = f
    finally:
        loops.STREAM_MIN_BYTES = saved
    med = _rounds(fns, (x, y))
    print("| kernel, 10M float32 | streaming ms | plain ms | ratio |\n|---|---|---|---|")
    for name in cases:
        a, b = med[(name, True)] * 1e3, med[(name, False)] * 1e3
        print(f"| {name} | {a:.2f} | {b:.2f} | {b / a:.2f} |")


def _newton_on_off(pass_name, a, rounds):
    """Medians {True: s, False: s} of the Newton loop compiled with ``loop_copies.<pass_name>``
    and with it replaced by a no-op."""
    orig = getattr(loop_copies, pass_name)
    fns = {}
    try:
        for on in (True, False):
            setattr(loop_copies, pass_name, orig if on else (lambda steps: 0))
            f = jg.function(newton)
            f(a)  # compiled now, under this setting
            fns[on] = f
    finally:
        setattr(loop_copies, pass_name, orig)
    return _rounds(fns, (a,), rounds=rounds)


def loop_copies_():
    """Loop-copy elision on/off for the Newton loop (W4's function), 1M float32."""
    a = np.random.default_rng(0).random(1 << 20, np.float32) * 100 + 0.01
    med = _newton_on_off("elide_loop_copies", a, 21)
    print(f"Newton loop, 1M float32: elided {med[True] * 1e3:.2f} ms, with the copy "
          f"{med[False] * 1e3:.2f} ms ({med[False] / med[True]:.2f}x)")


def rotation():
    """Loop rotation + the update joining the convergence test (loop_copies.rotate_loops,
    siblings.py) on/off, the Newton loop on 16M float32 (beyond the L3 cache)."""
    a = np.random.default_rng(0).uniform(1, 100, 16_000_000).astype(np.float32)
    med = _newton_on_off("rotate_loops", a, 9)
    print(f"Newton loop, 16M float32: rotated {med[True] * 1e3:.1f} ms, condition apart "
          f"{med[False] * 1e3:.1f} ms ({med[False] / med[True]:.2f}x)")


def output_pool():
    """Softmax 4096x4096 with the output pool on and off."""
    x = np.random.default_rng(0).standard_normal((4096, 4096)).astype(np.float32)
    f = jg.function(lambda t: jg.nn.softmax(t, axis=-1))
    f(x)
    limit = outputs._free_limit()
    res = {True: [], False: []}
    try:
        for _ in range(11):
            for on in (True, False):
                outputs._limit = limit if on else 0
                outputs.release()
                f(x)  # the first call of a setting fills the pool (or not)
                t0 = time.perf_counter()
                for _ in range(3):
                    f(x)
                res[on].append((time.perf_counter() - t0) / 3)
    finally:
        outputs._limit = limit
    on, off = (statistics.median(res[k]) * 1e3 for k in (True, False))
    print(f"softmax 4096^2: pool {on:.2f} ms, fresh outputs {off:.2f} ms ({off / on:.2f}x)")


def dispatch():
    """x + 1 on a float32 scalar: the native dispatcher, the Python path, numpy."""
    x = np.array(1.5, np.float32)
    t = jg.constant(x)
    f = jg.function(lambda v: v + 1.0)
    for _ in range(5):
        f(t)
    native = f._native

    def python_path():
        f._native = None
        try:
            return f(t)
        finally:
            f._native = native

    n = 100_000
    for name, fn in (("f(t), native dispatcher", lambda: f(t)),
                     ("the builtin alone", lambda: native(t)),
                     ("f(t), Python path", python_path),
                     ("numpy x + np.float32(1)", lambda: x + np.float32(1.0))):
        best = min(timeit.repeat(fn, number=n, repeat=5)) / n
        print(f"{name}: {best * 1e9:.0f} ns")


def page_offsets():
    """The output pool's block placement: 64 bytes into a page (what 64-byte alignment of
    a fresh NumPy block gave) against the rotating offsets, W1's chain on 10M float32."""
    n = 10_000_000
    rng = np.random.default_rng(0)
    x, y = rng.random(n, np.float32), rng.random(n, np.float32)
    f = jg.function(lambda x, y: jg.tanh(x * y + 1.0) * 0.5 + x * x - y / (1.0 + jg.exp(-x)))
    f(x, y)
    saved = outputs._PAGE_OFFSETS
    res = {"64": [], "rotating": []}
    try:
        for _ in range(11):
            for name, offs in (("64", (64,)), ("rotating", saved)):
                outputs._PAGE_OFFSETS = offs
                outputs.release()
                f(x, y)  # a new block with this placement
                t0 = time.perf_counter()
                for _ in range(3):
                    f(x, y)
                res[name].append((time.perf_counter() - t0) / 3)
    finally:
        outputs._PAGE_OFFSETS = saved
    a, b = (statistics.median(res[k]) * 1e3 for k in ("64", "rotating"))
    print(f"W1 chain (inputs {x.ctypes.data % 4096} bytes into their pages): output at page "
          f"offset 64 {a:.2f} ms, rotating offsets {b:.2f} ms ({a / b:.2f}x)")


def vector_math():
    """vecmath through vector variants (llvm_cpu.vector_math, here for every kernel: the
    threshold set to 1) against inlined: W6's first call (a new constant each time, so
    nothing is cached) and steady states of kernels with vecmath (W1: two call sites, the
    threshold's reason)."""
    from bench_w6_fifty_ops import fifty

    from jitgraph.codegen import llvm_cpu

    rng = np.random.default_rng(0)
    x1 = rng.random(1 << 20, np.float32)
    x10, y10 = rng.random(10_000_000, np.float32), rng.random(10_000_000, np.float32)
    sm = rng.standard_normal((4096, 4096)).astype(np.float32)

    def w1(x, y):
        return jg.tanh(x * y + 1.0) * 0.5 + x * x - y / (1.0 + jg.exp(-x))

    first = {True: [], False: []}
    fns = {}
    min_calls = llvm_cpu.VECTOR_MATH_MIN_CALLS
    with empty_compile_cache():
        try:
            jg.function(fifty(jg, 0.1))(x1)
            for i in range(5):
                for on in (True, False):
                    llvm_cpu.VECTOR_MATH = on
                    llvm_cpu.VECTOR_MATH_MIN_CALLS = 1
                    f = jg.function(fifty(jg, 0.2 + i * 1e-3 + on * 1e-4))
                    t0 = time.perf_counter()
                    f(x1)
                    first[on].append(time.perf_counter() - t0)
                    if i == 0:  # compiled here, under this setting
                        fns[("W6 chain, 1M", on)] = (f, (x1,))
                        fns[("W1 chain, 10M", on)] = (jg.function(w1), (x10, y10))
                        fns[("softmax 4096^2", on)] = (
                            jg.function(lambda t: jg.nn.softmax(t, axis=-1)), (sm,))
                        for g, args in (fns[("W1 chain, 10M", on)],
                                        fns[("softmax 4096^2", on)]):
                            g(*args)
        finally:
            llvm_cpu.VECTOR_MATH, llvm_cpu.VECTOR_MATH_MIN_CALLS = True, min_calls
    a, b = (statistics.median(first[k]) * 1e3 for k in (True, False))
    print(f"W6 first call: vector variants {a:.1f} ms, inlined {b:.1f} ms ({b / a:.2f}x)")
    for f, args in fns.values():
        f(*args)
    res = {k: [] for k in fns}
    for _ in range(9):
        for k, (f, args) in fns.items():
            t0 = time.perf_counter()
            f(*args)
            res[k].append(time.perf_counter() - t0)
    for name in ("W6 chain, 1M", "W1 chain, 10M", "softmax 4096^2"):
        a, b = (statistics.median(res[(name, k)]) * 1e3 for k in (True, False))
        print(f"{name}: vector variants {a:.2f} ms, inlined {b:.2f} ms")


def _twenty(f, a, b):
    for _ in range(20):
        f(a, b)  # each result dropped at once, as in a training loop


def siblings():
    """Sibling fusion on/off for the Huber loss and its gradient, 1M float32."""
    rng = np.random.default_rng(0)
    p, t = rng.standard_normal(1 << 20, np.float32), rng.standard_normal(1 << 20, np.float32)
    fns = {}
    try:
        for on in (True, False):
            codegen.SIBLING_FUSION = on
            f = jg.function(huber)
            f(p, t)
            fns[on] = lambda a, b, f=f: _twenty(f, a, b)
    finally:
        codegen.SIBLING_FUSION = True
    med = _rounds(fns, (p, t), rounds=15)
    print(f"Huber + gradient, 1M float32: one kernel {med[True] / 20 * 1e6:.0f} us, two "
          f"{med[False] / 20 * 1e6:.0f} us ({med[False] / med[True]:.2f}x)")


def math_text():
    """vecmath's function bodies and vector variants generated once per process
    (scalar._MATH_TEXT, llvm_cpu._VARIANTS) against generated for every module (the caches
    emptied before each compile): W6's first call, fresh functions alternating."""
    from bench_w6_fifty_ops import fifty

    from jitgraph.codegen import llvm_cpu, scalar

    x = np.random.default_rng(0).random(1 << 20, np.float32)
    first = {True: [], False: []}
    with empty_compile_cache():
        jg.function(fifty(jg, 0.1))(x)
        for i in range(12):
            for reuse in (True, False):
                if not reuse:
                    scalar._MATH_TEXT.clear()
                    llvm_cpu._VARIANTS.clear()
                f = jg.function(fifty(jg, 0.2 + i * 1e-3 + reuse * 1e-4))
                t0 = time.perf_counter()
                f(x)
                first[reuse].append(time.perf_counter() - t0)
    (a, b), (c, e) = ((statistics.median(first[k]) * 1e3, min(first[k]) * 1e3)
                      for k in (True, False))
    print(f"W6 first call: text reused {a:.1f} ms (best {b:.1f}), generated per module "
          f"{c:.1f} ms (best {e:.1f}): {c / a:.2f}x")


def loop_grad():
    """The gradient of a while_loop: (a) the saving loop stands for the forward loop (the body
    runs forward once, not twice), (b) it also stacks the body's matmul results (the reverse
    loop does not recompute them). An LSTM training step (bench_lstm.py's), each setting
    compiled in one process, interleaved rounds."""
    import bench_lstm as b

    from jitgraph.autodiff import control

    configs = [("LSTM(64), batch 32, 100 steps x 32", dict(steps=100)),
               ("LSTM(256), batch 256, 20 steps x 128", dict(steps=20, batch=256, units=256,
                                                             features=128))]
    print("| step | neither ms | (a) ms | (a)+(b) ms | ratio |\n|---|---|---|---|---|")
    for title, cfg in configs:
        saved = (b.BATCH, b.UNITS, b.FEATURES)
        b.BATCH, b.UNITS, b.FEATURES = (cfg.get("batch", b.BATCH), cfg.get("units", b.UNITS),
                                        cfg.get("features", b.FEATURES))
        rng = np.random.default_rng(0)
        x = jg.constant(rng.standard_normal((b.BATCH, cfg["steps"], b.FEATURES), np.float32))
        y = jg.constant(rng.standard_normal((b.BATCH, 1), np.float32))
        fns, forward, residuals = {}, control._forward_from_save_loop, control._RESIDUAL_OPS
        try:
            for name, fwd, res in (("neither", False, set()), ("a", True, set()),
                                   ("ab", True, residuals)):
                control._forward_from_save_loop = forward if fwd else (lambda *a: False)
                control._RESIDUAL_OPS = res
                f = b.jg_step(b.init_weights(), backend="cpu", steps=cfg["steps"])
                f(x, y)
                fns[name] = f
        finally:
            control._forward_from_save_loop, control._RESIDUAL_OPS = forward, residuals
            b.BATCH, b.UNITS, b.FEATURES = saved
        med = _rounds(fns, (x, y), rounds=15)
        n, a, ab = (med[k] * 1e3 for k in ("neither", "a", "ab"))
        print(f"| {title} | {n:.2f} | {a:.2f} | {ab:.2f} | {n / ab:.2f}x |")


def _per_call(fns, rounds=15):
    """Medians of seconds per call of {key: (f, args)}: each sample a batch of calls of ~3 ms
    after one untimed call, the order shuffled each round (the first to touch a shared
    input pays its cache misses)."""
    import random

    reps = {}
    for k, (f, a) in fns.items():
        t0 = time.perf_counter()
        f(*a)
        reps[k] = max(1, int(3e-3 / max(time.perf_counter() - t0, 1e-7)))
    res, keys = {k: [] for k in fns}, list(fns)
    rnd = random.Random(0)
    for _ in range(rounds):
        rnd.shuffle(keys)
        for k in keys:
            f, a = fns[k]
            f(*a)
            t0 = time.perf_counter()
            for _ in range(reps[k]):
                f(*a)
            res[k].append((time.perf_counter() - t0) / reps[k])
    return {k: statistics.median(v) for k, v in res.items()}


def _gated(g, h, p, tanh):
    return g * tanh(h + p) + (1 - g) * h


def row_operands():
    """Operands broadcast along the innermost loop (a (batch, 1) mask or weight against a
    (batch, 64) state) loaded once per row (loops.invariant_loads) or, switched off, per
    element, against the same kernel with a full-shape operand and NumPy: 2000 steps of a
    while_loop reading the step's (32, 1) operand from a buffer another kernel wrote (the
    step's gather kept apart, GATHER_FUSION off, or a matmul's gate), and plain kernels."""
    from jitgraph.passes import fusion

    steps = 2000
    u = np.random.default_rng(1).standard_normal((64, 1)).astype(np.float32) * 0.1

    def loop(step):
        def f(h, w, hp):
            def body(i, h):
                return i + 1, step(h, jg.gather(w, i), hp)
            return jg.while_loop(lambda i, h: i < steps, body, (0, h))[1]
        return f

    def np_loop(step):
        def f(h, w, hp):
            for i in range(steps):
                h = step(h, w[i], hp)
            return h
        return f

    def softmax(z):
        e = np.exp(z - z.max(-1, keepdims=True))
        return e / e.sum(-1, keepdims=True)

    rng = np.random.default_rng(0)
    h, hp = rng.random((32, 64), np.float32), rng.random((32, 64), np.float32)
    w = rng.random((steps, 32, 1), np.float32)
    x, y, v = (rng.random((4096, 64), np.float32), rng.random((4096, 64), np.float32),
               rng.random((4096, 1), np.float32))
    cases = [  # name, jitgraph fn, NumPy fn, args with the (.., 1) operand, full-shape args
        ("while_loop: where(mask_t, tanh(h/2 + p), h)",
         loop(lambda h, m, p: jg.where(m, jg.tanh(h * 0.5 + p), h)),
         np_loop(lambda h, m, p: np.where(m, np.tanh(h * 0.5 + p), h)), (h, w > 0.5, hp)),
        ("while_loop: tanh(h/2 + p) * w_t + (1 - w_t) * h",
         loop(lambda h, w, p: jg.tanh(h * 0.5 + p) * w + (1 - w) * h),
         np_loop(lambda h, w, p: np.tanh(h * 0.5 + p) * w + (1 - w) * h), (h, w, hp)),
        ("while_loop: softmax(h * w_t + p)",
         loop(lambda h, w, p: jg.nn.softmax(h * w + p, axis=-1)),
         np_loop(lambda h, w, p: softmax(h * w + p)), (h, w, hp)),
        ("while_loop: g = sigmoid(h @ u); g * tanh(h + p) + (1 - g) * h",
         loop(lambda h, w, p: _gated(jg.sigmoid(jg.matmul(h, u)), h, p, jg.tanh)),
         np_loop(lambda h, w, p: _gated(1 / (1 + np.exp(-(h @ u))), h, p, np.tanh)),
         (h, w, hp)),
        ("(4096, 64): x * w + (1 - w) * y", lambda x, w, y: x * w + (1 - w) * y,
         lambda x, w, y: x * w + (1 - w) * y, (x, v, y)),
        ("(4096, 64): softmax(x * w + y)", lambda x, w, y: jg.nn.softmax(x * w + y, axis=-1),
         lambda x, w, y: softmax(x * w + y), (x, v, y)),
    ]
    orig = loops.invariant_loads
    fns = {}
    with empty_compile_cache():
        for name, fn, ref, args in cases:
            full = list(args)
            full[1] = np.broadcast_to(args[1], args[1].shape[:-1] + (64,)).copy()
            fusion.GATHER_FUSION = False
            try:
                for on in (False, True):
                    loops.invariant_loads = orig if on else (lambda body, dims: [])
                    fns[(name, on)] = (jg.function(fn, backend="cpu"), args)
                    fns[(name, on)][0](*args)  # compiled now, under this setting
                if "@" not in name:  # the gate has no full-shape twin
                    fns[(name, "full")] = (jg.function(fn, backend="cpu"), full)
                    fns[(name, "full")][0](*full)
            finally:
                loops.invariant_loads, fusion.GATHER_FUSION = orig, True
            fns[(name, "numpy")] = (ref, args)
            np.testing.assert_allclose(fns[(name, True)][0](*args), ref(*args), rtol=1e-4,
                                       atol=1e-5)
    med = _per_call(fns)
    print("| kernel, (.., 1) operand | per element ms | once per row ms | ratio | "
          "full-shape operand ms | NumPy ms |\n|---|---|---|---|---|---|")
    for name, *_ in cases:
        a, b, d = (med[(name, k)] * 1e3 for k in (False, True, "numpy"))
        c = f"{med[(name, 'full')] * 1e3:.3f}" if (name, "full") in med else "-"
        print(f"| {name} | {a:.3f} | {b:.3f} | {a / b:.1f}x | {c} | {d:.3f} |")


def gather_fusion():
    """Gathers loaded by the kernel that uses them (passes/fusion.GATHER_FUSION) against
    written to memory and read back: jg.image.resize (a gather per tap and axis, summed
    with weights) and a while_loop reading each step's rows of a table."""
    from jitgraph.passes import fusion

    steps = 2000

    def masked_loop(h, table):
        def body(i, h):
            return i + 1, jg.where(jg.gather(table, i) > 0.5, jg.tanh(h * 0.5 + 1.0), h)
        return jg.while_loop(lambda i, h: i < steps, body, (0, h))[1]

    rng = np.random.default_rng(0)
    img = rng.random((8, 128, 128, 3), np.float32)
    h = rng.random((32, 64), np.float32)
    cases = [
        ("resize bilinear (8,128,128,3) -> 256x256",
         lambda x: jg.image.resize(x, (256, 256)), (img,)),
        ("resize bicubic (8,128,128,3) -> 256x256",
         lambda x: jg.image.resize(x, (256, 256), method="bicubic"), (img,)),
        ("resize bilinear (8,128,128,3) -> 96x96 (downscale)",
         lambda x: jg.image.resize(x, (96, 96)), (img,)),
        ("while_loop, 2000 steps: where(table[i] > .5, ..) (32,64)", masked_loop,
         (h, rng.random((steps, 32, 64), np.float32))),
        ("while_loop, 2000 steps: where(table[i] > .5, ..) (32,1) rows", masked_loop,
         (h, rng.random((steps, 32, 1), np.float32))),
    ]
    fns = {}
    with empty_compile_cache():
        for name, fn, args in cases:
            try:
                for on in (True, False):
                    fusion.GATHER_FUSION = on
                    fns[(name, on)] = (jg.function(fn, backend="cpu"), args)
                    fns[(name, on)][0](*args)  # traced and compiled under this setting
            finally:
                fusion.GATHER_FUSION = True
            np.testing.assert_allclose(fns[(name, True)][0](*args),
                                       fns[(name, False)][0](*args), rtol=1e-5, atol=1e-6)
    med = _per_call(fns)
    print("| case | gather written, read back ms | fused ms | ratio |\n|---|---|---|---|")
    for name, *_ in cases:
        a, b = med[(name, False)] * 1e3, med[(name, True)] * 1e3
        print(f"| {name} | {a:.3f} | {b:.3f} | {a / b:.2f}x |")


ALL = {"streaming": streaming, "page_offsets": page_offsets, "loop_copies": loop_copies_,
       "rotation": rotation, "vector_math": vector_math, "output_pool": output_pool,
       "dispatch": dispatch, "siblings": siblings, "math_text": math_text,
       "loop_grad": loop_grad, "row_operands": row_operands,
       "gather_fusion": gather_fusion}

if __name__ == "__main__":
    for name in sys.argv[1:] or list(ALL):
        print(f"## {name}")
        ALL[name]()
        print()
