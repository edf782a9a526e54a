"""TensorFlow functions built from other ops (no op records of their own, so every backend
compiles them and autodiff differentiates them through their parts): ``add_n``,
``reduce_logsumexp``, ``reduce_variance``, ``reduce_std``, ``reduce_euclidean_norm``,
``count_nonzero``, ``norm``, ``clip_by_norm``, ``clip_by_global_norm``, ``divide_no_nan``,
``log_sigmoid``, ``softsign``, ``xlogy``, ``l2_normalize``, ``sequence_mask``, ``reverse``,
``tensordot`` and ``einsum``; plus the no-op context managers ``name_scope`` and
``device`` (jitgraph has no name scopes; placement is the function's ``backend``).

Numerics follow TensorFlow's: logsumexp subtracts the (finite) max, divide_no_nan and
xlogy never evaluate the division or log where they return 0, so their gradients stay
finite there; l2_normalize clamps the squared norm at ``epsilon``.
"""

import contextlib
import string

import numpy as np

from .. import dtypes as _dt
from .. import errors
from .assemble import range as _range
from .core import as_tensor
from .elementwise import (
    abs,  # noqa: A004
    cast,
    exp,
    is_finite,
    log,
    maximum,
    rsqrt,
    softplus,
    sqrt,
    square,
    where,
)
from .indexing import _getitem, gather, scatter_nd
from .linalg import matmul
from .reduce import reduce_max, reduce_mean, reduce_sum
from .shape import expand_dims, reshape, transpose, zeros_like
from .state import stop_gradient


def add_n(inputs, name=None):
    """Sum of a list of tensors of one shape and dtype."""
    xs = [as_tensor(x, "add_n") for x in inputs]
    if not xs:
        raise errors.InvalidArgumentError("add_n: needs at least one tensor")
    for i, x in enumerate(xs[1:], 1):
        if x.dtype != xs[0].dtype or list(x.shape) != list(xs[0].shape):
            raise errors.InvalidArgumentError(
                f"add_n: all inputs must have one shape and dtype; input 0 is "
                f"{xs[0].dtype.name}{list(xs[0].shape)}, input {i} is {x.dtype.name}"
                f"{list(x.shape)}")
    out = xs[0]
    for x in xs[1:]:
        out = out + x
    return out


def reduce_logsumexp(input_tensor, axis=None, keepdims=False, name=None):
    """``log(sum(exp(x)))`` without overflow: the max is subtracted first (a max of -inf,
    an all -inf row, is replaced by 0)."""
    x = as_tensor(input_tensor, "reduce_logsumexp")

    def finite_max(keep):
        m = stop_gradient(reduce_max(x, axis=axis, keepdims=keep))
        return where(is_finite(m), m, 0.0)

    return log(reduce_sum(exp(x - finite_max(True)), axis=axis, keepdims=keepdims)) + \
        finite_max(keepdims)


def reduce_variance(input_tensor, axis=None, keepdims=False, name=None):
    """Population variance (divides by the count, as TensorFlow)."""
    x = as_tensor(input_tensor, "reduce_variance")
    if not x.dtype.is_floating:
        raise errors.InvalidArgumentError(
            f"reduce_variance: needs a floating tensor, got {x.dtype.name}; jg.cast it first")
    d = x - reduce_mean(x, axis=axis, keepdims=True)
    return reduce_mean(square(d), axis=axis, keepdims=keepdims)


def reduce_std(input_tensor, axis=None, keepdims=False, name=None):
    return sqrt(reduce_variance(input_tensor, axis=axis, keepdims=keepdims))


def reduce_euclidean_norm(input_tensor, axis=None, keepdims=False, name=None):
    x = as_tensor(input_tensor, "reduce_euclidean_norm")
    return sqrt(reduce_sum(square(x), axis=axis, keepdims=keepdims))


def count_nonzero(input, axis=None, keepdims=False, dtype=_dt.int64, name=None):  # noqa: A002
    x = as_tensor(input, "count_nonzero")
    nz = x if x.dtype is _dt.bool_ else x != 0
    return reduce_sum(cast(nz, _dt.as_dtype(dtype)), axis=axis, keepdims=keepdims)


