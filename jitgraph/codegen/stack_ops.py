"""Loop stacks in native code: stack_alloc / stack_write / stack_read (ops/loop_state.py),
the per-iteration state the gradient of ``while_loop`` keeps.

A stack's number of rows is a run-time value (a trip count), so its rows cannot live in the
arena planned from the argument shapes. Its storage is a 16-byte *handle* in the arena,
``(i8* rows, i64 n)``; the rows live in a zeroed block the entry point asks the Executable
for (a ctypes callback, once per stack_alloc executed); the blocks are dropped when the call
returns, since no stack outlives a call.

Writes happen in place (stack_write's result shares its input's handle) when value
semantics allow it: the input has no later use and shares its block with no other Value,
as for the stacks autodiff/control.py builds (allocated, carried through the saving loop,
then only read). Otherwise the write goes to a copy; loops copy a shared initial stack.
Stacks flow only into stack ops, loops and elementwise kernels (zeros_like(stack),
stack + stack: the gradients of stack ops); other uses raise UnimplementedError. Row
indices are checked: an out-of-range row sets status 3 (OutOfRangeError) and touches no
memory.

The cuda backend runs the same steps (cuda_stacks.py): alloc and clone on the host with
device blocks, reads, writes and whole-stack maps as kernels with the same bounds checks.
"""

import llvmlite.ir as ir

from . import kernels as K
from . import loops as L
from . import scalar as S
from .lower import HANDLE_BYTES, register_lowering

ROW_STATUS, ALLOC_STATUS = 3, 4
ALLOC_FN = ir.FunctionType(S.I8.as_pointer(), [S.I64])  # runtime.Executable._new_block
_MUTATING = ("stack_write", "while_loop")


def find_stacks(graph):
    """The Values of ``graph`` (sub-graphs included) that are loop stacks; checks that each
    one is used in a way in-place writes keep correct."""
    stacks = set()
    changed = True
    while changed:
        changed = False
        for op in graph.walk():
            new = []
            if op.type in ("stack_alloc", "stack_write"):
                new = list(op.outputs)
            elif op.type == "while_loop":
                cond_g, body_g = op.subgraphs
                for k, v in enumerate(op.inputs):
                    if v in stacks or body_g.outputs[k] in stacks:
                        new += [op.outputs[k], cond_g.inputs[k], body_g.inputs[k]]
            elif op.type == "fusion" and any(v in stacks for v in op.inputs):
                new = list(op.outputs)  # arithmetic on whole stacks (second derivatives)
            elif op.type == "cond":
                for k, v in enumerate(op.outputs):
                    if any(sg.outputs[k] in stacks for sg in op.subgraphs):
                        new.append(v)
            for v in new:
                if v not in stacks:
                    stacks.add(v)
                    changed = True
    return stacks, (_check_uses(graph, stacks) if stacks else {})


def _check_uses(graph, stacks):
    uses = {}
    for op in graph.walk():
        for j, v in enumerate(op.inputs):
            if v in stacks:
                uses.setdefault(v, []).append((op, j))
        for sg in op.subgraphs:
            for v in sg.outputs:
                if v in stacks:
                    uses.setdefault(v, []).append((op, "yield"))
    for v in graph.outputs:
        if v in stacks:
            raise K.unimplemented(v.op, "a loop stack cannot be a function result")
    for us in uses.values():
        for op, j in us:
            ok = (op.type in ("stack_write", "stack_read") and j == 0) or \
                op.type in ("while_loop", "cond") or \
                (op.type == "fusion" and op.attrs["kind"] == "loop")
            if not ok:
                raise K.unimplemented(op, "loop stacks can only be read, written and carried "
                                          "by loops here")
    return uses


def sole_use(lw, v, user):
    """Whether ``user`` may take over ``v``'s block: no other use of ``v`` comes after it
    (reads earlier in the same graph are done by then), ``user`` takes ``v`` once, and no
    other Value shares the block."""
    if v in lw.p.shared_stacks:
        return False
    if sum(x is v for x in user.inputs) > 1:  # one stack carried as two loop vars (CSE
        return False  # keeps stack_allocs apart, other graphs may not): each needs a block
    order = {id(o): i for i, o in enumerate(user.graph.ops)}
    at = order.get(id(user))
    for op, _ in lw.p.stack_uses.get(v, ()):
        if op is user:
            continue
        if not (op.type == "stack_read" and id(op) in order and order[id(op)] < at):
            return False
    return True


