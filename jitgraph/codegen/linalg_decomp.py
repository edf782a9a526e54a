"""Per-matrix decompositions on MatrixKernel (codegen/linalg_kernels.py): ``eigh`` (cyclic
Jacobi), ``qr`` (Householder, LAPACK's sign convention) and ``svd`` (one-sided Jacobi), for
the ops of ops/linalg_eig.py and ops/linalg_decomp.py. Each is ``fn(t)`` for the
``_Task`` ``t`` of one matrix (its builder, loops, element helpers), so the cpu and GPU
kernels share them as they share the factorizations of linalg_kernels.py.

The output layouts (one tensor per op, split by the public functions):

    eigh  [n + 1, n]            eigenvalues (ascending); eigenvectors as columns
    qr    [m + k, n]            Q (m x k, zero-padded to n columns); R (k x n); k = min(m, n)
    svd   [1 + m + n, k]        singular values (descending); U (m x k); V (n x k)

Iterative ones (the Jacobi sweeps) stop after a sweep that rotates nothing, at most
JACOBI_SWEEPS sweeps (a sweep that converged only compares).

On the cpu, eigh, svd and qr of matrices from LAPACK_MIN columns (of the smaller side) up
call LAPACK (``?syevd``, ``?gesdd``, ``?geqrf`` + ``?orgqr`` from NumPy's OpenBLAS,
codegen/blas.py) instead: the Jacobi sweeps are O(n^3) per sweep on one core with strided
column rotations (a 256x256 eigh ran ~60x slower than LAPACK, the unblocked Householder
QR ~10x), while below a few dozen columns the calls' overhead (workspace allocation, the
NaN scan) costs more than the sweeps. The results get the same ordering and sign
convention. Without LAPACK in the process, the kernels are used for every size. On both
paths a matrix with a NaN or infinite entry (eigh: in the lower triangle), or one LAPACK
does not converge on, gives NaN outputs.
"""

import llvmlite.ir as ir
import numpy as np

from . import scalar as S

JACOBI_SWEEPS = 60
# Columns from which the cpu calls LAPACK (benchmarks/bench_linalg.py, "crossover").
LAPACK_MIN = {"eigh": 16, "svd": 16, "qr": 24}
LAPACK_PAR_MIN = 512  # columns from which one matrix's LAPACK call may use BLAS threads
COL_MAJOR = 102


def _mat(t, storage, base, ld):
    from .linalg_kernels import _Mat

    return _Mat(t.ctx, t.ctx.ptr(storage, t.dt), base, ld)


def _sweeps(t, rotated, sweep, body):
    """``while rotated and sweep < JACOBI_SWEEPS: rotated = 0; sweep += 1; body()``."""
    b = t.b
    zero, one = t.i64(0), t.i64(1)
    b.store(one, rotated)
    b.store(zero, sweep)
    cond_bb = b.append_basic_block("jacobi.cond")
    body_bb = b.append_basic_block("jacobi.body")
    done_bb = b.append_basic_block("jacobi.done")
    b.branch(cond_bb)
    b.position_at_end(cond_bb)
    go = b.and_(b.icmp_signed(">", b.load(rotated), zero),
                b.icmp_signed("<", b.load(sweep), t.i64(JACOBI_SWEEPS)))
    b.cbranch(go, body_bb, done_bb)
    b.position_at_end(body_bb)
    b.store(zero, rotated)
    b.store(b.add(b.load(sweep), one), sweep)
    body()
    b.branch(cond_bb)
    b.position_at_end(done_bb)


def _rotation(t, app, aqq, apq):
    """(c, s) of the Jacobi rotation zeroing apq of [[app, apq], [apq, aqq]] (Rutishauser:
    t = sign(theta) / (|theta| + sqrt(theta^2 + 1)), theta = (aqq - app) / (2 apq))."""
    b = t.b
    theta = b.fdiv(b.fsub(aqq, app), b.fmul(t.f(2.0), apq))
    at = t.emit("abs", theta)
    huge = b.fcmp_ordered(">", at, t.f(1e150))
    safe = b.select(huge, t.f(1.0), at)
    tn = b.fdiv(t.f(1.0), b.fadd(safe, t.emit("sqrt", b.fadd(b.fmul(safe, safe), t.f(1.0)))))
    tn = b.select(huge, b.fdiv(t.f(0.5), at), tn)
    tn = b.select(b.fcmp_ordered("<", theta, t.f(0.0)), b.fneg(tn), tn)
    c = b.fdiv(t.f(1.0), t.emit("sqrt", b.fadd(b.fmul(tn, tn), t.f(1.0))))
    return c, b.fmul(tn, c)


