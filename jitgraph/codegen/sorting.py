"""Sorting (SortKernel: the ``sort`` and ``top_k`` ops) and the gathers along an axis their
gradients use (``take_along_axis``, ``take_along_axis_grad``): lowering and code.

    steps = []; _sort(lowerer, op, steps)                       # the "sort"/"top_k" rule
    fn, info = emit_sort_kernel(module, k, layout, static_index)  # cpu: rows on the pool
    launch = emit_sort_ptx(module, k)                            # GPU: a thread per row

A row is the axis at one index of the other dims. ``sort_row`` keeps the first ``k`` of a
row of ``n`` in order with a heap over (key, index) pairs in the output buffers themselves
(no scratch): the first k elements are made a heap whose root is the one that comes last;
each later element that comes before the root replaces it; then the heap is sorted in
place (heap sort). That is O(n log k): O(n log n) for a full sort, O(n) for a small top_k.
Comparing (key, index) pairs, indices unique, gives exactly the stable order, whatever
the heap does. NaN is the largest key; -0.0 and 0.0 are equal keys. On the cpu a full sort
is a merge sort instead (``merge_sort_row``, about 2.5x faster than the heap; it needs a
scratch buffer, which the GPU's thread per row does not get).

Every access is in bounds: the loops run to min(k, n) (the type rule also checks k <= n,
again with the run-time shapes), the second child is read only when it exists, and the
gathers along an axis check their indices (``Guard``).
"""

import llvmlite.ir as ir

from .. import dtypes
from . import kernels as K
from . import loops as L
from . import scalar as S
from .lower import register_lowering
from .rows import _product, _unravel
from .shape_ops import _cs, _i

I32, I64 = ir.IntType(32), S.I64


def _c(v):
    return ir.Constant(I64, v)


# ----------------------------------------------------------------------------- lowering


def _sort(lw, op, steps):
    x = op.inputs[0]
    vals, idx = op.outputs
    qs, r = lw.qs, len(x.shape)
    if op.type == "sort":
        axis, descending = op.attrs["axis"], op.attrs["descending"]
        k = qs.dim(x, axis)
    else:
        axis, descending, k = r - 1, True, op.attrs["k"]
    body = K.Load(lw.st(x), x.dtype, [_cs(qs, x, d) for d in range(r)])
    kern = K.SortKernel(op.name, [qs.dim(x, d) for d in range(r)], body, lw.fresh(vals),
                        vals.dtype, loc=op.loc, text=op.name, axis=axis,
                        descending=descending, k=k, index_out=lw.fresh(idx))
    lw.p.kernels.append(kern)
    steps.append(("kernel", kern))


def _index(lw, op, idx, size):
    """The guarded int64 position along the axis held by ``idx`` at the kernel's element."""
    r = len(idx.shape)
    i = K.Apply("cast", I64_DT, [K.Load(lw.st(idx), idx.dtype,
                                        [_cs(lw.qs, idx, d) for d in range(r)])],
                {"in_dtypes": [idx.dtype], "dtype": I64_DT})
    return K.Guard(i, size, lw.index_code(op))


def _take_along_axis(lw, op, steps):
    x, idx = op.inputs
    out, axis = op.outputs[0], op.attrs["axis"]
    qs, r = lw.qs, len(x.shape)
    strides = [0 if d == axis else _cs(qs, x, d) for d in range(r)]
    at = _i("multiply", _index(lw, op, idx, qs.dim(x, axis)), K.QExpr(_cs(qs, x, axis)))
    body = K.Load(lw.st(x), x.dtype, strides, 0, at)
    k = K.Kernel(op.name, [qs.dim(out, d) for d in range(r)], body, lw.fresh(out), out.dtype,
                 loc=op.loc, text=op.name)
    lw.p.kernels.append(k)
    steps.append(("kernel", k))


