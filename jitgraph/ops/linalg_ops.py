"""Matrix factorizations and solves under TensorFlow's raw op names: ``cholesky``,
``matrix_triangular_solve``, ``matrix_solve``, ``matrix_inverse``, ``matrix_determinant``
and ``log_matrix_determinant`` (one output ``[..., 2]``: sign, log|det|; jg.linalg.slogdet
splits it). The public functions live in jitgraph/linalg.py.

Every op works on the last two axes, float32 or float64, with leading batch axes (the
wrappers broadcast the batch axes of a matrix and its right-hand side first, so the ops
see equal ones). Compiled, each backend runs one sequential factorization per matrix
(codegen/linalg_kernels.py: a worker-pool task per matrix on the cpu, a thread per matrix
on the GPU). As in TensorFlow, a Cholesky factorization of a matrix that is not positive
definite and a solve or inverse of a singular matrix raise ``InvalidArgumentError``, eagerly
and from compiled code (the kernel's status code); a triangular solve does not check its
diagonal (a zero there gives inf/nan), and a determinant of a singular matrix is 0.

Gradients are TensorFlow's rules written with jitgraph ops (so they serve the tape, the
graph transform and higher orders).
"""

import numpy as np

from .. import errors
from .core import Op, Type, apply, fmt_shape, register

NOT_PD = ("Cholesky decomposition was not successful. The input might not be valid "
          "(it must be symmetric positive definite)")
SINGULAR_SOLVE = "Input matrix is not invertible"
SINGULAR_INVERSE = "Input is not invertible"


def _fail(name, what):
    return errors.InvalidArgumentError(errors.at_user_line(f"{name}: {what}"))


def _check_matrix(name, t, arg="matrix"):
    if not t.dtype.is_floating:
        raise _fail(name, f"{arg} must be float32 or float64, got {t.dtype.name}"
                          f"{fmt_shape(t.shape)}; jg.cast it first")
    if len(t.shape) < 2:
        raise _fail(name, f"{arg} must have rank >= 2 (a batch of matrices), got shape "
                          f"{fmt_shape(t.shape)}; for one vector use jg.linalg.diag or "
                          "jg.reshape")
    m, n = t.shape[-2:]
    if m is not None and n is not None and m != n:
        raise _fail(name, f"{arg} must be square in its last two axes, got shape "
                          f"{fmt_shape(t.shape)}; for a least-squares solution use "
                          "jg.linalg.lstsq")


def _check_rhs(name, a, b):
    _check_matrix(name, a)
    if len(b.shape) < 2:
        raise _fail(name, f"rhs must have rank >= 2 (one column per right-hand side), got "
                          f"shape {fmt_shape(b.shape)}; for a vector use jg.expand_dims(rhs, "
                          "-1)")
    n, k = a.shape[-1], b.shape[-2]
    if n is not None and k is not None and n != k:
        raise _fail(name, f"matrix of shape {fmt_shape(a.shape)} and rhs of shape "
                          f"{fmt_shape(b.shape)} do not match: rhs needs {n} rows")
    if len(a.shape) != len(b.shape) or any(
            x is not None and y is not None and x != y
            for x, y in zip(a.shape[:-2], b.shape[:-2])):
        raise _fail(name, f"the batch axes of matrix {fmt_shape(a.shape)} and rhs "
                          f"{fmt_shape(b.shape)} differ; broadcast them first")


# ----------------------------------------------------------------------------- NumPy


def _np_call(name, what, fn, *args):
    with np.errstate(all="ignore"):
        try:
            return fn(*args)
        except np.linalg.LinAlgError:
            raise _fail(name, what) from None


def _tri_solve_np(a, b, lower, adjoint):
    """Substitution with the ``lower`` (or upper) triangle of ``a`` (or of its transpose
    with ``adjoint``), like the kernel: no check of the diagonal."""
    t = np.tril(a) if lower else np.triu(a)
    if adjoint:
        t = np.swapaxes(t, -1, -2)
    n = a.shape[-1]
    x = np.zeros(np.broadcast_shapes(a.shape[:-2], b.shape[:-2]) + b.shape[-2:], a.dtype)
    order = range(n) if lower != adjoint else range(n - 1, -1, -1)
    with np.errstate(all="ignore"):
        for i in order:
            x[..., i, :] = (b[..., i, :] - np.einsum("...k,...kc->...c", t[..., i, :],
                                                     x)) / t[..., i, i, None]
    return x


