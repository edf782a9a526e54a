"""More of ``tf.linalg``, built from other ops (so every backend compiles them and autodiff
differentiates them through their parts): ``cross``, ``normalize``, ``expm``, ``sqrtm``,
``logm``, ``tridiagonal_solve``, ``tridiagonal_matmul``, ``tensor_diag``,
``tensor_diag_part``, ``banded_triangular_solve``; ``eig`` and ``eigvals`` raise (their
results are complex, and jitgraph has no complex dtype).

- ``expm``: scaling and squaring with the degree-13 Pade approximant (Higham 2005): ``A``
  is scaled by ``2**-s`` until its 1-norm is below 5.37, and the approximant squared ``s``
  times in a ``while_loop`` (``s`` is computed from the values, eagerly or when it runs).
- ``sqrtm``: the principal square root of a real matrix whose eigenvalues are off the
  closed negative real axis (then it is real), by the product form of the Denman-Beavers
  iteration with determinant scaling (Higham, Functions of Matrices, 6.3), 16 steps in a
  ``while_loop``. A
  matrix without a real principal root (an eigenvalue on the negative real axis) gives NaN,
  checked by the residual ``||X @ X - A|| / ||A||``.
- ``logm``: TensorFlow's takes complex matrices only; here the real principal logarithm of
  a real matrix with the same condition as ``sqrtm`` (NaN otherwise), by inverse scaling
  and squaring: square roots until ``||A - I||_1 <= 0.25``, then the series
  ``log A = 2 atanh((A - I)(A + I)^-1)`` (10 terms), times ``2**k``.
- The tridiagonal and banded solvers build the dense matrix and call ``solve`` /
  ``triangular_solve`` (O(M^3) where TensorFlow's take O(M)): right for the small systems
  jitgraph compiles, with their gradients.

    >>> jg.linalg.cross([1.0, 0.0, 0.0], [0.0, 1.0, 0.0])   # [0, 0, 1]
    >>> jg.linalg.expm([[0.0, 1.0], [-1.0, 0.0]])          # a rotation by 1 radian
"""

import numpy as np

from .. import errors
from .assemble import concat, stack
from .composite import matrix_band_part, norm
from .control import while_loop
from .core import as_tensor
from .elementwise import abs, cast, ceil, exp, log, maximum, sqrt, where  # noqa: A004
from .indexing import _getitem
from .linalg import matmul
from .linalg_ops import diag, slogdet, solve, triangular_solve
from .reduce import reduce_all, reduce_max, reduce_sum
from .shape import expand_dims, reshape, transpose, zeros_like
from .state import stop_gradient


def _fail(message):
    return errors.InvalidArgumentError(errors.at_user_line(message))


def _desc(t):
    return f"{t.dtype.name}{list(t.shape)}"


def _float(x, what, arg="input"):
    x = as_tensor(x, what)
    if not x.dtype.is_floating:
        raise _fail(f"{what}: {arg} must be float32 or float64, got {x.dtype.name}; "
                    f"convert it with jg.cast")
    return x


def _square(x, what):
    x = _float(x, what)
    if x.ndim < 2 or x.shape[-1] is None or x.shape[-1] != x.shape[-2]:
        raise _fail(f"{what}: needs square matrices [..., M, M] with M known when tracing, "
                    f"got {_desc(x)}")
    return x


def _eye_like(x):
    n = int(x.shape[-1])
    return as_tensor(np.eye(n, dtype=x.dtype.np), "eye")


def cross(a, b, name=None):
    """The cross product of 3-vectors along the last axis (broadcast over the others)."""
    a = _float(a, "cross", "a")
    b = as_tensor(b, "cross", a.dtype)
    if b.dtype != a.dtype:
        raise _fail(f"cross: a is {a.dtype.name} but b is {b.dtype.name}; convert one with "
                    f"jg.cast")
    if a.ndim < 1 or b.ndim < 1 or a.shape[-1] != 3 or b.shape[-1] != 3:
        raise _fail(f"cross: a and b must have 3 elements in their last dim, got {_desc(a)} "
                    f"and {_desc(b)}")
    a0, a1, a2 = (_getitem(a, (Ellipsis, i)) for i in range(3))
    b0, b1, b2 = (_getitem(b, (Ellipsis, i)) for i in range(3))
    return stack([a1 * b2 - a2 * b1, a2 * b0 - a0 * b2, a0 * b1 - a1 * b0], axis=-1)


