"""Loop-nest code for kernels (used by llvm_cpu.py).

LLVM IR for a lowered Program: one module, one entry point, one function per kernel.

Entry point (called through ctypes with the arrays as Python objects, see runtime.py):

    i32 entry(i8** static, i64* params, PyObject* arg0, ..., out0, ..., var0, ...)

It reads each ndarray's data pointer (PyArrayObject field ``data``, offset 16), builds the
slot table [args, outs, vars, static...] and runs the steps: kernels, copies, external
calls, ``cond`` as branches, ``while`` as a loop. It returns 0 or an error code a kernel
stored in the status slot (e.g. an out-of-range gather index, which reads element 0
instead, so no code ever touches memory outside its buffers).

Kernel functions ``void k(i8** slots, i64* params, i64 lo, i64 hi, i8* partial)`` run the
outermost loop over [lo, hi). Large kernels are split across the cores by ``jg_parallel``:
it starts one POSIX thread per extra core for a slice and runs the first slice itself
(threads are created per kernel call: ~20 us, so only kernels of at least PAR_MIN elements
are split). Full reductions write per-thread partial results that the entry combines.
"""

import ctypes
import os
from dataclasses import replace

import llvmlite.ir as ir

from . import scalar as S
from .kernels import (
    Apply,
    Const,
    Guard,
    Iota,
    Load,
    Param,
    QExpr,
    ScanKernel,
    SortKernel,
    dtype_of_expr,  # noqa: E402
)

I8P = S.I8.as_pointer()
I8PP = I8P.as_pointer()
I64P = S.I64.as_pointer()
KFN = ir.FunctionType(ir.VoidType(), [I8PP, I64P, S.I64, S.I64, I8P])
PAR_MIN = 1 << 17
N_THREADS = max(1, min(os.cpu_count() or 1, 8))
DATA_OFFSET = 16  # offsetof(PyArrayObject_fields, data)


def _fast(instr, flags=("reassoc", "nsz", "contract")):
    instr.flags.extend(flags)
    return instr


class Layout:
    """Slot numbers: args, outs, vars (Python objects), then the static table."""

    def __init__(self, n_args, n_outs, n_vars, n_static):
        self.base = {"arg": 0, "out": n_args, "var": n_args + n_outs}
        self.n_py = n_args + n_outs + n_vars
        self.n_static = n_static
        self.n = self.n_py + n_static

    def slot(self, storage, static_index):
        if storage.kind in self.base:
            return self.base[storage.kind] + storage.index
        return self.n_py + static_index(storage)


