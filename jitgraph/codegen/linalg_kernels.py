"""Per-matrix kernels (MatrixKernel) for the ops of ops/linalg_ops.py: Cholesky, triangular
solve, and LU with partial pivoting for lu, solve, inverse, determinant and
log-determinant; eigh, qr and svd (ops/linalg_decomp.py) in codegen/linalg_decomp.py.

    steps = []; _lower(lowerer, op, steps)             # the rule of each of those ops
    fn, info = emit_matrix_kernel(module, k, layout, static_index)     # cpu
    ptx.emit_matrix(module, k)                                          # GPU

A kernel runs one sequential factorization per matrix of the batch (``matrix_task``, the
same LLVM code on both targets): on the cpu the matrices are the rows the worker pool
splits ([lo, hi) of the batch), on the GPU each thread takes matrices in a grid-stride
loop. That suits the batches of small and medium matrices ML code uses; one large matrix
runs on one core (see benchmarks/bench_linalg.py).

Storages are contiguous: the matrix ``a`` [batch, n, n], the right-hand side ``rhs``
[batch, n, cols], the output, and for LU a workspace ``work`` [batch, n, n] in the arena
(the factorization overwrites it). ``body`` only lists them as Loads, so buffer planning
and the GPU's slot list see what the kernel reads; it is never evaluated.

Checks: a Cholesky diagonal <= 0 and an exactly zero LU pivot of a
solve or inverse store the op's status code (lower.index_code); the entry point returns it
and runtime.status_error raises InvalidArgumentError with the op's message
(runtime.CHECKED_OPS). The kernel still finishes, with only in-bounds accesses; its
outputs are never returned. A singular determinant is 0 (log-determinant: sign 0, -inf).
NaN passes the checks and propagates, as in NumPy and TensorFlow (Eigen).
"""

from dataclasses import dataclass

import llvmlite.ir as ir
import numpy as np

from . import kernels as K
from . import loops as L
from . import runtime
from . import scalar as S
from .lower import register_lowering

ALGO = {"cholesky": "cholesky", "matrix_triangular_solve": "trsm", "matrix_solve": "solve",
        "matrix_inverse": "inverse", "matrix_determinant": "det",
        "log_matrix_determinant": "slogdet", "lu": "lu", "self_adjoint_eig": "eigh",
        "qr": "qr", "svd": "svd"}
LU_ALGOS = ("solve", "inverse", "det", "slogdet")
# a workspace of the input's size in the arena (svd: twice that, for LAPACK's gesdd)
WORK_ALGOS = LU_ALGOS + ("eigh", "qr", "svd")
runtime.CHECKED_OPS.update({
    "cholesky": "Cholesky decomposition was not successful. The input might not be valid "
                "(it must be symmetric positive definite)",
    "matrix_solve": "Input matrix is not invertible",
    "matrix_inverse": "Input is not invertible",
})


@dataclass(eq=False)
class MatrixKernel(K.Kernel):
    """``algo`` ('cholesky' | 'trsm' | 'lu' | 'solve' | 'inverse' | 'det' | 'slogdet' |
    'eigh') on each of ``dims[0]`` matrices of size ``n``; ``cols``: columns of the rhs
    (and output)."""

    algo: str = ""
    n: object = 0
    cols: object = 0
    a: object = None
    rhs: object = None
    work: object = None
    rows: object = 0  # the input's rows (qr, svd: matrices need not be square)
    lower: bool = True
    adjoint: bool = False
    status_code: int | None = None
    plain = False


