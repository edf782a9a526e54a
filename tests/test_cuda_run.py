"""The cuda backend running: every op case cuda == cpu == interpreter == NumPy (static and
unknown shapes), control flow, a training step, large reductions and matmuls, device
tensors and resident variables.

Each test runs twice: on the CPU emulator of the device (cuda_emulator.py, ``emu``, in
every test run; smaller sizes where the GPU's would take minutes of barrier-bound
emulation) and on a GPU (``gpu``-marked, skipped where tests/conftest.py finds none; run
on a GPU machine with scripts/gpu_check.sh)."""

import graph_gen
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from op_cases import CASES

import jitgraph as jg
from jitgraph import backends, errors
from jitgraph.codegen import cuda as cuda_backend
from jitgraph.codegen import cuda_blas, cuda_driver
from jitgraph.codegen import cuda_device as D

S = jg.TensorSpec


@pytest.fixture(autouse=True, params=[pytest.param("emulator", id="emu"),
                                      pytest.param("gpu", id="gpu", marks=pytest.mark.gpu)])
def device(request):
    before = cuda_driver.use(request.param)
    yield request.param
    cuda_driver.use(before)


def _size(device, gpu, emu):
    return gpu if device == "gpu" else emu


def _close(got, want, f32_tol=2e-5):
    got, want = np.asarray(got), np.asarray(want)
    assert got.shape == want.shape, (got.shape, want.shape)
    if want.dtype.kind == "f":
        tol = {np.float16: 1e-2, np.float32: f32_tol}.get(want.dtype.type, 1e-10)
        np.testing.assert_allclose(got, want, rtol=tol, atol=tol)
    else:
        np.testing.assert_array_equal(got, want)


def _graph(c, dynamic):
    specs = [S([None] * np.ndim(a) if dynamic else np.shape(a),
               jg.as_dtype(np.asarray(a).dtype)) for a in c.args]
    return jg.function(lambda *xs: c.fn(*xs), backend="interpreter") \
        .get_concrete_function(*specs).graph


def _run(name, graph, args):
    return backends.get(name).compile(graph).run([np.asarray(a) for a in args])


@pytest.mark.parametrize("dynamic", [False, True], ids=["static", "dynamic"])
@pytest.mark.parametrize("c", CASES, ids=repr)
def test_op_case_cuda_matches_cpu_interpreter_numpy(c, dynamic):
    try:
        g = _graph(c, dynamic)
    except (errors.InvalidArgumentError, TypeError):
        assert dynamic  # needs known dims; the static variant covers the op
        return
    ref = _run("interpreter", g, c.args)
    try:
        cpu = _run("cpu", g, c.args)
    except Exception as e:
        with pytest.raises(type(e)):
            _run("cuda", g, c.args)
        return
    got = _run("cuda", g, c.args)
    for a, b, r in zip(got, cpu, ref, strict=False):
        _close(a, r)
        _close(a, b)


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(graph_gen.graphs())
def test_random_graphs_cuda_matches_eager(case):
    """Generated graphs (elementwise, broadcasting, reductions, reshapes, cond, counted
    while loops, unknown dims) against eager jitgraph's values."""
    from jitgraph import passes

    out = backends.get("cuda").compile(passes.optimize(case.graph)).run(case.args)
    graph_gen.assert_same(out, case.expected)


def test_control_flow():
    def f(x, n):
        i, s = jg.while_loop(lambda i, s: i < n, lambda i, s: (i + 1, s * 1.5 + 1),
                             (jg.constant(0), x))
        return jg.cond(jg.reduce_sum(s) > 0, lambda: s * 2, lambda: -s)

    x = np.random.randn(1000).astype(np.float32)
    for n in (0, 3, 7):
        for sign in (1, -1):
            args = [sign * np.abs(x), jg.constant(n)]
            want = jg.function(f, backend="interpreter")(*args).numpy()
            _close(jg.function(f, backend="cuda")(*args).numpy(), want)


def _mlp_step(backend):
    rng = np.random.RandomState(0)
    w1 = jg.Variable(rng.randn(20, 64).astype(np.float32) * 0.2)
    b1 = jg.Variable(np.zeros(64, np.float32))
    w2 = jg.Variable(rng.randn(64, 3).astype(np.float32) * 0.2)
    vs = [w1, b1, w2]

    @jg.function(backend=backend)
    def step(x, y):
        with jg.GradientTape() as tape:
            h = jg.nn.relu(x @ w1 + b1)
            loss = jg.reduce_mean(jg.nn.sparse_softmax_cross_entropy_with_logits(
                labels=y, logits=h @ w2))
        for v, g in zip(vs, tape.gradient(loss, vs), strict=False):
            v.assign_sub(0.1 * g)
        return loss

    return step, vs