class FnCtx:
    """Builder state inside one function: loop-invariant values (params, base pointers)
    go to a prologue block, emitted in order; the body starts in block ``start``."""

    def __init__(self, fn, slots, params, layout, static_index):
        self.fn = fn
        self.pro = fn.append_basic_block("prologue")
        self.pb = ir.IRBuilder(self.pro)
        self.b = ir.IRBuilder(fn.append_basic_block("start"))
        self.start = self.b.block
        self.slots, self.params = slots, params
        self.layout, self.static_index = layout, static_index
        self.qcache, self.pcache = {}, {}
        self.flags = {}  # status code -> i1 alloca: an index check of that code failed

    def finalize(self):
        self.pb.branch(self.start)
        if self.flags:
            self._report_flags()

    def status_ptr(self):
        """The i32 status slot (its pointer is loaded in the prologue, once)."""
        from .. import dtypes
        from .kernels import Storage

        v = self.pcache.get("status")
        if v is None:
            v = self.pcache["status"] = self.ptr(Storage("status", 0), dtypes.int32)
        return v

    def set_status(self, b, code):
        """At ``b``: stores error ``code`` unless an earlier failure of the call stored one."""
        set_status(b, self.status_ptr(), code)

    def guard_flag(self, code):
        """The flag that index checks of status ``code`` set (``flag |= bad``): a reduction
        the loop vectorizer keeps in registers, where a store of the code in the loop (a
        branch per element) kept the loop scalar. The function reports it on return."""
        flag = self.flags.get(code)
        if flag is None:
            self.status_ptr()  # loaded in the prologue, before it is closed
            flag = self.flags[code] = self.pb.alloca(S.I1, name=f"bad{code}")
            self.pb.store(ir.Constant(S.I1, 0), flag)
        return flag

    def _report_flags(self):
        """Before each return: the status code of every check that failed (the first
        stored wins, see set_status)."""
        rets = [(blk, ins) for blk in self.fn.blocks for ins in blk.instructions
                if isinstance(ins, ir.Ret)]
        for blk, ret in rets:
            blk.instructions.remove(ret)
            blk.terminator = None
            b = ir.IRBuilder(blk)
            for code, flag in self.flags.items():
                with b.if_then(b.load(flag), likely=False):
                    self.set_status(b, code)
            value = ret.return_value
            if value is None:
                b.ret_void()
            else:  # the entry returns the status: load it again
                b.ret(b.load(value.operands[0]) if isinstance(value, ir.LoadInstr) else value)

    def q(self, x):
        if isinstance(x, Param):
            v = self.qcache.get(x.index)
            if v is None:
                p = self.pb.gep(self.params, [ir.Constant(S.I64, x.index)])
                v = self.qcache[x.index] = self.pb.load(p)
            return v
        return ir.Constant(S.I64, int(x))

    def raw(self, storage):
        """i8* to byte 0 of ``storage``."""
        key = id(storage)
        v = self.pcache.get(key)
        if v is None and storage.kind == "rows":  # a loop stack's rows (stack_ops.py)
            pb = self.pb
            h = pb.bitcast(self.raw(storage.offset), I64P)
            v = self.pcache[key] = pb.inttoptr(pb.load(h), I8P)
        if v is None:
            pb = self.pb
            slot = self.layout.slot(storage, self.static_index)
            v = pb.load(pb.gep(self.slots, [ir.Constant(S.I64, slot)]))
            if storage.kind == "arena" and not (isinstance(storage.offset, int)
                                                and storage.offset == 0):
                v = pb.gep(v, [self.q(storage.offset)])
            self.pcache[key] = v
        return v

    def ptr(self, storage, dtype):
        """Typed pointer to element 0 of ``storage``."""
        key = (id(storage), dtype.name)
        v = self.pcache.get(key)
        if v is None:
            v = self.pcache[key] = self.pb.bitcast(self.raw(storage),
                                                   S.storage_type(dtype).as_pointer())
        return v


def arg_update(b, fl, op, x, i, best, where):
    """One argmax/argmin step: if ``x`` beats ``*best`` (``op`` ">"/"<"; a NaN wins over a
    number, like NumPy), store it and index ``i`` in ``*where``."""
    cur = b.load(best)
    if fl:
        better = b.or_(b.fcmp_ordered(op, x, cur), b.and_(
            b.fcmp_unordered("uno", x, x), b.fcmp_ordered("ord", cur, cur)))
    else:
        better = b.icmp_signed(op, x, cur)
    b.store(b.select(better, x, cur), best)
    b.store(b.select(better, i, b.load(where)), where)


def for_range(ctx, lo, hi, body, name="i", step=None):
    """Emits ``for i in range(lo, hi, step): body(i)`` (step > 0, default 1); leaves the
    builder after the loop and returns the loop variable's value there (the first ``i``
    not run, when lo < hi). The CUDA backend's grid-stride loops use it with a step."""
    b = ctx.b
    pre = b.block
    head = ctx.fn.append_basic_block(f"{name}.head")
    loop = ctx.fn.append_basic_block(f"{name}.body")
    done = ctx.fn.append_basic_block(f"{name}.done")
    b.branch(head)
    b.position_at_end(head)
    i = b.phi(S.I64, name)
    i.add_incoming(lo, pre)
    b.cbranch(b.icmp_signed("<", i, hi), loop, done)
    b.position_at_end(loop)
    body(i)
    if step is None:
        nxt = b.add(i, ir.Constant(S.I64, 1), flags=("nuw", "nsw"))
    else:
        nxt = b.add(i, step, flags=("nsw",))
    i.add_incoming(nxt, b.block)
    b.branch(head)
    b.position_at_end(done)
    return i


# ----------------------------------------------------------------------------- expressions


