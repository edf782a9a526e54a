"""PTX generation for the cuda backend, without a GPU: every op case the cpu backend
compiles becomes NVPTX kernels (static and unknown shapes), assembled by ptxas for sm_80
and sm_90 when ptxas is on the PATH; each kernel kind (map, thread/block/full reductions,
gemm), control flow and a training step; screening of what NVPTX cannot compile; the
clear error of backend="cuda" where no GPU is usable."""

import shutil
import subprocess

import llvmlite.ir as ir
import numpy as np
import pytest
from op_cases import CASES

import jitgraph as jg
from jitgraph import backends, errors
from jitgraph.codegen import cuda, cuda_driver
from jitgraph.codegen import cuda_device as D
from jitgraph.codegen import kernels as K
from jitgraph.codegen import ptx as P

ARCHS = ("sm_80", "sm_90")
S = jg.TensorSpec


def _graph(fn, *specs):
    return jg.function(fn, backend="interpreter").get_concrete_function(*specs).graph


def _case_graph(c, dynamic):
    specs = [S([None] * np.ndim(a) if dynamic else np.shape(a),
               jg.as_dtype(np.asarray(a).dtype)) for a in c.args]
    return _graph(lambda *xs: c.fn(*xs), *specs)


def _check_module(module, tmp_path, quick=False):
    """PTX for sm_80 and sm_90, assembled when ptxas exists; returns the sm_80 text.
    ``quick`` (the big all-cases module): LLVM generates sm_80 PTX once and ptxas
    assembles it for both archs without optimizing (it still validates every line)."""
    texts = {"sm_80": P.to_ptx(module, "sm_80")}
    if not quick:
        texts["sm_90"] = P.to_ptx(module, "sm_90")
    if shutil.which("ptxas"):  # both archs at once: ptxas is single-threaded
        procs = []
        for arch in ARCHS:
            src = tmp_path / f"m_{arch}.ptx"
            src.write_text(texts.get(arch, texts["sm_80"]))
            procs.append(subprocess.Popen(
                ["ptxas", "-O0" if quick else "-O3", f"-arch={arch}", str(src), "-o",
                 str(tmp_path / f"m_{arch}.cubin")], stderr=subprocess.PIPE, text=True))
        for p in procs:
            err = p.communicate()[1]
            assert p.returncode == 0, err[:3000]
    return texts["sm_80"]


def _cpu_error(graph):
    """The exception type the cpu backend raises compiling ``graph`` (None: it compiles).
    The cuda backend shares its lowering, so it must fail the same way."""
    try:
        backends.get("cpu").explain(graph, "llvm-unoptimized")
        return None
    except Exception as e:
        return type(e)


def test_every_op_case_becomes_ptx_that_assembles(tmp_path):
    module = ir.Module("op_cases")
    kinds, compiled = set(), 0
    for i, c in enumerate(CASES):
        for dynamic in (False, True):
            try:
                g = _case_graph(c, dynamic)
            except (errors.InvalidArgumentError, TypeError):
                assert dynamic  # some ops need known dims (gather_nd's depth, one_hot's)
                continue
            try:
                b = cuda.Build(g, module, prefix=f"c{i}{'d' if dynamic else 's'}_")
            except Exception as e:  # only where the cpu backend fails the same way
                assert _cpu_error(g) is type(e), (c, dynamic, e)
                continue
            kinds |= {launch.kind for launch in b.launches.values()}
            compiled += 1
    assert compiled > 0.8 * 2 * len(CASES), compiled
    assert kinds >= {"map", "thread", "block", "full", "arg", "serial", "gemm"}, kinds
    text = _check_module(module, tmp_path, quick=True)
    assert text.count(".entry") >= compiled


def _launches(fn, *specs):
    b = cuda.Build(_graph(fn, *specs))
    return b, sorted(launch.kind for launch in b.launches.values())