def _take_along_axis_grad(lw, op, steps):
    g, idx, like = op.inputs
    out, axis = op.outputs[0], op.attrs["axis"]
    qs, r = lw.qs, len(g.shape)
    zeros = K.Kernel(op.name + "_zeros", [qs.dim(out, d) for d in range(r)],
                     K.Const(out.dtype, 0), lw.fresh(out), out.dtype, loc=op.loc,
                     text=op.name)
    index = _i("multiply", _index(lw, op, idx, qs.dim(like, axis)),
               K.QExpr(_cs(qs, out, axis)))
    for d in range(r):
        if d != axis:
            index = _i("add", index, _i("multiply", K.Iota(d), K.QExpr(_cs(qs, out, d))))
    body = K.Load(lw.st(g), g.dtype, [_cs(qs, g, d) for d in range(r)])
    k = K.Kernel(op.name, [qs.dim(g, d) for d in range(r)], body, lw.st(out), out.dtype,
                 loc=op.loc, text=op.name, out_index=index, accumulate=True,
                 unique_index=op.attrs.get("unique", False))
    lw.p.kernels += [zeros, k]
    steps += [("kernel", zeros), ("kernel", k)]


I64_DT = dtypes.int64

for _name, _rule in {"sort": _sort, "top_k": _sort, "take_along_axis": _take_along_axis,
                     "take_along_axis_grad": _take_along_axis_grad}.items():
    register_lowering(_name, _rule)


# ----------------------------------------------------------------------------- one row


def _before(b, fl, descending, a, ia, c, ic):
    """i1: (a, ia) comes before (c, ic) in the output order (stable; NaN largest)."""
    if descending:
        a, c = c, a  # a before c  <=>  c < a as keys
    if fl:
        less = b.or_(b.fcmp_ordered("<", a, c),
                     b.and_(b.fcmp_unordered("uno", c, c), b.fcmp_ordered("ord", a, a)))
        same = b.or_(b.fcmp_ordered("==", a, c),
                     b.and_(b.fcmp_unordered("uno", a, a), b.fcmp_unordered("uno", c, c)))
    else:
        less, same = b.icmp_signed("<", a, c), b.icmp_signed("==", a, c)
    first = b.icmp_signed("<", ia, ic)
    return b.or_(less, b.and_(same, first))


class _Row:
    """The output row being sorted: element j at ``base + j * stride`` of both outputs."""

    def __init__(self, ctx, k, vals, idxs, base, stride):
        self.ctx, self.b, self.k = ctx, ctx.b, k
        self.vals, self.idxs, self.base, self.stride = vals, idxs, base, stride
        self.fl = not k.out_dtype.is_integer

    def _at(self, j):
        return self.b.add(self.base, self.b.mul(j, self.stride))

    def load(self, j):
        b, at = self.b, self._at(j)
        v = L.to_compute(b, b.load(b.gep(self.vals, [at])), self.k.out_dtype)
        return v, b.load(b.gep(self.idxs, [at]))

    def store(self, j, v, i):
        b, at = self.b, self._at(j)
        b.store(L.to_storage(b, v, self.k.out_dtype), b.gep(self.vals, [at]))
        b.store(i, b.gep(self.idxs, [at]))

    def before(self, a, ia, c, ic):
        return _before(self.b, self.fl, self.k.descending, a, ia, c, ic)

    def sift(self, v, i, start, end):
        """Places (v, i) in the heap [start, end) whose root slot ``start`` is free: the
        later child moves up while it comes after (v, i)."""
        b, fn = self.b, self.ctx.fn
        entry = b.block
        head = fn.append_basic_block("sift.head")
        check = fn.append_basic_block("sift.check")
        move = fn.append_basic_block("sift.move")
        done = fn.append_basic_block("sift.done")
        b.branch(head)
        b.position_at_end(head)
        pos = b.phi(I64, "pos")
        pos.add_incoming(start, entry)
        c = b.add(b.mul(pos, _c(2)), _c(1))
        b.cbranch(b.icmp_signed("<", c, end), check, done)
        b.position_at_end(check)
        cv, ci = self.load(c)
        c1 = b.add(c, _c(1))
        two = b.icmp_signed("<", c1, end)
        dv, di = self.load(b.select(two, c1, c))  # the second child only if it exists
        pick = b.and_(two, self.before(cv, ci, dv, di))
        sel = b.select(pick, c1, c)
        sv, si = b.select(pick, dv, cv), b.select(pick, di, ci)
        b.cbranch(self.before(v, i, sv, si), move, done)
        b.position_at_end(move)
        self.store(pos, sv, si)
        pos.add_incoming(sel, move)
        b.branch(head)
        b.position_at_end(done)
        self.store(pos, v, i)


