"""jg.keras.ops: every covered function against keras.ops (Keras 3, TensorFlow backend) and,
where NumPy has the function, against NumPy; eagerly and compiled (cpu backend, the cases of a
chunk traced into one jg.function); gradients through GradientTape against float64 central
differences; a Keras-3-style custom layer and loss written with ``ops`` trained with fit, equal
to tf.keras with copied weights; and the UnimplementedError of the names jitgraph lacks."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import jitgraph as jg
from jitgraph.keras import ops

rng = np.random.default_rng(0)


def _f(*shape, lo=-1.0, hi=1.0):
    return rng.uniform(lo, hi, size=shape).astype(np.float32)


A = _f(3, 4)                      # general floats
B = _f(3, 4)
V = _f(5)
W = _f(5)
P = _f(3, 4, lo=0.5, hi=2.0)      # positive
U = _f(3, 4, lo=-0.9, hi=0.9)     # inside (-1, 1)
G = _f(3, 4, lo=1.1, hi=3.0)      # > 1 (arccosh)
PR = _f(3, 4, lo=0.05, hi=1.0)
PR = PR / PR.sum(-1, keepdims=True)  # rows of probabilities
I = rng.integers(-5, 6, size=(3, 4)).astype(np.int32)
I2 = rng.integers(1, 7, size=(3, 4)).astype(np.int32)
BOOL = rng.uniform(size=(3, 4)) > 0.5
BOOL2 = rng.uniform(size=(3, 4)) > 0.5
M = (_f(4, 4) + 4 * np.eye(4, dtype=np.float32))            # well conditioned
SPD = (M @ M.T + np.eye(4, dtype=np.float32)).astype(np.float32)
A3 = _f(2, 3, 4)
IMG = _f(2, 6, 6, 3)
SEQ = _f(2, 7, 3)
VOL = _f(1, 4, 4, 4, 2)
LBL = rng.integers(0, 4, size=(3,)).astype(np.int32)
Q4 = _f(2, 5, 2, 4)                # (batch, seq, heads, head_dim)
K4 = _f(2, 6, 2, 4)
V4 = _f(2, 6, 2, 4)
NAN = np.array([[1.0, np.nan, 3.0], [np.nan, -2.0, 0.5]], np.float32)
SORTED = np.sort(_f(6))
BIG = rng.integers(-2**31, 2**31 - 1, size=(3, 4)).astype(np.int32)
BIG2 = rng.integers(-2**31, 2**31 - 1, size=(3, 4)).astype(np.int32)
SHIFT = rng.integers(0, 32, size=(3, 4)).astype(np.int32)


class Case:
    """One call ``ops.<name>(*args, **kw)``: numpy arrays among args become traced inputs in
    the compiled run; ``ref`` (a NumPy callable with the same arguments, or True for
    ``np.<name>``) is checked everywhere; ``keras`` compares with keras.ops when installed."""

    def __init__(self, name, *args, ref=None, tol=1e-5, keras=True, graph=True, cmp=None,
                 label=None, **kw):
        self.name, self.args, self.kw = name, args, kw
        self.ref = getattr(np, name) if ref is True else ref
        self.tol, self.keras, self.graph, self.cmp = tol, keras, graph, cmp
        self.id = label or name

    def call(self, mod, args=None):
        fn = mod
        for part in self.name.split("."):  # "image.resize" is ops.image.resize
            fn = getattr(fn, part)
        return fn(*(self.args if args is None else args), **self.kw)


def _adaptive_ref(x, out, reduce):
    h, w = x.shape[1:3]
    rows = [(i * h // out[0], -(-(i + 1) * h // out[0])) for i in range(out[0])]
    cols = [(j * w // out[1], -(-(j + 1) * w // out[1])) for j in range(out[1])]
    return np.stack([np.stack([reduce(x[:, a:b, c:d], axis=(1, 2)) for c, d in cols], 1)
                     for a, b in rows], 1)


def test_unfold_fold_match_keras_and_are_adjoint():
    x = np.transpose(IMG, (0, 3, 1, 2))
    geometry = {"kernel_size": (3, 2), "dilation": (1, 2), "padding": 1, "stride": (2, 1)}
    cols = ops.unfold(x, **geometry)
    y = rng.normal(size=cols.shape).astype(np.float32)
    back = ops.fold(y, (6, 6), **geometry)
    # fold is unfold's adjoint: <unfold(x), y> == <x, fold(y)>
    np.testing.assert_allclose(np.sum(np.asarray(cols) * y), np.sum(x * np.asarray(back)),
                               rtol=1e-4)
    keras = pytest.importorskip("keras")
    t = keras.ops.convert_to_tensor
    np.testing.assert_allclose(cols, np.asarray(keras.ops.unfold(t(x), **geometry)), rtol=1e-6)
    np.testing.assert_allclose(back, np.asarray(keras.ops.fold(t(y), (6, 6), **geometry)),
                               rtol=1e-5, atol=1e-6)


CTC_LOGITS = rng.normal(size=(3, 8, 5)).astype(np.float32)
CTC_TARGET = np.array([[1, 2, 2], [3, 1, 0], [4, 0, 0]], np.int32)
CTC_LENGTHS = (np.array([3, 2, 1], np.int32), np.array([8, 6, 5], np.int32))


def test_ctc_loss_matches_keras_compiled_and_finite_differences():
    args = (CTC_TARGET, CTC_LOGITS, *CTC_LENGTHS)
    ours = _both(ops.ctc_loss, *args)[0]
    keras = pytest.importorskip("keras")
    theirs = keras.ops.ctc_loss(*[keras.ops.convert_to_tensor(a) for a in args])
    np.testing.assert_allclose(ours, np.asarray(theirs), rtol=1e-5)
    _fd_check(lambda z: ops.ctc_loss(CTC_TARGET, z, *CTC_LENGTHS), CTC_LOGITS)


def test_ctc_decode_greedy_matches_keras():
    x = CTC_LOGITS.copy()
    x[0, 1:3] = x[0, 0]  # repeated frames
    for merge in (True, False):
        decoded, scores = _both(lambda v, n, m=merge: ops.ctc_decode(v, n, merge_repeated=m), x,
                                CTC_LENGTHS[1])
        keras = pytest.importorskip("keras")
        t = keras.ops.convert_to_tensor
        k_decoded, k_scores = keras.ops.ctc_decode(t(x), t(CTC_LENGTHS[1]),
                                                   merge_repeated=merge)
        np.testing.assert_array_equal(decoded, np.asarray(k_decoded))
        np.testing.assert_allclose(scores, np.asarray(k_scores), rtol=1e-6)
    with pytest.raises(jg.errors.UnimplementedError, match="strategy='beam_search'"):
        ops.ctc_decode(x, CTC_LENGTHS[1], strategy="beam_search")


def test_adaptive_pools_match_keras():
    keras = pytest.importorskip("keras")
    x = np.arange(2 * 5 * 7 * 3, dtype=np.float32).reshape(2, 5, 7, 3)
    for name in ("adaptive_average_pool", "adaptive_max_pool"):
        theirs = getattr(keras.ops, name)(keras.ops.convert_to_tensor(x), (2, 3))
        np.testing.assert_allclose(getattr(ops, name)(x, (2, 3)), np.asarray(theirs),
                                   rtol=1e-6, err_msg=name)


def _sparsemax(x):
    z = -np.sort(-x, axis=-1)
    k = np.arange(1, x.shape[-1] + 1)
    cum = np.cumsum(z, axis=-1)
    support = 1 + k * z > cum
    kz = support.sum(-1, keepdims=True)
    tau = ((z * support).sum(-1, keepdims=True) - 1) / kz
    return np.maximum(x - tau, 0)


CASES = [
    # --- numpy: elementwise, one argument
    *[Case(n, A, ref=True) for n in (
        "abs", "absolute", "fabs", "negative", "square", "sign", "floor", "ceil", "trunc",
        "exp", "expm1", "sin", "cos", "tan", "sinh", "cosh", "tanh", "arctan", "arcsinh",
        "cbrt", "deg2rad", "rad2deg", "sinc", "signbit", "isnan", "isinf", "isfinite",
        "isposinf", "isneginf", "real", "imag", "conj", "conjugate", "ravel", "exp2")],
    *[Case(n, P, ref=True) for n in ("sqrt", "log", "log1p", "log2", "log10", "reciprocal")],
    *[Case(n, U, ref=True) for n in ("arcsin", "arccos", "arctanh")],
    Case("arccosh", G, ref=True),
    Case("round", A * 10, ref=True),
    Case("round", A * 10, decimals=1, ref=lambda x, decimals: np.round(x, decimals),
         label="round_decimals", tol=1e-4),
    Case("abs", I, ref=True, label="abs_int"),
    Case("sqrt", I2, ref=lambda x: np.sqrt(x).astype(np.float32), label="sqrt_int"),
    Case("logical_not", BOOL, ref=True),
    Case("isreal", A, ref=True),
    Case("angle", A, ref=True),
    Case("i0", A, ref=True),
    Case("nan_to_num", NAN, nan=7.0, ref=lambda x, nan: np.nan_to_num(x, nan=nan)),
    # --- two arguments
    *[Case(n, A, B, ref=True) for n in (
        "add", "subtract", "multiply", "maximum", "minimum", "equal", "not_equal", "less",
        "less_equal", "greater", "greater_equal", "arctan2", "hypot", "logaddexp",
        "logaddexp2", "fmax", "fmin", "nextafter", "heaviside", "copysign"[:0] or "true_divide")],
    Case("divide", A, P, ref=True),
    Case("divide_no_nan", A, np.where(BOOL, 0, P).astype(np.float32),
         ref=lambda a, b: np.where(b == 0, 0, a / np.where(b == 0, 1, b))),
    Case("power", P, A, ref=True),
    Case("floor_divide", I, I2, ref=True),
    Case("mod", I, I2, ref=True),
    Case("fmod", I, I2, ref=True),
    Case("mod", A, P, ref=True, label="mod_float"),
    Case("add", I, A, ref=lambda a, b: a.astype(np.float32) + b, label="add_promote"),
    Case("multiply", A, 2, ref=True, label="multiply_scalar"),
    Case("add", I, 1.5, ref=lambda a, b: (a + b).astype(np.float32), label="add_int_float"),
    Case("add", True, 1, label="add_python_bool_int"),
    Case("add", 1, 2.5, label="add_python_int_float"),
    Case("multiply", BOOL, 2, label="multiply_bool_int"),
    Case("maximum", I.astype(np.int64), A, label="maximum_int64_float32"),
    Case("where", BOOL, 1, 2.5, label="where_int_float"),
    Case("hypot", I, 4, label="hypot_int"),
    Case("logical_and", BOOL, BOOL2, ref=True),
    Case("logical_or", BOOL, BOOL2, ref=True),
    Case("logical_xor", BOOL, BOOL2, ref=True),
    Case("ldexp", A, I, ref=True),
    Case("isclose", A, A + 1e-7, ref=True),
    Case("allclose", A, B, ref=True),
    Case("clip", A, -0.3, 0.4, ref=True),
    Case("where", BOOL, A, B, ref=True),
    Case("where", BOOL, A, 0.0, ref=True, label="where_scalar"),
    Case("select", [BOOL, BOOL2], [A, B], ref=True),
    Case("gcd", I, I2, ref=True),
    Case("lcm", I, I2, ref=True),
    Case("isin", I, np.array([0, 2, -3], np.int32), ref=True),
    # --- reductions
    *[Case(n, A, ref=True) for n in ("sum", "prod", "mean", "std", "var", "max", "min",
                                     "amax", "amin", "ptp", "median", "argmax", "argmin")],
    *[Case(n, A, axis=1, keepdims=True, ref=True, label=f"{n}_axis")
      for n in ("sum", "prod", "mean", "std", "var", "max", "min", "ptp", "median")],
    Case("mean", A3, axis=(0, 2), ref=True, label="mean_axes"),
    Case("argmax", A, axis=1, ref=True, label="argmax_axis"),
    Case("argmin", A, axis=0, keepdims=True, ref=True, label="argmin_keepdims"),
    Case("all", BOOL, axis=1, ref=True),
    Case("any", BOOL, axis=0, ref=True),
    Case("sum", BOOL, ref=True, label="sum_bool"),
    Case("mean", I, ref=lambda x: np.float32(np.mean(x)), label="mean_int"),
    Case("max", A, axis=0, initial=0.5, ref=True, label="max_initial"),
    Case("count_nonzero", I, axis=1, ref=True),
    Case("average", A, axis=1, weights=V[:4] + 2, ref=True),
    Case("cumsum", A, axis=1, ref=True),
    Case("cumsum", A, ref=True, label="cumsum_flat"),
    Case("cumprod", A, axis=0, ref=True),
    Case("quantile", A, np.array([0.1, 0.5, 0.9], np.float32), axis=1, ref=True, tol=1e-4),
    Case("quantile", A, 0.3, method="lower", ref=lambda x, q, method: np.quantile(x, q,
         method=method), label="quantile_lower"),
    Case("percentile", A, 40.0, axis=0, ref=True, tol=1e-4),
    *[Case(n, NAN, ref=True) for n in ("nansum", "nanprod", "nanmax", "nanmin", "nanmean",
                                       "nanvar", "nanstd", "nanargmax", "nanargmin",
                                       "nancumsum", "nancumprod")],
    Case("nanmean", NAN, axis=1, ref=True, label="nanmean_axis"),
    Case("nanmedian", NAN, ref=True),
    Case("nanmedian", NAN, axis=1, keepdims=True, ref=True, label="nanmedian_axis"),
    Case("nanquantile", NAN, np.array([0.2, 0.7], np.float32), axis=0, ref=True, tol=1e-5),
    Case("nanquantile", np.where(BOOL, np.nan, A).astype(np.float32), 0.4, axis=1,
         method="nearest", ref=True, label="nanquantile_nearest"),
    Case("nanpercentile", NAN, 30.0, axis=1, method="midpoint", ref=True),
    # --- creation
    Case("zeros", (2, 3), ref=True),
    Case("ones", (2, 3), ref=True),
    Case("empty", (2, 3), ref=np.zeros),
    Case("full", (2, 3), 1.5, ref=lambda s, v: np.full(s, v, np.float32)),
    Case("zeros_like", A, ref=True),
    Case("ones_like", I, ref=True),
    Case("empty_like", A, ref=np.zeros_like),
    Case("full_like", A, 2.0, ref=True),
    Case("array", [[1, 2], [3, 4]], ref=lambda x: np.array(x, np.int32)),
    Case("copy", A, ref=True),
    Case("arange", 2, 11, 3, ref=True),
    Case("arange", 0.5, 3.0, 0.5, ref=True, label="arange_float"),
    Case("linspace", 0.0, 1.0, 7, ref=True),
    Case("linspace", 0.0, 1.0, 5, endpoint=False, ref=True, label="linspace_open"),
    Case("logspace", 0.0, 2.0, 5, ref=True, tol=1e-4),
    Case("geomspace", 1.0, 100.0, 5, ref=True, tol=1e-4),
    Case("eye", 3, 4, k=1, ref=True),
    Case("identity", 3, ref=True),
    Case("tri", 3, 4, k=-1, ref=True),
    Case("tril", A, ref=True),
    Case("triu", A, k=1, ref=True),
    Case("meshgrid", V[:3], W[:2], ref=True),
    Case("vander", V, ref=True, tol=1e-4),
    Case("hamming", 6, ref=True, tol=1e-5),
    Case("hanning", 6, ref=True, tol=1e-5),
    Case("blackman", 6, ref=True, tol=1e-5),
    Case("bartlett", 6, ref=True, tol=1e-5),
    Case("kaiser", 6, 3.0, ref=True, tol=1e-4),
    # --- shape and data movement
    Case("reshape", A, (2, 6), ref=True),
    Case("reshape", A, (-1,), ref=True, label="reshape_flat"),
    Case("transpose", A3, axes=(2, 0, 1), ref=True),
    Case("transpose", A, ref=True, label="transpose_default"),
    Case("moveaxis", A3, 0, -1, ref=True),
    Case("swapaxes", A3, 0, 2, ref=True),
    Case("expand_dims", A, (0, 3), ref=True),
    Case("squeeze", A[:1], ref=True),
    Case("broadcast_to", V, (3, 5), ref=True),
    Case("concatenate", [A, B], axis=1, ref=True),
    Case("concatenate", [A, B], axis=None, ref=True, keras=False, label="concatenate_flat"),
    Case("append", A, B, axis=0, ref=True),
    Case("stack", [A, B], axis=1, ref=True),
    Case("hstack", [A, B], ref=True),
    Case("vstack", [A, B], ref=True),
    Case("vstack", [V, W], ref=True, keras=False, label="vstack_1d"),  # keras.ops gives (10,)
    Case("dstack", [A, B], ref=True),
    Case("split", A, 2, axis=1, ref=True),
    Case("split", A, [1, 3], axis=1, ref=True, label="split_points"),
    Case("array_split", V, 3, ref=True),
    Case("hsplit", A, 2, ref=True),
    Case("vsplit", A3[0], [1], ref=True),
    Case("dsplit", A3, 2, ref=True),
    Case("tile", A, (2, 1), ref=True),
    Case("tile", V, 2, ref=True, label="tile_int"),
    Case("repeat", A, 2, axis=1, ref=True),
    Case("repeat", A, 2, ref=True, label="repeat_flat"),
    Case("flip", A, axis=1, ref=True),
    Case("flip", A, ref=True, label="flip_all"),
    Case("fliplr", A, ref=True),
    Case("flipud", A, ref=True),
    Case("rot90", A, ref=True),
    Case("rot90", A3, k=3, axes=(1, 2), ref=True, label="rot90_k3"),
    Case("roll", A, 2, axis=1, ref=True),
    Case("roll", A, -3, ref=True, label="roll_flat"),
    Case("pad", A, ((1, 0), (0, 2)), ref=True),
    Case("pad", A, ((1, 1), (2, 1)), mode="reflect", ref=True, label="pad_reflect"),
    Case("pad", A, ((1, 1), (2, 2)), mode="symmetric", ref=True, label="pad_symmetric"),
    Case("take", A, np.array([2, -1, 0], np.int32), axis=1, ref=True),
    Case("take", A, np.array([[5, 0], [11, 3]], np.int32), ref=True, label="take_flat"),
    Case("take_along_axis", A, np.argsort(A, axis=1).astype(np.int32), axis=1, ref=True),
    Case("take_along_axis", A, np.argsort(A, axis=0)[:2].astype(np.int32), axis=0, ref=True,
         label="take_along_axis0"),
    Case("diagonal", A, ref=True),
    Case("diagonal", A3, offset=1, axis1=1, axis2=2, ref=True, label="diagonal_offset"),
    Case("diag", V, k=1, ref=True),
    Case("diag", A, k=-1, ref=True, label="diag_of_matrix"),
    Case("diagflat", V[:3], ref=True),
    Case("trace", A, ref=True),
    Case("trace", A3, offset=-1, axis1=1, axis2=2, ref=True, label="trace_axes"),
    Case("diff", A, ref=True),
    Case("diff", A, n=2, axis=0, ref=True, label="diff_n2"),
    Case("sort", A, axis=0, ref=True),
    Case("argsort", A, axis=1, ref=True),
    Case("searchsorted", SORTED, V, ref=True),
    Case("searchsorted", SORTED, V, side="right", ref=True, label="searchsorted_right"),
    Case("digitize", A, SORTED, ref=True),
    Case("nonzero", I, ref=True, graph=False),
    Case("unravel_index", np.array([3, 7, 11], np.int32), (3, 4), ref=True),
    Case("unique", np.array([[3, 1], [2, 1], [3, 7]], np.int32), return_index=True,
         return_inverse=True, return_counts=True, graph=False),
    Case("unique", A.round(1), sorted=False, return_index=True, return_inverse=True,
         graph=False, label="unique_unsorted"),
    Case("unique", I, size=12, fill_value=-1, return_inverse=True, return_counts=True,
         label="unique_size_padded"),
    Case("unique", I, size=3, return_index=True, return_counts=True,
         label="unique_size_truncated"),
    Case("get_item", A, (slice(None), 1), ref=lambda x, k: x[k]),
    Case("bincount", np.array([0, 1, 1, 3, 2, 1], np.int32), minlength=5, ref=True,
         graph=False),  # its length depends on the values: eager only
    Case("histogram", V, bins=4, ref=True),
    Case("cdist", A, B, ref=lambda a, b: np.sqrt(((a[:, None] - b[None]) ** 2).sum(-1)),
         tol=1e-4),
    Case("argpartition", V, 2, cmp=lambda ours, _: np.sort(V)[2] == V[ours][2], keras=False,
         ref=None),
    Case("size", A, ref=True),
    Case("ndim", A3, ref=True, graph=False),
    # --- products
    Case("matmul", A, B.T, ref=True),
    Case("matmul", A3, V[:4], ref=True, label="matmul_vec"),
    Case("dot", A, B.T, ref=True),
    Case("dot", A3, B.T, ref=True, label="dot_nd"),
    Case("vdot", A, B, ref=True),
    Case("inner", A, B, ref=True),
    Case("outer", V, W, ref=True),
    Case("tensordot", A3, B.T, axes=1, ref=True),
    Case("einsum", "ij,kj->ik", A, B, ref=True),
    Case("kron", A[:2, :2], B[:2, :3], ref=True),
    Case("cross", A[:, :3], B[:, :3], ref=True),
    Case("trapezoid", A, ref=True),
    Case("trapezoid", A, x=SORTED[:4], axis=1, ref=True, keras=False, label="trapezoid_x"),
    Case("correlate", V, W[:3], mode="same", ref=True),
    Case("correlate", V, W[:3], mode="full", ref=True, label="correlate_full"),
    Case("corrcoef", A, ref=True, tol=1e-4),
    # --- nn
    *[Case(n, A) for n in ("relu", "relu6", "sigmoid", "softplus", "softsign", "silu",
                           "swish", "log_sigmoid", "leaky_relu", "elu", "selu", "celu",
                           "gelu", "hard_sigmoid", "hard_silu", "hard_swish", "hard_tanh",
                           "squareplus", "sparse_plus", "sparse_sigmoid", "soft_shrink",
                           "hard_shrink", "tanh_shrink", "glu")],
    # keras.ops' TensorFlow sparsemax thresholds with a sum of cumulative sums; check the
    # definition (Martins & Astudillo, 2016) instead.
    Case("sparsemax", A, keras=False, ref=lambda x: _sparsemax(x)),
    Case("relu", A, ref=lambda x: np.maximum(x, 0), label="relu_np"),
    Case("gelu", A, approximate=False, label="gelu_exact"),
    Case("threshold", A, 0.1, -5.0, ref=lambda x, t, d: np.where(x > t, x, d)),
    Case("softmax", A, ref=lambda x: np.exp(x) / np.exp(x).sum(-1, keepdims=True)),
    Case("softmax", A3, axis=(1, 2), label="softmax_axes"),
    Case("log_softmax", A, axis=0),
    Case("conv", IMG, _f(3, 3, 3, 4)),
    Case("conv", IMG, _f(3, 3, 3, 4), strides=2, padding="same", label="conv_same_s2"),
    Case("conv", IMG, _f(2, 2, 3, 2), dilation_rate=2, label="conv_dilated"),
    Case("conv", SEQ, _f(3, 3, 5), padding="same", label="conv1d"),
    Case("conv", VOL, _f(2, 2, 2, 2, 3), label="conv3d"),
    Case("conv", np.transpose(IMG, (0, 3, 1, 2)), _f(3, 3, 3, 2), data_format="channels_first",
         label="conv_channels_first"),
    Case("depthwise_conv", IMG, _f(3, 3, 3, 2), padding="same"),
    Case("depthwise_conv", SEQ, _f(3, 3, 2), label="depthwise_conv1d"),
    Case("separable_conv", IMG, _f(3, 3, 3, 2), _f(1, 1, 6, 4)),
    Case("conv_transpose", IMG, _f(3, 3, 5, 3), strides=2, padding="same", tol=1e-4),
    Case("conv_transpose", IMG, _f(3, 3, 2, 3), strides=2, label="conv_transpose_valid",
         tol=1e-4),
    Case("conv_transpose", SEQ, _f(3, 2, 3), strides=2, padding="same",
         label="conv_transpose1d", tol=1e-4),
    Case("max_pool", IMG, 2),
    Case("max_pool", IMG, (3, 3), strides=2, padding="same", label="max_pool_same"),
    Case("average_pool", IMG, 2),
    Case("average_pool", IMG, 3, strides=2, padding="same", label="average_pool_same"),
    Case("max_pool", SEQ, 2, label="max_pool1d"),
    # keras.ops' TensorFlow adaptive pools need tensors, hence the NumPy reference here and
    # the keras comparison in test_adaptive_pools_match_keras.
    Case("adaptive_average_pool", IMG[:, :5], (2, 4), keras=False,
         ref=lambda x, o: _adaptive_ref(x, o, np.mean)),
    Case("adaptive_max_pool", IMG[:, :, :5], 3, keras=False,
         ref=lambda x, o: _adaptive_ref(x, (o, o), np.max)),
    Case("adaptive_max_pool", SEQ, 3, keras=False, label="adaptive_max_pool1d",
         ref=lambda x, o: np.stack([x[:, i * 7 // 3:-(-(i + 1) * 7 // 3)].max(1)
                                    for i in range(3)], 1)),
    Case("unfold", np.transpose(IMG, (0, 3, 1, 2)), (3, 2), dilation=(1, 2), padding=1,
         stride=(2, 1), keras=False),
    Case("fold", _f(2, 12, 9), (6, 6), 2, stride=2, keras=False),
    Case("depth_to_space", _f(1, 2, 2, 8), 2),
    Case("space_to_depth", IMG, 2),
    Case("one_hot", LBL, 4),
    Case("one_hot", LBL, 5, axis=0, label="one_hot_axis0"),
    Case("multi_hot", np.array([[1, 3], [0, 2]], np.int32), 5),
    Case("binary_crossentropy", (A > 0).astype(np.float32), PR),
    Case("binary_crossentropy", (A > 0).astype(np.float32), A, from_logits=True,
         label="binary_crossentropy_logits"),
    Case("categorical_crossentropy", np.eye(4, dtype=np.float32)[LBL], PR),
    Case("categorical_crossentropy", np.eye(4, dtype=np.float32)[LBL], A, from_logits=True,
         label="categorical_crossentropy_logits"),
    Case("sparse_categorical_crossentropy", LBL, PR),
    Case("sparse_categorical_crossentropy", LBL, A, from_logits=True,
         label="sparse_categorical_crossentropy_logits"),
    Case("moments", A3, (0, 1)),
    Case("moments", A3, 2, keepdims=True, label="moments_keepdims"),
    Case("batch_normalization", A, V[:4], P[0], axis=1, offset=W[:4], scale=P[1]),
    Case("normalize", A),
    Case("normalize", A, axis=0, order=1, label="normalize_l1"),
    Case("layer_normalization", A3, gamma=P[0], beta=V[:4]),
    Case("rms_normalization", A3, scale=P[0]),
    Case("psnr", PR, PR[::-1], 1.0, tol=1e-4),
    Case("dot_product_attention", Q4, K4, V4, tol=1e-5),
    Case("dot_product_attention", Q4, K4[:, :5], V4[:, :5], is_causal=True,
         label="dot_product_attention_causal"),
    Case("dot_product_attention", Q4, K4, V4, mask=rng.uniform(size=(2, 1, 5, 6)) > 0.3,
         label="dot_product_attention_mask"),
    # --- bitwise
    *[Case(n, BIG, BIG2, ref=True) for n in ("bitwise_and", "bitwise_or", "bitwise_xor")],
    Case("bitwise_and", BIG.astype(np.int64) * 3, np.int64(0xFFFF), ref=True,
         label="bitwise_and_int64"),
    Case("bitwise_xor", BOOL, BOOL2, ref=True, keras=False,  # TF has no bool bitwise
         label="bitwise_xor_bool"),
    Case("bitwise_invert", BIG, ref=np.invert),
    Case("bitwise_not", BOOL, ref=np.invert, keras=False, label="bitwise_not_bool"),
    Case("left_shift", BIG, SHIFT, ref=True),
    Case("right_shift", BIG, SHIFT, ref=True),
    Case("bitwise_left_shift", I, 3, ref=np.left_shift),
    Case("bitwise_right_shift", I, 1, ref=np.right_shift),
    # --- einops
    Case("rearrange", A3, "b h w -> w (b h)"),
    Case("rearrange", IMG, "b (h h1) (w w1) c -> b h w (c h1 w1)", h1=2, w1=3,
         label="rearrange_space_to_depth"),
    Case("rearrange", IMG, "b (h1 h) w c -> (b h1) c h w", h1=3, label="rearrange_split"),
    # --- core
    Case("cast", A * 5, "int32"),
    Case("saturate_cast", A * 1e10, "int32", keras=False,
         ref=lambda x, d: np.clip(x, -2**31, 2**31 - 128).astype(np.int32)),
    Case("convert_to_tensor", [[1.0, 2.0]]),
    Case("stop_gradient", A),
    Case("slice", A, (1, 0), (2, 3), ref=lambda x, s, z: x[1:3, 0:3]),
    Case("slice_update", A, (1, 2), B[:2, :2]),
    Case("scatter", np.array([[0, 1], [2, 3], [0, 1]], np.int32), V[:3], (3, 4)),
    Case("scatter_update", A, np.array([[0, 1], [2, 3]], np.int32), V[:2]),
    Case("unstack", A, axis=1),
    # --- math
    Case("logsumexp", A, axis=1),
    Case("logsumexp", A3, label="logsumexp_all"),
    Case("erf", A), Case("erfc", A), Case("erfinv", U), Case("rsqrt", P),
    Case("top_k", V, 3),
    Case("top_k", A, 2, label="top_k_2d"),
    Case("in_top_k", LBL, A, 2),
    Case("segment_sum", A, np.array([0, 0, 2], np.int32), num_segments=3),
    Case("segment_max", A, np.array([1, 0, 1], np.int32), num_segments=2),
    Case("segment_min", A, np.array([1, 0, 1], np.int32), num_segments=2, keras=False,
         ref=lambda d, s, num_segments: np.stack([d[s == k].min(0) for k in range(2)])),
    Case("segment_prod", A, np.array([1, 0, 1], np.int32), num_segments=2, keras=False,
         ref=lambda d, s, num_segments: np.stack([d[s == k].prod(0) for k in range(2)])),
    Case("extract_sequences", A3, 2, 1),
    Case("qr", M, cmp="abs", tol=1e-4),
    Case("qr", A, mode="complete", cmp="abs", tol=1e-4, label="qr_complete"),
    Case("logdet", SPD, tol=1e-4),
    # --- linalg
    Case("cholesky", SPD, tol=1e-4),
    Case("cholesky", SPD, upper=True, tol=1e-4, label="cholesky_upper"),
    Case("cholesky_inverse", np.linalg.cholesky(SPD), tol=1e-4),
    Case("det", M, tol=1e-4, ref=np.linalg.det),
    Case("slogdet", M, tol=1e-4),
    Case("inv", M, tol=1e-4, ref=np.linalg.inv),
    Case("pinv", A, tol=1e-4, ref=np.linalg.pinv),
    Case("eigh", SPD, cmp="abs", tol=1e-4),
    Case("solve", M, V[:4], tol=1e-4, ref=np.linalg.solve),
    Case("solve", M, A.T, tol=1e-4, label="solve_matrix"),
    Case("solve_triangular", np.tril(M), A.T, lower=True, tol=1e-4),
    Case("lstsq", _f(6, 3), _f(6, 2), tol=1e-4),
    Case("svd", M, cmp="abs", tol=1e-4),
    Case("svd", A, full_matrices=False, cmp="abs", tol=1e-4, label="svd_reduced"),
    Case("svd", A, compute_uv=False, tol=1e-4, label="svd_values"),
    Case("matrix_rank", np.outer(V, W).astype(np.float32), graph=False),
    Case("lu_factor", M, tol=1e-4),
    Case("norm", A, ref=np.linalg.norm),
    # --- image
    Case("image.resize", IMG, (4, 9), tol=1e-4),
    Case("image.resize", IMG[0], (3, 3), interpolation="nearest", label="image.resize_nearest"),
    Case("image.resize", np.transpose(IMG, (0, 3, 1, 2)), (8, 5), data_format="channels_first",
         tol=1e-4, label="image.resize_channels_first"),
    Case("image.crop_images", IMG, top_cropping=1, left_cropping=2, target_height=3,
         target_width=2),
    Case("image.crop_images", IMG[0], bottom_cropping=2, right_cropping=1, target_height=3,
         target_width=4, label="image.crop_images_single"),
    Case("image.pad_images", IMG, top_padding=1, left_padding=2, target_height=9,
         target_width=8),
    Case("image.rgb_to_grayscale", IMG + 1.0, tol=1e-5),
    Case("image.rgb_to_hsv", np.abs(IMG), tol=1e-4),
    Case("image.hsv_to_rgb", np.abs(IMG) * 0.9, tol=1e-4),
    Case("image.affine_transform", IMG, np.array([1.0, 0.1, 0.5, -0.1, 1.0, 0.2, 0.0, 0.0],
                                                 np.float32), tol=1e-4),
    Case("image.affine_transform", IMG, np.array([1.0, 0.0, 1.0, 0.0, 1.0, -1.0, 0.0, 0.0],
                                                 np.float32), interpolation="nearest",
         fill_mode="reflect", label="image.affine_transform_nearest"),
    Case("image.extract_patches", IMG, 2),
    Case("image.extract_patches", IMG, (3, 2), strides=1, padding="same",
         label="image.extract_patches_same"),
    Case("image.gaussian_blur", IMG, (3, 5), (1.0, 2.0), tol=1e-5),
    *[Case("norm", A, ord=o, axis=1, tol=1e-4, label=f"norm_vec_{o}",
           ref=lambda x, ord, axis: np.linalg.norm(x, ord=ord, axis=axis))
      for o in (1, 2, 3, np.inf, -np.inf, 0)],
    *[Case("norm", A3, ord=o, axis=(1, 2), tol=1e-4, label=f"norm_mat_{o}",
           ref=lambda x, ord, axis: np.linalg.norm(x, ord=ord, axis=axis))
      for o in ("fro", "nuc", 1, -1, 2, -2, np.inf, -np.inf)],
]

# Functions tested apart below (structure, control flow, non-tensor results).
TESTED_APART = {"convert_to_numpy", "is_tensor", "dtype", "shape", "custom_gradient", "cond",
                "switch", "while_loop", "fori_loop", "scan", "associative_scan", "map",
                "vectorized_map", "ndim", "jvp", "ctc_loss", "vectorize", "ctc_decode"}


def _leaves(x):
    if isinstance(x, dict):
        return [v for k in sorted(x) for v in _leaves(x[k])]
    if isinstance(x, (list, tuple)):
        return [v for item in x for v in _leaves(item)]
    return [np.asarray(x)]


def _close(got, want, case, what):
    got, want = _leaves(got), _leaves(want)
    assert len(got) == len(want), f"{case.id} ({what}): {len(got)} outputs, expected {len(want)}"
    for g, w in zip(got, want):
        if case.cmp == "abs":
            g, w = np.abs(g), np.abs(w)
        assert g.shape == w.shape, f"{case.id} ({what}): shape {g.shape}, expected {w.shape}"
        if g.dtype == bool or w.dtype == bool or np.issubdtype(w.dtype, np.integer):
            np.testing.assert_array_equal(g, w.astype(g.dtype), err_msg=f"{case.id} ({what})")
        else:
            np.testing.assert_allclose(g.astype(np.float64), w.astype(np.float64),
                                       rtol=case.tol, atol=case.tol, equal_nan=True,
                                       err_msg=f"{case.id} ({what})")


def _ids(cases):
    return [c.id for c in cases]


@pytest.mark.parametrize("case", CASES, ids=_ids(CASES))
def test_eager_matches_numpy_and_keras(case):
    ours = case.call(ops)
    if callable(case.cmp):
        assert np.all(case.cmp(np.asarray(_leaves(ours)[0]), None)), case.id
        return
    if case.ref is not None:
        _close(ours, case.ref(*case.args, **case.kw), case, "NumPy")
    if case.keras:
        keras = pytest.importorskip("keras")
        if keras.backend.backend() != "tensorflow":
            pytest.skip("keras.ops comparison needs the TensorFlow backend")
        theirs = case.call(keras.ops)
        _close(ours, theirs, case, "keras.ops")
        assert [str(v.dtype) for v in _leaves(ours)] == \
            [str(v.dtype) for v in _leaves(theirs)], f"{case.id}: dtypes differ from keras.ops"


def _graph_chunks(n_chunks=6, default=2):
    """Interleaved chunks, each a sample of every kind of case; compiling one takes seconds, so
    the default run compiles ``default`` of them and the slow run the rest."""
    cases = [c for c in CASES if c.graph and not callable(c.cmp)]
    return [pytest.param(cases[i::n_chunks], id=f"chunk{i}",
                         marks=() if i < default else pytest.mark.slow)
            for i in range(n_chunks)]


def _run_traced(chunk, backend):
    """The chunk's cases traced into one jg.function: the numpy arrays among a case's arguments
    are traced inputs, the rest Python constants; returns the outputs per case."""
    inputs, where = [], []
    for c in chunk:
        pos = [i for i, a in enumerate(c.args) if isinstance(a, np.ndarray)]
        where.append((len(inputs), pos))
        inputs.extend(c.args[i] for i in pos)

    def run(*xs):
        outs = []
        for c, (start, pos) in zip(chunk, where):
            args = list(c.args)
            for k, i in enumerate(pos):
                args[i] = xs[start + k]
            outs.append(c.call(ops, args))
        return outs

    return jg.function(run, backend=backend)(*inputs)


@pytest.mark.parametrize("chunk", _graph_chunks())
def test_compiled_matches_eager(chunk):
    for c, got in zip(chunk, _run_traced(chunk, "cpu")):
        _close(got, c.call(ops), c, "compiled vs eager")


def test_interpreter_matches_eager():
    chunk = [c for c in CASES if c.graph and not callable(c.cmp)]
    for c, got in zip(chunk, _run_traced(chunk, "interpreter")):
        _close(got, c.call(ops), c, "interpreter vs eager")


def test_every_covered_function_has_a_case():
    have = {c.name for c in CASES} | TESTED_APART
    missing = sorted(set(ops.COVERED) - have)
    assert not missing, f"jg.keras.ops functions without a test case: {missing}"
    listed = set(ops.__doc__.replace(",", " ").split())
    assert not sorted(set(ops.COVERED) - listed), "covered but not listed in the docstring"


def test_namespace_matches_keras_ops():
    keras = pytest.importorskip("keras")
    theirs = {n for n in dir(keras.ops) if not n.startswith("_")}
    ours = {n for n in dir(ops) if not n.startswith("_")}
    assert not sorted(theirs - ours)
    assert jg.keras.ops is ops
    for sub in ("numpy", "nn", "linalg", "image"):
        theirs = {n for n in dir(getattr(keras.ops, sub)) if not n.startswith("_")}
        assert not sorted(theirs - set(dir(getattr(ops, sub)))), sub


@pytest.mark.parametrize("name", sorted(ops.UNSUPPORTED))
def test_unsupported_names_raise_clearly(name):
    with pytest.raises(jg.errors.UnimplementedError, match=name) as info:
        getattr(ops, name)(A)
    assert ";" in str(info.value)  # says what to do instead


def test_image_names_not_provided_point_at_jg_image():
    keras = pytest.importorskip("keras")
    theirs = {n for n in dir(keras.ops.image) if not n.startswith("_")}
    assert not sorted(theirs - set(dir(ops.image)))
    with pytest.raises(jg.errors.UnimplementedError, match="jg.image"):
        ops.image.ssim(IMG, IMG)
    with pytest.raises(jg.errors.UnimplementedError, match="crop_to_aspect_ratio"):
        ops.image.resize(IMG, (3, 3), crop_to_aspect_ratio=True)


# --- core: structure, control flow, non-tensor results ------------------------------------


def _both(fn, *args):
    """fn(*args) eagerly and compiled (cpu backend), as NumPy leaves."""
    eager = _leaves(fn(*args))
    compiled = _leaves(jg.function(fn, backend="cpu")(*args))
    for e, c in zip(eager, compiled):
        np.testing.assert_allclose(c, e, rtol=1e-5, atol=1e-6)
    return eager


def test_cond_and_switch():
    def f(x):
        a = ops.cond(ops.sum(x) > 0, lambda: x * 2.0, lambda: -x)
        b = ops.switch(ops.cast(ops.sum(x) * 0 + 7, "int32"), [lambda v: v + 1.0,
                                                                 lambda v: v - 1.0], x)
        return a, b
    for x in (A, -np.abs(A)):
        a, b = _both(f, x)
        np.testing.assert_allclose(a, x * 2 if x.sum() > 0 else -x, rtol=1e-6)
        np.testing.assert_allclose(b, x - 1, rtol=1e-6)  # index 7 clamps to the last branch
    assert float(ops.switch(0, [lambda a, b: a + b, lambda a, b: a - b], 2.0, 0.5)) == 2.5


def test_while_loop_and_fori_loop():
    def f(x):
        i, s = ops.while_loop(lambda i, s: i < 5, lambda i, s: (i + 1, s * 2.0),
                              (0, ops.sum(x)))
        single = ops.while_loop(lambda v: ops.sum(v) < 100.0, lambda v: v * 3.0,
                                ops.abs(x) + 0.1)
        capped = ops.while_loop(lambda v: v < 100, lambda v: v + 1, 0, maximum_iterations=7)
        f_out = ops.fori_loop(1, 4, lambda i, v: v * ops.cast(i, "float32"), x)
        return i, s, single, capped, f_out
    i, s, single, capped, f_out = _both(f, A)
    assert i == 5 and capped == 7
    np.testing.assert_allclose(s, A.sum() * 32, rtol=1e-5)
    want = np.abs(A) + 0.1
    while want.sum() < 100:
        want = want * 3
    np.testing.assert_allclose(single, want, rtol=1e-5)
    np.testing.assert_allclose(f_out, A * 6, rtol=1e-6)


def test_scan_map_associative_scan_vectorized_map():
    def f(x):
        carry, ys = ops.scan(lambda c, v: (c + v, {"prod": c * v, "max": ops.max(v)}),
                             ops.zeros((4,)), x)
        rc, rys = ops.scan(lambda c, v: (c * 0.5 + v, c), ops.zeros((4,)), x, reverse=True)
        n_c, n_ys = ops.scan(lambda c, _: (c + 1.0, c * c), 1.0, length=4)
        mapped = ops.map(lambda row: {"s": ops.sum(row), "r": row[::-1]}, x)
        cum = ops.associative_scan(lambda a, b: a + b, x, axis=1)
        rcum = ops.associative_scan(lambda a, b: ops.maximum(a, b), x, reverse=True)
        vm = ops.vectorized_map(lambda row: ops.softmax(row) * 2.0, x)
        return carry, ys, rc, rys, n_c, n_ys, mapped, cum, rcum, vm
    out = _both(f, A)
    carry, mx, prod, rc, rys, n_c, n_ys, r, s, cum, rcum, vm = out
    prefix = np.concatenate([np.zeros((1, 4)), np.cumsum(A, 0)[:-1]])
    np.testing.assert_allclose(carry, A.sum(0), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(prod, prefix * A, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(mx, A.max(1), rtol=1e-6)
    c, want = np.zeros(4), []
    for row in A[::-1]:
        want.append(c)
        c = c * 0.5 + row
    np.testing.assert_allclose(rc, c, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(rys, np.stack(want[::-1]), rtol=1e-5, atol=1e-6)
    assert n_c == 5.0 and list(n_ys) == [1.0, 4.0, 9.0, 16.0]
    np.testing.assert_allclose(r, A[:, ::-1])
    np.testing.assert_allclose(s, A.sum(1), rtol=1e-5)
    np.testing.assert_allclose(cum, np.cumsum(A, 1), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(rcum, np.maximum.accumulate(A[::-1], 0)[::-1])
    e = np.exp(A - A.max(1, keepdims=True))
    np.testing.assert_allclose(vm, 2 * e / e.sum(1, keepdims=True), rtol=1e-5)
    keras = pytest.importorskip("keras")
    k = keras.ops.scan(lambda c, v: (c + v, c * v), np.zeros(4, np.float32), A)
    np.testing.assert_allclose(_leaves(k)[1], prod, rtol=1e-5, atol=1e-6)
    k = keras.ops.associative_scan(lambda a, b: a + b, A, axis=1)
    np.testing.assert_allclose(np.asarray(k), cum, rtol=1e-5, atol=1e-6)


def test_shape_dtype_and_conversions():
    assert ops.shape(A) == (3, 4)
    assert ops.dtype(A) == "float32" and ops.dtype(I) == "int32"
    assert ops.is_tensor(ops.convert_to_tensor(A)) and not ops.is_tensor(A)
    assert isinstance(ops.convert_to_numpy(ops.exp(A)), np.ndarray)
    assert ops.ndim(A3) == 3
    assert ops.convert_to_tensor(1.5).dtype == jg.float32
    assert ops.convert_to_tensor([1, 2]).dtype == jg.int32
    assert ops.convert_to_tensor(A, dtype="float64").dtype == jg.float64

    @jg.function(input_signature=[jg.TensorSpec([None, 4], jg.float32)], backend="cpu")
    def f(x):
        n, d = ops.shape(x)
        assert d == 4 and ops.is_tensor(n)  # unknown dims are scalar tensors
        return ops.reshape(x, (-1, 2)), n * d
    pairs, size = f(A)
    np.testing.assert_array_equal(pairs, A.reshape(-1, 2))
    assert int(size) == 12
    with pytest.raises(jg.errors.UnimplementedError, match="sparse"):
        ops.convert_to_tensor(A, sparse=True)


def test_slice_and_slice_update_with_loop_indices():
    def f(x):
        def body(i, v):
            return ops.slice_update(v, (i, 0), ops.slice(x, (2 - i, 1), (1, 3)))
        return ops.fori_loop(0, 3, body, ops.zeros((3, 3)))
    (got,) = _both(f, A)
    np.testing.assert_array_equal(got, A[::-1, 1:])
    keras = pytest.importorskip("keras")
    theirs = keras.ops.fori_loop(0, 3, lambda i, v: keras.ops.slice_update(
        v, (i, 0), keras.ops.slice(A, (2 - i, 1), (1, 3))), np.zeros((3, 3), np.float32))
    np.testing.assert_array_equal(got, np.asarray(theirs))


def test_jvp_matches_finite_differences_and_keras():
    x, t = A.astype(np.float64), B.astype(np.float64)

    def f(a, b):
        return {"s": ops.softmax(a * b), "n": ops.sum(ops.tanh(a) * b)}, ops.max(a)

    out, tan, aux = ops.jvp(f, (x, x), (t, 2 * t), has_aux=True)
    eps = 1e-6
    hi, lo = f(x + eps * t, x + 2 * eps * t)[0], f(x - eps * t, x - 2 * eps * t)[0]
    for key in ("s", "n"):
        fd = (np.asarray(hi[key]) - np.asarray(lo[key])) / (2 * eps)
        np.testing.assert_allclose(tan[key], fd, rtol=1e-6, atol=1e-8, err_msg=key)
    assert float(aux) == x.max()
    compiled = jg.function(lambda a, v: ops.jvp(lambda z: ops.logsumexp(z, axis=1), (a,), (v,)),
                           backend="cpu")(A, B)
    eager = ops.jvp(lambda z: ops.logsumexp(z, axis=1), (A,), (B,))
    np.testing.assert_allclose(compiled[1], eager[1], rtol=1e-5, atol=1e-6)
    keras = pytest.importorskip("keras")
    theirs = keras.ops.jvp(lambda z: keras.ops.logsumexp(z, axis=1),
                           (keras.ops.convert_to_tensor(A),), (keras.ops.convert_to_tensor(B),))
    np.testing.assert_allclose(eager[1], np.asarray(theirs[1]), rtol=1e-5, atol=1e-6)


def test_vectorize():
    def dot_last(a, b):
        return ops.sum(a * b)
    f = ops.vectorize(dot_last, signature="(n),(n)->()")
    (got,) = _both(f, A3, V[:4])
    np.testing.assert_allclose(got, A3 @ V[:4], rtol=1e-5)
    g = ops.vectorize(lambda a, scale, b: ops.maximum(a, b) * scale, excluded={1})
    np.testing.assert_allclose(g(A, 3.0, V[:4]), np.maximum(A, V[:4]) * 3, rtol=1e-6)
    # keras.ops.vectorize is not available with the TensorFlow backend: compare with NumPy.
    np.testing.assert_allclose(ops.vectorize(lambda a, b: ops.maximum(a, b) - b)(A, V[:4]),
                               np.vectorize(lambda a, b: max(a, b) - b)(A, V[:4]), rtol=1e-6)


def test_custom_gradient():
    @ops.custom_gradient
    def clipped_identity(x):
        def grad(upstream):
            return ops.clip(upstream, -0.1, 0.1)
        return x, grad
    x = jg.Variable(A)
    with jg.GradientTape() as tape:
        y = ops.sum(clipped_identity(x) * 5.0)
    np.testing.assert_allclose(tape.gradient(y, x), np.full_like(A, 0.1))


def test_segment_ops_need_num_segments_inside_a_function():
    ids = np.array([0, 0, 2], np.int32)
    np.testing.assert_allclose(ops.segment_sum(A, ids), [A[:2].sum(0), np.zeros(4), A[2]],
                               rtol=1e-6)
    with pytest.raises(jg.errors.UnimplementedError, match="num_segments"):
        jg.function(lambda d, s: ops.segment_sum(d, s), backend="cpu")(A, ids)


def test_argument_errors_name_the_function():
    with pytest.raises(jg.errors.UnimplementedError, match="rearrange: pattern .* '...'"):
        ops.rearrange(A3, "b ... -> ... b")
    with pytest.raises(jg.errors.InvalidArgumentError, match="cannot split an axis of size 6"):
        ops.rearrange(IMG, "b (h h1) w c -> b h w c h1", h1=4)
    with pytest.raises(jg.errors.UnimplementedError, match="unique: without size"):
        jg.function(lambda x: ops.unique(x), backend="cpu")(I)
    with pytest.raises(jg.errors.InvalidArgumentError, match="ops.conv: padding"):
        ops.conv(IMG, _f(3, 3, 3, 4), padding="full")
    with pytest.raises(jg.errors.InvalidArgumentError, match="ops.quantile: method"):
        ops.quantile(A, 0.5, method="cubic")
    with pytest.raises(jg.errors.InvalidArgumentError, match="ops.pad: mode='reflect'"):
        ops.pad(A, ((0, 0), (5, 0)), mode="reflect")
    with pytest.raises(jg.errors.UnimplementedError, match="svd: full_matrices=True"):
        ops.svd(A)  # non-square: jg.linalg.svd computes reduced factors only
    with pytest.raises(jg.errors.UnimplementedError, match="nonzero|where"):
        jg.function(lambda x: ops.nonzero(x), backend="cpu")(I)


# Functions a layer or loss applies to a batch whose size is unknown when tracing.
BATCH_FREE = {
    "mean": lambda x: ops.mean(x, axis=-1), "softmax": ops.softmax,
    "one_hot": lambda x: ops.one_hot(ops.argmax(x, axis=-1), 4),
    "sparse_cce": lambda x: ops.sparse_categorical_crossentropy(ops.argmax(x, -1), x,
                                                                from_logits=True),
    "cce": lambda x: ops.categorical_crossentropy(ops.softmax(x), ops.softmax(x * 2)),
    "bce": lambda x: ops.binary_crossentropy(ops.sigmoid(x), ops.sigmoid(x * 2)),
    "layer_norm": ops.layer_normalization, "rms_norm": ops.rms_normalization,
    "normalize": ops.normalize, "moments": lambda x: ops.moments(x, [0]),
    "batch_norm": lambda x: ops.batch_normalization(x, ops.mean(x, 0), ops.var(x, 0), axis=-1),
    "top_k": lambda x: ops.top_k(x, 2), "where": lambda x: ops.where(x > 0, x, 0.0),
    "clip": lambda x: ops.clip(x, -1, 1), "matmul": lambda x: ops.matmul(x, ops.transpose(x)),
    "split": lambda x: ops.split(x, [1], axis=-1), "reshape": lambda x: ops.reshape(x, (-1, 2, 2)),
    "take": lambda x: ops.take(x, [0, 2], axis=1), "repeat": lambda x: ops.repeat(x, 2, axis=1),
    "median": lambda x: ops.median(x, axis=-1),
    "take_along_axis": lambda x: ops.take_along_axis(x, ops.argsort(x, axis=-1)[:, :2], -1),
    "pad": lambda x: ops.pad(x, ((0, 0), (1, 1))),
    "diff": lambda x: ops.diff(x, axis=-1), "sparsemax": ops.sparsemax,
    "slice_update": lambda x: ops.slice_update(x, (0, 1), ops.ones((2, 2))),
    "multi_hot": lambda x: ops.multi_hot(ops.argmax(x, -1, keepdims=True), 4),
    "in_top_k": lambda x: ops.in_top_k(ops.argmax(x, -1), x, 1), "histogram": ops.histogram,
    "fori_loop": lambda x: ops.fori_loop(0, 3, lambda i, v: v * 2.0, x),
    "attention": lambda x: ops.dot_product_attention(*[ops.reshape(x, (-1, 1, 1, 4))] * 3),
    "conv_pool": lambda x: ops.max_pool(ops.conv(ops.reshape(x, (-1, 2, 2, 1)),
                                                 np.ones((2, 2, 1, 3), np.float32),
                                                 padding="same"), 2),
    "image": lambda x: ops.image.gaussian_blur(ops.image.pad_images(
        ops.reshape(x, (-1, 2, 2, 1)), 1, 1, target_height=4, target_width=4)),
}


@pytest.mark.parametrize("backend", ["interpreter", pytest.param("cpu", marks=pytest.mark.slow)])
def test_unknown_batch_dim(backend):
    x = np.random.default_rng(5).normal(size=(5, 4)).astype(np.float32)
    names = sorted(BATCH_FREE)
    fn = jg.function(lambda v: [BATCH_FREE[n](v) for n in names], backend=backend,
                     input_signature=[jg.TensorSpec([None, 4], jg.float32)])
    for name, got in zip(names, fn(x)):
        for g, e in zip(_leaves(got), _leaves(BATCH_FREE[name](x))):
            np.testing.assert_allclose(g, e, rtol=1e-5, atol=1e-6, err_msg=name)
    with pytest.raises(jg.errors.UnimplementedError, match="ops.tril/triu"):
        fn = jg.function(ops.tril, input_signature=[jg.TensorSpec([None, 4], jg.float32)])
        fn(x)


# --- gradients ----------------------------------------------------------------------------

D = np.random.default_rng(1)
GRAD_CASES = {
    "mean": lambda x: ops.mean(ops.square(x), axis=-1),
    "softmax": lambda x: ops.softmax(x, axis=0),
    "logsumexp": lambda x: ops.logsumexp(x, axis=1),
    "norm": lambda x: ops.norm(x, axis=1),
    "gelu": lambda x: ops.gelu(x),
    "take_along_axis": lambda x: ops.take_along_axis(x, np.array([[2, 0], [1, 1], [3, 0]]),
                                                     axis=1),
    "where_clip": lambda x: ops.where(x > 0, ops.clip(x, -0.5, 0.5), ops.exp(x)),
    "layer_normalization": lambda x: ops.layer_normalization(x, gamma=np.arange(1.0, 5.0)),
    "binary_crossentropy": lambda x: ops.binary_crossentropy(
        (A > 0).astype(np.float64), x, from_logits=True),
    "categorical_crossentropy": lambda x: ops.categorical_crossentropy(
        np.eye(4)[LBL], ops.softmax(x)),
    "conv": lambda x: ops.conv(ops.reshape(x, (1, 3, 4, 1)), np.ones((2, 2, 1, 2)) * 0.5,
                               padding="same"),
    "max_pool": lambda x: ops.max_pool(ops.reshape(x, (1, 3, 4, 1)), 2, strides=1),
    "scan": lambda x: ops.scan(lambda c, v: (c * v + 1.0, c), ops.ones((4,), "float64"), x)[1],
    "matmul_tanh": lambda x: ops.tanh(ops.matmul(x, ops.transpose(x))),
    "moments": lambda x: ops.moments(x, axes=[0])[1],
    "quantile": lambda x: ops.quantile(x, 0.3, axis=1),
}


def _fd_check(fn, x, compiled=False):
    x = x.astype(np.float64)
    w = D.normal(size=np.shape(fn(x)))

    def scalar(v):
        return ops.sum(ops.convert_to_tensor(fn(v)) * w)
    if compiled:
        @jg.function(backend="cpu")
        def grad(v):
            with jg.GradientTape() as tape:
                tape.watch(v)
                y = scalar(v)
            return tape.gradient(y, v)
        g = np.asarray(grad(jg.constant(x)))
    else:
        v = jg.constant(x)
        with jg.GradientTape() as tape:
            tape.watch(v)
            y = scalar(v)
        g = np.asarray(tape.gradient(y, v))
    d = D.normal(size=x.shape)
    eps = 1e-6
    fd = (float(scalar(x + eps * d)) - float(scalar(x - eps * d))) / (2 * eps)
    np.testing.assert_allclose(np.sum(g * d), fd, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("name", sorted(GRAD_CASES))
def test_gradient_matches_finite_differences(name):
    _fd_check(GRAD_CASES[name], A)


def test_gradient_inside_function():
    _fd_check(GRAD_CASES["layer_normalization"], A, compiled=True)
    _fd_check(GRAD_CASES["scan"], A, compiled=True)


# --- a Keras-3-style custom layer and loss, trained with fit --------------------------------


def _custom(layers, ops_):
    class GatedDense(layers.Layer):
        def __init__(self, units, **kwargs):
            super().__init__(**kwargs)
            self.units = units

        def build(self, input_shape):
            self.w = self.add_weight(shape=(input_shape[-1], self.units),
                                     initializer="glorot_uniform", name="w")
            self.b = self.add_weight(shape=(self.units,), initializer="zeros", name="b")

        def call(self, x):
            h = ops_.matmul(x, self.w) + self.b
            gate = ops_.sigmoid(ops_.mean(h, axis=-1, keepdims=True))
            return ops_.gelu(h) * gate + ops_.layer_normalization(h) * 0.1

    def huberish(y_true, y_pred):
        err = y_pred - y_true
        quad = ops_.where(ops_.abs(err) < 1.0, 0.5 * ops_.square(err), ops_.abs(err) - 0.5)
        return ops_.mean(quad, axis=-1) + 0.01 * ops_.logsumexp(y_pred, axis=-1)

    return GatedDense, huberish


def _custom_metric_and_loss(kmod, ops_):
    class MeanTopError(kmod.metrics.Metric):
        """The mean over samples of each sample's largest absolute error."""

        def __init__(self, name="mean_top_error", **kwargs):
            super().__init__(name=name, **kwargs)
            self.total = self.add_weight(name="total", shape=(), initializer="zeros")
            self.count = self.add_weight(name="count", shape=(), initializer="zeros")

        def update_state(self, y_true, y_pred, sample_weight=None):
            top = ops_.max(ops_.abs(ops_.convert_to_tensor(y_true) - y_pred), axis=-1)
            self.total.assign_add(ops_.sum(top))
            self.count.assign_add(ops_.cast(ops_.shape(top)[0], "float32"))

        def result(self):
            return ops_.divide_no_nan(self.total, self.count)

    class SoftL1(kmod.losses.Loss):
        def call(self, y_true, y_pred):
            d = ops_.convert_to_tensor(y_pred) - ops_.cast(y_true, "float32")
            return ops_.mean(ops_.sqrt(1.0 + ops_.square(d)) - 1.0, axis=-1)

    return MeanTopError, SoftL1