class Evaluator:
    """Emits a kernel body at one iteration point; shared subexpressions once."""

    def __init__(self, ctx, idx):
        self.ctx, self.idx, self.memo = ctx, idx, {}

    def __call__(self, e):
        v = self.memo.get(id(e))
        if v is None:
            v = self.memo[id(e)] = self._emit(e)
        return v

    def offset(self, strides, extra):
        b, ctx = self.ctx.b, self.ctx
        off = None
        for i, s in zip(self.idx, strides):
            if isinstance(s, int) and s == 0:
                continue
            t = i if isinstance(s, int) and s == 1 else b.mul(i, ctx.q(s))
            off = t if off is None else b.add(off, t)
        for x in extra:
            if x is None or (isinstance(x, int) and x == 0):
                continue
            t = x if isinstance(x, ir.Value) else ctx.q(x)
            off = t if off is None else b.add(off, t)
        return off if off is not None else ir.Constant(S.I64, 0)

    def _emit(self, e):
        b = self.ctx.b
        if isinstance(e, Load) and e.index is None and all(
                isinstance(s, int) and s == 0 for s in e.strides):
            return self._invariant(e)
        if isinstance(e, Load):
            extra = [e.offset, self(e.index) if e.index is not None else None]
            p = b.gep(self.ctx.ptr(e.storage, e.dtype), [self.offset(e.strides, extra)])
            return to_compute(b, b.load(p), e.dtype)
        if isinstance(e, Const):
            return S.const(e.dtype, e.value)
        if isinstance(e, Iota):
            return self.idx[e.dim]
        if isinstance(e, QExpr):
            return self.ctx.q(e.q)
        if isinstance(e, Guard):
            return self._guard(e)
        if isinstance(e, Apply):
            args = [self(a) for a in e.args]
            ins = e.attrs.get("in_dtypes") or [e.dtype] * len(args)
            return S.emit(b, e.lower, args, ins, e.dtype, e.attrs)
        raise TypeError(f"unknown kernel expression {e!r}")


def _invariant(self, e):
    """A Load of one element (a broadcast scalar, a random op's counter) goes to the
    prologue: loaded once per call, not per element; LLVM cannot hoist it itself, since the
    output pointer may alias it as far as it knows, and the reload blocks vectorization.
    Kernels store only to their output, which they never read at other elements."""
    ctx = self.ctx
    key = ("scalar", id(e.storage), e.dtype.name, repr(e.offset))
    v = ctx.pcache.get(key)
    if v is None:
        pb = ctx.pb
        p = pb.gep(ctx.ptr(e.storage, e.dtype), [ctx.q(e.offset)])
        v = ctx.pcache[key] = to_compute(pb, pb.load(p), e.dtype)
    return v


Evaluator._invariant = _invariant


def _guard(self, e):
    b = self.ctx.b
    i = self(e.index)
    bad = b.or_(b.icmp_signed("<", i, ir.Constant(S.I64, 0)),
                b.icmp_signed(">=", i, self.ctx.q(e.size)))
    flag = self.ctx.guard_flag(e.code)
    b.store(b.or_(b.load(flag), bad), flag)
    return b.select(bad, ir.Constant(S.I64, 0), i)


def set_status(b, ptr, code):
    """Stores error ``code`` in the status slot unless an earlier failure stored one: the
    call reports the first failed check, in program order, as the interpreter does."""
    b.cmpxchg(ptr, ir.Constant(S.I32, 0), ir.Constant(S.I32, code), "monotonic", "monotonic")


Evaluator._guard = _guard


def to_compute(b, v, dtype):
    if dtype.is_bool:
        return b.trunc(v, S.I1)
    if dtype.name == "float16":
        return b.fpext(v, S.F32)
    if dtype.name == "bfloat16":  # the high half of a float32
        return S.bf16_widen(b, v)
    return v


def to_storage(b, v, dtype):
    if dtype.is_bool:
        return b.zext(v, S.I8)
    if dtype.name == "float16":
        return b.fptrunc(v, S.F16)
    if dtype.name == "bfloat16":
        return S.bf16_round(b, v)
    return v


# ----------------------------------------------------------------------------- reductions


def acc_type(k):
    if k.mean and k.out_dtype.is_integer:
        return S.I64
    return S.compute_type(k.out_dtype)


def identity(k):
    t = acc_type(k)
    c = k.combiner
    if t == S.I1:
        return ir.Constant(t, 1 if c == "and" else 0)
    if isinstance(t, ir.IntType):
        big = (1 << (t.width - 1))
        return ir.Constant(t, {"add": 0, "mul": 1, "max": -big, "min": big - 1}[c])
    return ir.Constant(t, {"add": 0.0, "mul": 1.0, "max": float("-inf"),
                           "min": float("inf")}[c])


