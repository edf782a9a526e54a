"""Shared differential cases: one or more per registered op.

``CASES`` is a list of ``OpCase(name, fn, args, ref, grad=True)``: ``fn(*tensors)`` calls the
public jg API, ``args`` are NumPy arrays, ``ref(*arrays)`` is an independent NumPy reference.
``name`` is ``"<op>"`` or ``"<op>:<variant>"``, where ``<op>`` is the registered op the case is
about. ``grad`` says whether a finite-difference gradient check applies (float inputs only).
Eager, the interpreter and compiled backends must all agree with ``ref``.

``uncovered_ops()`` lists registered ops without a case (tests fail on it); ops checked by
dedicated tests (state, control flow, random, print, backend-only ops) are in ``EXEMPT``.
"""

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

import jitgraph as jg


@dataclass
class OpCase:
    name: str
    fn: Callable
    args: tuple
    ref: Callable
    grad: bool = True

    @property
    def op(self):
        return self.name.split(":")[0]

    def __repr__(self):
        return self.name


EXEMPT = {"constant", "read_variable", "assign_variable", "cond", "while_loop", "print",
          "random_uniform", "random_normal", "random_truncated_normal"}
EXEMPT_KINDS = {"fusion", "control", "backend", "loop_state"}

_r = np.random.RandomState(1234)


def f64(*shape, lo=-2.0, hi=2.0):
    return _r.uniform(lo, hi, shape).astype(np.float64)


def f32(*shape, lo=-2.0, hi=2.0):
    return _r.uniform(lo, hi, shape).astype(np.float32)


def pos(*shape, dtype=np.float64):
    return _r.uniform(0.5, 2.0, shape).astype(dtype)


def ints(*shape, lo=-5, hi=6, dtype=np.int32):
    return _r.randint(lo, hi, shape).astype(dtype)


def _np_sigmoid(x):
    return 1 / (1 + np.exp(-x))


def _erf(x):
    import math

    return np.vectorize(math.erf, otypes=[x.dtype])(x)


CASES = []


def case(name, fn, args, ref, grad=True):
    CASES.append(OpCase(name, fn, tuple(args), ref, grad))


# ----------------------------------------------------------------------------- elementwise

_UNARY = {
    "negative": (jg.negative, np.negative, f64(3, 4)),
    "abs": (jg.abs, np.abs, f64(3, 4)),
    "sign": (jg.sign, np.sign, f64(5)),
    "square": (jg.square, np.square, f64(2, 3)),
    "sqrt": (jg.sqrt, np.sqrt, pos(4)),
    "rsqrt": (jg.math.rsqrt, lambda x: 1 / np.sqrt(x), pos(4)),
    "exp": (jg.exp, np.exp, f64(2, 2)),
    "expm1": (jg.math.expm1, np.expm1, f64(4)),
    "log": (jg.math.log, np.log, pos(3, 2)),
    "log1p": (jg.math.log1p, np.log1p, pos(4)),
    "sin": (jg.sin, np.sin, f64(4)),
    "cos": (jg.cos, np.cos, f64(4)),
    "tan": (jg.tan, np.tan, f64(4, lo=-1, hi=1)),
    "tanh": (jg.tanh, np.tanh, f64(3, 3)),
    "sigmoid": (jg.sigmoid, _np_sigmoid, f64(5)),
    "softplus": (jg.nn.softplus, lambda x: np.log1p(np.exp(x)), f64(5)),
    "relu": (jg.nn.relu, lambda x: np.maximum(x, 0), f64(6)),
    "floor": (jg.floor, np.floor, f64(5)),
    "ceil": (jg.math.ceil, np.ceil, f64(5)),
    "round": (jg.round, np.round, f64(6) * 3),
    "reciprocal": (jg.math.reciprocal, np.reciprocal, pos(4)),
    "erf": (jg.math.erf, _erf, f64(4)),
    "logical_not": (jg.logical_not, np.logical_not, f64(5) > 0),
    "is_nan": (jg.math.is_nan, np.isnan, np.array([1.0, np.nan, np.inf])),
    "is_inf": (jg.math.is_inf, np.isinf, np.array([1.0, np.nan, -np.inf])),
    "is_finite": (jg.math.is_finite, np.isfinite, np.array([1.0, np.nan, np.inf])),
}
_NO_GRAD = {"sign", "floor", "ceil", "round", "logical_not", "is_nan", "is_inf", "is_finite"}

for _n, (_f, _ref, _x) in _UNARY.items():
    case(_n, _f, [_x], _ref, grad=_n not in _NO_GRAD)
case("exp:f32", jg.exp, [f32(3, 2)], np.exp)
case("tanh:empty", jg.tanh, [f64(0, 3)], np.tanh)
case("negative:int", jg.negative, [ints(4)], np.negative, grad=False)
case("abs:int", jg.abs, [ints(2, 3)], np.abs, grad=False)
case("square:scalar", jg.square, [np.float64(1.5)], np.square)

_BINARY = {
    "add": (jg.add, np.add),
    "subtract": (jg.subtract, np.subtract),
    "multiply": (jg.multiply, np.multiply),
    "maximum": (jg.maximum, np.maximum),
    "minimum": (jg.minimum, np.minimum),
    "squared_difference": (jg.math.squared_difference, lambda x, y: (x - y) ** 2),
}
for _n, (_f, _ref) in _BINARY.items():
    case(_n, _f, [f64(3, 4), f64(4)], _ref)
    case(f"{_n}:bcast", _f, [f64(2, 1, 3), f64(4, 1)], _ref)
    case(f"{_n}:int", _f, [ints(3, 4), ints(3, 1)], _ref, grad=False)
case("add:f32", jg.add, [f32(5), f32(1)], np.add)
case("add:size1", jg.add, [f64(1, 1), f64(1)], np.add)
case("add:empty", jg.add, [f64(0, 4), f64(4)], np.add)
case("add:scalar_weak", lambda x: x + 1, [f32(3)], lambda x: x + np.float32(1))
case("divide", jg.divide, [f64(3, 4), pos(4)], np.divide)
case("divide:bcast", lambda x, y: x / y, [f64(2, 1), pos(3)], np.divide)
case("divide:int", jg.divide, [ints(4), ints(4, lo=1)], lambda x, y: x / y, grad=False)
case("floordiv", jg.math.floordiv, [f64(3, 4) * 4, pos(4)], np.floor_divide, grad=False)
case("floordiv:int", lambda x, y: x // y, [ints(6), ints(6, lo=1)], np.floor_divide,
     grad=False)
case("mod", jg.math.mod, [f64(5) * 4, pos(5)], np.mod)
case("mod:int", lambda x, y: x % y, [ints(6), ints(6, lo=1)], np.mod, grad=False)
case("pow", jg.pow, [pos(3, 2), f64(2)], np.power)
case("pow:int", lambda x, y: x ** y, [ints(4), ints(4, lo=0, hi=4)], np.power, grad=False)
case("atan2", jg.math.atan2, [f64(4), f64(4)], np.arctan2)
for _n, _ref in (("equal", np.equal), ("not_equal", np.not_equal), ("less", np.less),
                 ("less_equal", np.less_equal), ("greater", np.greater),
                 ("greater_equal", np.greater_equal)):
    case(_n, getattr(jg, _n), [ints(3, 4, lo=0, hi=3), ints(4, lo=0, hi=3)], _ref, grad=False)
    case(f"{_n}:float", getattr(jg, _n), [np.round(f64(2, 3)), np.round(f64(3))], _ref,
         grad=False)
for _n, _ref in (("logical_and", np.logical_and), ("logical_or", np.logical_or),
                 ("logical_xor", np.logical_xor)):
    case(_n, getattr(jg.math, _n), [f64(3, 2) > 0, f64(2) > 0], _ref, grad=False)
case("where", jg.where, [f64(3, 4) > 0, f64(3, 4), f64(4)], np.where)
case("where:bcast", jg.where, [f64(3, 1) > 0, f64(1, 4), f64(3, 4)], np.where)
case("cast", lambda x: jg.cast(x, jg.float32), [f64(4)], lambda x: x.astype(np.float32),
     grad=False)
case("cast:to_int", lambda x: jg.cast(x, jg.int32), [f64(6) * 3],
     lambda x: np.trunc(x).astype(np.int32), grad=False)
case("cast:from_bool", lambda x: jg.cast(x, jg.float64), [f64(4) > 0],
     lambda x: x.astype(np.float64), grad=False)
case("clip_by_value", lambda x: jg.clip_by_value(x, -0.5, 0.7), [f64(3, 4)],
     lambda x: np.clip(x, -0.5, 0.7))
case("clip_by_value:tensors", jg.clip_by_value, [f64(3, 4), f64(4) - 1, f64(1) + 3],
     lambda x, lo, hi: np.minimum(np.maximum(x, lo), hi))

# ----------------------------------------------------------------------------- state-ish

case("identity", jg.identity, [f64(3)], lambda x: x)
case("stop_gradient", lambda x: jg.stop_gradient(x) * x, [f64(3)], lambda x: x * x,
     grad=False)

# ----------------------------------------------------------------------------- reductions