class StackCall:
    """A ("call", StackCall) step: ``reads``/``writes`` for buffer planning, ``emit``."""

    def __init__(self, kind, reads, writes, **kw):
        self.kind, self.reads, self.writes = kind, reads, writes
        self.__dict__.update(kw)

    def emit(self, em):
        getattr(self, "_" + self.kind)(em)

    # -- helpers
    def _handle(self, em, storage):
        ctx = em.ctx
        h = ctx.b.bitcast(ctx.raw(storage), S.I64.as_pointer())
        rows = ctx.b.inttoptr(ctx.b.load(h), S.I8.as_pointer())
        return h, rows, ctx.b.load(ctx.b.gep(h, [ir.Constant(S.I64, 1)]))

    def _index(self, em, storage, dtype):
        b = em.ctx.b
        v = b.load(em.ctx.ptr(storage, dtype))
        return b.sext(v, S.I64) if v.type != S.I64 else v

    def _status(self, em, code):
        b = em.ctx.b
        em.ctx.set_status(b, code)

    def _row_ok(self, em, i, n):
        b = em.ctx.b
        return b.and_(b.icmp_signed(">=", i, ir.Constant(S.I64, 0)), b.icmp_signed("<", i, n))

    # -- the three ops
    def _alloc(self, em):
        n = self._index(em, self.n, self.n_dtype)
        self._new(em, n, self.out)

    def _new(self, em, n, out):
        """Points handle ``out`` at a fresh zeroed block of ``n`` rows (status 4 and zero
        rows when n < 0 or the block cannot be had)."""
        b, ctx = em.ctx.b, em.ctx
        neg = b.icmp_signed("<", n, ir.Constant(S.I64, 0))
        n = b.select(neg, ir.Constant(S.I64, 0), n)
        nbytes = b.mul(n, em.qval(self.row_bytes))
        alloc = b.bitcast(ctx.raw(K.Storage("ext", 1)), ALLOC_FN.as_pointer())
        rows = b.call(alloc, [nbytes])
        failed = b.or_(neg, b.icmp_unsigned("==", rows, ir.Constant(S.I8.as_pointer(), None)))
        with b.if_then(failed, likely=False):
            self._status(em, ALLOC_STATUS)
        h = b.bitcast(ctx.raw(out), S.I64.as_pointer())
        b.store(b.ptrtoint(rows, S.I64), h)
        b.store(b.select(failed, ir.Constant(S.I64, 0), n), b.gep(h, [ir.Constant(S.I64, 1)]))
        return rows

    def _write(self, em):
        b = em.ctx.b
        _, rows, n = self._handle(em, self.buf)
        i = self._index(em, self.i, self.i_dtype)
        with b.if_else(self._row_ok(em, i, n)) as (ok, bad):
            with ok:
                row = em.qval(self.row_bytes)
                _copy(em, b.gep(rows, [b.mul(i, row)]), em.ctx.raw(self.x), row)
            with bad:
                self._status(em, ROW_STATUS)

    def _read(self, em):
        b = em.ctx.b
        _, rows, n = self._handle(em, self.buf)
        i = self._index(em, self.i, self.i_dtype)
        row = em.qval(self.row_bytes)
        with b.if_else(self._row_ok(em, i, n)) as (ok, bad):
            with ok:
                _copy(em, em.ctx.raw(self.out), b.gep(rows, [b.mul(i, row)]), row)
            with bad:
                self._status(em, ROW_STATUS)


    def _clone(self, em):
        _, src, n = self._handle(em, self.src)
        rows = self._new(em, n, self.out)
        _copy(em, rows, src, em.ctx.b.mul(n, em.qval(self.row_bytes)))

    def _map(self, em):
        b = em.ctx.b
        _, _, n = self._handle(em, self.stacks[0])
        for h in self.stacks[1:]:  # stacks of different lengths: an error, and only the
            m = self._handle(em, h)[2]  # rows all of them have are read
            with b.if_then(b.icmp_signed("!=", m, n), likely=False):
                self._status(em, ROW_STATUS)
            n = b.select(b.icmp_signed("<", m, n), m, n)
        self._new(em, n, self.out)
        fn, _ = L.emit_kernel(em.m, self.kernel, em.layout, em.static_index)
        total = b.mul(n, em.qval(self.row_elems))
        ctx = em.ctx
        b.call(fn, [ctx.slots, ctx.params, ir.Constant(S.I64, 0), total,
                    ir.Constant(S.I8.as_pointer(), None)])


def _decl(module, name, ret, args):
    return module.globals.get(name) or ir.Function(module, ir.FunctionType(ret, args), name)


