"""matmul: float32/float64 through BLAS GEMM called from the generated code (codegen/
blas.py registers ``jg_sgemm``/``jg_dgemm``, CBLAS row-major with 64-bit ints), one call
per matrix of the (broadcast) batch, looped natively; integer matmul as a reduction
kernel (out[..., i, j] = sum_k a[..., i, k] * b[..., k, j]).

Elementwise consumers (bias add, relu) become the next fusion kernel, which reads the
GEMM result once.
"""

import llvmlite.ir as ir

from . import kernels as K
from . import scalar as S

NO_TRANS, TRANS, ROW_MAJOR = 111, 112, 101


def _batch_strides(qs, v, out, nb):
    """Element strides of ``v``'s batch dims against the output's ``nb`` batch dims."""
    vb = len(v.shape) - 2
    res = []
    for d in range(nb):
        k = d - (nb - vb)
        if k < 0:
            res.append(0)
            continue
        res.append(qs.q(("bstride", v.uid, nb, k, "mm"),
                        lambda e, k=k: 0 if e.dim(v, k) == 1 else K.contiguous_stride(e, v, k)))
    return res


def _mat_strides(qs, v, transposed):
    """(row stride, col stride) in elements of op(v) for the last two dims."""
    r = len(v.shape)
    ld = qs.q(("ld", v.uid), lambda e: e.dim(v, r - 1))
    return (1, ld) if transposed else (ld, 1)


class MatmulCall:
    """A ("call", MatmulCall) step: a loop over the batch calling GEMM."""

    def __init__(self, lw, op):
        a, b = op.inputs
        out = op.outputs[0]
        qs = lw.qs
        self.dtype = out.dtype
        self.ta, self.tb = op.attrs["transpose_a"], op.attrs["transpose_b"]
        self.sa, self.sb = lw.st(a), lw.st(b)
        self.out = lw.fresh(out)
        r = len(out.shape)
        nb = r - 2
        self.m, self.n = qs.dim(out, r - 2), qs.dim(out, r - 1)
        ka = len(a.shape) - (2 if self.ta else 1)
        self.k = qs.dim(a, ka)
        self.lda = qs.q(("ld", a.uid), lambda e: e.dim(a, len(a.shape) - 1))
        self.ldb = qs.q(("ld", b.uid), lambda e: e.dim(b, len(b.shape) - 1))
        self.batch = [qs.dim(out, d) for d in range(nb)]
        self.a_bs = _batch_strides(qs, a, out, nb)
        self.b_bs = _batch_strides(qs, b, out, nb)
        self.reads, self.writes = [self.sa, self.sb], [self.out]

    def emit(self, em):
        from . import blas

        blas.register_symbols()
        ctx, b = em.ctx, em.ctx.b
        T = S.compute_type(self.dtype)
        name = blas.symbol(self.dtype.name)
        fn = em.m.globals.get(name) or ir.Function(em.m, ir.FunctionType(
            ir.VoidType(), [S.I32, S.I32, S.I32, S.I64, S.I64, S.I64, T, T.as_pointer(), S.I64,
                            T.as_pointer(), S.I64, T, T.as_pointer(), S.I64]), name)
        m, n, k = ctx.q(self.m), ctx.q(self.n), ctx.q(self.k)
        one = ir.Constant(S.I64, 1)
        lda = S.intrinsic(b, "smax", [ctx.q(self.lda), one])
        ldb = S.intrinsic(b, "smax", [ctx.q(self.ldb), one])
        ldc = S.intrinsic(b, "smax", [n, one])
        pa, pb_, pc = (ctx.ptr(s, self.dtype) for s in (self.sa, self.sb, self.out))
        mn = b.mul(m, n)

        def call(idx):
            offs = []
            for strides in (self.a_bs, self.b_bs):
                off = ir.Constant(S.I64, 0)
                for i, s in zip(idx, strides):
                    if not (isinstance(s, int) and s == 0):
                        off = b.add(off, b.mul(i, ctx.q(s)))
                offs.append(off)
            lin = ir.Constant(S.I64, 0)
            for i, d in zip(idx, self.batch):
                lin = b.add(b.mul(lin, ctx.q(d)), i)
            a_off = offs[0]
            b.call(fn, [ir.Constant(S.I32, ROW_MAJOR),
                        ir.Constant(S.I32, TRANS if self.ta else NO_TRANS),
                        ir.Constant(S.I32, TRANS if self.tb else NO_TRANS), m, n, k,
                        ir.Constant(T, 1.0), b.gep(pa, [a_off]), lda,
                        b.gep(pb_, [offs[1]]), ldb, ir.Constant(T, 0.0),
                        b.gep(pc, [b.mul(lin, mn)]), ldc])

        restore = _blas_threads(em, b, [m, n, k] + [ctx.q(d) for d in self.batch])
        if self.batch or not _pool_split(em, self, fn, (m, n, k, pa, lda, pb_, ldb, pc, ldc)):
            _batch_loops(ctx, [ctx.q(d) for d in self.batch], call)
        restore()


