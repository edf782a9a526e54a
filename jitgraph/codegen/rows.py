"""Row kernels: lowering and code for ``fusion`` ops of kind ``"row"`` (passes/fusion.py).

A row fusion's sub-graph holds reductions over the innermost axes ``r..rank-1`` of its
iteration space (keepdims) and the ops that consume them. The cpu backend lowers it to one
RowKernel: for each outer index (parallel over rows with the worker pool, like any kernel's
outer loop) it runs every reduction as a phase over the row, keeps the per-row result in a
register (``RowValue``) and finishes with the map (or reduction) of the root, so softmax reads
its row from memory once and the later phases find it in cache. Other backends (cuda) get
one ordinary kernel per phase, each reduction written to a buffer.

    steps = []; lower_row(lowerer, fusion_op, steps)
    fn, info = emit_row_kernel(module, row_kernel, layout, static_index)
"""

import llvmlite.ir as ir

from ..ops.core import REGISTRY
from . import kernels as K
from . import loops as L
from . import scalar as S
from .lower import fused_gathers


def _is_reduce(op):
    od = REGISTRY.get(op.type)
    return od is not None and od.kind == "reduce"


def _phase(qs, rop, vals, r):
    x = rop.inputs[0]
    inner = [qs.dim(x, d) for d in range(r, len(x.shape))]
    return K.Phase(vals[x], inner, REGISTRY[rop.type].lower, rop.outputs[0].dtype,
                   mean=rop.type == "reduce_mean")


def lower_row(lw, op, steps):
    """Lowers row fusion ``op``: one RowKernel (``lw.p.row_kernels``) or one kernel per
    phase."""
    sub, out = op.subgraphs[0], op.outputs[0]
    root = sub.outputs[0].op
    final_red = _is_reduce(root)
    space = root.inputs[0] if final_red else sub.outputs[0]
    rank = len(space.shape)
    r = min(min(o.attrs["axis"]) for o in sub.ops if _is_reduce(o))
    qs = lw.qs
    loads = [K.Load(lw.st(v), v.dtype, K.broadcast_strides(qs, v, rank)) for v in op.inputs]
    phases = []

    def as_row_value(rop, vals):
        phases.append(_phase(qs, rop, vals, r))
        return K.RowValue(len(phases) - 1, rop.outputs[0].dtype)

    def as_kernel(rop, vals):
        ph = _phase(qs, rop, vals, r)
        x, v = rop.inputs[0], rop.outputs[0]
        axes = tuple(range(r, rank))
        k = K.Kernel(f"{op.name}_{rop.name}", [qs.dim(x, d) for d in range(rank)], ph.body,
                     lw.fresh(v), v.dtype, axes, ph.combiner, mean=ph.mean, loc=op.loc,
                     text=op.name)
        lw.p.kernels.append(k)
        steps.append(("kernel", k))
        return K.Load(lw.st(v), v.dtype, K.broadcast_strides(qs, v, rank))

    vals = K.expr_of_subgraph(sub, loads, qs, rank,
                              as_row_value if lw.p.row_kernels else as_kernel,
                              fused_gathers(lw, op, rank), lw.index_code)
    dst = lw.fresh(out)
    dims = [qs.dim(space, d) for d in range(rank)]
    axes = tuple(range(r, rank)) if final_red or lw.p.row_kernels else ()
    comb = REGISTRY[root.type].lower if final_red else None
    mean = final_red and root.type == "reduce_mean"
    if not lw.p.row_kernels:
        k = K.Kernel(op.name, dims, vals[space], dst, out.dtype, axes, comb, mean=mean,
                     loc=op.loc, text=op.name)
    else:
        final = _phase(qs, root, vals, r) if final_red else vals[space]
        bodies = [p.body for p in phases] + [final.body if final_red else final]
        # combiner: what the run-time checks look at (an empty row has no max)
        checked = [p.combiner for p in phases + ([final] if final_red else [])]
        comb = next((c for c in checked if c in ("max", "min")), "add")
        k = K.RowKernel(op.name, dims, K.Apply("row", out.dtype, bodies), dst, out.dtype, axes,
                        comb, loc=op.loc, text=op.name, phases=phases, final=final)
    lw.p.kernels.append(k)
    steps.append(("kernel", k))