def _copy(em, dst, src, nbytes):
    memcpy = _decl(em.m, "llvm.memcpy.p0i8.p0i8.i64", ir.VoidType(),
                   [S.I8.as_pointer(), S.I8.as_pointer(), S.I64, S.I1])
    em.ctx.b.call(memcpy, [dst, src, nbytes, ir.Constant(S.I1, 0)])


# ----------------------------------------------------------------------------- lowerings


def _alloc(lw, op, steps):
    n, like = op.inputs
    out = lw.p.new_arena()
    out.size = HANDLE_BYTES
    lw.p.storage[op.outputs[0]] = out
    lw.p.heaps.append(op)
    steps.append(("call", StackCall("alloc", [lw.st(n)], [out], n=lw.st(n), n_dtype=n.dtype,
                                    out=out, row_bytes=lw.qs.nbytes(like))))


def _write(lw, op, steps):
    buf, i, x = op.inputs
    h = lw.st(buf)
    if not sole_use(lw, buf, op):  # value semantics: write into a copy
        h = clone(lw, buf, steps)
    lw.p.storage[op.outputs[0]] = h
    steps.append(("call", StackCall("write", [h, lw.st(i), lw.st(x)], [h], buf=h,
                                    i=lw.st(i), i_dtype=i.dtype, x=lw.st(x),
                                    row_bytes=lw.qs.nbytes(x))))


def clone(lw, v, steps, dst=None):
    """Steps copying stack ``v`` into a new block; returns the new handle (``dst`` if given)."""
    if dst is None:
        dst = lw.p.new_arena()
        dst.size = HANDLE_BYTES
    lw.p.heaps.append(v)
    steps.append(("call", StackCall("clone", [lw.st(v)], [dst], src=lw.st(v), out=dst,
                                    row_bytes=_row_bytes(lw, v))))
    return dst


def _row_bytes(lw, v):
    return lw.qs.q(("row_bytes", v.uid), lambda e: _prod(
        e.dim(v, d) for d in range(1, len(v.shape))) * v.dtype.np.itemsize)


def _read(lw, op, steps):
    buf, i = op.inputs
    out = op.outputs[0]
    dst = lw.fresh(out)
    steps.append(("call", StackCall("read", [lw.st(buf), lw.st(i)], [dst], buf=lw.st(buf),
                                    i=lw.st(i), i_dtype=i.dtype, out=dst,
                                    row_bytes=lw.qs.nbytes(out))))


def lower_stack_map(lw, op, steps):
    """A loop fusion reading whole stacks (zeros_like(stack), stack + stack: the gradients
    of stack ops) -> a new stack of as many rows, computed by one flat kernel."""
    sub, out = op.subgraphs[0], op.outputs[0]
    stacks = [v for v in op.inputs if v in lw.p.stack_values]
    loads = []
    for v in op.inputs:
        if v in lw.p.stack_values:
            if tuple(v.shape) != tuple(out.shape):
                raise K.unimplemented(op, "loop stacks of different row shapes")
            loads.append(K.Load(rows_of(lw.st(v)), v.dtype, [1]))
        elif v.shape == ():
            loads.append(K.Load(lw.st(v), v.dtype, [0]))
        else:
            raise K.unimplemented(op, "a loop stack broadcast against a tensor")
    h = lw.p.new_arena()
    h.size = HANDLE_BYTES
    lw.p.storage[out] = h
    body = K.expr_of_subgraph(sub, loads, lw.qs, 1, status_code=lw.index_code)[sub.outputs[0]]
    k = K.Kernel(op.name, [0], body, rows_of(h), out.dtype, loc=op.loc, text=op.name)
    elems = lw.qs.q(("row_elems", out.uid), lambda e: _prod(e.dim(out, d)
                                                           for d in range(1, len(out.shape))))
    row_bytes = _row_bytes(lw, out)
    lw.p.heaps.append(op)
    reads = [lw.st(v) for v in op.inputs]
    steps.append(("call", StackCall("map", reads, [h], stacks=[lw.st(v) for v in stacks],
                                    out=h, kernel=k, row_elems=elems, row_bytes=row_bytes)))


def rows_of(handle):
    """The Storage of a stack's rows: the pointer its handle holds (loops.FnCtx.raw)."""
    return K.Storage("rows", 0, handle)


def _prod(xs):
    n = 1
    for x in xs:
        n *= int(x)
    return n


register_lowering("stack_alloc", _alloc)
register_lowering("stack_write", _write)
register_lowering("stack_read", _read)

__all__ = ["find_stacks", "StackCall", "ROW_STATUS", "ALLOC_STATUS"]