def _rotate_cols(t, M, rows, p, q, c, s):
    """Columns p, q of M (``rows`` rows) <- (c x - s y, s x + c y)."""
    b = t.b

    def one(r):
        x, y = M.get(r, p), M.get(r, q)
        M.put(r, p, b.fsub(b.fmul(c, x), b.fmul(s, y)))
        M.put(r, q, b.fadd(b.fmul(s, x), b.fmul(c, y)))

    t.loop(t.i64(0), rows, one, "rot")


def _argmax_abs(t, M, rows, col, where):
    """The first row of max |M[r, col]| into ``where``."""
    b = t.b
    best = t.acc
    b.store(t.f(-1.0), best)
    b.store(t.i64(0), where)

    def one(r):
        v = t.emit("abs", M.get(r, col))
        gt = b.fcmp_ordered(">", v, b.load(best))
        b.store(b.select(gt, v, b.load(best)), best)
        b.store(b.select(gt, r, b.load(where)), where)

    t.loop(t.i64(0), rows, one, "argmax")
    return b.load(where)


def _sort(t, vals, count, cols, descending, where):
    """Selection sort of ``vals`` (a row of a _Mat: vals.get(0, i)) over [0, count), swapping
    the columns of each matrix in ``cols`` ((M, rows) pairs) with it."""
    b = t.b
    zero, one = t.i64(0), t.i64(1)
    best = t.acc
    better = "fcmp_ordered"

    def place(i):
        b.store(vals.get(zero, i), best)
        b.store(i, where)

        def scan(j):
            v = vals.get(zero, j)
            hit = getattr(b, better)(">" if descending else "<", v, b.load(best))
            b.store(b.select(hit, v, b.load(best)), best)
            b.store(b.select(hit, j, b.load(where)), where)

        t.loop(b.add(i, one), count, scan, "best")
        j = b.load(where)
        with b.if_then(b.icmp_signed("!=", j, i)):
            vals.put(zero, j, vals.get(zero, i))
            vals.put(zero, i, b.load(best))
            for M, rows in cols:
                def swap(r, M=M):
                    x = M.get(r, i)
                    M.put(r, i, M.get(r, j))
                    M.put(r, j, x)
                t.loop(zero, rows, swap, "swap")

    t.loop(zero, count, place, "sort")


def _lapack(t, algo, routine, lapack_body, own_body):
    """``if n >= LAPACK_MIN[algo]: lapack_body(t, fn) else own_body(t)`` where the task may
    call LAPACK and the process has ``routine``, else just ``own_body(t)``."""
    from . import blas

    routines = routine if isinstance(routine, tuple) else (routine,)
    syms = [blas.lapack_symbol(r, t.dt.name) if t.lapack else None for r in routines]
    if None in syms:
        return _if_finite(t, algo, own_body)
    blas.register_symbols()
    T = S.storage_type(t.dt).as_pointer()
    fns = []
    for r, sym in zip(routines, syms):
        args = {"syevd": [S.I32, S.I8, S.I8, S.I64, T, S.I64, T],
                "gesdd": [S.I32, S.I8, S.I64, S.I64, T, S.I64, T, T, S.I64, T, S.I64],
                "geqrf": [S.I32, S.I64, S.I64, T, S.I64, T],
                "orgqr": [S.I32, S.I64, S.I64, S.I64, T, S.I64, T]}[r]
        module = t.ctx.fn.module
        fns.append(module.globals.get(sym) or
                   ir.Function(module, ir.FunctionType(S.I64, args), sym))
    fn = fns[0] if len(fns) == 1 else fns
    b = t.b
    cols = b.select(b.icmp_signed("<", t.ctx.q(t.k.rows), t.n), t.ctx.q(t.k.rows), t.n) \
        if algo in ("svd", "qr") else t.n
    with b.if_else(b.icmp_signed(">=", cols, t.i64(LAPACK_MIN[algo]))) as (big, small):
        with big:
            restore = _one_blas_thread_in_batches(t)
            lapack_body(t, fn)
            restore()
        with small:
            _if_finite(t, algo, own_body)


