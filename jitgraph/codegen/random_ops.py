"""random_uniform / random_normal / random_truncated_normal in native code: the
Philox4x32-10 generator of ops/random.py emitted as LLVM IR, so compiled numbers are the
interpreter's (bit for bit for uniform; normal through vecmath's log/cos, within float
tolerance).

Each op becomes a map kernel over its flat output: element ``i`` evaluates
``Apply(<op>, [Iota(0), counter])``; the emitters below are registered in scalar.EMITTERS
under the op names. Philox is branch-free integer code (32x32->64 multiplies), so LLVM
vectorizes uniform and normal kernels; the truncated normal's redraws are a short loop.
"""

import math

import llvmlite.ir as ir

from .. import dtypes
from . import kernels as K
from . import scalar as S
from . import vecmath
from .lower import register_lowering

_M0, _M1 = 0xD2511F53, 0xCD9E8D57
_W0, _W1 = 0x9E3779B9, 0xBB67AE85
_ROUNDS = 10
_REDRAWS = 15  # ops/random.py: attempts 1..15 after the first draw


def _c32(v):
    return ir.Constant(S.I32, v & 0xFFFFFFFF)


def _c64(v):
    v &= 0xFFFFFFFFFFFFFFFF
    return ir.Constant(S.I64, v - (1 << 64) if v >= 1 << 63 else v)


def philox(b, c, key):
    """Philox4x32-10 on four i32 values ``c`` with Python-int key ``(k0, k1)``."""
    k0, k1 = key
    c0, c1, c2, c3 = c
    for _ in range(_ROUNDS):
        p0 = b.mul(b.zext(c0, S.I64), _c64(_M0))
        p1 = b.mul(b.zext(c2, S.I64), _c64(_M1))
        hi0, lo0 = b.trunc(b.lshr(p0, _c64(32)), S.I32), b.trunc(p0, S.I32)
        hi1, lo1 = b.trunc(b.lshr(p1, _c64(32)), S.I32), b.trunc(p1, S.I32)
        c0, c1, c2, c3 = (b.xor(b.xor(hi1, c1), _c32(k0)), lo1,
                          b.xor(b.xor(hi0, c3), _c32(k1)), lo0)
        k0, k1 = (k0 + _W0) & 0xFFFFFFFF, (k1 + _W1) & 0xFFFFFFFF
    return c0, c1, c2, c3


def _words(b, index, counter, key, attempt=None):
    """Philox output for element ``index`` (i64) at call ``counter`` (i64); ``attempt``
    (i32 or None) is or-ed into the high index word as ``attempt << 24``."""
    hi = b.trunc(b.lshr(index, _c64(32)), S.I32)
    if attempt is not None:
        hi = b.or_(hi, b.shl(attempt, _c32(24)))
    c = [b.trunc(index, S.I32), hi, b.trunc(counter, S.I32),
         b.trunc(b.lshr(counter, _c64(32)), S.I32)]
    return philox(b, c, key)


def _u53(b, x, y):
    bits = b.or_(b.shl(b.zext(x, S.I64), _c64(21)), b.lshr(b.zext(y, S.I64), _c64(11)))
    return b.fmul(b.uitofp(bits, S.F64), ir.Constant(S.F64, 2.0 ** -53))


def _box_muller(b, w):
    u1 = b.fsub(ir.Constant(S.F64, 1.0), _u53(b, w[0], w[1]))
    u2 = _u53(b, w[2], w[3])
    r = S.intrinsic(b, "sqrt", [b.fmul(ir.Constant(S.F64, -2.0),
                                       vecmath.emit(b, "log", [u1], "float64"))])
    angle = b.fmul(ir.Constant(S.F64, 2.0 * math.pi), u2)
    return b.fmul(r, vecmath.emit(b, "cos", [angle], "float64"))


