"""Lowerings of data-movement ops as index-mapped kernels: each output element is a Load
at an address computed from the output index (``Iota``), so slicing, concat, tile, pad,
gather, one_hot, range and argmax are loop nests like any other kernel.

Every address is in bounds by construction: indices that could leave their buffer are
clamped (concat/pad select the right source afterwards), and gather indices are checked
(``Guard``): an out-of-range index reads element 0 and sets the status the entry point
returns, which the dispatcher raises as OutOfRangeError.
"""

from .. import dtypes
from . import kernels as K
from .lower import FIRST_INDEX_CODE, register_lowering

I64 = dtypes.int64


def _i(lower, *args):
    return K.Apply(lower, I64, list(args), {"in_dtypes": [I64] * len(args)})


def _q(qs, key, fn):
    return K.QExpr(qs.q(key, fn))


def _cs(qs, v, d):
    return qs.q(("cstride", v.uid, d), lambda e: K.contiguous_stride(e, v, d))


def _kernel(lw, op, out, body, steps, **kw):
    dims = [lw.qs.dim(out, d) for d in range(len(out.shape))]
    name = kw.pop("name", op.name)
    k = K.Kernel(name, dims, body, kw.pop("dst", None) or lw.fresh(out), out.dtype,
                 loc=op.loc, text=op.name, **kw)
    lw.p.kernels.append(k)
    steps.append(("kernel", k))
    return k


def _slice_geometry(qs, x, key):
    """(strides per output dim, element offset) of x[key] for a normalized key."""
    strides, axis = [], 0
    for e in key:
        if e is None:
            strides.append(0)
            continue
        if isinstance(e, tuple):
            strides.append(qs.q(("ss_stride", x.uid, axis, e), lambda v, a=axis, e=e: slice(
                *e).indices(v.dim(x, a))[2] * K.contiguous_stride(v, x, a)))
        axis += 1

    def offset(v):
        off, a = 0, 0
        for e in key:
            if e is None:
                continue
            d = v.dim(x, a)
            start = slice(*e).indices(d)[0] if isinstance(e, tuple) else e % max(d, 1)
            off += start * K.contiguous_stride(v, x, a)
            a += 1
        return off

    return strides, qs.q(("ss_off", x.uid, key), offset)


def _strided_slice(lw, op, steps):
    x, out = op.inputs[0], op.outputs[0]
    strides, off = _slice_geometry(lw.qs, x, op.attrs["key"])
    _kernel(lw, op, out, K.Load(lw.st(x), x.dtype, strides, off), steps)


def _slice_update(lw, op, steps):
    x, v = op.inputs
    out = op.outputs[0]
    dst = lw.fresh(out)
    steps.append(("copy", lw.st(x), dst, lw.qs.nbytes(x)))
    from ..ops.indexing import _sliced_shape

    key = op.attrs["key"]
    strides, off = _slice_geometry(lw.qs, x, key)
    n = len(_sliced_shape(key, x.shape))
    dims = []
    for d in range(n):
        dims.append(lw.qs.q(("su_dim", op.name, d), lambda e, d=d: _sliced_shape(
            key, e.shape(x))[d]))
    body = K.Load(lw.st(v), v.dtype, K.broadcast_strides(lw.qs, v, n))
    k = K.Kernel(op.name, dims, body, dst, out.dtype, loc=op.loc, text=op.name,
                 out_strides=strides, out_offset=off)
    lw.p.kernels.append(k)
    steps.append(("kernel", k))


def _concat(lw, op, steps):
    out, axis = op.outputs[0], op.attrs["axis"]
    qs, r = lw.qs, len(out.shape)
    it = K.Iota(axis)
    expr, ends = None, []
    for j, x in enumerate(op.inputs):
        start = qs.q(("cat_start", op.name, j),
                     lambda e, j=j: sum(e.dim(op.inputs[i], axis) for i in range(j)))
        size = qs.dim(x, axis)
        pos = _i("maximum", _i("minimum", _i("subtract", it, K.QExpr(start)),
                               _i("subtract", K.QExpr(size), K.Const(I64, 1))), K.Const(I64, 0))
        strides = [0 if d == axis else _cs(qs, x, d) for d in range(r)]
        ld = K.Load(lw.st(x), x.dtype, strides, 0, _i("multiply", pos, K.QExpr(_cs(qs, x, axis))))
        ends.append((qs.q(("cat_end", op.name, j), lambda e, j=j: sum(
            e.dim(op.inputs[i], axis) for i in range(j + 1))), ld))
    expr = ends[-1][1]
    for end, ld in reversed(ends[:-1]):
        cond = K.Apply("less", dtypes.bool_, [it, K.QExpr(end)], {"in_dtypes": [I64, I64]})
        expr = K.Apply("where", out.dtype, [cond, ld, expr],
                       {"in_dtypes": [dtypes.bool_, out.dtype, out.dtype]})
    _kernel(lw, op, out, expr, steps)


