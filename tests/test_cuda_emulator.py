"""The CPU emulator of the cuda backend's device (cuda_emulator.py): it is selected by the
environment or cuda_driver.use, its memory is poisoned and guarded, kernels writing out of
bounds and barriers some threads never reach are errors naming the kernel, and the
warp shuffle and block barrier behave as on a GPU (results of the kernels that use them
are checked by tests/test_cuda_run.py)."""

import os
import subprocess
import sys
import types

import llvmlite.ir as ir
import numpy as np
import pytest

import jitgraph as jg
from jitgraph import backends, errors
from jitgraph.codegen import cuda, cuda_driver, cuda_emulator
from jitgraph.codegen import cuda_device as D
from jitgraph.codegen import ptx as P
from jitgraph.codegen import scalar as SC


@pytest.fixture
def drv():
    before = cuda_driver.use("emulator")
    yield cuda_driver.get()
    cuda_driver.use(before)


def _graph(fn, *specs):
    return jg.function(fn, backend="interpreter").get_concrete_function(*specs).graph


def _kernel_module(emit, name="k"):
    """A one-kernel NVPTX module (pointer arguments: out, params, scratch; then aux)."""
    m = ir.Module("emu_test")
    m.triple = P.TRIPLE
    fn, ctx, scratch, aux = P._new_kernel(m, name, [("out", 0)])
    emit(ctx, fn.args[0])
    ctx.b.ret_void()
    ctx.finalize()
    return types.SimpleNamespace(module=m)


def _launch(drv, build, block, out, name="k"):
    mod = drv.load(build)
    f = drv.function(mod, name, 3)
    params, scratch = drv.alloc(8), drv.alloc(8)
    drv.launch(f, (1, 1, 1), block, [int(out), int(params), int(scratch), 0])


def test_environment_selects_the_emulator():
    code = ("import numpy as np, jitgraph as jg\n"
            "from jitgraph.codegen import cuda, cuda_driver\n"
            "f = jg.function(lambda x: jg.reduce_sum(x * 2), backend='cuda')\n"
            "print(cuda.is_available(), cuda_driver.kind(), "
            "float(f(np.arange(100, dtype=np.float32)).numpy()))\n")
    env = dict(os.environ, JITGRAPH_CUDA_EMULATOR="1")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == ["True", "emulator", "9900.0"]


def test_use_switches_and_returns_the_previous_choice(drv):
    assert cuda_driver.kind() == "emulator" and cuda.is_available()
    assert isinstance(drv, cuda_emulator.EmulatedDriver)
    with pytest.raises(ValueError, match="'gpu' or 'emulator'"):
        cuda_driver.use("tpu")
    exe = backends.get("cuda").compile(_graph(lambda x: x * 3, jg.TensorSpec([5])))
    assert ".entry kernel_" in exe.ptx and ".target sm_80" in exe.ptx


def test_fresh_memory_is_poisoned_not_zero(drv):
    buf = drv.alloc(16)
    assert (drv.dtoh(np.zeros(16, np.uint8), buf) == 0xFF).all()
    assert np.isnan(drv.dtoh(np.zeros(4, np.float32), buf)).all()


def test_copies_outside_an_allocation_are_errors(drv):
    buf = drv.alloc(16)
    with pytest.raises(errors.InternalError, match="not inside one allocation"):
        drv.htod(buf, np.zeros(5, np.float32))
    with pytest.raises(errors.InternalError, match="not inside one allocation"):
        drv.dtod(int(buf) + 8, int(buf), 16)


def test_out_of_bounds_write_is_an_error_naming_the_kernel(drv):
    g = _graph(lambda x: x + 1, jg.TensorSpec([1000]))
    exe = backends.get("cuda").compile(g)
    x = D.to_device(np.zeros(1000, np.float32))
    plan = exe._plan([(1000,)])
    short = drv.alloc(1000 * 4 - 64)  # 16 elements too small
    with pytest.raises(errors.InternalError, match=r"kernel_\w+ .*wrote outside"):
        exe._execute(plan, [x.ptr], [int(short)])