def normalize(tensor, ord="euclidean", axis=None, name=None):  # noqa: A002
    """``(tensor / norm, norm)`` with ``norm = jg.norm(tensor, ord, axis, keepdims=True)``.

    >>> jg.linalg.normalize([3.0, 4.0])  # ([0.6, 0.8], [5.0])
    """
    x = _float(tensor, "normalize", "tensor")
    n = norm(x, ord=ord, axis=axis, keepdims=True)
    return x / n, n


# ----------------------------------------------------------------------------- expm

_PADE13 = (64764752532480000.0, 32382376266240000.0, 7771770303897600.0,
           1187353796428800.0, 129060195264000.0, 10559470521600.0, 670442572800.0,
           33522128640.0, 1323241920.0, 40840800.0, 960960.0, 16380.0, 182.0, 1.0)
_THETA13 = 5.371920351148152


def _norm1(x):
    """The largest 1-norm (max column sum) over all the matrices of the batch."""
    return reduce_max(reduce_sum(abs(x), axis=-2))


def expm(input, name=None):  # noqa: A002
    """The matrix exponential ``sum(A**k / k!)`` of square matrices [..., M, M]."""
    a = _square(input, "expm")
    b = _PADE13
    s = maximum(ceil(log(stop_gradient(_norm1(a)) / _THETA13) / np.log(2.0)), 0.0)
    s = where(s == s, s, zeros_like(s))  # a NaN input: no squaring, NaN result
    a = a / exp(s * np.log(2.0))
    ident = _eye_like(a)
    a2 = matmul(a, a)
    a4 = matmul(a2, a2)
    a6 = matmul(a4, a2)
    u = matmul(a, matmul(a6, b[13] * a6 + b[11] * a4 + b[9] * a2)
               + b[7] * a6 + b[5] * a4 + b[3] * a2 + b[1] * ident)
    v = matmul(a6, b[12] * a6 + b[10] * a4 + b[8] * a2) + b[6] * a6 + b[4] * a4 \
        + b[2] * a2 + b[0] * ident
    r = solve(v - u, v + u)
    steps = cast(s, _jg_int32())
    _, r = while_loop(lambda i, m: i < steps, lambda i, m: (i + 1, matmul(m, m)),
                      (as_tensor(np.int32(0), "expm"), r))
    return r


def _jg_int32():
    from .. import dtypes

    return dtypes.int32


# ----------------------------------------------------------------------------- sqrtm, logm

_DB_STEPS = 16


def _db_sqrt(a):
    """The Denman-Beavers product iteration with determinant scaling, ``_DB_STEPS`` steps
    of a ``while_loop``: Y -> sqrt(A), M -> I."""
    n = int(a.shape[-1])
    ident = _eye_like(a)
    full = ident + zeros_like(a)

    def step(i, m, y):
        _, logdet = slogdet(m)
        mu = reshape(exp(-stop_gradient(logdet) / (2 * n)), list(logdet.shape) + [1, 1])
        mu = where(mu == mu, mu, zeros_like(mu) + 1)  # a singular M: no scaling
        m, y = m * (mu * mu), y * mu
        mi = solve(m, full)
        return i + 1, 0.5 * (ident + 0.5 * (m + mi)), 0.5 * matmul(y, ident + mi)

    _, _, y = while_loop(lambda i, m, y: i < _DB_STEPS, step,
                         (as_tensor(np.int32(0), "sqrtm"), a, a))
    return y