@pytest.mark.parametrize("fn,specs,kinds", [
    (lambda x: jg.exp(x) * 2 + 1, [S([None, 3])], ["map"]),
    (lambda x: jg.reduce_sum(x * x), [S([None])], ["full"]),
    (lambda x: jg.reduce_max(x, axis=-1), [S([None, None], jg.float64)], ["block"]),
    (lambda x: jg.reduce_mean(x, axis=0), [S([None, 7], jg.int32)], ["thread"]),
    (lambda x: jg.reduce_any(x > 0, axis=1), [S([5, 9])], ["block"]),
    (lambda x: jg.nn.softmax(x), [S([None, None])], ["row"]),
], ids=["map", "full", "block", "thread", "bool", "softmax"])
def test_kernel_kinds(fn, specs, kinds, tmp_path):
    b, got = _launches(fn, *specs)
    assert got == kinds
    text = _check_module(b.module, tmp_path)
    if "block" in kinds or "full" in kinds:
        assert "shfl.sync.bfly" in text and "bar.sync" in text and ".shared" in text
    if kinds == ["full"]:
        assert b.launches and all(la.final for la in b.launches.values())
        assert text.count(".entry") == 2


@pytest.mark.parametrize("ta,tb,dt", [(False, False, jg.float32), (True, False, jg.float32),
                                      (False, True, jg.float64), (True, True, jg.float32)])
def test_gemm_ptx(ta, tb, dt, tmp_path):
    a = S([2, None, 5, 4] if ta else [2, None, 4, 5], dt)
    bb = S([None, 3, 5] if tb else [None, 5, 3], dt)
    b, kinds = _launches(lambda x, y: jg.matmul(x, y, transpose_a=ta, transpose_b=tb) + 1,
                         a, bb)
    assert kinds == ["gemm", "map"]
    text = _check_module(b.module, tmp_path)
    assert "ld.shared" in text and "fma.rn" in text


def test_control_flow_and_training_step_ptx(tmp_path):
    w = jg.Variable(np.random.randn(4, 3).astype(np.float32))
    bias = jg.Variable(np.zeros(3, np.float32))

    def step(x, y):
        with jg.GradientTape() as tape:
            h = jg.nn.relu(x @ w + bias)
            loss = jg.reduce_mean(jg.square(h - y))
        gw, gb = tape.gradient(loss, [w, bias])
        w.assign_sub(0.1 * gw)
        bias.assign_sub(0.1 * gb)
        return loss

    def loop(x):
        i, s = jg.while_loop(lambda i, s: i < 10, lambda i, s: (i + 1, s * 1.5),
                             (jg.constant(0), x))
        return jg.cond(jg.reduce_sum(s) > 0, lambda: s + 1, lambda: s - 1)

    module = ir.Module("misc")
    b1 = cuda.Build(_graph(step, S([None, 4]), S([None, 3])), module, prefix="t_")
    b2 = cuda.Build(_graph(loop, S([None])), module, prefix="l_")
    assert "gemm" in {la.kind for la in b1.launches.values()}
    steps = [s[0] for s in b2.program.steps]
    assert "while" in steps and "cond" in steps
    _check_module(module, tmp_path)


def test_loop_stack_steps_become_ptx_that_assembles(tmp_path):
    """Gradients through while_loop (stack_alloc/write/read, clones of shared stacks) and
    second derivatives (elementwise kernels over whole stacks) pass the screen and
    assemble; alloc and clone stay on the host, reads and writes are kernels."""
    from jitgraph.codegen.stack_ops import StackCall

    def grad(x, n):
        with jg.GradientTape() as t:
            t.watch(x)
            _, s = jg.while_loop(lambda i, s: i < n, lambda i, s: (i + 1, jg.sin(s) * x),
                                 (jg.constant(0), x))
            loss = jg.reduce_sum(s)
        return t.gradient(loss, x)

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

    module = ir.Module("stacks")
    builds = [cuda.Build(_graph(grad, S([None]), S([], jg.int32)), module, prefix="g_"),
              cuda.Build(_graph(second, S([3])), module, prefix="s_")]
    kinds = set()

    def walk(steps):
        for st in steps:
            if st[0] == "call" and isinstance(st[1], StackCall):
                kinds.add(st[1].kind)
            elif st[0] in ("cond", "while"):
                walk(st[2])
                walk(st[3])

    for b in builds:
        walk(b.program.steps)
    assert {"alloc", "write", "read", "clone", "map"} <= kinds
    assert {"stack_row", "stack_map"} <= {la.kind for b in builds for la in b.launches.values()}
    _check_module(module, tmp_path)


def _unselectable_atan2(monkeypatch):
    """Every lowering selects today; the screen is checked with atan2 marked as one that
    does not (as it was while it called libm)."""
    monkeypatch.setattr(P, "SELECTABLE", P.SELECTABLE - {"atan2"})
    monkeypatch.setitem(P.NOT_SELECTABLE_WHY, "atan2", "it lowers to a libm call")