def combine(b, k, acc, x):
    c, t = k.combiner, acc.type
    if t == S.I1:
        return b.or_(acc, x) if c == "or" else b.and_(acc, x)
    fl = not isinstance(t, ir.IntType)
    if c == "add":
        return _fast(b.fadd(acc, x)) if fl else b.add(acc, x)
    if c == "mul":
        return _fast(b.fmul(acc, x)) if fl else b.mul(acc, x)
    name = {("max", True): "maximum", ("min", True): "minimum",
            ("max", False): "smax", ("min", False): "smin"}[(c, fl)]
    return S.intrinsic(b, name, [acc, x])


def finish(b, k, acc, count):
    """The stored value of a reduction: ``acc`` (divided by ``count`` for a mean)."""
    if not k.mean:
        return acc
    if k.out_dtype.is_integer:
        q, _ = S._int_divmod(b, acc, count)
        return b.trunc(q, S.compute_type(k.out_dtype))
    return b.fdiv(acc, b.sitofp(count, acc.type))


__all__ = ["Layout", "FnCtx", "for_range", "arg_update", "Evaluator", "to_compute", "to_storage",
           "KFN", "I8P", "I8PP", "I64P", "PAR_MIN", "N_THREADS", "DATA_OFFSET", "combine",
           "identity", "finish", "acc_type", "invariant_loads", "ctypes"]


# ----------------------------------------------------------------------------- kernels


class Nest:
    """A kernel's loops after choosing their order and merging contiguous dims: ``sizes``
    (quantities), ``red`` (bool per loop), the body with Loads re-indexed per loop."""

    def __init__(self, sizes, red, body):
        self.sizes, self.red, self.body = sizes, red, body


def _collect_loads(e, out, seen):
    if id(e) in seen:
        return
    seen.add(id(e))
    if isinstance(e, Load):
        out.append(e)
        if e.index is not None:
            _collect_loads(e.index, out, seen)
    elif isinstance(e, Apply):
        for a in e.args:
            _collect_loads(a, out, seen)
    elif isinstance(e, Guard):
        _collect_loads(e.index, out, seen)


def _has_iota(e):
    """Whether ``e`` reads a loop index itself (Iota), so its loops cannot merge; gather
    indices can, as their Loads are re-indexed with the others."""
    loads = []
    _collect_loads(e, loads, set())
    stack = [e] + [ld.index for ld in loads if ld.index is not None]
    while stack:
        x = stack.pop()
        if isinstance(x, Iota):
            return True
        if isinstance(x, Apply):
            stack.extend(x.args)
        elif isinstance(x, Guard):
            stack.append(x.index)
    return False


def _rebuild(e, strides_of, memo):
    r = memo.get(id(e))
    if r is not None:
        return r
    if isinstance(e, Load):
        idx = _rebuild(e.index, strides_of, memo) if e.index is not None else None
        r = Load(e.storage, e.dtype, strides_of(e), e.offset, idx)
    elif isinstance(e, Apply):
        r = Apply(e.lower, e.dtype, [_rebuild(a, strides_of, memo) for a in e.args], e.attrs)
    elif isinstance(e, Guard):
        r = Guard(_rebuild(e.index, strides_of, memo), e.size, e.code)
    else:
        r = e
    memo[id(e)] = r
    return r


def make_nest(k, order):
    """Loops over original dims ``order``; contiguous neighbours of the same kind merge."""
    red = set(k.reduce_axes)
    loads = []
    _collect_loads(k.body, loads, set())
    static = all(isinstance(d, int) for d in k.dims) and all(
        isinstance(s, int) for ld in loads for s in ld.strides) and not _has_iota(k.body) \
        and k.out_strides is None and k.out_index is None
    groups = []  # lists of original dims
    for d in order:
        if static and groups:
            p = groups[-1][-1]
            same = (p in red) == (d in red)
            if same and all(ld.strides[p] == ld.strides[d] * k.dims[d] for ld in loads):
                groups[-1].append(d)
                continue
        groups.append([d])
    sizes = []
    for g in groups:
        if len(g) == 1:
            sizes.append(k.dims[g[0]])
        else:
            n = 1
            for d in g:
                n *= k.dims[d]
            sizes.append(n)
    body = _rebuild(k.body, lambda ld: [ld.strides[g[-1]] for g in groups], {})
    return Nest(sizes, [g[0] in red for g in groups], body)


