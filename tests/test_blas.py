"""jitgraph.codegen.blas: the GEMM generated code calls, checked against NumPy."""

import ctypes

import llvmlite.binding as llvm
import llvmlite.ir as ir
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from jitgraph.codegen import blas

SOURCES = sorted(blas.sources())
TOL = {"float32": 2e-5, "float64": 1e-12}


def _check(got, want, dtype, k):
    scale = np.abs(want).max() + 1
    assert np.abs(got - want).max() <= TOL[dtype] * scale * max(k, 1) ** 0.5


@pytest.mark.parametrize("source", SOURCES)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@given(
    m=st.integers(1, 40),
    n=st.integers(1, 40),
    k=st.integers(1, 40),
    ta=st.booleans(),
    tb=st.booleans(),
    alpha=st.sampled_from([1.0, -0.5, 2.0]),
    beta=st.sampled_from([0.0, 1.0, 0.25]),
)
def test_gemm_matches_numpy(source, dtype, m, n, k, ta, tb, alpha, beta):
    rng = np.random.default_rng(m * 10007 + n * 101 + k)
    a = rng.standard_normal((k, m) if ta else (m, k)).astype(dtype)
    b = rng.standard_normal((n, k) if tb else (k, n)).astype(dtype)
    c = rng.standard_normal((m, n)).astype(dtype)
    got = blas.call(a, b, ta, tb, alpha, beta, c, source=source)
    want = alpha * ((a.T if ta else a) @ (b.T if tb else b)) + beta * c
    assert got.dtype == np.dtype(dtype) and got.shape == (m, n)
    _check(got, want, dtype, k)


@pytest.mark.parametrize("source", SOURCES)
def test_large_gemm_uses_threads_and_is_exact_enough(source):
    rng = np.random.default_rng(0)
    a = rng.standard_normal((257, 511)).astype("float32")
    b = rng.standard_normal((511, 129)).astype("float32")
    _check(blas.call(a, b, source=source), a.astype("f8") @ b, "float32", 511)


def test_numpy_openblas_is_preferred_when_present():
    if "numpy" in blas.sources():
        assert blas.gemm("float32")[1] == "cblas64"
    else:
        assert blas.gemm("float32")[1] == "fortran32"


def test_generated_code_calls_the_registered_symbol():
    """A JIT-compiled function declaring jg_dgemm (as codegen does) computes a @ b."""
    llvm.initialize_native_target()
    llvm.initialize_native_asmprinter()
    blas.register_symbols()
    d, i32, i64 = ir.DoubleType(), ir.IntType(32), ir.IntType(64)
    p = ir.PointerType(d)
    mod = ir.Module("uses_gemm")
    mod.triple = llvm.get_process_triple()
    gemm_ty = ir.FunctionType(
        ir.VoidType(), [i32, i32, i32, i64, i64, i64, d, p, i64, p, i64, d, p, i64]
    )
    gemm = ir.Function(mod, gemm_ty, blas.symbol("float64"))
    fn = ir.Function(mod, ir.FunctionType(ir.VoidType(), [p, p, p, i64]), "square_mm")
    a, b, c, n = fn.args
    bld = ir.IRBuilder(fn.append_basic_block())
    c32 = lambda v: ir.Constant(i32, v)  # noqa: E731
    bld.call(
        gemm,
        [
            c32(101),
            c32(111),
            c32(111),
            n,
            n,
            n,
            ir.Constant(d, 1.0),
            a,
            n,
            b,
            n,
            ir.Constant(d, 0.0),
            c,
            n,
        ],
    )
    bld.ret_void()
    tm = llvm.Target.from_default_triple().create_target_machine()
    ee = llvm.create_mcjit_compiler(llvm.parse_assembly(str(mod)), tm)
    ee.finalize_object()
    f = ctypes.CFUNCTYPE(None, *[ctypes.c_void_p] * 3, ctypes.c_int64)(
        ee.get_function_address("square_mm")
    )
    x, y = np.random.default_rng(1).standard_normal((2, 33, 33))
    out = np.empty((33, 33))
    f(x.ctypes.data, y.ctypes.data, out.ctypes.data, 33)
    _check(out, x @ y, "float64", 33)


def test_bad_dtype_and_shapes_are_named():
    with pytest.raises(TypeError, match="float32 and float64, not int32"):
        blas.gemm("int32")
    with pytest.raises(ValueError, match=r"\(2, 3\).*\(4, 5\)"):
        blas.call(np.ones((2, 3)), np.ones((4, 5)))


def test_threads_local_control_round_trips():
    if blas.threads_local_address() is None:
        assert blas.set_threads_local(1) is None
        return
    old = blas.set_threads_local(1)
    try:
        assert old >= 1
        assert blas.set_threads_local(old) == 1
        assert "jg_blas_threads_local" in blas.register_symbols()
        a = np.random.default_rng(3).standard_normal((64, 64)).astype("float32")
        blas.set_threads_local(1)
        _check(blas.call(a, a), a.astype("f8") @ a, "float32", 64)
    finally:
        blas.set_threads_local(old)
