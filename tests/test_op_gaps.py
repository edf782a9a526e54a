"""TensorFlow names added to jg.math, jg.nn, jg.linalg and the top level (ops/tfmath.py,
ops/nn_more.py, ops/linalg_more.py, ops/arrays_more.py, api_more.py).

Every case: eager == an independent NumPy reference; the interpreter and the cpu backend ==
eager (the cpu cases of a group compile as one jg.function, to keep the run short); float64
central finite differences == the tape's gradient where differentiable. Against TensorFlow
where it is installed; hypothesis over nextafter, truncatediv and unravel_index; error cases
check the message names the op and says what to do.
"""

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from op_cases import _np_conv2d, _np_depthwise, _np_pool2d
from test_ops_cases import numeric_grad_check

import jitgraph as jg

_r = np.random.RandomState(7)


def f64(*shape, lo=-2.0, hi=2.0):
    return _r.uniform(lo, hi, shape)


def f32(*shape, lo=-2.0, hi=2.0):
    return _r.uniform(lo, hi, shape).astype(np.float32)


@dataclass
class Case:
    name: str
    fn: Callable
    args: tuple
    ref: Callable
    grad: bool = True
    compiled: bool = True  # False: needs values known when tracing (eager only)
    tol: float = 0.0
    group: str = ""  # the cases of a group compile as one function on the cpu

    def __repr__(self):
        return self.name


CASES = []
_SECTION = ["math"]
_ITERATIVE = ("expm", "sqrtm", "logm")  # while_loops of solves: the slowest to compile


def case(name, fn, args, ref, grad=True, compiled=True, tol=0.0):
    group = "matrix_functions" if name.split(":")[0] in _ITERATIVE else _SECTION[0]
    CASES.append(Case(name, fn, tuple(args), ref, grad, compiled, tol, group))


# ----------------------------------------------------------------------------- NumPy references


def _lse_scan(x, axis, exclusive=False, reverse=False):
    x = np.moveaxis(x, axis, 0)
    if reverse:
        x = x[::-1]
    out = np.logaddexp.accumulate(x, axis=0)
    if exclusive:
        out = np.concatenate([np.full_like(out[:1], -np.inf), out[:-1]])
    if reverse:
        out = out[::-1]
    return np.moveaxis(out, 0, axis)


def _i1(x):
    k = np.arange(40)
    terms = (np.abs(x)[..., None] / 2) ** (2 * k + 1) / np.array(
        [math.factorial(int(i)) * math.factorial(int(i) + 1) for i in k], float)
    return np.sign(x) * terms.sum(-1)


def _erfc_inv_ref(y):
    """Inverts math.erfc by bisection."""
    out = np.empty_like(y)
    for i, v in np.ndenumerate(y):
        lo, hi = -10.0, 10.0
        for _ in range(200):
            mid = (lo + hi) / 2
            lo, hi = (mid, hi) if math.erfc(mid) > v else (lo, mid)
        out[i] = (lo + hi) / 2
    return out


def _np_lrn(x, r, bias, alpha, beta):
    c = x.shape[-1]
    sq = np.stack([np.sum(x[..., max(0, i - r):i + r + 1] ** 2, -1) for i in range(c)], -1)
    return x / (bias + alpha * sq) ** beta