def _invariant_in(body, dims):
    """(loads, invariant): the Loads of kernel expression ``body`` and the test of an
    expression for not changing along loops ``dims`` (positions in the Loads' strides)."""

    def zero(e):
        return all(isinstance(s, int) and s == 0 for d, s in enumerate(e.strides) if d in dims)

    def invariant(e):
        if isinstance(e, Load):
            return zero(e) and (e.index is None or invariant(e.index))
        if isinstance(e, Iota):
            return e.dim not in dims
        if isinstance(e, Guard):
            return invariant(e.index)
        if isinstance(e, Apply):
            return all(invariant(a) for a in e.args)
        return isinstance(e, (Const, QExpr))

    loads = []
    _collect_loads(body, loads, set())
    return loads, invariant


def _row_invariant_indices(nest, loops):
    """The index expressions of the body's Loads that do not depend on the last loop."""
    if len(loops) < 2:
        return []
    loads, invariant = _invariant_in(nest.body, {loops[-1]})
    return [ld.index for ld in loads if ld.index is not None and invariant(ld.index)]


def invariant_loads(body, dims):
    """The Loads of ``body`` that do not change along loops ``dims`` and read more than one
    element over the whole nest: an operand broadcast along the inner loops, such as a
    (batch, 1) mask or weight against a (batch, n) state. (A Load of one element is a
    prologue load instead, see Evaluator._invariant.) Evaluated once per row, before the
    inner loops, they leave those loops free of reloads that the output store may alias as
    far as LLVM knows, which kept them scalar: a (32, 1) mask against a (32, 64) state in a
    while_loop ran 13x slower than a full-shape mask."""
    loads, invariant = _invariant_in(body, set(dims))
    return [ld for ld in loads if invariant(ld) and not (ld.index is None and all(
        isinstance(s, int) and s == 0 for s in ld.strides))]


def _row_invariant_loads(nest, loops):
    """invariant_loads along the last loop of a nest of two or more."""
    return invariant_loads(nest.body, {loops[-1]}) if len(loops) >= 2 else []


def _variant(k):
    if not k.is_reduction:
        return "map"
    if k.combiner in ("argmax", "argmin"):
        return "arg"
    if len(k.reduce_axes) == len(k.dims):
        return "full"
    last_kept = (len(k.dims) - 1) not in k.reduce_axes
    if last_kept and not (k.mean and k.out_dtype.is_integer) and \
            k.out_dtype.name not in ("float16", "bfloat16"):
        return "outacc"
    return "acc"


def _nest_loops(ctx, nest, loops, lo, hi, inner, before_last=None):
    """Emits loops ``loops`` (indices into nest.sizes), the first over [lo, hi);
    ``before_last(idx)`` runs in the body of the next-to-last loop, before the last."""
    idx = {}

    def level(j):
        if j == len(loops):
            inner(idx)
            return
        if before_last is not None and j == len(loops) - 1:
            before_last(idx)
        d = loops[j]
        start = lo if j == 0 and lo is not None else ir.Constant(S.I64, 0)
        end = hi if j == 0 and hi is not None else ctx.q(nest.sizes[d])

        def body(i):
            idx[d] = i
            level(j + 1)

        for_range(ctx, start, end, body, name=f"d{d}")

    level(0)


def _linear(ctx, nest, dims, idx):
    """Row-major linear index over loops ``dims`` (the output's layout)."""
    b = ctx.b
    off = None
    for d in dims:
        off = idx[d] if off is None else b.add(b.mul(off, ctx.q(nest.sizes[d])), idx[d])
    return off if off is not None else ir.Constant(S.I64, 0)