def _row_output(ctx, k, row, vals, idxs):
    """(_Row of the outputs, the row's indices over the other dims) for row ``row``."""
    b = ctx.b
    a = k.axis
    others = k.dims[:a] + k.dims[a + 1:]
    odims = k.dims[:a] + [k.k] + k.dims[a + 1:]
    idx = _unravel(ctx, row, others) if others else []
    base = _c(0)
    for d, i in enumerate(idx):  # row-major offset of the row's first output element
        dim = d if d < a else d + 1
        base = b.add(base, b.mul(i, _product(ctx, odims[dim + 1:])))
    return _Row(ctx, k, vals, idxs, base, _product(ctx, odims[a + 1:])), idx


def sort_row(ctx, k, row, vals, idxs):
    """Sorts row ``row`` (an i64 index over the dims other than the axis) of SortKernel
    ``k`` into the outputs ``vals``/``idxs``: used by the cpu kernel and the GPU's (a thread
    per row)."""
    b = ctx.b
    a = k.axis
    n = ctx.q(k.dims[a])
    kk = S.intrinsic(b, "smin", [ctx.q(k.k), n])
    rw, idx = _row_output(ctx, k, row, vals, idxs)

    def element(j):
        return L.Evaluator(ctx, idx[:a] + [j] + idx[a:])(k.body), b.trunc(j, I32)

    L.for_range(ctx, _c(0), kk, lambda j: rw.store(j, *element(j)), name="fill")
    half = b.sdiv(kk, _c(2))

    def heapify(t):
        s = b.sub(b.sub(half, _c(1)), t)
        rw.sift(*rw.load(s), s, kk)

    L.for_range(ctx, _c(0), half, heapify, name="heapify")

    def offer(j):
        v, i = element(j)
        with b.if_then(rw.before(v, i, *rw.load(_c(0)))):
            rw.sift(v, i, _c(0), kk)

    # the rest of the row (nothing to offer to an empty heap: k = 0)
    rest_end = b.select(b.icmp_signed(">", kk, _c(0)), n, kk)
    L.for_range(ctx, kk, rest_end, offer, name="offer")

    def extract(t):
        e = b.sub(b.sub(kk, _c(1)), t)
        v, i = rw.load(e)
        rw.store(e, *rw.load(_c(0)))
        rw.sift(v, i, _c(0), e)

    L.for_range(ctx, _c(0), b.sub(kk, _c(1)), extract, name="extract")


# ----------------------------------------------------------------------------- merge sort
# A full sort on the cpu (k = n) runs a bottom-up merge sort in a scratch buffer of 2n keys
# and 2n indices, malloc'ed per kernel call (per chunk of rows on the worker pool; the heap
# if malloc fails): runs of RUN elements by insertion sort, then merge passes between the
# buffer's halves, then the values read back at the sorted indices into the outputs. Keys are
# integers in sort order (``_int_key``), so a comparison is one integer compare; 32-bit keys
# travel with their index in one 64-bit word (``_Packed``). Runs are ranges of input
# positions, so comparing keys alone keeps the order stable (an equal key from the right run
# never overtakes one from the left). top_k and the GPU use the heap (no scratch).
RUN = 16
_LIBC = []


