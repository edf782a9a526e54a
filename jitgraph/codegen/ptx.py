"""PTX generation: the cpu backend's kernel IR (kernels.py) through LLVM's NVPTX target.

The same lowered Program the cpu backend builds (lower.py: kernels, copies, matmul calls,
cond/while) becomes one LLVM module for ``nvptx64-nvidia-cuda``: one ``ptx_kernel``
function per kernel step; the loop bodies are the cpu backend's (``loops.Evaluator`` and
the scalar emitters of scalar.py, vecmath.py for transcendental functions, so the GPU
computes the same polynomials with the same documented ulp bounds). Copies, cond and
while stay on the host (cuda.py).

Kernel ABI (every kernel): ``void k(i8* slot0, ..., i8* slotN, i64* params, i8* scratch,
i64 aux)``: one pointer per storage slot the kernel touches (``Launch.slots``; the arena is
one slot, arena buffers are offsets into it), the plan's quantities array in device
memory, a scratch buffer for partial results and one extra count.

Kernel kinds (``Launch.kind``):
  map     grid-stride loop over the output's linear index (unravelled over the nest);
          strided stores (slice updates) write through the kernel's out_strides
  serial  a scatter (out_index, optionally accumulating): one thread, in order, as the
          cpu backend defines duplicate indices
  arg     argmax/argmin: one thread per output scanning the reduced axis
  thread  reduction, one thread per output element looping over the reduced elements
          (when the innermost dim is kept: neighbouring threads read neighbouring words);
          few outputs over many rows split the rows over blockIdx.y (``aux`` splits),
          partials in scratch, and a second kernel (``Launch.final``) combines them
  block   reduction of the innermost dims, a block per output element: threads stride
          over the reduced elements, then a block tree reduction (warp shuffles, shared
          memory per warp); rows of at most ROW_WARP_MAX elements take a warp per output
          (``aux`` = 0; shuffles only)
  full    every dim reduced: blocks write partial results to scratch, a second
          one-block kernel (``Launch.final``) combines them (``aux`` = partial count)
  scan    cumsum/cumprod: a thread per row scanning along the axis (emit_scan); also
          the linalg kernels, a thread per matrix (emit_matrix)
  sort    sort/top_k: a thread per row sorting it (sorting.emit_sort_ptx)
  row     a row fusion (softmax, layer norm): a warp or a block per row runs the phases'
          reductions and the final map in one kernel (emit_row; ``aux`` = 0 warp, 1 block)
  gemm    float matmul: 64x64 tiles of C per block, 4x4 register tiles per thread, A and
          B staged through shared memory 16 deep (emit_gemm); grid z over the batch
  stack_row / stack_map  loop stacks (cuda_stacks.py): one bounds-checked row copied a
          byte a thread; an elementwise body over whole stacks (``aux`` elements)

Accuracy: the GPU runs the cpu backend's scalar code, so results match it: vecmath's
polynomials with their measured ulp bounds (vecmath.ACCURACY) for exp/log/tanh/...;
IEEE division and square root (div.rn, sqrt.rn); no fmul+fadd contraction into fma (the
NVPTX default without unsafe-fp-math; vecmath's error-free steps rely on it); float32
denormals kept (no ftz). Reductions combine in a different order (per-thread partials,
then a tree), so sums differ from the cpu's by rounding, as any two summation orders do.

Screening: LLVM's NVPTX backend aborts the process on operations it cannot select and
leaves calls to libm unresolved, so ``screen(program)`` rejects, before any LLVM code is
generated, every scalar lowering not in ``SELECTABLE`` and every host call other than
matmul and the loop stacks' steps, with an UnimplementedError naming the op and the user's line.

    mod, launches = build_module(program, qs, "sm_80")
    ptx = to_ptx(mod, "sm_80")
"""

import functools
from dataclasses import dataclass

import llvmlite.binding as llvm
import llvmlite.ir as ir

from .. import errors
from . import loops as L
from . import scalar as S
from .kernels import Apply, Phase, RowKernel, ScanKernel, SortKernel, dtype_of_expr, subexpressions