def searchsorted(sorted_sequence, values, side="left", out_type=_dt.int32, name=None):
    """For each of ``values[..., j]`` the index in ``sorted_sequence[...]`` (sorted along the
    last axis, same leading dims) where it would be inserted to keep the order: the number
    of elements ``< v`` (side "left") or ``<= v`` ("right"). One comparison per pair,
    fused into one reduction, so it compiles everywhere: O(len(values) * len(sequence))."""
    seq = as_tensor(sorted_sequence, "searchsorted")
    v = as_tensor(values, "searchsorted")
    if side not in ("left", "right"):
        raise errors.InvalidArgumentError(errors.at_user_line(
            f"searchsorted: side must be 'left' or 'right', got {side!r}"))
    if len(seq.shape) == 0 or len(seq.shape) != len(v.shape) or \
            tuple(seq.shape[:-1]) != tuple(v.shape[:-1]):
        raise errors.InvalidArgumentError(errors.at_user_line(
            f"searchsorted: sorted_sequence {list(seq.shape)} and values {list(v.shape)} "
            f"must have the same rank and leading dims (the search runs along the last "
            f"axis); add a leading axis with jg.expand_dims if you search one sequence"))
    s, x = expand_dims(seq, -2), expand_dims(v, -1)
    before = s < x if side == "left" else s <= x
    return reduce_sum(cast(before, _dt.as_dtype(out_type)), axis=-1)


def norm(tensor, ord="euclidean", axis=None, keepdims=False, name=None):  # noqa: A002
    """Vector norms (``ord`` "euclidean"/2, 1, np.inf) over ``axis`` (None: all elements);
    the Frobenius norm ("fro"/"euclidean") or the 2-norm (ord=2: the largest singular
    value) over a pair of axes."""
    x = as_tensor(tensor, "norm")
    if ord in ("euclidean", "fro", 2, 2.0):
        if ord == 2 and isinstance(axis, (list, tuple)) and len(axis) == 2:
            from .linalg_decomp import spectral_norm

            return spectral_norm(x, axis, keepdims)
        return sqrt(reduce_sum(square(x), axis=axis, keepdims=keepdims))
    if ord in (1, 1.0):
        return reduce_sum(abs(x), axis=axis, keepdims=keepdims)
    if ord == np.inf:
        return reduce_max(abs(x), axis=axis, keepdims=keepdims)
    raise errors.InvalidArgumentError(
        f"norm: ord={ord!r} is not supported; use 'euclidean', 'fro', 1, 2 or np.inf")


def clip_by_norm(t, clip_norm, axes=None, name=None):
    """``t * clip_norm / max(norm(t), clip_norm)``, the norm over ``axes`` (None: all)."""
    x = as_tensor(t, "clip_by_norm")
    ss = reduce_sum(square(x), axis=axes, keepdims=True)
    pos = ss > 0
    n = where(pos, sqrt(where(pos, ss, 1.0)), ss)  # finite gradient at a zero norm
    return x * clip_norm / maximum(n, clip_norm)


def global_norm(t_list, name=None):
    ts = [as_tensor(t, "global_norm") for t in t_list if t is not None]
    return sqrt(add_n([reduce_sum(square(t)) for t in ts]))


def clip_by_global_norm(t_list, clip_norm, use_norm=None, name=None):
    """``(clipped list, global norm)``: every tensor scaled by
    ``clip_norm / max(global_norm, clip_norm)``; None entries stay None."""
    t_list = list(t_list)
    gn = global_norm(t_list) if use_norm is None else as_tensor(use_norm, "clip_by_global_norm")
    scale = clip_norm / maximum(gn, clip_norm)
    return [None if t is None else as_tensor(t, "clip_by_global_norm") * scale
            for t in t_list], gn


def divide_no_nan(x, y, name=None):
    """``x / y``, 0 where ``y`` is 0."""
    x, y = as_tensor(x, "divide_no_nan"), as_tensor(y, "divide_no_nan")
    zero = y == 0
    return where(zero, 0.0, x / where(zero, 1.0, y))


def log_sigmoid(x, name=None):
    """``log(sigmoid(x)) = -softplus(-x)``."""
    return -softplus(-as_tensor(x, "log_sigmoid"))


