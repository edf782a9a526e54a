"""keras.ops.core on jitgraph: dtype and shape helpers (cast, convert_to_tensor, shape, dtype),
slicing and scattering (slice, slice_update, scatter, scatter_update), gradients
(stop_gradient, custom_gradient) and control flow as functions (cond, switch, while_loop,
fori_loop, scan, associative_scan, map, vectorized_map) with Keras' calling conventions.

>>> ops.fori_loop(0, 10, lambda i, s: s + i, 0)   # 45
"""

import numpy as np

import jitgraph as jg

from ._common import iota, norm_axis, promote, static_dim, tensor


def cast(x, dtype):
    return jg.cast(tensor(x), jg.as_dtype(dtype))


def saturate_cast(x, dtype):
    return jg.saturate_cast(tensor(x), jg.as_dtype(dtype))


def convert_to_tensor(x, dtype=None, sparse=None, ragged=None):
    if sparse or ragged:
        raise jg.errors.UnimplementedError(
            "jg.keras.ops.convert_to_tensor: jitgraph has no sparse or ragged tensors; pass "
            "sparse=None/False and ragged=None/False and use dense values")
    return tensor(x, dtype)


def convert_to_numpy(x):
    return np.asarray(tensor(x))


def is_tensor(x):
    return jg.is_tensor(x)


def dtype(x):
    """The dtype's name, as Keras returns it (``"float32"``)."""
    return tensor(x).dtype.name


def shape(x):
    """A tuple: ints for the dims known when tracing, scalar int32 tensors for the others."""
    x = tensor(x)
    static = x.shape.as_list()
    if all(d is not None for d in static):
        return tuple(static)
    dynamic = jg.shape(x)
    return tuple(d if d is not None else dynamic[i] for i, d in enumerate(static))


def stop_gradient(variable):
    return jg.stop_gradient(tensor(variable))


custom_gradient = jg.custom_gradient


def unstack(x, num=None, axis=0):
    return jg.unstack(tensor(x), num=num, axis=axis)


def _starts(start_indices, rank):
    if jg.is_tensor(start_indices):
        return jg.cast(start_indices, jg.int32)
    return [tensor(s, jg.int32) if jg.is_tensor(s) else int(s) for s in start_indices][:rank]


def slice(inputs, start_indices, shape):  # noqa: A001 - keras.ops' name
    """``inputs[start:start + shape]`` per axis; the starts may be tensors (a loop index)."""
    x = tensor(inputs)
    starts = _starts(start_indices, x.shape.rank)
    if not jg.is_tensor(starts) and not any(jg.is_tensor(s) for s in starts):
        return jg.slice(x, starts, list(shape))
    if jg.is_tensor(starts):
        starts = [starts[d] for d in range(x.shape.rank)]
    for d, (s, n) in enumerate(zip(starts, shape)):
        if n == -1:
            n = static_dim(x, d, "slice") - s if not jg.is_tensor(s) else None
        if n is None:
            raise jg.errors.UnimplementedError(
                "jg.keras.ops.slice: a size of -1 needs a Python start for that axis; give "
                "the size")
        x = jg.gather(x, s + iota(0, n), axis=d)
    return x


def slice_update(inputs, start_indices, updates):
    """``inputs`` with ``updates`` written at ``start_indices`` (a new tensor)."""
    x = tensor(inputs)
    u = tensor(updates, x.dtype)
    rank = x.shape.rank
    starts = _starts(start_indices, rank)
    u_shape = u.shape.as_list()
    if any(d is None for d in u_shape):
        raise jg.errors.UnimplementedError(
            "jg.keras.ops.slice_update: the updates' shape must be known when tracing, got "
            f"{u_shape}")
    # The index of every updated element, built from one iota per axis.
    grids = jg.meshgrid(*[iota(0, n) for n in u_shape], indexing="ij") if rank else []
    if rank == 0:
        return u
    idx = jg.stack([g + s for g, s in zip(grids, starts)], axis=-1)
    return jg.tensor_scatter_nd_update(x, idx, u)


def _scatter_indices(indices):
    idx = tensor(indices)
    return jg.cast(idx, jg.int32) if idx.dtype.is_floating else idx


def scatter(indices, values, shape):
    """A zeros tensor of ``shape`` with ``values`` added at ``indices`` (repeated indices add
    up, as in keras.ops with the TensorFlow backend)."""
    v = tensor(values)
    return jg.scatter_nd(_scatter_indices(indices), v, list(shape))


