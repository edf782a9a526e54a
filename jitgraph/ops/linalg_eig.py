"""Symmetric eigendecomposition: the op ``self_adjoint_eig`` (TensorFlow's SelfAdjointEigV2)
and ``jg.linalg.eigh`` / ``eigvalsh``.

The op reads the lower triangle of each matrix (float32/float64, leading batch axes) and
returns one tensor [..., n + 1, n]: row 0 the eigenvalues in ascending order (TensorFlow's
order), rows 1.. the eigenvectors as columns; ``eigh`` splits it. Each eigenvector's sign
is fixed so that its largest |component| (the first such) is positive: eagerly
numpy.linalg.eigh normalized that way, compiled a cyclic Jacobi kernel per matrix
(codegen/linalg_decomp.py; on the cpu LAPACK's syevd from 16 columns up) normalized the
same way, so the backends agree
up to rounding wherever the eigenvalues are distinct (for repeated eigenvalues any
orthonormal basis of the eigenspace is an answer; the backends may give different ones).

The gradient is TensorFlow's (_SelfAdjointEigV2Grad): ``V (diag(ge) + F o (V^T gV)) V^T``
with ``F_ij = 1 / (e_j - e_i)`` taken as ``x / (x^2 + 1e-20)`` (TensorFlow's
_SafeReciprocal: 0, not inf, for repeated eigenvalues, where the eigenvectors and so their
gradient are not defined), symmetrized onto the lower triangle.

A matrix with a NaN or infinite entry in its lower triangle gives NaN outputs on every path
(TensorFlow raises InvalidArgumentError; NaN keeps the other matrices of a batch usable).
"""

import numpy as np

from .core import Op, Type, apply, register
from .linalg_ops import _check_matrix, _matrix, _mm, _t


def _eig_infer(types):
    (x,) = types
    _check_matrix("self_adjoint_eig", x)
    n = x.shape[-1]
    return Type(x.dtype, x.shape[:-2] + (None if n is None else n + 1, n))


def normalize_signs(v):
    """Flips each column of ``v`` [..., n, n] so its largest |entry| (the first) is > 0."""
    if v.shape[-1] == 0:
        return v
    idx = np.argmax(np.abs(v), axis=-2)[..., None, :]
    sign = np.where(np.take_along_axis(v, idx, axis=-2) < 0, -1, 1).astype(v.dtype)
    return v * sign


def _eig_impl(x):
    n = x.shape[-1]
    out = np.empty(x.shape[:-2] + (n + 1, n), x.dtype)
    if n == 0:
        return out
    bad = ~np.isfinite(np.tril(x)).all(axis=(-2, -1))  # NaN outputs, as the compiled kernels
    with np.errstate(all="ignore"):
        w, v = np.linalg.eigh(np.where(bad[..., None, None], 0.0, x.astype(np.float64)),
                              UPLO="L")
    out[..., 0, :] = w
    out[..., 1:, :] = normalize_signs(v)
    out[bad] = np.nan
    return out


def _eig_grad(i, o, g):
    from .composite import diag_part, matrix_band_part, set_diag
    from .indexing import _getitem
    from .shape import expand_dims, zeros_like

    both, g = o[0], g[0]
    e = _getitem(both, (Ellipsis, 0, slice(None)))
    v = _getitem(both, (Ellipsis, slice(1, None), slice(None)))
    ge = _getitem(g, (Ellipsis, 0, slice(None)))
    gv = _getitem(g, (Ellipsis, slice(1, None), slice(None)))
    d = expand_dims(e, -2) - expand_dims(e, -1)  # [i, j] = e_j - e_i
    f = set_diag(d / (d * d + 1e-20), zeros_like(e))
    inner = set_diag(f * _mm(v, gv, ta=True), ge)
    ga = _mm(v, _mm(inner, v, tb=True))
    ga = matrix_band_part(ga + _t(ga), -1, 0)
    return [set_diag(ga, 0.5 * diag_part(ga))]


register(Op("self_adjoint_eig", _eig_infer, _eig_impl, grad=_eig_grad, kind="linalg",
            lower="matrix", doc="[eigenvalues; eigenvectors] of the lower triangle "
            "(ops/linalg_eig.py; a Jacobi kernel in codegen/linalg_decomp.py)"))


def eigh(tensor, name=None):
    """``(e, v)``: the eigenvalues (ascending) and eigenvectors (columns) of each symmetric
    matrix, reading its lower triangle; ``tensor @ v == v * e``.

    >>> e, v = jg.linalg.eigh([[2.0, 1.0], [1.0, 2.0]])  # e = [1, 3]
    """
    from .indexing import _getitem

    both = apply("self_adjoint_eig", _matrix(tensor, "eigh"))
    return (_getitem(both, (Ellipsis, 0, slice(None))),
            _getitem(both, (Ellipsis, slice(1, None), slice(None))))


def eigvalsh(tensor, name=None):
    """The eigenvalues (ascending) of each symmetric matrix (its lower triangle)."""
    return eigh(tensor)[0]


__all__ = []