def _residual_ok(x, a):
    """Per matrix: ``||x @ x - a||_F <= tol ||a||_F`` (NaN fails)."""
    tol = 1e-3 if a.dtype.name == "float32" else 1e-8
    diff = sqrt(reduce_sum((matmul(x, x) - a) ** 2, axis=[-2, -1]))
    size = sqrt(reduce_sum(a * a, axis=[-2, -1]))
    return diff <= tol * maximum(size, np.finfo(a.dtype.np).tiny)


def _nan_unless(ok, x):
    ok = reshape(ok, list(ok.shape) + [1, 1])
    return where(ok, x, zeros_like(x) + np.nan)


def sqrtm(input, name=None):  # noqa: A002
    """The principal square root ``X`` (``X @ X = A``) of real square matrices [..., M, M]
    whose eigenvalues are off the closed negative real axis; NaN for a matrix without a
    real principal square root."""
    a = _square(input, "sqrtm")
    x = _db_sqrt(a)
    return _nan_unless(_residual_ok(stop_gradient(x), a), x)


_LOG_TERMS = 10
_MAX_ROOTS = 40


def logm(input, name=None):  # noqa: A002
    """The real principal logarithm of real square matrices [..., M, M] whose eigenvalues
    are off the closed negative real axis; NaN for a matrix without one. (TensorFlow's
    ``logm`` takes complex matrices only; jitgraph has no complex dtype.)"""
    a = _square(input, "logm")
    ident = _eye_like(a)

    def far(k, x):
        d = _norm1(x - ident)
        return (k < _MAX_ROOTS) & (d > 0.25)

    k, x = while_loop(far, lambda k, x: (k + 1, _db_sqrt(x)),
                      (as_tensor(np.int32(0), "logm"), a))
    ok = (_norm1(x - ident) <= 0.25) & reduce_all(x == x)
    z = solve(x + ident, x - ident)
    z2 = matmul(z, z)
    term, total = z, z
    for j in range(1, _LOG_TERMS):
        term = matmul(term, z2)
        total = total + term * (1.0 / (2 * j + 1))
    out = total * (2.0 * exp(cast(k, a.dtype) * np.log(2.0)))
    return where(ok, out, zeros_like(out) + np.nan)


# ----------------------------------------------------------------------------- tridiagonal


def _tridiagonals(diagonals, diagonals_format, what):
    """(superdiag, maindiag, subdiag), each [..., M]."""
    fmt = str(diagonals_format)
    if fmt == "compact":
        d = _float(diagonals, what, "diagonals")
        if d.ndim < 2 or d.shape[-2] != 3:
            raise _fail(f"{what}: compact diagonals must have shape [..., 3, M], got "
                        f"{_desc(d)}")
        return tuple(_getitem(d, (Ellipsis, i, slice(None))) for i in range(3))
    if fmt == "sequence":
        if not isinstance(diagonals, (list, tuple)) or len(diagonals) != 3:
            raise _fail(f"{what}: sequence diagonals must be a list of 3 tensors "
                        f"(superdiag, maindiag, subdiag)")
        parts = [_float(t, what, "diagonals") for t in diagonals]
        if len({(p.dtype, tuple(p.shape)) for p in parts}) != 1:
            raise _fail(f"{what}: the 3 diagonals must have one dtype and shape, got "
                        f"{[_desc(p) for p in parts]}")
        return tuple(parts)
    if fmt == "matrix":
        m = _square(diagonals, what)
        band = matrix_band_part(m, 1, 1)
        up = _getitem(band, (Ellipsis, slice(None, -1), slice(1, None)))
        lo = _getitem(band, (Ellipsis, slice(1, None), slice(None, -1)))
        main = reduce_sum(band * _eye_like(m), axis=-1)
        zero = zeros_like(_getitem(main, (Ellipsis, slice(0, 1))))
        sup = concat([reduce_sum(up * _eye_like(up), axis=-1), zero], axis=-1)
        sub = concat([zero, reduce_sum(lo * _eye_like(lo), axis=-1)], axis=-1)
        return sup, main, sub
    raise _fail(f"{what}: diagonals_format must be 'compact', 'sequence' or 'matrix', got "
                f"{diagonals_format!r}")


