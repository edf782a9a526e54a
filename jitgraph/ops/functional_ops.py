"""Higher-order loops over the first axis: ``map_fn``, ``scan``, ``foldl``, ``foldr``,
``vectorized_map`` (TensorFlow's functional ops).

Eagerly they are Python loops over the elements. While tracing each becomes one
``while_loop`` (ops/control.py) whose body calls ``fn`` once, reads element ``i`` with
``gather`` and writes its results into TensorArrays (tensor_array.py); the gradient is the
while_loop's. The number of elements must be known when tracing (compiled code has static
shapes); ``fn`` is traced once more into a throwaway graph to learn the output structure.
Elements and results may be nests (lists/tuples/dicts/namedtuples) of tensors.
"""

from .. import errors, tracing
from ..tensor import TensorSpec
from .control import _same_structure, flatten, unflatten, while_loop
from .core import as_tensor


def _elements(elems, what):
    """(leaves as tensors, structure, n) of the nest ``elems``; all leaves share dim 0."""
    leaves, struct = flatten(elems)
    if not leaves:
        raise errors.InvalidArgumentError(errors.at_user_line(
            f"jg.{what}: elems holds no tensors"))
    leaves = [as_tensor(x, f"jg.{what}") for x in leaves]
    for t in leaves:
        if t.ndim == 0:
            raise errors.InvalidArgumentError(errors.at_user_line(
                f"jg.{what}: elems must have rank >= 1 (the loop runs over the first axis), "
                f"got a scalar {t.dtype.name}"))
    ns = {t.shape[0] for t in leaves}
    if len(ns) > 1:
        raise errors.InvalidArgumentError(errors.at_user_line(
            f"jg.{what}: the tensors of elems have different first dims "
            f"{[t.shape[0] for t in leaves]}; they must all have the same number of elements"))
    n = ns.pop()
    if n is None:
        if tracing.current_graph() is not None:
            raise errors.UnimplementedError(errors.at_user_line(
                f"jg.{what}: the number of elements (the first dim of elems, "
                f"{[list(t.shape) for t in leaves]}) is only known when the function runs; "
                "compiled code needs it when tracing: give the jg.function an input_signature "
                "with a known first dim"))
    return leaves, struct, n


def _element(leaves, struct, i):
    from .indexing import gather

    return unflatten(struct, [gather(t, i) for t in leaves])


def _signature_leaves(sig):
    """The (dtype, shape or None) of each leaf of ``fn_output_signature``."""
    from .. import dtypes as _dt

    if isinstance(sig, TensorSpec):
        return [(sig.dtype, tuple(sig.shape))]
    if isinstance(sig, (list, tuple)):
        return [x for s in sig for x in _signature_leaves(s)]
    if isinstance(sig, dict):
        return [x for k in sorted(sig, key=repr) for x in _signature_leaves(sig[k])]
    return [(_dt.as_dtype(sig), None)]


def _results(out, struct0, dtypes, what):
    """Leaves of ``fn``'s result as tensors (Python numbers take ``dtypes``), checked against
    the structure ``struct0`` when given."""
    leaves, struct = flatten(out)
    if struct0 is not None and not _same_structure(struct0, struct):
        raise errors.InvalidArgumentError(errors.at_user_line(
            f"jg.{what}: fn returned {struct!r} but {struct0!r} was expected (* = a tensor); "
            "return the same structure every time"))
    dts = dtypes or [None] * len(leaves)
    ts = [as_tensor(x, f"jg.{what} fn result", d) for x, d in zip(leaves, dts, strict=False)]
    for k, (t, d) in enumerate(zip(ts, dts, strict=False)):
        if d is not None and t.dtype is not d:
            raise errors.InvalidArgumentError(errors.at_user_line(
                f"jg.{what}: result {k} of fn is {t.dtype.name}{list(t.shape)} but "
                f"{d.name} was expected; jg.cast it (or fix fn_output_signature)"))
    return ts, struct


def _converted(fn):
    """``fn`` through AutoGraph while tracing (its ``if``/``for`` on tensors become ops), as
    TensorFlow converts the functions given to its functional ops."""
    if tracing.current_graph() is None:
        return fn
    from .. import autograph

    return autograph.convert(fn)