def _split(lw, op, steps):
    x, axis = op.inputs[0], op.attrs["axis"]
    sizes = op.attrs["sizes"]
    r = len(x.shape)
    for j, out in enumerate(op.outputs):
        strides = [_cs(lw.qs, x, d) for d in range(r)]
        off = lw.qs.q(("split_off", op.name, j), lambda e, j=j: sum(sizes[:j]) *
                      K.contiguous_stride(e, x, axis))
        k = K.Kernel(f"{op.name}_{j}", [lw.qs.dim(out, d) for d in range(r)],
                     K.Load(lw.st(x), x.dtype, strides, off), lw.fresh(out), out.dtype,
                     loc=op.loc, text=op.name)
        lw.p.kernels.append(k)
        steps.append(("kernel", k))


def _tile(lw, op, steps):
    x, out = op.inputs[0], op.outputs[0]
    qs = lw.qs
    index = K.Const(I64, 0)
    for d in range(len(x.shape)):
        src = _i("mod", K.Iota(d), K.QExpr(qs.dim(x, d)))
        index = _i("add", index, _i("multiply", src, K.QExpr(_cs(qs, x, d))))
    _kernel(lw, op, out, K.Load(lw.st(x), x.dtype, [0] * len(x.shape), 0, index), steps)


def _pad(lw, op, steps):
    x, out = op.inputs[0], op.outputs[0]
    qs, pads = lw.qs, op.attrs["paddings"]
    index, inside = K.Const(I64, 0), K.Const(dtypes.bool_, True)
    b2 = {"in_dtypes": [I64, I64]}
    for d, (before, _) in enumerate(pads):
        rel = _i("subtract", K.Iota(d), K.Const(I64, before))
        n = K.QExpr(qs.dim(x, d))
        ok = K.Apply("logical_and", dtypes.bool_, [
            K.Apply("greater_equal", dtypes.bool_, [rel, K.Const(I64, 0)], b2),
            K.Apply("less", dtypes.bool_, [rel, n], b2)])
        inside = K.Apply("logical_and", dtypes.bool_, [inside, ok])
        pos = _i("maximum", _i("minimum", rel, _i("subtract", n, K.Const(I64, 1))),
                 K.Const(I64, 0))
        index = _i("add", index, _i("multiply", pos, K.QExpr(_cs(qs, x, d))))
    ld = K.Load(lw.st(x), x.dtype, [0] * len(x.shape), 0, index)
    body = K.Apply("where", out.dtype, [inside, ld, K.Const(out.dtype,
                                                            op.attrs["constant_values"])],
                   {"in_dtypes": [dtypes.bool_, out.dtype, out.dtype]})
    _kernel(lw, op, out, body, steps)


def _range(lw, op, steps):
    out = op.outputs[0]
    if op.attrs.get("size") is None and any(v.op.type != "constant" for v in op.inputs):
        raise K.unimplemented(op, "its length depends on tensor values (data-dependent "
                                  "shape); pass Python numbers as bounds")
    start, _, delta = op.inputs
    d = out.dtype
    i = K.Apply("cast", d, [K.Iota(0)], {"in_dtypes": [I64], "dtype": d})
    body = K.Apply("add", d, [K.Load(lw.st(start), d, [0]), K.Apply(
        "multiply", d, [i, K.Load(lw.st(delta), d, [0])])])
    _kernel(lw, op, out, body, steps)


def _one_hot(lw, op, steps):
    idx, out = op.inputs[0], op.outputs[0]
    axis = op.attrs["axis"]
    r = len(out.shape)
    in_dims = [d for d in range(r) if d != axis]
    strides = [0] * r
    for k, d in enumerate(in_dims):
        strides[d] = _cs(lw.qs, idx, k)
    ld = K.Apply("cast", I64, [K.Load(lw.st(idx), idx.dtype, strides)],
                 {"in_dtypes": [idx.dtype], "dtype": I64})
    hot = K.Apply("equal", dtypes.bool_, [ld, K.Iota(axis)], {"in_dtypes": [I64, I64]})
    d = out.dtype
    body = K.Apply("where", d, [hot, K.Const(d, op.attrs["on_value"]),
                                K.Const(d, op.attrs["off_value"])],
                   {"in_dtypes": [dtypes.bool_, d, d]})
    _kernel(lw, op, out, body, steps)


def _gather(lw, op, steps):
    _kernel(lw, op, op.outputs[0], gather_load(lw, op, *op.inputs), steps)


