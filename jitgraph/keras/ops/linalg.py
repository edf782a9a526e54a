"""keras.ops.linalg on jitgraph: norms, factorizations (cholesky, qr, svd in NumPy's (u, s, vh)
order, lu_factor with LAPACK-style pivots, eigh), solves, inv/det/slogdet, pinv, lstsq.
``eig`` of a general matrix has complex results and raises UnimplementedError.

>>> ops.norm(x, ord="fro", axis=(-2, -1))
"""

import numpy as np

import jitgraph as jg

from ._common import axes, floating, iota, norm_axis, static_dim, static_shape, tensor


def cholesky(x, upper=False):
    lower = jg.linalg.cholesky(floating(x))
    return jg.linalg.adjoint(lower) if upper else lower


def cholesky_inverse(x, upper=False):
    f = floating(x)
    a = jg.matmul(f, f, transpose_a=True) if upper else jg.matmul(f, f, transpose_b=True)
    return jg.linalg.inv(a)


def det(x):
    return jg.linalg.det(floating(x))


def slogdet(x):
    return jg.linalg.slogdet(floating(x))


def inv(x):
    return jg.linalg.inv(floating(x))


def pinv(x, rcond=1e-15):
    return jg.linalg.pinv(floating(x), rcond=rcond)


def eigh(x):
    return jg.linalg.eigh(floating(x))


def solve(a, b):
    a = floating(a)
    b = tensor(b, a.dtype)
    if b.shape.rank == a.shape.rank - 1:
        return jg.squeeze(jg.linalg.solve(a, jg.expand_dims(b, -1)), axis=[-1])
    return jg.linalg.solve(a, b)


def solve_triangular(a, b, lower=False):
    a = floating(a)
    b = tensor(b, a.dtype)
    if b.shape.rank == a.shape.rank - 1:
        return jg.squeeze(jg.linalg.triangular_solve(a, jg.expand_dims(b, -1), lower=lower),
                          axis=[-1])
    return jg.linalg.triangular_solve(a, b, lower=lower)


def lstsq(a, b, rcond=None):
    a = floating(a)
    b = tensor(b, a.dtype)
    vec = b.shape.rank == 1
    if vec:
        b = jg.expand_dims(b, -1)
    out = jg.matmul(jg.linalg.pinv(a, rcond=rcond), b)
    return jg.squeeze(out, axis=[-1]) if vec else out


def svd(x, full_matrices=True, compute_uv=True):
    """NumPy's order: ``(u, s, vh)``, or only ``s`` when ``compute_uv=False``."""
    x = floating(x)
    if not compute_uv:
        return jg.linalg.svd(x, compute_uv=False)
    s, u, v = jg.linalg.svd(x, full_matrices=full_matrices)
    return u, s, jg.linalg.adjoint(v)


def matrix_rank(x, tol=None):
    return jg.cast(jg.linalg.matrix_rank(floating(x), tol=tol), jg.int32)


def lu_factor(x):
    """``(lu, pivots)`` as scipy.linalg.lu_factor: row i was swapped with row pivots[i]."""
    x = floating(x)
    lu, perm = jg.linalg.lu(x)
    n = static_dim(x, -1, "lu_factor")
    batch = x.shape.as_list()[:-2]
    p = jg.reshape(jg.cast(perm, jg.int32), [-1, n])
    cur = jg.broadcast_to(iota(0, n), jg.shape(p))
    cols = jg.reshape(iota(0, n), [1, -1])
    pivots = []
    for i in range(n):
        j = jg.argmax(jg.cast(jg.equal(cur, p[:, i:i + 1]), jg.int32), axis=-1,
                      output_type=jg.int32)
        pivots.append(j)
        j_ = jg.expand_dims(j, -1)
        at_i = cur[:, i:i + 1]
        at_j = jg.gather(cur, j_, axis=1, batch_dims=1)
        cur = jg.where(jg.equal(cols, i), at_j, jg.where(jg.equal(cols, j_), at_i, cur))
    piv = jg.stack(pivots, axis=-1)
    return lu, jg.reshape(piv, batch + [n])