def _libc(module):
    """``malloc`` and ``free`` declared in ``module`` (and resolvable by llvmlite's JIT)."""
    if not _LIBC:
        import ctypes
        import ctypes.util

        import llvmlite.binding as llvm

        libc = ctypes.CDLL(ctypes.util.find_library("c"))
        for name in ("malloc", "free"):
            llvm.add_symbol(name, ctypes.cast(getattr(libc, name), ctypes.c_void_p).value)
        _LIBC.append(libc)
    i8p = ir.IntType(8).as_pointer()
    malloc = module.globals.get("malloc") or ir.Function(
        module, ir.FunctionType(i8p, [I64]), "malloc")
    free = module.globals.get("free") or ir.Function(
        module, ir.FunctionType(ir.VoidType(), [i8p]), "free")
    return malloc, free


def _int_key(b, v, dtype, descending):
    """An integer whose signed order is the sort order of value ``v``: the float's bits with
    the magnitude bits of negatives flipped, -0.0 as 0.0 and every NaN one largest key;
    bitwise not for descending. Keys hold no payloads: the values are read back by index."""
    t = v.type
    if isinstance(t, ir.IntType):
        key = v
    else:
        width = 64 if t == S.F64 else 32
        it = ir.IntType(width)
        big = ir.Constant(it, (1 << (width - 1)) - 1)
        zero = ir.Constant(t, 0.0)
        bits = b.bitcast(b.select(b.fcmp_ordered("==", v, zero), zero, v), it)
        key = b.xor(bits, b.and_(b.ashr(bits, ir.Constant(it, width - 1)), big))
        key = b.select(b.fcmp_unordered("uno", v, v), big, key)
    return b.not_(key) if descending else key


def _key_type(dtype):
    t = S.compute_type(dtype)
    return t if isinstance(t, ir.IntType) else ir.IntType(64 if t == S.F64 else 32)


def _while(ctx, cond, body, name):
    """``while cond(): body()`` (both emit code; state lives in allocas)."""
    b, fn = ctx.b, ctx.fn
    head = fn.append_basic_block(f"{name}.head")
    loop = fn.append_basic_block(f"{name}.body")
    done = fn.append_basic_block(f"{name}.done")
    b.branch(head)
    b.position_at_end(head)
    b.cbranch(cond(), loop, done)
    b.position_at_end(loop)
    body()
    b.branch(head)
    b.position_at_end(done)


class _Scratch:
    """Keys ``keys[j]`` and indices ``ids[j]`` of the merge sort's buffer."""

    def __init__(self, ctx, keys, ids):
        self.b, self.keys, self.ids = ctx.b, keys, ids

    def load(self, j):
        b = self.b
        return b.load(b.gep(self.keys, [j])), b.load(b.gep(self.ids, [j]))

    def store(self, j, v, i):
        b = self.b
        b.store(v, b.gep(self.keys, [j]))
        b.store(i, b.gep(self.ids, [j]))


class _Packed:
    """32-bit keys: key (offset to unsigned) and index in one i64, ``key << 32 | index``,
    so the merge sort moves and compares one word per element (unsigned; no two equal)."""

    def __init__(self, ctx, words):
        self.b, self.words = ctx.b, words

    def load(self, j):
        b = self.b
        w = b.load(b.gep(self.words, [j]))
        return w, b.trunc(w, I32)

    def store(self, j, w, i=None):
        self.b.store(w, self.b.gep(self.words, [j]))

    def pack(self, key, i):
        b = self.b
        high = b.zext(b.xor(key, ir.Constant(I32, -(1 << 31))), I64)
        return b.or_(b.shl(high, _c(32)), b.zext(i, I64))