def _cholesky_impl(x):
    if x.shape[-1] == 0:
        return x.copy()
    return _np_call("cholesky", NOT_PD, np.linalg.cholesky, x).astype(x.dtype)


def _det_impl(x):
    if x.shape[-1] == 0:
        return np.ones(x.shape[:-2], x.dtype)
    return np.linalg.det(x).astype(x.dtype)


def _slogdet_impl(x):
    if x.shape[-1] == 0:
        return np.stack([np.ones(x.shape[:-2], x.dtype), np.zeros(x.shape[:-2], x.dtype)], -1)
    with np.errstate(all="ignore"):
        s, v = np.linalg.slogdet(x)
    return np.stack([s, v], -1).astype(x.dtype)


def _solve_impl(a, b, adjoint):
    if a.shape[-1] == 0:
        return b.copy()
    if adjoint:
        a = np.swapaxes(a, -1, -2)
    return _np_call("matrix_solve", SINGULAR_SOLVE, np.linalg.solve, a, b).astype(a.dtype)


def _inverse_impl(x, adjoint):
    if x.shape[-1] == 0:
        return x.copy()
    if adjoint:
        x = np.swapaxes(x, -1, -2)
    return _np_call("matrix_inverse", SINGULAR_INVERSE, np.linalg.inv, x).astype(x.dtype)


# ----------------------------------------------------------------------------- type rules


def _square(name):
    def infer(types, **attrs):
        (x,) = types
        _check_matrix(name, x)
        return Type(x.dtype, x.shape)

    return infer


def _det_infer(types):
    (x,) = types
    _check_matrix("matrix_determinant", x)
    return Type(x.dtype, x.shape[:-2])


def _slogdet_infer(types):
    (x,) = types
    _check_matrix("log_matrix_determinant", x)
    return Type(x.dtype, x.shape[:-2] + (2,))


def _rhs_infer(name):
    def infer(types, **attrs):
        a, b = types
        _check_rhs(name, a, b)
        return Type(a.dtype, b.shape)

    return infer


# ----------------------------------------------------------------------------- gradients


def _mm(x, y, ta=False, tb=False):
    return apply("matmul", x, y, transpose_a=ta, transpose_b=tb)


def _t(x):
    r = len(x.shape)
    return apply("transpose", x, perm=tuple(range(r - 2)) + (r - 1, r - 2))


def _band(x, lower):
    from .composite import matrix_band_part

    return matrix_band_part(x, -1, 0) if lower else matrix_band_part(x, 0, -1)


def _identity_like(x):
    from .assemble import eye
    from .shape import zeros_like

    return zeros_like(x) + eye(int(x.shape[-1]), dtype=x.dtype)


def _cholesky_grad(i, o, g):
    from .composite import diag_part, set_diag

    ll, g = o[0], g[0]
    l_inv = apply("matrix_triangular_solve", ll, _identity_like(ll), lower=True,
                  adjoint=False)
    middle = _mm(ll, g, ta=True)
    middle = _band(set_diag(middle, 0.5 * diag_part(middle)), True)
    ga = _mm(_mm(l_inv, middle, ta=True), l_inv)
    return [(ga + _t(ga)) * 0.5]


def _tri_solve_grad(i, o, g, lower, adjoint):
    a, c, g = i[0], o[0], g[0]
    gb = apply("matrix_triangular_solve", a, g, lower=lower, adjoint=not adjoint)
    ga = -(_mm(c, gb, tb=True) if adjoint else _mm(gb, c, tb=True))
    return [_band(ga, lower), gb]


def _solve_grad(i, o, g, adjoint):
    a, c, g = i[0], o[0], g[0]
    gb = apply("matrix_solve", a, g, adjoint=not adjoint)
    ga = -(_mm(c, gb, tb=True) if adjoint else _mm(gb, c, tb=True))
    return [ga, gb]


def _inverse_grad(i, o, g, adjoint):
    inv = o[0]
    if adjoint:  # o = inv(a)^T: d/da of <g, inv(a)^T> = -inv^T g^T inv^T
        return [-_mm(_mm(inv, g[0], tb=True), inv)]
    return [-_mm(_mm(inv, g[0], ta=True), inv, tb=True)]


def _inv_t(a):
    return apply("matrix_inverse", a, adjoint=True)


def _det_grad(i, o, g):
    from .shape import expand_dims

    s = expand_dims(expand_dims(g[0] * o[0], -1), -1)
    return [s * _inv_t(i[0])]


