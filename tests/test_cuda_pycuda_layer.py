"""cuda_driver.Driver, the pycuda layer, against a stand-in of the pycuda API it uses: the
calls, their argument types and formats are checked as pycuda would take them (PTX
NUL-terminated and naming every entry, ``prepare`` formats that ``struct`` packs the
launch arguments with, contiguous host arrays, integer device addresses, explicit frees of
pool memory), and the kernels run on the CPU emulator, so the results are checked too.
The real pycuda runs these paths only on a GPU (the ``gpu`` tests)."""

import ctypes
import struct
import sys
import types

import numpy as np
import pytest

import jitgraph as jg
from jitgraph.codegen import cuda_device as D
from jitgraph.codegen import cuda_driver
from jitgraph.codegen.cuda_emulator import EmulatedDriver


class _Alloc:
    live = {}

    def __init__(self, n):
        assert isinstance(n, int) and n > 0, n
        self.buf = np.zeros(n + 256, np.uint8)
        self.addr = (self.buf.ctypes.data + 255) // 256 * 256
        self.n, self.freed = n, False
        _Alloc.live[self.addr] = self

    def __int__(self):
        assert not self.freed, "use of freed device memory"
        return self.addr

    def free(self):
        assert not self.freed, "double free"
        self.freed = True
        _Alloc.live.pop(self.addr, None)


def _inside(addr, n):
    assert isinstance(addr, int), type(addr)
    assert any(a.addr <= addr and addr + n <= a.addr + a.n for a in _Alloc.live.values()), \
        "access outside device memory"


def _memcpy_htod(dst, src):
    assert isinstance(src, np.ndarray) and src.flags.c_contiguous
    _inside(dst, src.nbytes)
    ctypes.memmove(dst, src.ctypes.data, src.nbytes)


def _memcpy_dtoh(dst, src):
    assert isinstance(dst, np.ndarray) and dst.flags.c_contiguous and dst.flags.writeable
    _inside(src, dst.nbytes)
    ctypes.memmove(dst.ctypes.data, src, dst.nbytes)


def _memcpy_dtod(dst, src, n):
    _inside(dst, n)
    _inside(src, n)
    ctypes.memmove(dst, src, n)


class _Function:
    def __init__(self, module, name):
        self.module, self.name, self.fmt = module, name, None

    def prepare(self, fmt):
        struct.calcsize(fmt)
        params = self.module.ptx.split(f".entry {self.name}(")[1].split(")")[0]
        assert params.count(".param") == len(fmt), (self.name, fmt)
        self.fmt = fmt
        return self

    def prepared_call(self, grid, block, *args):
        assert self.fmt is not None, "prepared_call before prepare"
        struct.pack(self.fmt, *args)  # what pycuda does with them
        assert len(grid) in (2, 3) and len(block) == 3
        assert all(isinstance(g, int) and g >= 1 for g in grid), grid
        emu = self.module.emu
        f = emu.driver.function(emu.module, self.name, len(self.fmt) - 1)
        emu.driver.launch(f, tuple(grid) + (1,) * (3 - len(grid)), block, list(args))


class _Module:
    def __init__(self, ptx):
        self.ptx, self.emu = ptx, None

    def get_function(self, name):
        assert f".entry {name}(" in self.ptx, name
        return _Function(self, name)


def _module_from_buffer(buf):
    assert isinstance(buf, bytes) and buf.endswith(b"\0"), "PTX must be NUL-terminated bytes"
    text = buf[:-1].decode()
    assert ".version" in text and ".entry" in text
    return _Module(text)


class _Context:
    pushed = 0

    def push(self):
        _Context.pushed += 1

    def pop(self):
        _Context.pushed -= 1

    @staticmethod
    def synchronize():
        pass


class _Device:
    def __init__(self, i):
        assert i == 0

    @staticmethod
    def count():
        return 1

    def name(self):
        return "Stand-in GPU"

    def compute_capability(self):
        return (9, 0)

    def get_attribute(self, attr):
        assert attr == "MULTIPROCESSOR_COUNT"
        return 2

    def retain_primary_context(self):
        return _Context()