def test_training_step_cuda_equals_cpu(device):
    rng = np.random.RandomState(1)
    n = _size(device, 256, 96)
    x = rng.randn(n, 20).astype(np.float32)
    y = rng.randint(0, 3, n).astype(np.int32)
    (sc, vc), (sg, vg) = _mlp_step("cpu"), _mlp_step("cuda")
    for _ in range(_size(device, 5, 3)):
        _close(sg(x, y).numpy(), sc(x, y).numpy(), 1e-4)
    for a, b in zip(vg, vc, strict=False):
        _close(a.numpy(), b.numpy(), 1e-4)


def test_training_step_with_resident_variables(device):
    rng = np.random.RandomState(2)
    n = _size(device, 128, 48)
    x = rng.randn(n, 20).astype(np.float32)
    y = rng.randint(0, 3, n).astype(np.int32)
    (sc, vc), (sg, vg) = _mlp_step("cpu"), _mlp_step("cuda")
    dstep = D.device_function(sg)
    xd, yd = D.to_device(x), D.to_device(y)
    with D.resident_variables():
        for _ in range(_size(device, 4, 3)):
            loss = dstep(xd, yd)
            sc(x, y)
        assert isinstance(loss, D.DeviceTensor)
    for a, b in zip(vg, vc, strict=False):
        _close(a.numpy(), b.numpy(), 1e-4)


def test_device_tensors_chain_without_host():
    f = D.device_function(jg.function(lambda x: jg.exp(x) * 0.5))
    x = np.random.randn(1 << 16).astype(np.float32)
    y = f(f(D.to_device(x)))
    assert isinstance(y, D.DeviceTensor) and y.shape == x.shape
    _close(y.numpy(), np.exp(np.exp(x) * 0.5) * 0.5, 1e-5)
    _close(np.asarray(y), y.numpy())


@pytest.mark.parametrize("shape,axis,emu_shape", [
    ((3_000_001,), None, (300_001,)), ((1000, 3001), 1, (70, 3001)),
    ((3001, 1000), 0, (3001, 100)), ((7, 1, 50000), (0, 2), (7, 1, 5000))])
def test_large_reductions(shape, axis, emu_shape, device):
    x = np.random.randn(*_size(device, shape, emu_shape)).astype(np.float64)
    for name in ("reduce_sum", "reduce_max", "reduce_min", "reduce_mean"):
        f = jg.function(lambda v, name=name: getattr(jg, name)(v, axis=axis), backend="cuda")
        _close(f(x).numpy(), getattr(np, name.split("_")[1] if name != "reduce_mean"
                                     else "mean")(x, axis=axis))
    xi = (x > 0).astype(bool)
    _close(jg.function(lambda v: jg.reduce_any(v, axis=axis), backend="cuda")(xi).numpy(),
           np.any(xi, axis=axis))


def test_softmax_and_argmax_large(device):
    x = np.random.randn(_size(device, 513, 129), 2049).astype(np.float32)
    e = np.exp(x - x.max(1, keepdims=True))
    _close(jg.function(jg.nn.softmax, backend="cuda")(x).numpy(), e / e.sum(1, keepdims=True))
    _close(jg.function(lambda v: jg.argmax(v, axis=1), backend="cuda")(x).numpy(),
           np.argmax(x, 1))


@pytest.mark.parametrize("dt", [np.float32, np.float64, np.int32, np.bool_])
def test_column_reductions_split_over_the_rows(dt):
    """Few outputs, many rows (a bias gradient): the rows are split over blockIdx.y and a
    second kernel combines the partials; sum, mean, max, min, any == NumPy."""
    rng = np.random.RandomState(7)
    x = (rng.randn(4099, 5, 3) * 10).astype(dt)
    for name in (("reduce_any", "reduce_all") if dt == np.bool_ else
                 ("reduce_sum", "reduce_mean", "reduce_max", "reduce_min")):
        f = jg.function(lambda v, name=name: getattr(jg, name)(v, axis=0), backend="cuda")
        want = jg.function(lambda v, name=name: getattr(jg, name)(v, axis=0),
                           backend="interpreter")(x).numpy()
        _close(f(x).numpy(), want, 1e-5)
        exe = f.get_concrete_function(x)._exe
        (cfg,) = exe._plan([x.shape]).grids.values()
        assert cfg[0][1] > 1 and cfg[3] is not None  # split rows, a final kernel