def merge_sort_row(ctx, k, idx, n, rw, sc, var):
    """Sorts the row at outer index ``idx`` (n elements) into ``rw`` (the outputs) through
    scratch ``sc`` (2n entries); ``var(name)`` gives a reusable i64 alloca."""
    b = ctx.b
    a = k.axis

    packed = isinstance(sc, _Packed)

    def before(x, y):
        return b.icmp_unsigned("<", x, y) if packed else b.icmp_signed("<", x, y)

    def x_at(j):
        return L.Evaluator(ctx, idx[:a] + [j] + idx[a:])(k.body)

    def load_x(j):
        key, i = _int_key(b, x_at(j), k.out_dtype, k.descending), b.trunc(j, I32)
        sc.store(j, sc.pack(key, i) if packed else key, i)

    L.for_range(ctx, _c(0), n, load_x, name="load")
    p = var("p")

    def insertion(r0):
        r1 = S.intrinsic(b, "smin", [b.add(r0, _c(RUN)), n])

        def insert(j):
            v, i = sc.load(j)
            b.store(j, p)

            def cond():
                q = b.load(p)
                more = b.icmp_signed(">", q, r0)
                prev = sc.load(b.select(more, b.sub(q, _c(1)), q))[0]
                return b.and_(more, before(v, prev))

            def shift():
                q = b.load(p)
                sc.store(q, *sc.load(b.sub(q, _c(1))))
                b.store(b.sub(q, _c(1)), p)

            _while(ctx, cond, shift, "ins")
            sc.store(b.load(p), v, i)

        L.for_range(ctx, b.add(r0, _c(1)), r1, insert, name="insert")

    L.for_range(ctx, _c(0), n, insertion, name="runs", step=_c(RUN))
    width, src, dst = var("width"), var("src"), var("dst")
    i_, j_, o_ = var("i"), var("j"), var("o")
    b.store(_c(RUN), width)
    b.store(_c(0), src)
    b.store(n, dst)

    def merge_pass():
        w = b.load(width)
        s0, d0 = b.load(src), b.load(dst)

        def merge(lo):
            mid = S.intrinsic(b, "smin", [b.add(lo, w), n])
            hi = S.intrinsic(b, "smin", [b.add(mid, w), n])
            b.store(lo, i_)
            b.store(mid, j_)
            b.store(lo, o_)

            def both():
                return b.and_(b.icmp_signed("<", b.load(i_), mid),
                              b.icmp_signed("<", b.load(j_), hi))

            def take():
                i, j = b.load(i_), b.load(j_)
                lv, li = sc.load(b.add(s0, i))
                rv, ri = sc.load(b.add(s0, j))
                right = before(rv, lv)
                o = b.load(o_)
                sc.store(b.add(d0, o), b.select(right, rv, lv), b.select(right, ri, li))
                b.store(b.select(right, i, b.add(i, _c(1))), i_)
                b.store(b.select(right, b.add(j, _c(1)), j), j_)
                b.store(b.add(o, _c(1)), o_)

            _while(ctx, both, take, "merge")

            def rest(var_, end):
                def copy(t):
                    o = b.load(o_)
                    sc.store(b.add(d0, o), *sc.load(b.add(s0, t)))
                    b.store(b.add(o, _c(1)), o_)
                L.for_range(ctx, b.load(var_), end, copy, name="rest")

            rest(i_, mid)
            rest(j_, hi)

        L.for_range(ctx, _c(0), n, merge, name="pass", step=b.add(w, w))
        b.store(d0, src)
        b.store(s0, dst)
        b.store(b.add(w, w), width)

    _while(ctx, lambda: b.icmp_signed("<", b.load(width), n), merge_pass, "passes")
    s0 = b.load(src)

    def out(j):
        i = sc.load(b.add(s0, j))[1]
        rw.store(j, x_at(b.sext(i, I64)), i)

    L.for_range(ctx, _c(0), n, out, name="out")