def _trial(fn, args_fn):
    """``fn``'s result when called on placeholders, in a throwaway graph."""
    g = tracing.new_subgraph("functional_trial")
    with tracing.graph_scope(g):
        return fn(*args_fn(g))


def _placeholder_like(g, t, drop_first):
    shape = tuple(t.shape)[1:] if drop_first else tuple(t.shape)
    return tracing.placeholder(g, "x", t.dtype, shape)


# ----------------------------------------------------------------------------- map_fn


def map_fn(fn, elems, dtype=None, parallel_iterations=None, back_prop=True, swap_memory=False,
           infer_shape=True, name=None, fn_output_signature=None):
    """``fn`` applied to each element of ``elems`` (along the first axis), results stacked.

    >>> jg.map_fn(lambda x: x * x, jg.constant([1., 2., 3.]))  # [1., 4., 9.]
    >>> jg.map_fn(lambda p: p[0] + p[1], (a, b))               # nested elems
    """
    sig = fn_output_signature if fn_output_signature is not None else dtype
    sig_leaves = None if sig is None else _signature_leaves(sig)
    dts = None if sig_leaves is None else [d for d, _ in sig_leaves]
    leaves, struct, n = _elements(elems, "map_fn")
    fn = _converted(fn)
    if tracing.current_graph() is None:
        return _eager_map(fn, leaves, struct, n, dts, sig_leaves, sig)
    return _graph_map(fn, leaves, struct, n, dts, sig_leaves)


def _stack_or_empty(rows, sig_leaves, k, what):
    from .assemble import stack

    if rows:
        return stack(rows)
    if sig_leaves is None or sig_leaves[k][1] is None or None in sig_leaves[k][1]:
        raise errors.InvalidArgumentError(errors.at_user_line(
            f"jg.{what}: elems has no elements, so fn never runs; give fn_output_signature="
            "jg.TensorSpec(shape, dtype) to say what an empty result looks like"))
    from .shape import zeros

    return zeros([0] + list(sig_leaves[k][1]), dtype=sig_leaves[k][0])


def _eager_map(fn, leaves, struct, n, dts, sig_leaves, sig):
    cols, out_struct = None, None
    for i in range(n):
        ts, s = _results(fn(_element(leaves, struct, i)), out_struct, dts, "map_fn")
        if cols is None:
            cols, out_struct = [[] for _ in ts], s
        for c, t in zip(cols, ts, strict=True):
            c.append(t)
    if cols is None:
        if sig_leaves is None:
            _stack_or_empty([], None, 0, "map_fn")
        cols = [[] for _ in sig_leaves]
        out_struct = flatten(_sig_nest(sig))[1]
    return unflatten(out_struct, [_stack_or_empty(c, sig_leaves, k, "map_fn")
                                  for k, c in enumerate(cols)])


def _sig_nest(sig):
    """``fn_output_signature`` with a 0 for each leaf (its structure)."""
    if isinstance(sig, (list, tuple)) and not isinstance(sig, TensorSpec):
        return type(sig)(_sig_nest(s) for s in sig) if not hasattr(sig, "_fields") else \
            type(sig)(*[_sig_nest(s) for s in sig])
    if isinstance(sig, dict):
        return {k: _sig_nest(v) for k, v in sig.items()}
    return 0


def _graph_map(fn, leaves, struct, n, dts, sig_leaves):
    from ..tensor_array import TensorArray

    trial = _trial(fn, lambda g: [unflatten(struct, [_placeholder_like(g, t, True)
                                                      for t in leaves])])
    ts, out_struct = _results(trial, None, dts, "map_fn")
    if n == 0:
        return unflatten(out_struct, [_empty_rows(t) for t in ts])
    tas = [TensorArray(t.dtype, size=n, element_shape=tuple(t.shape)) for t in ts]
    out_dts = [t.dtype for t in ts]

    def body(i, tas):
        vals, _ = _results(fn(_element(leaves, struct, i)), out_struct, out_dts, "map_fn")
        return i + 1, [ta.write(i, v) for ta, v in zip(tas, vals, strict=True)]

    _, tas = while_loop(lambda i, tas: i < n, body, (0, tas), maximum_iterations=n)
    return unflatten(out_struct, [ta.stack() for ta in tas])


def _empty_rows(t):
    from .shape import zeros

    return zeros([0] + list(t.shape), dtype=t.dtype)