def _vector_norm(x, ord, axis, keepdims):
    a = jg.abs(x)
    if ord is None or ord == 2:
        return jg.sqrt(jg.reduce_sum(jg.square(x), axis=axis, keepdims=keepdims))
    if ord == np.inf:
        return jg.reduce_max(a, axis=axis, keepdims=keepdims)
    if ord == -np.inf:
        return jg.reduce_min(a, axis=axis, keepdims=keepdims)
    if ord == 0:
        return jg.reduce_sum(jg.cast(jg.not_equal(x, 0.0), x.dtype), axis=axis,
                             keepdims=keepdims)
    if ord == 1:
        return jg.reduce_sum(a, axis=axis, keepdims=keepdims)
    if isinstance(ord, str):
        raise jg.errors.InvalidArgumentError(
            f"jg.keras.ops.norm: ord={ord!r} is a matrix norm; give a 2-tuple axis")
    return jg.pow(jg.reduce_sum(jg.pow(a, float(ord)), axis=axis, keepdims=keepdims),
                  1.0 / ord)


def _matrix_norm(x, ord, axis, keepdims):
    r, c = axis
    if ord is None or ord == "fro":
        out = jg.sqrt(jg.reduce_sum(jg.square(x), axis=[r, c], keepdims=True))
    elif ord in (1, -1, np.inf, -np.inf):
        sum_axis, pick_axis = (r, c) if ord in (1, -1) else (c, r)
        sums = jg.reduce_sum(jg.abs(x), axis=sum_axis, keepdims=True)
        pick = jg.reduce_max if ord in (1, np.inf) else jg.reduce_min
        out = pick(sums, axis=pick_axis, keepdims=True)
    elif ord in ("nuc", 2, -2):
        rank = x.shape.rank
        rest = [d for d in range(rank) if d not in (r, c)]
        s = jg.linalg.svd(jg.transpose(x, rest + [r, c]), compute_uv=False)
        red = {"nuc": jg.reduce_sum, 2: jg.reduce_max, -2: jg.reduce_min}[ord](s, axis=-1)
        shape = [1 if d in (r, c) else n for d, n in enumerate(static_shape(x, "norm"))]
        out = jg.reshape(red, shape)
    else:
        raise jg.errors.InvalidArgumentError(
            f"jg.keras.ops.norm: ord={ord!r} is not a matrix norm ('fro', 'nuc', 1, -1, 2, -2, "
            "inf, -inf)")
    return out if keepdims else jg.squeeze(out, axis=[r, c])


def norm(x, ord=None, axis=None, keepdims=False):  # noqa: A002 - NumPy's name
    """NumPy's norm: vector norms over one axis, matrix norms over two, the 2-norm of the
    flattened tensor when both ``ord`` and ``axis`` are None."""
    x = floating(x)
    rank = x.shape.rank
    if axis is None:
        if ord is None:
            out = jg.sqrt(jg.reduce_sum(jg.square(x)))
            return jg.reshape(out, [1] * rank) if keepdims else out
        axis = list(range(rank))
    ax = axes(axis)
    if isinstance(ax, int):
        return _vector_norm(x, ord, ax, keepdims)
    ax = [norm_axis(a, rank) for a in ax]
    if len(ax) == 1:
        return _vector_norm(x, ord, ax[0], keepdims)
    if len(ax) == 2:
        return _matrix_norm(x, ord, ax, keepdims)
    raise jg.errors.InvalidArgumentError(
        f"jg.keras.ops.norm: axis must be an int or a pair, got {axis!r}")


def jvp(fun, primals, tangents, has_aux=False):
    """Forward-mode ``(fun(*primals), J @ tangents)`` computed with two reverse passes: the
    vector-Jacobian product with a watched cotangent ``u`` is linear in ``u``, and its gradient
    with respect to ``u`` against ``tangents`` is the Jacobian-vector product."""
    primals = [tensor(p) for p in jg.nest.flatten(list(primals))]
    tangents = [tensor(t, p.dtype) for t, p in zip(jg.nest.flatten(list(tangents)), primals)]
    with jg.GradientTape() as outer:
        with jg.GradientTape() as inner:
            for p in primals:
                inner.watch(p)
            result = fun(*primals)
            out, aux = result if has_aux else (result, None)
        flat_out = [tensor(o) for o in jg.nest.flatten(out)]
        cot = [jg.zeros_like(o) for o in flat_out]
        for u in cot:
            outer.watch(u)
        grads = inner.gradient(flat_out, primals, output_gradients=cot,
                               unconnected_gradients=jg.UnconnectedGradients.ZERO)
        total = jg.add_n([jg.reduce_sum(g * t) for g, t in zip(grads, tangents)])
    jv = outer.gradient(total, cot, unconnected_gradients=jg.UnconnectedGradients.ZERO)
    tangents_out = jg.nest.pack_sequence_as(out, list(jv))
    return (out, tangents_out, aux) if has_aux else (out, tangents_out)