def test_custom_layer_and_loss_fit_like_tf_keras():
    keras = pytest.importorskip("keras")
    if keras.backend.backend() != "tensorflow":
        pytest.skip("needs Keras with the TensorFlow backend")
    data = np.random.default_rng(3)
    X = data.normal(size=(48, 6)).astype(np.float32)
    Y = data.normal(size=(48, 2)).astype(np.float32)

    def build(kmod, ops_):
        layer, loss = _custom(kmod.layers, ops_)
        model = kmod.Sequential([layer(8), layer(5), kmod.layers.Dense(2)])
        model(X[:2])
        model.compile(optimizer=kmod.optimizers.SGD(0.05), loss=loss)
        return model

    theirs = build(keras, keras.ops)
    ours = build(jg.keras, ops)
    ours.set_weights([np.asarray(w) for w in theirs.get_weights()])
    h_theirs = theirs.fit(X, Y, batch_size=16, epochs=2, shuffle=False, verbose=0)
    h_ours = ours.fit(X, Y, batch_size=16, epochs=2, shuffle=False, verbose=0)
    np.testing.assert_allclose(h_ours.history["loss"], h_theirs.history["loss"], rtol=1e-4)
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(ours.predict(X, verbose=0), theirs.predict(X, verbose=0),
                               rtol=1e-4, atol=1e-5)


