"""cuda_blas.py without a GPU: the row-major -> column-major argument mapping of its gemm,
checked against a column-major reference gemm (host memory standing in for the device),
and the switches that keep cuBLAS out. On a GPU, tests/test_cuda_run.py runs the real
library (test_cublas_is_used_only_on_a_gpu, the "cublas" matmul cases)."""

import ctypes

import numpy as np
import pytest

from jitgraph import errors
from jitgraph.codegen import cuda_blas


def _colmajor(addr, dtype, rows, cols, ld):
    """The rows x cols column-major matrix at ``addr`` with leading dimension ld (a view)."""
    n = ld * (cols - 1) + rows
    ct = ctypes.c_float if dtype == np.float32 else ctypes.c_double
    flat = np.ctypeslib.as_array((ct * n).from_address(addr))
    return np.lib.stride_tricks.as_strided(
        flat, (rows, cols), (flat.itemsize, flat.itemsize * ld))


class _Gemm:
    """cublas?gemmStridedBatched as the BLAS reference defines it (column-major)."""

    def __init__(self, dtype):
        self.dtype, self.argtypes, self.restype, self.calls = dtype, None, None, 0

    def __call__(self, handle, ta, tb, m, n, k, alpha, a, lda, sa, b, ldb, sb, beta, c, ldc,
                 sc, batch):
        self.calls += 1
        item = np.dtype(self.dtype).itemsize
        for z in range(batch):
            az, bz, cz = a + z * sa * item, b + z * sb * item, c + z * sc * item
            opa = _colmajor(az, self.dtype, k, m, lda).T if ta else \
                _colmajor(az, self.dtype, m, k, lda)
            opb = _colmajor(bz, self.dtype, n, k, ldb).T if tb else \
                _colmajor(bz, self.dtype, k, n, ldb)
            _colmajor(cz, self.dtype, m, n, ldc)[...] = opa @ opb
        return 0


class _FakeLib:
    def __init__(self, create_status=0):
        self.create_status = create_status
        self.cublasSgemmStridedBatched = _Gemm(np.float32)
        self.cublasDgemmStridedBatched = _Gemm(np.float64)

    def cublasCreate_v2(self, handle_ref):
        return self.create_status


@pytest.mark.parametrize("dt", [np.float32, np.float64])
@pytest.mark.parametrize("ta,tb", [(False, False), (True, False), (False, True), (True, True)])
def test_row_major_gemm_maps_onto_column_major_cublas(ta, tb, dt):
    blas = cuda_blas.Blas(_FakeLib())
    rng = np.random.RandomState(0)
    batch, m, k, n = 3, 5, 7, 4
    a = rng.randn(batch, *((k, m) if ta else (m, k))).astype(dt)
    b = rng.randn(*((n, k) if tb else (k, n))).astype(dt)  # broadcast over the batch
    c = np.zeros((batch, m, n), dt)
    blas.gemm(np.dtype(dt).name, ta, tb, m, n, k, a.ctypes.data, a.shape[-1], b.ctypes.data,
              b.shape[-1], c.ctypes.data, batch, a[0].size, 0)
    want = np.matmul(np.swapaxes(a, -1, -2) if ta else a, b.T if tb else b)
    np.testing.assert_allclose(c, want, rtol=1e-5)


def test_a_failing_status_names_the_call_and_the_way_out():
    with pytest.raises(errors.InternalError, match="CUBLAS_STATUS_NOT_INITIALIZED.*"
                                                   "JITGRAPH_CUBLAS=0"):
        cuda_blas.Blas(_FakeLib(create_status=1))


def test_disabled_or_unloadable_cublas_gives_none(monkeypatch):
    monkeypatch.setattr(cuda_blas, "ENABLED", False)
    assert cuda_blas.get() is None
    monkeypatch.setattr(cuda_blas, "ENABLED", True)
    monkeypatch.setattr(cuda_blas, "_BLAS", None)
    monkeypatch.setattr(cuda_blas, "_load", lambda: _FakeLib(create_status=1))
    assert cuda_blas.get() is None  # an unusable library: the own kernels run
    monkeypatch.setattr(cuda_blas, "_BLAS", None)
    monkeypatch.setattr(cuda_blas, "_load", lambda: None)
    assert cuda_blas.get() is None
