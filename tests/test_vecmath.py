"""jitgraph.codegen.vecmath: emitted math functions vs NumPy (extended-precision references).

Each function is compiled into a small llvmlite kernel (vector width 16/8 and scalar),
optimized at O3 for the host CPU like real kernels, and run over wide random ranges
(random bit patterns cover the whole domain) and special values.
"""

import ctypes
import math
import zlib

import llvmlite.binding as llvm
import llvmlite.ir as ir
import numpy as np
import pytest

from jitgraph.codegen import vecmath

llvm.initialize_native_target()
llvm.initialize_native_asmprinter()
_TM = llvm.Target.from_default_triple().create_target_machine(
    cpu=llvm.get_host_cpu_name(), features=llvm.get_host_cpu_features().flatten(), opt=3
)
_ENGINES = []  # keep compiled code alive
_KERNELS = {}

LD = np.longdouble
ARITY = {"pow": 2, "atan2": 2}


def _build(name, dtype, width):
    fty = ir.FloatType() if dtype == "float32" else ir.DoubleType()
    vty = ir.VectorType(fty, width) if width > 1 else fty
    mod = ir.Module(name="vm_%s_%s_%d" % (name, dtype, width))
    mod.triple = llvm.get_process_triple()
    p = ir.PointerType(fty)
    fn = ir.Function(mod, ir.FunctionType(ir.VoidType(), [p, p, p, ir.IntType(64)]), "k")
    entry, loop, done = (fn.append_basic_block(s) for s in ("entry", "loop", "done"))
    b = ir.IRBuilder(entry)
    b.branch(loop)
    b.position_at_end(loop)
    i = b.phi(ir.IntType(64))
    i.add_incoming(ir.Constant(ir.IntType(64), 0), entry)
    ptrs = [b.bitcast(b.gep(a, [i]), ir.PointerType(vty)) for a in fn.args[:3]]
    align = 4 if dtype == "float32" else 8  # numpy buffers are only element-aligned
    args = [b.load(ptrs[j], align=align) for j in range(ARITY.get(name, 1))]
    b.store(vecmath.emit(b, name, args, dtype), ptrs[2], align=align)
    nxt = b.add(i, ir.Constant(ir.IntType(64), width))
    i.add_incoming(nxt, loop)
    b.cbranch(b.icmp_signed("<", nxt, fn.args[3]), loop, done)
    b.position_at_end(done)
    b.ret_void()
    llmod = llvm.parse_assembly(str(mod))
    llmod.verify()
    pb = llvm.create_pass_builder(_TM, llvm.create_pipeline_tuning_options(speed_level=3))
    pb.getModulePassManager().run(llmod, pb)
    ee = llvm.create_mcjit_compiler(llmod, _TM)
    ee.finalize_object()
    _ENGINES.append(ee)
    return ctypes.CFUNCTYPE(
        None, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64
    )(ee.get_function_address("k"))


def run(name, dtype, *arrays, width=None):
    """Apply vecmath's `name` elementwise to arrays with a compiled kernel."""
    width = width or (16 if dtype == "float32" else 8)
    key = (name, dtype, width)
    if key not in _KERNELS:
        _KERNELS[key] = _build(name, dtype, width)
    n = arrays[0].size
    padded = -(-max(n, 1) // width) * width
    bufs = [np.zeros(padded, dtype) for _ in range(3)]
    for buf, a in zip(bufs, arrays, strict=False):
        buf[:n] = a
    _KERNELS[key](*(buf.ctypes.data for buf in bufs), padded)
    return bufs[2][:n]


# ---------------------------------------------------------------- references
def _erf_ref(x):
    return np.vectorize(math.erf, otypes=[np.float64])(np.asarray(x, np.float64)).astype(LD)


def _sigmoid_ref(x):
    x = x.astype(LD)
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))


def _softplus_ref(x):
    x = x.astype(LD)
    return np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))