def softsign(features, name=None):
    x = as_tensor(features, "softsign")
    return x / (1 + abs(x))


def xlogy(x, y, name=None):
    """``x * log(y)``, 0 where ``x`` is 0."""
    x, y = as_tensor(x, "xlogy"), as_tensor(y, "xlogy")
    zero = x == 0
    return where(zero, 0.0, x * log(where(zero, 1.0, y)))


def l2_normalize(x, axis=None, epsilon=1e-12, name=None, dim=None):
    """``x / sqrt(max(sum(x**2, axis), epsilon))``."""
    x = as_tensor(x, "l2_normalize")
    axis = dim if axis is None and dim is not None else axis
    return x * rsqrt(maximum(reduce_sum(square(x), axis=axis, keepdims=True), epsilon))


def sequence_mask(lengths, maxlen=None, dtype=_dt.bool_, name=None):
    """``mask[..., j] = j < lengths[...]`` of ``maxlen`` columns (default: the largest
    length, which needs the lengths' values: pass ``maxlen`` inside a jg.function)."""
    lengths = as_tensor(lengths, "sequence_mask")
    if maxlen is None:
        from .. import tracing

        if tracing.current_graph() is not None:
            raise errors.InvalidArgumentError(
                "sequence_mask: inside a jg.function pass maxlen (the mask's width would "
                "depend on the lengths' values)")
        maxlen = int(np.max(lengths.numpy())) if np.size(lengths.numpy()) else 0
    cols = _range(0, maxlen, dtype=lengths.dtype)
    mask = cols < expand_dims(lengths, -1)
    dtype = _dt.as_dtype(dtype)
    return mask if dtype is _dt.bool_ else cast(mask, dtype)


def reverse(tensor, axis, name=None):
    """``tensor`` with the order of elements along each axis in ``axis`` reversed."""
    x = as_tensor(tensor, "reverse")
    axes = [axis] if isinstance(axis, int) else list(axis)
    rank = len(x.shape)
    key = [slice(None)] * rank
    for a in axes:
        if not -rank <= a < rank:
            raise errors.InvalidArgumentError(
                f"reverse: axis {a} is out of range for a rank-{rank} tensor")
        key[a % rank] = slice(None, None, -1)
    return _getitem(x, tuple(key))


# ----------------------------------------------------------------------------- scatters, segments


def _known(shape, what):
    dims = list(shape)
    if any(d is None for d in dims):
        raise errors.InvalidArgumentError(
            f"{what}: needs the dims {dims} to be known when tracing; give them in an "
            f"input_signature")
    return [int(d) for d in dims]


def tensor_scatter_nd_add(tensor, indices, updates, name=None):
    """A copy of ``tensor`` with ``updates`` added at ``indices`` (duplicates add up)."""
    t = as_tensor(tensor, "tensor_scatter_nd_add")
    u = as_tensor(updates, "tensor_scatter_nd_add", t.dtype)
    return t + scatter_nd(indices, u, _known(t.shape, "tensor_scatter_nd_add"))


def tensor_scatter_nd_sub(tensor, indices, updates, name=None):
    t = as_tensor(tensor, "tensor_scatter_nd_sub")
    u = as_tensor(updates, "tensor_scatter_nd_sub", t.dtype)
    return t - scatter_nd(indices, u, _known(t.shape, "tensor_scatter_nd_sub"))


def _static_count(ids, what):
    from .. import tracing

    if tracing.current_graph() is not None:
        raise errors.InvalidArgumentError(
            f"{what}: inside a jg.function the number of segments must be given (use "
            f"unsorted_segment_sum(data, ids, num_segments)): it would depend on the ids' "
            f"values")
    v = ids.numpy()
    return int(v.max()) + 1 if v.size else 0


def unsorted_segment_sum(data, segment_ids, num_segments, name=None):
    """``out[k] = sum of data[i]`` over the ``i`` with ``segment_ids[i] == k``; ids index
    the leading dims of ``data`` (ids outside ``[0, num_segments)`` are an error)."""
    d = as_tensor(data, "unsorted_segment_sum")
    ids = as_tensor(segment_ids, "unsorted_segment_sum")
    rest = _known(d.shape[len(ids.shape):], "unsorted_segment_sum")
    return scatter_nd(expand_dims(ids, -1), d, [int(num_segments)] + rest)