def _lower(lw, op, steps):
    x, out = op.inputs[0], op.outputs[0]
    qs, r = lw.qs, len(x.shape)
    algo = ALGO[op.type]
    batch = qs.q(("matrix_batch", x.uid),
                 lambda e: int(np.prod(e.shape(x)[:-2], dtype=np.int64)))
    n = qs.dim(x, r - 1)
    rows = qs.dim(x, r - 2)
    rhs = op.inputs[1] if len(op.inputs) > 1 else None
    cols = qs.dim(rhs, r - 1) if rhs is not None else \
        qs.dim(out, r - 1) if len(out.shape) == r else n
    work = None
    if algo in WORK_ALGOS:
        work = lw.p.new_arena()
        work.size = qs.nbytes(x) if algo != "svd" else qs.q(
            ("svd_work", x.uid), lambda e: 2 * e.size(x) * x.dtype.np.itemsize)
    stores = [lw.st(x)] + ([lw.st(rhs)] if rhs is not None else []) + \
        ([work] if work is not None else [])
    body = K.Apply("group", x.dtype, [K.Load(s, x.dtype, []) for s in stores], {})
    code = lw.index_code(op) if op.type in runtime.CHECKED_OPS else None
    k = MatrixKernel(op.name, [batch], body, lw.fresh(out), out.dtype, loc=op.loc,
                     text=op.name, algo=algo, n=n, cols=cols, a=lw.st(x),
                     rhs=lw.st(rhs) if rhs is not None else None, work=work, rows=rows,
                     lower=op.attrs.get("lower", True), adjoint=op.attrs.get("adjoint", False),
                     status_code=code)
    lw.p.kernels.append(k)
    steps.append(("kernel", k))


for _name in ALGO:
    register_lowering(_name, _lower)


# ----------------------------------------------------------------------------- code


class _Mat:
    """Element pointers of one row-major matrix: ``at(i, j)``."""

    def __init__(self, ctx, ptr, base, ld):
        self.b, self.ptr, self.base, self.ld = ctx.b, ptr, base, ld

    def at(self, i, j):
        b = self.b
        return b.gep(self.ptr, [b.add(self.base, b.add(b.mul(i, self.ld), j))])

    def get(self, i, j):
        return self.b.load(self.at(i, j))

    def put(self, i, j, v):
        self.b.store(v, self.at(i, j))


