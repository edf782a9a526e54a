"""QR and singular value decompositions: the ops ``qr`` and ``svd`` and ``jg.linalg.qr``,
``svd``, ``pinv``, ``matrix_rank`` (and ``jg.linalg.norm(ord=2)`` through ``svd``).

Each op works on the last two axes (float32/float64, leading batch axes, any m x n) and
returns one tensor that the public function splits (k = min(m, n)):

    qr   [..., m + k, n]        Q (m x k, padded with zeros to n columns), then R (k x n)
    svd  [..., 1 + m + n, k]    s (descending), then U (m x k), then V (n x k)

Compiled, each matrix runs a per-matrix kernel (codegen/linalg_decomp.py: Householder QR
with LAPACK's signs, one-sided Jacobi SVD; on the cpu LAPACK's geqrf/orgqr and gesdd from
24 / 16 columns up); eagerly numpy.linalg. QR's signs are LAPACK's
(R's diagonal -sign(a_jj) |x|), as numpy and TensorFlow give them; SVD's signs are not
defined by LAPACK, so both paths fix them: each column of U has its largest |entry| (the
first) positive, V's column flipped with it. Where singular values repeat (or are 0), the
singular vectors are not unique and the backends may differ (for a zero singular value
the compiled kernel completes U's columns to an orthonormal set its own way). A matrix
with a NaN or infinite entry gives NaN outputs on every path (numpy.linalg.svd would raise,
TensorFlow returns NaN).
``full_matrices=True`` is supported where it changes nothing (qr: m <= n; svd: m == n),
else a clear error.

Gradients are TensorFlow's: _QrGrad (deep/square and wide matrices), _SvdGrad
(full_matrices=False, with its safe reciprocal for repeated singular values).
"""

import numpy as np

from .. import errors
from .core import Op, Type, apply, fmt_shape, register
from .linalg_ops import _check_rank2, _fail, _matrix, _mm, _t


def _known(name, x):
    if not x.dtype.is_floating:
        raise _fail(name, f"matrix must be float32 or float64, got {x.dtype.name}"
                          f"{fmt_shape(x.shape)}; jg.cast it first")
    if len(x.shape) < 2:
        raise _fail(name, f"needs a tensor of rank >= 2 (a batch of matrices), got shape "
                          f"{fmt_shape(x.shape)}")
    m, n = x.shape[-2:]
    return m, n, (None if m is None or n is None else min(m, n))


def _qr_infer(types):
    (x,) = types
    m, n, k = _known("qr", x)
    return Type(x.dtype, x.shape[:-2] + (None if k is None else m + k, n))


def _svd_infer(types):
    (x,) = types
    m, n, k = _known("svd", x)
    return Type(x.dtype, x.shape[:-2] + (None if k is None else 1 + m + n, k))


def _qr_impl(x):
    m, n = x.shape[-2:]
    k = min(m, n)
    out = np.zeros(x.shape[:-2] + (m + k, n), x.dtype)
    if m and n:
        q, r = np.linalg.qr(x.astype(np.float64))
        out[..., :m, :k] = q
        out[..., m:, :] = r
    return out


def _svd_impl(x):
    m, n = x.shape[-2:]
    k = min(m, n)
    out = np.zeros(x.shape[:-2] + (1 + m + n, k), x.dtype)
    if k:
        bad = ~np.isfinite(x).all(axis=(-2, -1))  # NaN outputs, as the compiled kernels
        u, s, vh = np.linalg.svd(np.where(bad[..., None, None], 0.0, x.astype(np.float64)),
                                 full_matrices=False)
        s = np.where(bad[..., None], np.nan, s)
        idx = np.argmax(np.abs(u), -2)[..., None, :]  # U's largest |entry| made positive
        sign = np.where(np.take_along_axis(u, idx, -2) < 0, -1.0, 1.0)
        out[..., 0, :] = s
        out[..., 1:1 + m, :] = u * sign
        out[..., 1 + m:, :] = np.swapaxes(vh, -1, -2) * sign
        out[bad] = np.nan
    return out


def _parts(x, splits):
    from .indexing import _getitem

    return [_getitem(x, (Ellipsis, r, c)) for r, c in splits]


def _diag(v):
    from .assemble import eye
    from .shape import expand_dims

    return expand_dims(v, -1) * eye(int(v.shape[-1]), dtype=v.dtype)


