"""GEMM for generated code: the fastest maintained BLAS in this process.

Owns finding a BLAS, the one C signature generated code calls, and making
that symbol resolvable by the JIT. Generated code declares (per dtype)::

    void jg_sgemm(i32 order, i32 trans_a, i32 trans_b, i64 m, i64 n, i64 k,
                  float alpha, float* a, i64 lda, float* b, i64 ldb,
                  float beta, float* c, i64 ldc)      ; jg_dgemm: double

which is CBLAS with 64-bit integers: order 101 = row-major (use that),
trans 111 = no transpose, 112 = transpose; C = alpha*op(A)@op(B) + beta*C.

OpenBLAS's worker threads busy-wait after each call; code that also runs
its own threads right after a GEMM competes with them for the cores (the
W3 training step ran 5x slower that way on 2 cores). ``jg_blas_threads_local``
(``i32 (i32)``, when registered) sets how many threads GEMM calls from the
calling thread use, e.g. 1 while generated code parallelizes by itself.
``register_symbols()`` maps the names with ``llvmlite.binding.add_symbol``,
so object code refers to the symbol, never to an address: it can be cached
on disk and loaded into another process.

Sources, best first (benchmarks/bench_matmul.py measures them; on the 2-core
AVX-512 machines NumPy's bundled OpenBLAS 0.3.31 ran 1024^3/2048^3 sgemm at
the same speed as numpy.matmul, SciPy's older OpenBLAS was slower):

1. "numpy": NumPy's bundled OpenBLAS (``numpy.libs/libscipy_openblas64_*.so``),
   symbol ``scipy_cblas_sgemm64_`` -- exactly the signature above.
2. "scipy": ``scipy.linalg.cython_blas`` sgemm/dgemm (Fortran ABI, 32-bit
   ints, column-major), reached through a small LLVM adapter compiled here
   that presents the same signature.

Example::

    from jitgraph.codegen import blas
    blas.register_symbols()
    addr, abi = blas.gemm("float32")   # abi == "cblas64"
"""

import ctypes
import functools
import glob
import os

import numpy as np

__all__ = [
    "gemm",
    "register_symbols",
    "symbol",
    "call",
    "sources",
    "cblas_address",
    "SIGNATURE",
    "set_threads_local",
    "threads_local_address",
    "THREADS_SYMBOL",
    "lapack_symbol",
    "LAPACK_ROUTINES",
]

ROW_MAJOR, NO_TRANS, TRANS = 101, 111, 112
SIGNATURE = (
    "void {name}(i32 order, i32 trans_a, i32 trans_b, i64 m, i64 n, i64 k, T alpha, T* a, "
    "i64 lda, T* b, i64 ldb, T beta, T* c, i64 ldc)"
)
_SYMBOLS = {"float32": "jg_sgemm", "float64": "jg_dgemm"}
# i32 jg_blas_threads_local(i32 n): BLAS threads for calls from this thread; returns the old
# count. Registered only when the BLAS has it (see threads_local_address).
THREADS_SYMBOL = "jg_blas_threads_local"
_CTYPE = {"float32": ctypes.c_float, "float64": ctypes.c_double}


def symbol(dtype):
    """The name generated code declares for GEMM of `dtype`: symbol("float32") == "jg_sgemm"."""
    return _SYMBOLS[_name(dtype)]


def _name(dtype):
    name = str(getattr(dtype, "name", dtype))
    if name not in _SYMBOLS:
        raise TypeError("BLAS GEMM supports float32 and float64, not %s" % name)
    return name


# ---------------------------------------------------------------- sources
def _numpy_openblas():
    libdir = os.path.join(os.path.dirname(np.__file__), os.pardir, "numpy.libs")
    for path in sorted(glob.glob(os.path.join(libdir, "libscipy_openblas64_*.so*"))):
        try:
            lib = ctypes.CDLL(path)
            found = {
                "float32": ctypes.cast(lib.scipy_cblas_sgemm64_, ctypes.c_void_p).value,
                "float64": ctypes.cast(lib.scipy_cblas_dgemm64_, ctypes.c_void_p).value,
                "lib": lib,
            }
            for routine in LAPACK_ROUTINES:
                for dt, letter in (("float32", "s"), ("float64", "d")):
                    fn = getattr(lib, "scipy_LAPACKE_%s%s64_" % (letter, routine), None)
                    if fn is not None:
                        found["lapack", routine, dt] = ctypes.cast(fn, ctypes.c_void_p).value
            if hasattr(lib, "openblas_set_num_threads_local"):  # OpenBLAS >= 0.3.27
                found["threads_local"] = ctypes.cast(
                    lib.openblas_set_num_threads_local, ctypes.c_void_p
                ).value
            return found
        except (OSError, AttributeError):
            continue
    return None


