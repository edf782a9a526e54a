"""Scalar emitters: the LLVM IR for one element of each elementwise op (its ``lower`` name).

Each entry of ``EMITTERS`` is ``fn(b, args, dtypes, out, attrs) -> ir.Value``: ``b`` an
``ir.IRBuilder``, ``args`` LLVM values (floats as float/double, float16 and bfloat16
(stored as i16 bits) computed as float,
ints as i32/i64, bools as i1), ``dtypes`` the jitgraph DTypes of the arguments, ``out`` the
result DType. The code is branch-free (``select``, intrinsics, codegen/vecmath.py for
transcendental functions), so LLVM's loop vectorizer turns kernels into SIMD code.
Semantics follow the ops' NumPy implementations: NaN propagates through maximum/minimum,
integer division by zero gives the values the NumPy rows define (x // 0 = x, x % 0 = 0),
float -> int casts truncate, saturate and map NaN to 0.
"""

import llvmlite.ir as ir
import numpy as np

from . import special_math, vecmath

I1, I8, I16, I32, I64 = (ir.IntType(1), ir.IntType(8), ir.IntType(16), ir.IntType(32),
                         ir.IntType(64))
F32, F64, F16 = ir.FloatType(), ir.DoubleType(), ir.HalfType()


def compute_type(dtype):
    """The LLVM type values of ``dtype`` have inside kernels."""
    return {"float16": F32, "bfloat16": F32, "float32": F32, "float64": F64, "int32": I32,
            "int64": I64,
            "bool": I1}[dtype.name]


def storage_type(dtype):
    """The LLVM type of one element of ``dtype`` in memory."""
    return {"float16": F16, "bfloat16": I16, "float32": F32, "float64": F64, "int32": I32,
            "int64": I64,
            "bool": I8}[dtype.name]


def const(dtype, value):
    t = compute_type(dtype)
    if dtype.is_bool:
        return ir.Constant(t, int(bool(value)))
    if dtype.is_integer:
        return ir.Constant(t, int(np.asarray(value).astype(dtype.np)))
    return ir.Constant(t, float(np.asarray(value).astype(dtype.np).astype(np.float64)))


def intrinsic(b, name, args, ty=None):
    ty = ty or args[0].type
    suffix = {F32: "f32", F64: "f64", I32: "i32", I64: "i64", I1: "i1"}[ty]
    fname = f"llvm.{name}.{suffix}"
    fn = b.module.globals.get(fname)
    if fn is None:
        fn = ir.Function(b.module, ir.FunctionType(ty, [a.type for a in args]), fname)
    return b.call(fn, args)


def _math(name):
    def emit(b, args, dtypes, out, attrs):
        return b.call(math_function(b.module, name, args[0].type, len(args)), args)

    return emit


class _TextFunction(ir.Function):
    """A function whose definition is LLVM IR text generated before (vecmath's functions:
    the same text for every module, so it is built and printed once per process)."""

    def __init__(self, module, ftype, name, text):
        super().__init__(module, ftype, name)
        self._text = text

    def descr(self, buf):
        buf.append(self._text)


_MATH_TEXT = {}  # function name -> (definition text, [(intrinsic name, type)])


def _math_text(fname, name, ty, n_args):
    hit = _MATH_TEXT.get(fname)
    if hit is None:
        scratch = ir.Module()
        fn = ir.Function(scratch, ir.FunctionType(ty, [ty] * n_args), fname)
        fn.linkage = "internal"
        fn.attributes.add("alwaysinline")
        fn.attributes.add("nounwind")
        fb = ir.IRBuilder(fn.append_basic_block("entry"))
        emit_fn = special_math.emit if name in special_math.NAMES else vecmath.emit
        fb.ret(emit_fn(fb, name, list(fn.args), "float64" if ty == F64 else "float32"))
        decls = [(g.name, g.ftype) for g in scratch.globals.values()
                 if isinstance(g, ir.Function) and g is not fn]
        hit = _MATH_TEXT[fname] = (str(fn), decls)
    return hit


def math_function(module, name, ty, n_args=1):
    """The module's internal, always-inlined function for vecmath ``name`` on LLVM type
    ``ty``, defined on first use. Building vecmath's code once per module instead of once
    per call site made the 50-op W6 chain's Python-side IR building and printing ~40%
    shorter; its text is also generated once per process and reused by every module
    (_TextFunction). LLVM inlines the calls before vectorizing, so the kernels are the
    same."""
    fname = f"jg.math.{name}.{'f64' if ty == F64 else 'f32'}"
    fn = module.globals.get(fname)
    if fn is None:
        text, decls = _math_text(fname, name, ty, n_args)
        for dname, dty in decls:
            if dname not in module.globals:
                ir.Function(module, dty, dname)
        fn = _TextFunction(module, ir.FunctionType(ty, [ty] * n_args), fname, text)
    return fn