# ----------------------------------------------------------------------------- code


class Stored:
    """In the final map: the value the reusing phase stored at this element of ``out``."""

    def __init__(self, dtype):
        self.dtype = dtype


class RowEvaluator(L.Evaluator):
    """An Evaluator that also knows the current row's phase results (and, for ``Stored``,
    the address of the current output element)."""

    def __init__(self, ctx, idx, rowvals, at=None, known=None):
        super().__init__(ctx, idx)
        self.rowvals, self.at = rowvals, at
        self.memo.update(known or {})  # the row's invariant loads (emit_row_kernel)

    def _emit(self, e):
        if isinstance(e, K.RowValue):
            return self.rowvals[e.phase]
        if isinstance(e, Stored):
            return L.to_compute(self.ctx.b, self.ctx.b.load(self.at), e.dtype)
        return super()._emit(e)


def _same(a, b):
    """Structural equality of kernel expressions (the fusion pass duplicates the ops a
    row kernel's phases share, e.g. softmax's exp)."""
    if a is b:
        return True
    if type(a) is not type(b):
        return False
    if isinstance(a, K.Load):
        return a.storage is b.storage and a.dtype == b.dtype and a.index is None and \
            b.index is None and list(a.strides) == list(b.strides) and a.offset == b.offset
    if isinstance(a, K.Const):
        return a.dtype == b.dtype and a.value == b.value
    if isinstance(a, K.RowValue):
        return a.phase == b.phase
    if isinstance(a, K.Apply):
        return a.lower == b.lower and a.dtype == b.dtype and a.attrs == b.attrs and \
            len(a.args) == len(b.args) and all(_same(x, y) for x, y in zip(a.args, b.args))
    return False


def _substitute(e, target, new, memo):
    if id(e) in memo:
        return memo[id(e)]
    if _same(e, target):
        r = new
    elif isinstance(e, K.Apply):
        r = K.Apply(e.lower, e.dtype, [_substitute(a, target, new, memo) for a in e.args],
                    e.attrs)
    else:
        r = e
    memo[id(e)] = r
    return r


def _reuse(k):
    """(phase index, final body) when the final map recomputes a phase's body (softmax's
    exp): that phase stores its body into ``out`` and the final map reads it back, so the
    row is computed once. None when no phase body recurs or its dtype is not ``out``'s."""
    if isinstance(k.final, K.Phase) or k.out_dtype.name not in ("float32", "float64"):
        return None
    for j in range(len(k.phases) - 1, -1, -1):
        body = k.phases[j].body
        if not isinstance(body, K.Apply) or K.dtype_of_expr(body) != k.out_dtype:
            continue
        final = _substitute(k.final, body, Stored(k.out_dtype), {})
        if final is not k.final:
            return j, final
    return None


def _loops(ctx, sizes, body):
    """Nested loops over ``sizes`` (quantities), innermost last; body(list of indices)."""
    idx = []

    def level(j):
        if j == len(sizes):
            body(list(idx))
            return

        def step(i):
            idx.append(i)
            level(j + 1)
            idx.pop()

        L.for_range(ctx, ir.Constant(S.I64, 0), ctx.q(sizes[j]), step, name=f"r{j}")

    level(0)


def _product(ctx, sizes):
    n = ir.Constant(S.I64, 1)
    for s in sizes:
        n = ctx.pb.mul(n, ctx.q(s))
    return n


def _unravel(ctx, i, sizes):
    b = ctx.b
    out = []
    for s in reversed(sizes[1:]):
        q = ctx.q(s)
        out.append(b.srem(i, q))
        i = b.sdiv(i, q)
    out.append(i)
    return out[::-1]