def _scipy_fortran():
    try:
        from scipy.linalg import cython_blas
    except ImportError:
        return None
    get = ctypes.pythonapi.PyCapsule_GetPointer
    get.restype, get.argtypes = ctypes.c_void_p, [ctypes.py_object, ctypes.c_char_p]
    out = {}
    for dt, fname in (("float32", "sgemm"), ("float64", "dgemm")):
        cap = cython_blas.__pyx_capi__[fname]
        cname = ctypes.pythonapi.PyCapsule_GetName
        cname.restype, cname.argtypes = ctypes.c_char_p, [ctypes.py_object]
        out[dt] = get(cap, cname(cap))
    return out


@functools.lru_cache(maxsize=None)
def sources():
    """Available GEMM sources: {"numpy": {dtype: cblas64 address}, "scipy": {...fortran}}."""
    found = {}
    np_lib = _numpy_openblas()
    if np_lib:
        found["numpy"] = np_lib
    sp = _scipy_fortran()
    if sp:
        found["scipy"] = sp
    return found


def gemm(dtype, source=None):
    """(address, abi) of the GEMM generated code should call for `dtype`.

    abi "cblas64" is the signature in SIGNATURE; abi "fortran32" is reference-BLAS
    sgemm_/dgemm_ (all arguments by pointer, column-major, 32-bit ints).
    Example: ``addr, abi = gemm("float32")``.
    """
    name = _name(dtype)
    found = sources()
    order = [source] if source else ["numpy", "scipy"]
    for src in order:
        if src in found:
            return found[src][name], ("cblas64" if src == "numpy" else "fortran32")
    raise RuntimeError(
        "no BLAS found for %s GEMM: NumPy's bundled OpenBLAS (numpy.libs) and "
        "scipy.linalg.cython_blas are both missing; reinstall numpy from a wheel" % name
    )


# ---------------------------------------------------------------- adapter for Fortran BLAS
def _fortran_adapter(dtype, faddr):
    """Compile jg_?gemm (cblas64 signature) calling a Fortran-ABI gemm at `faddr`."""
    import llvmlite.binding as llvm
    import llvmlite.ir as ir

    ft = ir.FloatType() if dtype == "float32" else ir.DoubleType()
    i8, i32, i64 = ir.IntType(8), ir.IntType(32), ir.IntType(64)
    fp, i32p, i8p = ir.PointerType(ft), ir.PointerType(i32), ir.PointerType(i8)
    mod = ir.Module(name="jg_gemm_adapter_" + dtype)
    mod.triple = llvm.get_process_triple()
    fty = ir.FunctionType(
        ir.VoidType(), [i32, i32, i32, i64, i64, i64, ft, fp, i64, fp, i64, ft, fp, i64]
    )
    fn = ir.Function(mod, fty, "adapter")
    ta, tb, m, n, k, alpha, a, lda, bb, ldb, beta, c, ldc = fn.args[1:]
    b = ir.IRBuilder(fn.append_basic_block())

    def slot(ty, v):
        p = b.alloca(ty)
        b.store(v, p)
        return p

    def tchar(t):  # 'T' if transposed else 'N'
        return slot(
            i8,
            b.select(
                b.icmp_signed("==", t, ir.Constant(i32, TRANS)),
                ir.Constant(i8, ord("T")),
                ir.Constant(i8, ord("N")),
            ),
        )

    def i(v):
        return slot(i32, b.trunc(v, i32))

    # row-major C = op(A) op(B)  <=>  column-major C^T = op(B)^T op(A)^T
    args = [
        tchar(tb),
        tchar(ta),
        i(n),
        i(m),
        i(k),
        slot(ft, alpha),
        bb,
        i(ldb),
        a,
        i(lda),
        slot(ft, beta),
        c,
        i(ldc),
    ]
    fort = ir.FunctionType(
        ir.VoidType(), [i8p, i8p] + [i32p] * 3 + [fp, fp, i32p, fp, i32p, fp, fp, i32p]
    )
    b.call(b.inttoptr(ir.Constant(i64, faddr), ir.PointerType(fort)), args)
    b.ret_void()
    llvm.initialize_native_target()
    llvm.initialize_native_asmprinter()
    tm = llvm.Target.from_default_triple().create_target_machine()
    ee = llvm.create_mcjit_compiler(llvm.parse_assembly(str(mod)), tm)
    ee.finalize_object()
    return ee, ee.get_function_address("adapter")


_ADAPTERS = {}  # keeps adapter engines (and so their code) alive


@functools.lru_cache(maxsize=None)
def cblas_address(dtype, source=None):
    """Address of a function with the jg_?gemm signature (an adapter for Fortran BLAS)."""
    dt = _name(dtype)
    addr, abi = gemm(dt, source)
    if abi == "fortran32":
        _ADAPTERS[dt, source], addr = _fortran_adapter(dt, addr)
    return addr


