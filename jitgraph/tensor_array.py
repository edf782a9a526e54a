"""``jg.TensorArray``: a list of same-typed tensors that loops write one element at a time.

Two representations, chosen when the array is created, as in TensorFlow:

- eager (no graph being traced): a Python list of tensors. ``write`` mutates the array and
  returns it; reading an element never written gives zeros when the element shape is known;
  ``clear_after_read=True`` makes a second read of an element an error (TensorFlow's eager
  behaviour). ``dynamic_size=True`` arrays grow on writes past the end.
- graph (inside ``jg.function``): one tensor ``buffer`` of shape ``[size, *element_shape]``,
  zeros until written, and value semantics: ``write`` returns a new TensorArray whose buffer
  is ``tensor_scatter_nd_update(buffer, [[i]], [value])``; ``read`` is ``gather``; ``stack``
  is the buffer itself. The compiled backends write such an update in place when the old
  buffer is not used afterwards (codegen/scatter_in_place.py), so a loop stores one element
  per iteration. Compiled code needs static shapes, so ``size`` must be known when
  tracing: a Python int or a tensor computed from constants and static shapes
  (``jg.shape(x)[0]`` of a statically shaped ``x``); else an UnimplementedError says what
  to pass. ``dynamic_size=True`` arrays grow while tracing (writes and scatters at
  constant indices); a write at a run-time index past the end raises OutOfRangeError when
  the function runs, and one into an array of size 0 raises when tracing: give such
  arrays ``size=`` an upper bound (TensorFlow's result would have a data-dependent shape).
  ``clear_after_read`` is ignored here (as in TensorFlow's graphs).
- both: writing an element twice overwrites it (TensorFlow 2's behaviour); ``unstack``
  makes the size the number of rows; elements must all have one shape and the dtype of the
  array (else InvalidArgumentError naming the array, index, shapes or dtypes).

When the element shape is unknown at creation, ``jg.while_loop`` traces the body once more
to learn it from the first write (``resolve_element_shapes``), and ``jg.cond`` gives an
array written in one branch only zeros of that shape in the other (``match_branches``).

A TensorArray is a loop variable like a tensor: ``jg.while_loop``, ``jg.cond`` and the loops
AutoGraph converts carry its buffer (``_jg_components`` / ``_jg_rebuild``, used by
``ops/control.flatten``).

>>> ta = jg.TensorArray(jg.float32, size=3)
>>> for i in jg.range(3):
...     ta = ta.write(i, x[i] * 2.0)
>>> ta.stack()
"""

import numpy as np

from . import dtypes as _dt
from . import errors, tracing
from .ops.static import static_value
from .tensor import Tensor, TensorShape


def _static_int(x):
    v = static_value(x)
    if v is None or v.shape != () or v.dtype.kind not in "iu":
        return None
    return int(v)


def _merge(a, b):
    if a.rank is None:
        return b
    if b.rank is None:
        return a
    return TensorShape([x if x is not None else y for x, y in zip(a, b, strict=True)])