def _slogdet_grad(i, o, g):
    from .indexing import _getitem
    from .shape import expand_dims

    glog = _getitem(g[0], (Ellipsis, 1))
    return [expand_dims(expand_dims(glog, -1), -1) * _inv_t(i[0])]


def _lu_infer(types):
    (x,) = types
    _check_matrix("lu", x)
    n = x.shape[-1]
    return Type(x.dtype, x.shape[:-1] + (None if n is None else n + 1,))


def _lu_impl(x):
    """Gaussian elimination with partial pivoting (the first largest |pivot|; an exactly
    zero pivot column is left as it is), vectorized over the batch, as the kernel does it:
    [..., n, n + 1] holding L (unit diagonal, below) and U, then the permutation."""
    n = x.shape[-1]
    w = np.concatenate([x, np.broadcast_to(np.arange(n, dtype=x.dtype)[:, None],
                                           x.shape[:-1] + (1,))], -1).reshape(-1, n, n + 1)
    rows = np.arange(w.shape[0])
    with np.errstate(all="ignore"):
        for j in range(n):
            p = j + np.argmax(np.abs(w[:, j:, j]), axis=1)
            top = w[rows, j].copy()
            w[rows, j] = w[rows, p]
            w[rows, p] = top
            piv = w[:, j, j]
            ok = (piv != 0)[:, None]
            f = np.where(ok, w[:, j + 1:, j] / np.where(ok[:, 0], piv, 1)[:, None],
                         w[:, j + 1:, j])
            w[:, j + 1:, j] = f
            w[:, j + 1:, j + 1:n] -= np.where(ok, f, 0)[:, :, None] * w[:, j, None, j + 1:n]
    return w.reshape(x.shape[:-1] + (n + 1,))


_DOC = "(ops/linalg_ops.py; kernels in codegen/linalg_kernels.py)"
register(Op("cholesky", _square("cholesky"), _cholesky_impl, grad=_cholesky_grad,
            kind="linalg", lower="matrix", doc=f"Cholesky factor {_DOC}"))
register(Op("matrix_triangular_solve", _rhs_infer("matrix_triangular_solve"),
            lambda a, b, lower, adjoint: _tri_solve_np(a, b, lower, adjoint),
            grad=_tri_solve_grad, kind="linalg", lower="matrix",
            doc=f"triangular solve {_DOC}"))
register(Op("matrix_solve", _rhs_infer("matrix_solve"), _solve_impl, grad=_solve_grad,
            kind="linalg", lower="matrix", doc=f"LU solve {_DOC}"))
register(Op("matrix_inverse", _square("matrix_inverse"), _inverse_impl, grad=_inverse_grad,
            kind="linalg", lower="matrix", doc=f"inverse {_DOC}"))
register(Op("matrix_determinant", _det_infer, _det_impl, grad=_det_grad, kind="linalg",
            lower="matrix", doc=f"determinant {_DOC}"))
register(Op("lu", _lu_infer, _lu_impl, kind="linalg", lower="matrix",
            doc=f"[L\\U | permutation] of partial-pivoting LU {_DOC}"))
register(Op("log_matrix_determinant", _slogdet_infer, _slogdet_impl, grad=_slogdet_grad,
            kind="linalg", lower="matrix", doc=f"[sign, log|det|] {_DOC}"))


# ----------------------------------------------------------------------------- public


def _matrix(x, name):
    from .core import as_tensor

    return as_tensor(x, name)


def _batched(name, a, b):
    """``a`` and ``b`` with their batch axes broadcast to one shape (TensorFlow broadcasts
    them in solves); rank < 2 is left to the type rule's error."""
    from .core import as_tensor, broadcast_shapes
    from .shape import broadcast_to

    a = as_tensor(a, name)
    b = as_tensor(b, name, a.dtype)  # Python lists take the matrix's dtype
    if a.dtype != b.dtype:
        raise _fail(name, f"matrix is {a.dtype.name} but rhs is {b.dtype.name}; jg.cast one "
                          "of them")
    sa, sb = tuple(a.shape), tuple(b.shape)
    if len(sa) < 2 or len(sb) < 2 or sa[:-2] == sb[:-2] or None in sa + sb:
        return a, b
    try:
        batch = broadcast_shapes(name, sa[:-2], sb[:-2])
    except errors.InvalidArgumentError:
        raise _fail(name, f"the batch axes of matrix {fmt_shape(sa)} and rhs {fmt_shape(sb)} "
                          "do not broadcast; make them equal or 1") from None
    if sa[:-2] != batch:
        a = broadcast_to(a, batch + sa[-2:])
    if sb[:-2] != batch:
        b = broadcast_to(b, batch + sb[-2:])
    return a, b