@pytest.mark.parametrize("shape", [(200, 7), (50, 1024), (9, 1025)],
                         ids=["warp", "warp_max", "block"])
def test_row_reductions_warp_or_block_per_output(shape):
    x = np.random.RandomState(8).randn(*shape)
    for name in ("reduce_sum", "reduce_max", "reduce_mean"):
        f = jg.function(lambda v, name=name: getattr(jg, name)(v, axis=-1), backend="cuda")
        _close(f(x).numpy(), getattr(np, name.split("_")[1])(x, axis=-1))
        exe = f.get_concrete_function(x)._exe
        (cfg,) = exe._plan([x.shape]).grids.values()
        assert cfg[2] == (0 if shape[1] <= 1024 else 1)  # aux: warp or block per output
    _close(jg.function(lambda v: jg.reduce_any(v > 1, axis=-1), backend="cuda")(x).numpy(),
           np.any(x > 1, axis=-1))


def _logsumexp(x):
    m = jg.reduce_max(x, axis=-1, keepdims=True)
    return jg.reduce_sum(jg.exp(x - m), axis=-1)


def _layer_norm(x):
    mu = jg.reduce_mean(x, axis=-1, keepdims=True)
    var = jg.reduce_mean(jg.square(x - mu), axis=-1, keepdims=True)
    return (x - mu) * jg.math.rsqrt(var + 1e-5)


@pytest.mark.parametrize("shape", [(37, 10), (300, 1024), (5, 3000), (3, 4, 700), (0, 8)],
                         ids=["warp", "warp_max", "block", "rank3", "no_rows"])
def test_row_fusions_run_as_one_kernel(shape):
    """Softmax, log-softmax, a reduction root (logsumexp) and layer norm: each a row
    kernel (a warp per row up to 1024 elements, else a block), == the interpreter."""
    x = np.random.RandomState(6).randn(*shape).astype(np.float32)
    for fn in (jg.nn.softmax, jg.nn.log_softmax, _logsumexp, _layer_norm):
        f = jg.function(fn, backend="cuda")
        want = jg.function(fn, backend="interpreter")(x).numpy()
        _close(f(x).numpy(), want, 1e-5)
        exe = f.get_concrete_function(x)._exe
        assert [la.kind for la in exe.build.launches.values()] == ["row"], fn


@pytest.mark.parametrize("ta,tb", [(False, False), (True, False), (False, True), (True, True)])
@pytest.mark.parametrize("dt", [np.float32, np.float64])
def test_matmul(ta, tb, dt):
    rng = np.random.RandomState(3)
    for (bs, m, k, n) in [((), 1, 1, 1), ((3,), 37, 65, 19), ((2, 1), 128, 64, 100),
                          ((), 5, 0, 4)]:
        a = rng.randn(*bs, *((k, m) if ta else (m, k))).astype(dt)
        b = rng.randn(*((n, k) if tb else (k, n))).astype(dt)
        f = jg.function(lambda x, y: jg.matmul(x, y, transpose_a=ta, transpose_b=tb),
                        backend="cuda")
        want = np.matmul(np.swapaxes(a, -1, -2) if ta else a, b.T if tb else b)
        _close(f(a, b).numpy(), want, 1e-4)