def _shift(n, k, dtype):
    return as_tensor(np.eye(n, k=k, dtype=dtype.np), "eye")


def _dense_tridiagonal(sup, main, sub):
    n = main.shape[-1]
    if n is None:
        raise _fail(f"tridiagonal: the matrix size must be known when tracing, got "
                    f"{_desc(main)}")
    n = int(n)
    return (expand_dims(main, -1) * _shift(n, 0, main.dtype)
            + expand_dims(sup, -1) * _shift(n, 1, main.dtype)
            + expand_dims(sub, -1) * _shift(n, -1, main.dtype))


def tridiagonal_solve(diagonals, rhs, diagonals_format="compact", transpose_rhs=False,
                      conjugate_rhs=False, name=None, partial_pivoting=True,
                      perturb_singular=False):
    """Solves ``A x = rhs`` for tridiagonal ``A`` given as ``diagonals``: "compact" [..., 3,
    M] (superdiagonal, its last entry ignored; main diagonal; subdiagonal, its first entry
    ignored), "sequence" (the three [..., M] tensors) or "matrix" [..., M, M]; ``rhs`` [...,
    M] or [..., M, K] ([..., K, M] with ``transpose_rhs``; the result is [..., M, K] either
    way, as TensorFlow's). Solved with partial pivoting
    whatever ``partial_pivoting`` says (a singular matrix raises)."""
    what = "tridiagonal_solve"
    if perturb_singular:
        raise errors.UnimplementedError(errors.at_user_line(
            f"{what}: perturb_singular=True is not supported; regularize the matrix (add a "
            f"small multiple of the identity to the main diagonal) instead"))
    sup, main, sub = _tridiagonals(diagonals, diagonals_format, what)
    a = _dense_tridiagonal(sup, main, sub)
    b = as_tensor(rhs, what, a.dtype)
    if b.dtype != a.dtype:
        raise _fail(f"{what}: diagonals are {a.dtype.name} but rhs is {b.dtype.name}")
    vector = b.ndim == main.ndim
    if vector:
        b = expand_dims(b, -1)
    elif transpose_rhs:
        b = transpose(b, list(range(b.ndim - 2)) + [b.ndim - 1, b.ndim - 2])
    if b.shape[-2] != main.shape[-1]:
        raise _fail(f"{what}: rhs {list(as_tensor(rhs, what).shape)} must have M = "
                    f"{main.shape[-1]} rows (the diagonals' length)")
    x = solve(a, b)
    return _getitem(x, (Ellipsis, 0)) if vector else x


def tridiagonal_matmul(diagonals, rhs, diagonals_format="compact", name=None):
    """``A @ rhs`` for tridiagonal ``A`` given as ``diagonals`` (formats as
    ``tridiagonal_solve``), ``rhs`` [..., M, N]; computed from the three diagonals."""
    what = "tridiagonal_matmul"
    sup, main, sub = _tridiagonals(diagonals, diagonals_format, what)
    b = as_tensor(rhs, what, main.dtype)
    if b.ndim < 2 or b.shape[-2] != main.shape[-1]:
        raise _fail(f"{what}: rhs must have shape [..., M, N] with M = {main.shape[-1]}, "
                    f"got {_desc(b)}")
    zero = zeros_like(_getitem(b, (Ellipsis, slice(0, 1), slice(None))))
    below = concat([_getitem(b, (Ellipsis, slice(1, None), slice(None))), zero], axis=-2)
    above = concat([zero, _getitem(b, (Ellipsis, slice(None, -1), slice(None)))], axis=-2)
    return (expand_dims(main, -1) * b + expand_dims(sup, -1) * below
            + expand_dims(sub, -1) * above)


# ----------------------------------------------------------------------------- diagonals


