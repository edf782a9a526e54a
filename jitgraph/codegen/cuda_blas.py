"""cuBLAS for the cuda backend's float32/float64 matmuls, where the library is installed.

The cpu backend's matmuls call OpenBLAS; on a GPU the same role falls to cuBLAS when the
process can load it (the CUDA toolkit's ``libcublas.so``, or the ``nvidia-cublas`` wheels
that PyTorch and JAX install). Without it, or with ``JITGRAPH_CUBLAS=0`` in the
environment, or for float16/bfloat16, empty products and products of fewer than
MIN_FMAS multiply-adds, the cuda backend runs its own tiled gemm kernels (ptx.emit_gemm).

cuBLAS is column-major; jitgraph's matrices are row-major. A row-major ``C = op(A) op(B)``
is the column-major ``C^T = op(B)^T op(A)^T``, so the call passes B first. cuBLAS runs on
the current context (the primary context pycuda retains, cuda_driver.Driver) and the
legacy default stream, the stream the backend's kernels are launched on, so it is ordered
with them without synchronizing. Its default math mode keeps float32 products in float32
(no TF32), like the own kernels and the cpu backend.

    blas = cuda_blas.get()          # None: not available
    blas.gemm("float32", ta, tb, m, n, k, a, lda, b, ldb, c, batch, sa, sb)
"""

import ctypes
import glob
import os
import sys

from .. import errors

LIBRARIES = ("libcublas.so.13", "libcublas.so.12", "libcublas.so.11", "libcublas.so")
ENABLED = os.environ.get("JITGRAPH_CUBLAS", "1") not in ("0", "")  # tests switch it off
# products of fewer multiply-adds run the own kernels: a step of small matmuls is bound
# by the host's launch calls, and a cuBLAS call costs the host more than a kernel launch
# (an H200's 784-1024-10 MLP step, batch 1024: 0.46 ms with the own kernels, 0.52 ms with
# cuBLAS; a 4096^3 product: 3.7 ms own, 2.9 ms cuBLAS)
MIN_FMAS = 1 << 30
_BLAS = None  # the process's Blas, False when cuBLAS could not be loaded

_STATUS = {1: "NOT_INITIALIZED", 3: "ALLOC_FAILED", 7: "INVALID_VALUE", 8: "ARCH_MISMATCH",
           11: "MAPPING_ERROR", 13: "EXECUTION_FAILED", 14: "INTERNAL_ERROR",
           15: "NOT_SUPPORTED", 16: "LICENSE_ERROR"}


def _load():
    """libcublas by soname (on the loader's path, or one this process already loaded),
    else from a CUDA toolkit's lib64 or the nvidia wheels under sys.path; None when there
    is none."""
    for name in LIBRARIES:
        try:
            return ctypes.CDLL(name)
        except OSError:
            pass
    toolkits = [os.environ.get("CUDA_HOME"), os.environ.get("CUDA_PATH"), "/usr/local/cuda"]
    for root in [t for t in toolkits if t] + sys.path:
        for pattern in ("lib64/libcublas.so*", "nvidia/cublas/lib/libcublas.so*",
                        "nvidia/cu*/lib/libcublas.so*"):
            for path in sorted(glob.glob(os.path.join(root or ".", pattern)), reverse=True):
                try:
                    return ctypes.CDLL(path)
                except OSError:
                    pass
    return None


def get():
    """The process's Blas, or None (no cuBLAS here, or JITGRAPH_CUBLAS=0)."""
    global _BLAS
    if not ENABLED:
        return None
    if _BLAS is None:
        lib = _load()
        try:
            _BLAS = Blas(lib) if lib is not None else False
        except (OSError, AttributeError, errors.InternalError):
            _BLAS = False  # an unusable library: the own kernels run
    return _BLAS or None


class Blas:
    """One cuBLAS handle and the two gemm entry points jitgraph uses."""

    def __init__(self, lib):
        self.lib = lib
        self.handle = ctypes.c_void_p()
        self._check(lib.cublasCreate_v2(ctypes.byref(self.handle)), "cublasCreate")
        ll, i, p, vp = ctypes.c_longlong, ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p
        self.fns = {}
        for dtype, prefix in (("float32", "S"), ("float64", "D")):
            f = getattr(lib, f"cublas{prefix}gemmStridedBatched")
            f.argtypes = [vp, i, i, i, i, i, p, p, i, ll, p, i, ll, p, p, i, ll, i]
            f.restype = i
            self.fns[dtype] = f
        # alpha = 1, beta = 0 (host pointers, cuBLAS's default pointer mode)
        self._keep = [(ctypes.c_float(1.0), ctypes.c_float(0.0)),
                      (ctypes.c_double(1.0), ctypes.c_double(0.0))]
        self.scalars = {dt: tuple(ctypes.addressof(x) for x in pair)
                        for dt, pair in zip(("float32", "float64"), self._keep, strict=True)}

    @staticmethod
    def _check(status, what):
        if status:
            raise errors.InternalError(
                f"{what} failed: CUBLAS_STATUS_{_STATUS.get(status, status)}; "
                f"JITGRAPH_CUBLAS=0 runs jitgraph's own matmul kernels instead")

    def gemm(self, dtype, ta, tb, m, n, k, a, lda, b, ldb, c, batch=1, sa=0, sb=0):
        """Row-major ``C[z] = op(A[z]) @ op(B[z])`` for z < batch: A at ``a + z * sa``,
        B at ``b + z * sb``, C (m x n, contiguous) at ``c + z * m * n`` (element
        strides; device addresses as ints)."""
        one, zero = self.scalars[dtype]
        self._check(self.fns[dtype](
            self.handle, int(tb), int(ta), n, m, k, one, b, ldb, sb, a, lda, sa, zero, c, n,
            m * n, batch), f"cublas gemm ({dtype}, {m}x{n}x{k})")


__all__ = ["get", "Blas", "ENABLED", "LIBRARIES", "MIN_FMAS"]