REFS = {
    "exp": lambda x: np.exp(x.astype(LD)),
    "expm1": lambda x: np.expm1(x.astype(LD)),
    "log": lambda x: np.log(x.astype(LD)),
    "log1p": lambda x: np.log1p(x.astype(LD)),
    "tanh": lambda x: np.tanh(x.astype(LD)),
    "sigmoid": _sigmoid_ref,
    "softplus": _softplus_ref,
    "sin": lambda x: np.sin(x.astype(LD)),
    "cos": lambda x: np.cos(x.astype(LD)),
    "tan": lambda x: np.tan(x.astype(LD)),
    "erf": _erf_ref,
    "pow": lambda x, y: np.power(x.astype(LD), y.astype(LD)),
    "atan2": lambda y, x: np.arctan2(y.astype(LD), x.astype(LD)),
}


def ulp_error(got, ref, dtype):
    """|got - ref| in units of the last place of ref rounded to dtype (NaN/inf must agree)."""
    ref_r = ref.astype(dtype)
    with np.errstate(all="ignore"):
        nan_ok = np.isnan(got) == np.isnan(ref_r)
        fin = np.isfinite(ref_r) & np.isfinite(got)
        inf_ok = np.where(np.isinf(ref_r) | np.isinf(got), got == ref_r, True)
        spacing = np.spacing(np.abs(ref_r[fin]).astype(dtype)).astype(LD)
        err = np.abs(got[fin].astype(LD) - ref[fin]) / spacing
    bad = ~(nan_ok & inf_ok)
    assert not bad.any(), "NaN/inf mismatch at x=%r: got %r want %r" % (
        np.flatnonzero(bad)[:5],
        got[bad][:5],
        ref_r[bad][:5],
    )
    return float(err.max()) if err.size else 0.0


# ---------------------------------------------------------------- inputs
def random_bits(dtype, n, rng):
    """Uniform over bit patterns: every binade, subnormals, inf and NaN."""
    itype = np.uint32 if dtype == "float32" else np.uint64
    info = np.iinfo(itype)
    return rng.integers(0, info.max, n, dtype=itype, endpoint=True).view(dtype)


def specials(dtype):
    f = np.finfo(dtype)
    vals = [
        0.0,
        -0.0,
        np.inf,
        -np.inf,
        np.nan,
        1.0,
        -1.0,
        0.5,
        -0.5,
        2.0,
        f.tiny,
        -f.tiny,
        f.smallest_subnormal,
        -f.smallest_subnormal,
        f.max,
        -f.max,
        f.eps,
        1 - f.eps / 2,
        1 + f.eps,
        88.0,
        88.72,
        89.0,
        -87.3,
        -103.9,
        -104.0,
        709.7,
        709.8,
        -745.1,
        20.0,
        -20.0,
        0.625,
        3.0,
        6.0,
        1e-8,
        -1e-8,
        1e-30,
        math.pi,
        math.pi / 2,
        -math.pi / 4,
    ]
    return np.array(vals, dtype)


def inputs(name, dtype, rng, n=1 << 16):
    def u(lo, hi):
        return rng.uniform(lo, hi, n).astype(dtype)

    def logu(lo, hi):
        mag = np.exp(rng.uniform(np.log(lo), np.log(hi), n))
        return (mag * rng.choice([-1, 1], n)).astype(dtype)

    big = 100.0 if dtype == "float32" else 750.0
    parts = {
        "exp": [u(-big - 10, big), logu(1e-12, 1)],
        "expm1": [u(-big - 10, big), logu(1e-12, 1)],
        "log": [np.abs(random_bits(dtype, n, rng)), u(0.5, 2)],
        "log1p": [np.abs(random_bits(dtype, n, rng)), u(-1, 1), logu(1e-12, 1)],
        "tanh": [random_bits(dtype, n, rng), u(-20, 20), logu(1e-12, 1)],
        "sigmoid": [random_bits(dtype, n, rng), u(-big, big)],
        "softplus": [random_bits(dtype, n, rng), u(-big, big)],
        "sin": [u(-1e4, 1e4), logu(1e-12, 1e6)],
        "cos": [u(-1e4, 1e4), logu(1e-12, 1e6)],
        "tan": [u(-1e4, 1e4), logu(1e-12, 1e6)],
        "erf": [u(-7, 7), random_bits(dtype, n, rng), logu(1e-12, 1)],
    }[name]
    sp = specials(dtype)
    if name in ("sin", "cos", "tan"):  # documented domain of the argument reduction
        sp = sp[~(np.abs(sp) > vecmath.TRIG_MAX_ARG)]
    return np.concatenate(parts + [sp])