class TensorArray:
    """TensorFlow's ``tf.TensorArray``: ``write``/``read``/``stack``/``unstack``/``gather``/
    ``scatter``/``concat``/``size``/``identity``/``close``.

    >>> ta = jg.TensorArray(jg.float32, size=2).write(0, 1.0).write(1, 2.0)
    >>> ta.stack()  # [1., 2.]
    """

    def __init__(self, dtype, size=None, dynamic_size=None, clear_after_read=None,
                 tensor_array_name=None, handle=None, flow=None, infer_shape=True,
                 element_shape=None, colocate_with_first_write_call=True, name=None):
        self._dtype = _dt.as_dtype(dtype)
        self._dynamic = bool(dynamic_size)
        self._clear = True if clear_after_read is None else bool(clear_after_read)
        self._infer_shape = bool(infer_shape)
        self._name = name or tensor_array_name or "TensorArray"
        self._element_shape = TensorShape(element_shape)
        self._graph = tracing.current_graph() is not None
        if size is None:
            if not self._dynamic:
                raise errors.InvalidArgumentError(errors.at_user_line(
                    f"TensorArray {self._name!r}: give size= (the number of elements) or "
                    "dynamic_size=True"))
            size = 0
        n = _static_int(size)
        if n is None:
            if self._graph and tracing.is_symbolic(size):
                raise errors.UnimplementedError(errors.at_user_line(
                    f"TensorArray {self._name!r}: size {size.name} is only known when the "
                    "function runs; compiled code needs it when tracing. Pass a Python int, "
                    "a dim of a statically shaped tensor (jg.shape(x)[0]) or an upper bound "
                    "with dynamic_size=True, or give the function an input_signature with "
                    "known dims"))
            raise errors.InvalidArgumentError(errors.at_user_line(
                f"TensorArray {self._name!r}: size must be an integer scalar, got {size!r:.60}"))
        if n < 0:
            raise errors.InvalidArgumentError(errors.at_user_line(
                f"TensorArray {self._name!r}: size must be >= 0, got {n}"))
        self._size = n
        self._buffer = None  # graph: [size, *element_shape] once the element shape is known
        self._items = [None] * n  # eager
        self._read_once = set()
        if self._graph and self._element_shape.is_fully_defined():
            self._buffer = self._zeros([n] + self._element_shape.as_list())

    # -- properties
    @property
    def dtype(self):
        return self._dtype

    @property
    def element_shape(self):
        return self._element_shape

    @property
    def dynamic_size(self):
        return self._dynamic

    @property
    def handle(self):
        return self._buffer

    @property
    def flow(self):
        return self._buffer

    def __repr__(self):
        return (f"<jg.TensorArray {self._name!r} {self._dtype.name} size={self.__len_static()} "
                f"element_shape={self._element_shape}>")

    def __len_static(self):
        return len(self._items) if not self._graph else self._size

    # -- structure protocol (ops/control.flatten)
    def _jg_components(self):
        return [] if not self._graph or self._buffer is None else [self._buffer]

    def _jg_rebuild(self, leaves):
        if not self._graph:
            return self
        return self._with(leaves[0] if leaves else None)

    def _jg_same_kind(self, other):
        return type(other) is TensorArray and other._dtype is self._dtype and \
            other._graph == self._graph

    def _with(self, buffer, size=None):
        ta = object.__new__(TensorArray)
        ta.__dict__.update(self.__dict__)
        ta._buffer = buffer
        if size is not None:
            ta._size = size
        if buffer is not None:
            ta._element_shape = TensorShape(tuple(buffer.shape)[1:])
        return ta

    # -- checks shared by both representations
    def _value(self, value, what):
        from .ops.core import as_tensor

        v = as_tensor(value, f"TensorArray.{what}", self._dtype)
        if v.dtype is not self._dtype:
            raise errors.InvalidArgumentError(errors.at_user_line(
                f"TensorArray {self._name!r} holds {self._dtype.name} but {what} got "
                f"{v.dtype.name}{list(v.shape)}; jg.cast the value to {self._dtype.name}"))
        return v

    def _check_shape(self, shape, what, index=None):
        at = "" if index is None else f" at index {index}"
        if not self._element_shape.is_compatible_with(shape):
            raise errors.InvalidArgumentError(errors.at_user_line(
                f"TensorArray {self._name!r}: {what}{at} got an element of shape "
                f"{list(shape)} but the elements have shape {self._element_shape}; "
                "all elements must have the same shape (reshape the value, or create the "
                "array with infer_shape=False in eager code)"))
        if self._infer_shape:
            self._element_shape = _merge(self._element_shape, TensorShape(tuple(shape)))

    def _index(self, index, what):
        if isinstance(index, (int, np.integer)) and not isinstance(index, bool):
            return int(index)
        from .ops.core import as_tensor

        t = as_tensor(index, f"TensorArray.{what}")
        if not (t.dtype.is_integer and t.ndim == 0):
            raise errors.InvalidArgumentError(errors.at_user_line(
                f"TensorArray {self._name!r}: {what} needs an integer scalar index, got "
                f"{t.dtype.name}{list(t.shape)}"))
        n = _static_int(t)
        return t if n is None else n

    def _range_error(self, what, i, size):
        grow = "" if self._dynamic else \
            "; create it with a larger size= or dynamic_size=True"
        return errors.OutOfRangeError(errors.at_user_line(
            f"TensorArray {self._name!r}: {what} index {i} is out of range for an array of "
            f"size {size}{grow}"))

    def _unknown_element(self, what):
        return errors.InvalidArgumentError(errors.at_user_line(
            f"TensorArray {self._name!r}: {what} before any element was written, and the "
            "element shape is unknown; write an element first or create the array with "
            "element_shape="))

    def _zeros(self, shape):
        from .ops.shape import zeros

        return zeros(list(shape), dtype=self._dtype)

    # -- the API
    def size(self, name=None):
        """The number of elements, an int32 scalar."""
        from .ops.core import as_tensor

        return as_tensor(self.__len_static(), "TensorArray.size", _dt.int32)

    def write(self, index, value, name=None):
        """Writes ``value`` at ``index``; returns the array to use from now on
        (``ta = ta.write(i, x)``)."""
        v = self._value(value, "write")
        i = self._index(index, "write")
        if not self._graph:
            return self._eager_write(i, v)
        return self._graph_write(i, v)

    def read(self, index, name=None):
        """The element at ``index`` (zeros if it was never written and its shape is known)."""
        i = self._index(index, "read")
        if not self._graph:
            return self._eager_read(i)
        buf = self._graph_buffer("read")
        if isinstance(i, int):
            if not 0 <= i < self._size:
                raise self._range_error("read", i, self._size)
        from .ops.indexing import gather

        return gather(buf, i)

    def stack(self, name=None):
        """All elements stacked along a new first axis: ``[size, *element_shape]``."""
        if not self._graph:
            return self._eager_gather(range(len(self._items)), "stack")
        return self._graph_buffer("stack")

    def gather(self, indices, name=None):
        """The elements at ``indices`` (an int vector) stacked: ``[len(indices), ...]``."""
        from .ops.core import as_tensor

        idx = as_tensor(indices, "TensorArray.gather")
        if not self._graph:
            return self._eager_gather([int(i) for i in np.asarray(idx.numpy()).ravel()],
                                      "gather")
        from .ops.indexing import gather

        return gather(self._graph_buffer("gather"), idx)

    def unstack(self, value, name=None):
        """Writes the rows of ``value`` as elements 0..n-1 (the size becomes n)."""
        v = self._value(value, "unstack")
        if v.ndim == 0:
            raise errors.InvalidArgumentError(errors.at_user_line(
                f"TensorArray {self._name!r}: unstack needs a tensor of rank >= 1, got a "
                "scalar"))
        n = v.shape[0]
        size = self.__len_static()
        if n is None:
            raise errors.UnimplementedError(errors.at_user_line(
                f"TensorArray {self._name!r}: unstack of a tensor whose first dim is only "
                "known at run time; compiled code needs it when tracing"))
        if n > size and not self._dynamic:
            raise errors.InvalidArgumentError(errors.at_user_line(
                f"TensorArray {self._name!r}: cannot unstack {n} elements into an array of "
                f"static size {size}; create it with size={n} or dynamic_size=True"))
        self._check_shape(tuple(v.shape)[1:], "unstack")
        if not self._graph:
            from .ops.assemble import unstack

            self._items = list(unstack(v)) if n else []
            self._read_once = set()
            return self
        return self._with(v, size=n)

    def scatter(self, indices, value, name=None):
        """Writes row k of ``value`` at ``indices[k]``."""
        from .ops.core import as_tensor

        v = self._value(value, "scatter")
        idx = as_tensor(indices, "TensorArray.scatter")
        if not (idx.dtype.is_integer and idx.ndim == 1):
            raise errors.InvalidArgumentError(errors.at_user_line(
                f"TensorArray {self._name!r}: scatter needs an int vector of indices, got "
                f"{idx.dtype.name}{list(idx.shape)}"))
        if v.ndim == 0 or (idx.shape[0] is not None and v.shape[0] is not None and
                           idx.shape[0] != v.shape[0]):
            raise errors.InvalidArgumentError(errors.at_user_line(
                f"TensorArray {self._name!r}: scatter got {idx.shape[0]} indices but a value "
                f"of shape {list(v.shape)}; give one row per index"))
        self._check_shape(tuple(v.shape)[1:], "scatter")
        if not self._graph:
            from .ops.assemble import unstack

            rows = unstack(v)
            for i, row in zip(np.asarray(idx.numpy()).ravel(), rows, strict=True):
                self._eager_write(int(i), row)
            return self
        known = static_value(idx)
        ta = self
        if known is not None and known.size:
            ta = self._grown(int(known.max()), "scatter")
        from .ops.indexing import tensor_scatter_nd_update
        from .ops.shape import expand_dims

        buf = ta._graph_buffer("scatter", create=True)
        return ta._with(tensor_scatter_nd_update(buf, expand_dims(idx, -1), v))

    def concat(self, name=None):
        """The elements concatenated along their first axis."""
        if not self._graph:
            items = [self._maybe_zero(i, "concat") for i in range(len(self._items))]
            if not items:
                return self._empty("concat", concat=True)
            from .ops.assemble import concat

            return concat(items, 0)
        buf = self._graph_buffer("concat")
        if buf.ndim < 2:
            raise errors.InvalidArgumentError(errors.at_user_line(
                f"TensorArray {self._name!r}: concat needs elements of rank >= 1, the "
                f"elements have shape {self._element_shape}; use stack()"))
        from .ops.shape import reshape

        return reshape(buf, [-1] + list(buf.shape)[2:])

    def identity(self):
        """The same array (a new object in graphs)."""
        return self if not self._graph else self._with(self._buffer)

    def close(self, name=None):
        """Does nothing (TensorFlow frees the array; here the garbage collector does)."""
        return None

    # -- eager representation
    def _eager_write(self, i, v):
        if isinstance(i, Tensor):
            i = int(i.numpy())
        if i < 0:
            raise errors.OutOfRangeError(errors.at_user_line(
                f"TensorArray {self._name!r}: write index {i} is negative"))
        if i >= len(self._items):
            if not self._dynamic:
                raise self._range_error("write", i, len(self._items))
            self._items.extend([None] * (i + 1 - len(self._items)))
        self._check_shape(tuple(v.shape), "write", i)
        self._items[i] = v
        self._read_once.discard(i)
        return self

    def _eager_read(self, i):
        if isinstance(i, Tensor):
            i = int(i.numpy())
        if not 0 <= i < len(self._items):
            raise self._range_error("read", i, len(self._items))
        if self._items[i] is None and i in self._read_once:
            raise errors.InvalidArgumentError(errors.at_user_line(
                f"TensorArray {self._name!r}: index {i} was already read and cleared "
                "(clear_after_read=True); create the array with clear_after_read=False to "
                "read an element more than once"))
        v = self._maybe_zero(i, "read")
        if self._clear:
            self._items[i] = None
            self._read_once.add(i)
        return v

    def _maybe_zero(self, i, what):
        v = self._items[i]
        if v is None:
            if not self._element_shape.is_fully_defined():
                raise errors.InvalidArgumentError(errors.at_user_line(
                    f"TensorArray {self._name!r}: {what} of index {i}, which was never "
                    f"written, and the element shape {self._element_shape} is not fully "
                    "known; write it first or create the array with element_shape="))
            v = self._zeros(self._element_shape.as_list())
        return v

    def _empty(self, what, concat=False):
        shape = self._element_shape
        if not shape.is_fully_defined() or (concat and shape.rank == 0):
            raise errors.InvalidArgumentError(errors.at_user_line(
                f"TensorArray {self._name!r}: {what} of an empty array whose element shape "
                f"{shape} is not fully known; create it with element_shape="))
        dims = shape.as_list()
        return self._zeros([0] + (dims[1:] if concat else dims))

    def _eager_gather(self, indices, what):
        from .ops.assemble import stack

        n = len(self._items)
        for i in indices:
            if not 0 <= i < n:
                raise self._range_error(what, i, n)
        if not indices:
            return self._empty(what)
        return stack([self._maybe_zero(i, what) for i in indices])

    # -- graph representation
    def _graph_buffer(self, what, create=False):
        if self._buffer is not None:
            return self._buffer
        shape = self._element_shape
        if not shape.is_fully_defined():
            if self._size == 0 and not create:
                raise errors.InvalidArgumentError(errors.at_user_line(
                    f"TensorArray {self._name!r}: {what} of an empty array whose element "
                    f"shape {shape} is not fully known; create it with element_shape="))
            if not create:
                raise self._unknown_element(what)
            raise errors.UnimplementedError(errors.at_user_line(
                f"TensorArray {self._name!r}: elements of shape {shape} (unknown dims); "
                "compiled code needs element shapes known when tracing"))
        return self._zeros([self._size] + shape.as_list())

    def _grown(self, i, what):
        """The array with room for index ``i`` (dynamic_size arrays grow while tracing)."""
        if i < self._size:
            return self
        if not self._dynamic:
            raise self._range_error(what, i, self._size)
        ta = self._with(self._buffer, size=i + 1)
        if self._buffer is not None:
            from .ops.assemble import concat

            pad = self._zeros([i + 1 - self._size] + list(self._buffer.shape)[1:])
            ta._buffer = concat([self._buffer, pad], 0)
        return ta

    def _graph_write(self, i, v):
        self._check_shape(tuple(v.shape), "write", i if isinstance(i, int) else None)
        ta = self
        if isinstance(i, int):
            if i < 0:
                raise errors.OutOfRangeError(errors.at_user_line(
                    f"TensorArray {self._name!r}: write index {i} is negative"))
            ta = self._grown(i, "write")
        elif self._size == 0:
            raise errors.UnimplementedError(errors.at_user_line(
                f"TensorArray {self._name!r}: a write at a run-time index into an array of "
                "size 0; compiled code needs the number of elements when tracing: give "
                "size= (with dynamic_size=True, an upper bound such as the loop's trip count)"))
        if ta._buffer is None:
            ta = ta._with(None)
            ta._element_shape = self._element_shape
        from .ops.indexing import tensor_scatter_nd_update
        from .ops.shape import expand_dims, reshape

        buf = ta._graph_buffer("write", create=True)
        if tuple(v.shape) != tuple(buf.shape)[1:]:  # infer_shape=False: still one shape
            raise errors.InvalidArgumentError(errors.at_user_line(
                f"TensorArray {self._name!r}: write got an element of shape {list(v.shape)} "
                f"but the elements have shape {list(buf.shape)[1:]}; in jg.function all "
                "elements must have the same shape"))
        idx = reshape(i, [1, 1]) if isinstance(i, Tensor) else [[i]]
        return ta._with(tensor_scatter_nd_update(buf, idx, expand_dims(v, 0)))