def _fl(d):
    return d.is_floating


# ----------------------------------------------------------------------------- arithmetic


def _arith(fop, iop):
    def emit(b, args, dtypes, out, attrs):
        return getattr(b, fop if _fl(dtypes[0]) else iop)(*args)

    return emit


def _neg(b, a, d):
    return b.fneg(a) if _fl(d) else b.sub(ir.Constant(a.type, 0), a)


def _max(b, x, y, d, which="maximum"):
    if _fl(d):
        return intrinsic(b, which, [x, y])
    return intrinsic(b, "smax" if which == "maximum" else "smin", [x, y])


def _int_divmod(b, x, y):
    """Floor division and modulo with NumPy's rows' conventions (y == 0 -> divide by 1)."""
    zero, one, m1 = (ir.Constant(x.type, v) for v in (0, 1, -1))
    bad = b.or_(b.icmp_signed("==", y, zero), b.icmp_signed("==", y, m1))
    d = b.select(bad, one, y)
    q, r = b.sdiv(x, d), b.srem(x, d)
    fix = b.and_(b.icmp_signed("!=", r, zero),
                 b.icmp_signed("!=", b.icmp_signed("<", r, zero), b.icmp_signed("<", d, zero)))
    q = b.select(fix, b.sub(q, one), q)
    r = b.select(fix, b.add(r, d), r)
    is_m1 = b.icmp_signed("==", y, m1)
    q = b.select(is_m1, b.sub(zero, x), q)
    return q, r


def _float_divmod(b, x, y):
    """NumPy's npy_divmod for floats."""
    zero = ir.Constant(x.type, 0.0)
    mod = b.frem(x, y)
    div = b.fdiv(b.fsub(x, mod), y)
    fix = b.and_(b.fcmp_ordered("!=", mod, zero),
                 b.xor(b.fcmp_ordered("<", y, zero), b.fcmp_ordered("<", mod, zero)))
    mod2 = b.select(fix, b.fadd(mod, y), mod)
    div2 = b.select(fix, b.fsub(div, ir.Constant(x.type, 1.0)), div)
    mod2 = b.select(b.fcmp_ordered("==", mod, zero), intrinsic(b, "copysign", [zero, y]), mod2)
    fl = intrinsic(b, "floor", [div2])
    fl = b.select(b.fcmp_ordered(">", b.fsub(div2, fl), ir.Constant(x.type, 0.5)),
                  b.fadd(fl, ir.Constant(x.type, 1.0)), fl)
    q = b.select(b.fcmp_unordered("!=", div2, zero), fl,  # NaN is truthy in npy_divmod
                 intrinsic(b, "copysign", [zero, b.fdiv(x, y)]))
    q = b.select(b.fcmp_ordered("==", y, zero), b.fdiv(x, y), q)
    return q, mod2


def _floordiv(b, args, dtypes, out, attrs):
    f = _float_divmod if _fl(dtypes[0]) else _int_divmod
    return f(b, *args)[0]


def _mod(b, args, dtypes, out, attrs):
    f = _float_divmod if _fl(dtypes[0]) else _int_divmod
    return f(b, *args)[1]


def _truncatemod(b, args, dtypes, out, attrs):
    """C's fmod: LLVM's frem / srem (y == 0 and y == -1 give 0, as the NumPy rows')."""
    x, y = args
    if _fl(dtypes[0]):
        return b.frem(x, y)
    zero, one, m1 = (ir.Constant(x.type, v) for v in (0, 1, -1))
    bad = b.or_(b.icmp_signed("==", y, zero), b.icmp_signed("==", y, m1))
    return b.srem(x, b.select(bad, one, y))


def _ipow(b, x, y):
    """x ** y for integers by squaring (y < 0 is rejected before the kernel runs)."""
    one = ir.Constant(x.type, 1)
    res, base, e = one, x, y
    for _ in range(x.type.width):
        bit = b.trunc(e, I1)
        res = b.select(bit, b.mul(res, base), res)
        base = b.mul(base, base)
        e = b.lshr(e, one)
    return res