# GEMMs below this many multiply-adds run on the calling thread only: OpenBLAS's workers
# busy-wait after a threaded call and then fight the worker pool (codegen/threadpool.py)
# for the cores; a one-thread 784x256x256 sgemm takes ~1-2 ms, the spinning cost the W3
# training step 5x. 0 = leave BLAS's own thread count.
BLAS_PAR_MIN = 1 << 28


# 2-D GEMMs from this many multiply-adds up to BLAS_PAR_MIN are split by rows of C across
# the worker pool, each slice a one-thread GEMM: two cores without OpenBLAS's spinning
# workers (the W3 step's 784x256x256 GEMMs). 0 = never.
POOL_GEMM_MIN = 1 << 22


def _pool_split(em, mm, gemm, args):
    """Emit ``if (m*n*k in [POOL_GEMM_MIN, BLAS_PAR_MIN) && m >= 2*N_THREADS) pool-split
    else one call``; returns False (nothing emitted) when the split does not apply."""
    from . import blas, threadpool
    from .loops import N_THREADS

    if not POOL_GEMM_MIN or N_THREADS < 2 or not blas.threads_local_address():
        return False
    b = em.ctx.b
    m, n, k, pa, lda, pb_, ldb, pc, ldc = args
    macs = b.mul(b.mul(m, n), k)
    hi = ir.Constant(S.I64, BLAS_PAR_MIN or (1 << 62))
    split = b.and_(b.and_(b.icmp_signed(">=", macs, ir.Constant(S.I64, POOL_GEMM_MIN)),
                          b.icmp_signed("<", macs, hi)),
                   b.icmp_signed(">=", m, ir.Constant(S.I64, 2 * N_THREADS)))
    with b.if_else(split) as (then, other):
        with then:
            pack = em.ctx.pb.alloca(S.I64, ir.Constant(S.I32, 8))
            vals = [n, k, b.ptrtoint(pa, S.I64), lda, b.ptrtoint(pb_, S.I64), ldb,
                    b.ptrtoint(pc, S.I64), ldc]
            for i, v in enumerate(vals):
                b.store(v, b.gep(pack, [ir.Constant(S.I32, i)]))
            slice_fn = _gemm_slice(em.m, mm, gemm)
            par = threadpool.declare(em.m)
            b.call(par, [slice_fn, ir.Constant(par.args[1].type, None),
                         ir.Constant(par.args[2].type, None), m, b.bitcast(pack, S.I8.as_pointer()),
                         ir.Constant(S.I64, 0)])
        with other:
            _one_call(b, mm, gemm, m, args)
    return True


def _one_call(b, mm, gemm, rows, args, row0=None):
    """One GEMM call for rows [row0, row0 + rows) of C."""
    _, n, k, pa, lda, pb_, ldb, pc, ldc = args
    T = S.compute_type(mm.dtype)
    if row0 is not None:
        pa = b.gep(pa, [row0 if mm.ta else b.mul(row0, lda)])
        pc = b.gep(pc, [b.mul(row0, ldc)])
    b.call(gemm, [ir.Constant(S.I32, ROW_MAJOR), ir.Constant(S.I32, TRANS if mm.ta else NO_TRANS),
                  ir.Constant(S.I32, TRANS if mm.tb else NO_TRANS), rows, n, k,
                  ir.Constant(T, 1.0), pa, lda, pb_, ldb, ir.Constant(T, 0.0), pc, ldc])