_RED = {"reduce_sum": np.sum, "reduce_mean": np.mean, "reduce_max": np.max,
        "reduce_min": np.min, "reduce_prod": np.prod}
for _n, _ref in _RED.items():
    _f = getattr(jg, _n)
    case(_n, _f, [f64(3, 4)], _ref)
    case(f"{_n}:axis", lambda x, _f=_f: _f(x, axis=1), [f64(3, 4, 2)],
         lambda x, _ref=_ref: _ref(x, axis=1))
    case(f"{_n}:neg_axes_keepdims", lambda x, _f=_f: _f(x, axis=[-1, 0], keepdims=True),
         [f64(2, 3, 4)], lambda x, _ref=_ref: _ref(x, axis=(0, 2), keepdims=True))
    case(f"{_n}:f32", lambda x, _f=_f: _f(x, axis=-1), [f32(5, 3)],
         lambda x, _ref=_ref: _ref(x, axis=-1))
case("reduce_sum:int", lambda x: jg.reduce_sum(x, axis=0), [ints(4, 3)],
     lambda x: np.sum(x, axis=0).astype(np.int32), grad=False)
case("reduce_sum:empty", jg.reduce_sum, [f64(0, 3)], np.sum)
case("reduce_any", lambda x: jg.reduce_any(x, axis=1), [f64(3, 4) > 1],
     lambda x: np.any(x, axis=1), grad=False)
case("reduce_all", lambda x: jg.reduce_all(x, axis=-1, keepdims=True), [f64(3, 4) > -1],
     lambda x: np.all(x, axis=-1, keepdims=True), grad=False)
case("argmax", lambda x: jg.argmax(x, axis=1), [f64(3, 5)], lambda x: np.argmax(x, axis=1),
     grad=False)
case("argmin", lambda x: jg.argmin(x, axis=-1), [f64(2, 3, 5)],
     lambda x: np.argmin(x, axis=-1), grad=False)

# ----------------------------------------------------------------------------- shape

case("reshape", lambda x: jg.reshape(x, [4, -1]), [f64(2, 3, 2)],
     lambda x: x.reshape(4, -1))
case("reshape_like", lambda x, y: jg.ops.apply("reshape_like", x, y), [f64(6), f64(2, 3)],
     lambda x, y: x.reshape(y.shape))
case("transpose", jg.transpose, [f64(2, 3, 4)], lambda x: x.transpose())
case("transpose:perm", lambda x: jg.transpose(x, [1, 0, 2]), [f64(2, 3, 4)],
     lambda x: x.transpose(1, 0, 2))
case("expand_squeeze", lambda x: jg.ops.apply("expand_squeeze", x, src_axes=(0, -1, 1)),
     [f64(2, 3)], lambda x: x[:, None])
case("reshape:expand_dims", lambda x: jg.expand_dims(x, -1), [f64(2, 3)], lambda x: x[..., None])
case("reshape:squeeze", lambda x: jg.squeeze(x, [0, -1]), [f64(1, 3, 1)],
     lambda x: x.reshape(3))
case("broadcast_to", lambda x: jg.broadcast_to(x, [2, 3, 4]), [f64(3, 1)],
     lambda x: np.broadcast_to(x, (2, 3, 4)))
case("full_like", lambda x: jg.ones_like(x) + jg.zeros_like(x), [f64(2, 3)],
     lambda x: np.ones_like(x), grad=False)
case("fill", lambda x: jg.fill([2, 3], 9.0) * x, [f32(3)],
     lambda x: np.full((2, 3), 9.0, np.float32) * x, grad=False)
case("fill:zeros", lambda x: x + jg.zeros([3], jg.float64), [f64(3)], lambda x: x)
case("shape", lambda x: jg.ops.apply("shape", x, out_type=jg.int32), [f64(2, 5)],
     lambda x: np.array(x.shape, np.int32), grad=False)

# ----------------------------------------------------------------------------- indexing

case("strided_slice", lambda x: x[1], [f64(3, 4)], lambda x: x[1])
case("strided_slice:steps", lambda x: x[::-1, 1:4:2], [f64(3, 5)], lambda x: x[::-1, 1:4:2])
case("strided_slice:ellipsis_newaxis", lambda x: x[..., None, -1], [f64(2, 3, 4)],
     lambda x: x[..., None, -1])
case("strided_slice:neg_step", lambda x: x[-1:0:-2], [f64(7)], lambda x: x[-1:0:-2])
case("strided_slice:scalar", lambda x: x[1, -1], [f64(2, 3)], lambda x: x[1, -1])
case("slice_update", lambda x, v: jg.ops._setitem(x, (slice(None), 1), v), [f64(3, 4), f64(3)],
     lambda x, v: np.concatenate([x[:, :1], v[:, None], x[:, 2:]], axis=1))
case("slice_update:bcast", lambda x, v: jg.ops._setitem(x, (slice(0, 2),), v),
     [f64(3, 4), f64(4)], lambda x, v: np.concatenate([np.stack([v, v]), x[2:]]))
case("gather", lambda x, i: jg.gather(x, i), [f64(4, 3), np.array([3, 0, 3], np.int32)],
     lambda x, i: x[i])
case("gather:axis", lambda x, i: jg.gather(x, i, axis=-1),
     [f64(2, 5), np.array([[4, 1], [0, 0]], np.int64)], lambda x, i: np.take(x, i, axis=-1))
case("gather:getitem", lambda x: x[[2, 0]], [f64(3, 2)], lambda x: x[[2, 0]])
case("gather_grad", lambda g, i, x: jg.ops.apply("gather_grad", g, i, x, axis=0),
     [f64(3, 2), np.array([1, 1, 0], np.int32), f64(2, 2)],
     lambda g, i, x: np.stack([g[2], g[0] + g[1]]))
case("gather_nd", lambda x, i: jg.gather_nd(x, i),
     [f64(3, 4), np.array([[0, 1], [2, 3], [0, 1]], np.int32)], lambda x, i: x[i[:, 0], i[:, 1]])
case("scatter_nd", lambda i, u: jg.scatter_nd(i, u, [4]),
     [np.array([[1], [3], [1]], np.int32), f64(3)],
     lambda i, u: np.array([0, u[0] + u[2], 0, u[1]]))
case("tensor_scatter_nd_update", lambda x, i, u: jg.tensor_scatter_nd_update(x, i, u),
     [f64(4, 2), np.array([[3], [0]], np.int32), f64(2, 2)],
     lambda x, i, u: np.stack([u[1], x[1], x[2], u[0]]))
case("one_hot", lambda i: jg.one_hot(i, 4), [np.array([0, 3, 1, -1, 4], np.int32)],
     lambda i: (i[:, None] == np.arange(4)).astype(np.float32), grad=False)
case("one_hot:axis0", lambda i: jg.one_hot(i, 3, axis=0, dtype=jg.float64),
     [np.array([[0, 2], [1, 1]], np.int64)],
     lambda i: np.moveaxis((i[..., None] == np.arange(3)).astype(np.float64), -1, 0),
     grad=False)

# ----------------------------------------------------------------------------- assemble

case("concat", lambda a, b: jg.concat([a, b], axis=-1), [f64(2, 3), f64(2, 1)],
     lambda a, b: np.concatenate([a, b], axis=-1))
case("concat:stack", lambda a, b: jg.stack([a, b], axis=1), [f64(2, 3), f64(2, 3)],
     lambda a, b: np.stack([a, b], axis=1))
case("split", lambda x: jg.split(x, [1, 2], axis=0)[1] * 2.0 + 1.0, [f64(3, 2)],
     lambda x: x[1:] * 2 + 1)
case("split:unstack", lambda x: jg.unstack(x, axis=1)[2], [f64(2, 3)], lambda x: x[:, 2])
case("tile", lambda x: jg.tile(x, [2, 3]), [f64(2, 2)], lambda x: np.tile(x, (2, 3)))
case("pad", lambda x: jg.pad(x, [[1, 0], [2, 1]]), [f64(2, 3)],
     lambda x: np.pad(x, ((1, 0), (2, 1))))
case("range", lambda x: jg.cast(jg.range(2, 11, 3), jg.float64) * x, [f64(3)],
     lambda x: np.arange(2, 11, 3) * x)
case("range:float", lambda x: jg.range(1.0, 2.0, 0.25, dtype=jg.float64) + x, [f64(4)],
     lambda x: np.arange(1.0, 2.0, 0.25) + x)

# ----------------------------------------------------------------------------- linalg, nn

case("matmul", jg.matmul, [f64(3, 4), f64(4, 2)], np.matmul)
case("matmul:f32", jg.matmul, [f32(3, 4), f32(4, 2)], np.matmul)
case("matmul:batch_bcast", lambda a, b: a @ b, [f64(2, 1, 3, 4), f64(5, 4, 2)], np.matmul)
case("matmul:transposed", lambda a, b: jg.matmul(a, b, transpose_a=True, transpose_b=True),
     [f64(4, 3), f64(2, 4)], lambda a, b: a.T @ b.T)
case("matmul:int", jg.matmul, [ints(2, 3), ints(3, 2)], np.matmul, grad=False)


def _np_softmax(x, axis=-1):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