@pytest.fixture
def fake_pycuda(monkeypatch):
    drv = types.ModuleType("pycuda.driver")
    drv.init = lambda: None
    drv.Device = _Device
    drv.Context = _Context
    drv.device_attribute = types.SimpleNamespace(MULTIPROCESSOR_COUNT="MULTIPROCESSOR_COUNT")
    drv.mem_alloc = _Alloc
    drv.memcpy_htod, drv.memcpy_dtoh, drv.memcpy_dtod = (_memcpy_htod, _memcpy_dtoh,
                                                         _memcpy_dtod)
    drv.module_from_buffer = _module_from_buffer
    pkg = types.ModuleType("pycuda")
    pkg.driver = drv
    monkeypatch.setitem(sys.modules, "pycuda", pkg)
    monkeypatch.setitem(sys.modules, "pycuda.driver", drv)
    emu = EmulatedDriver()
    real_load = cuda_driver.Driver.load

    def load(self, build):  # pycuda's module, plus the emulator's to run its kernels
        m = real_load(self, build)
        m.emu = types.SimpleNamespace(driver=emu, module=emu.load(build))
        return m

    monkeypatch.setattr(cuda_driver.Driver, "load", load)
    monkeypatch.setattr(cuda_driver, "_KIND", "gpu")
    monkeypatch.setattr(cuda_driver, "_MISSING", "")
    monkeypatch.setattr(cuda_driver, "_DRIVER", None)
    D.MIRRORS.copies.clear()
    yield cuda_driver.get()
    D.MIRRORS.copies.clear()
    cuda_driver._DRIVER = None


def test_driver_identifies_the_device(fake_pycuda):
    drv = fake_pycuda
    assert isinstance(drv, cuda_driver.Driver) and drv.arch() == "sm_90"
    assert drv.name == "Stand-in GPU" and drv.multiprocessors() == 2 and _Context.pushed >= 1


def test_functions_run_through_the_pycuda_calls(fake_pycuda):
    x = np.random.RandomState(0).randn(300, 70).astype(np.float32)
    f = jg.function(lambda v: (jg.nn.softmax(v) + jg.reduce_sum(v, axis=0),
                               jg.matmul(v, v, transpose_b=True), jg.cumsum(v, axis=1)),
                    backend="cuda")
    a, b, c = (t.numpy() for t in f(x))
    e = np.exp(x - x.max(1, keepdims=True))
    np.testing.assert_allclose(a, e / e.sum(1, keepdims=True) + x.sum(0), rtol=1e-4,
                               atol=1e-4)
    np.testing.assert_allclose(b, x @ x.T, rtol=1e-4, atol=1e-3)
    np.testing.assert_allclose(c, np.cumsum(x, 1), rtol=1e-4, atol=1e-4)


def test_control_flow_training_and_the_pool(fake_pycuda):
    w = jg.Variable(np.ones((4, 1), np.float32))

    @jg.function(backend="cuda")
    def step(x, y):
        with jg.GradientTape() as tape:
            loss = jg.reduce_mean(jg.square(x @ w - y))
        w.assign_sub(0.1 * tape.gradient(loss, w))
        n = jg.while_loop(lambda i: i * i < jg.cast(loss * 100.0, jg.int32) + 1,
                          lambda i: i + 1, [0])
        return loss, n

    x = np.random.RandomState(1).randn(16, 4).astype(np.float32)
    y = x @ np.array([[1.0], [2.0], [-1.0], [0.5]], np.float32)
    losses = [float(step(x, y)[0]) for _ in range(4)]
    assert losses[-1] < losses[0]
    dstep = D.device_function(step)
    with D.resident_variables():
        dstep(D.to_device(x), D.to_device(y))
    stats = fake_pycuda.pool.stats()
    assert stats["hits"] > 0  # repeated calls reuse the pool's blocks
    fake_pycuda.pool.empty()  # frees through DeviceAllocation.free()
    assert fake_pycuda.pool.stats()["cached_bytes"] == 0