def cholesky(input, name=None):  # noqa: A002
    """The lower-triangular ``L`` with ``L @ L^T == input`` for symmetric positive definite
    matrices (only the lower triangle of ``input`` is read).

    >>> jg.linalg.cholesky([[4.0, 2.0], [2.0, 5.0]])  # [[2, 0], [1, 2]]
    """
    return apply("cholesky", _matrix(input, "cholesky"))


def triangular_solve(matrix, rhs, lower=True, adjoint=False, name=None):
    """``X`` with ``matrix @ X == rhs`` (``adjoint``: ``matrix^T @ X``), reading only the
    lower (``lower=True``) or upper triangle of ``matrix``.

    >>> jg.linalg.triangular_solve([[2.0, 0.0], [1.0, 1.0]], [[2.0], [3.0]])  # [[1], [2]]
    """
    a, b = _batched("triangular_solve", matrix, rhs)
    return apply("matrix_triangular_solve", a, b, lower=bool(lower), adjoint=bool(adjoint))


def cholesky_solve(chol, rhs, name=None):
    """``X`` with ``A @ X == rhs`` given ``chol = jg.linalg.cholesky(A)``."""
    y = triangular_solve(chol, rhs, lower=True, adjoint=False)
    return triangular_solve(chol, y, lower=True, adjoint=True)


def solve(matrix, rhs, adjoint=False, name=None):
    """``X`` with ``matrix @ X == rhs`` (LU with partial pivoting); a singular matrix raises
    ``InvalidArgumentError``.

    >>> jg.linalg.solve([[2.0, 0.0], [0.0, 4.0]], [[2.0], [2.0]])  # [[1], [0.5]]
    """
    a, b = _batched("solve", matrix, rhs)
    return apply("matrix_solve", a, b, adjoint=bool(adjoint))


def inv(input, adjoint=False, name=None):  # noqa: A002
    """The inverse of each matrix (``adjoint``: of its transpose); a singular matrix raises
    ``InvalidArgumentError: Input is not invertible``."""
    return apply("matrix_inverse", _matrix(input, "inv"), adjoint=bool(adjoint))


def det(input, name=None):  # noqa: A002
    """The determinant of each matrix (LU with partial pivoting): shape ``input.shape[:-2]``."""
    return apply("matrix_determinant", _matrix(input, "det"))


def slogdet(input, name=None):  # noqa: A002
    """``(sign, log_abs_determinant)`` of each matrix; a singular one gives (0, -inf).

    >>> sign, logdet = jg.linalg.slogdet([[2.0, 0.0], [0.0, -3.0]])  # -1, log(6)
    """
    from .indexing import _getitem

    both = apply("log_matrix_determinant", _matrix(input, "slogdet"))
    return _getitem(both, (Ellipsis, 0)), _getitem(both, (Ellipsis, 1))


def lu(input, output_idx_type=None, name=None):  # noqa: A002
    """``(lower_upper, perm)``: the LU factorization with partial pivoting, TensorFlow's
    layout: ``lower_upper`` holds U on and above the diagonal and the unit-diagonal L below
    it; ``input[..., perm, :] == L @ U``. Not differentiable (TensorFlow's LU gradient is
    not implemented); a singular matrix gives zeros on U's diagonal, no error.

    >>> lower_upper, perm = jg.linalg.lu([[1.0, 2.0], [3.0, 4.0]])  # perm [1, 0]
    """
    from .. import dtypes
    from .elementwise import cast
    from .indexing import _getitem

    x = _matrix(input, "lu")
    both = apply("lu", x)
    n = both.shape[-1] - 1 if both.shape[-1] is not None else None
    idx = dtypes.as_dtype(output_idx_type or dtypes.int32)
    lower_upper = _getitem(both, (Ellipsis, slice(0, n)))
    return lower_upper, cast(_getitem(both, (Ellipsis, -1)), idx)


def _lu_parts(lower_upper, perm, name):
    from .composite import matrix_band_part, set_diag
    from .indexing import one_hot
    from .shape import ones_like

    lu_ = _matrix(lower_upper, name)
    _check_matrix(name, lu_)
    n = lu_.shape[-1]
    if n is None:
        raise _fail(name, f"needs a known matrix size, got shape {fmt_shape(lu_.shape)}")
    unit_lower = set_diag(matrix_band_part(lu_, -1, 0), ones_like(lu_[..., 0]))
    p = one_hot(perm, int(n), dtype=lu_.dtype)  # p @ x == x[..., perm, :]
    return lu_, unit_lower, p