def _one_blas_thread_in_batches(t):
    """Emit ``jg_blas_threads_local(1)`` unless the batch is one matrix of LAPACK_PAR_MIN+
    columns; returns the function emitting the call that restores the count. The worker
    pool runs a batch's matrices in parallel (BLAS threads of their own would compete for
    the cores), and below a few hundred columns the reductions' many small BLAS-2 steps
    cost more in thread hand-offs than they gain (256x256 eigh: best 20 ms with two
    threads, 3 ms with one, on a loaded 2-core machine)."""
    from . import blas

    if not blas.threads_local_address():
        return lambda: None
    b = t.b
    module = t.ctx.fn.module
    fn = module.globals.get(blas.THREADS_SYMBOL) or ir.Function(
        module, ir.FunctionType(S.I32, [S.I32]), blas.THREADS_SYMBOL)
    from .loops import N_THREADS

    alone = b.and_(b.icmp_signed("==", t.ctx.q(t.k.dims[0]), t.i64(1)),
                   b.icmp_signed(">=", t.n, t.i64(LAPACK_PAR_MIN)))
    old = b.call(fn, [b.select(alone, ir.Constant(S.I32, N_THREADS), ir.Constant(S.I32, 1))])
    return lambda: b.call(fn, [old])


def _if_finite(t, algo, body):
    """``body(t)`` where the matrix (eigh: its lower triangle) is finite, else NaN outputs
    (the Jacobi sweeps would spread NaN to some outputs only)."""
    b, k = t.b, t.k
    zero, one = t.i64(0), t.i64(1)
    rows = t.ctx.q(k.rows) if algo == "svd" else t.n
    A = _mat(t, k.a, b.mul(t.m, b.mul(rows, t.n)), t.n)
    if algo == "qr":  # Householder QR passes NaN on as LAPACK does: no check
        return body(t)
    b.store(t.f(0.0), t.acc)  # sum of x * 0: NaN iff some x is NaN or infinite
    t.loop(zero, rows, lambda i: t.loop(zero, b.add(i, one) if algo == "eigh" else t.n,
                                        lambda j: b.store(b.fadd(b.load(t.acc), b.fmul(
                                            A.get(i, j), t.f(0.0))), t.acc), "finite"),
           "finite")
    with b.if_else(b.fcmp_ordered("==", b.load(t.acc), t.f(0.0))) as (ok, bad):
        with ok:
            body(t)
        with bad:
            _nan_fill(t, _outputs(t, algo))


def _outputs(t, algo):
    """(M, rows, cols) of each output part of the task's matrix."""
    b, k, n = t.b, t.k, t.n
    one = t.i64(1)
    if algo == "eigh":
        return [(_mat(t, k.out, b.mul(t.m, b.mul(b.add(n, one), n)), n), b.add(n, one), n)]
    m = t.ctx.q(k.rows)
    kk = b.select(b.icmp_signed("<", m, n), m, n)
    return [(_mat(t, k.out, b.mul(t.m, b.mul(b.add(b.add(one, m), n), kk)), kk),
             b.add(b.add(one, m), n), kk)]


def _char(c):
    return ir.Constant(S.I8, ord(c))


def _nan_fill(t, mats):
    """Every element of each (M, rows, cols) of ``mats`` <- NaN."""
    for M, rows, cols in mats:
        t.loop(t.i64(0), rows, lambda i, M=M, cols=cols: t.loop(t.i64(0), cols, lambda j: M.put(
            i, j, t.f(float("nan"))), "nan"), "nan")


def eigh(t):
    """The eigendecomposition of ``a``'s lower triangle: LAPACK from LAPACK_MIN columns
    on the cpu, else the Jacobi kernel."""
    _lapack(t, "eigh", "syevd", _eigh_lapack, _eigh_jacobi)