case("reduce_max:softmax", jg.nn.softmax, [f64(3, 4)], _np_softmax)
case("reduce_max:log_softmax", lambda x: jg.nn.log_softmax(x, axis=0), [f64(3, 4)],
     lambda x: np.log(_np_softmax(x, 0)))
case("one_hot:sparse_xent",
     lambda x: jg.nn.sparse_softmax_cross_entropy_with_logits(labels=[2, 0, 1], logits=x),
     [f64(3, 4)], lambda x: -np.log(_np_softmax(x))[np.arange(3), [2, 0, 1]])


# ----------------------------------------------------------------------------- composites
# TensorFlow functions built from other ops (ops/composite.py); named after their main op

_zy = f64(3, 4)
_zy[0, 1] = _zy[2, 3] = 0.0  # divide_no_nan's zeros (a constant: no gradient across them)
case("add:add_n", lambda a, b, c: jg.add_n([a, b, c]), [f64(2, 3), f64(2, 3), f64(2, 3)],
     lambda a, b, c: a + b + c)
case("reduce_max:logsumexp", lambda x: jg.reduce_logsumexp(x, axis=1), [f64(3, 5)],
     lambda x: np.log(np.exp(x).sum(1)))
case("reduce_max:logsumexp_all", lambda x: jg.math.reduce_logsumexp(x, keepdims=True),
     [f64(2, 3)], lambda x: np.log(np.exp(x).sum(keepdims=True)))
case("reduce_mean:variance", lambda x: jg.math.reduce_variance(x, axis=0, keepdims=True),
     [f64(4, 3)], lambda x: x.var(0, keepdims=True))
case("reduce_mean:std", jg.math.reduce_std, [f64(3, 4)], np.std)
case("reduce_sum:euclidean_norm", lambda x: jg.math.reduce_euclidean_norm(x, axis=1),
     [f64(3, 4)], lambda x: np.sqrt((x * x).sum(1)))
case("reduce_sum:count_nonzero", lambda x: jg.math.count_nonzero(x, axis=0),
     [ints(4, 3, lo=-1, hi=2)], lambda x: (x != 0).sum(0).astype(np.int64), grad=False)
case("reduce_sum:norm", jg.norm, [f64(3, 4)], np.linalg.norm)
case("reduce_sum:norm_1", lambda x: jg.norm(x, ord=1, axis=1), [f64(3, 4)],
     lambda x: np.abs(x).sum(1))
case("reduce_max:norm_inf", lambda x: jg.linalg.norm(x, ord=np.inf, axis=0), [f64(3, 4)],
     lambda x: np.abs(x).max(0))
case("maximum:clip_by_norm", lambda x: jg.clip_by_norm(x, 1.5), [f64(3, 4)],
     lambda x: x * 1.5 / max(np.linalg.norm(x), 1.5))
case("where:divide_no_nan", lambda x: jg.math.divide_no_nan(x, jg.constant(_zy)), [f64(3, 4)],
     lambda x: np.where(_zy == 0, 0.0, x / np.where(_zy == 0, 1.0, _zy)))
case("where:xlogy", lambda y: jg.math.xlogy(jg.constant(np.array([0.0, 1.5, -2.0])), y),
     [pos(3)], lambda y: np.array([0.0, 1.5, -2.0]) * np.log(y) * [0, 1, 1])
case("softplus:log_sigmoid", jg.math.log_sigmoid, [f64(2, 3, lo=-30, hi=30)],
     lambda x: -np.logaddexp(0, -x))
case("abs:softsign", jg.math.softsign, [f64(5)], lambda x: x / (1 + np.abs(x)))
case("rsqrt:l2_normalize", lambda x: jg.nn.l2_normalize(x, axis=1), [f64(3, 4)],
     lambda x: x / np.sqrt((x * x).sum(1, keepdims=True)))
case("less:sequence_mask", lambda n: jg.sequence_mask(n, 5), [ints(3, lo=0, hi=6)],
     lambda n: np.arange(5) < n[:, None], grad=False)
case("strided_slice:reverse", lambda x: jg.reverse(x, [0, -1]), [f64(3, 4)],
     lambda x: x[::-1, ::-1])
case("matmul:tensordot", lambda a, b: jg.tensordot(a, b, 1), [f64(2, 3, 4), f64(4, 5)],
     lambda a, b: np.tensordot(a, b, 1))
case("matmul:tensordot_pairs", lambda a, b: jg.tensordot(a, b, [[0, 1], [1, 0]]),
     [f64(2, 3, 4), f64(3, 2)], lambda a, b: np.tensordot(a, b, [[0, 1], [1, 0]]))
case("matmul:einsum", lambda a, b: jg.einsum("bij,bkj->bki", a, b),
     [f64(2, 3, 4), f64(2, 5, 4)], lambda a, b: np.einsum("bij,bkj->bki", a, b))
case("matmul:einsum_outer_sum", lambda a, b: jg.einsum("ij,k->jk", a, b),
     [f64(3, 4), f64(2)], lambda a, b: np.einsum("ij,k->jk", a, b))
case("transpose:einsum_one", lambda a: jg.einsum("ijk->kj", a), [f64(2, 3, 4)],
     lambda a: np.einsum("ijk->kj", a))


def _np_scatter_add(t, idx, u):
    out = t.copy()
    np.add.at(out, tuple(np.asarray(idx).T), u)
    return out


def _np_segment_sum(d, ids, n):
    out = np.zeros((n,) + d.shape[1:], d.dtype)
    np.add.at(out, ids, d)
    return out


def _np_set_diag(x, d):
    out = x.copy()
    k = min(x.shape[-2:])
    out[..., np.arange(k), np.arange(k)] = d
    return out


case("scatter_nd:tensor_scatter_nd_add",
     lambda t, u: jg.tensor_scatter_nd_add(t, [[0, 1], [2, 0], [0, 1]], u),
     [f64(3, 4), f64(3)], lambda t, u: _np_scatter_add(t, [[0, 1], [2, 0], [0, 1]], u))
case("scatter_nd:unsorted_segment_sum",
     lambda d: jg.math.unsorted_segment_sum(d, [0, 2, 0, 1], 4), [f64(4, 2)],
     lambda d: _np_segment_sum(d, [0, 2, 0, 1], 4))
case("scatter_nd:unsorted_segment_mean",
     lambda d: jg.math.unsorted_segment_mean(d, [0, 0, 2, 2, 2], 4), [f64(5)],
     lambda d: _np_segment_sum(d, [0, 0, 2, 2, 2], 4) / np.maximum([2, 1, 3, 1], 1) *
     np.array([1, 0, 1, 0]))
case("scatter_nd:confusion_matrix",
     lambda a, b: jg.math.confusion_matrix(a, b, num_classes=3),
     [ints(6, lo=0, hi=3), ints(6, lo=0, hi=3)],
     lambda a, b: _np_segment_sum(np.ones(6, np.int32), a * 3 + b, 9).reshape(3, 3),
     grad=False)
case("gather:embedding_lookup", lambda p: jg.nn.embedding_lookup(p, [2, 0, 2]), [f64(3, 4)],
     lambda p: p[[2, 0, 2]])
case("where:band_part", lambda x: jg.linalg.band_part(x, 1, 2), [f64(2, 4, 5)],
     lambda x: x * (np.tri(4, 5, 2) * (1 - np.tri(4, 5, -2))))
case("reduce_sum:diag_part", jg.linalg.diag_part, [f64(2, 3, 4)],
     lambda x: np.diagonal(x, axis1=-2, axis2=-1))
case("where:set_diag", jg.linalg.set_diag, [f64(4, 3), f64(3)], _np_set_diag)


# ----------------------------------------------------------------------------- scans


def _np_scan(ufunc, x, axis, exclusive=False, reverse=False):
    v = np.flip(x, axis) if reverse else x
    out = ufunc.accumulate(v, axis=axis)
    if exclusive:
        ident = np.zeros_like if ufunc is np.add else np.ones_like
        out = np.concatenate([ident(np.take(out, [0], axis)), np.delete(out, -1, axis)], axis)
    return np.flip(out, axis) if reverse else out


case("cumsum", lambda x: jg.cumsum(x, axis=1), [f64(3, 4)], lambda x: np.cumsum(x, 1))
case("cumsum:exclusive_reverse", lambda x: jg.cumsum(x, axis=0, exclusive=True, reverse=True),
     [f64(4, 3)], lambda x: _np_scan(np.add, x, 0, True, True))
case("cumsum:int_3d", lambda x: jg.math.cumsum(x, axis=-2), [ints(2, 5, 3)],
     lambda x: np.cumsum(x, -2).astype(np.int32), grad=False)
case("cumprod", lambda x: jg.math.cumprod(x, axis=1), [pos(3, 4)], lambda x: np.cumprod(x, 1))
case("cumprod:exclusive", lambda x: jg.math.cumprod(x, exclusive=True), [pos(5)],
     lambda x: _np_scan(np.multiply, x, 0, True))


# ----------------------------------------------------------------------------- tf math functions
# inverse trigonometric / hyperbolic functions, rint, polyval (ops/mathx.py); erfc
# (ops/special.py)