FLOATS = ["float32", "float64"]
UNARY = [n for n in vecmath.NAMES if n not in ARITY]


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("name", UNARY)
def test_unary_accuracy(name, dtype):
    rng = np.random.default_rng(zlib.crc32((name + dtype).encode()))
    x = inputs(name, dtype, rng)
    with np.errstate(all="ignore"):
        ref = REFS[name](x)
    got = run(name, dtype, x)
    err = ulp_error(got, ref, dtype)
    bound = vecmath.ACCURACY[name][dtype == "float64"]
    assert err <= bound, "%s %s: max error %.2f ulp > documented %s" % (name, dtype, err, bound)


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("name", vecmath.NAMES)
def test_scalar_matches_vector(name, dtype):
    rng = np.random.default_rng(7)
    args = [rng.uniform(0.1, 3, 999).astype(dtype) for _ in range(ARITY.get(name, 1))]
    np.testing.assert_array_equal(run(name, dtype, *args, width=1), run(name, dtype, *args))


@pytest.mark.parametrize("dtype", FLOATS)
def test_pow_accuracy(dtype):
    rng = np.random.default_rng(11)
    n = 1 << 16
    lim = 80.0 if dtype == "float32" else 700.0
    x = np.exp(rng.uniform(-25, 25, n))
    y = rng.uniform(-1, 1, n) * np.minimum(lim / np.abs(np.log(x)), 100)  # in range
    xi = -np.exp(rng.uniform(-5, 5, 4096))
    yi = np.round(rng.uniform(-30, 30, 4096))
    xs, ys = np.concatenate([x, xi]).astype(dtype), np.concatenate([y, yi]).astype(dtype)
    err = ulp_error(run("pow", dtype, xs, ys), REFS["pow"](xs, ys), dtype)
    bound = vecmath.ACCURACY["pow"][dtype == "float64"]
    assert err <= bound, "pow %s: max error %.2f ulp > %s" % (dtype, err, bound)


@pytest.mark.parametrize("dtype", FLOATS)
def test_atan2_accuracy(dtype):
    rng = np.random.default_rng(13)
    n = 1 << 16
    mag = np.exp(rng.uniform(-30, 30, (2, n))) * rng.choice([-1, 1], (2, n))
    near = rng.uniform(-2, 2, (2, n))  # ratios near 0.66 and 1, every octant
    y, x = np.concatenate([mag, near], 1).astype(dtype)
    err = ulp_error(run("atan2", dtype, y, x), REFS["atan2"](y, x), dtype)
    bound = vecmath.ACCURACY["atan2"][dtype == "float64"]
    assert err <= bound, "atan2 %s: max error %.2f ulp > %s" % (dtype, err, bound)


@pytest.mark.parametrize("dtype", FLOATS)
def test_atan2_special_cases_follow_c99(dtype):
    fi = np.finfo(dtype)
    v = np.array([0.0, -0.0, 1.0, -1.0, np.inf, -np.inf, np.nan, fi.tiny, fi.smallest_subnormal,
                  fi.max], dtype)
    y, x = (a.ravel() for a in np.meshgrid(v, v))
    with np.errstate(all="ignore"):
        want = np.arctan2(y, x)
    got = run("atan2", dtype, y, x)
    np.testing.assert_array_equal(np.signbit(got), np.signbit(want))
    np.testing.assert_allclose(got, want, rtol=np.finfo(dtype).eps, atol=0)