def unsorted_segment_mean(data, segment_ids, num_segments, name=None):
    """The mean of each segment (0 for an empty one)."""
    d = as_tensor(data, "unsorted_segment_mean")
    ids = as_tensor(segment_ids, "unsorted_segment_mean")
    total = unsorted_segment_sum(d, ids, num_segments)
    ones = cast(ids >= 0, d.dtype)
    count = unsorted_segment_sum(ones, ids, num_segments)
    count = reshape(count, [int(num_segments)] + [1] * (len(total.shape) - 1))
    return total / maximum(count, 1.0)


def segment_sum(data, segment_ids, name=None):
    """unsorted_segment_sum with ``max(segment_ids) + 1`` segments (eager: inside a
    jg.function use unsorted_segment_sum and give their number)."""
    ids = as_tensor(segment_ids, "segment_sum")
    return unsorted_segment_sum(data, ids, _static_count(ids, "segment_sum"))


def segment_mean(data, segment_ids, name=None):
    ids = as_tensor(segment_ids, "segment_mean")
    return unsorted_segment_mean(data, ids, _static_count(ids, "segment_mean"))


def confusion_matrix(labels, predictions, num_classes=None, weights=None, dtype=_dt.int32,
                     name=None):
    """``m[i, j]``: how many (or how much ``weights``) of the examples labelled ``i`` were
    predicted ``j``."""
    lab = cast(as_tensor(labels, "confusion_matrix"), _dt.int32)
    pred = cast(as_tensor(predictions, "confusion_matrix"), _dt.int32)
    if num_classes is None:
        n = max(_static_count(lab, "confusion_matrix"), _static_count(pred, "confusion_matrix"))
    else:
        n = int(num_classes)
    dtype = _dt.as_dtype(dtype)
    w = cast(lab >= 0, dtype) if weights is None else \
        cast(as_tensor(weights, "confusion_matrix"), dtype)
    return reshape(unsorted_segment_sum(w, lab * n + pred, n * n), [n, n])


def embedding_lookup(params, ids, max_norm=None, name=None):
    """``params`` rows at ``ids`` (``jg.nn.embedding_lookup``; one params tensor)."""
    if isinstance(params, (list, tuple)):
        if len(params) != 1:
            raise errors.UnimplementedError(
                "embedding_lookup: sharded params (a list of several tensors) are not "
                "supported; concatenate them")
        params = params[0]
    out = gather(params, ids)
    if max_norm is not None:
        out = clip_by_norm(out, max_norm, axes=[-1])
    return out


# ----------------------------------------------------------------------------- matrix bands


def _mn(x, what):
    if len(x.shape) < 2:
        raise errors.InvalidArgumentError(
            f"{what}: needs a tensor of rank >= 2, got {x.dtype.name}{list(x.shape)}")
    return _known(x.shape[-2:], what)


def matrix_band_part(input, num_lower, num_upper, name=None):  # noqa: A002
    """Keeps the elements within ``num_lower`` diagonals below and ``num_upper`` above the
    main one (negative: all of them); zeros the rest (``jg.linalg.band_part``)."""
    x = as_tensor(input, "band_part")
    m, n = _mn(x, "band_part")
    i = np.arange(m)[:, None]
    j = np.arange(n)[None, :]
    keep = np.ones((m, n), bool)
    if int(num_lower) >= 0:
        keep &= i - j <= int(num_lower)
    if int(num_upper) >= 0:
        keep &= j - i <= int(num_upper)
    return where(keep, x, 0 if not x.dtype.is_floating else 0.0)


def diag_part(input, name=None):  # noqa: A002
    """The main diagonal of the last two axes (``jg.linalg.diag_part``)."""
    x = as_tensor(input, "diag_part")
    m, n = _mn(x, "diag_part")
    k = min(m, n)
    sq = _getitem(x, (Ellipsis, slice(0, k), slice(0, k)))
    return reduce_sum(where(np.eye(k, dtype=bool), sq, zeros_like(sq)), axis=-1)