# Streaming (non-temporal) stores: an elementwise kernel writing a large graph output
# stores it with vmovntps & co., which skip the read-for-ownership of each output line
# (a third of the memory traffic of z = f(x, y)). Measured with a C triad on these machines,
# 10M float32, 2 threads: 3.0-3.8 ms with plain stores, 2.0-2.7 ms streaming. Such a kernel
# gets a twin function (name + STREAM_SUFFIX, never inlined) that runs the 16-element-aligned
# middle of its range; the twin's marked output stores (``stream_store``), once vectorized,
# become aligned non-temporal stores after LLVM's optimization (llvm_cpu.optimize_module:
# ``stream_stores``), and it ends with an sfence so other threads see the data. Outputs
# smaller than STREAM_MIN_BYTES stay in cache for whatever reads them next. Streaming needs
# the output's page offset away from the inputs' (codegen/outputs.py): 4K aliasing made
# streaming kernels up to 1.6x slower.
STREAM_MIN_BYTES = 8 << 20
STREAM_SUFFIX = "_ntstore"
STREAM_ALIGN = 64
STREAM_TAG = "jg.stream"  # alias-scope name marking the stores that may stream


def stream_store(b, value, ptr):
    """A store in a twin that becomes non-temporal if LLVM vectorizes it (the twin's caller
    guarantees the alignment). The mark is an alias scope no access is declared apart from,
    so it does not change what LLVM may assume; the loop vectorizer keeps it on the vector
    store, where ``llvm_cpu.stream_stores`` finds it."""
    m = b.module
    tag = getattr(m, "_jg_stream_tag", None)
    if tag is None:
        domain = m.add_metadata([STREAM_TAG + ".domain"])
        tag = m._jg_stream_tag = m.add_metadata([m.add_metadata([STREAM_TAG, domain])])
    b.store(value, ptr).set_metadata("alias.scope", tag)


def sfence(b):
    """Orders this thread's non-temporal stores before whatever it does next (the worker
    pool's completion flag)."""
    m = b.module
    fn = m.globals.get("llvm.x86.sse.sfence") or ir.Function(
        m, ir.FunctionType(ir.VoidType(), []), name="llvm.x86.sse.sfence")
    b.call(fn, [])


def _streams(k, nest):
    if not k.is_plain_map or k.out.kind != "out" or len(nest.sizes) != 1 or \
            not isinstance(nest.sizes[0], int) or k.out_dtype.name == "bool":
        return False
    size = S.storage_type(k.out_dtype)
    width = size.width // 8 if isinstance(size, ir.IntType) else \
        {S.F64: 8, S.F32: 4}.get(size, 0)
    return width in (4, 8) and nest.sizes[0] * width >= STREAM_MIN_BYTES


def _stream_split(ctx, k, lo, hi):
    """The twin's share of [lo, hi): lo..mid (a multiple of 16 elements) when the output at
    lo is 64-byte aligned, else nothing; returns mid."""
    b = ctx.b
    out = ctx.ptr(k.out, k.out_dtype)
    addr = b.ptrtoint(b.gep(out, [lo]), S.I64)
    aligned = b.icmp_unsigned("==", b.and_(addr, ir.Constant(S.I64, STREAM_ALIGN - 1)),
                              ir.Constant(S.I64, 0))
    n16 = b.and_(b.sub(hi, lo), ir.Constant(S.I64, -16))
    return b.select(aligned, b.add(lo, n16), lo)


def row_function(module, k, layout, static_index):
    """(fn, ctx, lo, hi): the internal function ``kernel_<name>(slots, params, lo, hi,
    partial)`` of kernel ``k`` with its FnCtx (row and scan kernels loop over [lo, hi))."""
    fn = ir.Function(module, KFN, name=f"kernel_{k.name}")
    fn.linkage = "internal"
    slots, params, lo, hi, _ = fn.args
    return fn, FnCtx(fn, slots, params, layout, static_index), lo, hi