def _eigh_lapack(t, fn):
    """``?syevd`` on a copy of the matrix, read column-major: its upper triangle is the
    lower one of ``a``, and eigenvector j comes back as row j of the copy."""
    b, k, n = t.b, t.k, t.n
    zero, one = t.i64(0), t.i64(1)
    W = _mat(t, k.work, b.mul(t.m, t.nn), n)
    obase = b.mul(t.m, b.mul(b.add(n, one), n))
    E = _mat(t, k.out, obase, n)
    V = _mat(t, k.out, b.add(obase, n), n)
    t.loop(zero, n, lambda i: t.loop(zero, n, lambda j: W.put(i, j, t.A.get(i, j)), "copy"),
           "copy")
    info = b.call(fn, [ir.Constant(S.I32, COL_MAJOR), _char("V"), _char("U"), n,
                       W.at(zero, zero), n, E.at(zero, zero)])
    with b.if_else(b.icmp_signed("==", info, zero)) as (ok, failed):
        with ok:
            t.loop(zero, n, lambda i: t.loop(zero, n, lambda j: V.put(i, j, W.get(j, i)),
                                             "vec"), "vec")
            _fix_signs(t, V, n, n, [], t.ctx.pb.alloca(S.I64))
        with failed:
            _nan_fill(t, [(E, one, n), (V, n, n)])


def _eigh_jacobi(t):
    """Cyclic Jacobi on ``work`` (the symmetric matrix of ``a``'s lower triangle): each
    a[p, q] that is not negligible (|a_pq| > eps sqrt(|a_pp a_qq|), else set to 0) is
    rotated away, the rotations accumulated into V. Then the eigenvalues are sorted
    ascending (V's columns with them) and each column's sign is chosen so its largest
    |component| (the first) is positive."""
    b, k, n = t.b, t.k, t.n
    pb, dt = t.ctx.pb, t.dt
    zero, one = t.i64(0), t.i64(1)
    W = _mat(t, k.work, b.mul(t.m, t.nn), n)
    obase = b.mul(t.m, b.mul(b.add(n, one), n))
    E = _mat(t, k.out, obase, n)  # row 0
    V = _mat(t, k.out, b.add(obase, n), n)  # rows 1..n
    eps = float(np.finfo(dt.np).eps)
    t.loop(zero, n, lambda i: t.loop(zero, n, lambda j: W.put(i, j, b.select(
        b.icmp_signed(">=", i, j), t.A.get(i, j), t.A.get(j, i))), "copy"), "copy")
    t.loop(zero, n, lambda i: t.loop(zero, n, lambda j: V.put(i, j, b.select(
        b.icmp_signed("==", i, j), t.f(1.0), t.f(0.0))), "eye"), "eye")
    rotated, sweep, where = pb.alloca(S.I64), pb.alloca(S.I64), pb.alloca(S.I64)

    def pair(p, q):
        apq = W.get(p, q)
        app, aqq = W.get(p, p), W.get(q, q)
        tiny = b.fmul(t.f(eps), t.emit("sqrt", t.emit("abs", b.fmul(app, aqq))))
        with b.if_else(b.fcmp_ordered("<=", t.emit("abs", apq), tiny)) as (small, big):
            with small:
                W.put(p, q, t.f(0.0))
                W.put(q, p, t.f(0.0))
            with big:
                b.store(b.add(b.load(rotated), one), rotated)
                c, s = _rotation(t, app, aqq, apq)
                _rotate_cols(t, W, n, p, q, c, s)

                def rows(r):
                    x, y = W.get(p, r), W.get(q, r)
                    W.put(p, r, b.fsub(b.fmul(c, x), b.fmul(s, y)))
                    W.put(q, r, b.fadd(b.fmul(s, x), b.fmul(c, y)))

                t.loop(zero, n, rows, "rot")
                _rotate_cols(t, V, n, p, q, c, s)
                W.put(p, q, t.f(0.0))
                W.put(q, p, t.f(0.0))

    _sweeps(t, rotated, sweep, lambda: t.loop(zero, n, lambda p: t.loop(
        b.add(p, one), n, lambda q: pair(p, q), "q"), "p"))
    t.loop(zero, n, lambda i: E.put(zero, i, W.get(i, i)), "diag")
    _sort(t, E, n, [(V, n)], False, where)
    _fix_signs(t, V, n, n, [], where)


def _fix_signs(t, M, rows, count, others, where):
    """Flip column i of M (and of each (matrix, rows) in ``others``) where M's largest
    |entry| in it is negative."""
    b = t.b

    def one(i):
        r = _argmax_abs(t, M, rows, i, where)
        with b.if_then(b.fcmp_ordered("<", M.get(r, i), t.f(0.0))):
            for X, xr in [(M, rows)] + others:
                t.loop(t.i64(0), xr, lambda q, X=X: X.put(q, i, b.fneg(X.get(q, i))), "flip")

    t.loop(t.i64(0), count, one, "signs")


