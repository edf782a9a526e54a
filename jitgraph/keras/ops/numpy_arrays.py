"""keras.ops.numpy, second half: creating arrays (zeros, arange, linspace, eye, tri, ...),
moving data (reshape, transpose, concatenate, split, take, take_along_axis, pad, ...),
products (matmul, dot, tensordot, einsum, kron, ...) and window functions. ``numpy.py``
re-exports all of it, so ``ops.numpy`` is the whole of keras.ops.numpy.

>>> ops.take_along_axis(x, ops.argsort(x, axis=-1), axis=-1)
"""

import builtins
import math as _pymath

import numpy as np

import jitgraph as jg

from ._common import floating, iota, norm_axis, promote, static_dim, static_shape, tensor

# --- creation -----------------------------------------------------------------------------


def _dtype(dtype, default=jg.float32):
    return default if dtype is None else jg.as_dtype(dtype)


def _shape_arg(shape):
    return [shape] if isinstance(shape, (int, np.integer)) else shape


def zeros(shape, dtype=None):
    return jg.zeros(_shape_arg(shape), dtype=_dtype(dtype))


def ones(shape, dtype=None):
    return jg.ones(_shape_arg(shape), dtype=_dtype(dtype))


empty = zeros


def full(shape, fill_value, dtype=None):
    v = tensor(fill_value, dtype)
    return jg.fill(_shape_arg(shape), v)


def zeros_like(x, dtype=None):
    x = tensor(x)
    return jg.zeros_like(x, dtype=_dtype(dtype, x.dtype))


def ones_like(x, dtype=None):
    x = tensor(x)
    return jg.ones_like(x, dtype=_dtype(dtype, x.dtype))


empty_like = zeros_like


def full_like(x, fill_value, dtype=None):
    x = tensor(x)
    return jg.fill(jg.shape(x), tensor(fill_value, _dtype(dtype, x.dtype)))


def array(x, dtype=None):
    return tensor(x, dtype)


def copy(x):
    return jg.identity(tensor(x))


def arange(start, stop=None, step=1, dtype=None):
    if stop is None:
        start, stop = 0, start
    if dtype is None:
        vals = (start, stop, step)
        dtype = jg.float32 if builtins.any(isinstance(v, float) for v in vals) else jg.int32
    return iota(start, stop, step, dtype=jg.as_dtype(dtype))


def linspace(start, stop, num=50, endpoint=True, retstep=False, dtype=None, axis=0):
    start, stop = floating(start), floating(stop)
    n = int(num)
    div = (n - 1) if endpoint else n
    step = (stop - start) / builtins.max(div, 1)
    t = iota(0, n, dtype=start.dtype)
    shape = [-1] + [1] * start.shape.rank
    out = jg.expand_dims(start, 0) + jg.reshape(t, shape) * jg.expand_dims(step, 0)
    if endpoint and n > 1:
        last = jg.expand_dims(stop, 0) + jg.zeros_like(out[-1:])
        out = jg.concat([out[:-1], last], axis=0)
    if axis != 0:
        out = moveaxis(out, 0, axis)
    if dtype is not None:
        out = jg.cast(out, jg.as_dtype(dtype))
    return (out, step) if retstep else out


def logspace(start, stop, num=50, endpoint=True, base=10, dtype=None, axis=0):
    out = jg.pow(jg.cast(float(base), jg.float32),
                 linspace(start, stop, num, endpoint, axis=axis))
    return out if dtype is None else jg.cast(out, jg.as_dtype(dtype))


def geomspace(start, stop, num=50, endpoint=True, dtype=None, axis=0):
    start, stop = floating(start), floating(stop)
    out = jg.exp(linspace(jg.log(start), jg.log(stop), num, endpoint, axis=axis))
    return out if dtype is None else jg.cast(out, jg.as_dtype(dtype))


def eye(N, M=None, k=0, dtype=None):  # noqa: N803 - keras.ops' names
    M = N if M is None else M
    dtype = _dtype(dtype)
    rows = jg.reshape(iota(0, N), [-1, 1])
    cols = jg.reshape(iota(0, M), [1, -1])
    return jg.cast(jg.equal(cols - rows, k), dtype)


def identity(n, dtype=None):
    return eye(n, dtype=dtype)