def test_screening_happens_before_llvm(monkeypatch):
    from jitgraph import dtypes

    _unselectable_atan2(monkeypatch)

    x = K.Load(K.Storage("arg", 0), dtypes.float32, [1])
    k = K.Kernel("fusion_9", [4], K.Apply("atan2", dtypes.float32, [x, x]),
                 K.Storage("out", 0), dtypes.float32)

    def boom(*a, **kw):
        raise AssertionError("LLVM code generated for an unselectable op")

    monkeypatch.setattr(P, "emit_map", boom)
    with pytest.raises(errors.UnimplementedError, match="atan2.*fusion_9.*libm"):
        P.screen([("cond", None, [("kernel", k)], [])])

    class UnknownCall:  # (print and summary host calls run on the host: cuda.py)
        pass

    with pytest.raises(errors.UnimplementedError, match="UnknownCall"):
        P.screen([("call", UnknownCall())])
    with pytest.raises(errors.UnimplementedError, match="'barrier' steps"):
        P.screen([("copy", None, None, 0), ("barrier",)])


def test_unselectable_op_error_names_op_and_line(monkeypatch):
    _unselectable_atan2(monkeypatch)
    g = _graph(lambda x, y: jg.math.atan2(x, y) * 2, S([3]), S([3]))
    with pytest.raises(errors.UnimplementedError) as e:
        cuda.Build(g)
    msg = str(e.value)
    assert "atan2" in msg and "test_cuda_ptx.py:" in msg and "backend='cpu'" in msg


def test_backend_cuda_without_gpu_names_what_is_missing(monkeypatch):
    monkeypatch.setattr(cuda_driver, "_MISSING",
                        "the NVIDIA driver (libcuda.so.1 could not be loaded), pycuda (x)")
    monkeypatch.setattr(cuda_driver, "_DRIVER", None)
    monkeypatch.setattr(cuda_driver, "_KIND", "gpu")
    assert not cuda.is_available()
    f = jg.function(lambda x: x + 1, backend="cuda")
    with pytest.raises(errors.UnimplementedError) as e:
        f(np.ones(3, np.float32))
    msg = str(e.value)
    assert "NVIDIA driver" in msg and "pycuda" in msg and "backend='cpu'" in msg
    assert "JITGRAPH_CUDA_EMULATOR=1" in msg
    # the PTX stage needs neither
    ptx = f.get_concrete_function(np.ones(3, np.float32)).explain("ptx")
    assert ".target sm_80" in ptx and ".entry kernel_" in ptx


def test_missing_probe_reports_this_machine(monkeypatch):
    monkeypatch.setattr(cuda_driver, "_KIND", "gpu")
    why = cuda_driver._probe()
    assert cuda.is_available() == (why == "")
    if why:
        assert any(w in why for w in ("driver", "pycuda", "device"))


def test_explain_stages():
    g = _graph(lambda x: jg.reduce_sum(jg.exp(x)), S([None]))
    be = backends.get("cuda")
    assert "fusion" in be.explain(g, "fused")
    llvm_text = be.explain(g, "llvm")
    assert "nvptx64-nvidia-cuda" in llvm_text and "ptx_kernel" in llvm_text
    assert ".target sm_90" in be.explain(g, "ptx", arch="sm_90")
    with pytest.raises(errors.UnimplementedError, match="no stage 'asm'"):
        be.explain(g, "asm")


def test_qeval():
    params = np.array([3, 5], np.int64)
    assert cuda.qeval(("mul", K.Param(0), ("mul", 2, K.Param(1))), params) == 30
    assert cuda.qeval(7, params) == 7


# ----------------------------------------------------------------------------- host side