def register_symbols():
    """Make jg_sgemm/jg_dgemm resolvable by llvmlite's JIT; returns {symbol: address}.

    Example: ``register_symbols()["jg_sgemm"]`` is the address generated code will call.
    """
    import llvmlite.binding as llvm

    out = {}
    for dt, sym in _SYMBOLS.items():
        out[sym] = cblas_address(dt)
        llvm.add_symbol(sym, out[sym])
    addr = threads_local_address()
    if addr:
        out[THREADS_SYMBOL] = addr
        llvm.add_symbol(THREADS_SYMBOL, addr)
    lib = sources().get("numpy", {})
    for routine in LAPACK_ROUTINES:
        for dt in _SYMBOLS:
            if ("lapack", routine, dt) in lib:
                out[_lapack_name(routine, dt)] = lib["lapack", routine, dt]
                llvm.add_symbol(_lapack_name(routine, dt), lib["lapack", routine, dt])
    return out


# ---------------------------------------------------------------- LAPACK
# LAPACKE (C interface, 64-bit integers) routines generated code may call, from NumPy's
# bundled OpenBLAS; the cpu decompositions (codegen/linalg_decomp.py) use them for
# matrices from a size up and fall back to their own kernels without them:
#   i64 jg_?syevd(i32 layout, i8 jobz, i8 uplo, i64 n, T* a, i64 lda, T* w)
#   i64 jg_?gesdd(i32 layout, i8 jobz, i64 m, i64 n, T* a, i64 lda, T* s, T* u, i64 ldu,
#                 T* vt, i64 ldvt)
#   i64 jg_?geqrf(i32 layout, i64 m, i64 n, T* a, i64 lda, T* tau)
#   i64 jg_?orgqr(i32 layout, i64 m, i64 n, i64 k, T* a, i64 lda, T* tau)
# (LAPACKE checks its inputs for NaN and returns -(argument) without computing.)
LAPACK_ROUTINES = ("syevd", "gesdd", "geqrf", "orgqr")


def _lapack_name(routine, dtype):
    return "jg_%s%s" % ("s" if dtype == "float32" else "d", routine)


def lapack_symbol(routine, dtype):
    """The symbol generated code calls for LAPACKE ``routine`` (LAPACK_ROUTINES) of
    ``dtype``, or None when the process has no such LAPACK; register_symbols() maps it.
    Example: ``lapack_symbol("syevd", "float64") == "jg_dsyevd"``."""
    dt = str(getattr(dtype, "name", dtype))
    if ("lapack", routine, dt) not in sources().get("numpy", {}):
        return None
    return _lapack_name(routine, dt)


def threads_local_address():
    """Address of OpenBLAS's ``int openblas_set_num_threads_local(int)`` for the library
    jg_?gemm calls, or None (SciPy's Fortran BLAS path, or an older OpenBLAS)."""
    found = sources()
    if gemm("float32")[1] != "cblas64":
        return None
    return found["numpy"].get("threads_local")


def set_threads_local(n):
    """Threads the calling thread's GEMM calls may use (this thread only); returns the
    previous count, or None when the BLAS cannot do this. Example: ``set_threads_local(1)``."""
    addr = threads_local_address()
    if not addr:
        return None
    fn = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_int)(addr)
    return fn(int(n))


# ---------------------------------------------------------------- Python reference call
@functools.lru_cache(maxsize=None)
def _cfunc(dtype, addr):
    T = _CTYPE[dtype]
    i32, i64, p = ctypes.c_int32, ctypes.c_int64, ctypes.c_void_p
    proto = ctypes.CFUNCTYPE(None, i32, i32, i32, i64, i64, i64, T, p, i64, p, i64, T, p, i64)
    return proto(addr)


def call(a, b, trans_a=False, trans_b=False, alpha=1.0, beta=0.0, c=None, source=None):
    """C = alpha * op(a) @ op(b) + beta * c through the registered jg_?gemm (for tests).

    a, b: 2-D C-contiguous arrays of one float dtype; op transposes when asked.
    Example: ``call(a, b, trans_b=True)`` == ``a @ b.T``.
    """
    dt = _name(a.dtype)
    addr = cblas_address(dt, source)
    a, b = np.ascontiguousarray(a), np.ascontiguousarray(b)
    m, k = (a.shape[1], a.shape[0]) if trans_a else a.shape
    k2, n = (b.shape[1], b.shape[0]) if trans_b else b.shape
    if k != k2 or b.dtype != a.dtype:
        raise ValueError(
            "gemm: op(a) is %s %s, op(b) is %s %s" % ((m, k), a.dtype, (k2, n), b.dtype)
        )
    c = np.zeros((m, n), a.dtype) if c is None else np.ascontiguousarray(c, a.dtype).copy()
    _cfunc(dt, addr)(
        ROW_MAJOR,
        TRANS if trans_a else NO_TRANS,
        TRANS if trans_b else NO_TRANS,
        m,
        n,
        k,
        alpha,
        a.ctypes.data,
        a.shape[1],
        b.ctypes.data,
        b.shape[1],
        beta,
        c.ctypes.data,
        n,
    )
    return c