class _Task:
    """Emits the work on matrix ``m`` of MatrixKernel ``k`` at ``ctx``'s builder."""

    def __init__(self, ctx, k, m, acc, lapack=False):
        self.ctx, self.k, self.b, self.acc = ctx, k, ctx.b, acc
        self.lapack = lapack  # may call LAPACK (the cpu kernel; codegen/blas.py)
        b = ctx.b
        self.dt = k.out_dtype
        self.ft = S.storage_type(self.dt)
        self.n, self.c = ctx.q(k.n), ctx.q(k.cols)
        nn, nc = b.mul(self.n, self.n), b.mul(self.n, self.c)
        self.m, self.nn, self.nc = m, nn, nc
        self.A = _Mat(ctx, ctx.ptr(k.a, self.dt), b.mul(m, nn), self.n)

    # -- helpers
    def i64(self, v):
        return ir.Constant(S.I64, v)

    def f(self, v):
        return ir.Constant(self.ft, v)

    def loop(self, lo, hi, body, name):
        L.for_range(self.ctx, lo, hi, body, name=name)

    def rev(self, hi, body, name):
        """``for i in reversed(range(hi))``."""
        b = self.b
        self.loop(self.i64(0), hi, lambda r: body(b.sub(b.sub(hi, self.i64(1)), r)), name)

    def fail(self):
        self.ctx.set_status(self.b, self.k.status_code)

    def emit(self, name, *args):
        return S.emit(self.b, name, list(args), [self.dt] * len(args), self.dt, {})

    def tri(self, i, j):
        """Element (i, j) of the matrix the solve uses: ``a`` or, with adjoint, ``a^T``."""
        return self.A.get(j, i) if self.k.adjoint else self.A.get(i, j)

    def axpy(self, X, i, q, t, lo, hi):
        """``X[i, lo:hi] -= t * X[q, lo:hi]``."""
        b = self.b
        self.loop(lo, hi, lambda j: X.put(i, j, b.fsub(X.get(i, j), b.fmul(t, X.get(q, j)))),
                  "axpy")

    # -- algorithms
    def cholesky(self):
        b, acc, n, A = self.b, self.acc, self.n, self.A
        Lm = _Mat(self.ctx, self.ctx.ptr(self.k.out, self.dt), b.mul(self.m, self.nn), n)
        zero = self.i64(0)

        def dot_into(i, j):  # acc -= sum_{q<j} L[i, q] * L[j, q]
            self.loop(zero, j, lambda q: b.store(b.fsub(b.load(acc), b.fmul(
                Lm.get(i, q), Lm.get(j, q))), acc), "dot")

        def column(j):
            self.loop(zero, j, lambda i: Lm.put(i, j, self.f(0.0)), "upper")
            b.store(A.get(j, j), acc)
            dot_into(j, j)
            s = b.load(acc)
            with b.if_then(b.fcmp_ordered("<=", s, self.f(0.0)), likely=False):
                self.fail()
            d = self.emit("sqrt", s)
            Lm.put(j, j, d)

            def below(i):
                b.store(A.get(i, j), acc)
                dot_into(i, j)
                Lm.put(i, j, b.fdiv(b.load(acc), d))

            self.loop(b.add(j, self.i64(1)), n, below, "below")

        self.loop(zero, n, column, "col")

    def trsm(self):
        b, k, n, c = self.b, self.k, self.n, self.c
        X = _Mat(self.ctx, self.ctx.ptr(k.out, self.dt), b.mul(self.m, self.nc), c)
        B = _Mat(self.ctx, self.ctx.ptr(k.rhs, self.dt), b.mul(self.m, self.nc), c)
        zero, one = self.i64(0), self.i64(1)
        forward = k.lower != k.adjoint

        def row(i):
            self.loop(zero, c, lambda j: X.put(i, j, B.get(i, j)), "copy")
            lo, hi = (zero, i) if forward else (b.add(i, one), n)
            self.loop(lo, hi, lambda q: self.axpy(X, i, q, self.tri(i, q), zero, c), "sub")
            d = self.tri(i, i)
            self.loop(zero, c, lambda j: X.put(i, j, b.fdiv(X.get(i, j), d)), "div")

        if forward:
            self.loop(zero, n, row, "row")
        else:
            self.rev(n, row, "row")

    def lu(self):
        """Gaussian elimination with partial pivoting of ``work`` (= a or a^T), applying
        the same row operations to X (rhs, or the identity for the inverse), then back
        substitution; or the determinant from the pivots."""
        b, k, n, c, algo = self.b, self.k, self.n, self.c, self.k.algo
        pb, dt = self.ctx.pb, self.dt
        zero, one = self.i64(0), self.i64(1)
        X = None
        if algo == "lu":  # in place in the output: [n, n + 1], the last column the perm
            W = _Mat(self.ctx, self.ctx.ptr(k.out, dt), b.mul(self.m, self.nc), c)
            self.loop(zero, n, lambda i: W.put(i, n, b.sitofp(i, self.ft)), "perm")
        else:
            W = _Mat(self.ctx, self.ctx.ptr(k.work, dt), b.mul(self.m, self.nn), n)
        if algo in ("solve", "inverse"):
            X = _Mat(self.ctx, self.ctx.ptr(k.out, dt), b.mul(self.m, self.nc), c)
        self.loop(zero, n, lambda i: self.loop(zero, n, lambda j: W.put(
            i, j, self.tri(i, j)), "copy"), "copy")
        if algo == "solve":
            B = _Mat(self.ctx, self.ctx.ptr(k.rhs, dt), b.mul(self.m, self.nc), c)
            self.loop(zero, n, lambda i: self.loop(zero, c, lambda j: X.put(
                i, j, B.get(i, j)), "copy"), "copy")
        elif algo == "inverse":
            self.loop(zero, n, lambda i: self.loop(zero, c, lambda j: X.put(i, j, b.select(
                b.icmp_signed("==", i, j), self.f(1.0), self.f(0.0))), "eye"), "eye")
        det = pb.alloca(self.ft)  # det: the product; slogdet: the sign
        logabs = pb.alloca(self.ft)
        best, where = self.acc, pb.alloca(S.I64)
        b.store(self.f(1.0), det)
        b.store(self.f(0.0), logabs)

        def swap(M, p, j, cols):
            def one_col(q):
                t = M.get(j, q)
                M.put(j, q, M.get(p, q))
                M.put(p, q, t)

            self.loop(zero, cols, one_col, "swap")

        def column(j):
            b.store(self.emit("abs", W.get(j, j)), best)
            b.store(j, where)

            def search(i):
                v = self.emit("abs", W.get(i, j))
                better = b.fcmp_ordered(">", v, b.load(best))
                b.store(b.select(better, v, b.load(best)), best)
                b.store(b.select(better, i, b.load(where)), where)

            self.loop(b.add(j, one), n, search, "pivot")
            p = b.load(where)
            pv = W.get(p, j)
            with b.if_else(b.fcmp_ordered("==", pv, self.f(0.0))) as (singular, regular):
                with singular:
                    if k.status_code is not None:
                        self.fail()
                    b.store(self.f(0.0), det)
                    b.store(self.f(-np.inf), logabs)
                with regular:
                    with b.if_then(b.icmp_signed("!=", p, j)):
                        swap(W, p, j, c if algo == "lu" else n)
                        if X is not None:
                            swap(X, p, j, c)
                        b.store(b.fneg(b.load(det)), det)
                    if algo == "det":
                        b.store(b.fmul(b.load(det), pv), det)
                    elif algo == "slogdet":
                        neg = b.fcmp_ordered("<", pv, self.f(0.0))
                        b.store(b.select(neg, b.fneg(b.load(det)), b.load(det)), det)
                        b.store(b.fadd(b.load(logabs), self.emit("log", self.emit("abs", pv))),
                                logabs)

                    def eliminate(i):
                        fct = b.fdiv(W.get(i, j), pv)
                        W.put(i, j, fct)
                        self.axpy(W, i, j, fct, b.add(j, one), n)
                        if X is not None:
                            self.axpy(X, i, j, fct, zero, c)

                    self.loop(b.add(j, one), n, eliminate, "elim")

        self.loop(zero, n, column, "col")
        if algo == "lu":
            return
        if X is not None:
            def back(i):
                self.loop(b.add(i, one), n, lambda q: self.axpy(X, i, q, W.get(i, q), zero, c),
                          "sub")
                d = W.get(i, i)
                self.loop(zero, c, lambda j: X.put(i, j, b.fdiv(X.get(i, j), d)), "div")

            self.rev(n, back, "back")
            return
        out = self.ctx.ptr(k.out, dt)
        if algo == "det":
            b.store(b.load(det), b.gep(out, [self.m]))
        else:
            at = b.mul(self.m, self.i64(2))
            b.store(b.load(det), b.gep(out, [at]))
            b.store(b.load(logabs), b.gep(out, [b.add(at, one)]))