def _pow(b, args, dtypes, out, attrs):
    if _fl(dtypes[0]):
        return _math("pow")(b, args, dtypes, out, attrs)
    return _ipow(b, *args)


def _cmp(op):
    def emit(b, args, dtypes, out, attrs):
        x, y = args
        if _fl(dtypes[0]):
            return b.fcmp_unordered(op, x, y) if op == "!=" else b.fcmp_ordered(op, x, y)
        if dtypes[0].is_bool:
            return b.icmp_unsigned(op, x, y)
        return b.icmp_signed(op, x, y)

    return emit


def _abs(b, args, dtypes, out, attrs):
    (x,) = args
    if _fl(dtypes[0]):
        return intrinsic(b, "fabs", [x])
    return b.select(b.icmp_signed("<", x, ir.Constant(x.type, 0)), _neg(b, x, dtypes[0]), x)


def _sign(b, args, dtypes, out, attrs):
    (x,) = args
    z = ir.Constant(x.type, 0)
    if _fl(dtypes[0]):
        one = ir.Constant(x.type, 1.0)
        s = b.select(b.fcmp_ordered(">", x, z), one, x)
        return b.select(b.fcmp_ordered("<", x, z), ir.Constant(x.type, -1.0), s)
    return b.sub(b.zext(b.icmp_signed(">", x, z), x.type), b.zext(b.icmp_signed("<", x, z),
                                                                   x.type))


def _unary(f):
    return lambda b, args, dtypes, out, attrs: f(b, args[0], dtypes[0])


def _recip(b, x, d):
    return b.fdiv(ir.Constant(x.type, 1.0), x)


def bf16_round(b, v):
    """float32 -> bfloat16 bits, rounding to nearest even (as ml_dtypes); NaN stays a quiet
    NaN. Integer ops only, so loops vectorize on CPUs without bfloat16 instructions."""
    i32 = I32
    bits = b.bitcast(v, i32)
    lsb = b.and_(b.lshr(bits, ir.Constant(i32, 16)), ir.Constant(i32, 1))
    rounded = b.add(bits, b.add(ir.Constant(i32, 0x7FFF), lsb))
    out = b.trunc(b.lshr(rounded, ir.Constant(i32, 16)), I16)
    nan = b.fcmp_unordered("uno", v, v)
    sign_nan = b.or_(b.trunc(b.lshr(bits, ir.Constant(i32, 16)), I16), ir.Constant(I16, 0x40))
    return b.select(nan, sign_nan, out)


def bf16_widen(b, v):
    """bfloat16 bits (i16) -> float32: they are its high half."""
    return b.bitcast(b.shl(b.zext(v, I32), ir.Constant(I32, 16)), F32)


def round_to_16(b, v, dst, src=None):
    """Compute value ``v`` (float) rounded to float16/bfloat16 ``dst`` and back to float32:
    a cast to them rounds even where the kernel keeps the value in a register."""
    if dst.name == "float16":
        return b.fpext(b.fptrunc(v, F16), F32)
    if v.type == F64:
        v = b.fptrunc(v, F32)
    return bf16_widen(b, bf16_round(b, v))


def cast(b, x, src, dst):
    """Converts compute value ``x`` from DType ``src`` to ``dst`` (the cast op's rules)."""
    if dst.name in ("float16", "bfloat16") and src is not dst and not src.is_bool:
        if src.is_floating:
            return round_to_16(b, x, dst)
        return round_to_16(b, b.sitofp(x, F32), dst)
    ts, td = compute_type(src), compute_type(dst)
    if src.is_bool:
        return b.uitofp(x, td) if dst.is_floating else b.zext(x, td) if td != I1 else x
    if dst.is_bool:
        return b.fcmp_unordered("!=", x, ir.Constant(ts, 0.0)) if src.is_floating else \
            b.icmp_signed("!=", x, ir.Constant(ts, 0))
    if src.is_floating and dst.is_floating:
        if ts == td:
            return x
        return b.fpext(x, td) if td == F64 else b.fptrunc(x, td)
    if src.is_integer and dst.is_integer:
        if ts == td:
            return x
        return b.sext(x, td) if td.width > ts.width else b.trunc(x, td)
    if src.is_integer:
        return b.sitofp(x, td)
    info = np.iinfo(dst.np)
    t = intrinsic(b, "trunc", [x])
    lo, hi = ir.Constant(ts, float(info.min)), ir.Constant(ts, float(info.max))
    big = b.fcmp_ordered(">=", t, hi)
    small = b.fcmp_ordered("<=", t, lo)
    v = b.fptosi(b.select(b.or_(big, small), ir.Constant(ts, 0.0), t), td)
    v = b.select(big, ir.Constant(td, int(info.max)), v)
    v = b.select(small, ir.Constant(td, int(info.min)), v)
    return b.select(b.fcmp_unordered("uno", x, x), ir.Constant(td, 0), v)