def scatter_update(inputs, indices, updates):
    x = tensor(inputs)
    return jg.tensor_scatter_nd_update(x, _scatter_indices(indices), tensor(updates, x.dtype))


def cond(pred, true_fn, false_fn):
    return jg.cond(tensor(pred, jg.bool) if not isinstance(pred, bool) else pred,
                   true_fn, false_fn)


def switch(index, branches, *operands):
    """``branches[index](*operands)``, ``index`` clamped into range."""
    n = len(branches)
    if isinstance(index, (int, np.integer)):
        return branches[min(max(int(index), 0), n - 1)](*operands)
    idx = jg.clip_by_value(tensor(index, jg.int32), 0, n - 1)
    return jg.switch_case(idx, [lambda b=b: b(*operands) for b in branches])


def _as_loop_vars(value):
    return jg.nest.map_structure(tensor, value)


def while_loop(cond, body, loop_vars, maximum_iterations=None):
    """``body`` until ``cond`` is false; a tuple or list of loop vars is passed unpacked to both,
    as in keras.ops."""
    unpack = isinstance(loop_vars, (tuple, list))
    state = _as_loop_vars(loop_vars)
    if unpack:
        def c(*v):
            return cond(*v)

        def b(*v):
            out = body(*v)
            return list(out) if isinstance(out, (tuple, list)) else [out]
        out = jg.while_loop(c, b, list(state), maximum_iterations=maximum_iterations)
        return type(loop_vars)(out)
    out = jg.while_loop(lambda v: cond(v), lambda v: (body(v),), (state,),
                        maximum_iterations=maximum_iterations)
    return out[0] if isinstance(out, (tuple, list)) else out


def fori_loop(lower, upper, body_fun, init_val):
    """``body_fun(i, val)`` for i in range(lower, upper); returns the final ``val``."""
    i0 = tensor(lower, jg.int32)
    up = tensor(upper, jg.int32)
    state = _as_loop_vars(init_val)
    _, out = jg.while_loop(lambda i, v: i < up, lambda i, v: (i + 1, body_fun(i, v)),
                           (i0, state))
    return out


def _leading(xs, length, what):
    flat = jg.nest.flatten(xs) if xs is not None else []
    if length is not None:
        return int(length)
    if not flat:
        raise jg.errors.InvalidArgumentError(
            f"jg.keras.ops.{what}: give xs or length")
    n = tensor(flat[0]).shape.as_list()[0]
    return n if n is not None else jg.shape(tensor(flat[0]))[0]


def scan(f, init, xs=None, length=None, reverse=False, unroll=1):
    """``carry, y = f(carry, x)`` over the leading axis of ``xs``; returns the last carry and the
    stacked ys. Runs as one while_loop writing the ys into TensorArrays."""
    n = _leading(xs, length, "scan")
    xs_t = None if xs is None else jg.nest.map_structure(tensor, xs)
    carry = _as_loop_vars(init)

    def x_at(i):
        return None if xs_t is None else jg.nest.map_structure(lambda t: t[i], xs_t)

    # One traced call of f outside the loop tells the structure and dtypes of y.
    probe_i = n - 1 if (reverse and isinstance(n, int)) else 0
    if isinstance(n, int) and n == 0:
        raise jg.errors.InvalidArgumentError("jg.keras.ops.scan: xs has length 0")
    _, y0 = f(carry, x_at(probe_i))
    y_flat0 = [tensor(y) for y in jg.nest.flatten(y0)]
    arrays = [jg.TensorArray(y.dtype, size=n, element_shape=y.shape) for y in y_flat0]

    def body(i, c, arrs):
        k = (n - 1 - i) if reverse else i
        c2, y = f(c, x_at(k))
        ys = [tensor(v) for v in jg.nest.flatten(y)]
        return (i + 1, jg.nest.map_structure(tensor, c2),
                [a.write(k, v) for a, v in zip(arrs, ys)])

    _, carry, arrays = jg.while_loop(lambda i, c, a: i < n, body,
                                     (tensor(0, jg.int32), carry, arrays))
    ys = jg.nest.pack_sequence_as(y0, [a.stack() for a in arrays])
    return carry, ys