@pytest.mark.parametrize("kernel", ["64x64", "128x128", "cublas"])
@pytest.mark.parametrize("ta,tb", [(False, False), (True, True)])
def test_matmul_tile_edges_and_batched_operands(ta, tb, kernel, device, monkeypatch):
    """m, n, k past one tile and one staging step with remainders; both operands
    batched, and a batch broadcast from a size-1 dim; the float32 kernel of 64x64 tiles,
    its 128x128 variant (cuda.GEMM_BIG_FILL picks by the grid's size) and cuBLAS (on a
    GPU where it loads: cuda_blas.py)."""
    if kernel == "cublas" and device == "emulator":
        pytest.skip("cuBLAS runs on a GPU only; the emulator runs the own kernels")
    if kernel == "cublas" and cuda_blas.get() is None:
        pytest.skip("no cuBLAS library on this GPU machine")
    monkeypatch.setattr(cuda_blas, "ENABLED", kernel == "cublas")
    monkeypatch.setattr(cuda_blas, "MIN_FMAS", 0)
    monkeypatch.setattr(cuda_backend, "GEMM_BIG_FILL", 0 if kernel == "128x128" else 10 ** 9)
    rng = np.random.RandomState(5)
    for abs_, bbs, m, k, n in [((2,), (2,), 70, 33, 130), ((1, 3), (2, 1), 65, 17, 64),
                               ((), (), 129, 16, 1), ((), (), 270, 19, 131)]:
        a = rng.randn(*abs_, *((k, m) if ta else (m, k))).astype(np.float32)
        b = rng.randn(*bbs, *((n, k) if tb else (k, n))).astype(np.float32)
        f = jg.function(lambda x, y: jg.matmul(x, y, transpose_a=ta, transpose_b=tb),
                        backend="cuda")
        want = np.matmul(np.swapaxes(a, -1, -2) if ta else a,
                         np.swapaxes(b, -1, -2) if tb else b)
        _close(f(a, b).numpy(), want, 1e-4)


def test_cublas_is_used_only_on_a_gpu(device, monkeypatch):
    """On a GPU with cuBLAS a float32 matmul of at least cuda_blas.MIN_FMAS multiply-adds
    calls it; on the emulator, for smaller products, or with JITGRAPH_CUBLAS=0
    (cuda_blas.ENABLED), the own kernel runs. The results agree either way."""
    calls = []
    monkeypatch.setattr(cuda_blas, "MIN_FMAS", 0)
    blas = cuda_blas.get()
    if blas is not None:
        real = blas.gemm
        monkeypatch.setattr(blas, "gemm", lambda *a, **kw: (calls.append(a), real(*a, **kw)))
    a = np.random.RandomState(0).randn(3, 40, 30).astype(np.float32)
    b = np.random.RandomState(1).randn(30, 20).astype(np.float32)
    f = jg.function(jg.matmul, backend="cuda")
    _close(f(a, b).numpy(), a @ b, 1e-4)
    assert bool(calls) == (device == "gpu" and blas is not None)
    monkeypatch.setattr(cuda_blas, "MIN_FMAS", 3 * 40 * 30 * 20 + 1)  # a smaller product
    calls.clear()
    _close(jg.function(jg.matmul, backend="cuda")(a, b).numpy(), a @ b, 1e-4)
    assert not calls
    monkeypatch.setattr(cuda_blas, "ENABLED", False)
    calls.clear()
    _close(jg.function(jg.matmul, backend="cuda")(a, b).numpy(), a @ b, 1e-4)
    assert not calls


def test_gather_out_of_range_is_an_error_like_cpu():
    def g(x, i):
        return jg.gather(x, i)

    x, i = np.arange(5, dtype=np.float32), np.array([0, 7], np.int32)
    with pytest.raises(Exception) as cpu_err:
        jg.function(g, backend="cpu")(x, i)
    with pytest.raises(type(cpu_err.value)):
        jg.function(g, backend="cuda")(x, i)
    _close(jg.function(g, backend="cuda")(x, np.array([4, 0], np.int32)).numpy(), x[[4, 0]])


# ----------------------------------------------------------------------------- loop stacks
# Gradients through jg.while_loop keep per-iteration state in loop stacks (stack_ops.py on
# the cpu, cuda_stacks.py here): device blocks the host allocates per call, bounds-checked
# row kernels, elementwise kernels over whole stacks for second derivatives.


def _flat(r):
    if isinstance(r, (list, tuple)):
        return [a for x in r for a in _flat(x)]
    return [np.asarray(r)]


def _three_way(f, *args, tol=2e-5):
    """cuda == cpu == interpreter for ``f`` (a plain function) on ``args``."""
    want = _flat(jg.function(f, backend="interpreter")(*args))
    cpu = _flat(jg.function(f, backend="cpu")(*args))
    got = _flat(jg.function(f, backend="cuda")(*args))
    assert len(got) == len(want) == len(cpu)
    for a, b, c in zip(got, cpu, want, strict=True):
        _close(a, c, tol)
        _close(a, b, tol)
    return got