def _gemm_slice(module, mm, gemm):
    """``void slice(slots, params, lo, hi, pack)``: rows [lo, hi) of C with one BLAS thread;
    ``pack`` holds n, k, a, lda, b, ldb, c, ldc (i64)."""
    from . import blas
    from .loops import KFN

    name = "jg_gemm_slice_%s_%d%d" % (mm.dtype.name, mm.ta, mm.tb)
    fn = module.globals.get(name)
    if fn is not None:
        return fn
    fn = ir.Function(module, KFN, name)
    fn.linkage = "internal"
    _, _, lo, hi, raw = fn.args
    b = ir.IRBuilder(fn.append_basic_block())
    pack = b.bitcast(raw, S.I64.as_pointer())
    v = [b.load(b.gep(pack, [ir.Constant(S.I32, i)])) for i in range(8)]
    TP = S.compute_type(mm.dtype).as_pointer()
    args = (None, v[0], v[1], b.inttoptr(v[2], TP), v[3], b.inttoptr(v[4], TP), v[5],
            b.inttoptr(v[6], TP), v[7])
    with b.if_then(b.icmp_signed("<", lo, hi)):
        tl = module.globals.get(blas.THREADS_SYMBOL) or ir.Function(
            module, ir.FunctionType(S.I32, [S.I32]), blas.THREADS_SYMBOL)
        b.call(tl, [ir.Constant(S.I32, 1)])  # pool workers: BLAS never starts its own threads
        _one_call(b, mm, gemm, b.sub(hi, lo), args, row0=lo)
    b.ret_void()
    return fn


def _blas_threads(em, b, sizes):
    """Emit ``jg_blas_threads_local(1 or N)`` by the GEMM's size; returns a function that
    emits the call restoring the previous count (no-op when the BLAS cannot do it)."""
    from . import blas
    from .loops import N_THREADS

    if not BLAS_PAR_MIN or not blas.threads_local_address():
        return lambda: None
    fn = em.m.globals.get(blas.THREADS_SYMBOL) or ir.Function(
        em.m, ir.FunctionType(S.I32, [S.I32]), blas.THREADS_SYMBOL)
    macs = sizes[0]
    for s in sizes[1:]:
        macs = b.mul(macs, s)
    big = b.icmp_signed(">=", macs, ir.Constant(S.I64, BLAS_PAR_MIN))
    want = b.select(big, ir.Constant(S.I32, N_THREADS), ir.Constant(S.I32, 1))
    old = b.call(fn, [want])
    return lambda: b.call(fn, [old])


def _batch_loops(ctx, sizes, body):
    from .loops import for_range

    idx = []

    def level(j):
        if j == len(sizes):
            body(list(idx))
            return

        def inner(i):
            idx.append(i)
            level(j + 1)
            idx.pop()
        for_range(ctx, ir.Constant(S.I64, 0), sizes[j], inner, name=f"batch{j}")

    level(0)


def _int_matmul(lw, op, steps):
    """Integer matmul as a reduction kernel over k."""
    a, b = op.inputs
    out = op.outputs[0]
    qs = lw.qs
    ta, tb = op.attrs["transpose_a"], op.attrs["transpose_b"]
    r = len(out.shape)
    nb = r - 2
    ka = len(a.shape) - (2 if ta else 1)
    dims = [qs.dim(out, d) for d in range(r)] + [qs.dim(a, ka)]
    ar, ac = _mat_strides(qs, a, ta)  # op(a)[i, k]
    br, bc = _mat_strides(qs, b, tb)  # op(b)[k, j]
    la = K.Load(lw.st(a), a.dtype, _batch_strides(qs, a, out, nb) + [ar, 0, ac])
    lb = K.Load(lw.st(b), b.dtype, _batch_strides(qs, b, out, nb) + [0, bc, br])
    body = K.Apply("multiply", out.dtype, [la, lb], {"in_dtypes": [a.dtype, b.dtype]})
    k = K.Kernel(op.name, dims, body, lw.fresh(out), out.dtype, reduce_axes=(r,),
                 combiner="add", loc=op.loc, text=op.name)
    lw.p.kernels.append(k)
    steps.append(("kernel", k))


def lower_matmul(lw, op, steps):
    if op.outputs[0].dtype.name not in ("float32", "float64"):
        return _int_matmul(lw, op, steps)
    steps.append(("call", MatmulCall(lw, op)))


__all__ = ["lower_matmul", "MatmulCall"]
