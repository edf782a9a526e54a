"""The thin device layer under the cuda backend: pycuda, imported lazily.

Everything the backend needs from the GPU goes through these few functions: find out
what is missing, pick the device's ``sm_XY`` arch, load a PTX module, allocate, copy,
launch, synchronize. Pointers are plain Python ints (device addresses); allocations are
pycuda ``DeviceAllocation`` objects kept alive by their owners (freed when collected).

    drv = cuda_driver.get()            # raises UnimplementedError naming what is missing
    mod = drv.load(build); f = drv.function(mod, "kernel_fusion", n_ptr_args=2)
    buf = drv.alloc(1024); drv.htod(buf, array); drv.launch(f, (4, 1, 1), (256, 1, 1), args)

``import jitgraph`` never imports this module; ``cuda.is_available()`` imports pycuda only
when the NVIDIA driver library is present.

Emulator: with ``JITGRAPH_CUDA_EMULATOR=1`` in the environment (read at the first
``get()``), or after ``use("emulator")``, ``get()`` returns cuda_emulator.EmulatedDriver:
the same interface on the CPU, so ``backend="cuda"`` runs (slowly) where no GPU is.
"""

import ctypes
import ctypes.util
import os

import numpy as np

from .. import errors
from .ptx import BLOCK

# Archs LLVM's NVPTX target here knows; a newer device gets the newest (its driver
# JIT-compiles PTX for older archs forward).
KNOWN_ARCHS = (50, 52, 53, 60, 61, 62, 70, 72, 75, 80, 86, 87, 89, 90, 100, 120)

_DRIVER = None
_MISSING = None
_KIND = None  # "gpu" or "emulator"; None: from JITGRAPH_CUDA_EMULATOR at first use


def kind():
    """"emulator" when cuda calls run on the CPU emulator, else "gpu"."""
    global _KIND
    if _KIND is None:
        _KIND = "emulator" if os.environ.get("JITGRAPH_CUDA_EMULATOR", "") not in (
            "", "0") else "gpu"
    return _KIND


def use(which):
    """Selects the device cuda calls run on from now on: "gpu" (pycuda) or "emulator"
    (cuda_emulator.py). Executables compiled before keep the driver they were built for;
    returns the previous choice."""
    global _KIND, _DRIVER
    if which not in ("gpu", "emulator"):
        raise ValueError(f"cuda_driver.use: 'gpu' or 'emulator', not {which!r}")
    before = kind()
    if which != before:
        from .cuda_device import MIRRORS

        MIRRORS.copies.clear()  # device copies of variables belong to the previous device
        _KIND, _DRIVER = which, None
    return before


def missing():
    """What is missing for a GPU, as text; "" when one is usable (the emulator's choice
    does not change the answer)."""
    global _MISSING
    if _MISSING is None:
        _MISSING = _probe()
    return _MISSING


def _probe():
    why = []
    lib = ctypes.util.find_library("cuda")
    try:
        ctypes.CDLL(lib or "libcuda.so.1")
    except OSError:
        why.append("the NVIDIA driver (libcuda.so.1 could not be loaded)")
    try:
        import pycuda.driver  # noqa: F401
    except ImportError as e:
        why.append(f"pycuda (not importable: {e}; install it with pip install "
                   f"'jitgraph[cuda]')")
    if why:
        return ", ".join(why)
    try:
        import pycuda.driver as cuda

        cuda.init()
        if cuda.Device.count() == 0:
            return "a CUDA device (the driver reports none)"
    except Exception as e:  # pycuda raises its own LogicError/RuntimeError types
        return f"a working CUDA device (initialisation failed: {e})"
    return ""


def get():
    """The process-wide Driver (primary context of device 0), the emulator's, or
    UnimplementedError."""
    global _DRIVER
    if _DRIVER is None and kind() == "emulator":
        from .cuda_emulator import EmulatedDriver

        _DRIVER = EmulatedDriver()
    if _DRIVER is None:
        why = missing()
        if why:
            raise errors.UnimplementedError(errors.at_user_line(
                f"backend='cuda' needs an NVIDIA GPU, its driver and pycuda; missing here: "
                f"{why}. Use backend='cpu' (or 'interpreter') on this machine, or "
                f"JITGRAPH_CUDA_EMULATOR=1 to run the cuda backend's kernels on the CPU"))
        _DRIVER = Driver()
    return _DRIVER


class Driver:
    """pycuda calls used by cuda.py (tested on a GPU by the ``gpu`` half of
    tests/test_cuda_run.py; cuda_emulator.EmulatedDriver is the same interface)."""

    block_threads = BLOCK  # threads per block of map and reduction kernels

    def __init__(self):
        import atexit

        import pycuda.driver as cuda

        cuda.init()
        self.cuda = cuda
        self.device = cuda.Device(0)
        self.context = self.device.retain_primary_context()
        self.context.push()
        from .cuda_memory import MemoryPool

        self.pool = MemoryPool(cuda.mem_alloc, lambda raw: raw.free())  # cuda_memory.py
        atexit.register(self._close)

    def _close(self):
        try:
            self.pool.empty()
            self.context.pop()
        except Exception:
            pass

    @property
    def name(self):
        return self.device.name()

    def arch(self):
        major, minor = self.device.compute_capability()
        cc = major * 10 + minor
        best = max([a for a in KNOWN_ARCHS if a <= cc] or [KNOWN_ARCHS[0]])
        return f"sm_{best}"

    def load(self, build):
        """The CUmodule of ``build`` (cuda.Build): its PTX for this device's arch."""
        # cuModuleLoadData reads PTX as a NUL-terminated string
        return self.cuda.module_from_buffer(build.ptx(self.arch()).encode() + b"\0")

    def function(self, module, name, n_ptr_args, n_i64_args=1):
        f = module.get_function(name)
        f.prepare("P" * n_ptr_args + "q" * n_i64_args)
        return f

    def launch(self, f, grid, block, args):
        f.prepared_call(grid, block, *args)

    def alloc(self, nbytes):
        return self.pool.alloc(nbytes)

    def htod(self, dst, array):
        if array.nbytes:
            self.cuda.memcpy_htod(int(dst), np.asarray(array, order="C"))

    def dtoh(self, array, src):
        if array.nbytes:
            self.cuda.memcpy_dtoh(array, int(src))
        return array

    def dtod(self, dst, src, nbytes):
        if nbytes:
            self.cuda.memcpy_dtod(int(dst), int(src), int(nbytes))

    def memset_zero(self, dst, nbytes):
        if nbytes:
            self.cuda.memset_d8(int(dst), 0, int(nbytes))

    def synchronize(self):
        self.cuda.Context.synchronize()

    def multiprocessors(self):
        return self.device.get_attribute(self.cuda.device_attribute.MULTIPROCESSOR_COUNT)


__all__ = ["missing", "get", "use", "kind", "Driver", "KNOWN_ARCHS"]