def associative_scan(f, elems, reverse=False, axis=0):
    """Inclusive scan of the associative ``f`` along ``axis`` (computed sequentially)."""
    flat = [tensor(e) for e in jg.nest.flatten(elems)]
    rank = flat[0].shape.rank
    ax = norm_axis(axis, rank)
    perm = [ax] + [d for d in range(rank) if d != ax]
    inv = np.argsort(perm).tolist()
    moved = [jg.transpose(e, perm) for e in flat]
    first = [e[-1] if reverse else e[0] for e in moved]
    rest = [jg.reverse(e[:-1], [0]) if reverse else e[1:] for e in moved]

    def step(carry, x):
        out = f(jg.nest.pack_sequence_as(elems, x), jg.nest.pack_sequence_as(elems, carry)) \
            if reverse else f(jg.nest.pack_sequence_as(elems, carry),
                              jg.nest.pack_sequence_as(elems, x))
        out = [tensor(o) for o in jg.nest.flatten(out)]
        return out, out

    n = moved[0].shape.as_list()[0]
    if n == 1:
        ys = [jg.expand_dims(v, 0) for v in first]
    else:
        _, scanned = scan(step, first, rest)
        ys = [jg.concat([jg.expand_dims(a, 0), b], axis=0) for a, b in zip(first, scanned)]
        if reverse:
            ys = [jg.reverse(y, [0]) for y in ys]
    return jg.nest.pack_sequence_as(elems, [jg.transpose(y, inv) for y in ys])


def map(f, xs):  # noqa: A001 - keras.ops' name
    """``f`` over the leading axis of ``xs`` (nested outputs allowed), stacked."""
    _, ys = scan(lambda c, x: (c, f(x)), jg.constant(0, jg.int32), xs)
    return ys


def vectorized_map(function, elements):
    if isinstance(elements, list):
        elements = tuple(elements)
    return jg.vectorized_map(function, elements)


def promote_types(*xs):
    """The tensors ``xs`` in one dtype, by Keras' promotion (used by custom ops)."""
    return promote(*xs)


def _core_ranks(signature, n_args):
    if signature is None:
        return [0] * n_args
    inputs = signature.replace(" ", "").split("->")[0]
    groups = [g for g in inputs.strip("()").split("),(")]
    ranks = [0 if g == "" else len(g.split(",")) for g in groups]
    if len(ranks) != n_args:
        raise jg.errors.InvalidArgumentError(
            f"jg.keras.ops.vectorize: signature {signature!r} has {len(ranks)} inputs, the "
            f"call passes {n_args}")
    return ranks


def vectorize(pyfunc, *, excluded=None, signature=None):
    """NumPy's vectorize: ``pyfunc`` applied over the broadcast leading (loop) dims of its
    arguments, each call seeing the core dims named in ``signature`` (``"(n),(n)->()"``;
    without one, scalars), by jg.vectorized_map over the flattened loop dims. Positions or
    names in ``excluded`` are passed through unchanged. Shapes must be known when tracing."""
    excluded = set(excluded or ())

    def wrapped(*args, **kwargs):
        fixed = {i: a for i, a in enumerate(args) if i in excluded}
        mapped = [i for i in range(len(args)) if i not in excluded]
        ts = [tensor(args[i]) for i in mapped]
        ranks = _core_ranks(signature, len(ts))
        shapes = [tuple(t.shape.as_list()) for t in ts]
        if any(d is None for s in shapes for d in s):
            raise jg.errors.UnimplementedError(
                "jg.keras.ops.vectorize: needs the arguments' shapes known when tracing; give "
                "the jg.function an input_signature with fixed sizes")
        loops = [s[:len(s) - r] for s, r in zip(shapes, ranks)]
        loop = tuple(np.broadcast_shapes(*loops)) if loops else ()
        flat = []
        for t, s, r in zip(ts, shapes, ranks):
            core = list(s[len(s) - r:])
            flat.append(jg.reshape(jg.broadcast_to(t, list(loop) + core), [-1] + core))

        def one(elems):
            call = list(args)
            for i, e in zip(mapped, elems):
                call[i] = e
            for i, a in fixed.items():
                call[i] = a
            return pyfunc(*call, **kwargs)
        out = jg.vectorized_map(one, tuple(flat))
        return jg.nest.map_structure(
            lambda o: jg.reshape(o, list(loop) + o.shape.as_list()[1:]), out)
    wrapped.__name__ = getattr(pyfunc, "__name__", "vectorized")
    return wrapped