def set_diag(input, diagonal, name=None):  # noqa: A002
    """``input`` with the main diagonal of its last two axes replaced by ``diagonal``."""
    from .assemble import concat

    x = as_tensor(input, "set_diag")
    m, n = _mn(x, "set_diag")
    k = min(m, n)
    d = as_tensor(diagonal, "set_diag", x.dtype)
    if m > k:  # rows k.. have no diagonal element: pad the column with zeros
        d = concat([d, zeros_like(_getitem(x, (Ellipsis, slice(k, m), 0)))], axis=-1)
    return where(np.eye(m, n, dtype=bool), expand_dims(d, -1), x)


# ----------------------------------------------------------------------------- contractions


def _size(x, axes):
    """Product of dims ``axes`` of ``x`` (None when one is unknown)."""
    n = 1
    for a in axes:
        d = x.shape[a]
        if d is None:
            return None
        n *= int(d)
    return n


def _reshape(t, dims, what):
    """``reshape(t, dims)``; one unknown (None) dim becomes -1, more are an error; nothing
    to do when ``t`` already has those dims."""
    if len(dims) == len(t.shape) and all(d is None or d == e for d, e in zip(dims, t.shape)):
        return t
    if sum(d is None for d in dims) > 1:
        raise errors.InvalidArgumentError(
            f"{what}: needs a reshape of {t.dtype.name}{list(t.shape)} to {dims} with more "
            f"than one unknown dim; give the operands more known dims (input_signature)")
    return reshape(t, [-1 if d is None else int(d) for d in dims])


def _contract(a, b, batch, left, contract, right, what):
    """matmul of a[batch, left, contract] and b[batch, contract, right] given as axis
    lists; returns the result shaped [*batch, *left, *right]."""
    sa, sb = list(a.shape), list(b.shape)
    ta = transpose(a, batch[0] + left + contract[0]) if a.shape else a
    tb = transpose(b, batch[1] + contract[1] + right) if b.shape else b
    kk = _size(a, contract[0])
    if kk is None:
        kk = _size(b, contract[1])
    nb = [_size(a, batch[0]) or _size(b, batch[1])] if batch[0] else []
    out = matmul(_reshape(ta, nb + [_size(a, left), kk], what),
                 _reshape(tb, nb + [kk, _size(b, right)], what))
    shape = [sa[i] if sa[i] is not None else sb[j] for i, j in zip(*batch)] + \
        [sa[i] for i in left] + [sb[i] for i in right]
    return _reshape(out, shape, what)


def tensordot(a, b, axes, name=None):
    """Sums products over ``axes`` (an int n: the last n of ``a`` with the first n of
    ``b``; or a pair of axis lists)."""
    a, b = as_tensor(a, "tensordot"), as_tensor(b, "tensordot")
    ra, rb = len(a.shape), len(b.shape)
    if isinstance(axes, (int, np.integer)):
        if not 0 <= axes <= min(ra, rb):
            raise errors.InvalidArgumentError(
                f"tensordot: axes={axes} for tensors of rank {ra} and {rb}")
        ax_a, ax_b = list(range(ra - axes, ra)), list(range(axes))
    else:
        ax_a, ax_b = axes
        ax_a = [ax_a] if isinstance(ax_a, int) else list(ax_a)
        ax_b = [ax_b] if isinstance(ax_b, int) else list(ax_b)
        ax_a, ax_b = [x % ra for x in ax_a], [x % rb for x in ax_b]
    if len(ax_a) != len(ax_b) or any(
            a.shape[i] is not None and b.shape[j] is not None and a.shape[i] != b.shape[j]
            for i, j in zip(ax_a, ax_b)):
        raise errors.InvalidArgumentError(
            f"tensordot: axes {ax_a} of {list(a.shape)} and {ax_b} of {list(b.shape)} do not "
            f"have the same sizes")
    left = [i for i in range(ra) if i not in ax_a]
    right = [i for i in range(rb) if i not in ax_b]
    return _contract(a, b, ([], []), left, (ax_a, ax_b), right, "tensordot")


