"""Host-call ops in compiled code (``print``, ``write_summary``; see ops/io.py): the entry
point calls back into Python (a ctypes callback in the static table) with the call's
number, the slot table and the params; the callback reads the op's input values from their
buffers and runs the op's NumPy implementation on them (for a print: ops/io.format_values),
so compiled output is exactly the interpreter's. The cuda backend runs the same calls on
the host between its launches (cuda.py)."""

import ctypes

import llvmlite.ir as ir
import numpy as np

from . import kernels as K
from . import scalar as S
from .lower import register_lowering

CALLBACK = ctypes.CFUNCTYPE(None, ctypes.c_int64, ctypes.c_void_p, ctypes.c_void_p)
FN_T = ir.FunctionType(ir.VoidType(), [S.I64, S.I8.as_pointer().as_pointer(),
                                       S.I64.as_pointer()])


class PrintCall:
    def __init__(self, lw, op):
        self.op = op
        self.values = list(op.inputs)
        self.reads = [lw.st(v) for v in op.inputs]
        self.writes = []
        prints = lw.p.__dict__.setdefault("prints", [])
        self.id = len(prints)
        prints.append(self)
        self.ext = K.Storage("ext", 0)

    def emit(self, em):
        ctx, b = em.ctx, em.ctx.b
        raw = ctx.raw(self.ext)
        fn = b.bitcast(raw, FN_T.as_pointer())
        b.call(fn, [ir.Constant(S.I64, self.id), ctx.slots, ctx.params])


def is_host_call(call):
    return isinstance(call, PrintCall)


def _print(lw, op, steps):
    steps.append(("call", PrintCall(lw, op)))


def make_callback(program, layout, static_index, shapes_of):
    """The ctypes callback for the program's host calls (kept alive by the Executable)."""
    prints = getattr(program, "prints", [])

    def cb(pid, slots, params):
        call = prints[pid]
        table = (ctypes.c_void_p * layout.n).from_address(slots)
        pvals = np.ctypeslib.as_array((ctypes.c_int64 * max(len(program.qs.fns), 1))
                                      .from_address(params)) if params else None
        arrays = []
        for v, st in zip(call.values, call.reads):
            addr = table[layout.slot(st, static_index)] or 0
            off = st.offset if st.kind == "arena" else 0
            if isinstance(off, K.Param):
                off = int(pvals[off.index])
            shape = shapes_of()[v]
            n = int(np.prod(shape, dtype=np.int64)) * v.dtype.np.itemsize
            buf = (ctypes.c_char * max(n, 1)).from_address(addr + off)
            arrays.append(np.frombuffer(buf, v.dtype.np, count=n // v.dtype.np.itemsize)
                          .reshape(shape).copy())
        call.op.op_def.impl(*arrays, **call.op.attrs)

    return CALLBACK(cb) if prints else None


register_lowering("print", _print)
register_lowering("write_summary", _print)