def _np_d2s(x, bs):
    n, h, w, c = x.shape
    y = x.reshape(n, h, w, bs, bs, c // bs // bs).transpose(0, 1, 3, 2, 4, 5)
    return y.reshape(n, h * bs, w * bs, -1)


def _np_argmax_pool(x, k, s):
    n, h, w, c = x.shape
    oh, ow = (h - k) // s + 1, (w - k) // s + 1
    vals = np.zeros((n, oh, ow, c), x.dtype)
    idx = np.zeros((n, oh, ow, c), np.int64)
    for b in range(n):
        for y in range(oh):
            for z in range(ow):
                for ch in range(c):
                    win = x[b, y * s:y * s + k, z * s:z * s + k, ch]
                    a = np.argmax(win)
                    vals[b, y, z, ch] = win.flat[a]
                    idx[b, y, z, ch] = ((y * s + a // k) * w + z * s + a % k) * c + ch
    return vals, idx


def _np_tridiag(d):
    sup, main, sub = d[..., 0, :], d[..., 1, :], d[..., 2, :]
    m = main.shape[-1]
    a = main[..., :, None] * np.eye(m) + sup[..., :, None] * np.eye(m, k=1) \
        + sub[..., :, None] * np.eye(m, k=-1)
    return a


def _np_banded(bands, lower):
    k, m = bands.shape[-2:]
    a = np.zeros(bands.shape[:-2] + (m, m))
    for j in range(k):
        row = bands[..., j if lower else k - 1 - j, :]
        a += row[..., :, None] * np.eye(m, k=-j if lower else j)
    return a


def _np_revseq(x, lens, sa, ba):
    out = x.copy()
    for b, n in enumerate(lens):
        src = np.take(x, b, axis=ba)
        dst_axis = sa - (sa > ba)
        part = np.take(src, np.arange(n), axis=dst_axis)
        rev = np.flip(part, axis=dst_axis)
        idx = [slice(None)] * x.ndim
        idx[ba] = b
        idx[sa] = slice(0, n)
        out[tuple(idx)] = rev
    return out


def _np_s2b(x, bs, pads):
    xp = np.pad(x, [(0, 0)] + pads + [(0, 0)] * (x.ndim - 1 - len(bs)))
    n, m = x.shape[0], len(bs)
    sizes = xp.shape[1:m + 1]
    shape = [n]
    for s, b in zip(sizes, bs):
        shape += [s // b, b]
    y = xp.reshape(shape + list(xp.shape[m + 1:]))
    perm = [2 + 2 * i for i in range(m)] + [0] + [1 + 2 * i for i in range(m)] + list(
        range(2 * m + 1, y.ndim))
    return y.transpose(perm).reshape([n * int(np.prod(bs))] + [s // b for s, b in
                                                                zip(sizes, bs)]
                                     + list(xp.shape[m + 1:]))


def _np_spd(n, batch=()):
    a = _r.normal(size=batch + (n, n))
    return a @ np.swapaxes(a, -1, -2) + n * np.eye(n)


def _np_sym_fn(a, fn):
    w, v = np.linalg.eigh(a)
    return (v * fn(w)[..., None, :]) @ np.swapaxes(v, -1, -2)


# ----------------------------------------------------------------------------- jg.math

_XZ = np.array([[2.0, 0.0, -0.5], [0.0, 1.5, -3.0]])
case("reciprocal_no_nan", jg.math.reciprocal_no_nan, [_XZ],
     lambda x: np.where(x == 0, 0.0, 1 / np.where(x == 0, 1, x)), grad=False)
case("reciprocal_no_nan:grad", jg.math.reciprocal_no_nan, [f64(3, 4, lo=0.5)],
     lambda x: 1 / x)
case("multiply_no_nan", jg.math.multiply_no_nan,
     [np.array([np.inf, np.nan, 2.0, -1.0]), np.array([0.0, 0.0, 3.0, 0.5])],
     lambda x, y: np.where(y == 0, 0.0, x * y), grad=False)
case("multiply_no_nan:grad", jg.math.multiply_no_nan, [f64(3, 4), f64(4)], np.multiply)
for _ax, _ex, _rev in [(0, False, False), (1, True, False), (-1, False, True), (1, True, True)]:
    case(f"cumulative_logsumexp:{_ax}{'e' if _ex else ''}{'r' if _rev else ''}",
         lambda x, a=_ax, e=_ex, r=_rev: jg.math.cumulative_logsumexp(
             x, axis=a, exclusive=e, reverse=r),
         [f64(3, 4) * 30], lambda x, a=_ax, e=_ex, r=_rev: _lse_scan(x, a, e, r),
         grad=not _ex)
case("cumulative_logsumexp:f32", lambda x: jg.math.cumulative_logsumexp(x, axis=1),
     [f32(2, 5) * 40], lambda x: _lse_scan(x.astype(np.float64), 1).astype(np.float32),
     tol=1e-5)
case("cumulative_logsumexp:spread", jg.math.cumulative_logsumexp,  # exp underflows: exact
     [np.array([-100.0, 100.0, -50.0, 99.0], np.float32)],
     lambda x: _lse_scan(x.astype(np.float64), 0).astype(np.float32), tol=1e-6)
case("cumulative_logsumexp:-inf", lambda x: jg.math.cumulative_logsumexp(x, reverse=True),
     [np.array([-np.inf, -np.inf, 1.0])], lambda x: _lse_scan(x, 0, reverse=True), grad=False)
case("invert_permutation", jg.math.invert_permutation,
     [np.array([3, 4, 0, 2, 1], np.int32)], lambda x: np.argsort(x).astype(x.dtype))
case("invert_permutation:int64", jg.math.invert_permutation, [_r.permutation(9).astype(np.int64)],
     np.argsort)
for _nm, _fn, _cmp in [("is_non_decreasing", jg.math.is_non_decreasing, np.greater_equal),
                       ("is_strictly_increasing", jg.math.is_strictly_increasing,
                        np.greater)]:
    for _arr in ([[1, 2], [2, 5]], [[1.0, 2.0], [2.5, 2.0]], [3]):
        _a = np.array(_arr)
        case(f"{_nm}:{_a.tolist()}", _fn, [_a],
             lambda x, c=_cmp: np.array(bool(np.all(c(x.ravel()[1:], x.ravel()[:-1])))),
             grad=False)
case("zero_fraction", jg.math.zero_fraction, [np.array([[0, 1, 0], [2, 0, 0]], np.int32)],
     lambda x: np.float32(np.mean(x == 0)), grad=False)
case("zero_fraction:nn", jg.nn.zero_fraction, [np.array([0.0, 1.5, 0.0, 2.0])],
     lambda x: np.float32(np.mean(x == 0)), grad=False)
case("segment_prod", jg.math.segment_prod,
     [f64(5, 2), np.array([0, 0, 1, 3, 3], np.int32)],
     lambda d, i: np.stack([np.prod(d[i == k], 0) for k in range(4)]), compiled=False)
case("unsorted_segment_sqrt_n",
     lambda d, i: jg.math.unsorted_segment_sqrt_n(d, i, 4),
     [f64(6, 3), np.array([2, 0, 2, 1, 2, 0], np.int32)],
     lambda d, i: np.stack([d[i == k].sum(0) / max(np.sqrt((i == k).sum()), 1)
                            for k in range(4)]))
case("bessel_i0", jg.math.bessel_i0, [f64(7, lo=-8, hi=8)], np.i0, tol=1e-9)
case("bessel_i1", jg.math.bessel_i1, [f64(7, lo=-8, hi=8)], _i1, tol=1e-9)
case("erfcinv", jg.math.erfcinv, [f64(8, lo=0.02, hi=1.98)], _erfc_inv_ref, tol=1e-9)
case("nextafter", jg.math.nextafter,
     [np.array([1.0, 0.0, -0.0, 1e-310, -2e-308, np.inf, -np.inf, 1.0, np.nan, 2.0]),
      np.array([2.0, -1.0, 1.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0])], np.nextafter,
     grad=False)
case("nextafter:f32", jg.math.nextafter,
     [np.array([1.0, 1e-40, -2e-38, 4.7e-38, 3.4e38, 0.5], np.float32),
      np.array([0.0, 0.0, 0.0, -1.0, np.inf, 1.0], np.float32)], np.nextafter, grad=False)
case("scalar_mul", lambda x: jg.math.scalar_mul(2.5, x), [f64(2, 3)], lambda x: 2.5 * x)
case("scalar_mul:tensor", jg.scalar_mul, [np.array(-1.5), f64(4)], lambda s, x: s * x)
case("accumulate_n", lambda a, b, c: jg.math.accumulate_n([a, b, c]),
     [f64(2, 3), f64(2, 3), f64(2, 3)], lambda a, b, c: a + b + c)
case("math.softmax", lambda x: jg.math.softmax(x, axis=0), [f64(3, 4)],
     lambda x: np.exp(x) / np.exp(x).sum(0))
case("math.log_softmax", jg.math.log_softmax, [f64(3, 4)],
     lambda x: x - np.log(np.exp(x).sum(-1, keepdims=True)))

# ----------------------------------------------------------------------------- jg.nn
_SECTION[0] = "nn"

_X4 = f64(2, 6, 5, 4)
case("softsign", jg.nn.softsign, [f64(3, 4)], lambda x: x / (1 + np.abs(x)))
case("crelu", jg.nn.crelu, [f64(2, 3)],
     lambda x: np.concatenate([np.maximum(x, 0), np.maximum(-x, 0)], -1))
case("crelu:axis0", lambda x: jg.nn.crelu(x, axis=0), [f64(2, 3)],
     lambda x: np.concatenate([np.maximum(x, 0), np.maximum(-x, 0)], 0))
_W = f64(3, 3, 4, 2)
case("convolution", lambda x, w: jg.nn.convolution(x, w, padding="SAME"), [_X4, _W],
     lambda x, w: _np_conv2d(x, w, (1, 1), "SAME"))
case("convolution:1d", lambda x, w: jg.nn.convolution(x, w, strides=2),
     [f64(2, 9, 3), f64(3, 3, 2)],
     lambda x, w: _np_conv2d(x[:, None], w[None], (1, 2))[:, 0])
case("pool:max", lambda x: jg.nn.pool(x, [2, 3], "MAX", strides=[2, 1], padding="SAME"),
     [_X4], lambda x: _np_pool2d(x, (2, 3), (2, 1), "SAME", np.max))
case("pool:avg", lambda x: jg.nn.pool(x, [3, 2], "AVG", padding="VALID"), [_X4],
     lambda x: _np_pool2d(x, (3, 2), (1, 1), "VALID", np.mean))
case("separable_conv2d",
     lambda x, dw, pw: jg.nn.separable_conv2d(x, dw, pw, [1, 1, 1, 1], "SAME"),
     [_X4, f64(3, 3, 4, 2), f64(1, 1, 8, 3)],
     lambda x, dw, pw: _np_conv2d(_np_depthwise(x, dw, (1, 1), "SAME"), pw))
case("atrous_conv2d", lambda x, w: jg.nn.atrous_conv2d(x, w, 2, "VALID"),
     [f64(1, 7, 7, 4), _W], lambda x, w: _np_conv2d(x, w, (1, 1), "VALID", (2, 2)))
case("depth_to_space", lambda x: jg.nn.depth_to_space(x, 2), [f64(2, 2, 3, 8)],
     lambda x: _np_d2s(x, 2))
case("space_to_depth", lambda x: jg.nn.space_to_depth(x, 2), [f64(1, 4, 6, 3)],
     lambda x: _np_d2s(x, 2) if False else x.reshape(1, 2, 2, 3, 2, 3).transpose(
         0, 1, 3, 2, 4, 5).reshape(1, 2, 3, 12))
case("local_response_normalization",
     lambda x: jg.nn.local_response_normalization(x, 2, 1.5, 0.3, 0.7), [_X4],
     lambda x: _np_lrn(x, 2, 1.5, 0.3, 0.7))
case("lrn", jg.nn.lrn, [f64(1, 2, 2, 13)], lambda x: _np_lrn(x, 5, 1.0, 1.0, 0.5))
case("sufficient_statistics",
     lambda x: jg.nn.sufficient_statistics(x, [0, 2], shift=0.5)[:3], [_X4],
     lambda x: (np.array(10.0), (x - 0.5).sum((0, 2)), ((x - 0.5) ** 2).sum((0, 2))))
case("normalize_moments",
     lambda c, m, v: jg.nn.normalize_moments(c, m, v, 0.25),
     [np.array(6.0), f64(3), f64(3, lo=4, hi=5)],
     lambda c, m, v: (m / c + 0.25, v / c - (m / c) ** 2))
_FW = f64(1, 6, 1, 4, lo=0.1, hi=1.0)


def _np_wmom(x, w, axes):
    w = w + np.zeros_like(x)
    mean = (w * x).sum(axes, keepdims=True) / w.sum(axes, keepdims=True)
    var = (w * (x - mean) ** 2).sum(axes, keepdims=True) / w.sum(axes, keepdims=True)
    return mean.squeeze(axes), var.squeeze(axes)


case("weighted_moments", lambda x, w: jg.nn.weighted_moments(x, [0, 1], w), [_X4, _FW],
     lambda x, w: _np_wmom(x, w, (0, 1)))
case("max_pool_with_argmax",
     lambda x: jg.nn.max_pool_with_argmax(x, 2, 2, "VALID"), [f64(2, 5, 4, 3)],
     lambda x: _np_argmax_pool(x, 2, 2))
case("max_pool_with_argmax:int32", lambda x: jg.nn.max_pool_with_argmax(
    x, 3, 1, "VALID", output_dtype=jg.int32)[1], [f64(1, 4, 4, 2)],
     lambda x: _np_argmax_pool(x, 3, 1)[1].astype(np.int32), grad=False)

# ----------------------------------------------------------------------------- jg.linalg
_SECTION[0] = "linalg"

case("cross", jg.linalg.cross, [f64(4, 3), f64(3)], np.cross)
case("normalize", lambda x: jg.linalg.normalize(x, axis=1), [f64(3, 4)],
     lambda x: (x / np.linalg.norm(x, axis=1, keepdims=True),
                np.linalg.norm(x, axis=1, keepdims=True)))
case("expm:sym", jg.linalg.expm, [_np_spd(3, (2,)) * 0.3],
     lambda a: _np_sym_fn(a, np.exp), tol=1e-8)
case("expm:nilpotent", jg.linalg.expm, [np.triu(f64(4, 4) * 20, 1)],
     lambda a: sum(np.linalg.matrix_power(a, k) / math.factorial(k) for k in range(4)),
     tol=1e-8)
case("sqrtm", jg.linalg.sqrtm, [_np_spd(3, (2,))], lambda a: _np_sym_fn(a, np.sqrt),
     tol=1e-9)
case("logm", jg.linalg.logm, [_np_spd(3)], lambda a: _np_sym_fn(a, np.log), tol=1e-9)
_D = f64(2, 3, 5) + np.array([0.0, 6.0, 0.0])[:, None]
case("tridiagonal_solve", jg.linalg.tridiagonal_solve, [_D, f64(2, 5, 2)],
     lambda d, b: np.linalg.solve(_np_tridiag(d), b))
case("tridiagonal_solve:vector", jg.linalg.tridiagonal_solve, [_D, f64(2, 5)],
     lambda d, b: np.linalg.solve(_np_tridiag(d), b[..., None])[..., 0])
case("tridiagonal_solve:sequence", lambda a, b, c, r: jg.linalg.tridiagonal_solve(
    [a, b, c], r, diagonals_format="sequence"), [_D[:, 0], _D[:, 1], _D[:, 2], f64(2, 5, 1)],
     lambda a, b, c, r: np.linalg.solve(_np_tridiag(np.stack([a, b, c], 1)), r))
case("tridiagonal_matmul", jg.linalg.tridiagonal_matmul, [_D, f64(2, 5, 3)],
     lambda d, b: _np_tridiag(d) @ b)
case("tensor_diag", jg.linalg.tensor_diag, [f64(2, 3)],
     lambda d: np.diag(d.ravel()).reshape(2, 3, 2, 3))
case("tensor_diag_part", jg.linalg.tensor_diag_part, [f64(2, 3, 2, 3)],
     lambda x: np.diag(x.reshape(6, 6)).reshape(2, 3))
_B = f64(2, 3, 5) + np.array([4.0, 0.0, 0.0])[:, None]
case("banded_triangular_solve", jg.linalg.banded_triangular_solve, [_B, f64(2, 5, 2)],
     lambda b, r: np.linalg.solve(_np_banded(b, True), r))
case("banded_triangular_solve:upper_adjoint",
     lambda b, r: jg.linalg.banded_triangular_solve(b, r, lower=False, adjoint=True),
     [_B[:, ::-1].copy(), f64(2, 5, 2)],
     lambda b, r: np.linalg.solve(np.swapaxes(_np_banded(b, False), -1, -2), r))

# ----------------------------------------------------------------------------- top level
_SECTION[0] = "top"
_XS = f64(3, 5, 2)
case("reverse_sequence",
     lambda x: jg.reverse_sequence(x, [2, 5, 0], seq_axis=1, batch_axis=0), [_XS],
     lambda x: _np_revseq(x, [2, 5, 0], 1, 0))
case("reverse_sequence:axes", lambda x, n: jg.reverse_sequence(x, n, seq_axis=0, batch_axis=2),
     [_XS, np.array([1, 3], np.int64)], lambda x, n: _np_revseq(x, n, 0, 2))
case("unravel_index", lambda i: jg.unravel_index(i, [2, 3, 4]),
     [np.array([0, 5, 23, 17], np.int32)],
     lambda i: np.stack(np.unravel_index(i, (2, 3, 4))).astype(np.int32))
case("repeat", lambda x: jg.repeat(x, [1, 0, 2], axis=1), [f64(2, 3)],
     lambda x: np.repeat(x, [1, 0, 2], axis=1))
case("repeat:flat", lambda x: jg.repeat(x, 2), [f64(2, 2)], lambda x: np.repeat(x, 2))
_P = np.array([0, 2, 1, 0, 2, 2], np.int32)
case("dynamic_partition", lambda d, p: jg.dynamic_partition(d, p, 3), [f64(6, 2), _P],
     lambda d, p: [d[p == i] for i in range(3)], compiled=False)
case("dynamic_partition:const", lambda d: jg.dynamic_partition(d, _P, 3), [f64(6, 2)],
     lambda d: [d[_P == i] for i in range(3)])
case("dynamic_stitch", lambda a, b: jg.dynamic_stitch([[0, 2], [1, 3, 2]], [a, b]),
     [f64(2, 2), f64(3, 2)], lambda a, b: np.stack([a[0], b[0], b[2], b[1]]))
_V = np.array([-1.0, 0.0, 1.5, 2.0, 5.0, 15, 4.99, 2.5])
case("histogram_fixed_width", lambda v: jg.histogram_fixed_width(v, [0.0, 5.0], nbins=5),
     [_V], lambda v: np.bincount(np.clip(np.floor(v), 0, 4).astype(int), minlength=5).astype(
         np.int32), grad=False)
case("histogram_fixed_width_bins",
     lambda v: jg.histogram_fixed_width_bins(v, [0.0, 5.0], nbins=4), [_V],
     lambda v: np.clip(np.floor(4 * v / 5), 0, 3).astype(np.int32), grad=False)
case("space_to_batch_nd", lambda x: jg.space_to_batch_nd(x, [2, 3], [[0, 0], [1, 2]]),
     [f64(2, 4, 6, 3)], lambda x: _np_s2b(x, [2, 3], [(0, 0), (1, 2)]))
case("space_to_batch", lambda x: jg.space_to_batch(x, [2], [[1, 1]]), [f64(2, 4, 3)],
     lambda x: _np_s2b(x, [2], [(1, 1)]))
case("batch_to_space", lambda x: jg.batch_to_space(
    jg.space_to_batch_nd(x, [2, 3], [[0, 0], [1, 2]]), [2, 3], [[0, 0], [1, 2]]),
     [f64(2, 4, 6, 3)], lambda x: x)
case("realdiv", jg.realdiv, [f64(3, 2), f64(2, lo=0.5)], np.divide)
_I = np.array([-7, 7, -8, 8, 0, 5, -1], np.int32)
_J = np.array([2, -2, 2, -3, 3, 5, 4], np.int32)
case("truncatediv", jg.truncatediv, [_I, _J], lambda a, b: np.fix(a / b).astype(np.int32),
     grad=False)
case("truncatediv:float", jg.truncatediv, [_I * 1.0, _J * 1.0],
     lambda a, b: np.fix(a / b), grad=False)
case("saturate_cast", lambda x: jg.saturate_cast(x, jg.int32),
     [np.array([1e10, -1e10, 3.7, -3.7, 2147483647.0, np.inf], np.float32)],
     # the clamp is the largest float32 below 2**31, as TensorFlow's
     lambda x: np.array([2147483520, -2147483648, 3, -3, 2147483520, 2147483520],
                        np.int32), grad=False)
case("saturate_cast:f32", lambda x: jg.saturate_cast(x, jg.float32),
     [np.array([1e300, -1e300, 1.5])],
     lambda x: np.clip(x, -3.4028234663852886e38, 3.4028234663852886e38).astype(np.float32),
     grad=False)
case("shape_n", lambda a, b: jg.shape_n([a, b]), [f64(2, 3), f64(4)],
     lambda a, b: [np.array(a.shape, np.int32), np.array(b.shape, np.int32)], grad=False)
case("parallel_stack", lambda a, b: jg.parallel_stack([a, b]), [f64(2, 3), f64(2, 3)],
     lambda a, b: np.stack([a, b]))
case("broadcast_dynamic_shape", jg.broadcast_dynamic_shape,
     [np.array([2, 1, 3], np.int32), np.array([4, 1], np.int32)],
     lambda a, b: np.array(np.broadcast_shapes(tuple(a), tuple(b)), np.int32), grad=False)
case("case", lambda x: jg.case([(jg.reduce_sum(x) < 0, lambda: -x),
                                 (jg.reduce_sum(x) > 100, lambda: x - 100)],
                                default=lambda: x * 2), [f64(3)],
     lambda x: -x if x.sum() < 0 else x - 100 if x.sum() > 100 else 2 * x)
case("tuple", lambda a, b: jg.tuple([a, b]), [f64(2), f64(3)], lambda a, b: [a, b])


def _flat(out):
    return [np.asarray(o) for o in out] if isinstance(out, (list, tuple)) else [
        np.asarray(out)]


def _close(got, want, tol):
    got, want = _flat(got), _flat(want)
    assert len(got) == len(want)
    for g, w in zip(got, want):
        g, w = np.asarray(g), np.asarray(w)
        assert g.shape == w.shape, (g.shape, w.shape)
        assert g.dtype == w.dtype, (g.dtype, w.dtype)
        if g.dtype.kind == "f":
            t = tol or (1e-5 if g.dtype == np.float32 else 1e-11)
            np.testing.assert_allclose(g, w, rtol=t, atol=t)
        else:
            np.testing.assert_array_equal(g, w)


def _eager(c):
    return c.fn(*[jg.constant(a) for a in c.args])


def _numpy(out):
    return [o.numpy() for o in out] if isinstance(out, (list, tuple)) else out.numpy()


@pytest.mark.parametrize("c", CASES, ids=repr)
def test_eager_matches_numpy(c):
    with np.errstate(all="ignore"):
        want = c.ref(*c.args)
    _close(_numpy(_eager(c)), want, c.tol)


_COMPILED = [c for c in CASES if c.compiled]


@pytest.mark.parametrize("c", _COMPILED, ids=repr)
def test_interpreter_matches_eager(c):
    got = jg.function(c.fn, backend="interpreter")(*c.args)
    _close(_numpy(got), _numpy(_eager(c)), c.tol or 1e-12)


_GROUPS = {}
for _c in _COMPILED:
    _GROUPS.setdefault(_c.group, []).append(_c)


@pytest.mark.parametrize("group", [pytest.param(g, marks=pytest.mark.slow)
                                   if g == "matrix_functions" else g for g in sorted(_GROUPS)])
def test_cpu_matches_eager(group):
    """All the cases of a group in one compiled function (one compile)."""
    cases = _GROUPS[group]
    sizes = [len(c.args) for c in cases]

    def run_all(*flat):
        outs, i = [], 0
        for c, n in zip(cases, sizes):
            outs.append(c.fn(*flat[i:i + n]))
            i += n
        return outs

    flat = [a for c in cases for a in c.args]
    got = jg.function(run_all, backend="cpu")(*flat)
    for c, g in zip(cases, got):
        _close(_numpy(g), _numpy(_eager(c)), c.tol or 1e-12)


_GRAD = [c for c in CASES if c.grad and any(np.asarray(a).dtype == np.float64
                                            for a in c.args)]


def _summed(fn):
    def f(*xs):
        out = fn(*xs)
        if isinstance(out, (list, tuple)):
            fl = [o for o in out if o.dtype.is_floating]
            return jg.add_n([jg.reduce_sum(o * (k + 1.0)) for k, o in enumerate(fl)])
        return out

    return f


@pytest.mark.parametrize("c", _GRAD, ids=repr)
def test_gradient_matches_finite_differences(c):
    numeric_grad_check(_summed(c.fn), c.args, tol=1e-5)


@pytest.mark.parametrize("names", [
    ("cumulative_logsumexp:0", "reverse_sequence", "max_pool_with_argmax", "weighted_moments",
     "tridiagonal_solve"),
    pytest.param(("expm:sym", "sqrtm", "logm"), marks=pytest.mark.slow)], ids=["ops", "iter"])
def test_compiled_gradients_match_eager(names):
    """Gradients through the compositions inside a jg.function (graph autodiff) equal the
    eager tape's, for some with control flow or index tables."""
    picks = [c for c in _GRAD if c.name in names]

    def grads(*flat):
        out, i = [], 0
        for c in picks:
            xs = flat[i:i + len(c.args)]
            i += len(c.args)
            with jg.GradientTape() as t:
                for x in xs:
                    t.watch(x)
                y = jg.reduce_sum(_summed(c.fn)(*xs))
            out.append(t.gradient(y, list(xs)))
        return out

    flat = [a for c in picks for a in c.args]
    eager = grads(*[jg.constant(a) for a in flat])
    compiled = jg.function(grads, backend="cpu")(*flat)
    for e, g in zip(eager, compiled):
        for a, b in zip(e, g):
            if a is not None:
                np.testing.assert_allclose(b.numpy(), a.numpy(), rtol=1e-9, atol=1e-9)


# ----------------------------------------------------------------------------- hypothesis


@given(st.lists(st.floats(allow_nan=True, allow_infinity=True, width=32), min_size=1,
                max_size=8),
       st.lists(st.floats(allow_nan=True, allow_infinity=True, width=32), min_size=1,
                max_size=8))
def test_nextafter_matches_numpy(xs, ys):
    n = min(len(xs), len(ys))
    for dt in (np.float32, np.float64):
        x, y = np.array(xs[:n], dt), np.array(ys[:n], dt)
        np.testing.assert_array_equal(jg.math.nextafter(x, y).numpy(), np.nextafter(x, y))


_NEXT_CPU = {}


@given(st.lists(st.floats(width=32), min_size=6, max_size=6),
       st.lists(st.sampled_from([0.0, np.inf, -np.inf, 1.0, -1e-45]), min_size=6,
                max_size=6))
def test_nextafter_compiled_matches_numpy(xs, ys):
    if "f" not in _NEXT_CPU:
        _NEXT_CPU["f"] = jg.function(jg.math.nextafter, backend="cpu")
    x, y = np.array(xs, np.float32), np.array(ys, np.float32)
    np.testing.assert_array_equal(_NEXT_CPU["f"](x, y).numpy(), np.nextafter(x, y))


@given(st.lists(st.integers(-1000, 1000), min_size=1, max_size=10),
       st.lists(st.integers(-50, 50).filter(bool), min_size=1, max_size=10))
def test_truncatediv_matches_c_division(a, b):
    n = min(len(a), len(b))
    x, y = np.array(a[:n], np.int64), np.array(b[:n], np.int64)
    want = np.array([int(p / q) for p, q in zip(a[:n], b[:n])], np.int64)
    np.testing.assert_array_equal(jg.truncatediv(x, y).numpy(), want)


@given(st.lists(st.integers(1, 5), min_size=1, max_size=4), st.data())
def test_unravel_index_matches_numpy(dims, data):
    total = int(np.prod(dims))
    idx = data.draw(st.lists(st.integers(0, total - 1), min_size=1, max_size=6))
    got = jg.unravel_index(np.array(idx, np.int64), dims).numpy()
    np.testing.assert_array_equal(got, np.stack(np.unravel_index(idx, dims)))


# ----------------------------------------------------------------------------- graph helpers


def test_hessians_and_gradients_inside_a_function():
    @jg.function
    def h(x):
        y = jg.reduce_sum(x ** 3) + x[0] * x[1]
        return jg.hessians(y, x)[0], jg.gradients(y, x)[0]

    x = np.array([1.0, 2.0, 3.0])
    hess, g = h(x)
    want = np.diag(6 * x)
    want[0, 1] = want[1, 0] = 1.0
    np.testing.assert_allclose(hess.numpy(), want)
    np.testing.assert_allclose(g.numpy(), 3 * x ** 2 + np.array([x[1], x[0], 0]))


def test_gradients_eagerly_says_to_use_a_tape():
    with pytest.raises(RuntimeError, match="GradientTape"):
        jg.hessians(jg.constant(1.0), jg.constant(1.0))


def test_case_without_default_asserts():
    x = jg.constant(1.0)
    assert float(jg.case([(x > 0, lambda: x * 3)])) == 3.0
    with pytest.raises(jg.errors.InvalidArgumentError, match="none of the predicates"):
        jg.case([(x < 0, lambda: x)])
    with pytest.raises(jg.errors.InvalidArgumentError, match="exclusive"):
        jg.case([(x > 0, lambda: x), (x > -1, lambda: x)], exclusive=True)

    f = jg.function(lambda x: jg.case([(x < 0, lambda: -x), (x > 10, lambda: x)]),
                    backend="interpreter")
    assert float(f(jg.constant(-2.0))) == 2.0
    with pytest.raises(jg.errors.InvalidArgumentError, match="none of the predicates"):
        f(jg.constant(1.0))


def test_grad_pass_through_recompute_grad_and_no_gradient():
    x = jg.constant([0.4, 1.6, -2.2])
    with jg.GradientTape(persistent=True) as t:
        t.watch(x)
        y = jg.grad_pass_through(jg.round)(x * 2.0)
        z = jg.recompute_grad(lambda v: jg.sin(v) * v)(x)
    np.testing.assert_allclose(y.numpy(), np.round(x.numpy() * 2))
    np.testing.assert_allclose(t.gradient(y, x).numpy(), [2.0, 2.0, 2.0])
    xv = x.numpy()
    np.testing.assert_allclose(t.gradient(z, x).numpy(), np.cos(xv) * xv + np.sin(xv),
                               rtol=1e-6)
    from jitgraph.ops import REGISTRY

    saved = REGISTRY["sin"].grad
    try:
        jg.no_gradient("sin")
        with jg.GradientTape() as t2:
            t2.watch(x)
            s = jg.sin(x)
        assert t2.gradient(s, x) is None
    finally:
        REGISTRY["sin"].grad = saved
    with pytest.raises(LookupError, match="no op named"):
        jg.no_gradient("NoSuchOp")


def test_initializers():
    np.testing.assert_array_equal(jg.constant_initializer([1, 2, 3, 4])([2, 2]).numpy(),
                                  [[1, 2], [3, 4]])
    assert jg.constant_initializer(0.5)([3]).dtype == jg.float32
    assert jg.zeros_initializer()([2], dtype=jg.int32).dtype == jg.int32
    np.testing.assert_array_equal(jg.ones_initializer()([2, 1]).numpy(), [[1.0], [1.0]])
    a = jg.random_normal_initializer(1.0, 0.1, seed=3)([200])
    b = jg.random_normal_initializer(1.0, 0.1, seed=3)([200])
    np.testing.assert_array_equal(a.numpy(), b.numpy())  # seeded: the same every call
    assert abs(float(np.mean(a.numpy())) - 1.0) < 0.05
    u = jg.random_uniform_initializer(-2.0, -1.0)([500], dtype=jg.float64).numpy()
    assert u.dtype == np.float64 and u.min() >= -2.0 and u.max() < -1.0
    cfg = jg.random_uniform_initializer(0.0, 1.0, seed=5).get_config()
    assert jg.random_uniform_initializer.from_config(cfg).get_config() == cfg
    with pytest.raises(TypeError, match="elements"):
        jg.constant_initializer([1, 2, 3])([2, 2])


def test_graph_free_helpers():
    assert jg.group(jg.constant(1.0)) is None and jg.no_op() is None
    assert not jg.inside_function()
    assert jg.function(lambda x: jg.constant(jg.inside_function()),
                       backend="interpreter")(jg.constant(1.0)).numpy()
    assert jg.get_logger().name == "jitgraph"
    assert jg.broadcast_static_shape(jg.TensorShape([None, 1, 3]),
                                     jg.TensorShape([4, 1])).as_list() == [None, 4, 3]
    with pytest.raises(ValueError, match="incompatible"):
        jg.broadcast_static_shape(jg.TensorShape([2]), jg.TensorShape([3]))


# ----------------------------------------------------------------------------- errors


@pytest.mark.parametrize("call, match", [
    (lambda: jg.math.invert_permutation([0, 0, 1]), "invert_permutation: x must be a perm"),
    (lambda: jg.math.reciprocal_no_nan([1, 2]), "reciprocal_no_nan: expected a floating"),
    (lambda: jg.math.scalar_mul([1.0, 2.0], [1.0, 2.0]), "scalar_mul: scalar must have rank"),
    (lambda: jg.math.nextafter([1], [2]), "nextafter: expected float32 or float64"),
    (lambda: jg.math.accumulate_n([jg.ones([2]), jg.ones([3])]), "add_n: all inputs"),
    (lambda: jg.nn.depth_to_space(jg.ones([1, 2, 2, 3]), 2), "depth_to_space: block_size"),
    (lambda: jg.nn.space_to_depth(jg.ones([1, 3, 2, 3]), 2), "divide the height"),
    (lambda: jg.nn.pool(jg.ones([1, 4, 4, 1]), [2, 2], "MIN"), "pooling_type must be"),
    (lambda: jg.nn.pool(jg.ones([1, 4, 4, 1]), [2, 2], "MAX", dilations=2),
     "dilations=2 are not supported"),
    (lambda: jg.nn.convolution(jg.ones([4, 4]), jg.ones([1, 1])), "rank 3 .NWC., 4"),
    (lambda: jg.nn.max_pool_with_argmax(jg.ones([1, 4, 4, 1]), 2, 2, "SAME",
                                        output_dtype=jg.float32), "output_dtype must be"),
    (lambda: jg.linalg.cross(jg.ones([2]), jg.ones([2])), "cross: a and b must have 3"),
    (lambda: jg.linalg.expm(jg.ones([2, 3])), "expm: needs square matrices"),
    (lambda: jg.linalg.tensor_diag_part(jg.ones([2, 3])), "first k dims equal"),
    (lambda: jg.linalg.tridiagonal_solve(jg.ones([2, 4]), jg.ones([4, 1])),
     "compact diagonals must have shape"),
    (lambda: jg.linalg.tridiagonal_solve(jg.ones([3, 4]), jg.ones([4, 1]),
                                         perturb_singular=True), "regularize"),
    (lambda: jg.linalg.banded_triangular_solve(jg.ones([5, 4]), jg.ones([4, 1])),
     "more diagonals"),
    (lambda: jg.linalg.eig(jg.eye(2)), "no complex dtype; for symmetric matrices use"),
    (lambda: jg.linalg.eigvals(jg.eye(2)), "jg.linalg.eigvals"),
    (lambda: jg.reverse_sequence(jg.ones([2, 3]), [4, 1], seq_axis=1),
     "seq_lengths must be in \\[0, 3\\]"),
    (lambda: jg.unravel_index([6], [2, 3]), "out of range for dims"),
    (lambda: jg.repeat([1, 2, 3], [1, 2]), "one entry per element"),
    (lambda: jg.dynamic_partition([1, 2], [0, 3], 2), "partitions must be in \\[0, 2\\)"),
    (lambda: jg.dynamic_stitch([[0, 2]], [[1.0, 2.0]]), "must cover 0..2"),
    (lambda: jg.space_to_batch_nd(jg.ones([1, 5, 1]), [2], [[0, 0]]), "not divisible"),
    (lambda: jg.batch_to_space(jg.ones([3, 2, 1]), [2], [[0, 0]]), "not divisible"),
    (lambda: jg.realdiv(7, 2), "for integer division use jg.truncatediv"),
    (lambda: jg.truncatediv(7, 0), "integer division by zero"),
    (lambda: jg.broadcast_dynamic_shape([2, 3], [4]), "incompatible shapes"),
])
def test_errors_name_the_op_and_say_what_to_do(call, match):
    with pytest.raises((jg.errors.JitgraphError, ValueError, TypeError)) as info:
        call()
    assert __import__("re").search(match, str(info.value)), str(info.value)


def test_value_dependent_shapes_inside_a_function_say_what_to_do():
    f = jg.function(lambda d, p: jg.dynamic_partition(d, p, 2), backend="interpreter")
    with pytest.raises(jg.errors.UnimplementedError, match="jg.where\\(partitions == i"):
        f(jg.ones([3]), jg.constant([0, 1, 0]))
    g = jg.function(lambda p: jg.math.invert_permutation(p), backend="interpreter")
    with pytest.raises(jg.errors.InvalidArgumentError, match="permutation"):
        g(jg.constant([0, 0, 1]))
    s = jg.function(lambda d, i: jg.math.segment_prod(d, i), backend="interpreter")
    with pytest.raises(jg.errors.InvalidArgumentError, match="unsorted_segment_prod"):
        s(jg.ones([3]), jg.constant([0, 0, 1]))


def test_sqrtm_and_logm_without_a_real_root_are_nan():
    a = np.diag([-1.0, 2.0])
    assert np.isnan(jg.linalg.sqrtm(a).numpy()).all()
    assert np.isnan(jg.linalg.logm(a).numpy()).all()
    g = _r.normal(size=(4, 4)) + 5 * np.eye(4)  # a general matrix with a real root
    r = jg.linalg.sqrtm(g).numpy()
    np.testing.assert_allclose(r @ r, g, atol=1e-10)
    np.testing.assert_allclose(jg.linalg.expm(jg.linalg.logm(g)).numpy(), g, atol=1e-10)


# ----------------------------------------------------------------------------- TensorFlow


def _tf_cases(tf):
    x4 = f32(2, 6, 8, 4)
    x5 = f32(2, 5, 6, 7, 3)
    m = np.float64
    yield "cumulative_logsumexp", lambda t: t.math.cumulative_logsumexp(
        f32(3, 5) * 20, axis=1, exclusive=True, reverse=True)
    yield "bessel_i0/i1", lambda t: (t.math.bessel_i0(f32(6) * 5), t.math.bessel_i1(f32(6) * 5))
    yield "erfcinv", lambda t: t.math.erfcinv(f32(6, lo=0.01, hi=1.99))
    yield "reciprocal/multiply_no_nan", lambda t: (
        t.math.reciprocal_no_nan(np.array([2.0, 0.0], np.float32)),
        t.math.multiply_no_nan(np.array([np.inf, 2.0], np.float32),
                               np.array([0.0, 3.0], np.float32)))
    yield "unsorted_segment_sqrt_n", lambda t: t.math.unsorted_segment_sqrt_n(
        f32(5, 2), np.array([0, 2, 2, 0, 2], np.int32), 3)
    yield "conv3d", lambda t: t.nn.conv3d(x5, f32(2, 3, 2, 3, 4), [1, 2, 1, 2, 1], "SAME")
    yield "max/avg_pool3d", lambda t: (
        t.nn.max_pool3d(x5, [1, 2, 3, 2, 1], [1, 2, 1, 2, 1], "SAME"),
        t.nn.avg_pool3d(x5, [1, 2, 3, 2, 1], [1, 1, 2, 1, 1], "SAME"))
    yield "conv3d_transpose", lambda t: t.nn.conv3d_transpose(
        f32(2, 5, 4, 4, 3), f32(2, 3, 2, 4, 3), [2, 9, 8, 7, 4], [1, 2, 2, 2, 1], "SAME")
    yield "conv1d_transpose", lambda t: t.nn.conv1d_transpose(
        f32(2, 7, 3), f32(3, 4, 3), [2, 14, 4], 2, "SAME")
    yield "lrn", lambda t: t.nn.lrn(x4, 2, 1.5, 0.3, 0.7)
    yield "separable_conv2d", lambda t: t.nn.separable_conv2d(
        x4, f32(3, 3, 4, 2), f32(1, 1, 8, 5), [1, 1, 1, 1], "SAME")
    yield "max_pool_with_argmax", lambda t: t.nn.max_pool_with_argmax(
        x4, [1, 3, 3, 1], [1, 2, 2, 1], "SAME", include_batch_in_index=True)
    yield "weighted_moments", lambda t: t.nn.weighted_moments(
        x4, [0, 1], f32(1, 6, 1, 4, lo=0.1, hi=1))
    yield "sufficient_statistics", lambda t: t.nn.sufficient_statistics(x4, [1], shift=0.3)[:3]
    yield "expm", lambda t: t.linalg.expm(_r.normal(size=(2, 4, 4)).astype(m) * 3)
    yield "sqrtm", lambda t: t.linalg.sqrtm(_np_spd(4, (2,)))
    d, r = _r.normal(size=(2, 3, 6)), _r.normal(size=(2, 6, 2))
    yield "tridiagonal_solve", lambda t: t.linalg.tridiagonal_solve(
        t.constant(d) if t is not jg else d, t.constant(r) if t is not jg else r)
    b = _r.normal(size=(2, 3, 5)) + np.array([3.0, 0, 0])[:, None]
    yield "banded_triangular_solve", lambda t: t.linalg.banded_triangular_solve(
        b, _r.normal(size=(2, 5, 2)) * 0 + 1.0)
    yield "unravel_index", lambda t: t.unravel_index([1, 5, 7, 0], [2, 4])
    yield "reverse_sequence", lambda t: t.reverse_sequence(
        f32(3, 5, 2), [2, 5, 0], seq_axis=1, batch_axis=0)
    yield "histogram_fixed_width", lambda t: t.histogram_fixed_width(
        f32(300) * 3, [-2.0, 4.0], nbins=17)
    yield "space_to_batch_nd", lambda t: t.space_to_batch_nd(x4, [2, 3], [[0, 0], [1, 3]])
    yield "saturate_cast", lambda t: t.saturate_cast(
        np.array([1e10, -1e10, 2.5, np.inf], np.float32), t.int32)
    yield "truncatediv", lambda t: t.truncatediv(np.array([-7, 7, -8], np.int32),
                                                 np.array([2, -2, 3], np.int32))
    yield "dynamic_stitch", lambda t: t.dynamic_stitch(
        [[0, 2], [1, 3, 2]], [np.array([1.0, 2.0], np.float32),
                              np.array([3.0, 4.0, 5.0], np.float32)])
    yield "repeat", lambda t: t.repeat(f32(2, 3), [2, 0, 1], axis=1)


_NEW = {"": ["reverse_sequence", "unravel_index", "repeat", "dynamic_partition",
              "dynamic_stitch", "histogram_fixed_width", "histogram_fixed_width_bins",
              "space_to_batch", "space_to_batch_nd", "batch_to_space", "realdiv", "truncatediv",
              "saturate_cast", "shape_n", "parallel_stack", "broadcast_static_shape",
              "broadcast_dynamic_shape", "scalar_mul", "case", "group", "no_op", "tuple",
              "gradients", "hessians", "recompute_grad", "grad_pass_through", "no_gradient",
              "inside_function", "get_logger", "constant_initializer", "zeros_initializer",
              "ones_initializer", "random_normal_initializer", "random_uniform_initializer",
              "eig", "eigvals", "matrix_square_root"],
        "math": ["softmax", "log_softmax", "reciprocal_no_nan", "multiply_no_nan",
                 "cumulative_logsumexp", "invert_permutation", "is_non_decreasing",
                 "is_strictly_increasing", "zero_fraction", "segment_prod",
                 "unsorted_segment_sqrt_n", "bessel_i0", "bessel_i1", "erfcinv", "nextafter",
                 "scalar_mul", "accumulate_n"],
        "nn": ["softsign", "crelu", "convolution", "pool", "conv1d_transpose", "conv3d",
               "conv3d_transpose", "max_pool3d", "avg_pool3d", "separable_conv2d",
               "depth_to_space", "space_to_depth", "local_response_normalization", "lrn",
               "normalize_moments", "sufficient_statistics", "weighted_moments",
               "max_pool_with_argmax", "atrous_conv2d", "zero_fraction", "space_to_batch"],
        "linalg": ["cross", "normalize", "expm", "sqrtm", "logm", "tridiagonal_solve",
                   "tridiagonal_matmul", "tensor_diag", "tensor_diag_part",
                   "banded_triangular_solve", "eig", "eigvals"]}


def test_names_are_where_tensorflow_has_them():
    for ns, names in _NEW.items():
        mod = getattr(jg, ns) if ns else jg
        assert [n for n in names if not callable(getattr(mod, n, None))] == [], ns
    assert not hasattr(jg, "nextafter") and not hasattr(jg, "bessel_i0")  # tf.math only
    tf = pytest.importorskip("tensorflow")
    for ns, names in _NEW.items():
        mod = getattr(tf, ns) if ns else tf
        assert [n for n in names if not hasattr(mod, n)] == [], ns


def test_matches_tensorflow():
    tf = pytest.importorskip("tensorflow")
    for name, make in _tf_cases(tf):
        state = _r.get_state()
        want = make(tf)
        _r.set_state(state)
        got = make(jg)
        want_l = [np.asarray(w) for w in (want if isinstance(want, (list, tuple)) else
                                          [want])]
        got_l = [np.asarray(g) for g in (got if isinstance(got, (list, tuple)) else [got])]
        assert len(want_l) == len(got_l), name
        for g, w in zip(got_l, want_l):
            assert g.shape == w.shape and g.dtype == w.dtype, (name, g.shape, w.shape,
                                                                g.dtype, w.dtype)
            tol = 2e-5 if w.dtype == np.float32 else 1e-9
            np.testing.assert_allclose(g, w, rtol=tol, atol=tol, err_msg=name)