def tri(N, M=None, k=0, dtype=None):  # noqa: N803
    M = N if M is None else M
    rows = jg.reshape(iota(0, N), [-1, 1])
    cols = jg.reshape(iota(0, M), [1, -1])
    return jg.cast(jg.less_equal(cols - rows, k), _dtype(dtype))


def _band(x, k, lower):
    x = tensor(x)
    n, m = x.shape.as_list()[-2:]
    if n is None or m is None:
        raise jg.errors.UnimplementedError(
            "jg.keras.ops.tril/triu: the last two dims must be known when tracing")
    mask = tri(n, m, k if lower else k - 1, dtype=jg.bool)
    if not lower:
        mask = jg.logical_not(mask)
    return jg.where(jg.broadcast_to(mask, jg.shape(x)), x, jg.zeros_like(x))


def tril(x, k=0):
    return _band(x, k, lower=True)


def triu(x, k=0):
    return _band(x, k, lower=False)


def meshgrid(*x, indexing="xy"):
    return jg.meshgrid(*[tensor(v) for v in x], indexing=indexing)


def vander(x, N=None, increasing=False):  # noqa: N803
    x = tensor(x)
    n = static_shape(x, "vander")[0] if N is None else N
    powers = iota(0, n, dtype=x.dtype)
    if not increasing:
        powers = jg.reverse(powers, [0])
    return jg.pow(jg.expand_dims(x, 1), jg.expand_dims(powers, 0))


# --- shape and data movement --------------------------------------------------------------


def ndim(x):
    return tensor(x).shape.rank


def size(x):
    return jg.size(tensor(x))


def reshape(x, newshape):
    return jg.reshape(tensor(x), _shape_arg(newshape))


def ravel(x):
    return jg.reshape(tensor(x), [-1])


def transpose(x, axes=None):
    return jg.transpose(tensor(x), perm=None if axes is None else list(axes))


def moveaxis(x, source, destination):
    x = tensor(x)
    n = x.shape.rank
    src = [norm_axis(a, n) for a in ([source] if isinstance(source, int) else source)]
    dst = [norm_axis(a, n) for a in ([destination] if isinstance(destination, int)
                                     else destination)]
    perm = [d for d in range(n) if d not in src]
    for d, s in sorted(zip(dst, src)):
        perm.insert(d, s)
    return jg.transpose(x, perm)


def swapaxes(x, axis1, axis2):
    x = tensor(x)
    perm = list(range(x.shape.rank))
    a, b = norm_axis(axis1, len(perm)), norm_axis(axis2, len(perm))
    perm[a], perm[b] = perm[b], perm[a]
    return jg.transpose(x, perm)


def expand_dims(x, axis):
    x = tensor(x)
    if isinstance(axis, (int, np.integer)):
        return jg.expand_dims(x, int(axis))
    out_rank = x.shape.rank + len(axis)
    for a in sorted(norm_axis(int(a), out_rank) for a in axis):
        x = jg.expand_dims(x, a)
    return x


def squeeze(x, axis=None):
    x = tensor(x)
    if axis is None:
        return jg.squeeze(x)
    return jg.squeeze(x, axis=[axis] if isinstance(axis, int) else list(axis))


def broadcast_to(x, shape):
    return jg.broadcast_to(tensor(x), _shape_arg(shape))


def concatenate(xs, axis=0):
    ts = promote(*xs)
    if axis is None:
        return jg.concat([jg.reshape(t, [-1]) for t in ts], axis=0)
    return jg.concat(ts, axis=axis)


def append(x1, x2, axis=None):
    return concatenate([x1, x2], axis=axis)


def stack(x, axis=0):
    return jg.stack(promote(*x), axis=axis)


def _atleast(x, n):
    x = tensor(x)
    while x.shape.rank < n:
        x = jg.expand_dims(x, 0 if x.shape.rank < 1 or n == 2 else x.shape.rank)
    return x


def hstack(xs):
    ts = [_atleast(x, 1) for x in xs]
    return concatenate(ts, axis=0 if ts[0].shape.rank == 1 else 1)


def vstack(xs):
    return concatenate([_atleast(x, 2) for x in xs], axis=0)


def dstack(xs):
    ts = []
    for x in xs:
        x = tensor(x)
        if x.shape.rank == 0:
            x = jg.reshape(x, [1, 1, 1])
        elif x.shape.rank == 1:
            x = jg.reshape(x, [1, -1, 1])
        elif x.shape.rank == 2:
            x = jg.expand_dims(x, 2)
        ts.append(x)
    return concatenate(ts, axis=2)