def _grad_of(loss):
    def grad(x, *rest):
        with jg.GradientTape() as tape:
            tape.watch(x)
            y = loss(x, *rest)
        return tape.gradient(y, x)

    return grad


def test_while_loop_gradient_data_dependent_trip_count():
    def loss(x, n):
        _, s = jg.while_loop(lambda i, s: i < n, lambda i, s: (i + 1, jg.sin(s) * x + 0.5),
                             (jg.constant(0), x))
        return jg.reduce_sum(s * s)

    x = np.random.RandomState(3).randn(7).astype(np.float32)
    f = jg.function(_grad_of(loss), backend="cuda")
    for n in (0, 1, 5):
        want = jg.function(_grad_of(loss), backend="interpreter")(x, jg.constant(n))
        _close(f(x, jg.constant(n)).numpy(), want.numpy())
    _three_way(_grad_of(loss), x, jg.constant(4))


def test_nested_while_loop_gradient():
    def loss(x, n):
        def outer(i, s):
            _, t = jg.while_loop(lambda j, t: j < i + 1, lambda j, t: (j + 1, jg.tanh(t) * x),
                                 (jg.constant(0), s))
            return i + 1, t + s * 0.5

        _, s = jg.while_loop(lambda i, s: i < n, outer, (jg.constant(0), x))
        return jg.reduce_sum(s)

    x = np.random.RandomState(4).randn(2, 3).astype(np.float32)
    for n in (0, 3):
        _three_way(_grad_of(loss), x, jg.constant(n))


def test_while_loop_gradient_inside_cond():
    def loss(x, flag):
        def looped():
            _, s = jg.while_loop(lambda i, s: i < 4, lambda i, s: (i + 1, s * x + 1.0),
                                 (jg.constant(0), x))
            return s

        return jg.reduce_sum(jg.cond(flag, looped, lambda: x * 3.0))

    x = np.random.RandomState(5).randn(5).astype(np.float32) * 0.5
    for flag in (True, False):
        _three_way(_grad_of(loss), x, jg.constant(flag))


def test_second_derivative_through_while_loop():
    def second(x):
        with jg.GradientTape() as t2:
            t2.watch(x)
            with jg.GradientTape() as t1:
                t1.watch(x)
                _, s = jg.while_loop(lambda i, s: i < 3, lambda i, s: (i + 1, s * s * x),
                                     (jg.constant(0), x))
                y = jg.reduce_sum(s)
            g = t1.gradient(y, x)
        return t2.gradient(g, x)

    x = np.array([0.3, -0.5, 0.8, 0.1], np.float64)
    _three_way(second, x)


def test_scan_map_fn_and_tensor_array_gradients():
    def loss_scan(x):
        s = jg.scan(lambda a, r: jg.tanh(a * r + 0.5), x, initializer=jg.ones([3]))
        return jg.reduce_sum(s * s)

    def loss_map(x):
        return jg.reduce_sum(jg.map_fn(lambda r: jg.sin(r) * r[0], x))

    def loss_ta(x):
        ta = jg.TensorArray(jg.float32, size=4)
        for i in jg.range(4):
            ta = ta.write(i, jg.tanh(x[i] * x[3 - i]))
        return jg.reduce_sum(ta.stack() ** 2) + jg.reduce_sum(ta.read(2) * x[0])

    x = np.random.RandomState(6).randn(4, 3).astype(np.float32) * 0.5
    for loss in (loss_scan, loss_map, loss_ta):
        _three_way(_grad_of(loss), x)


def _recurrent_step(kind, backend, x, y):
    """A recurrent model (the default while_loop over time) and one SGD step."""
    jg.random.set_seed(7)
    layers = jg.keras.layers
    model = jg.keras.Sequential([kind(4), layers.Dense(1)])
    model(x)
    opt = jg.keras.optimizers.SGD(0.1)

    @jg.function(backend=backend)
    def step(x, y):
        with jg.GradientTape() as tape:
            loss = jg.reduce_mean(jg.square(model(x) - y))
        grads = tape.gradient(loss, model.trainable_variables)
        opt.apply_gradients(zip(grads, model.trainable_variables, strict=True))
        return loss

    return model, step