def _band(x, lo, hi):
    from .composite import matrix_band_part

    return matrix_band_part(x, lo, hi)


def _tri_solve_right(x, r):
    """x @ inv(r)^T for upper-triangular r (TensorFlow's _TriangularSolve)."""
    return _t(apply("matrix_triangular_solve", r, _t(x), lower=False, adjoint=False))


def _qr_grad_deep(q, r, dq, dr):
    qdq = _mm(q, dq, ta=True)
    qdq_ = qdq - _t(qdq)
    rdr = _mm(r, dr, tb=True)
    rdr_ = rdr - _t(rdr)
    tril = _band(qdq_ + rdr_, -1, 0)
    return _mm(q, dr + _tri_solve_right(tril, r)) + _tri_solve_right(dq - _mm(q, qdq), r)


def _qr_grad(i, o, g):
    from .assemble import concat

    a = i[0]
    m, n = (int(d) for d in a.shape[-2:])
    k = min(m, n)
    q, r = _parts(o[0], [(slice(0, m), slice(0, k)), (slice(m, None), slice(None))])
    dq, dr = _parts(g[0], [(slice(0, m), slice(0, k)), (slice(m, None), slice(None))])
    if m >= n:
        return [_qr_grad_deep(q, r, dq, dr)]
    from .indexing import _getitem

    y = _getitem(a, (Ellipsis, slice(None), slice(m, None)))
    u = _getitem(r, (Ellipsis, slice(None), slice(0, m)))
    dv = _getitem(dr, (Ellipsis, slice(None), slice(m, None)))
    du = _getitem(dr, (Ellipsis, slice(None), slice(0, m)))
    dx = _qr_grad_deep(q, u, dq + _mm(y, dv, tb=True), du)
    return [concat([dx, _mm(q, dv)], axis=-1)]


def _safe_reciprocal(x):
    return x / (x * x + 1e-20)


def _svd_grad(i, o, g):
    """TensorFlow's _SvdGrad for full_matrices=False."""
    from .composite import set_diag
    from .shape import expand_dims, zeros_like

    a = i[0]
    m, n = (int(d) for d in a.shape[-2:])
    rows = [(0, slice(None)), (slice(1, 1 + m), slice(None)), (slice(1 + m, None), slice(None))]
    s, u, v = _parts(o[0], rows)
    gs, gu, gv = _parts(g[0], rows)
    adjoint = m > n
    if adjoint:  # the gradient of A^T = V S U^T, transposed at the end
        m, n = n, m
        u, v, gu, gv = v, u, gv, gu
    s2 = s * s
    f = set_diag(_safe_reciprocal(expand_dims(s2, -2) - expand_dims(s2, -1)), zeros_like(s))
    s_mat = _diag(s)
    f_u = f * _mm(u, gu, ta=True)
    f_v = f * _mm(v, gv, ta=True)
    inner = _diag(gs) + _mm(f_u + _t(f_u), s_mat) + _mm(s_mat, f_v + _t(f_v))
    ga = _mm(u, _mm(inner, v, tb=True))
    if m != n:
        gvt = _t(gv)
        term2 = gvt - _mm(_mm(gvt, v), v, tb=True)
        ga = ga + _mm(_mm(u, _diag(_safe_reciprocal(s))), term2)
    return [_t(ga) if adjoint else ga]


_DOC = "(ops/linalg_decomp.py; kernels in codegen/linalg_decomp.py)"
register(Op("qr", _qr_infer, _qr_impl, grad=_qr_grad, kind="linalg", lower="matrix",
            doc=f"[Q; R] by Householder reflections {_DOC}"))
register(Op("svd", _svd_infer, _svd_impl, grad=_svd_grad, kind="linalg", lower="matrix",
            doc=f"[s; U; V] by one-sided Jacobi {_DOC}"))


def _static_mn(x, name):
    m, n = x.shape[-2:]
    if m is None or n is None:
        raise _fail(name, f"needs the matrix size known when tracing, got shape "
                          f"{fmt_shape(x.shape)}; give the last two axes fixed sizes in the "
                          "input_signature")
    return int(m), int(n)