def _walk(x, out):
    """The TensorArrays of nest ``x`` in ``ops/control.flatten``'s order."""
    if isinstance(x, TensorArray):
        out.append(x)
    elif isinstance(x, (list, tuple)):
        for c in x:
            _walk(c, out)
    elif isinstance(x, dict):
        for k in sorted(x, key=repr):
            _walk(x[k], out)
    return out


def match_branches(then_out, else_out, then_g, else_g):
    """The branch results of a ``cond`` with each TensorArray whose element shape is unknown
    in one branch and known in the other (written there) given zeros of that shape in its
    own branch graph."""
    a, b = _walk(then_out, []), _walk(else_out, [])
    if len(a) != len(b):
        return then_out, else_out
    fixed = [{}, {}]
    for x, y in zip(a, b, strict=True):
        for k, (lazy, other, g) in enumerate(((x, y, then_g), (y, x, else_g))):
            if lazy._graph and lazy._buffer is None and other._buffer is not None:
                with tracing.graph_scope(g):
                    ta = lazy._with(None, size=other._size)
                    ta._buffer = ta._zeros(list(other._buffer.shape))
                    ta._element_shape = other._element_shape
                fixed[k][id(lazy)] = ta
    return _replace(then_out, fixed[0]), _replace(else_out, fixed[1])