def _rows(k):
    rows = 1
    for s in k.dims[:k.axis] + k.dims[k.axis + 1:]:
        rows = L._qmul(rows, s)
    return rows


def emit_sort_kernel(module, k, layout, static_index):
    """The cpu function of SortKernel ``k`` over rows [lo, hi); returns (fn, info) like
    loops.emit_kernel. A row costs about log k operations per element, so rows go to the
    worker pool from a smaller size than maps do."""
    fn, ctx, lo, hi = L.row_function(module, k, layout, static_index)
    vals = ctx.ptr(k.out, k.out_dtype)
    idxs = ctx.ptr(k.index_out, dtypes.int32)
    if k.k is k.dims[k.axis] or k.k == k.dims[k.axis]:  # a full sort: merge short rows
        pb, b = ctx.pb, ctx.b
        malloc, free = _libc(module)
        n = ctx.q(k.dims[k.axis])
        kt = _key_type(k.out_dtype)
        entry = 8 if kt.width == 32 else kt.width // 8
        raw = pb.call(malloc, [pb.mul(pb.add(n, _c(1)), _c(2 * (entry + 4)))])
        small = pb.icmp_unsigned("!=", raw, ir.Constant(raw.type, None))
        if kt.width == 32:
            sc = _Packed(ctx, pb.bitcast(raw, I64.as_pointer()))
        else:
            ids = pb.gep(raw, [pb.mul(pb.add(n, n), _c(entry))])
            sc = _Scratch(ctx, pb.bitcast(raw, kt.as_pointer()),
                          pb.bitcast(ids, I32.as_pointer()))
        allocas = {}

        def var(name):
            if name not in allocas:
                allocas[name] = pb.alloca(I64, name=name)
            return allocas[name]

        def row(r):
            with b.if_else(small) as (merge, heap):
                with merge:
                    rw, idx = _row_output(ctx, k, r, vals, idxs)
                    merge_sort_row(ctx, k, idx, n, rw, sc, var)
                with heap:
                    sort_row(ctx, k, r, vals, idxs)

        L.for_range(ctx, lo, hi, row, name="row")
        b.call(free, [raw])
    else:
        L.for_range(ctx, lo, hi, lambda row: sort_row(ctx, k, row, vals, idxs), name="row")
    ctx.b.ret_void()
    ctx.finalize()
    rows = _rows(k)
    work = L._qmul(L._qmul(rows, k.dims[k.axis]), 8)
    return fn, {"variant": "sort", "outer": rows, "total": work, "parallel": True,
                "count": 1}


def emit_sort_ptx(module, k):
    """SortKernel ``k`` for the GPU: a thread per row (grid-stride), each running
    ``sort_row``; fine for many rows, slow for a few long ones."""
    from . import ptx as P

    keys = P._keys(k)
    if P.slot_key(k.index_out) not in keys:
        keys.append(P.slot_key(k.index_out))
    fn, ctx, _, _ = P._new_kernel(module, f"kernel_{k.name}", keys)
    pb = ctx.pb
    vals = ctx.ptr(k.out, k.out_dtype)
    idxs = ctx.ptr(k.index_out, dtypes.int32)
    others = k.dims[:k.axis] + k.dims[k.axis + 1:]
    start = pb.add(pb.mul(P._sreg(pb, "ctaid.x"), P._sreg(pb, "ntid.x")), P._sreg(pb, "tid.x"))
    step = pb.mul(P._sreg(pb, "nctaid.x"), P._sreg(pb, "ntid.x"))
    P.stride_loop(ctx, start, P._prod(ctx, others), step,
                  lambda row: sort_row(ctx, k, row, vals, idxs), "row")
    ctx.b.ret_void()
    ctx.finalize()
    return P.Launch(fn.name, "sort", keys, (P._qprod(others), k.dims[k.axis]))


__all__ = ["emit_sort_kernel", "emit_sort_ptx", "sort_row"]