def test_ops_on_functional_inputs_like_keras():
    """Keras 3 lets ops take KerasTensors in a functional model; here they become layers."""
    keras = pytest.importorskip("keras")
    X = np.random.default_rng(6).normal(size=(16, 4)).astype(np.float32)
    preds = []
    for kmod, ops_ in ((keras, keras.ops), (jg.keras, ops)):
        inp = kmod.Input((4,))
        h = kmod.layers.Dense(3)(inp)
        gate = ops_.sigmoid(ops_.mean(h, axis=-1, keepdims=True))
        out = ops_.concatenate([ops_.multiply(ops_.relu(h), gate),
                                ops_.logsumexp(h, axis=-1, keepdims=True)], axis=-1)
        model = kmod.Model(inp, out)
        model.set_weights([np.full((4, 3), 0.2, np.float32), np.array([0.1, -0.2, 0.3],
                                                                        np.float32)])
        model.compile(optimizer=kmod.optimizers.SGD(0.1), loss="mse")
        model.fit(X, X, batch_size=8, epochs=1, shuffle=False, verbose=0)
        preds.append(model.predict(X, verbose=0))
    np.testing.assert_allclose(preds[1], preds[0], rtol=1e-5, atol=1e-6)
    assert ops.relu(A).shape == (3, 4)  # tensors still take the direct path