def resolve_element_shapes(body, loop_vars):
    """``loop_vars`` with each graph TensorArray whose element shape is unknown and that the
    loop body writes given zero buffers of the shape it writes (learned by tracing ``body``
    once into a throwaway graph)."""
    tas = _walk(loop_vars, [])
    lazy = [k for k, ta in enumerate(tas) if ta._graph and ta._buffer is None]
    if not lazy:
        return loop_vars
    from .ops.control import flatten, unflatten
    from .ops.core import as_tensor

    g = tracing.new_subgraph("tensor_array_trial")
    with tracing.graph_scope(g):
        leaves, struct = flatten(loop_vars)
        phs = [tracing.placeholder(g, "lv", t.dtype, t.shape) for t in
               (as_tensor(x, "jg.while_loop loop var") for x in leaves)]
        try:
            out = body(*unflatten(struct, phs))
        except errors.JitgraphError:
            return loop_vars  # the real trace reports it
    new = _walk(out if isinstance(out, (list, tuple, dict)) else [out], [])
    if len(new) != len(tas):
        return loop_vars
    fixed = {}
    for k in lazy:
        shape = new[k]._element_shape
        if new[k]._buffer is not None and shape.is_fully_defined():
            ta = tas[k]._with(None, size=new[k]._size if tas[k]._dynamic else None)
            ta._buffer = ta._zeros([ta._size] + shape.as_list())
            ta._element_shape = shape
            fixed[id(tas[k])] = ta
    return _replace(loop_vars, fixed)


def _replace(x, fixed):
    if isinstance(x, TensorArray):
        return fixed.get(id(x), x)
    if isinstance(x, tuple) and hasattr(x, "_fields"):
        return type(x)(*[_replace(c, fixed) for c in x])
    if isinstance(x, (list, tuple)):
        return type(x)(_replace(c, fixed) for c in x)
    if isinstance(x, dict):
        return {k: _replace(v, fixed) for k, v in x.items()}
    return x


__all__ = ["TensorArray"]
