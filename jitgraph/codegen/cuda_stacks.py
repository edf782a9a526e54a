"""Loop stacks on the cuda backend: the ("call", StackCall) steps of stack_ops.py (the
per-iteration state of ``while_loop`` gradients) as host steps and device kernels.

A stack's storage is the cpu backend's 16-byte handle ``(i64 rows, i64 n)`` in the device
arena; its rows live in a zeroed block of device memory (cuda_memory.py's pool) that the
host allocates when it runs the step, sized from the trip count it reads back, and drops
when the call returns (no stack outlives a call).

    alloc   host: reads n (one synchronizing read), allocates and zeroes n rows, writes
            the handle; n < 0 or no memory: status 4 and a stack of no rows
    clone   host: reads the source handle, allocates, copies the rows device to device
    write   kernel (``stack_row``): loads the handle and the index on the device, checks
    read    0 <= i < n (else status 3, no memory touched) and copies one row, a byte a
            thread in a grid-stride loop; no host round trip
    map     host reads the stacks' handles (rows must agree, else status 3), allocates
            the result, then a kernel (``stack_map``) computes the elementwise body over
            n * row_elems elements (``aux`` is that count)

Statuses go where the backend's kernels put theirs (the ("status", 0) slot), so
CudaExecutable._check_status raises them as the cpu backend does.
"""

import llvmlite.ir as ir
import numpy as np

from .. import errors
from . import loops as L
from . import ptx as P
from . import scalar as S
from .stack_ops import ALLOC_STATUS, ROW_STATUS, StackCall

STATUS = ("status", 0)


def is_stack_call(call):
    return isinstance(call, StackCall)


# ----------------------------------------------------------------------------- device code


def emit(module, call, name):
    """The Launch of a StackCall's kernel, or None for the host-only kinds."""
    if call.kind in ("write", "read"):
        return _emit_row(module, call, name)
    if call.kind == "map":
        return _emit_map(module, call, name)
    return None


def _keys(storages):
    keys = []
    for s in storages:
        if P.slot_key(s) not in keys:
            keys.append(P.slot_key(s))
    return keys


def _handle(ctx, storage):
    b = ctx.b
    h = b.bitcast(ctx.raw(storage), L.I64P)
    return b.inttoptr(b.load(h), L.I8P), b.load(b.gep(h, [ir.Constant(S.I64, 1)]))


def _thread(ctx):
    pb = ctx.pb
    gid = pb.add(pb.mul(P._sreg(pb, "ctaid.x"), P._sreg(pb, "ntid.x")), P._sreg(pb, "tid.x"))
    return gid, pb.mul(P._sreg(pb, "nctaid.x"), P._sreg(pb, "ntid.x"))


def _emit_row(module, call, name):
    """stack_write (row i of the stack <- x) or stack_read (out <- row i), bounds-checked."""
    other = call.x if call.kind == "write" else call.out
    keys = _keys([call.buf, call.i, other]) + [STATUS]
    fn, ctx, _, _ = P._new_kernel(module, name, keys)
    b = ctx.b
    rows, n = _handle(ctx, call.buf)
    i = b.load(ctx.ptr(call.i, call.i_dtype))
    if i.type != S.I64:
        i = b.sext(i, S.I64)
    gid, step = _thread(ctx)
    row_bytes = ctx.qv(call.row_bytes)
    ok = b.and_(b.icmp_signed(">=", i, ir.Constant(S.I64, 0)), b.icmp_signed("<", i, n))
    with b.if_else(ok) as (good, bad):
        with good:
            row = b.gep(rows, [b.mul(i, row_bytes)])
            plain = ctx.raw(other)
            src, dst = (plain, row) if call.kind == "write" else (row, plain)
            P.stride_loop(ctx, gid, row_bytes, step,
                          lambda t: b.store(b.load(b.gep(src, [t])), b.gep(dst, [t])), "byte")
        with bad:
            with b.if_then(b.icmp_unsigned("==", gid, ir.Constant(S.I64, 0))):
                ctx.set_status(b, ROW_STATUS)
    b.ret_void()
    ctx.finalize()
    return P.Launch(fn.name, "stack_row", keys, (call.row_bytes,))