def test_python_operators_on_keras_tensors_like_keras():
    """Keras 3's KerasTensor operators (+ - * / // % ** @, comparisons, -, abs, ~, [])
    build the model's graph; here each becomes an ops call, a layer. Against NumPy, and
    against keras with the same weights where it is installed."""
    def build(kmod):
        inp = kmod.Input((5,))
        h = kmod.layers.Dense(4, name="d")(inp)
        y = (h * 2.0 + 1.0) / 3.0 - inp[:, :4] ** 2 + 1.0 // (2.0 + abs(h)) % 0.7
        z = -abs(y)[:, 1:3] @ np.full((2, 2), 0.5, np.float32)
        mask = ~((h > 0.1) | (h <= -0.2)) & (h < 1.0)
        return kmod.Model(inp, [y, z, mask])

    X = np.random.default_rng(8).normal(size=(6, 5)).astype(np.float32)
    ours = build(jg.keras)
    w, b = ours.get_layer("d").get_weights()
    h = X @ w + b
    y = (h * 2 + 1) / 3 - X[:, :4] ** 2 + 1.0 // (2 + np.abs(h)) % 0.7
    want = [y, -np.abs(y)[:, 1:3] @ np.full((2, 2), 0.5), ~((h > 0.1) | (h <= -0.2)) & (h < 1)]
    got = [np.asarray(t) for t in ours(X)]
    for g, v in zip(got, want):
        np.testing.assert_allclose(g, v, rtol=1e-5, atol=1e-6)
    keras = _keras_or_none()
    if keras is not None:
        theirs = build(keras)
        theirs.get_layer("d").set_weights([w, b])
        for g, v in zip(got, theirs(X)):
            np.testing.assert_allclose(g, np.asarray(v), rtol=1e-5, atol=1e-6)
    with pytest.raises(TypeError, match="KerasTensor.*jg.keras.ops"):
        np.asarray(jg.keras.Input((2,)))