def test_barrier_not_reached_by_every_thread_is_an_error(drv, monkeypatch):
    def emit(ctx, out):
        b = ctx.b
        with b.if_then(b.icmp_unsigned("==", P._sreg(b, "tid.x"), ir.Constant(SC.I64, 0))):
            P._barrier(b)

    monkeypatch.setattr(cuda_emulator, "LAUNCH_TIMEOUT_S", 1.0)
    with pytest.raises(errors.InternalError, match="k .*did not finish.*barrier"):
        _launch(drv, _kernel_module(emit), (64, 1, 1), drv.alloc(8))


@pytest.mark.parametrize("block", [32, 64, 96])
def test_shuffle_exchanges_within_the_warp(drv, block):
    """out[t] = shfl.bfly(t * 10, 5) for every thread: lane ^ 5 of the same warp."""
    def emit(ctx, out):
        b = ctx.b
        t = P._sreg(b, "tid.x")
        v = P._shfl(b, b.trunc(b.mul(t, ir.Constant(SC.I64, 10)), SC.I32), 5)
        p = b.gep(b.bitcast(out, SC.I32.as_pointer()), [t])
        b.store(v, p)

    out = drv.alloc(4 * block)
    _launch(drv, _kernel_module(emit), (block, 1, 1), out)
    t = np.arange(block)
    np.testing.assert_array_equal(drv.dtoh(np.zeros(block, np.int32), out),
                                  ((t & ~31) + ((t & 31) ^ 5)) * 10)


def test_block_barrier_orders_shared_memory(drv):
    """Each thread writes its id to shared memory, waits at the barrier, then reads its
    mirror's slot: every slot must hold the value written before the barrier."""
    def emit(ctx, out):
        b = ctx.b
        smem = P._shared(b.module, "smem_t", SC.I64, 64)
        t = P._sreg(b, "tid.x")
        zero = ir.Constant(SC.I32, 0)
        b.store(b.add(t, ir.Constant(SC.I64, 1000)), b.gep(smem, [zero, t]))
        P._barrier(b)
        mirror = b.sub(ir.Constant(SC.I64, 63), t)
        v = b.load(b.gep(smem, [zero, mirror]))
        b.store(v, b.gep(b.bitcast(out, SC.I64.as_pointer()), [t]))

    out = drv.alloc(8 * 64)
    _launch(drv, _kernel_module(emit), (64, 1, 1), out)
    np.testing.assert_array_equal(drv.dtoh(np.zeros(64, np.int64), out),
                                  1000 + 63 - np.arange(64))


def test_gpu_block_size_reductions_and_softmax(drv, monkeypatch):
    """The GPU's 256 threads per block (the emulator's default is 64): block, thread, full
    and arg reductions and the row softmax, cuda == NumPy."""
    monkeypatch.setattr(drv, "block_threads", P.BLOCK)
    x = np.random.RandomState(4).randn(9, 1500).astype(np.float32)
    f = jg.function(lambda v: (jg.reduce_sum(v, axis=1), jg.reduce_max(v, axis=0),
                               jg.reduce_sum(v), jg.argmax(v, axis=1), jg.nn.softmax(v)),
                    backend="cuda")
    rows, cols, total, am, sm = (t.numpy() for t in f(x))
    np.testing.assert_allclose(rows, x.sum(1), rtol=1e-5, atol=1e-4)
    np.testing.assert_array_equal(cols, x.max(0))
    np.testing.assert_allclose(total, x.sum(), rtol=1e-5, atol=1e-3)
    np.testing.assert_array_equal(am, x.argmax(1))
    e = np.exp(x - x.max(1, keepdims=True))
    np.testing.assert_allclose(sm, e / e.sum(1, keepdims=True), rtol=1e-5, atol=1e-7)


def test_gpu_benchmark_script_runs_on_the_emulator():
    """benchmarks/bench_cuda.py (what scripts/gpu_check.sh runs on a GPU) at small sizes:
    every benchmark runs and checks its results, so device time is not lost to a broken
    script."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out = subprocess.run([sys.executable, os.path.join(root, "benchmarks", "bench_cuda.py"),
                          "--emulator"], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert "FAILED" not in out.stdout
    for name in ("device-to-device copy", "fused chain", "row softmax", "MLP train step",
                 "matmul"):
        assert name in out.stdout
