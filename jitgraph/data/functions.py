"""User functions of a pipeline (map, filter, flat_map, ...), traced as tf.data traces them:
once per element signature, with ``jg.function`` and AutoGraph (a tensor ``if`` becomes a
``jg.cond``). Nothing falls back to running the Python function eagerly: a function that
cannot be traced raises, naming the function, the transformation and the element it was
traced for.

A traced function runs per element (or per batch after ``batch``) as one compiled call
taking the element's flat NumPy arrays: about a microsecond of dispatch per call, so mapping
before ``batch`` costs that per element and mapping after ``batch`` costs it per batch.
"""

from .. import autograph, errors, nest
from ..function import function
from ..tensor import TensorSpec, convert_to_tensor
from . import structure


def function_name(fn):
    return getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None) or repr(fn)


def _with_arity(body, n, name):
    """``body(*flat)`` as a function ``name`` of ``n`` named parameters (jg.function
    matches signatures by parameter). It is compiled under this file's name, so errors
    point past it to the user's function."""
    names = ", ".join(f"c{i}" for i in range(n))
    src = f"def {name}({names}):\n    return body({names}{',' if n == 1 else ''})"
    scope = {"body": body}
    exec(compile(src, __file__, "exec"), scope)
    return scope[name]


def call_with_element(fn, element):
    """A tuple element is passed as positional arguments, anything else as one argument."""
    if isinstance(element, tuple) and not hasattr(type(element), "_fields"):
        return fn(*element)
    return fn(element)


class Traced:
    """``fn`` compiled for elements of ``in_spec``; ``out_spec`` is what it returns.

    ``kind`` names the transformation in errors; ``check(out)`` may validate the output
    structure (e.g. filter's scalar bool) while tracing.
    """

    def __init__(self, fn, in_spec, kind, check=None, state_spec=None):
        if not callable(fn):
            raise TypeError(f"Dataset.{kind}: expected a function, got {type(fn).__name__}")
        self.kind, self.name = kind, function_name(fn)
        structure.require_tensors(in_spec, f"Dataset.{kind}")
        self.in_spec = in_spec
        self.out_spec = None
        self.state_spec = state_spec  # a leading state argument (scan, reduce)
        self._n_state = 0 if state_spec is None else len(structure.flat_specs(state_spec))
        py = getattr(fn, "python_function", fn)  # a jg.function: trace its Python function
        user = autograph.convert(py)
        flat_in = ([] if state_spec is None else structure.flat_specs(state_spec)) + \
            structure.flat_specs(in_spec)

        def body(*flat):
            out = self._invoke(user, flat)
            out = structure.lists_to_tuples(out)
            leaves = [convert_to_tensor(v) for v in nest.flatten(out)]
            packed = nest.pack_sequence_as(out, leaves) if nest.is_nested(out) else leaves[0]
            spec = nest.map_structure(lambda t: TensorSpec(t.shape, t.dtype), packed)
            if check is not None:
                check(spec)
            self.out_spec = spec
            return tuple(leaves)

        exact = all(s.shape.is_fully_defined() for s in flat_in)
        short = getattr(py, "__name__", "")
        label = f"{kind}_{short if short.isidentifier() else 'function'}"
        element_fn = _with_arity(body, len(flat_in), label)
        self._compiled = function(element_fn, autograph=False,
                                  input_signature=None if exact else flat_in)
        try:
            self._compiled.get_concrete_function(*flat_in)
        except Exception as e:  # the user's error, with where it happened
            if exact:
                raise _traced_error(e, self) from e
            try:
                self._per_shape(element_fn, flat_in)
            except Exception as e2:
                raise _traced_error(e2, self) from e2

    def _per_shape(self, element_fn, flat_in):
        """When the function cannot be traced for the unknown dims of the elements (e.g.
        it draws random numbers of the batch's static shape, ``x.shape``), it is traced per
        element shape instead, as jg.function traces without a signature (the last, smaller
        batch costs one more trace). ``out_spec`` comes from two probe shapes (1 and 2 for
        every unknown dim; dims that differ between them are unknown)."""
        self._compiled = function(element_fn, autograph=False)
        specs = []
        for d in (1, 2):
            self._compiled.get_concrete_function(*[
                TensorSpec([d if n is None else n for n in s.shape], s.dtype) for s in flat_in])
            specs.append(self.out_spec)
        self.out_spec = nest.map_structure(
            lambda a, b: TensorSpec(structure.merge_shapes(a.shape, b.shape), a.dtype), *specs)

    def _invoke(self, user, flat):
        n = self._n_state
        element = _pack(self.in_spec, flat[n:])
        if self.state_spec is not None:
            return user(_pack(self.state_spec, flat[:n]), element)
        return call_with_element(user, element)

    def __call__(self, flat):
        """The output's flat arrays for one element's flat arrays."""
        out = self._compiled(*flat)
        return [t._value for t in out]

    def describe(self):
        return f"the {self.kind} function {self.name!r} (traced for element {self.in_spec})"


def _pack(spec, flat):
    return nest.pack_sequence_as(spec, list(flat)) if nest.is_nested(spec) else flat[0]


def _traced_error(e, traced):
    msg = (f"Dataset.{traced.kind}: tracing the function {traced.name!r} for elements "
           f"{traced.in_spec} failed: {type(e).__name__}: {e}. Dataset functions are traced "
           "into graphs as with jg.function (tensors are symbolic there; Python side "
           "effects run once); only jg ops and Python control flow on tensors are allowed")
    try:
        return type(e)(msg)
    except Exception:
        return errors.TracingError(msg)