def emit_kernel(module, k, layout, static_index, twin=False):
    """Defines the function for Kernel ``k``; returns (fn, info) where info holds the
    variant, the outer loop extent and the total work (quantities) for the caller.
    ``twin``: the streaming-store twin of a kernel (see STREAM_MIN_BYTES)."""
    if getattr(k, "phases", None) is not None:
        from .rows import emit_row_kernel

        return emit_row_kernel(module, k, layout, static_index)
    if isinstance(k, ScanKernel):
        from .scans import emit_scan_kernel

        return emit_scan_kernel(module, k, layout, static_index)
    if isinstance(k, SortKernel):
        from .sorting import emit_sort_kernel

        return emit_sort_kernel(module, k, layout, static_index)
    if getattr(k, "algo", None):  # MatrixKernel
        from .linalg_kernels import emit_matrix_kernel

        return emit_matrix_kernel(module, k, layout, static_index)
    variant = _variant(k)
    rank = len(k.dims)
    red = set(k.reduce_axes)
    order = list(range(rank)) if variant in ("map", "outacc", "full") else \
        [d for d in range(rank) if d not in red] + [d for d in range(rank) if d in red]
    sib_bodies = []
    if k.siblings:  # one nest for all: the same loads are re-indexed the same way
        group = Apply("group", k.out_dtype, [k.body] + [s.body for s in k.siblings], {})
        nest = make_nest(replace(k, body=group, siblings=[]), order)
        nest.body, sib_bodies = nest.body.args[0], nest.body.args[1:]
    else:
        nest = make_nest(k, order)
    fn = ir.Function(module, KFN, name=f"kernel_{k.name}" + (STREAM_SUFFIX if twin else ""))
    fn.linkage = "internal"
    if twin:
        fn.attributes.add("noinline")
    slots, params, lo, hi, partial = fn.args
    ctx = FnCtx(fn, slots, params, layout, static_index)
    b = ctx.b
    loops = list(range(len(nest.sizes)))
    out_ptr = ctx.ptr(k.out, k.out_dtype)

    hoisted = _row_invariant_indices(nest, loops) + _row_invariant_loads(nest, loops)
    memo = {}

    def value(idx):
        ev = Evaluator(ctx, [idx[d] for d in loops])
        ev.memo.update(memo)
        return ev(nest.body)

    def hoist(idx):
        """Gather/scatter indices and operands that do not change along the last loop
        are loaded (and checked) once per row, so the last loop is one LLVM vectorizes (a
        gather of a row of contiguous elements, a broadcast operand, see
        invariant_loads)."""
        ev = Evaluator(ctx, [idx.get(d) for d in loops])
        for e in hoisted:
            ev(e)
        memo.clear()
        memo.update(ev.memo)

    count = None
    if k.mean:
        count = ir.Constant(S.I64, 1)
        for d in loops:
            if nest.red[d]:
                count = ctx.pb.mul(count, ctx.q(nest.sizes[d]))
    if variant == "map":
        def store(idx):
            v = to_storage(b, value(idx), k.out_dtype)
            if k.out_index is not None:
                ev = Evaluator(ctx, [idx[d] for d in loops])
                at = ev(k.out_index)
                p = b.gep(out_ptr, [at])
                x = ev(nest.body)
                if k.accumulate:
                    x = S.emit(b, "add", [to_compute(b, b.load(p), k.out_dtype), x],
                               [k.out_dtype] * 2, k.out_dtype, {})
                b.store(to_storage(b, x, k.out_dtype), p)
                return
            if k.out_strides is None:
                at = _linear(ctx, nest, loops, idx)
            else:
                at = Evaluator(ctx, [idx[d] for d in loops]).offset(k.out_strides,
                                                                     [k.out_offset])
            if twin:
                stream_store(b, v, b.gep(out_ptr, [at]))
            else:
                b.store(v, b.gep(out_ptr, [at]))
        if not twin and _streams(k, nest):
            nt, _ = emit_kernel(module, k, layout, static_index, twin=True)
            mid = _stream_split(ctx, k, lo, hi)
            b.call(nt, [slots, params, lo, mid, partial])
            lo = mid
        _nest_loops(ctx, nest, loops, lo, hi, store, hoist if hoisted else None)
        if twin:
            sfence(b)
    elif variant in ("acc", "full"):
        acc = ctx.pb.alloca(acc_type(k))
        kept = [d for d in loops if not nest.red[d]]
        reds = [d for d in loops if nest.red[d]]

        sib_ptrs = [ctx.ptr(sk.out, sk.out_dtype) for sk in k.siblings]

        def accumulate(idx):
            # every value first (one Evaluator: loads shared with siblings), then stores
            ev = Evaluator(ctx, [idx[d] for d in loops])
            x = ev(nest.body)
            vals = [ev(sb) for sb in sib_bodies]
            if vals:
                at = _linear(ctx, nest, loops, idx)
                for sk, ptr, v in zip(k.siblings, sib_ptrs, vals):
                    b.store(to_storage(b, v, sk.out_dtype), b.gep(ptr, [at]))
            if x.type != acc.type.pointee:
                x = b.sext(x, acc.type.pointee)
            b.store(combine(b, k, b.load(acc), x), acc)

        if variant == "full":
            b.store(identity(k), acc)
            _nest_loops(ctx, nest, reds, lo, hi, accumulate)
            b.store(b.load(acc), b.bitcast(partial, acc.type))
        else:
            def row(idx):
                b.store(identity(k), acc)
                inner = {}

                def acc_inner(ridx):
                    inner.update(idx)
                    inner.update(ridx)
                    accumulate(inner)
                _nest_loops(ctx, nest, reds, None, None, acc_inner)
                v = finish(b, k, b.load(acc), count)
                b.store(to_storage(b, v, k.out_dtype),
                        b.gep(out_ptr, [_linear(ctx, nest, kept, idx)]))
            _nest_loops(ctx, nest, kept, lo, hi, row)
    elif variant == "arg":
        _emit_arg(ctx, k, nest, loops, value, out_ptr, lo, hi)
    else:  # outacc: out[kept] combined in place, loops in memory order
        kept = [d for d in loops if not nest.red[d]]
        n_out = ir.Constant(S.I64, 1)
        for d in kept:
            n_out = ctx.pb.mul(n_out, ctx.q(nest.sizes[d]))
        st = S.storage_type(k.out_dtype)
        init = identity(k)

        def init_one(i):
            b.store(to_storage(b, init, k.out_dtype) if st != init.type else init,
                    b.gep(out_ptr, [i]))
        for_range(ctx, ir.Constant(S.I64, 0), n_out, init_one, "init")

        def upd(idx):
            p = b.gep(out_ptr, [_linear(ctx, nest, kept, idx)])
            cur = to_compute(b, b.load(p), k.out_dtype)
            b.store(to_storage(b, combine(b, k, cur, value(idx)), k.out_dtype), p)
        _nest_loops(ctx, nest, loops, None, None, upd)
        if k.mean:
            def fin(i):
                p = b.gep(out_ptr, [i])
                b.store(finish(b, k, b.load(p), count), p)
            for_range(ctx, ir.Constant(S.I64, 0), n_out, fin, "mean")
    b.ret_void()
    ctx.finalize()
    total = None
    for s in nest.sizes:
        total = s if total is None else _qmul(total, s)
    outer = nest.sizes[0] if nest.sizes else 1
    if variant in ("acc", "arg"):
        kept = [d for d in loops if not nest.red[d]]
        outer = nest.sizes[kept[0]] if kept else 1
    info = {"variant": variant, "outer": outer, "total": 1 if total is None else total,
            "parallel": variant != "outacc" and bool(nest.sizes) and (k.out_index is None
                                                                        or k.unique_index),
            "count": nest_count(nest)}
    return fn, info


