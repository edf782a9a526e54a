"""Scans (ScanKernel: cumsum, cumprod) for the cpu backend: lowering and code.

    steps = []; _cumulative(lowerer, op, steps)        # the "cumsum"/"cumprod" rule
    fn, info = emit_scan_kernel(module, k, layout, static_index)

A scan over axis ``a`` of dims ``d`` is a row per index of the other dims (``outer``, in
row-major order) and a sequential loop of ``d[a]`` steps along the axis; the rows run in
parallel on the worker pool, like any kernel's outer loop. The output is contiguous, so the
element (row, j) is at ``base(row) + j * stride(a)``.
"""

import llvmlite.ir as ir

from . import kernels as K
from . import loops as L
from . import scalar as S
from .lower import register_lowering
from .rows import _product, _unravel
from .shape_ops import _cs


def _cumulative(lw, op, steps):
    x, out = op.inputs[0], op.outputs[0]
    qs, r = lw.qs, len(x.shape)
    body = K.Load(lw.st(x), x.dtype, [_cs(qs, x, d) for d in range(r)])
    k = K.ScanKernel(op.name, [qs.dim(x, d) for d in range(r)], body, lw.fresh(out),
                     out.dtype, combiner="add" if op.type == "cumsum" else "mul",
                     loc=op.loc, text=op.name, axis=op.attrs["axis"],
                     exclusive=op.attrs["exclusive"], reverse=op.attrs["reverse"])
    lw.p.kernels.append(k)
    steps.append(("kernel", k))


for _name in ("cumsum", "cumprod"):
    register_lowering(_name, _cumulative)


def scan_row(ctx, k, row, out_ptr, acc):
    """The scan of row ``row`` (an i64 index over the dims other than the axis): used by
    the cpu kernel below and by the GPU's (ptx.emit_scan, a thread per row)."""
    b = ctx.b
    a = k.axis
    others = k.dims[:a] + k.dims[a + 1:]
    n = ctx.q(k.dims[a])
    idx = _unravel(ctx, row, others) if others else []
    stride = _product(ctx, k.dims[a + 1:])  # contiguous output
    base = ir.Constant(S.I64, 0)
    for d, i in enumerate(idx):  # row-major offset of the row's first element
        dim = d if d < a else d + 1
        base = b.add(base, b.mul(i, _product(ctx, k.dims[dim + 1:])))
    b.store(L.identity(k), acc)

    def step(j):
        pos = b.sub(b.sub(n, ir.Constant(S.I64, 1)), j) if k.reverse else j
        x = L.Evaluator(ctx, idx[:a] + [pos] + idx[a:])(k.body)
        p = b.gep(out_ptr, [b.add(base, b.mul(pos, stride))])
        if k.exclusive:
            b.store(L.to_storage(b, b.load(acc), k.out_dtype), p)
            b.store(L.combine(b, k, b.load(acc), x), acc)
        else:
            v = L.combine(b, k, b.load(acc), x)
            b.store(v, acc)
            b.store(L.to_storage(b, v, k.out_dtype), p)

    L.for_range(ctx, ir.Constant(S.I64, 0), n, step, name="scan")


def emit_scan_kernel(module, k, layout, static_index):
    """The function of ScanKernel ``k`` over rows [lo, hi); returns (fn, info) like
    loops.emit_kernel."""
    fn, ctx, lo, hi = L.row_function(module, k, layout, static_index)
    out_ptr = ctx.ptr(k.out, k.out_dtype)
    acc = ctx.pb.alloca(L.acc_type(k))
    L.for_range(ctx, lo, hi, lambda row: scan_row(ctx, k, row, out_ptr, acc), name="row")
    ctx.b.ret_void()
    ctx.finalize()
    rows = 1
    for s in k.dims[:k.axis] + k.dims[k.axis + 1:]:
        rows = L._qmul(rows, s)
    total = L._qmul(rows, k.dims[k.axis])
    return fn, {"variant": "scan", "outer": rows, "total": total, "parallel": True,
                "count": 1}


__all__ = ["emit_scan_kernel", "scan_row"]