def _keras_or_none():
    try:
        import keras
    except ImportError:
        return None
    return keras if keras.__version__.startswith("3") else None


def test_custom_metric_and_loss_class_like_tf_keras():
    keras = pytest.importorskip("keras")
    if keras.backend.backend() != "tensorflow":
        pytest.skip("needs Keras with the TensorFlow backend")
    data = np.random.default_rng(4)
    X = data.normal(size=(40, 3)).astype(np.float32)
    Y = data.normal(size=(40, 2)).astype(np.float32)
    results = []
    for kmod, ops_ in ((keras, keras.ops), (jg.keras, ops)):
        metric, loss = _custom_metric_and_loss(kmod, ops_)
        model = kmod.Sequential([kmod.layers.Dense(2)])
        model(X[:1])
        model.set_weights([np.full((3, 2), 0.3, np.float32), np.zeros(2, np.float32)])
        model.compile(optimizer=kmod.optimizers.SGD(0.1), loss=loss(), metrics=[metric()])
        hist = model.fit(X, Y, batch_size=8, epochs=2, shuffle=False, verbose=0)
        results.append((hist.history, [np.asarray(w) for w in model.get_weights()]))
    (theirs, w_theirs), (ours, w_ours) = results
    assert set(ours) == set(theirs) == {"loss", "mean_top_error"}
    for key in theirs:
        np.testing.assert_allclose(ours[key], theirs[key], rtol=1e-4, err_msg=key)
    for a, b in zip(w_ours, w_theirs):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