def _emit_map(module, call, name):
    """Elementwise body over whole stacks: ``aux`` elements (n rows * row_elems)."""
    k = call.kernel
    loads = []
    L._collect_loads(k.body, loads, set())
    keys = _keys([ld.storage for ld in loads] + [call.out])
    if P.has_guard(k):
        keys.append(STATUS)
    fn, ctx, _, aux = P._new_kernel(module, name, keys)
    b = ctx.b
    out = ctx.ptr(k.out, k.out_dtype)
    gid, step = _thread(ctx)

    def body(t):
        v = L.Evaluator(ctx, [t])(k.body)
        b.store(L.to_storage(b, v, k.out_dtype), b.gep(out, [t]))

    P.stride_loop(ctx, gid, aux, step, body)
    b.ret_void()
    ctx.finalize()
    return P.Launch(fn.name, "stack_map", keys, ())


def screen(call):
    if call.kind == "map":
        P._screen_applies(call.kernel, [call.kernel.body])


# ----------------------------------------------------------------------------- host side


class StackHost:
    """The host half of the stack steps for one CudaExecutable; ``blocks`` holds the
    device blocks of the current call until ``release``."""

    def __init__(self, exe):
        self.exe, self.drv = exe, exe.drv
        self.blocks = []

    def release(self):
        self.blocks.clear()  # back to the pool; later work on the stream runs after

    def run(self, call, slots, plan):
        getattr(self, "_" + call.kind)(call, slots, plan)

    # -- helpers
    def _addr(self, storage, slots, plan):
        return self.exe._addr(storage, slots, plan)

    def _read_handle(self, storage, slots, plan):
        h = self.drv.dtoh(np.zeros(2, np.int64), self._addr(storage, slots, plan))
        return int(h[0]), int(h[1])

    def _status(self, code):
        """Stores ``code`` unless an earlier failure of the call stored one (the first
        failed check is reported, as on the cpu); only on error paths, so the read-back's
        synchronization costs nothing otherwise."""
        if int(self.drv.dtoh(np.zeros(1, np.int32), self.exe.status)[0]) == 0:
            self.drv.htod(self.exe.status, np.array([code], np.int32))

    def _new(self, n, row_bytes, out, slots, plan):
        """Points handle ``out`` at a fresh zeroed block of ``n`` rows (status 4 and no rows
        when n < 0 or the block cannot be had); returns the block's address."""
        block = None
        if n >= 0:
            try:
                block = self.drv.alloc(max(n * row_bytes, 1))
            except (errors.ResourceExhaustedError, MemoryError, ValueError, OverflowError):
                block = None
        if block is None:
            self._status(ALLOC_STATUS)
            n = 0
            block = self.drv.alloc(1)
        self.blocks.append(block)
        self.drv.memset_zero(block, n * row_bytes)
        self.drv.htod(self._addr(out, slots, plan), np.array([int(block), n], np.int64))
        return int(block), n

    # -- the step kinds
    def _alloc(self, call, slots, plan):
        n = self.drv.dtoh(np.zeros(1, call.n_dtype.np), self._addr(call.n, slots, plan))
        from .cuda import qeval

        self._new(int(n[0]), qeval(call.row_bytes, plan.params), call.out, slots, plan)

    def _clone(self, call, slots, plan):
        from .cuda import qeval

        src, n = self._read_handle(call.src, slots, plan)
        row_bytes = qeval(call.row_bytes, plan.params)
        dst, n = self._new(n, row_bytes, call.out, slots, plan)
        self.drv.dtod(dst, src, n * row_bytes)

    def _launch(self, call, cfg, slots, plan):
        launch = self.exe.build.launches[id(call)]
        self.exe._launch(launch.name, launch, cfg, slots, plan)

    def _write(self, call, slots, plan):
        self._launch(call, plan.grids[id(call)], slots, plan)

    _read = _write

    def _map(self, call, slots, plan):
        from .cuda import qeval

        ns = [self._read_handle(h, slots, plan)[1] for h in call.stacks]
        if any(m != ns[0] for m in ns[1:]):
            self._status(ROW_STATUS)  # computes only the rows every stack has
        self._new(ns[0], qeval(call.row_bytes, plan.params), call.out, slots, plan)
        total = min(ns) * qeval(call.row_elems, plan.params)
        if total:
            bs = self.exe.block
            blocks = min((total + bs - 1) // bs, self.exe.sms * 32)
            self._launch(call, ((blocks, 1, 1), (bs, 1, 1), total), slots, plan)


__all__ = ["emit", "screen", "is_stack_call", "StackHost"]