class _FakeDriver:
    """Device memory as host byte arrays and launches recorded, not run: checks the host
    side of the cuda backend (plans, slots, launch shapes, copies, variables, control flow)
    without a GPU. Kernels do not run, so device values stay zero."""

    block_threads = P.BLOCK

    def __init__(self):
        self.mem, self.next, self.launches, self.entries = {}, 1 << 20, [], {}

    def arch(self):
        return "sm_80"

    def multiprocessors(self):
        return 4

    def load(self, build):
        import re

        ptx = build.ptx(self.arch())
        for m in re.finditer(r"\.entry (\w+)\((.*?)\)", ptx, re.S):
            self.entries[m.group(1)] = m.group(2).count(".param")
        return ptx

    def function(self, module, name, n_ptr_args, n_i64_args=1):
        assert self.entries[name] == n_ptr_args + n_i64_args, name
        return name

    def alloc(self, nbytes):
        addr = self.next
        self.mem[addr] = bytearray(max(int(nbytes), 1))
        self.next += (max(int(nbytes), 1) + 511) // 256 * 256
        return addr

    def _buf(self, addr, n):
        for base, buf in self.mem.items():
            if base <= addr and addr + n <= base + len(buf):
                return buf, addr - base
        raise AssertionError(f"device access [{addr}, {addr + n}) outside every allocation")

    def htod(self, dst, array):
        a = np.ascontiguousarray(array).view(np.uint8).ravel()
        buf, off = self._buf(int(dst), a.size)
        buf[off:off + a.size] = a.tobytes()

    def dtoh(self, array, src):
        buf, off = self._buf(int(src), array.nbytes)
        array.reshape(-1).view(np.uint8)[:] = np.frombuffer(buf, np.uint8, array.nbytes, off)
        return array

    def dtod(self, dst, src, nbytes):
        data = np.zeros(nbytes, np.uint8)
        self.dtoh(data, src)
        self.htod(dst, data)

    def launch(self, f, grid, block, args):
        assert all(g >= 1 for g in grid) and all(b >= 1 for b in block), (f, grid, block)
        assert block[0] * block[1] * block[2] <= 1024
        for a in args[:-3]:  # slot pointers point into allocations
            self._buf(int(a), 1)
        self.launches.append(f)


@pytest.fixture
def fake(monkeypatch):
    drv = _FakeDriver()
    monkeypatch.setattr(cuda_driver, "_MISSING", "")
    monkeypatch.setattr(cuda_driver, "_KIND", "gpu")
    monkeypatch.setattr(cuda_driver, "_DRIVER", drv)
    return drv


def test_host_side_runs_steps_and_plans(fake):
    f = jg.function(lambda x, w: jg.nn.softmax(x @ w) + jg.reduce_sum(x), backend="cuda")
    x, w = np.ones((5, 4), np.float32), np.ones((4, 3), np.float32)
    out = f(x, w).numpy()
    assert out.shape == (5, 3) and out.dtype == np.float32
    assert fake.launches[0].startswith("gemm")
    assert any(name.endswith("_final") for name in fake.launches)  # the full reduction
    n = len(fake.launches)
    f(np.ones((9, 4), np.float32), w)  # same trace, new plan in the same executable
    assert len(fake.launches) == 2 * n
    with pytest.raises(errors.InvalidArgumentError, match="expected dtype float32"):
        f.get_concrete_function(x, w)._exe.run([x.astype(np.float64), w])


def test_host_side_variables_and_control_flow(fake):
    v = jg.Variable(np.arange(4, dtype=np.float32))

    @jg.function(backend="cuda")
    def step(x):
        v.assign(v * 0 + x)  # the fake device computes nothing: v must read back zeros
        return jg.cond(jg.reduce_sum(x) > 0, lambda: x + 1, lambda: x - 1)

    step(np.ones(4, np.float32))
    np.testing.assert_array_equal(v.numpy(), np.zeros(4))  # written back from the device
    i, s = jg.function(lambda n: jg.while_loop(lambda i, s: i < n, lambda i, s: (i + 1, s),
                                               (0, 1.0)), backend="cuda")(jg.constant(3))
    assert int(i) == 0  # the predicate read from the fake device is False


def test_device_tensors_on_fake_device(fake):
    x = D.to_device(np.arange(6, dtype=np.float32).reshape(2, 3))
    np.testing.assert_array_equal(x.numpy(), np.arange(6).reshape(2, 3))
    f = D.device_function(jg.function(lambda a: (a * 2, jg.reduce_sum(a))))
    y, s = f(x)
    assert isinstance(y, D.DeviceTensor) and y.shape == (2, 3) and s.shape == ()
    v = jg.Variable(np.ones(3, np.float32))
    g = D.device_function(jg.function(lambda: v.assign_add(np.ones(3, np.float32))))
    with D.resident_variables():
        g()
        g()
        np.testing.assert_array_equal(v.numpy(), np.ones(3))  # host untouched inside
    np.testing.assert_array_equal(v.numpy(), np.zeros(3))  # the fake device's value