def split(x, indices_or_sections, axis=0):
    """NumPy's split: an int splits into that many equal parts, a list gives split points."""
    x = tensor(x)
    if isinstance(indices_or_sections, (int, np.integer)):
        return jg.split(x, int(indices_or_sections), axis=axis)
    n = static_dim(x, axis, "split")
    points = [0] + [int(i) for i in indices_or_sections] + [n]
    sizes = [builtins.max(b - a, 0) for a, b in zip(points, points[1:])]
    return jg.split(x, sizes, axis=axis)


def array_split(x, indices_or_sections, axis=0):
    x = tensor(x)
    n = static_dim(x, axis, "array_split")
    k = int(indices_or_sections)
    sizes = [n // k + 1] * (n % k) + [n // k] * (k - n % k)
    return jg.split(x, sizes, axis=axis)


def hsplit(x, indices_or_sections):
    x = tensor(x)
    return split(x, indices_or_sections, axis=0 if x.shape.rank == 1 else 1)


def vsplit(x, indices_or_sections):
    return split(x, indices_or_sections, axis=0)


def dsplit(x, indices_or_sections):
    return split(x, indices_or_sections, axis=2)


def tile(x, repeats):
    x = tensor(x)
    reps = [repeats] if isinstance(repeats, int) else list(repeats)
    while x.shape.rank < len(reps):
        x = jg.expand_dims(x, 0)
    reps = [1] * (x.shape.rank - len(reps)) + reps
    return jg.tile(x, reps)


def repeat(x, repeats, axis=None):
    x = tensor(x)
    if axis is None:
        return jg.repeat(jg.reshape(x, [-1]), repeats, axis=0)
    return jg.repeat(x, repeats, axis=axis)


def flip(x, axis=None):
    x = tensor(x)
    if axis is None:
        axis = list(range(x.shape.rank))
    return jg.reverse(x, [axis] if isinstance(axis, int) else list(axis))


def fliplr(x):
    return flip(x, 1)


def flipud(x):
    return flip(x, 0)


def rot90(array, k=1, axes=(0, 1)):
    x = tensor(array)
    k = k % 4
    a, b = axes
    if k == 0:
        return x
    if k == 2:
        return flip(x, [a, b])
    perm = list(range(x.shape.rank))
    perm[a], perm[b] = perm[b], perm[a]
    if k == 1:
        return jg.transpose(flip(x, b), perm)
    return flip(jg.transpose(x, perm), b)


def roll(x, shift, axis=None):
    x = tensor(x)
    if axis is None:
        return jg.reshape(jg.roll(jg.reshape(x, [-1]), shift, 0), jg.shape(x))
    return jg.roll(x, shift, axis)


def pad(x, pad_width, mode="constant", constant_values=None):
    x = tensor(x)
    pw = np.broadcast_to(np.asarray(pad_width, dtype=np.int64), (x.shape.rank, 2)).tolist()
    if mode != "constant" and constant_values is not None:
        raise jg.errors.InvalidArgumentError(
            f"jg.keras.ops.pad: constant_values is only allowed with mode='constant', got "
            f"mode={mode!r}")
    if mode == "constant":
        return jg.pad(x, pw, constant_values=constant_values or 0)
    if mode not in ("reflect", "symmetric"):
        raise jg.errors.UnimplementedError(
            f"jg.keras.ops.pad: mode={mode!r} is not supported; use 'constant', 'reflect' or "
            "'symmetric'")
    # Mirror padding as one gather per padded axis, with indices known when tracing.
    for d, (left, right) in enumerate(pw):
        if left == right == 0:
            continue
        n = static_dim(x, d, "pad")
        edge = 1 if mode == "reflect" else 0
        if left > n - edge or right > n - edge:
            raise jg.errors.InvalidArgumentError(
                f"jg.keras.ops.pad: mode={mode!r} pads axis {d} (size {n}) by {left, right}; "
                f"each side can be at most {n - edge}")
        idx = list(range(left - 1 + edge, edge - 1, -1)) + list(range(n)) + \
            list(range(n - 1 - edge, n - 1 - edge - right, -1))
        x = jg.gather(x, jg.constant(idx, dtype=jg.int32), axis=d)
    return x


def take(x, indices, axis=None):
    x = tensor(x)
    idx = tensor(indices)
    if idx.dtype.is_floating:
        idx = jg.cast(idx, jg.int32)
    if axis is None:
        x, axis = jg.reshape(x, [-1]), 0
    n = jg.shape(x)[axis]
    idx = jg.where(idx < 0, idx + jg.cast(n, idx.dtype), idx)  # NumPy's negative indices
    return jg.gather(x, idx, axis=axis)


def take_along_axis(x, indices, axis=None):
    x = tensor(x)
    idx = tensor(indices)
    if axis is None:
        x, axis = jg.reshape(x, [-1]), 0
        idx = jg.reshape(idx, [-1])
    rank = x.shape.rank
    axis = norm_axis(axis, rank)
    n = jg.shape(x)[axis]
    idx = jg.where(idx < 0, idx + jg.cast(n, idx.dtype), idx)
    # Broadcast the other axes, then gather along `axis` with every other axis as a batch dim.
    xs_shape, is_shape = x.shape.as_list(), idx.shape.as_list()
    if [s for d, s in enumerate(xs_shape) if d != axis] != \
            [s for d, s in enumerate(is_shape) if d != axis]:
        xs_shape = static_shape(x, "take_along_axis")
        is_shape = static_shape(idx, "take_along_axis")
        full = [builtins.max(a, b) for a, b in zip(xs_shape, is_shape)]
        x = jg.broadcast_to(x, [s if d != axis else xs_shape[axis] for d, s in enumerate(full)])
        idx = jg.broadcast_to(idx, [s if d != axis else is_shape[axis]
                                    for d, s in enumerate(full)])
    perm = [d for d in range(rank) if d != axis] + [axis]
    inv = np.argsort(perm).tolist()
    xt, it = jg.transpose(x, perm), jg.transpose(idx, perm)
    if builtins.all(d is not None for d in xs_shape):
        out = jg.gather(xt, it, axis=rank - 1, batch_dims=rank - 1)
    else:
        # Other dims unknown when tracing (a batch): select by comparing with an iota, which
        # needs only the size of `axis`; where() keeps inf/nan elsewhere from leaking in.
        size = static_dim(x, axis, "take_along_axis")
        hit = jg.equal(jg.expand_dims(it, -1), iota(0, size, dtype=it.dtype))
        picked = jg.where(hit, jg.expand_dims(xt, -2), jg.zeros_like(jg.expand_dims(xt, -2)))
        out = jg.reduce_sum(picked, axis=-1)
    return jg.transpose(out, inv)


def diagonal(x, offset=0, axis1=0, axis2=1):
    x = tensor(x)
    n = x.shape.rank
    a, b = norm_axis(axis1, n), norm_axis(axis2, n)
    rest = [d for d in range(n) if d not in (a, b)]
    x = jg.transpose(x, rest + [a, b])
    r, c = static_shape(x, "diagonal")[-2:]
    if offset >= 0:
        length = builtins.max(builtins.min(r, c - offset), 0)
        rows, cols = np.arange(length), np.arange(length) + offset
    else:
        length = builtins.max(builtins.min(r + offset, c), 0)
        rows, cols = np.arange(length) - offset, np.arange(length)
    flat = jg.reshape(x, [-1] if not rest else static_shape(x, "diagonal")[:-2] + (r * c,))
    return jg.gather(flat, jg.constant((rows * c + cols).astype(np.int32)), axis=len(rest))


def diag(x, k=0):
    x = tensor(x)
    if x.shape.rank == 1:
        n = static_shape(x, "diag")[0]
        m = n + builtins.abs(k)
        out = jg.linalg.diag(x)
        pads = [[0, k], [k, 0]] if k >= 0 else [[-k, 0], [0, -k]]
        return jg.pad(out, pads) if m != n else out
    return diagonal(x, k)


def diagflat(x, k=0):
    return diag(ravel(x), k)


def trace(x, offset=0, axis1=0, axis2=1):
    return jg.reduce_sum(diagonal(x, offset, axis1, axis2), axis=-1)


def diff(a, n=1, axis=-1):
    x = tensor(a)
    for _ in range(n):
        size_ = static_dim(x, axis, "diff")
        hi = jg.gather(x, iota(1, size_), axis=axis)
        lo = jg.gather(x, iota(0, size_ - 1), axis=axis)
        x = jg.not_equal(hi, lo) if x.dtype == jg.bool else hi - lo
    return x


def sort(x, axis=-1):
    x = tensor(x)
    if axis is None:
        return jg.sort(jg.reshape(x, [-1]), axis=0)
    return jg.sort(x, axis=axis)


def argsort(x, axis=-1):
    x = tensor(x)
    if axis is None:
        x, axis = jg.reshape(x, [-1]), 0
    return jg.cast(jg.argsort(x, axis=axis, stable=True), jg.int32)


def searchsorted(sorted_sequence, values, side="left"):
    return jg.searchsorted(tensor(sorted_sequence), tensor(values), side=side)


def digitize(x, bins):
    x, bins = promote(x, bins)
    flat = jg.reshape(x, [-1])
    return jg.reshape(jg.searchsorted(bins, flat, side="right"), jg.shape(x))


def nonzero(x):
    """The indices of the nonzero entries, one tensor per axis. Its length depends on the
    values, so it runs eagerly only (inside jg.function use where(condition, x1, x2))."""
    x = tensor(x)
    idx = jg.where(jg.not_equal(x, jg.zeros_like(x)))
    return tuple(jg.cast(idx[:, d], jg.int32) for d in range(x.shape.rank))


def unravel_index(indices, shape):
    out = jg.unravel_index(tensor(indices), jg.constant(list(shape), dtype=tensor(indices).dtype))
    return tuple(out[d] for d in range(len(shape)))


def get_item(x, key):
    return tensor(x)[key]


def bincount(x, weights=None, minlength=0, sparse=False):
    if sparse:
        raise jg.errors.UnimplementedError(
            "jg.keras.ops.bincount: sparse=True needs sparse tensors, which jitgraph does not "
            "have; use sparse=False")
    x = tensor(x)
    w = None if weights is None else tensor(weights)
    if x.shape.rank == 2:
        return jg.stack([bincount(x[i], None if w is None else w[i], minlength)
                         for i in range(static_shape(x, "bincount")[0])])
    return jg.math.bincount(x, weights=w, minlength=minlength,
                            dtype=jg.int32 if w is None else w.dtype)


# --- products -----------------------------------------------------------------------------


def matmul(x1, x2):
    a, b = promote(x1, x2)
    if a.shape.rank == 1 and b.shape.rank == 1:
        return jg.reduce_sum(a * b)
    if a.shape.rank == 1:
        return jg.squeeze(jg.matmul(jg.expand_dims(a, 0), b), axis=[-2])
    if b.shape.rank == 1:
        return jg.squeeze(jg.matmul(a, jg.expand_dims(b, 1)), axis=[-1])
    return jg.matmul(a, b)


def dot(x1, x2):
    a, b = promote(x1, x2)
    if a.shape.rank == 0 or b.shape.rank == 0:
        return a * b
    if b.shape.rank <= 2:
        return matmul(a, b)
    return jg.tensordot(a, b, [[a.shape.rank - 1], [b.shape.rank - 2]])


def vdot(x1, x2):
    a, b = promote(x1, x2)
    return jg.reduce_sum(jg.reshape(a, [-1]) * jg.reshape(b, [-1]))


def inner(x1, x2):
    a, b = promote(x1, x2)
    if a.shape.rank == 0 or b.shape.rank == 0:
        return a * b
    return jg.tensordot(a, b, [[a.shape.rank - 1], [b.shape.rank - 1]])


def outer(x1, x2):
    a, b = promote(x1, x2)
    return jg.reshape(a, [-1, 1]) * jg.reshape(b, [1, -1])


def tensordot(x1, x2, axes=2):
    a, b = promote(x1, x2)
    return jg.tensordot(a, b, axes)


def einsum(subscripts, *operands):
    return jg.einsum(subscripts, *promote(*operands))


def kron(x1, x2):
    a, b = promote(x1, x2)
    n = builtins.max(a.shape.rank, b.shape.rank)
    a = jg.reshape(a, [1] * (n - a.shape.rank) + a.shape.as_list())
    b = jg.reshape(b, [1] * (n - b.shape.rank) + b.shape.as_list())
    sa, sb = static_shape(a, "kron"), static_shape(b, "kron")
    ia = [v for s in sa for v in (s, 1)]
    ib = [v for s in sb for v in (1, s)]
    out = jg.reshape(a, ia) * jg.reshape(b, ib)
    return jg.reshape(out, [x * y for x, y in zip(sa, sb)])


def cross(x1, x2, axisa=-1, axisb=-1, axisc=-1, axis=None):
    a, b = promote(x1, x2)
    if axis is not None:
        axisa = axisb = axisc = axis
    a, b = moveaxis(a, axisa, -1), moveaxis(b, axisb, -1)
    if a.shape.as_list()[-1] == 2 or b.shape.as_list()[-1] == 2:
        raise jg.errors.UnimplementedError(
            "jg.keras.ops.cross: only 3-vectors are supported; pad 2-vectors with a zero "
            "third component")
    shape = jg.broadcast_dynamic_shape(jg.shape(a), jg.shape(b))
    out = jg.linalg.cross(jg.broadcast_to(a, shape), jg.broadcast_to(b, shape))
    return moveaxis(out, -1, axisc)


def trapezoid(y, x=None, dx=1.0, axis=-1):
    y = floating(y)
    n = static_dim(y, axis, "trapezoid")
    hi = jg.gather(y, iota(1, n), axis=axis)
    lo = jg.gather(y, iota(0, n - 1), axis=axis)
    if x is None:
        return jg.reduce_sum((hi + lo) * (dx / 2.0), axis=axis)
    d = diff(tensor(x, y.dtype), axis=axis if tensor(x).shape.rank > 1 else -1)
    if tensor(x).shape.rank == 1 and y.shape.rank > 1:
        shape = [1] * y.shape.rank
        shape[norm_axis(axis, y.shape.rank)] = -1
        d = jg.reshape(d, shape)
    return jg.reduce_sum((hi + lo) * d / 2.0, axis=axis)


def correlate(x1, x2, mode="valid"):
    a, b = promote(x1, x2)
    a, b = floating(a), floating(b)
    n, m = static_shape(a, "correlate")[0], static_shape(b, "correlate")[0]
    if mode == "valid":
        left = right = 0
    elif mode == "same":
        left, right = (m - 1) // 2, m - 1 - (m - 1) // 2
    elif mode == "full":
        left = right = m - 1
    else:
        raise jg.errors.InvalidArgumentError(
            f"jg.keras.ops.correlate: mode={mode!r} is not 'valid', 'same' or 'full'")
    a = jg.pad(a, [[left, right]])
    length = n + left + right - m + 1
    windows = jg.stack([a[i:i + length] for i in range(m)], axis=1)
    return matmul(windows, b)


def corrcoef(x):
    x = floating(x)
    if x.shape.rank == 1:
        x = jg.expand_dims(x, 0)
    c = x - jg.reduce_mean(x, axis=1, keepdims=True)
    cov = jg.matmul(c, c, transpose_b=True)
    d = jg.sqrt(jg.linalg.diag_part(cov))
    return cov / (jg.expand_dims(d, 1) * jg.expand_dims(d, 0))


# --- window functions ---------------------------------------------------------------------


def _window(m, fn):
    m = int(m)
    if m == 1:
        return jg.ones([1])
    n = iota(0, m, dtype=jg.float32)
    return fn(n, float(m - 1))


def hamming(x):
    return _window(x, lambda n, d: 0.54 - 0.46 * jg.cos(2.0 * _pymath.pi * n / d))


def hanning(x):
    return _window(x, lambda n, d: 0.5 - 0.5 * jg.cos(2.0 * _pymath.pi * n / d))


def blackman(x):
    return _window(x, lambda n, d: 0.42 - 0.5 * jg.cos(2.0 * _pymath.pi * n / d)
                   + 0.08 * jg.cos(4.0 * _pymath.pi * n / d))


def bartlett(x):
    return _window(x, lambda n, d: 2.0 / d * (d / 2.0 - jg.abs(n - d / 2.0)))


def kaiser(x, beta):
    def fn(n, d):
        r = 2.0 * n / d - 1.0
        arg = beta * jg.sqrt(jg.maximum(1.0 - r * r, 0.0))
        return jg.math.bessel_i0(arg) / jg.math.bessel_i0(jg.constant(float(beta)))
    return _window(x, fn)