@pytest.mark.parametrize("dtype", FLOATS)
def test_pow_special_cases_follow_c99(dtype):
    big = np.finfo(dtype).max / 4
    vals = np.array(
        [
            0.0,
            -0.0,
            1.0,
            -1.0,
            0.5,
            -0.5,
            2.0,
            -2.0,
            3.0,
            -3.0,
            np.inf,
            -np.inf,
            np.nan,
            1 / big,
            big,
        ],
        dtype,
    )
    x, y = (a.ravel() for a in np.meshgrid(vals, vals))
    with np.errstate(all="ignore"):
        want = np.power(x, y)
    got = run("pow", dtype, x, y)
    num = ~np.isnan(want)
    np.testing.assert_array_equal(np.signbit(got[num]), np.signbit(want[num]))
    assert ulp_error(got, want.astype(LD), dtype) <= 1


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("name", ["exp", "log", "tanh", "sigmoid", "sin", "erf", "expm1"])
def test_special_values(name, dtype):
    x = specials(dtype)
    if name == "sin":
        x = x[~(np.abs(x) > vecmath.TRIG_MAX_ARG)]
    with np.errstate(all="ignore"):
        want = getattr(np, name, None)
        want = REFS[name](x).astype(dtype) if want is None else want(x)
    got = run(name, dtype, x)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    fin = ~np.isnan(want)
    np.testing.assert_allclose(got[fin], want[fin], rtol=4 * np.finfo(dtype).eps, atol=0)
    odd = name in ("tanh", "sin", "erf", "expm1")
    if odd:  # odd functions keep the sign of zero
        np.testing.assert_array_equal(np.signbit(got[x == 0]), np.signbit(x[x == 0]))


def test_saturation_and_limits():
    f = "float32"
    x = np.array([1e4, -1e4, 100.0, -100.0, -200.0], f)
    np.testing.assert_array_equal(run("exp", f, x), [np.inf, 0, np.inf, np.exp(x[3]), 0])
    np.testing.assert_array_equal(run("tanh", f, x), [1, -1, 1, -1, -1])
    np.testing.assert_array_equal(run("sigmoid", f, x)[:2], [1, 0])
    assert 0 < run("sigmoid", f, np.array([-100.0], f))[0] < 1e-43  # subnormal, not 0
    np.testing.assert_array_equal(
        run("log", f, np.array([0, -1, -np.inf, np.inf], f)), [-np.inf, np.nan, np.nan, np.inf]
    )
    np.testing.assert_array_equal(
        run("log1p", f, np.array([-1, -2, np.inf], f)), [-np.inf, np.nan, np.inf]
    )
    np.testing.assert_array_equal(run("softplus", f, np.array([1e4, -1e4], f)), [1e4, 0])


def test_emit_rejects_mismatched_dtype():
    mod = ir.Module()
    fn = ir.Function(mod, ir.FunctionType(ir.VoidType(), [ir.FloatType()]), "f")
    b = ir.IRBuilder(fn.append_basic_block())
    with pytest.raises(TypeError, match="float.*float64"):
        vecmath.emit(b, "exp", [fn.args[0]], "float64")
    with pytest.raises(KeyError, match="no function 'gamma'"):
        vecmath.emit(b, "gamma", [fn.args[0]], "float32")


def test_tanh_float32_near_saturation_and_tiny():
    """float32 tanh clamps -2|x| at -20: every 7th float32 in [7, 11] (tanh reaches 1)
    and a dense sweep around the tiny-|x| cutoff 2**-13 stay within the documented bound."""
    f = "float32"
    lo, hi = np.array([7.0, 11.0], f).view(np.uint32)
    band = np.arange(lo, hi + 1, 7, dtype=np.uint32).view(f)
    tiny = np.geomspace(2.0**-16, 2.0**-10, 20000).astype(f)
    x = np.concatenate([band, -band, tiny, -tiny])
    err = ulp_error(run("tanh", f, x), np.tanh(x.astype(LD)), f)
    assert err <= vecmath.ACCURACY["tanh"][0], "tanh float32: %.2f ulp" % err