def _parse_einsum(equation, n):
    eq = equation.replace(" ", "")
    if "..." in eq:
        raise errors.UnimplementedError("einsum: '...' (ellipsis) is not supported; name "
                                        "every axis")
    if "->" in eq:
        ins, out = eq.split("->")
    else:
        ins = eq
        letters = ins.replace(",", "")
        out = "".join(sorted(c for c in set(letters) if letters.count(c) == 1))
    terms = ins.split(",")
    if len(terms) != n:
        raise errors.InvalidArgumentError(
            f"einsum: {equation!r} names {len(terms)} operands, got {n}")
    for t in terms + [out]:
        if any(c not in string.ascii_letters for c in t):
            raise errors.InvalidArgumentError(f"einsum: bad subscripts {t!r} in {equation!r}")
        if len(set(t)) != len(t):
            raise errors.UnimplementedError(
                f"einsum: a repeated index within one operand ({t!r}: diagonals, traces) "
                f"is not supported")
    return terms, out


def _sum_out(x, term, keep):
    """Sums the axes of ``x`` whose letters are not in ``keep``; returns (x, term)."""
    drop = [i for i, c in enumerate(term) if c not in keep]
    if drop:
        x = reduce_sum(x, axis=drop)
        term = "".join(c for c in term if c in keep)
    return x, term


def einsum(equation, *inputs, **kwargs):
    """Einstein summation over one or two operands (``"ij,jk->ik"``, ``"bij,bjk->bik"``,
    ``"ij->ji"``, ``"i,i->"``...), as transposes, sums and one batched matmul."""
    xs = [as_tensor(x, "einsum") for x in inputs]
    if len(xs) not in (1, 2):
        raise errors.UnimplementedError(
            f"einsum: {len(xs)} operands; jitgraph supports one or two (chain calls for more)")
    terms, out = _parse_einsum(equation, len(xs))
    for x, t in zip(xs, terms, strict=True):
        if len(t) != len(x.shape):
            raise errors.InvalidArgumentError(
                f"einsum: {t!r} names {len(t)} axes of a rank-{len(x.shape)} operand "
                f"({x.dtype.name}{list(x.shape)})")
    if any(c not in "".join(terms) for c in out):
        raise errors.InvalidArgumentError(f"einsum: output index not in the inputs: {equation!r}")
    if len(xs) == 1:
        x, t = _sum_out(xs[0], terms[0], out)
        return transpose(x, [t.index(c) for c in out]) if t != out and t else x
    (a, b), (ta, tb) = xs, terms
    a, ta = _sum_out(a, ta, out + tb)
    b, tb = _sum_out(b, tb, out + ta)
    batch = [c for c in ta if c in tb and c in out]
    contract = [c for c in ta if c in tb and c not in out]
    left = [c for c in ta if c not in tb]
    right = [c for c in tb if c not in ta]
    r = _contract(a, b, ([ta.index(c) for c in batch], [tb.index(c) for c in batch]),
                  [ta.index(c) for c in left],
                  ([ta.index(c) for c in contract], [tb.index(c) for c in contract]),
                  [tb.index(c) for c in right], "einsum")
    have = "".join(batch + left + right)
    return transpose(r, [have.index(c) for c in out]) if have != out and have else r


def name_scope(name):
    """``with jg.name_scope("block") as scope:`` prefixes the names of variables created
    inside (``"block/w:0"``); ``scope`` is ``"block/"``. Ops are not named in jitgraph."""
    from ..variables import NameScope

    return NameScope(name)


@contextlib.contextmanager
def device(device_name):
    """TensorFlow's device placement: accepted for compatibility; jitgraph places a whole
    function with ``jg.function(backend=...)`` (``"cuda"`` for the GPU)."""
    yield device_name


__all__ = ["add_n", "reduce_logsumexp", "reduce_variance", "reduce_std",
           "reduce_euclidean_norm", "count_nonzero", "norm", "clip_by_norm", "global_norm",
           "clip_by_global_norm", "divide_no_nan", "log_sigmoid", "softsign", "xlogy",
           "l2_normalize", "sequence_mask", "reverse", "tensordot", "einsum", "name_scope",
           "device", "tensor_scatter_nd_add", "tensor_scatter_nd_sub", "unsorted_segment_sum",
           "unsorted_segment_mean", "segment_sum", "segment_mean", "confusion_matrix",
           "embedding_lookup", "matrix_band_part", "diag_part", "set_diag", "searchsorted"]