case("multiply:atan", jg.atan, [f64(3, 4, lo=-5.0, hi=5.0)], np.arctan)
case("multiply:atan_f32", jg.math.atan, [f32(9, lo=-30.0, hi=30.0)], np.arctan, grad=False)
case("sqrt:asin", jg.asin, [f64(3, 4, lo=-0.95, hi=0.95)], np.arcsin)
case("sqrt:acos", jg.math.acos, [f64(3, 4, lo=-0.95, hi=0.95)], np.arccos)
case("expm1:sinh", jg.sinh, [f64(3, 4, lo=-25.0, hi=25.0)], np.sinh)
case("exp:cosh", jg.math.cosh, [f64(3, 4, lo=-25.0, hi=25.0)], np.cosh)
case("log1p:asinh", jg.asinh, [f64(3, 4, lo=-5.0, hi=5.0)], np.arcsinh)
case("log1p:acosh", jg.math.acosh, [f64(3, 4, lo=1.1, hi=5.0)], np.arccosh)
case("log1p:atanh", jg.atanh, [f64(3, 4, lo=-0.9, hi=0.9)], np.arctanh)
case("erfc", jg.math.erfc, [f64(3, 4, lo=-2.0, hi=6.0)],
     lambda x: np.array([math.erfc(v) for v in x.ravel()]).reshape(x.shape))
case("erfc:f32", jg.math.erfc, [f32(9, lo=-3.0, hi=9.0)],
     lambda x: np.array([math.erfc(v) for v in x.ravel()], np.float32), grad=False)
case("round:rint", jg.math.rint, [f64(7, lo=-4.0, hi=4.0) * 2.0], np.rint, grad=False)
case("multiply:polyval", lambda c0, c1, x: jg.math.polyval([c0, c1, 0.5], x),
     [f64(4), f64(1), f64(3, 4)], lambda c0, c1, x: (c0 * x + c1) * x + 0.5)

# array functions (ops/manip.py)
_seg_ids = np.array([0, 2, 0, 3, 2, 1], np.int32)
_bins = np.array([[1, 1, 3], [0, 5, 7]], np.int32)  # 7 >= maxlength: ignored


def _np_segment(fn, fill, n=4):
    def ref(d):
        out = np.full((n,) + d.shape[1:], fill, d.dtype)
        for k in range(n):
            if np.any(_seg_ids == k):
                out[k] = fn(d[_seg_ids == k], axis=0)
        return out

    return ref


case("concat:roll", lambda x: jg.roll(x, [1, -2, 1], [0, 1, 0]), [f64(3, 4)],
     lambda x: np.roll(x, [2, -2], [0, 1]))
case("concat:roll_int", lambda x: jg.roll(x, 3, -1), [ints(2, 5)], lambda x: np.roll(x, 3, -1),
     grad=False)
case("broadcast_to:meshgrid_xy", lambda x, y, z: jg.stack(jg.meshgrid(x, y, z)),
     [f64(3), f64(2), f64(4)], lambda x, y, z: np.stack(np.meshgrid(x, y, z)))
case("broadcast_to:meshgrid_ij", lambda x, y: jg.stack(jg.meshgrid(x, y, indexing="ij")),
     [f64(3), f64(2)], lambda x, y: np.stack(np.meshgrid(x, y, indexing="ij")))
case("identity:identity_n", lambda x, y: jg.identity_n([x, y])[0] * jg.identity_n([y])[0],
     [f64(3), f64(3)], lambda x, y: x * y)
case("identity:ensure_shape", lambda x: jg.ensure_shape(x, [5]) * 2.0, [f64(5)],
     lambda x: x * 2.0)
case("scatter_nd:bincount", lambda w: jg.math.bincount(_bins, weights=w, minlength=6,
                                                        maxlength=6),
     [f64(2, 3)], lambda w: np.bincount(_bins[_bins < 6], w[_bins < 6], minlength=6))
case("reduce_max:unsorted_segment_max",
     lambda d: jg.math.unsorted_segment_max(d, _seg_ids, 4), [f64(6, 3)],
     _np_segment(np.max, None))
case("reduce_max:unsorted_segment_max_empty",  # segments 4 and 5 are empty: lowest value
     lambda d: jg.math.unsorted_segment_max(d, _seg_ids, 6), [f32(6)],
     _np_segment(np.max, np.finfo(np.float32).min, 6), grad=False)
case("reduce_min:unsorted_segment_min",
     lambda d: jg.math.unsorted_segment_min(d, _seg_ids, 4), [f64(6)],
     _np_segment(np.min, None))
case("reduce_min:unsorted_segment_min_int",
     lambda d: jg.math.unsorted_segment_min(d, _seg_ids, 5), [ints(6, 2)],
     _np_segment(np.min, np.iinfo(np.int32).max, 5), grad=False)
case("reduce_prod:unsorted_segment_prod",
     lambda d: jg.math.unsorted_segment_prod(d, _seg_ids, 5), [f64(6, 2)],
     _np_segment(np.prod, 1.0, 5))


# nn functions (ops/nnx.py)
def _np_bn(x, m, v, o, s):
    return (x - m) / np.sqrt(v + 1e-3) * s + o


def _np_log_poisson(z, c):
    st = z * np.log(np.where(z > 1, z, 1)) - z + 0.5 * np.log(2 * np.pi * np.where(z > 1, z, 1))
    return np.exp(c) - c * z + np.where(z > 1, st, 0.0)


def _np_wce(z, x):
    p = 1 / (1 + np.exp(-x))
    return -(2.5 * z * np.log(p) + (1 - z) * np.log(1 - p))


case("rsqrt:batch_normalization",
     lambda x, m, v, o, s: jg.nn.batch_normalization(x, m, v, o, s, 1e-3),
     [f64(4, 3), f64(3), pos(3), f64(3), f64(3)], _np_bn)
case("rsqrt:batch_normalization_none",
     lambda x, m, v: jg.nn.batch_normalization(x, m, v, None, None, 1e-3),
     [f64(4, 3), f64(3), pos(3)], lambda x, m, v: (x - m) / np.sqrt(v + 1e-3))
_poisson_z = np.array([0.0, 0.5, 1.0, 2.0, 5.0, 3.5])
case("exp:log_poisson_loss",
     lambda c: jg.nn.log_poisson_loss(_poisson_z, c, compute_full_loss=True), [f64(6)],
     lambda c: _np_log_poisson(_poisson_z, c))
case("log1p:weighted_cross_entropy",
     lambda z, x: jg.nn.weighted_cross_entropy_with_logits(z, x, 2.5),
     [_r.uniform(0, 1, (3, 4)), f64(3, 4, lo=-6.0, hi=6.0)], _np_wce)
case("reduce_sum:compute_average_loss",
     lambda l, w: jg.nn.compute_average_loss(l, sample_weight=w), [f64(4, 2), f64(4, 1)],
     lambda l, w: (l * w).sum() / 4)

# assert (ops/check.py): a passing check leaves the values alone on every backend
case("assert", lambda x, y: (jg.debugging.assert_less(x, y), jg.debugging.check_numerics(
    x, "x") * 2.0)[1], [f64(3, 4, lo=-2.0, hi=0.0), f64(4, lo=0.5, hi=1.0)],
     lambda x, y: x * 2.0)

# linalg factorizations and solves (ops/linalg_ops.py): matrices made well conditioned in
# fn and ref alike (a a^T + n I for Cholesky, a / 2 + 3 I for LU)


def _spd(a, xp):
    n = a.shape[-1]
    at = xp.swapaxes(a, -1, -2) if xp is np else jg.linalg.matrix_transpose(a)
    return a @ at + n * np.eye(n, dtype=a.dtype.as_numpy_dtype if xp is jg else a.dtype)


def _wc(a, dt=np.float64):
    return a * 0.5 + 3.0 * np.eye(a.shape[-1], dtype=dt)


def _np_tri(a, b, lower=True, adjoint=False):
    t = np.tril(a) if lower else np.triu(a)
    return np.linalg.solve(np.swapaxes(t, -1, -2) if adjoint else t, b)


case("cholesky", lambda a: jg.linalg.cholesky(_spd(a, jg)), [f64(2, 4, 4)],
     lambda a: np.linalg.cholesky(_spd(a, np)))
case("cholesky:f32", lambda a: jg.linalg.cholesky(_spd(a, jg)), [f32(3, 3)],
     lambda a: np.linalg.cholesky(_spd(a, np)))
case("cholesky:cholesky_solve",
     lambda a, b: jg.linalg.cholesky_solve(jg.linalg.cholesky(_spd(a, jg)), b),
     [f64(2, 4, 4), f64(2, 4, 3)], lambda a, b: np.linalg.solve(_spd(a, np), b))
case("cholesky:logdet", lambda a: jg.linalg.logdet(_spd(a, jg)), [f64(2, 3, 3)],
     lambda a: np.linalg.slogdet(_spd(a, np))[1])
case("matrix_triangular_solve",
     lambda a, b: jg.linalg.triangular_solve(_wc(a), b), [f64(2, 4, 4), f64(2, 4, 3)],
     lambda a, b: _np_tri(_wc(a), b))