# --- generated inputs -----------------------------------------------------------------------

BINARY = {"add": np.add, "subtract": np.subtract, "multiply": np.multiply,
          "maximum": np.maximum, "minimum": np.minimum, "arctan2": np.arctan2,
          "hypot": np.hypot, "logaddexp": np.logaddexp, "greater": np.greater,
          "fmax": np.fmax}
REDUCE = {"sum": np.sum, "mean": np.mean, "max": np.max, "min": np.min, "std": np.std,
          "var": np.var, "prod": np.prod, "logsumexp": None, "argmax": np.argmax,
          "argmin": np.argmin, "median": np.median}


def _floats(shape):
    return hnp.arrays(np.float32, shape, elements=st.floats(-3, 3, width=32))


@settings(max_examples=40, deadline=None)
@given(st.data(), st.sampled_from(sorted(BINARY)),
       hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=4))
def test_generated_broadcasting_binary_ops(data, name, shapes):
    x = data.draw(_floats(shapes.input_shapes[0]))
    y = data.draw(_floats(shapes.input_shapes[1]))
    got = np.asarray(getattr(ops, name)(x, y))
    want = BINARY[name](x, y)
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


@settings(max_examples=40, deadline=None)
@given(st.data(), st.sampled_from(sorted(REDUCE)),
       hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4), st.booleans())