def gather_load(lw, op, p, idx, rank=None):
    """The Load of gather ``op``'s element, reading params ``p`` at indices ``idx`` (Values
    with storage), over its own output or, with ``rank``, over the iteration space of a
    kernel the gather is fused into (passes/fusion.py), its result broadcast into that
    space (right-aligned, size-1 dims read with stride 0)."""
    out, axis = op.outputs[0], op.attrs["axis"]
    qs, ni = lw.qs, len(idx.shape)
    r = len(out.shape)
    shift = 0 if rank is None else rank - r
    stride = _cs if rank is None else _bs
    pstr, istr = [0] * (r + shift), [0] * (r + shift)
    for d in range(r):
        if d < axis:
            pstr[d + shift] = stride(qs, p, d)
        elif d < axis + ni:
            istr[d + shift] = stride(qs, idx, d - axis)
        else:
            pstr[d + shift] = stride(qs, p, d - ni + 1)
    i = K.Apply("cast", I64, [K.Load(lw.st(idx), idx.dtype, istr)],
                {"in_dtypes": [idx.dtype], "dtype": I64})
    safe = K.Guard(i, qs.dim(p, axis), lw.index_code(op))
    return K.Load(lw.st(p), p.dtype, pstr, 0, _i("multiply", safe, K.QExpr(_cs(qs, p, axis))))


def _bs(qs, v, d):
    """Stride of dim ``d`` of contiguous ``v`` read broadcast: 0 where that dim is 1."""
    return qs.q(("bcstride", v.uid, d),
                lambda e: 0 if e.dim(v, d) == 1 else K.contiguous_stride(e, v, d))


def _arg(lw, op, steps):
    x, out = op.inputs[0], op.outputs[0]
    r = len(x.shape)
    dims = [lw.qs.dim(x, d) for d in range(r)]
    body = K.Load(lw.st(x), x.dtype, [_cs(lw.qs, x, d) for d in range(r)])
    k = K.Kernel(op.name, dims, body, lw.fresh(out), out.dtype, reduce_axes=(op.attrs["axis"],),
                 combiner=op.type, loc=op.loc, text=op.name)
    lw.p.kernels.append(k)
    steps.append(("kernel", k))


def _shape(lw, op, steps):
    x, out = op.inputs[0], op.outputs[0]
    d = out.dtype
    cast = {"in_dtypes": [I64], "dtype": d}
    body = K.Apply("cast", d, [K.QExpr(lw.qs.dim(x, len(x.shape) - 1))], cast) \
        if x.shape else K.Const(d, 0)
    for a in reversed(range(len(x.shape) - 1)):
        cond = K.Apply("equal", dtypes.bool_, [K.Iota(0), K.Const(I64, a)],
                       {"in_dtypes": [I64, I64]})
        val = K.Apply("cast", d, [K.QExpr(lw.qs.dim(x, a))], cast)
        body = K.Apply("where", d, [cond, val, body], {"in_dtypes": [dtypes.bool_, d, d]})
    _kernel(lw, op, out, body, steps)


for _name, _rule in {"strided_slice": _strided_slice, "slice_update": _slice_update,
                     "concat": _concat, "split": _split, "tile": _tile, "pad": _pad,
                     "range": _range, "one_hot": _one_hot, "gather": _gather,
                     "argmax": _arg, "argmin": _arg, "shape": _shape}.items():
    register_lowering(_name, _rule)

__all__ = []


# ----------------------------------------------------------------------------- nd gathers


def _nd_index(lw, idx, p, lead, r_idx_dims, code):
    """Element index into ``p`` of the multi-index idx[i..., :] (guarded per component)."""
    qs = lw.qs
    kdim = idx.shape[-1]
    if kdim is None:
        op = lw.p.index_ops[code - FIRST_INDEX_CODE]
        raise K.unimplemented(op, "the length of the index tuples (the last dim of indices) "
                                  "must be known when tracing; give it in the input_signature")
    istr = [_cs(qs, idx, d) for d in range(len(idx.shape) - 1)]
    istr = istr + [0] * (r_idx_dims - len(istr))
    index = K.Const(I64, 0)
    for j in range(kdim):
        comp = K.Apply("cast", I64, [K.Load(lw.st(idx), idx.dtype, istr, j)],
                       {"in_dtypes": [idx.dtype], "dtype": I64})
        safe = K.Guard(comp, qs.dim(p, j), code)
        index = _i("add", index, _i("multiply", safe, K.QExpr(_cs(qs, p, j))))
    return index