case("matrix_triangular_solve:upper_adjoint",
     lambda a, b: jg.linalg.triangular_solve(_wc(a), b, lower=False, adjoint=True),
     [f64(4, 4), f64(4, 2)], lambda a, b: _np_tri(_wc(a), b, False, True))
case("matrix_triangular_solve:lower_adjoint_bcast",
     lambda a, b: jg.linalg.triangular_solve(_wc(a), b, adjoint=True),
     [f64(3, 3), f64(2, 3, 2)], lambda a, b: _np_tri(_wc(a), b, True, True))
case("matrix_solve", lambda a, b: jg.linalg.solve(_wc(a), b), [f64(2, 4, 4), f64(2, 4, 3)],
     lambda a, b: np.linalg.solve(_wc(a), b))
case("matrix_solve:adjoint", lambda a, b: jg.linalg.solve(_wc(a), b, adjoint=True),
     [f64(5, 5), f64(5, 1)], lambda a, b: np.linalg.solve(_wc(a).T, b))
case("matrix_solve:f32", lambda a, b: jg.linalg.solve(_wc(a, np.float32), b),
     [f32(2, 3, 3), f32(2, 3, 2)], lambda a, b: np.linalg.solve(_wc(a, np.float32), b))
case("matrix_solve:lstsq", lambda a, b: jg.linalg.lstsq(a, b), [f64(6, 3), f64(6, 2)],
     lambda a, b: np.linalg.lstsq(a, b, rcond=None)[0])
case("matrix_inverse", lambda a: jg.linalg.inv(_wc(a)), [f64(2, 4, 4)],
     lambda a: np.linalg.inv(_wc(a)))
case("matrix_inverse:adjoint", lambda a: jg.linalg.inv(_wc(a), adjoint=True), [f64(3, 3)],
     lambda a: np.linalg.inv(_wc(a)).T)
case("matrix_determinant", jg.linalg.det, [f64(3, 4, 4)], np.linalg.det)
case("matrix_determinant:f32", jg.linalg.det, [f32(3, 3)], np.linalg.det)
case("log_matrix_determinant", lambda a: jg.linalg.slogdet(a)[1], [f64(2, 4, 4)],
     lambda a: np.linalg.slogdet(a)[1])
case("log_matrix_determinant:sign", lambda a: jg.linalg.slogdet(a)[0] * 2.0, [f64(3, 3, 3)],
     lambda a: np.linalg.slogdet(a)[0] * 2.0, grad=False)


def _np_lu(a):
    """Doolittle LU with partial pivoting (the first largest |pivot|), one matrix at a time."""
    out = []
    for m in a.reshape(-1, *a.shape[-2:]):
        w, n = m.copy(), m.shape[-1]
        perm = np.arange(n)
        for j in range(n):
            p = j + int(np.argmax(np.abs(w[j:, j])))
            w[[j, p]], perm[[j, p]] = w[[p, j]], perm[[p, j]]
            if w[j, j] != 0:
                w[j + 1:, j] /= w[j, j]
                w[j + 1:, j + 1:] -= np.outer(w[j + 1:, j], w[j, j + 1:])
        out.append(np.concatenate([w, perm[:, None]], 1))
    return np.array(out).reshape(a.shape[:-1] + (a.shape[-1] + 1,))


case("lu", lambda a: jg.linalg.lu(a)[0], [f64(2, 5, 5)], lambda a: _np_lu(a)[..., :-1],
     grad=False)
case("lu:perm", lambda a: jg.linalg.lu(a)[1], [f32(4, 4)],
     lambda a: _np_lu(a)[..., -1].astype(np.int32), grad=False)
case("lu:lu_solve", lambda a, b: jg.linalg.lu_solve(*jg.linalg.lu(_wc(a)), b),
     [f64(2, 4, 4), f64(2, 4, 3)], lambda a, b: np.linalg.solve(_wc(a), b), grad=False)
case("lu:reconstruct", lambda a: jg.linalg.lu_reconstruct(*jg.linalg.lu(a)), [f64(3, 3, 3)],
     lambda a: a, grad=False)
case("multiply:linalg_diag", jg.linalg.diag, [f64(2, 3)], lambda d: d[..., None] * np.eye(3))
case("transpose:matrix_transpose", jg.linalg.adjoint, [f64(2, 3, 4)],
     lambda a: np.swapaxes(a, -1, -2))


# ----------------------------------------------------------------------------- sorting


def _np_order(x, axis=-1, descending=False):
    """Stable order along ``axis``; descending keeps equal keys in input order too."""
    if not descending:
        return np.argsort(x, axis, kind="stable")
    n = x.shape[axis]
    return (n - 1) - np.flip(np.argsort(np.flip(x, axis), axis, kind="stable"), axis)


def _np_sorted(x, axis=-1, descending=False):
    return np.take_along_axis(x, _np_order(x, axis, descending), axis)


def _np_top_k(x, k):
    idx = _np_order(x, -1, True)[..., :k]
    return np.take_along_axis(x, idx, -1), idx.astype(np.int32)


def _ties(*shape):
    return _r.randint(0, 4, shape).astype(np.float64) / 2


case("sort", jg.sort, [f64(3, 5)], lambda x: np.sort(x, -1))
case("sort:axis0_descending", lambda x: jg.sort(x, axis=0, direction="DESCENDING"),
     [f64(6, 3)], lambda x: _np_sorted(x, 0, True))
case("sort:middle_axis", lambda x: jg.sort(x, axis=1), [f64(2, 7, 3)], lambda x: np.sort(x, 1))
def _spread(*shape):
    """Distinct values 4/n apart along the last axis (finite differences on a sort must not
    cross a tie); draws f64(*shape) all the same, so later cases keep their inputs."""
    f64(*shape)
    order = np.random.RandomState(7).uniform(size=shape).argsort(-1)
    return order * (4.0 / shape[-1]) - 2.0


case("sort:long_rows", lambda x: jg.sort(x, direction="DESCENDING"), [_spread(3, 1000)],
     lambda x: _np_sorted(x, -1, True))
case("sort:length_1", lambda x: jg.sort(x, axis=0), [f64(1, 4)], lambda x: x)
case("sort:int_ties", lambda x: jg.sort(x, axis=-2), [ints(9, 4)], lambda x: np.sort(x, -2),
     grad=False)
case("sort:int64_descending", lambda x: jg.sort(x, direction="DESCENDING"),
     [ints(4, 6, dtype=np.int64)], lambda x: _np_sorted(x, -1, True), grad=False)
case("sort:f32_nan_inf", jg.sort,
     [np.array([[1.0, np.nan, -np.inf, -0.0, 0.0, np.inf, np.nan, -3.0]], np.float32)],
     lambda x: np.sort(x, -1, kind="stable"), grad=False)
case("sort:argsort_ties", lambda x: jg.argsort(x, axis=0), [_ties(12, 3)],
     lambda x: np.argsort(x, 0, kind="stable").astype(np.int32), grad=False)
case("sort:argsort_descending_ties", lambda x: jg.argsort(x, direction="DESCENDING"),
     [_ties(3, 40)], lambda x: _np_order(x, -1, True).astype(np.int32), grad=False)
case("sort:argsort_long_int", lambda x: jg.argsort(x, axis=1), [ints(2, 1000, 2, lo=-50, hi=50)],
     lambda x: np.argsort(x, 1, kind="stable").astype(np.int32), grad=False)
case("top_k", lambda x: jg.math.top_k(x, k=3).values, [f64(4, 7)], lambda x: _np_top_k(x, 3)[0])
case("top_k:indices_ties", lambda x: jg.math.top_k(x, 4).indices, [_ties(5, 9)],
     lambda x: _np_top_k(x, 4)[1], grad=False)
case("top_k:k1_3d", lambda x: jg.nn.top_k(x).values, [f64(2, 3, 5)], lambda x: _np_top_k(x, 1)[0])
case("top_k:k_n", lambda x: jg.math.top_k(x, 6)[0], [f64(3, 6)], lambda x: _np_top_k(x, 6)[0])
case("top_k:long_rows", lambda x: jg.math.top_k(x, 10).values, [f64(4, 1000)],
     lambda x: _np_top_k(x, 10)[0])
case("top_k:int_indices", lambda x: jg.math.top_k(x, 5).indices, [ints(3, 1000, lo=-9, hi=9)],
     lambda x: _np_top_k(x, 5)[1], grad=False)
case("top_k:length_1", lambda x: jg.math.top_k(x, 1).values, [ints(4, 1)], lambda x: x,
     grad=False)
case("take_along_axis", lambda x, i: jg.ops.apply("take_along_axis", x, i, axis=1),
     [f64(2, 4), np.array([[3, 3, 0], [1, 2, 1]], np.int32)],
     lambda x, i: np.take_along_axis(x, i, 1))
case("take_along_axis_grad",
     lambda g, i, x: jg.ops.apply("take_along_axis_grad", g, i, x, axis=0),
     [f64(2, 3), np.array([[1, 0, 1], [1, 2, 0]], np.int64), f64(3, 3)],
     lambda g, i, x: _np_scatter_along(g, i, x.shape))