def matrix_task(ctx, k, m, acc, lapack=False):
    """The work of MatrixKernel ``k`` on matrix ``m`` (an i64); ``acc`` a scratch slot of
    the element type. Used by the cpu kernel below (``lapack``: eigh and svd may call
    LAPACK) and the GPU's (ptx.emit_matrix)."""
    from . import linalg_decomp

    t = _Task(ctx, k, m, acc, lapack)
    if k.algo in linalg_decomp.ALGOS:
        return linalg_decomp.ALGOS[k.algo](t)
    {"cholesky": t.cholesky, "trsm": t.trsm}.get(k.algo, t.lu)()


def emit_matrix_kernel(module, k, layout, static_index):
    """The cpu function of MatrixKernel ``k`` over matrices [lo, hi); (fn, info) like
    loops.emit_kernel."""
    fn, ctx, lo, hi = L.row_function(module, k, layout, static_index)
    acc = ctx.pb.alloca(S.storage_type(k.out_dtype))
    L.for_range(ctx, lo, hi, lambda m: matrix_task(ctx, k, m, acc, True), name="matrix")
    ctx.b.ret_void()
    ctx.finalize()
    (batch,) = k.dims
    work = L._qmul(L._qmul(L._qmul(batch, k.n), k.n), k.rows if k.algo in ("qr", "svd") else k.n)
    return fn, {"variant": "matrix", "outer": batch, "total": work, "parallel": True,
                "count": 1}


__all__ = ["MatrixKernel", "matrix_task", "emit_matrix_kernel"]