def _static_dims(x, what):
    if any(d is None for d in x.shape):
        raise _fail(f"{what}: needs the shape known when tracing, got {_desc(x)}")
    return [int(d) for d in x.shape]


def tensor_diag(diagonal, name=None):
    """The rank-2k tensor with ``diagonal`` (rank k) on its diagonal: ``out[i1..ik,
    i1..ik] = diagonal[i1..ik]``, zero elsewhere."""
    d = as_tensor(diagonal, "tensor_diag")
    dims = _static_dims(d, "tensor_diag")
    n = int(np.prod(dims)) if dims else 1
    return reshape(diag(reshape(d, [n])), dims + dims)


def tensor_diag_part(input, name=None):  # noqa: A002
    """The diagonal of a rank-2k tensor whose first k dims equal its last k: ``out[i1..ik]
    = input[i1..ik, i1..ik]``."""
    x = as_tensor(input, "tensor_diag_part")
    dims = _static_dims(x, "tensor_diag_part")
    k = len(dims) // 2
    if len(dims) % 2 or dims[:k] != dims[k:]:
        raise _fail(f"tensor_diag_part: input must have rank 2k with its first k dims equal "
                    f"to its last k, got {_desc(x)}")
    n = int(np.prod(dims[:k])) if k else 1
    flat = reshape(x, [n, n])
    return reshape(reduce_sum(flat * as_tensor(np.eye(n, dtype=x.dtype.np), "eye"), axis=-1),
                   dims[:k])


def banded_triangular_solve(bands, rhs, lower=True, adjoint=False, name=None):
    """Solves ``A x = rhs`` (``A^T x = rhs`` with ``adjoint``) for triangular ``A`` with K
    diagonals given as ``bands`` [..., K, M]: lower, ``bands[..., k, i] = A[i, i - k]`` (the
    main diagonal first, subdiagonals right-aligned); upper, ``bands[..., K - 1 - k, i] =
    A[i, i + k]`` (the main diagonal last, superdiagonals left-aligned), as TensorFlow."""
    what = "banded_triangular_solve"
    bd = _float(bands, what, "bands")
    if bd.ndim < 2 or bd.shape[-1] is None or bd.shape[-2] is None:
        raise _fail(f"{what}: bands must have shape [..., K, M] with K and M known when "
                    f"tracing, got {_desc(bd)}")
    nk, m = int(bd.shape[-2]), int(bd.shape[-1])
    if nk > m:
        raise _fail(f"{what}: bands {_desc(bd)} have more diagonals (K = {nk}) than the "
                    f"matrix size M = {m}")
    a = None
    for k in range(nk):
        row = _getitem(bd, (Ellipsis, k if lower else nk - 1 - k, slice(None)))
        # row i of the matrix takes row[i]: A[i, i - k] (lower) or A[i, i + k] (upper)
        term = expand_dims(row, -1) * _shift(m, -k if lower else k, bd.dtype)
        a = term if a is None else a + term
    b = as_tensor(rhs, what, bd.dtype)
    return triangular_solve(a, b, lower=lower, adjoint=adjoint)


def _complex_only(what):
    def fn(tensor, name=None):
        raise errors.UnimplementedError(errors.at_user_line(
            f"jg.linalg.{what}: the eigenvalues of a general real matrix are complex, and "
            f"jitgraph has no complex dtype; for symmetric matrices use jg.linalg.eigh / "
            f"eigvalsh (real eigenvalues), or compute eig with NumPy (np.linalg.eig) outside "
            f"the jg.function"))

    fn.__name__ = what
    fn.__doc__ = f"Raises UnimplementedError: {what} returns complex values (see eigh)."
    return fn


eig = _complex_only("eig")
eigvals = _complex_only("eigvals")


__all__ = ["cross", "normalize", "expm", "sqrtm", "logm", "tridiagonal_solve",
           "tridiagonal_matmul", "tensor_diag", "tensor_diag_part", "banded_triangular_solve",
           "eig", "eigvals"]