TRIPLE = "nvptx64-nvidia-cuda"
BLOCK = 256  # threads per block of map and reduction kernels on a GPU (any multiple of 32
# up to 1024 works: the kernels read blockDim; the emulator uses 64)
GEMM_TILE = 64  # gemm: each block computes a GEMM_TILE x GEMM_TILE tile of C,
GEMM_REG = 4  # each thread GEMM_REG x GEMM_REG of it in registers,
GEMM_K = 16  # staging GEMM_K columns of A / rows of B per step in shared memory
GEMM_THREADS = (GEMM_TILE // GEMM_REG) ** 2  # 256
# the float32 variant for grids that fill the device: 128x128 tiles of C, 8x8 accumulators
# per thread (4 fmas per shared-memory load instead of 2), staging 8 deep; 256 threads too
GEMM_BIG = (128, 8, 8, True)  # tile, reg, k depth, vector loads from shared memory
MAX_PARTIALS = 1024  # blocks of a full reduction (scratch holds one partial per block)
FULL_MASK = ir.Constant(S.I32, -1)
COMBINERS = frozenset({"add", "mul", "max", "min", "or", "and"})
ARG_COMBINERS = frozenset({"argmax", "argmin"})

# Scalar lowerings whose NVPTX code was checked to select and assemble (ptxas sm_80 and
# sm_90) for every dtype they accept; the screen below names any other (a lowering that
# calls libm, say, has no PTX body and would abort LLVM's instruction selection).
SELECTABLE = frozenset(S.EMITTERS)
NOT_SELECTABLE_WHY = {}

_INIT = False


def _init():
    global _INIT
    if not _INIT:
        llvm.initialize_all_targets()
        llvm.initialize_all_asmprinters()
        _INIT = True


def target_machine(arch="sm_80"):
    """An NVPTX TargetMachine for ``arch`` (e.g. "sm_80", "sm_90")."""
    _init()
    return llvm.Target.from_triple(TRIPLE).create_target_machine(cpu=arch, opt=3)


# ----------------------------------------------------------------------------- screening


def _screen_applies(k, bodies):
    for body in bodies:
        for a in subexpressions(body):
            if isinstance(a, Apply) and a.lower not in SELECTABLE and a.lower != "group":
                why = NOT_SELECTABLE_WHY.get(a.lower, "the NVPTX target has no lowering")
                raise errors.UnimplementedError(
                    f"the cuda backend cannot compile {a.lower!r} {_where(k)}: {why}; "
                    f"use backend='cpu' for this function")


def has_guard(k):
    """True when kernel ``k`` may store an error code in the status slot."""
    if getattr(k, "status_code", None) is not None:  # MatrixKernel
        return True
    return any(type(x).__name__ == "Guard" for x in subexpressions(k.body)) or (
        k.out_index is not None and any(type(x).__name__ == "Guard"
                                        for x in subexpressions(k.out_index)))


def _where(k):
    loc = f" ({errors.format_location(k.loc)})" if k.loc else ""
    return f"in kernel {k.name}{loc}"


def screen(steps):
    """Raises UnimplementedError for anything in ``steps`` the NVPTX target cannot compile;
    runs before LLVM sees the module (LLVM aborts the process on unselectable code)."""
    for step in steps:
        kind = step[0]
        if kind == "kernel" and isinstance(step[1], RowKernel):
            k = step[1]
            phases = k.phases + ([k.final] if isinstance(k.final, Phase) else [])
            for ph in phases:
                if ph.combiner not in COMBINERS:
                    raise errors.UnimplementedError(
                        f"the cuda backend has no {ph.combiner!r} reduction ({_where(k)}); "
                        f"use backend='cpu' for this function")
            bodies = [ph.body for ph in phases] + ([] if isinstance(k.final, Phase)
                                                   else [k.final])
            _screen_applies(k, bodies)
        elif kind == "kernel":
            k = step[1]
            if k.is_reduction and k.combiner not in COMBINERS | ARG_COMBINERS:
                raise errors.UnimplementedError(
                    f"the cuda backend has no {k.combiner!r} reduction ({_where(k)}); "
                    f"use backend='cpu' for this function")
            if k.is_reduction and (k.out_index is not None or k.out_strides is not None):
                raise errors.UnimplementedError(
                    f"the cuda backend cannot store a reduction through an index or strides "
                    f"({_where(k)}); use backend='cpu' for this function")
            _screen_applies(k, [k.body])
        elif kind == "call":
            if type(step[1]).__name__ == "MatmulCall":
                continue
            if type(step[1]).__name__ == "StackCall":
                from .cuda_stacks import screen as screen_stack

                screen_stack(step[1])
                continue
            if type(step[1]).__name__ == "PrintCall":  # print, write_summary: on the host
                continue
            raise errors.UnimplementedError(
                f"the cuda backend cannot run host call {type(step[1]).__name__} on the "
                f"device; use backend='cpu' for this function")
        elif kind in ("cond", "while"):
            for sub in step[2:4]:
                screen(sub)
        elif kind != "copy":
            raise errors.UnimplementedError(
                f"the cuda backend has no host rule for {kind!r} steps; use backend='cpu'")


# ----------------------------------------------------------------------------- kernel context


def slot_key(storage):
    """The kernel parameter a storage is reached through (all arena buffers share one; a
    loop stack's rows, the handle's)."""
    if storage.kind == "rows":
        return slot_key(storage.offset)
    return ("arena", 0) if storage.kind == "arena" else (storage.kind, storage.index)


class KernelCtx(L.FnCtx):
    """FnCtx whose storages are kernel parameters instead of a slot table."""

    def __init__(self, fn, keys, params):
        super().__init__(fn, None, params, None, None)
        self.args = dict(zip(keys, fn.args, strict=False))

    def raw(self, storage):
        key = id(storage)
        v = self.pcache.get(key)
        if v is None and storage.kind == "rows":  # a loop stack's rows (cuda_stacks.py)
            h = self.pb.bitcast(self.raw(storage.offset), L.I64P)
            v = self.pcache[key] = self.pb.inttoptr(self.pb.load(h), L.I8P)
        if v is None:
            v = self.args[slot_key(storage)]
            if storage.kind == "arena" and not (isinstance(storage.offset, int)
                                                and storage.offset == 0):
                v = self.pb.gep(v, [self.q(storage.offset)])
            self.pcache[key] = v
        return v

    def qv(self, x):
        """A quantity, or a ("mul", a, b) product of quantities, as an i64 value."""
        if isinstance(x, tuple):
            return self.pb.mul(self.qv(x[1]), self.qv(x[2]))
        return self.q(x)


def _sreg(b, name):
    fname = f"llvm.nvvm.read.ptx.sreg.{name}"
    fn = b.module.globals.get(fname) or ir.Function(b.module, ir.FunctionType(S.I32, []),
                                                    fname)
    return b.zext(b.call(fn, []), S.I64)


def _barrier(b):
    fname = "llvm.nvvm.barrier0"
    fn = b.module.globals.get(fname) or ir.Function(b.module, ir.FunctionType(
        ir.VoidType(), []), fname)
    b.call(fn, [])


def _new_kernel(module, name, keys):
    fty = ir.FunctionType(ir.VoidType(), [L.I8P] * len(keys) + [L.I64P, L.I8P, S.I64])
    fn = ir.Function(module, fty, name)
    fn.calling_convention = "ptx_kernel"
    for a, key in zip(fn.args, keys, strict=False):
        a.name = f"{key[0]}{key[1]}"
    params, scratch, aux = fn.args[len(keys):]
    params.name, scratch.name, aux.name = "params", "scratch", "aux"
    return fn, KernelCtx(fn, keys, params), scratch, aux


def stride_loop(ctx, start, end, step, body, name="t"):
    """``for t in range(start, end, step): body(t)`` (step > 0)."""
    L.for_range(ctx, start, end, body, name, step=step)


# batched_stride_loop's depth by a body's cost (expression nodes, a vecmath function
# VECMATH_COST, a special function SPECIAL_COST): up to 48, 4 iterations together; up to
# 128, 2; above, one (a body that long is compute-bound: batching buys nothing but code,
# and the PTX of every op case took 2.7 times as long for ptxas). A body that divides
# runs one at a time: on an H200, y = tanh(x) moved 0.65 of the copy bandwidth one at a
# time and 0.53 batched (each IEEE division has a slow-path call), where exp went from
# 0.64 to 0.80 and arithmetic chains from 0.67 to 0.83 (benchmarks/bench_cuda.py).
BATCH_DEPTHS = ((48, 4), (128, 2))
VECMATH_COST, SPECIAL_COST = 12, 1000
DIVIDING = frozenset({"divide", "floordiv", "mod", "reciprocal"})


@functools.lru_cache(maxsize=None)
def _vecmath_divides(name):
    """Whether vecmath's float32 ``name`` contains a division."""
    from . import vecmath

    m = ir.Module()
    fn = ir.Function(m, ir.FunctionType(S.F32, [S.F32] * 2), "f")
    b = ir.IRBuilder(fn.append_basic_block())
    nargs = 2 if name in ("atan2", "pow") else 1
    b.ret(vecmath.emit(b, name, list(fn.args)[:nargs], "float32"))
    return " fdiv " in str(m)


def batch_depth(*exprs):
    """How many iterations batched_stride_loop runs together for these bodies."""
    from . import special_math, vecmath

    cost = 0
    for e in exprs:
        for x in subexpressions(e):
            name = getattr(x, "lower", None)
            if name in DIVIDING or (name in vecmath.NAMES and _vecmath_divides(name)):
                return 1
            cost += SPECIAL_COST if name in special_math.NAMES else \
                VECMATH_COST if name in vecmath.NAMES else 1
    return next((d for limit, d in BATCH_DEPTHS if cost <= limit), 1)


def batched_stride_loop(ctx, start, end, step, value, consume, name="t", depth=4):
    """``for t in range(start, end, step): consume(t, value(t))``, ``depth`` iterations at
    a time: their values (loads and arithmetic; ``value`` stores nothing another
    iteration reads) are emitted before their consumes (stores, accumulations), so a
    thread has ``depth`` loads in flight instead of one. A grid-stride loop that waits a
    DRAM latency per element moves about a third of an H200's bandwidth. The remainder
    runs one at a time; consumes keep their order, so results are unchanged."""
    b = ctx.b
    if depth <= 1:
        stride_loop(ctx, start, end, step, lambda t: consume(t, value(t)), name)
        return

    def group(t):
        ts = [t] + [b.add(t, b.mul(step, ir.Constant(S.I64, j)), flags=("nsw",))
                    for j in range(1, depth)]
        vs = [value(u) for u in ts]
        for u, v in zip(ts, vs, strict=True):
            consume(u, v)

    last = b.sub(end, b.mul(step, ir.Constant(S.I64, depth - 1)))
    t = L.for_range(ctx, start, last, group, f"{name}{depth}",
                    step=b.mul(step, ir.Constant(S.I64, depth)))
    # t: where the batched loop stopped (start itself when it ran no group)
    stride_loop(ctx, t, end, step, lambda u: consume(u, value(u)), name)


def unravel(ctx, t, sizes):
    """Row-major indices of linear index ``t`` over loop extents ``sizes``."""
    b = ctx.b
    idx = [None] * len(sizes)
    for j in range(len(sizes) - 1, 0, -1):
        n = ctx.qv(sizes[j])
        idx[j] = b.urem(t, n)
        t = b.udiv(t, n)
    if sizes:
        idx[0] = t
    return idx


def _prod(ctx, sizes):
    v = ir.Constant(S.I64, 1)
    for s in sizes:
        v = ctx.pb.mul(v, ctx.qv(s))
    return v


def _qprod(sizes):
    out = 1
    for s in sizes:
        out = s * out if isinstance(s, int) and isinstance(out, int) else ("mul", out, s)
    return out


def _keys(k):
    loads = []
    L._collect_loads(k.body, loads, set())
    if k.out_index is not None:
        L._collect_loads(k.out_index, loads, set())
    keys = []
    for s in [ld.storage for ld in loads] + [k.out]:
        if slot_key(s) not in keys:
            keys.append(slot_key(s))
    if has_guard(k):
        keys.append(("status", 0))
    return keys


# ----------------------------------------------------------------------------- map kernels


@dataclass
class Launch:
    """How the host launches one kernel step (quantities are evaluated per plan)."""

    name: str
    kind: str  # map | serial | thread | block | full | arg | gemm
    slots: list  # slot keys in kernel-parameter order
    work: tuple  # map: (total,); reductions: (n_out, n_red); gemm: (m, n, batch)
    final: str | None = None  # second kernel of a full reduction
    big: str | None = None  # gemm: the GEMM_BIG variant (float32), for grids of many tiles


def emit_map(module, k):
    """Grid-stride map; a scatter (``out_index``: duplicates apply in order) runs as one
    thread ("serial") unless its indices are unique (``unique_index``), a strided store
    (``out_strides``) writes through its strides."""
    nest = L.make_nest(k, list(range(len(k.dims))))
    keys = _keys(k)
    fn, ctx, _, _ = _new_kernel(module, f"kernel_{k.name}", keys)
    b, pb = ctx.b, ctx.pb
    total = _prod(ctx, nest.sizes)
    scatter = k.out_index is not None
    serial = scatter and not k.unique_index
    if serial:
        gid, step = ir.Constant(S.I64, 0), ir.Constant(S.I64, 1)
    else:
        gid = pb.add(pb.mul(_sreg(pb, "ctaid.x"), _sreg(pb, "ntid.x")), _sreg(pb, "tid.x"))
        step = pb.mul(_sreg(pb, "nctaid.x"), _sreg(pb, "ntid.x"))
    out = ctx.ptr(k.out, k.out_dtype)

    if not scatter and k.out_strides is None:  # a plain map: batched loads
        batched_stride_loop(
            ctx, gid, total, step,
            lambda t: L.Evaluator(ctx, unravel(ctx, t, nest.sizes))(nest.body),
            lambda t, v: b.store(L.to_storage(b, v, k.out_dtype), b.gep(out, [t])),
            depth=batch_depth(nest.body))
        b.ret_void()
        ctx.finalize()
        return Launch(fn.name, "map", keys, (_qprod(nest.sizes),))

    def body(t):
        ev = L.Evaluator(ctx, unravel(ctx, t, nest.sizes))
        v = ev(nest.body)
        if scatter:
            p = b.gep(out, [ev(k.out_index)])
            if k.accumulate:
                v = S.emit(b, "add", [L.to_compute(b, b.load(p), k.out_dtype), v],
                           [k.out_dtype] * 2, k.out_dtype, {})
        else:  # a strided store
            p = b.gep(out, [ev.offset(k.out_strides, [k.out_offset])])
        b.store(L.to_storage(b, v, k.out_dtype), p)

    stride_loop(ctx, gid, total, step, body)
    b.ret_void()
    ctx.finalize()
    return Launch(fn.name, "serial" if serial else "map", keys, (_qprod(nest.sizes),))


# ----------------------------------------------------------------------------- reductions


def _shfl(b, v, offset):
    """``v`` from the lane ``lane ^ offset`` (llvm.nvvm.shfl.sync.bfly.i32)."""
    fname = "llvm.nvvm.shfl.sync.bfly.i32"
    fn = b.module.globals.get(fname) or ir.Function(
        b.module, ir.FunctionType(S.I32, [S.I32] * 4), fname)
    off, clamp = ir.Constant(S.I32, offset), ir.Constant(S.I32, 31)

    def one(x):
        return b.call(fn, [FULL_MASK, x, off, clamp])

    t = v.type
    if t == S.I1:
        return b.trunc(one(b.zext(v, S.I32)), S.I1)
    if t in (S.I32, S.F32):
        x = one(b.bitcast(v, S.I32) if t == S.F32 else v)
        return b.bitcast(x, S.F32) if t == S.F32 else x
    x = b.bitcast(v, S.I64) if t == S.F64 else v
    lo = one(b.trunc(x, S.I32))
    hi = one(b.trunc(b.lshr(x, ir.Constant(S.I64, 32)), S.I32))
    r = b.or_(b.zext(lo, S.I64), b.shl(b.zext(hi, S.I64), ir.Constant(S.I64, 32)))
    return b.bitcast(r, S.F64) if t == S.F64 else r


def _warp_reduce(b, k, v):
    for off in (16, 8, 4, 2, 1):
        v = L.combine(b, k, v, _shfl(b, v, off))
    return v


def _shared(module, name, ty, n):
    g = ir.GlobalVariable(module, ir.ArrayType(ty, n), name, addrspace=3)
    g.linkage = "internal"
    g.initializer = ir.Constant(ir.ArrayType(ty, n), ir.Undefined)
    g.align = 8
    return g


def block_reduce(ctx, k, acc, smem):
    """Combines ``acc`` over the block (blockDim.x a multiple of 32, at most 1024); the
    result is valid in thread 0. Every thread of the block must call it."""
    b = ctx.b
    tid = b.trunc(_sreg(b, "tid.x"), S.I32)
    nwarps = b.lshr(b.trunc(_sreg(b, "ntid.x"), S.I32), ir.Constant(S.I32, 5))
    lane = b.and_(tid, ir.Constant(S.I32, 31))
    warp = b.lshr(tid, ir.Constant(S.I32, 5))
    v = _warp_reduce(b, k, acc)
    zero = ir.Constant(S.I32, 0)
    slot = b.gep(smem, [zero, warp])
    with b.if_then(b.icmp_unsigned("==", lane, zero)):
        b.store(_to_mem(b, v), slot)
    _barrier(b)
    mine = _from_mem(b, b.load(b.gep(smem, [zero, lane])), acc.type)
    v = b.select(b.icmp_unsigned("<", lane, nwarps), mine, L.identity(k))
    v = _warp_reduce(b, k, v)
    _barrier(b)  # smem may be written again by the next output's reduction
    return v


def _to_mem(b, v):
    return b.zext(v, S.I8) if v.type == S.I1 else v


def _from_mem(b, v, ty):
    return b.trunc(v, S.I1) if ty == S.I1 else v


def _mem_type(ty):
    return S.I8 if ty == S.I1 else ty


def _reduce_strategy(k):
    if k.combiner in ARG_COMBINERS:
        return "arg"
    if len(k.reduce_axes) == len(k.dims):
        return "full"
    if (len(k.dims) - 1) not in k.reduce_axes:
        return "thread"
    return "block"


def emit_reduce(module, k):
    rank = len(k.dims)
    red = set(k.reduce_axes)
    order = [d for d in range(rank) if d not in red] + [d for d in range(rank) if d in red]
    nest = L.make_nest(k, order)
    kept = [s for s, r in zip(nest.sizes, nest.red, strict=False) if not r]
    reds = [s for s, r in zip(nest.sizes, nest.red, strict=False) if r]
    strategy = _reduce_strategy(k)
    keys = _keys(k)
    name = f"kernel_{k.name}"
    fn, ctx, scratch, aux = _new_kernel(module, name, keys)
    b, pb = ctx.b, ctx.pb
    at = L.acc_type(k)
    n_out, n_red = _prod(ctx, kept), _prod(ctx, reds)
    tid, ntid = _sreg(pb, "tid.x"), _sreg(pb, "ntid.x")
    bid, nbid = _sreg(pb, "ctaid.x"), _sreg(pb, "nctaid.x")
    out = ctx.ptr(k.out, k.out_dtype)
    acc = pb.alloca(at)
    smem = _shared(module, f"smem_{k.name}", _mem_type(at), 32) \
        if strategy in ("block", "full") else None

    def value(o, r):
        idx = unravel(ctx, o, kept) + unravel(ctx, r, reds) if kept else unravel(ctx, r, reds)
        x = L.Evaluator(ctx, idx)(nest.body)
        return b.sext(x, at) if x.type != at else x

    depth = batch_depth(nest.body)

    def accumulate(o, start, end, step):
        """acc = combine(acc, value(o, r)) for r in range(start, end, step)."""
        batched_stride_loop(ctx, start, end, step, lambda r: value(o, r),
                            lambda r, x: b.store(L.combine(b, k, b.load(acc), x), acc),
                            "r", depth)

    def store(o, v):
        v = L.finish(b, k, v, n_red)
        b.store(L.to_storage(b, v, k.out_dtype), b.gep(out, [o]))

    zero = ir.Constant(S.I64, 0)
    if strategy == "arg":
        _arg_rows(ctx, k, nest, kept, reds, out, pb.add(pb.mul(bid, ntid), tid),
                  n_out, pb.mul(nbid, ntid))
    elif strategy == "thread":
        # blockIdx.y = s of aux splits: thread o reduces rows [s*chunk, (s+1)*chunk) of
        # output o; with one split it stores the result, else its partial in scratch
        # (split-major) for the final kernel
        split = _sreg(pb, "ctaid.y")
        chunk = pb.udiv(pb.add(n_red, pb.sub(aux, ir.Constant(S.I64, 1))), aux)
        lo = S.intrinsic(pb, "umin", [pb.mul(split, chunk), n_red])
        hi = S.intrinsic(pb, "umin", [pb.add(lo, chunk), n_red])
        part = pb.bitcast(scratch, _mem_type(at).as_pointer())
        whole = pb.icmp_unsigned("==", aux, ir.Constant(S.I64, 1))

        def per_output(o):
            b.store(L.identity(k), acc)
            accumulate(o, lo, hi, ir.Constant(S.I64, 1))
            with b.if_else(whole) as (one, many):
                with one:
                    store(o, b.load(acc))
                with many:
                    b.store(_to_mem(b, b.load(acc)),
                            b.gep(part, [b.add(b.mul(split, n_out), o)]))
        stride_loop(ctx, pb.add(pb.mul(bid, ntid), tid), n_out, pb.mul(nbid, ntid),
                    per_output, "o")
    elif strategy == "block":
        # aux 0: a warp per output (rows of at most ROW_WARP_MAX), else a block per output
        def per_block(o):
            b.store(L.identity(k), acc)
            accumulate(o, tid, n_red, ntid)
            v = block_reduce(ctx, k, b.load(acc), smem)
            with b.if_then(b.icmp_unsigned("==", tid, zero)):
                store(o, v)

        def per_warp(o):
            b.store(L.identity(k), acc)
            accumulate(o, lane, n_red, ir.Constant(S.I64, 32))
            v = _warp_reduce(b, k, b.load(acc))
            with b.if_then(b.icmp_unsigned("==", lane, zero)):
                store(o, v)

        with b.if_else(b.icmp_unsigned("==", aux, zero)) as (by_warp, by_block):
            with by_warp:
                lane = b.and_(tid, ir.Constant(S.I64, 31))
                gw = b.lshr(b.add(b.mul(bid, ntid), tid), ir.Constant(S.I64, 5))
                nw = b.lshr(b.mul(nbid, ntid), ir.Constant(S.I64, 5))
                stride_loop(ctx, gw, n_out, nw, per_warp, "o")
            with by_block:
                stride_loop(ctx, bid, n_out, nbid, per_block, "o")
    else:
        b.store(L.identity(k), acc)
        accumulate(zero, pb.add(pb.mul(bid, ntid), tid), n_red, pb.mul(nbid, ntid))
        v = block_reduce(ctx, k, b.load(acc), smem)
        part = b.bitcast(scratch, _mem_type(at).as_pointer())
        with b.if_then(b.icmp_unsigned("==", tid, zero)):
            b.store(_to_mem(b, v), b.gep(part, [bid]))
    b.ret_void()
    ctx.finalize()
    final = _emit_full_final(module, k, keys, reds, smem) if strategy == "full" else \
        _emit_split_final(module, k, keys, kept, reds) if strategy == "thread" else None
    return Launch(fn.name, strategy, keys, (_qprod(kept), _qprod(reds)), final)


def _emit_split_final(module, k, keys, kept, reds):
    """A thread per output combining the ``aux`` partials of a split "thread" reduction
    (scratch, split-major) into the output."""
    fn, ctx, scratch, aux = _new_kernel(module, f"kernel_{k.name}_final", keys)
    b, pb = ctx.b, ctx.pb
    at = L.acc_type(k)
    acc = pb.alloca(at)
    n_out = _prod(ctx, kept)
    part = pb.bitcast(scratch, _mem_type(at).as_pointer())
    out = ctx.ptr(k.out, k.out_dtype)

    def per_output(o):
        b.store(L.identity(k), acc)

        def step(s):
            x = _from_mem(b, b.load(b.gep(part, [b.add(b.mul(s, n_out), o)])), at)
            b.store(L.combine(b, k, b.load(acc), x), acc)

        stride_loop(ctx, ir.Constant(S.I64, 0), aux, ir.Constant(S.I64, 1), step, "s")
        v = L.finish(b, k, b.load(acc), _prod(ctx, reds))
        b.store(L.to_storage(b, v, k.out_dtype), b.gep(out, [o]))

    tid, ntid = _sreg(pb, "tid.x"), _sreg(pb, "ntid.x")
    bid, nbid = _sreg(pb, "ctaid.x"), _sreg(pb, "nctaid.x")
    stride_loop(ctx, pb.add(pb.mul(bid, ntid), tid), n_out, pb.mul(nbid, ntid), per_output,
                "o")
    b.ret_void()
    ctx.finalize()
    return fn.name


def _arg_rows(ctx, k, nest, kept, reds, out, start, n_out, step):
    """argmax/argmin, one thread per output: the first extreme value wins and NaN counts
    as extreme (loops._emit_arg's rule)."""
    b = ctx.b
    vt = S.compute_type(dtype_of_expr(nest.body))
    best, where = ctx.pb.alloca(vt), ctx.pb.alloca(S.I64)
    fl = not isinstance(vt, ir.IntType)
    op = ">" if k.combiner == "argmax" else "<"
    (n_red,) = reds

    def row(o):
        def value(i):
            return L.Evaluator(ctx, unravel(ctx, o, kept) + [i])(nest.body)

        b.store(value(ir.Constant(S.I64, 0)), best)
        b.store(ir.Constant(S.I64, 0), where)

        def step_(i):
            L.arg_update(b, fl, op, value(i), i, best, where)

        stride_loop(ctx, ir.Constant(S.I64, 1), ctx.qv(n_red), ir.Constant(S.I64, 1), step_,
                    "arg")
        res = b.load(where)
        ot = S.compute_type(k.out_dtype)
        b.store(b.trunc(res, ot) if ot.width < 64 else res, b.gep(out, [o]))

    stride_loop(ctx, start, n_out, step, row, "o")


def _emit_full_final(module, k, keys, reds, smem):
    """One block combining the ``aux`` partials in scratch into the output."""
    fn, ctx, scratch, aux = _new_kernel(module, f"kernel_{k.name}_final", keys)
    b, pb = ctx.b, ctx.pb
    at = L.acc_type(k)
    acc = pb.alloca(at)
    tid, ntid = _sreg(pb, "tid.x"), _sreg(pb, "ntid.x")
    part = pb.bitcast(scratch, _mem_type(at).as_pointer())
    b.store(L.identity(k), acc)

    def step(i):
        x = _from_mem(b, b.load(b.gep(part, [i])), at)
        b.store(L.combine(b, k, b.load(acc), x), acc)

    stride_loop(ctx, tid, aux, ntid, step, "p")
    v = block_reduce(ctx, k, b.load(acc), smem)
    with b.if_then(b.icmp_unsigned("==", tid, ir.Constant(S.I64, 0))):
        v = L.finish(b, k, v, _prod(ctx, reds))
        b.store(L.to_storage(b, v, k.out_dtype), ctx.ptr(k.out, k.out_dtype))
    b.ret_void()
    ctx.finalize()
    return fn.name


# ----------------------------------------------------------------------------- scans


def emit_scan(module, k):
    """cumsum/cumprod (ScanKernel): a thread per row, scanning along the axis in order
    (scans.scan_row, the cpu backend's loop)."""
    from .scans import scan_row

    keys = _keys(k)
    fn, ctx, _, _ = _new_kernel(module, f"kernel_{k.name}", keys)
    pb = ctx.pb
    out = ctx.ptr(k.out, k.out_dtype)
    acc = pb.alloca(L.acc_type(k))
    others = k.dims[:k.axis] + k.dims[k.axis + 1:]
    start = pb.add(pb.mul(_sreg(pb, "ctaid.x"), _sreg(pb, "ntid.x")), _sreg(pb, "tid.x"))
    step = pb.mul(_sreg(pb, "nctaid.x"), _sreg(pb, "ntid.x"))
    stride_loop(ctx, start, _prod(ctx, others), step,
                lambda row: scan_row(ctx, k, row, out, acc), "row")
    ctx.b.ret_void()
    ctx.finalize()
    return Launch(fn.name, "scan", keys, (_qprod(others), k.dims[k.axis]))


def _emit_sort(module, k):
    from .sorting import emit_sort_ptx

    return emit_sort_ptx(module, k)


def emit_matrix(module, k):
    """A MatrixKernel (cholesky, solves, LU): a thread per matrix running the cpu
    backend's per-matrix code (linalg_kernels.matrix_task) in a grid-stride loop."""
    from .linalg_kernels import matrix_task

    keys = _keys(k)
    fn, ctx, _, _ = _new_kernel(module, f"kernel_{k.name}", keys)
    pb = ctx.pb
    acc = pb.alloca(S.storage_type(k.out_dtype))
    start = pb.add(pb.mul(_sreg(pb, "ctaid.x"), _sreg(pb, "ntid.x")), _sreg(pb, "tid.x"))
    step = pb.mul(_sreg(pb, "nctaid.x"), _sreg(pb, "ntid.x"))
    stride_loop(ctx, start, ctx.q(k.dims[0]), step,
                lambda m: matrix_task(ctx, k, m, acc), "matrix")
    ctx.b.ret_void()
    ctx.finalize()
    return Launch(fn.name, "scan", keys, (k.dims[0], k.n))


# ----------------------------------------------------------------------------- rows


ROW_WARP_MAX = 1024  # rows of at most this many elements: one warp per row, else a block


def emit_row(module, k):
    """A row fusion (RowKernel: softmax, log-softmax, layer norm, cross entropy): for each
    outer index the phases' reductions run back to back over the row, each result
    combined across the row's threads and handed to every thread, then the final map
    writes the row (or the final reduction its one value). One kernel, so the row is read
    from DRAM once (the later phases find it in L1/L2) and nothing goes through memory.

    ``aux`` picks who shares a row (chosen per plan by the row's length): 0, a warp (rows
    of at most ROW_WARP_MAX elements: shuffles only, several rows per block); 1, a block
    (block_reduce, the result broadcast through shared memory)."""
    from .rows import RowEvaluator

    keys = _keys(k)
    fn, ctx, _, aux = _new_kernel(module, f"kernel_{k.name}", keys)
    b, pb = ctx.b, ctx.pb
    r0 = min(k.reduce_axes)
    outer, inner = k.dims[:r0], k.dims[r0:]
    final_red = isinstance(k.final, Phase)
    phases = k.phases + ([k.final] if final_red else [])
    out = ctx.ptr(k.out, k.out_dtype)
    n_outer, n_inner = _prod(ctx, outer), _prod(ctx, inner)
    accs = [pb.alloca(L.acc_type(ph)) for ph in phases]
    smems = [_shared(module, f"smem_{k.name}_{j}", _mem_type(L.acc_type(ph)), 33)
             for j, ph in enumerate(phases)]
    tid, ntid = _sreg(pb, "tid.x"), _sreg(pb, "ntid.x")
    bid, nbid = _sreg(pb, "ctaid.x"), _sreg(pb, "nctaid.x")
    c64 = lambda v: ir.Constant(S.I64, v)  # noqa: E731
    i32z = ir.Constant(S.I32, 0)

    def warp_all(ph, j, v):
        return _warp_reduce(b, ph, v)  # butterfly: every lane holds the result

    def block_all(ph, j, v):
        v = block_reduce(ctx, ph, v, smems[j])
        slot = b.gep(smems[j], [i32z, ir.Constant(S.I32, 32)])
        with b.if_then(b.icmp_unsigned("==", tid, c64(0))):
            b.store(_to_mem(b, v), slot)
        _barrier(b)
        return _from_mem(b, b.load(slot), v.type)

    def row(o, start, step, combine_all, first):
        oidx = unravel(ctx, o, outer)
        rowvals = {}
        for j, ph in enumerate(phases):
            n_ph = _prod(ctx, ph.inner)
            b.store(L.identity(ph), accs[j])

            batched_stride_loop(
                ctx, start, n_ph, step,
                lambda r, ph=ph: RowEvaluator(ctx, oidx + unravel(ctx, r, ph.inner),
                                              rowvals)(ph.body),
                lambda r, x, ph=ph, j=j: b.store(L.combine(b, ph, b.load(accs[j]), x),
                                                 accs[j]),
                f"ph{j}", batch_depth(ph.body))
            v = combine_all(ph, j, b.load(accs[j]))
            rowvals[j] = L.finish(b, ph, v, n_ph if ph.mean else None)
        if final_red:
            with b.if_then(first):
                b.store(L.to_storage(b, rowvals[len(phases) - 1], k.out_dtype),
                        b.gep(out, [o]))
            return
        base = b.mul(o, n_inner)

        batched_stride_loop(
            ctx, start, n_inner, step,
            lambda r: RowEvaluator(ctx, oidx + unravel(ctx, r, inner), rowvals)(k.final),
            lambda r, v: b.store(L.to_storage(b, v, k.out_dtype), b.gep(out, [b.add(base, r)])),
            "el", batch_depth(k.final))

    with b.if_else(b.icmp_unsigned("==", aux, c64(0))) as (by_warp, by_block):
        with by_warp:
            lane = b.and_(tid, c64(31))
            gw = b.lshr(b.add(b.mul(bid, ntid), tid), c64(5))
            nw = b.lshr(b.mul(nbid, ntid), c64(5))
            stride_loop(ctx, gw, n_outer, nw,
                        lambda o: row(o, lane, c64(32), warp_all,
                                      b.icmp_unsigned("==", lane, c64(0))), "row")
        with by_block:
            stride_loop(ctx, bid, n_outer, nbid,
                        lambda o: row(o, tid, ntid, block_all,
                                      b.icmp_unsigned("==", tid, c64(0))), "row")
    b.ret_void()
    ctx.finalize()
    work = (_qprod(outer), _qprod(inner))
    return Launch(fn.name, "row", keys, work)


# ----------------------------------------------------------------------------- gemm


def emit_gemm(module, call, name):
    """The gemm kernel of ``call`` and, for float32, its GEMM_BIG variant (``name_big``):
    the host launches the big one when its tiles fill the device's multiprocessors."""
    launch = _emit_gemm(module, call, name, GEMM_TILE, GEMM_REG, GEMM_K, False)
    if S.compute_type(call.dtype) == S.F32:
        launch.big = _emit_gemm(module, call, f"{name}_big", *GEMM_BIG).name
    return launch


def _emit_gemm(module, call, name, tile, reg, kt, vec):
    """C[z] = op(A[z]) @ op(B[z]) for float32/float64 (MatmulCall fields, linalg.py).

    One block of GEMM_THREADS (256) threads computes a GEMM_TILE x GEMM_TILE (64 x 64)
    tile of C; each thread keeps GEMM_REG x GEMM_REG (4 x 4) accumulators in registers,
    for rows ``ty + 16 i`` and columns ``tx + 16 j`` (tx = tid % 16, ty = tid / 16: a warp
    reads 16 consecutive B values and broadcasts 2 A values, and stores 16 consecutive
    words of C per row). Per step of GEMM_K (16) along k the block stages an A tile
    (64 x 16) and a B tile (16 x 64) in shared memory, 4 elements per thread with
    consecutive threads on consecutive addresses of A and B whichever operand is
    transposed; rows of the staged tiles are padded to 65 words so the transposing
    stores do not hit one bank. Elements past m, n or k load as 0. Grid: (n/64, m/64,
    batch); blocks stride over the batch in z.

    ``vec`` (GEMM_BIG: 128 x 128 tiles, 8 x 8 per thread, 8 deep): a thread's rows are
    ``ty * 4 + i`` and ``64 + ty * 4 + i`` (i < 4), its columns likewise, so each step
    reads them as four 16-byte vectors (ld.shared.v4) instead of sixteen words; eight
    neighbouring threads read 128 consecutive bytes, one wavefront. Rows of the staged
    tiles are padded to tile + 4 words, keeping every vector 16-byte aligned."""
    keys = []
    for s in (call.sa, call.sb, call.out):
        if slot_key(s) not in keys:
            keys.append(slot_key(s))
    fn, ctx, _, _ = _new_kernel(module, name, keys)
    b, pb = ctx.b, ctx.pb
    T = S.compute_type(call.dtype)
    pad = tile + (4 if vec else 1)
    threads = (tile // reg) ** 2
    As = _shared(module, f"{name}_a", T, kt * pad)  # As[kk * pad + row]
    Bs = _shared(module, f"{name}_b", T, kt * pad)  # Bs[kk * pad + col]
    if vec:
        As.align = Bs.align = 16
        # two blocks per multiprocessor: ptxas keeps the kernel within 128 registers (it
        # took 163 unbounded, hoisting a whole staged step's loads: one block, 8 warps)
        for key, v in (("maxntidx", threads), ("minctasm", 2)):
            module.add_named_metadata("nvvm.annotations", [
                fn, ir.MetaDataString(module, key), ir.Constant(S.I32, v)])
    m, n, kk = ctx.q(call.m), ctx.q(call.n), ctx.q(call.k)
    lda, ldb = ctx.q(call.lda), ctx.q(call.ldb)
    pa, pbb, pc = (ctx.ptr(s, call.dtype) for s in (call.sa, call.sb, call.out))

    def c64(v):
        return ir.Constant(S.I64, v)

    tid = _sreg(pb, "tid.x")
    side = tile // reg  # 16 threads along each edge of the tile
    assert not vec or (reg == 8 and side * 4 == tile // 2 and pad % 4 == 0)
    tx, ty = pb.urem(tid, c64(side)), pb.udiv(tid, c64(side))
    row0 = pb.mul(_sreg(pb, "ctaid.y"), c64(tile))
    col0 = pb.mul(_sreg(pb, "ctaid.x"), c64(tile))
    nbatch = _prod(ctx, call.batch)
    zero_t = ir.Constant(T, 0.0)
    i32z = ir.Constant(S.I32, 0)
    accs = [pb.alloca(T, name=f"acc{i}") for i in range(reg * reg)]
    ntiles = pb.udiv(pb.add(kk, c64(kt - 1)), c64(kt))
    per_thread = tile * kt // threads  # elements of each staged tile per thread

    def load_or_zero(ok, ptr, off):
        with b.if_else(ok) as (yes, no):
            with yes:
                blk_yes = b.block
                v_yes = b.load(b.gep(ptr, [off]))
            with no:
                blk_no = b.block
        phi = b.phi(T)
        phi.add_incoming(v_yes, blk_yes)
        phi.add_incoming(zero_t, blk_no)
        return phi

    def shared(arr, idx):
        return b.gep(arr, [i32z, idx])

    def own(t, base, i):
        """base + the tile index of a thread's i-th row (t = ty) or column (t = tx)."""
        if vec:
            return b.add(base, b.add(b.mul(t, c64(4)), c64(i // 4 * (tile // 2) + i % 4)))
        return b.add(base, b.add(t, c64(side * i)))

    def vload(arr, idx):
        """The four values at arr[idx:idx + 4] (idx a multiple of 4) in one load."""
        vt = ir.VectorType(T, 4)
        v = b.load(b.bitcast(shared(arr, idx), vt.as_pointer(3)), align=16)
        return [b.extract_element(v, ir.Constant(S.I32, q)) for q in range(4)]

    def per_batch(z):
        bidx = unravel(ctx, z, call.batch)
        a_off, b_off = c64(0), c64(0)
        for i, sa, sb in zip(bidx, call.a_bs, call.b_bs, strict=False):
            a_off = b.add(a_off, b.mul(i, ctx.q(sa)))
            b_off = b.add(b_off, b.mul(i, ctx.q(sb)))
        c_off = b.mul(z, b.mul(m, n))
        for acc in accs:
            b.store(zero_t, acc)

        def stage(ptr, off, ld, trans, rows, cols, r0, c0, nr, nc, smem, at):
            """Copies the rows x cols tile at (r0, c0) of op(X) (nr x nc, zero outside)
            into shared memory at ``at(r, c)``; consecutive threads read consecutive
            addresses of X: along rows when X is stored transposed, else along columns."""
            for q in range(per_thread):
                e = b.add(tid, c64(q * threads))
                if trans:
                    r, c = b.urem(e, c64(rows)), b.udiv(e, c64(rows))
                else:
                    r, c = b.udiv(e, c64(cols)), b.urem(e, c64(cols))
                gr, gc = b.add(r0, r), b.add(c0, c)
                ok = b.and_(b.icmp_signed("<", gr, nr), b.icmp_signed("<", gc, nc))
                addr = b.add(b.mul(gc, ld), gr) if trans else b.add(b.mul(gr, ld), gc)
                b.store(load_or_zero(ok, ptr, b.add(off, addr)), shared(smem, at(r, c)))

        def per_tile(t):
            k0 = b.mul(t, c64(kt))
            stage(pa, a_off, lda, call.ta, tile, kt, row0, k0, m, kk, As,
                  lambda r, c: b.add(b.mul(c, c64(pad)), r))
            stage(pbb, b_off, ldb, call.tb, kt, tile, k0, col0, kk, n, Bs,
                  lambda r, c: b.add(b.mul(r, c64(pad)), c))
            _barrier(b)
            acc = [b.load(a) for a in accs]
            for k in range(kt):
                if vec:
                    xs = [x for h in (0, tile // 2) for x in vload(As, b.add(
                        b.mul(ty, c64(4)), c64(k * pad + h)))]
                    ys = [y for h in (0, tile // 2) for y in vload(Bs, b.add(
                        b.mul(tx, c64(4)), c64(k * pad + h)))]
                else:
                    xs = [b.load(shared(As, own(ty, c64(k * pad), i))) for i in range(reg)]
                    ys = [b.load(shared(Bs, own(tx, c64(k * pad), j))) for j in range(reg)]
                acc = [S.intrinsic(b, "fma", [xs[i], ys[j], acc[i * reg + j]])
                       for i in range(reg) for j in range(reg)]
            for a, v in zip(accs, acc, strict=True):
                b.store(v, a)
            _barrier(b)

        stride_loop(ctx, c64(0), ntiles, c64(1), per_tile, "kt")
        for i in range(reg):
            r = own(ty, row0, i)
            for j in range(reg):
                c = own(tx, col0, j)
                ok = b.and_(b.icmp_signed("<", r, m), b.icmp_signed("<", c, n))
                with b.if_then(ok):
                    b.store(b.load(accs[i * reg + j]),
                            b.gep(pc, [b.add(c_off, b.add(b.mul(r, n), c))]))

    stride_loop(ctx, _sreg(pb, "ctaid.z"), nbatch, _sreg(pb, "nctaid.z"), per_batch, "z")
    b.ret_void()
    ctx.finalize()
    return Launch(name, "gemm", keys, (call.m, call.n, _qprod(call.batch)))


# ----------------------------------------------------------------------------- module


def build_module(program, name="jitgraph", module=None, prefix=""):
    """The NVPTX ``ir.Module`` for ``program`` and the launch of each device step:
    ``{id(step_payload): Launch}`` for kernel steps and matmul calls. With ``module``,
    the kernels are added to it, their names starting with ``prefix``."""
    screen(program.steps)
    m = module if module is not None else ir.Module(name=name)
    m.triple = TRIPLE
    launches = {}
    counter = [0]

    def walk(steps):
        for step in steps:
            kind = step[0]
            if kind == "kernel":
                k = step[1]
                if prefix and not k.name.startswith(prefix):
                    k.name = prefix + k.name
                emit = emit_row if isinstance(k, RowKernel) else \
                    emit_scan if isinstance(k, ScanKernel) else \
                    _emit_sort if isinstance(k, SortKernel) else \
                    emit_matrix if getattr(k, "algo", None) else \
                    emit_reduce if k.is_reduction else emit_map
                launches[id(k)] = emit(m, k)
            elif kind == "call" and type(step[1]).__name__ == "StackCall":
                from .cuda_stacks import emit as emit_stack

                counter[0] += 1
                la = emit_stack(m, step[1], f"{prefix}stack_{step[1].kind}_{counter[0]}")
                if la is not None:
                    launches[id(step[1])] = la
            elif kind == "call" and type(step[1]).__name__ == "PrintCall":
                continue  # a host call: no device code (cuda.py runs it on the host)
            elif kind == "call":
                counter[0] += 1
                launches[id(step[1])] = emit_gemm(m, step[1], f"{prefix}gemm_{counter[0]}")
            elif kind in ("cond", "while"):
                walk(step[2])
                walk(step[3])

    walk(program.steps)
    return m, launches


def optimize(module, arch="sm_80"):
    """Parses, verifies and optimizes (O3) the module for ``arch``; returns a ModuleRef."""
    tm = target_machine(arch)
    mod = llvm.parse_assembly(str(module))
    mod.triple = TRIPLE
    mod.data_layout = str(tm.target_data)
    mod.verify()
    pto = llvm.create_pipeline_tuning_options(speed_level=3)
    pb = llvm.create_pass_builder(tm, pto)
    pb.getModulePassManager().run(mod, pb)
    return mod


def to_ptx(module, arch="sm_80"):
    """PTX text of ``module`` (an ``ir.Module``) for ``arch``."""
    return target_machine(arch).emit_assembly(optimize(module, arch))


__all__ = ["build_module", "to_ptx", "optimize", "screen", "Launch", "SELECTABLE",
           "target_machine", "TRIPLE", "BLOCK", "GEMM_TILE", "GEMM_THREADS", "MAX_PARTIALS",
           "slot_key"]