def _cast(b, args, dtypes, out, attrs):
    return cast(b, args[0], dtypes[0], out)


def _round(b, args, dtypes, out, attrs):
    return intrinsic(b, "rint", args) if _fl(dtypes[0]) else args[0]


def _where(b, args, dtypes, out, attrs):
    return b.select(*args)


def _clip(b, args, dtypes, out, attrs):
    x, lo, hi = args
    return _max(b, _max(b, x, lo, dtypes[0]), hi, dtypes[0], "minimum")


def _filled(b, args, dtypes, out, attrs):
    return const(out, attrs["value"])


def _relu(b, x, d):
    return _max(b, x, ir.Constant(x.type, 0.0 if _fl(d) else 0), d)


def _is_inf(b, x, d):
    return b.fcmp_ordered("==", intrinsic(b, "fabs", [x]), ir.Constant(x.type, float("inf")))


def _is_finite(b, x, d):
    return b.fcmp_ordered("<", intrinsic(b, "fabs", [x]), ir.Constant(x.type, float("inf")))


def _sqdiff(b, args, dtypes, out, attrs):
    f = _fl(dtypes[0])
    d = (b.fsub if f else b.sub)(*args)
    return (b.fmul if f else b.mul)(d, d)


EMITTERS = {
    "add": _arith("fadd", "add"),
    "subtract": _arith("fsub", "sub"),
    "multiply": _arith("fmul", "mul"),
    "divide": _arith("fdiv", "sdiv"),
    "floordiv": _floordiv,
    "mod": _mod,
    "truncatemod": _truncatemod,
    "pow": _pow,
    "maximum": lambda b, a, d, o, at: _max(b, a[0], a[1], d[0]),
    "minimum": lambda b, a, d, o, at: _max(b, a[0], a[1], d[0], "minimum"),
    "squared_difference": _sqdiff,
    "equal": _cmp("=="),
    "not_equal": _cmp("!="),
    "less": _cmp("<"),
    "less_equal": _cmp("<="),
    "greater": _cmp(">"),
    "greater_equal": _cmp(">="),
    "logical_and": lambda b, a, d, o, at: b.and_(*a),
    "logical_or": lambda b, a, d, o, at: b.or_(*a),
    "logical_xor": lambda b, a, d, o, at: b.xor(*a),
    "logical_not": lambda b, a, d, o, at: b.not_(a[0]),
    "negative": _unary(_neg),
    "abs": _abs,
    "sign": _sign,
    "square": lambda b, a, d, o, at: (b.fmul if _fl(d[0]) else b.mul)(a[0], a[0]),
    "sqrt": lambda b, a, d, o, at: intrinsic(b, "sqrt", a),
    "rsqrt": lambda b, a, d, o, at: _recip(b, intrinsic(b, "sqrt", a), d[0]),
    "reciprocal": _unary(_recip),
    "floor": lambda b, a, d, o, at: intrinsic(b, "floor", a),
    "ceil": lambda b, a, d, o, at: intrinsic(b, "ceil", a),
    "round": _round,
    "relu": _unary(_relu),
    "is_nan": lambda b, a, d, o, at: b.fcmp_unordered("uno", a[0], a[0]),
    "is_inf": _unary(_is_inf),
    "is_finite": _unary(_is_finite),
    "where": _where,
    "cast": _cast,
    "clip_by_value": _clip,
    "identity": lambda b, a, d, o, at: a[0],
    "full_like": _filled,
    "fill": _filled,
}
for _name in vecmath.NAMES:
    if _name != "pow":  # atan2: vecmath takes (y, x) as the op does
        EMITTERS[_name] = _math(_name)
for _name in special_math.NAMES:  # lgamma, digamma, ...: ops/special.py
    EMITTERS[_name] = _math(_name)


def emit(b, name, args, dtypes, out, attrs):
    """The LLVM value of elementwise op lowering ``name`` applied to ``args``."""
    return EMITTERS[name](b, args, dtypes, out, attrs)


__all__ = ["EMITTERS", "emit", "cast", "const", "compute_type", "storage_type", "intrinsic"]