def _qmul(a, b):
    if isinstance(a, int) and isinstance(b, int):
        return a * b
    return ("mul", a, b)


def nest_count(nest):
    n = 1
    for s, r in zip(nest.sizes, nest.red):
        if r:
            n = _qmul(n, s)
    return n


def _emit_arg(ctx, k, nest, loops, value, out_ptr, lo, hi):
    """argmax/argmin along one axis: first extreme value wins, NaN counts as extreme."""
    b = ctx.b
    vt = S.compute_type(dtype_of_expr(nest.body))
    best = ctx.pb.alloca(vt)
    where = ctx.pb.alloca(S.I64)
    kept = [d for d in loops if not nest.red[d]]
    (red,) = [d for d in loops if nest.red[d]]
    fl = not isinstance(vt, ir.IntType)
    op = ">" if k.combiner == "argmax" else "<"

    def row(idx):
        inner = dict(idx)
        inner[red] = ir.Constant(S.I64, 0)
        b.store(value(inner), best)
        b.store(ir.Constant(S.I64, 0), where)

        def step(i):
            inner[red] = i
            arg_update(b, fl, op, value(inner), i, best, where)
        for_range(ctx, ir.Constant(S.I64, 1), ctx.q(nest.sizes[red]), step, "arg")
        res = b.load(where)
        ot = S.compute_type(k.out_dtype)
        res = b.trunc(res, ot) if ot.width < 64 else res
        b.store(res, b.gep(out_ptr, [_linear(ctx, nest, kept, idx)]))

    _nest_loops(ctx, nest, kept, lo, hi, row)