class _Transposed:
    """A _Mat stored transposed: ``get(i, j)`` reads element (j, i) of the storage, so the
    columns the Householder steps sweep are contiguous."""

    def __init__(self, mat):
        self.mat = mat

    def get(self, i, j):
        return self.mat.get(j, i)

    def put(self, i, j, v):
        self.mat.put(j, i, v)


def qr(t):
    """The QR decomposition of ``a``: LAPACK from LAPACK_MIN columns (of the smaller side)
    on the cpu, else the Householder kernel."""
    _lapack(t, "qr", ("geqrf", "orgqr"), _qr_lapack, _qr_householder)


def _qr_lapack(t, fns):
    """``?geqrf`` then ``?orgqr`` on a column-major copy of ``a`` in the workspace: R is its
    upper triangle after geqrf, Q its first k columns after orgqr; the k reflector scales
    wait in Q's part of the output until Q overwrites them."""
    geqrf, orgqr = fns
    b, k = t.b, t.k
    zero = t.i64(0)
    m, n = t.ctx.q(k.rows), t.n
    kk = b.select(b.icmp_signed("<", m, n), m, n)
    mn = b.mul(m, n)
    A = _mat(t, k.a, b.mul(t.m, mn), n)
    W = _Transposed(_mat(t, k.work, b.mul(t.m, mn), m))  # W.get(i, j): a's (i, j)
    obase = b.mul(t.m, b.mul(b.add(m, kk), n))
    Q = _mat(t, k.out, obase, n)
    R = _mat(t, k.out, b.add(obase, mn), n)
    col = ir.Constant(S.I32, COL_MAJOR)
    t.loop(zero, m, lambda i: t.loop(zero, n, lambda j: W.put(i, j, A.get(i, j)), "copy"),
           "copy")
    tau = Q.at(zero, zero)
    info = b.call(geqrf, [col, m, n, W.mat.at(zero, zero), m, tau])
    t.loop(zero, kk, lambda i: t.loop(zero, n, lambda j: R.put(i, j, b.select(
        b.icmp_signed(">=", j, i), W.get(i, j), t.f(0.0))), "r"), "r")
    info2 = b.call(orgqr, [col, m, kk, kk, W.mat.at(zero, zero), m, tau])
    ok = b.and_(b.icmp_signed("==", info, zero), b.icmp_signed("==", info2, zero))
    t.loop(zero, m, lambda i: t.loop(zero, n, lambda j: Q.put(i, j, b.select(
        b.icmp_signed("<", j, kk), b.select(ok, W.get(i, j), t.f(float("nan"))), t.f(0.0))),
        "q"), "q")
    with b.if_then(b.icmp_signed("!=", info, zero)):
        _nan_fill(t, [(R, kk, n)])