def _gather_nd(lw, op, steps):
    p, idx = op.inputs
    out = op.outputs[0]
    qs, nb = lw.qs, len(idx.shape) - 1
    kdim, r = idx.shape[-1], len(out.shape)
    index = _nd_index(lw, idx, p, nb, r, lw.index_code(op))
    pstr = [0] * nb + [_cs(qs, p, kdim + d) for d in range(r - nb)]
    _kernel(lw, op, out, K.Load(lw.st(p), p.dtype, pstr, 0, index), steps)


def _scatter_into(lw, op, steps, idx, u, like, accumulate):
    """Runs over ``u``'s elements, storing (or adding) each at its nd index of the output."""
    out = op.outputs[0]
    qs, nb = lw.qs, len(idx.shape) - 1
    r = len(u.shape)
    index = _nd_index(lw, idx, like, nb, r, lw.index_code(op))
    kdim = idx.shape[-1]
    rest = [None] * nb + [_cs(qs, out, kdim + d) for d in range(r - nb)]
    for d in range(nb, r):
        index = _i("add", index, _i("multiply", K.Iota(d), K.QExpr(rest[d])))
    body = K.Load(lw.st(u), u.dtype, [_cs(qs, u, d) for d in range(r)])
    dst = lw.st(out)
    k = K.Kernel(op.name, [qs.dim(u, d) for d in range(r)], body, dst, out.dtype,
                 loc=op.loc, text=op.name, out_index=index, accumulate=accumulate)
    lw.p.kernels.append(k)
    steps.append(("kernel", k))


def _zero_fill(lw, op, steps):
    out = op.outputs[0]
    _kernel(lw, op, out, K.Const(out.dtype, 0), steps, name=op.name + "_zeros")


def _scatter_nd(lw, op, steps):
    idx, u = op.inputs
    _zero_fill(lw, op, steps)
    _scatter_into(lw, op, steps, idx, u, op.outputs[0], True)


def _tensor_scatter(lw, op, steps):
    from .scatter_in_place import dies_at

    t, idx, u = op.inputs
    if dies_at(lw, op, t):  # the update writes over t (a TensorArray written in a loop)
        lw.p.storage[op.outputs[0]] = lw.st(t)
    else:
        dst = lw.fresh(op.outputs[0])
        steps.append(("copy", lw.st(t), dst, lw.qs.nbytes(t)))
    _scatter_into(lw, op, steps, idx, u, op.outputs[0], False)


def _gather_grad(lw, op, steps):
    g, idx, like = op.inputs
    _zero_fill(lw, op, steps)
    _gather_grad_into(lw, op, steps, g, idx, like)


def _gather_grad_add(lw, op, steps):
    from .scatter_in_place import dies_at

    acc, g, idx = op.inputs
    if dies_at(lw, op, acc):  # a loop's gradient accumulator: add the slices over it
        lw.p.storage[op.outputs[0]] = lw.st(acc)
    else:
        dst = lw.fresh(op.outputs[0])
        steps.append(("copy", lw.st(acc), dst, lw.qs.nbytes(acc)))
    _gather_grad_into(lw, op, steps, g, idx, acc)


def _gather_grad_into(lw, op, steps, g, idx, like):
    """Adds ``g``'s elements into the output at ``idx`` on the op's axis."""
    out, axis = op.outputs[0], op.attrs["axis"]
    qs = lw.qs
    r, ni = len(g.shape), len(idx.shape)
    istr = [0] * r
    for d in range(axis, axis + ni):
        istr[d] = _cs(qs, idx, d - axis)
    i = K.Apply("cast", I64, [K.Load(lw.st(idx), idx.dtype, istr)],
                {"in_dtypes": [idx.dtype], "dtype": I64})
    index = _i("multiply", K.Guard(i, qs.dim(like, axis), lw.index_code(op)),
               K.QExpr(_cs(qs, out, axis)))
    for d in range(r):
        if d < axis:
            index = _i("add", index, _i("multiply", K.Iota(d), K.QExpr(_cs(qs, out, d))))
        elif d >= axis + ni:
            od = d - ni + 1
            index = _i("add", index, _i("multiply", K.Iota(d), K.QExpr(_cs(qs, out, od))))
    body = K.Load(lw.st(g), g.dtype, [_cs(qs, g, d) for d in range(r)])
    k = K.Kernel(op.name, [qs.dim(g, d) for d in range(r)], body, lw.st(out), out.dtype,
                 loc=op.loc, text=op.name, out_index=index, accumulate=True)
    lw.p.kernels.append(k)
    steps.append(("kernel", k))


for _name, _rule in {"gather_nd": _gather_nd, "scatter_nd": _scatter_nd,
                     "tensor_scatter_nd_update": _tensor_scatter,
                     "gather_grad": _gather_grad, "gather_grad_add": _gather_grad_add}.items():
    register_lowering(_name, _rule)