def _reduce_row(ctx, ph, acc, oidx, rowvals, known, store_at=None):
    """Phase ``ph`` over one row; ``store_at(iidx)``: where to also store its body;
    ``known``: the row's invariant loads (an Evaluator memo)."""
    b = ctx.b
    b.store(L.identity(ph), acc)

    def step(iidx):
        x = RowEvaluator(ctx, oidx + iidx, rowvals, known=known)(ph.body)
        if store_at is not None:
            b.store(L.to_storage(b, x, ph.out_dtype), store_at(iidx))
        b.store(L.combine(b, ph, b.load(acc), x), acc)

    _loops(ctx, ph.inner, step)
    return L.finish(b, ph, b.load(acc), _product(ctx, ph.inner) if ph.mean else None)


def emit_row_kernel(module, k, layout, static_index):
    """Defines the function of RowKernel ``k`` over rows [lo, hi); returns (fn, info) like
    loops.emit_kernel."""
    fn, ctx, lo, hi = L.row_function(module, k, layout, static_index)
    b = ctx.b
    r = min(k.reduce_axes)
    outer, inner = k.dims[:r], k.dims[r:]
    out_ptr = ctx.ptr(k.out, k.out_dtype)
    final_red = isinstance(k.final, K.Phase)
    accs = [ctx.pb.alloca(L.acc_type(p)) for p in k.phases + ([k.final] if final_red else [])]
    n_inner = _product(ctx, inner)
    reuse = _reuse(k)
    # operands broadcast along the row, e.g. a (batch, 1) scale: loaded once per row
    hoisted = L.invariant_loads(k.body, set(range(r, len(k.dims))))
    same = None
    if reuse is not None:
        # the reusing phase must walk the same elements as the final map (None dims may
        # differ at run time, e.g. a broadcast row): checked once per call
        ph = k.phases[reuse[0]]
        if len(ph.inner) != len(inner):
            reuse = None
        elif all(isinstance(a, int) and isinstance(c, int) for a, c in zip(ph.inner, inner)):
            reuse = reuse if list(ph.inner) == list(inner) else None
        else:
            same = ir.Constant(S.I1, 1)
            for a, c in zip(ph.inner, inner):
                same = ctx.pb.and_(same, ctx.pb.icmp_signed("==", ctx.q(a), ctx.q(c)))

    def row_body(i, use):
        oidx = _unravel(ctx, i, outer)
        rowvals = {}
        ev = RowEvaluator(ctx, oidx + [None] * len(inner), rowvals)
        for e in hoisted:
            ev(e)
        known = ev.memo
        base = b.mul(i, n_inner)

        def at(iidx):
            lin = None
            for x, s in zip(iidx, inner):
                lin = x if lin is None else b.add(b.mul(lin, ctx.q(s)), x)
            return b.gep(out_ptr, [base if lin is None else b.add(base, lin)])

        for j, ph in enumerate(k.phases):
            store_at = at if use is not None and use[0] == j else None
            rowvals[j] = _reduce_row(ctx, ph, accs[j], oidx, rowvals, known, store_at)
        if final_red:
            v = _reduce_row(ctx, k.final, accs[-1], oidx, rowvals, known)
            b.store(L.to_storage(b, v, k.out_dtype), b.gep(out_ptr, [i]))
            return
        final = k.final if use is None else use[1]

        def store(iidx):
            p = at(iidx)
            v = RowEvaluator(ctx, oidx + iidx, rowvals, p, known)(final)
            b.store(L.to_storage(b, v, k.out_dtype), p)

        _loops(ctx, inner, store)

    def row(i):
        if same is None:
            row_body(i, reuse)
            return
        with b.if_else(same) as (then, other):
            with then:
                row_body(i, reuse)
            with other:
                row_body(i, None)

    L.for_range(ctx, lo, hi, row, name="row")
    b.ret_void()
    ctx.finalize()
    n_outer = 1
    for s in outer:
        n_outer = L._qmul(n_outer, s)
    total = n_outer
    for s in inner:
        total = L._qmul(total, s)
    return fn, {"variant": "row", "outer": n_outer, "total": total, "parallel": True,
                "count": 1}


__all__ = ["lower_row", "emit_row_kernel", "RowEvaluator"]