def _qr_householder(t):
    """Householder QR of the m x n matrix in ``work``, LAPACK's convention (dgeqrf: R's
    diagonal -sign(a_jj) |x|, no reflection where the column below is already 0), so Q and
    R match numpy.linalg.qr and TensorFlow up to rounding. Q = H_0 ... H_{k-1} I[:, :k]."""
    b, k = t.b, t.k
    pb = t.ctx.pb
    zero, one = t.i64(0), t.i64(1)
    m, n = t.ctx.q(k.rows), t.n
    kk = b.select(b.icmp_signed("<", m, n), m, n)
    mn = b.mul(m, n)
    A = _mat(t, k.a, b.mul(t.m, mn), n)
    W = _Transposed(_mat(t, k.work, b.mul(t.m, mn), m))  # columns contiguous
    obase = b.mul(t.m, b.mul(b.add(m, kk), n))
    Q = _mat(t, k.out, obase, n)
    R = _mat(t, k.out, b.add(obase, mn), n)
    acc, acc2 = t.acc, pb.alloca(t.ft)
    t.loop(zero, m, lambda i: t.loop(zero, n, lambda j: W.put(i, j, A.get(i, j)), "copy"),
           "copy")
    t.loop(zero, kk, lambda i: t.loop(zero, n, lambda j: R.put(i, j, t.f(0.0)), "zr"), "zr")

    def dot(j, c, X, Y):  # sum_{i >= j} X[i, j] Y[i, c]
        b.store(t.f(0.0), acc2)
        t.loop(j, m, lambda i: b.store(b.fadd(b.load(acc2), b.fmul(X.get(i, j), Y.get(i, c))),
                                       acc2), "dot")
        return b.load(acc2)

    def hypot(x, y):  # sqrt(x^2 + y^2) without under- or overflow; y > 0
        big = t.emit("maximum", t.emit("abs", x), t.emit("abs", y))
        xs, ys = b.fdiv(x, big), b.fdiv(y, big)
        return b.fmul(big, t.emit("sqrt", b.fadd(b.fmul(xs, xs), b.fmul(ys, ys))))

    def column(j):
        # norms scaled by the largest |entry| as LAPACK's dnrm2 does: a column of tiny
        # entries (1e-300, whose squares underflow) still reflects, as in LAPACK
        alpha = W.get(j, j)
        b.store(t.f(0.0), acc)
        t.loop(b.add(j, one), m, lambda i: b.store(t.emit("maximum", b.load(acc), t.emit(
            "abs", W.get(i, j))), acc), "scale")
        big = b.load(acc)
        with b.if_else(b.fcmp_ordered("==", big, t.f(0.0))) as (keep, reflect):
            with keep:  # H = I: v = 0
                R.put(j, j, alpha)
                t.loop(j, m, lambda i: W.put(i, j, t.f(0.0)), "v0")
            with reflect:
                b.store(t.f(0.0), acc)

                def sq(i):
                    v = b.fdiv(W.get(i, j), big)
                    b.store(b.fadd(b.load(acc), b.fmul(v, v)), acc)

                t.loop(b.add(j, one), m, sq, "norm")
                xnorm = b.fmul(big, t.emit("sqrt", b.load(acc)))
                norm = hypot(alpha, xnorm)
                # -sign(alpha) |.|, the sign bit's (LAPACK's dlarfg: -0.0 gives +norm)
                beta = b.fneg(S.intrinsic(b, "copysign", [norm, alpha]))
                R.put(j, j, beta)
                u0 = b.fsub(alpha, beta)
                W.put(j, j, u0)
                length = hypot(u0, xnorm)
                t.loop(j, m, lambda i: W.put(i, j, b.fdiv(W.get(i, j), length)), "unit")

                def apply(c):  # W[j:, c] -= 2 u (u . W[j:, c])
                    f = b.fmul(t.f(2.0), dot(j, c, W, W))
                    t.loop(j, m, lambda i: W.put(i, c, b.fsub(W.get(i, c), b.fmul(
                        f, W.get(i, j)))), "axpy")

                t.loop(b.add(j, one), n, apply, "apply")
        t.loop(b.add(j, one), n, lambda c: R.put(j, c, W.get(j, c)), "r")

    t.loop(zero, kk, column, "col")
    t.loop(zero, m, lambda i: t.loop(zero, n, lambda j: Q.put(i, j, b.select(
        b.icmp_signed("==", i, j), t.f(1.0), t.f(0.0))), "eye"), "eye")

    def back(j):  # Q[j:, :k] -= 2 u (u^T Q[j:, :k])
        def col(c):
            f = b.fmul(t.f(2.0), dot(j, c, W, Q))
            t.loop(j, m, lambda i: Q.put(i, c, b.fsub(Q.get(i, c), b.fmul(f, W.get(i, j)))),
                   "axpy")

        t.loop(zero, kk, col, "qcol")

    t.rev(kk, back, "back")


def svd(t):
    """The singular value decomposition of ``a``: LAPACK from LAPACK_MIN columns (of the
    smaller side) on the cpu, else the one-sided Jacobi kernel."""
    _lapack(t, "svd", "gesdd", _svd_lapack, _svd_jacobi)