def qr(input, full_matrices=False, name=None):  # noqa: A002
    """``(q, r)`` with ``input == q @ r``: ``q`` [..., m, k] with orthonormal columns, ``r``
    [..., k, n] upper triangular, k = min(m, n) (Householder; LAPACK's signs, as
    TensorFlow). ``full_matrices=True`` only where it is the same (m <= n).

    >>> q, r = jg.linalg.qr([[3.0, 1.0], [4.0, 2.0]])  # r[0, 0] = -5
    """
    x = _matrix(input, "qr")
    _check_rank2(x, "qr")
    m, n = _static_mn(x, "qr")
    if full_matrices and m > n:
        raise errors.UnimplementedError(errors.at_user_line(
            f"qr: full_matrices=True for a tall matrix {fmt_shape(x.shape)} (a square Q) is "
            "not supported; use full_matrices=False (Q of shape [..., m, n])"))
    k = min(m, n)
    both = apply("qr", x)
    q, r = _parts(both, [(slice(0, m), slice(0, k)), (slice(m, None), slice(None))])
    return q, r


def svd(tensor, full_matrices=False, compute_uv=True, name=None):
    """``(s, u, v)`` with ``tensor == u @ diag(s) @ v^T`` (TensorFlow's order; ``v``, not
    ``v^T``): ``s`` [..., k] descending, ``u`` [..., m, k], ``v`` [..., n, k], k = min(m, n);
    ``compute_uv=False`` returns ``s`` alone. ``full_matrices=True`` only for square
    matrices (where it is the same).

    >>> s, u, v = jg.linalg.svd([[3.0, 0.0], [0.0, -4.0]])  # s = [4, 3]
    """
    x = _matrix(tensor, "svd")
    _check_rank2(x, "svd")
    m, n = _static_mn(x, "svd")
    if full_matrices and m != n:
        raise errors.UnimplementedError(errors.at_user_line(
            f"svd: full_matrices=True for a non-square matrix {fmt_shape(x.shape)} is not "
            "supported; use full_matrices=False (u [..., m, k], v [..., n, k])"))
    both = apply("svd", x)
    s, u, v = _parts(both, [(0, slice(None)), (slice(1, 1 + m), slice(None)),
                            (slice(1 + m, None), slice(None))])
    return (s, u, v) if compute_uv else s


def pinv(a, rcond=None, validate_args=False, name=None):
    """The Moore-Penrose pseudo-inverse through the SVD: singular values at most
    ``rcond * max(s)`` are dropped; ``rcond`` defaults to 10 * max(m, n) * eps, as
    TensorFlow."""
    from .elementwise import where
    from .reduce import reduce_max
    from .shape import expand_dims, zeros_like

    x = _matrix(a, "pinv")
    s, u, v = svd(x)
    m, n = _static_mn(x, "pinv")
    if rcond is None:
        rcond = 10.0 * max(m, n) * float(np.finfo(x.dtype.np).eps)
    cutoff = rcond * reduce_max(s, axis=-1, keepdims=True)
    keep = s > cutoff
    inv = where(keep, 1.0 / where(keep, s, zeros_like(s) + 1.0), zeros_like(s))
    return _mm(v * expand_dims(inv, -2), u, tb=True)


def matrix_rank(a, tol=None, validate_args=False, name=None):
    """The number of singular values above ``tol`` (default max(s) * max(m, n) * eps), as
    TensorFlow: int64, shape [...]."""
    from .. import dtypes
    from .elementwise import cast
    from .reduce import reduce_max, reduce_sum

    x = _matrix(a, "matrix_rank")
    s = svd(x, compute_uv=False)
    m, n = _static_mn(x, "matrix_rank")
    if tol is None:
        tol = reduce_max(s, axis=-1, keepdims=True) * (max(m, n) *
                                                        float(np.finfo(x.dtype.np).eps))
    return reduce_sum(cast(s > tol, dtypes.int64), axis=-1)


def spectral_norm(x, axis, keepdims):
    """``jg.norm(x, ord=2, axis=[i, j])``: the largest singular value of the matrices over
    axes (i, j)."""
    from .core import normalize_axis
    from .reduce import reduce_max
    from .shape import expand_dims, transpose

    r = len(x.shape)
    i, j = (normalize_axis(a, r, "norm")[0] for a in axis)
    if i == j:
        raise _fail("norm", f"axis {list(axis)} names one axis twice; pass two different axes")
    rest = [d for d in range(r) if d not in (i, j)]
    if rest + [i, j] != list(range(r)):
        x = transpose(x, rest + [i, j])
    out = reduce_max(svd(x, compute_uv=False), axis=-1)
    if keepdims:
        for d in sorted((i, j)):
            out = expand_dims(out, d)
    return out


__all__ = []