def test_generated_reductions(data, name, shape, keepdims):
    x = data.draw(_floats(shape))
    axis = data.draw(st.none() | st.integers(-len(shape), len(shape) - 1))
    kw = {"axis": axis, "keepdims": keepdims}
    if name in ("argmax", "argmin"):
        x = x + np.arange(x.size, dtype=np.float32).reshape(shape) * 1e-3  # no ties
    got = np.asarray(getattr(ops, name)(x, **kw))
    if name == "logsumexp":
        m = np.max(x, axis=axis, keepdims=True)
        want = np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True)) + m
        want = want if keepdims else np.squeeze(want, axis=axis)
    else:
        want = REDUCE[name](x, **kw)
    assert got.shape == np.shape(want)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


@settings(max_examples=30, deadline=None)
@given(st.data(), hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4))
def test_generated_shape_functions(data, shape):
    x = data.draw(_floats(shape))
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    perm = data.draw(st.permutations(range(len(shape))))
    np.testing.assert_array_equal(ops.transpose(x, perm), np.transpose(x, perm))
    np.testing.assert_array_equal(ops.flip(x, axis), np.flip(x, axis))
    np.testing.assert_array_equal(ops.moveaxis(x, axis, 0), np.moveaxis(x, axis, 0))
    np.testing.assert_array_equal(ops.sort(x, axis), np.sort(x, axis))
    np.testing.assert_allclose(ops.cumsum(x, axis), np.cumsum(x, axis), rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(ops.repeat(x, 2, axis), np.repeat(x, 2, axis))
    np.testing.assert_array_equal(ops.roll(x, 1, axis), np.roll(x, 1, axis))
    idx = np.argsort(x, axis=axis)
    np.testing.assert_array_equal(ops.take_along_axis(x, idx, axis),
                                  np.take_along_axis(x, idx, axis))
    e = np.exp(x - x.max(axis, keepdims=True))
    np.testing.assert_allclose(ops.softmax(x, axis), e / e.sum(axis, keepdims=True),
                               rtol=1e-5, atol=1e-6)