def _svd_lapack(t, fn):
    """``?gesdd`` (thin) of ``a^T`` read column-major from a copy: ``a^T = U' S V'^T``, so
    ``a = V' S U'^T``: V'^T comes back column-major k x m, which is U (m x k) row-major,
    written in place; U' (n x k column-major) goes to the workspace and is transposed into
    V."""
    b, k = t.b, t.k
    zero, one = t.i64(0), t.i64(1)
    m, n = t.ctx.q(k.rows), t.n
    kk = b.select(b.icmp_signed("<", m, n), m, n)
    mn = b.mul(m, n)
    A = _mat(t, k.a, b.mul(t.m, mn), n)
    wbase = b.mul(t.m, b.mul(t.i64(2), mn))
    W = _mat(t, k.work, wbase, n)  # the copy of a (m x n)
    Up = _mat(t, k.work, b.add(wbase, mn), n)  # U' column-major: row j = column j
    obase = b.mul(t.m, b.mul(b.add(b.add(one, m), n), kk))
    S_ = _mat(t, k.out, obase, kk)
    U = _mat(t, k.out, b.add(obase, kk), kk)
    V = _mat(t, k.out, b.add(obase, b.mul(b.add(one, m), kk)), kk)
    t.loop(zero, m, lambda i: t.loop(zero, n, lambda j: W.put(i, j, A.get(i, j)), "copy"),
           "copy")
    info = b.call(fn, [ir.Constant(S.I32, COL_MAJOR), _char("S"), n, m, W.at(zero, zero), n,
                       S_.at(zero, zero), Up.at(zero, zero), n, U.at(zero, zero), kk])
    with b.if_else(b.icmp_signed("==", info, zero)) as (ok, failed):
        with ok:
            t.loop(zero, n, lambda i: t.loop(zero, kk, lambda j: V.put(i, j, Up.get(j, i)),
                                             "v"), "v")
            _fix_signs(t, U, m, kk, [(V, n)], t.ctx.pb.alloca(S.I64))
        with failed:
            _nan_fill(t, [(S_, one, kk), (U, m, kk), (V, n, kk)])


def _svd_jacobi(t):
    """One-sided Jacobi (Hestenes) on B = a (m >= n) or a^T (m < n), M x N with N = k:
    column pairs of B are rotated until orthogonal (|b_p . b_q| <= eps |b_p| |b_q|), the
    rotations accumulated into the N x N matrix Q; then s_j = |b_j|, P_j = b_j / s_j
    (B = P diag(s) Q^T), sorted descending, each U column's largest |entry| positive.
    U = P, V = Q (or U = Q, V = P for m < n). A column of P whose singular value is 0 is
    completed to an orthonormal basis (_complete)."""
    b, k = t.b, t.k
    pb = t.ctx.pb
    zero, one = t.i64(0), t.i64(1)
    m, n = t.ctx.q(k.rows), t.n
    wide = b.icmp_signed("<", m, n)
    kk = b.select(wide, m, n)
    big = b.select(wide, n, m)
    A = _mat(t, k.a, b.mul(t.m, b.mul(m, n)), n)
    obase = b.mul(t.m, b.mul(b.add(b.add(one, m), n), kk))
    S_ = _mat(t, k.out, obase, kk)
    ubase, vbase = b.add(obase, kk), b.add(obase, b.mul(b.add(one, m), kk))
    P = _mat(t, k.out, b.select(wide, vbase, ubase), kk)  # big x k
    Qm = _mat(t, k.out, b.select(wide, ubase, vbase), kk)  # k x k
    eps = float(np.finfo(t.dt.np).eps)
    t.loop(zero, big, lambda i: t.loop(zero, kk, lambda j: P.put(i, j, b.select(
        wide, A.get(j, i), A.get(i, j))), "copy"), "copy")
    t.loop(zero, kk, lambda i: t.loop(zero, kk, lambda j: Qm.put(i, j, b.select(
        b.icmp_signed("==", i, j), t.f(1.0), t.f(0.0))), "eye"), "eye")
    rotated, sweep, where = pb.alloca(S.I64), pb.alloca(S.I64), pb.alloca(S.I64)
    sums = [pb.alloca(t.ft) for _ in range(3)]

    def pair(p, q):
        for s in sums:
            b.store(t.f(0.0), s)

        def acc(i):
            x, y = P.get(i, p), P.get(i, q)
            for s, v in zip(sums, (b.fmul(x, x), b.fmul(y, y), b.fmul(x, y))):
                b.store(b.fadd(b.load(s), v), s)

        t.loop(zero, big, acc, "gram")
        alpha, beta, gamma = (b.load(s) for s in sums)
        tiny = b.fmul(t.f(eps), t.emit("sqrt", b.fmul(alpha, beta)))
        with b.if_then(b.fcmp_ordered(">", t.emit("abs", gamma), tiny)):
            b.store(b.add(b.load(rotated), one), rotated)
            c, s = _rotation(t, alpha, beta, gamma)
            _rotate_cols(t, P, big, p, q, c, s)
            _rotate_cols(t, Qm, kk, p, q, c, s)

    _sweeps(t, rotated, sweep, lambda: t.loop(zero, kk, lambda p: t.loop(
        b.add(p, one), kk, lambda q: pair(p, q), "q"), "p"))

    def norm(j):
        b.store(t.f(0.0), t.acc)
        t.loop(zero, big, lambda i: b.store(b.fadd(b.load(t.acc), b.fmul(
            P.get(i, j), P.get(i, j))), t.acc), "norm")
        s = t.emit("sqrt", b.load(t.acc))
        S_.put(zero, j, s)
        inv = b.select(b.fcmp_ordered(">", s, t.f(0.0)), b.fdiv(t.f(1.0), s), t.f(0.0))
        t.loop(zero, big, lambda i: P.put(i, j, b.fmul(P.get(i, j), inv)), "scale")

    t.loop(zero, kk, norm, "sv")
    t.loop(zero, kk, lambda j: _complete(t, P, S_, big, kk, j, where), "complete")
    _sort(t, S_, kk, [(P, big), (Qm, kk)], True, where)
    with b.if_else(wide) as (w, tall):
        with w:  # U = Q
            _fix_signs(t, Qm, kk, kk, [(P, big)], where)
        with tall:
            _fix_signs(t, P, big, kk, [(Qm, kk)], where)