@pytest.mark.parametrize("kind", ["LSTM", pytest.param("GRU", marks=pytest.mark.slow)])
def test_recurrent_training_step_with_the_time_loop(kind):
    rng = np.random.RandomState(8)
    x = rng.randn(3, 5, 2).astype(np.float32)
    y = rng.randn(3, 1).astype(np.float32)
    layer = getattr(jg.keras.layers, kind)
    runs = {b: _recurrent_step(layer, b, x, y) for b in ("cuda", "cpu", "interpreter")}
    weights = runs["cpu"][0].get_weights()
    for model, _ in runs.values():
        model.set_weights(weights)
    for _ in range(2):
        losses = {b: float(step(x, y).numpy()) for b, (_, step) in runs.items()}
        np.testing.assert_allclose(losses["cuda"], losses["cpu"], rtol=1e-4)
        np.testing.assert_allclose(losses["cuda"], losses["interpreter"], rtol=1e-4)
    for b in ("cpu", "interpreter"):
        for w, v in zip(runs["cuda"][0].get_weights(), runs[b][0].get_weights(), strict=True):
            _close(w, v, 1e-4)


@pytest.mark.slow  # ~10 s on the emulator; the recurrent training steps below cover the loop
def test_lstm_fit_on_the_cuda_backend(monkeypatch):
    rng = np.random.RandomState(9)
    x = rng.randn(8, 4, 2).astype(np.float32)
    y = rng.randn(8, 1).astype(np.float32)
    history, compiled = {}, []
    cuda_backend = backends.get("cuda")
    real = type(cuda_backend).compile
    monkeypatch.setattr(type(cuda_backend), "compile",
                        lambda self, g: compiled.append(g) or real(self, g))
    for backend in ("cpu", "cuda"):
        monkeypatch.setenv("JITGRAPH_BACKEND", backend)
        jg.random.set_seed(10)
        model = jg.keras.Sequential([jg.keras.layers.LSTM(3), jg.keras.layers.Dense(1)])
        model.compile(loss="mse", optimizer=jg.keras.optimizers.SGD(0.05))
        history[backend] = model.fit(x, y, batch_size=4, epochs=2, verbose=0).history["loss"]
    assert compiled  # fit's train step ran on the cuda backend
    np.testing.assert_allclose(history["cuda"], history["cpu"], rtol=1e-4)


def _stack_fn(i_write, i_read):
    from jitgraph.ops.loop_state import stack_alloc, stack_read, stack_write

    def f(x, n):
        s = stack_alloc(n, x)
        s = stack_write(s, jg.constant(i_write), x)
        return stack_read(s, jg.constant(i_read)) + 1.0

    return f


def test_loop_stack_rows_out_of_range_are_errors_like_cpu():
    x = np.arange(3, dtype=np.float32)
    _close(jg.function(_stack_fn(1, 1), backend="cuda")(x, jg.constant(2)).numpy(), x + 1)
    _close(jg.function(_stack_fn(1, 0), backend="cuda")(x, jg.constant(2)).numpy(),
           np.ones(3, np.float32))  # rows nobody wrote read as zeros
    for fn, n in ((_stack_fn(2, 0), 2), (_stack_fn(0, -1), 2), (_stack_fn(0, 0), -1)):
        with pytest.raises(Exception) as cpu_err:
            jg.function(fn, backend="cpu")(x, jg.constant(n))
        assert isinstance(cpu_err.value, errors.OutOfRangeError)
        f = jg.function(fn, backend="cuda")
        with pytest.raises(type(cpu_err.value), match=str(cpu_err.value)[:20]):
            f(x, jg.constant(n))
    # the status is cleared: the next good call runs
    _close(jg.function(_stack_fn(1, 1), backend="cuda")(x, jg.constant(3)).numpy(), x + 1)


def test_repeated_loop_gradient_calls_do_not_leak_device_memory():
    def loss(x, n):
        _, s = jg.while_loop(lambda i, s: i < n, lambda i, s: (i + 1, jg.sin(s) * x),
                             (jg.constant(0), x))
        return jg.reduce_sum(s)

    f = jg.function(_grad_of(loss), backend="cuda")
    x = np.random.RandomState(11).randn(16).astype(np.float32)
    pool = cuda_driver.get().pool
    for _ in range(2):
        f(x, jg.constant(6))
    import gc

    gc.collect()
    before = pool.stats()
    for _ in range(4):
        f(x, jg.constant(6))
    gc.collect()
    after = pool.stats()
    assert after["misses"] == before["misses"]
    assert after["cached_bytes"] == before["cached_bytes"]
