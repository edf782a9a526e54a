"""The ``assert`` op in compiled code: a one-element kernel whose index check (``Guard``)
fails when the condition is false, so the entry point returns the op's own status code and
the runtime raises ``InvalidArgumentError`` with the assertion's message (runtime
.status_message). The rest of the call still runs, as after a failed gather index check;
its outputs are never returned."""

from .. import dtypes
from . import kernels as K
from .lower import register_lowering

I64 = dtypes.int64


def _assert(lw, op, steps):
    c = op.inputs[0]
    ok = K.Apply("cast", I64, [K.Load(lw.st(c), c.dtype, [])],
                 {"in_dtypes": [c.dtype], "dtype": I64})
    bad = K.Apply("subtract", I64, [K.Const(I64, 1), ok], {"in_dtypes": [I64, I64]})
    scratch = lw.p.new_arena()
    scratch.size = 8
    k = K.Kernel(op.name, [], K.Guard(bad, 1, lw.index_code(op)), scratch, I64, loc=op.loc,
                 text=op.name)
    lw.p.kernels.append(k)
    steps.append(("kernel", k))


register_lowering("assert", _assert)