def _complete(t, P, S_, rows, cols, j, where):
    """Column j of P (orthonormal columns, ``rows`` long) where its singular value is 0 (the
    column is 0): e_i minus its projections on the other columns, for the i whose row of
    P is the shortest (so the rest is largest), twice (Gram-Schmidt), normalized."""
    b = t.b
    zero = t.i64(0)
    acc = t.acc
    with b.if_then(b.fcmp_ordered("==", S_.get(zero, j), t.f(0.0))):
        best, rest = t.ctx.pb.alloca(t.ft), t.ctx.pb.alloca(t.ft)  # entry-block slots
        b.store(t.f(2.0), best)
        b.store(zero, where)

        def row_norm(i):
            b.store(t.f(0.0), rest)
            t.loop(zero, cols, lambda c: b.store(b.fadd(b.load(rest), b.fmul(
                P.get(i, c), P.get(i, c))), rest), "rn")
            lt = b.fcmp_ordered("<", b.load(rest), b.load(best))
            b.store(b.select(lt, b.load(rest), b.load(best)), best)
            b.store(b.select(lt, i, b.load(where)), where)

        t.loop(zero, rows, row_norm, "rows")
        pick = b.load(where)
        t.loop(zero, rows, lambda i: P.put(i, j, b.select(b.icmp_signed("==", i, pick),
                                                          t.f(1.0), t.f(0.0))), "e")
        for _ in range(2):
            def project(c):
                with b.if_then(b.icmp_signed("!=", c, j)):
                    b.store(t.f(0.0), acc)
                    t.loop(zero, rows, lambda i: b.store(b.fadd(b.load(acc), b.fmul(
                        P.get(i, c), P.get(i, j))), acc), "dot")
                    d = b.load(acc)
                    t.loop(zero, rows, lambda i: P.put(i, j, b.fsub(P.get(i, j), b.fmul(
                        d, P.get(i, c)))), "sub")

            t.loop(zero, cols, project, "proj")
        b.store(t.f(0.0), acc)
        t.loop(zero, rows, lambda i: b.store(b.fadd(b.load(acc), b.fmul(
            P.get(i, j), P.get(i, j))), acc), "norm")
        inv = b.fdiv(t.f(1.0), t.emit("sqrt", b.load(acc)))
        t.loop(zero, rows, lambda i: P.put(i, j, b.fmul(P.get(i, j), inv)), "scale")


ALGOS = {"eigh": eigh, "qr": qr, "svd": svd}

__all__ = ["ALGOS", "JACOBI_SWEEPS"]