def vectorized_map(fn, elems, fallback_to_while_loop=True, warn=True):
    """``jg.map_fn(fn, elems)``: jitgraph runs it as one loop (no vectorization pass)."""
    return map_fn(fn, elems)


# ----------------------------------------------------------------------------- scan / folds


def scan(fn, elems, initializer=None, parallel_iterations=10, back_prop=True,
         swap_memory=False, infer_shape=True, reverse=False, name=None):
    """Running ``a = fn(a, x)`` over the elements of ``elems``; returns every ``a`` stacked.
    Without ``initializer`` the first element is the first ``a`` (and the first result).

    >>> jg.scan(lambda a, x: a + x, jg.constant([1., 2., 3.]))  # [1., 3., 6.]
    """
    return _fold(fn, elems, initializer, reverse, "scan", keep=True)


def foldl(fn, elems, initializer=None, parallel_iterations=10, back_prop=True,
          swap_memory=False, name=None):
    """The last ``a`` of ``a = fn(a, x)`` over ``elems`` from the first element.

    >>> jg.foldl(lambda a, x: a + x, jg.constant([1., 2., 3.]))  # 6.
    """
    return _fold(fn, elems, initializer, False, "foldl", keep=False)


def foldr(fn, elems, initializer=None, parallel_iterations=10, back_prop=True,
          swap_memory=False, name=None):
    """The last ``a`` of ``a = fn(a, x)`` over ``elems`` from the last element."""
    return _fold(fn, elems, initializer, True, "foldr", keep=False)


def _fold(fn, elems, initializer, reverse, what, keep):
    leaves, struct, n = _elements(elems, what)
    fn = _converted(fn)
    if initializer is None:
        if n == 0:
            raise errors.InvalidArgumentError(errors.at_user_line(
                f"jg.{what}: elems has no elements and there is no initializer; give "
                "initializer="))
        first = n - 1 if reverse else 0
        a = _element(leaves, struct, first)
        start = 1
    else:
        a, start = initializer, 0
    a_leaves, a_struct = flatten(a)
    a_leaves = [as_tensor(x, f"jg.{what} initializer") for x in a_leaves]
    dts = [t.dtype for t in a_leaves]

    def index(k):
        return n - 1 - k if reverse else k

    if tracing.current_graph() is None:
        rows = [list(a_leaves)] if start else []
        for k in range(start, n):
            a_leaves, _ = _results(fn(unflatten(a_struct, a_leaves),
                                      _element(leaves, struct, index(k))), a_struct, dts, what)
            rows.append(a_leaves)
        if not keep:
            return unflatten(a_struct, a_leaves)
        if reverse:
            rows.reverse()
        cols = [[r[j] for r in rows] for j in range(len(a_leaves))]
        from .assemble import stack

        return unflatten(a_struct, [stack(c) if c else _empty_rows(t)
                                    for c, t in zip(cols, a_leaves, strict=True)])
    return _graph_fold(fn, leaves, struct, n, a_leaves, a_struct, start, index, keep, what)


def _graph_fold(fn, leaves, struct, n, a_leaves, a_struct, start, index, keep, what):
    from ..tensor_array import TensorArray

    dts = [t.dtype for t in a_leaves]
    if keep and n == 0:
        return unflatten(a_struct, [_empty_rows(t) for t in a_leaves])
    tas = []
    if keep:
        tas = [TensorArray(t.dtype, size=n, element_shape=tuple(t.shape)) for t in a_leaves]
        if start:
            tas = [ta.write(index(0), t) for ta, t in zip(tas, a_leaves, strict=True)]

    def body(k, a, tas):
        i = index(k)
        new, _ = _results(fn(unflatten(a_struct, a), _element(leaves, struct, i)), a_struct,
                          dts, what)
        return k + 1, new, [ta.write(i, v) for ta, v in zip(tas, new, strict=True)] if keep else []

    _, a, tas = while_loop(lambda k, a, tas: k < n, body, (start, list(a_leaves), tas),
                           maximum_iterations=n - start)
    if keep:
        return unflatten(a_struct, [ta.stack() for ta in tas])
    return unflatten(a_struct, a)


__all__ = ["map_fn", "scan", "foldl", "foldr", "vectorized_map"]