case("logical_and:in_top_k", lambda p, t: jg.math.in_top_k(t, p, 2),
     [np.array([[0.1, 0.5, 0.5, 0.2], [1.0, np.nan, 0.0, 0.0], [3.0, 2.0, 1.0, 0.0]]),
      np.array([2, 0, 3], np.int32)], lambda p, t: np.array([True, False, False]), grad=False)


def _np_scatter_along(g, i, shape):
    out = np.zeros(shape)
    for a in range(i.shape[0]):
        for b in range(i.shape[1]):
            out[i[a, b], b] += g[a, b]
    return out


# ----------------------------------------------------------------------------- convolutions
# ops/conv.py's composites, named after their main op; the references loop over the output
# positions and window offsets directly (no patches)


def _np_same(size, k, s, d=1):
    """TensorFlow's SAME: (out, pad before)."""
    out = -(-size // s)
    return out, max((out - 1) * s + (k - 1) * d + 1 - size, 0) // 2


def _np_conv2d(x, w, s=(1, 1), pad="VALID", d=(1, 1)):
    n, h, wd, c = x.shape
    kh, kw, _, o = w.shape
    if pad == "SAME":
        (oh, t), (ow, left) = _np_same(h, kh, s[0], d[0]), _np_same(wd, kw, s[1], d[1])
        pads = ((t, kh * d[0]), (left, kw * d[1]))  # enough after: reads stay in range
    elif pad == "VALID":
        pads = ((0, 0), (0, 0))
    else:
        pads = pad
    xp = np.pad(x, ((0, 0), pads[0], pads[1], (0, 0)))
    if pad != "SAME":
        oh = (h + sum(pads[0]) - (kh - 1) * d[0] - 1) // s[0] + 1
        ow = (wd + sum(pads[1]) - (kw - 1) * d[1] - 1) // s[1] + 1
    out = np.zeros((n, oh, ow, o), x.dtype)
    for y in range(oh):
        for z in range(ow):
            for i in range(kh):
                for j in range(kw):
                    out[:, y, z, :] += xp[:, y * s[0] + i * d[0], z * s[1] + j * d[1], :] @ w[i, j]
    return out


def _np_conv2d_transpose(y, w, out_hw, s, pad, d=(1, 1)):
    """Scatters every input element through the filters into the output (padding cut)."""
    kh, kw, c, _ = w.shape
    if pad == "SAME":
        before = [_np_same(n, k, st, dl)[1] for n, k, st, dl in zip(out_hw, (kh, kw), s, d)]
    else:
        before = [0, 0] if pad == "VALID" else [p[0] for p in pad]
    big = np.zeros((y.shape[0], out_hw[0] + 2 * kh * d[0] + 4, out_hw[1] + 2 * kw * d[1] + 4,
                    c), y.dtype)
    for a in range(y.shape[1]):
        for b in range(y.shape[2]):
            for i in range(kh):
                for j in range(kw):
                    big[:, a * s[0] + i * d[0], b * s[1] + j * d[1], :] += y[:, a, b] @ w[i, j].T
    return big[:, before[0]:before[0] + out_hw[0], before[1]:before[1] + out_hw[1]]


def _np_depthwise(x, w, s, pad, d=(1, 1)):
    c, m = w.shape[2:]
    outs = [_np_conv2d(x[..., ci:ci + 1], w[:, :, ci:ci + 1, :], s, pad, d) for ci in range(c)]
    return np.concatenate(outs, axis=-1)


def _np_pool2d(x, k, s, pad, reduce):
    """Windows clipped to the input (padding never counts), as TensorFlow pools."""
    n, h, wd, c = x.shape
    if pad == "SAME":
        (oh, t), (ow, left) = _np_same(h, k[0], s[0]), _np_same(wd, k[1], s[1])
    else:
        oh, ow, t, left = (h - k[0]) // s[0] + 1, (wd - k[1]) // s[1] + 1, 0, 0
    out = np.zeros((n, oh, ow, c), x.dtype)
    for y in range(oh):
        for z in range(ow):
            r0, c0 = y * s[0] - t, z * s[1] - left
            win = x[:, max(r0, 0):min(r0 + k[0], h), max(c0, 0):min(c0 + k[1], wd), :]
            out[:, y, z, :] = reduce(win, axis=(1, 2))
    return out


def _np_1d(fn, x, *args):
    return fn(x[:, None], *args)[:, 0]


case("matmul:conv2d_valid", lambda x, w: jg.nn.conv2d(x, w, 1, "VALID"),
     [f64(2, 5, 6, 3), f64(3, 3, 3, 4)], _np_conv2d)
case("matmul:conv2d_same_stride2_odd", lambda x, w: jg.nn.conv2d(x, w, 2, "SAME"),
     [f64(1, 7, 5, 2), f64(3, 3, 2, 3)], lambda x, w: _np_conv2d(x, w, (2, 2), "SAME"))
case("matmul:conv2d_same_even_kernel", lambda x, w: jg.nn.conv2d(x, w, [1, 1], "SAME"),
     [f64(2, 6, 4, 2), f64(2, 2, 2, 3)], lambda x, w: _np_conv2d(x, w, (1, 1), "SAME"))
case("matmul:conv2d_same_stride2_even", lambda x, w: jg.nn.conv2d(x, w, [1, 2, 2, 1], "SAME"),
     [f64(1, 6, 8, 2), f64(3, 3, 2, 2)], lambda x, w: _np_conv2d(x, w, (2, 2), "SAME"))
case("matmul:conv2d_dilated", lambda x, w: jg.nn.conv2d(x, w, 1, "SAME", dilations=2),
     [f64(1, 7, 6, 2), f64(3, 2, 2, 3)],
     lambda x, w: _np_conv2d(x, w, (1, 1), "SAME", (2, 2)))
case("matmul:conv2d_1x1", lambda x, w: jg.nn.conv2d(x, w, 1, "VALID"),
     [f64(2, 4, 5, 3), f64(1, 1, 3, 2)], _np_conv2d)
case("matmul:conv2d_1x1_stride2", lambda x, w: jg.nn.conv2d(x, w, 2, "SAME"),
     [f64(1, 5, 4, 3), f64(1, 1, 3, 2)], lambda x, w: _np_conv2d(x, w, (2, 2), "SAME"))
case("matmul:conv2d_explicit_padding",
     lambda x, w: jg.nn.conv2d(x, w, (2, 1), [[0, 0], [1, 2], [0, 1], [0, 0]]),
     [f64(1, 5, 4, 2), f64(2, 3, 2, 2)],
     lambda x, w: _np_conv2d(x, w, (2, 1), ((1, 2), (0, 1))))
case("matmul:conv2d_f32", lambda x, w: jg.nn.conv2d(x, w, 2, "SAME"),
     [f32(2, 6, 5, 3), f32(3, 3, 3, 4)], lambda x, w: _np_conv2d(x, w, (2, 2), "SAME"))
case("matmul:conv1d", lambda x, w: jg.nn.conv1d(x, w, 2, "SAME"),
     [f64(2, 9, 3), f64(3, 3, 2)], lambda x, w: _np_1d(_np_conv2d, x, w[None], (1, 2), "SAME"))
case("matmul:conv1d_dilated_valid", lambda x, w: jg.nn.conv1d(x, w, 1, "VALID", dilations=3),
     [f64(1, 8, 2), f64(2, 2, 3)],
     lambda x, w: _np_1d(_np_conv2d, x, w[None], (1, 1), "VALID", (1, 3)))
case("matmul:conv2d_transpose",
     lambda y, w: jg.nn.conv2d_transpose(y, w, [2, 7, 6, 2], 2, "SAME"),
     [f64(2, 4, 3, 3), f64(3, 3, 2, 3)],
     lambda y, w: _np_conv2d_transpose(y, w, (7, 6), (2, 2), "SAME"))
case("matmul:conv2d_transpose_valid_dilated",
     lambda y, w: jg.nn.conv2d_transpose(y, w, [1, 7, 5, 2], 1, "VALID", dilations=[2, 1]),
     [f64(1, 3, 4, 2), f64(3, 2, 2, 2)],
     lambda y, w: _np_conv2d_transpose(y, w, (7, 5), (1, 1), "VALID", (2, 1)))
case("matmul:conv2d_transpose_explicit",
     lambda y, w: jg.nn.conv2d_transpose(y, w, [1, 8, 5, 3], [3, 2],
                                         [[0, 0], [2, 1], [0, 3], [0, 0]]),
     [f64(1, 4, 3, 2), f64(2, 3, 3, 2)],
     lambda y, w: _np_conv2d_transpose(y, w, (8, 5), (3, 2), ((2, 1), (0, 3))))
case("reduce_sum:depthwise_conv2d",
     lambda x, w: jg.nn.depthwise_conv2d(x, w, [1, 2, 2, 1], "SAME"),
     [f64(1, 6, 5, 2), f64(3, 3, 2, 2)], lambda x, w: _np_depthwise(x, w, (2, 2), "SAME"))
case("reduce_max:max_pool2d", lambda x: jg.nn.max_pool2d(x, 2, 2, "VALID"),
     [f64(2, 4, 7, 3)], lambda x: _np_pool2d(x, (2, 2), (2, 2), "VALID", np.max))
case("reduce_max:max_pool2d_same_odd", lambda x: jg.nn.max_pool2d(x, 2, 2, "SAME"),
     [f64(1, 5, 7, 2)], lambda x: _np_pool2d(x, (2, 2), (2, 2), "SAME", np.max))
case("reduce_max:max_pool2d_overlapping_same", lambda x: jg.nn.max_pool2d(x, 3, 2, "SAME"),
     [f64(1, 6, 5, 2)], lambda x: _np_pool2d(x, (3, 3), (2, 2), "SAME", np.max))
case("reduce_max:max_pool2d_f32", lambda x: jg.nn.max_pool(x, [3, 2], 1, "SAME"),
     [f32(2, 4, 5, 2)], lambda x: _np_pool2d(x, (3, 2), (1, 1), "SAME", np.max))
case("reduce_max:max_pool2d_int", lambda x: jg.nn.max_pool2d(x, 3, 2, "SAME"),
     [ints(1, 5, 4, 2, lo=-9, hi=-2)], lambda x: _np_pool2d(x, (3, 3), (2, 2), "SAME", np.max),
     grad=False)
case("reduce_max:max_pool_channels", lambda x: jg.nn.max_pool(x, [1, 1, 1, 3], [1, 1, 1, 3],
                                                           "VALID"),
     [f64(2, 3, 2, 6)], lambda x: x.reshape(2, 3, 2, 2, 3).max(-1))
case("reduce_max:max_pool1d", lambda x: jg.nn.max_pool1d(x, 3, 1, "VALID"), [f64(2, 7, 3)],
     lambda x: _np_1d(_np_pool2d, x, (1, 3), (1, 1), "VALID", np.max))
case("reduce_mean:avg_pool2d", lambda x: jg.nn.avg_pool2d(x, [3, 2], [1, 2], "VALID"),
     [f64(2, 5, 4, 2)], lambda x: _np_pool2d(x, (3, 2), (1, 2), "VALID", np.mean))
case("reduce_sum:avg_pool2d_same", lambda x: jg.nn.avg_pool2d(x, 3, 2, "SAME"),
     [f64(1, 5, 6, 2)], lambda x: _np_pool2d(x, (3, 3), (2, 2), "SAME", np.mean))
case("reduce_sum:avg_pool2d_same_tiled", lambda x: jg.nn.avg_pool(x, 2, 2, "SAME"),
     [f64(1, 5, 5, 2)], lambda x: _np_pool2d(x, (2, 2), (2, 2), "SAME", np.mean))
case("reduce_sum:avg_pool1d_same", lambda x: jg.nn.avg_pool1d(x, 2, 1, "SAME"),
     [f32(2, 7, 3)], lambda x: _np_1d(_np_pool2d, x, (1, 2), (1, 1), "SAME", np.mean))


# ----------------------------------------------------------------------------- indexed accumulate


def _np_gga(acc, g, i, axis):
    out = acc.copy()
    np.add.at(np.moveaxis(out, axis, 0), i.ravel(),
              np.moveaxis(g.reshape(g.shape[:axis] + (-1,) + g.shape[axis + i.ndim:]), axis, 0))
    return out


case("gather_grad_add", lambda a, g, i: jg.ops.apply("gather_grad_add", a, g, i, axis=0),
     [f64(2, 2), f64(3, 2), np.array([1, 1, 0], np.int32)],
     lambda a, g, i: _np_gga(a, g, i, 0))
case("gather_grad_add:axis1_scalar_index",
     lambda a, g, i: jg.ops.apply("gather_grad_add", a, g, i, axis=1),
     [f64(2, 4, 3), f64(2, 3), np.array(2, np.int32)], lambda a, g, i: _np_gga(a, g, i, 1))
case("gather_grad_add:index_matrix_f32",
     lambda a, g, i: jg.ops.apply("gather_grad_add", a, g, i, axis=1),
     [f32(3, 5), f32(3, 2, 2), np.array([[4, 0], [4, 4]], np.int64)],
     lambda a, g, i: _np_gga(a, g, i, 1))



# ----------------------------------------------------------------------------- searchsorted
def _np_searchsorted(seq, v, side):
    return np.stack([np.searchsorted(a, b, side=side) for a, b in
                     zip(seq.reshape(-1, seq.shape[-1]), v.reshape(-1, v.shape[-1]))]
                    ).reshape(v.shape).astype(np.int32)


_SORTED = np.sort(ints(3, 6, lo=-4, hi=5), axis=-1).astype(np.float64)  # with ties
case("reduce_sum:searchsorted_left", lambda s, v: jg.searchsorted(s, v), [_SORTED, ints(
    3, 4, lo=-5, hi=6).astype(np.float64)], lambda s, v: _np_searchsorted(s, v, "left"),
     grad=False)
case("reduce_sum:searchsorted_right", lambda s, v: jg.searchsorted(s, v, side="right"),
     [_SORTED[:1, :].ravel(), ints(5, lo=-5, hi=6).astype(np.float64)],
     lambda s, v: _np_searchsorted(s, v, "right"), grad=False)

# ----------------------------------------------------------------------------- special functions
# lgamma, digamma, polygamma, zeta, erfinv, ndtri, bessel_i0e/i1e (ops/special.py)
def _sp(name, *fixed):
    def ref(*args):
        import scipy.special

        return getattr(scipy.special, name)(*fixed, *args).astype(args[-1].dtype)

    return ref


_SPEC_X = np.array([[0.3, 1.0, 1.5, 2.0], [2.7, 5.5, 14.0, 40.0], [-0.4, -1.5, -2.3, -7.8]])
case("lgamma", jg.math.lgamma, [_SPEC_X], _sp("gammaln"))
case("lgamma:f32", jg.math.lgamma, [f32(3, 5, lo=-6.0, hi=30.0)], _sp("gammaln"), grad=False)
case("digamma", jg.math.digamma, [_SPEC_X], _sp("digamma"))
case("digamma:f32", jg.math.digamma, [f32(3, 5, lo=0.1, hi=30.0)], _sp("digamma"), grad=False)
case("polygamma", lambda x: jg.math.polygamma(2.0, x), [pos(3, 4) * 3.0], _sp("polygamma", 2))
case("polygamma:n_tensor", jg.math.polygamma,
     [np.array([0.0, 1.0, 3.0], np.float32), f32(2, 3, lo=0.2, hi=9.0)],
     lambda n, x: __import__("scipy.special").special.polygamma(n.astype(int), x).astype(
         np.float32), grad=False)
case("zeta", lambda q: jg.math.zeta(3.0, q), [pos(2, 3) * 4.0], _sp("zeta", 3.0))
case("zeta:s_tensor", jg.math.zeta, [np.array([2.0, 4.5]), pos(3, 2)], _sp("zeta"),
     grad=False)
case("igamma", lambda x: jg.math.igamma(2.5, x), [pos(3, 4) * 3.0], _sp("gammainc", 2.5))
case("igamma:a_tensor", jg.math.igamma, [pos(4) * 4.0, pos(3, 4) * 4.0], _sp("gammainc"),
     grad=False)
case("igammac", lambda x: jg.math.igammac(0.7, x), [pos(3, 4) * 3.0], _sp("gammaincc", 0.7))
case("igammac:f32", jg.math.igammac, [f32(5, lo=0.1, hi=20.0), f32(5, lo=0.0, hi=30.0)],
     _sp("gammaincc"), grad=False)
case("erfinv", jg.math.erfinv, [f64(3, 4, lo=-0.99, hi=0.99)], _sp("erfinv"))
case("ndtri", jg.math.ndtri, [f64(3, 4, lo=0.001, hi=0.999)], _sp("ndtri"))
case("ndtri:f32", jg.math.ndtri, [f32(7, lo=0.0, hi=1.0)], _sp("ndtri"), grad=False)
case("bessel_i0e", jg.math.bessel_i0e, [f64(3, 4, lo=-30.0, hi=30.0)], _sp("i0e"))
case("bessel_i1e", jg.math.bessel_i1e, [f64(3, 4, lo=-30.0, hi=30.0)], _sp("i1e"))
case("bessel_i1e:f32", jg.math.bessel_i1e, [f32(9, lo=-3.0, hi=3.0)], _sp("i1e"), grad=False)
case("lgamma:lbeta", jg.math.lbeta, [pos(3, 4) * 2.0],
     lambda x: _sp("gammaln")(x).sum(-1) - _sp("gammaln")(x.sum(-1)))
case("divide:xdivy", jg.math.xdivy, [np.array([0.3, 1.5, -2.0, 1.0]), f64(4, lo=0.5, hi=2.0)],
     lambda x, y: x / y)
case("divide:xdivy_zeros", jg.math.xdivy, [np.array([0.0, 1.5, 0.0]), np.array([0.0, 0.0, 2.0])],
     lambda x, y: np.array([0.0, np.inf, 0.0]), grad=False)
case("log1p:xlog1py", jg.math.xlog1py, [np.array([0.2, 1.5, -2.0, 0.7]), pos(4)],
     lambda x, y: x * np.log1p(y))
case("log1p:xlog1py_zeros", jg.math.xlog1py, [np.array([0.0, 1.5]), np.array([-1.0, -1.0])],
     lambda x, y: np.where(x == 0, 0.0, -np.inf), grad=False)
case("where:angle", jg.math.angle, [f64(2, 3)], lambda x: np.angle(x), grad=False)


# ----------------------------------------------------------------------------- eigh
# (ops/linalg_eig.py): [eigenvalues; eigenvectors] of the lower triangle
def _np_eig(a):
    from jitgraph.ops.linalg_eig import normalize_signs

    w, v = np.linalg.eigh(a, UPLO="L")
    return np.concatenate([w[..., None, :], normalize_signs(v)], -2).astype(a.dtype)


_EIG_A = f64(2, 4, 4) + np.diag([0.0, 3.0, 6.0, 9.0])  # distinct eigenvalues
case("self_adjoint_eig", lambda a: jg.ops.apply("self_adjoint_eig", a), [_EIG_A], _np_eig)
case("self_adjoint_eig:eigvalsh_f32", jg.linalg.eigvalsh, [f32(3, 3) + np.eye(3, dtype=np.float32)
                                                          * np.float32(4.0)],
     lambda a: np.linalg.eigvalsh(a, UPLO="L").astype(np.float32), grad=False)
case("self_adjoint_eig:vectors", lambda a: jg.linalg.eigh(a)[1] * 2.0, [_EIG_A[0]],
     lambda a: _np_eig(a)[1:] * 2.0)


# ----------------------------------------------------------------------------- qr, svd
# (ops/linalg_decomp.py): [Q; R] and [s; U; V] packed
def _np_qr(a):
    m, n = a.shape[-2:]
    q, r = np.linalg.qr(a)
    out = np.zeros(a.shape[:-2] + (m + min(m, n), n), a.dtype)
    out[..., :m, :min(m, n)] = q
    out[..., m:, :] = r
    return out


def _np_svd(a):
    u, s, vh = np.linalg.svd(a, full_matrices=False)
    sign = np.where(np.take_along_axis(u, np.argmax(np.abs(u), -2)[..., None, :], -2) < 0,
                    -1.0, 1.0)
    return np.concatenate([s[..., None, :], u * sign, np.swapaxes(vh, -1, -2) * sign],
                          -2).astype(a.dtype)


case("qr", lambda a: jg.ops.apply("qr", a), [f64(2, 5, 3)], _np_qr)
case("qr:wide", lambda a: jg.ops.apply("qr", a), [f64(3, 5)], _np_qr)
case("qr:square_f32", lambda a: jg.linalg.qr(a)[1], [f32(2, 4, 4)],
     lambda a: np.linalg.qr(a)[1].astype(np.float32), grad=False)
_SVD_A = f64(2, 5, 3) + np.eye(5, 3) * np.array([6.0, 3.0, 1.0])  # distinct singular values
case("svd", lambda a: jg.ops.apply("svd", a), [_SVD_A], _np_svd)
case("svd:wide", lambda a: jg.ops.apply("svd", a), [np.swapaxes(_SVD_A[0], 0, 1).copy()],
     _np_svd)
case("svd:values_f32", lambda a: jg.linalg.svd(a, compute_uv=False),
     [f32(4, 3) + np.eye(4, 3, dtype=np.float32) * 4], lambda a: np.linalg.svd(
         a, compute_uv=False).astype(np.float32), grad=False)
case("svd:pinv", jg.linalg.pinv, [_SVD_A[0]], np.linalg.pinv)

# ----------------------------------------------------------------------------- remainders
case("mod:negative_divisor", jg.math.floormod, [f64(3, 4) * 4, -pos(4)], np.mod)
case("truncatemod", jg.math.truncatemod, [f64(3, 4) * 4, pos(4) * np.array([1, -1, 1, -1])],
     np.fmod)
case("truncatemod:int", jg.truncatemod, [ints(7), np.array([3, -3, 2, -2, 1, -1, 4],
                                                           np.int32)], np.fmod, grad=False)

# ----------------------------------------------------------------------------- summaries
EXEMPT.add("write_summary")  # a host call without outputs, like print: tests/test_summary.py


# ----------------------------------------------------------------------------- incomplete gamma
# and beta derivatives, betainc (ops/special.py, codegen/special_math.py, special_beta.py)
def _mp_elementwise(fn, *arrays):
    """fn(*floats) over broadcast NumPy arrays, with mpmath at 30 digits."""
    import mpmath

    with mpmath.workdps(30):
        out = np.vectorize(lambda *v: float(fn(mpmath, *[mpmath.mpf(float(t)) for t in v])),
                           otypes=[np.float64])(*arrays)
    return out.astype(np.result_type(*arrays))


def _igamma_grad_a_ref(a, x):
    """dP/da by mpmath: of P below x = a, of -Q above (each where it has no cancellation)."""
    def d(mp, u, v):
        if v < u:
            return mp.diff(lambda s: mp.gammainc(s, 0, v, regularized=True), u)
        return -mp.diff(lambda s: mp.gammainc(s, v, mp.inf, regularized=True), u)

    return _mp_elementwise(d, a, x)


def _betainc_grad_ref(which):
    def d(mp, a, b, x):
        f = (lambda s: mp.betainc(s, b, 0, x, regularized=True)) if which == "a" else \
            (lambda s: mp.betainc(a, s, 0, x, regularized=True))
        return mp.diff(f, a if which == "a" else b)

    return lambda a, b, x: _mp_elementwise(d, a, b, x)


def _gamma_quantile(a, u):
    """x with P(a, x) = u by Newton from Wilson-Hilferty's guess, as jg ops under
    stop_gradient: the exact inverse of the CDF, whose derivative w.r.t. a is the implicit
    reparameterization gradient that gamma_reparam carries."""
    from jitgraph.ops.core import apply

    z = float(__import__("scipy.special").special.ndtri(u))
    a0 = jg.stop_gradient(a)
    x = a0 * (1.0 - 1.0 / (9.0 * a0) + z * jg.sqrt(1.0 / (9.0 * a0))) ** 3
    for _ in range(5):
        dens = jg.exp((a0 - 1.0) * jg.math.log(x) - x - jg.math.lgamma(a0))
        x = x - (apply("igamma", a0, x) - u) / dens
    return apply("gamma_reparam", jg.stop_gradient(x), a)


_BETA_A = pos(3, 4) * 2.0
case("igamma:grad_a", lambda a: jg.math.igamma(a, 2.5), [pos(3, 4) * 3.0],
     lambda a: __import__("scipy.special").special.gammainc(a, 2.5))
case("igammac:grad_a", lambda a, x: jg.math.igammac(a, x), [pos(4) * 4.0, pos(3, 4) * 4.0],
     _sp("gammaincc"))
case("igamma_grad_a", lambda x: jg.ops.apply("igamma_grad_a", 1.7, x), [pos(2, 3) * 2.0],
     lambda x: _igamma_grad_a_ref(1.7, x))
case("igamma_grad_a:f32", lambda a, x: jg.ops.apply("igamma_grad_a", a, x),
     [f32(5, lo=0.3, hi=9.0), f32(5, lo=0.1, hi=12.0)],
     lambda a, x: _igamma_grad_a_ref(a.astype(np.float64), x).astype(np.float32), grad=False)
case("random_gamma_grad", lambda a, x: jg.ops.apply("random_gamma_grad", a, x),
     [pos(3, 4) * 3.0, pos(3, 4) * 2.0],
     lambda a, x: -_igamma_grad_a_ref(a, x) / np.exp((a - 1) * np.log(x) - x - __import__(
         "scipy.special").special.gammaln(a)), grad=False)
case("gamma_reparam", lambda a: _gamma_quantile(a, 0.3), [pos(2, 3) * 2.0 + 1.0],
     lambda a: __import__("scipy.special").special.gammaincinv(a, 0.3))
case("betainc", jg.math.betainc, [_BETA_A, pos(4) * 3.0, f64(3, 4, lo=0.05, hi=0.95)],
     _sp("betainc"))
case("betainc:f32", jg.math.betainc, [f32(6, lo=0.2, hi=9.0), f32(6, lo=0.2, hi=9.0),
                                      f32(6, lo=0.0, hi=1.0)], _sp("betainc"), grad=False)
case("betainc_grad_a", lambda x: jg.ops.apply("betainc_grad_a", 2.5, 1.5, x),
     [f64(2, 3, lo=0.05, hi=0.95)], lambda x: _betainc_grad_ref("a")(2.5, 1.5, x))
case("betainc_grad_b", lambda x: jg.ops.apply("betainc_grad_b", 0.8, 3.0, x),
     [f64(2, 3, lo=0.05, hi=0.95)], lambda x: _betainc_grad_ref("b")(0.8, 3.0, x))


def uncovered_ops():
    """Registered ops that no case covers and that are not exempt."""
    from jitgraph.ops.core import REGISTRY

    covered = {c.op for c in CASES}
    return sorted(n for n, op in REGISTRY.items()
                  if n not in covered and n not in EXEMPT and op.kind not in EXEMPT_KINDS)