def lu_solve(lower_upper, perm, rhs, validate_args=False, name=None):
    """``X`` with ``A @ X == rhs`` given ``lower_upper, perm = jg.linalg.lu(A)``."""
    from .linalg import matmul

    lu_, unit_lower, p = _lu_parts(lower_upper, perm, "lu_solve")
    y = triangular_solve(unit_lower, matmul(p, rhs), lower=True)
    return triangular_solve(lu_, y, lower=False)


def lu_reconstruct(lower_upper, perm, validate_args=False, name=None):
    """The matrix ``A`` that ``jg.linalg.lu`` factored: ``P^T @ L @ U``."""
    from .composite import matrix_band_part
    from .linalg import matmul

    lu_, unit_lower, p = _lu_parts(lower_upper, perm, "lu_reconstruct")
    return matmul(p, matmul(unit_lower, matrix_band_part(lu_, 0, -1)), transpose_a=True)


def lu_matrix_inverse(lower_upper, perm, validate_args=False, name=None):
    """The inverse of ``A`` given ``lower_upper, perm = jg.linalg.lu(A)``."""
    from .assemble import eye
    from .shape import zeros_like

    lu_ = _matrix(lower_upper, "lu_matrix_inverse")
    _check_matrix("lu_matrix_inverse", lu_)
    return lu_solve(lu_, perm, zeros_like(lu_) + eye(int(lu_.shape[-1]), dtype=lu_.dtype))


def logdet(matrix, name=None):
    """``log(det(matrix))`` of a symmetric positive definite matrix, through its Cholesky
    factor (as TensorFlow): ``2 * sum(log(diag(cholesky(matrix))))``."""
    from .composite import diag_part
    from .elementwise import log
    from .reduce import reduce_sum

    return 2.0 * reduce_sum(log(diag_part(cholesky(matrix))), axis=-1)


def lstsq(matrix, rhs, l2_regularizer=0.0, fast=True, name=None):
    """Least squares ``argmin_X |matrix @ X - rhs|^2 + l2 |X|^2`` for ``matrix`` of shape
    [..., m, n] with m >= n (TensorFlow's ``fast`` path: the normal equations solved by
    Cholesky; ``fast=False`` is not supported)."""
    from .assemble import eye
    from .linalg import matmul

    if not fast:
        raise errors.UnimplementedError(errors.at_user_line(
            "lstsq: fast=False (a complete orthogonal decomposition) is not supported; use "
            "fast=True"))
    a = _matrix(matrix, "lstsq")
    _check_rank2(a, "lstsq")
    gram = matmul(a, a, transpose_a=True)
    if l2_regularizer:
        gram = gram + float(l2_regularizer) * eye(int(a.shape[-1]), dtype=a.dtype)
    return cholesky_solve(cholesky(gram), matmul(a, rhs, transpose_a=True))


def _check_rank2(x, name):
    if len(x.shape) < 2:
        raise _fail(name, f"needs a tensor of rank >= 2, got shape {fmt_shape(x.shape)}")


def diag(diagonal, name=None, **kwargs):
    """A batch of diagonal matrices from vectors: shape [..., n] -> [..., n, n].

    >>> jg.linalg.diag([1.0, 2.0])  # [[1, 0], [0, 2]]
    """
    from .assemble import eye
    from .core import as_tensor
    from .shape import expand_dims

    if kwargs:
        raise errors.UnimplementedError(errors.at_user_line(
            f"diag: {sorted(kwargs)} (off-diagonals, padding) are not supported; only the "
            "main diagonal"))
    d = as_tensor(diagonal, "diag")
    if len(d.shape) < 1 or d.shape[-1] is None:
        raise _fail("diag", f"needs a tensor of rank >= 1 with a known last axis, got "
                            f"shape {fmt_shape(d.shape)}")
    return expand_dims(d, -1) * eye(int(d.shape[-1]), dtype=d.dtype)


def matrix_transpose(a, name="matrix_transpose", conjugate=False):
    """Transposes the last two axes (``jg.linalg.adjoint`` for real matrices)."""
    x = _matrix(a, "matrix_transpose")
    _check_rank2(x, "matrix_transpose")
    return _t(x)


def adjoint(matrix, name=None):
    """The conjugate transpose of the last two axes; for real matrices the transpose."""
    return matrix_transpose(matrix)


__all__ = []