def _uniform(b, args, dts, out, attrs):
    w = _words(b, args[0], args[1], attrs["key"])
    lo, hi = attrs["minval"], attrs["maxval"]
    if out.is_integer:
        x = b.zext(w[0], S.I64) if out is dtypes.int32 else \
            b.or_(b.shl(b.zext(w[0], S.I64), _c64(32)), b.zext(w[1], S.I64))
        v = b.add(_c64(int(lo)), b.urem(x, _c64(int(hi) - int(lo))))
        return v if out is dtypes.int64 else b.trunc(v, S.I32)
    np_t = out.np.type
    span = np_t(np_t(hi) - np_t(lo))  # in the output dtype, as NumPy computes it
    if out is dtypes.float64:
        u = _u53(b, w[0], w[1])
        return b.fadd(ir.Constant(S.F64, float(lo)), b.fmul(ir.Constant(S.F64, float(span)), u))
    u = b.fmul(b.uitofp(b.lshr(w[0], _c32(8)), S.F32), ir.Constant(S.F32, 2.0 ** -24))
    rnd = {dtypes.float16: _round16, dtypes.bfloat16: _round_bf16}.get(out, lambda b, v: v)
    u = rnd(b, u)
    m = rnd(b, b.fmul(ir.Constant(S.F32, float(span)), u))
    return rnd(b, b.fadd(ir.Constant(S.F32, float(np_t(lo))), m))


def _round16(b, v):
    """float32 -> nearest float16 -> float32: NumPy's float16 arithmetic rounds each op."""
    return b.fpext(b.fptrunc(v, S.F16), S.F32)


def _round_bf16(b, v):
    """float32 -> nearest bfloat16 -> float32, as ml_dtypes' bfloat16 arithmetic rounds."""
    return S.round_to_16(b, v, dtypes.bfloat16)


def _scaled(b, z, out, attrs):
    v = b.fadd(ir.Constant(S.F64, float(attrs["mean"])),
               b.fmul(ir.Constant(S.F64, float(attrs["stddev"])), z))
    return v if out is dtypes.float64 else b.fptrunc(v, S.F32)


def _normal(b, args, dts, out, attrs):
    return _scaled(b, _box_muller(b, _words(b, args[0], args[1], attrs["key"])), out, attrs)


def _truncated_normal(b, args, dts, out, attrs):
    index, counter = args
    two = ir.Constant(S.F64, 2.0)
    z0 = _box_muller(b, _words(b, index, counter, attrs["key"]))
    pre = b.block
    fn = pre.function
    head, body, done = (fn.append_basic_block(f"tn.{s}") for s in ("head", "redraw", "done"))
    b.branch(head)
    b.position_at_end(head)
    j = b.phi(S.I32, "attempt")
    z = b.phi(S.F64, "z")
    j.add_incoming(_c32(1), pre)
    z.add_incoming(z0, pre)
    bad = b.fcmp_ordered(">=", S.intrinsic(b, "fabs", [z]), two)
    more = b.and_(bad, b.icmp_unsigned("<=", j, _c32(_REDRAWS)))
    b.cbranch(more, body, done)
    b.position_at_end(body)
    z1 = _box_muller(b, _words(b, index, counter, attrs["key"], attempt=j))
    j.add_incoming(b.add(j, _c32(1)), b.block)
    z.add_incoming(z1, b.block)
    b.branch(head)
    b.position_at_end(done)
    z = b.select(bad, ir.Constant(S.F64, 0.0), z)
    return _scaled(b, z, out, attrs)


EMITTERS = {
    "random_uniform": _uniform,
    "random_normal": _normal,
    "random_truncated_normal": _truncated_normal,
}
S.EMITTERS.update(EMITTERS)


def _random(lw, op, steps):
    counter, out = op.inputs[0], op.outputs[0]
    n = lw.qs.size(out)  # a run-time quantity when dims come from a second input
    attrs = {k: v for k, v in op.attrs.items() if k not in ("shape", "dtype", "like_dims")}
    attrs["in_dtypes"] = [dtypes.int64, dtypes.int64]
    body = K.Apply(op.type, out.dtype, [K.Iota(0), K.Load(lw.st(counter), dtypes.int64, [0])],
                   attrs)
    k = K.Kernel(op.name, [n], body, lw.fresh(out), out.dtype, loc=op.loc, text=op.name)
    lw.p.kernels.append(k)
    steps.append(("kernel", k))


for _name in EMITTERS:
    register_lowering(_name, _random)

__all__ = ["philox", "EMITTERS"]
