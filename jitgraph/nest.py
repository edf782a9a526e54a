"""``jg.nest``: TensorFlow's ``tf.nest`` on nested Python structures.

Nested are lists, tuples, namedtuples and mappings (dict, OrderedDict, ...); everything
else is a leaf (tensors, arrays, numbers, strings, sets, ``None``). Mappings are traversed in
sorted key order, so ``flatten({"b": 1, "a": 2}) == [2, 1]``; ``pack_sequence_as`` gives a
mapping back its own key order.

>>> jg.nest.flatten({"b": 1, "a": [2, 3]})
[2, 3, 1]
>>> jg.nest.map_structure(lambda x, y: x + y, (1, [2]), (10, [20]))
(11, [22])
"""

import collections.abc as _abc
from collections import defaultdict as _defaultdict

__all__ = ["is_nested", "flatten", "pack_sequence_as", "map_structure",
           "assert_same_structure"]


def _is_namedtuple(x):
    return isinstance(x, tuple) and hasattr(type(x), "_fields")


def is_nested(seq):
    """True for lists, tuples, namedtuples and mappings."""
    return isinstance(seq, (list, tuple, _abc.Mapping))


def _sorted_keys(mapping):
    try:
        return sorted(mapping)
    except TypeError:
        raise TypeError(f"nest only supports dicts with sortable keys, got keys "
                        f"{list(mapping)!r:.100}") from None


def _children(x):
    if isinstance(x, _abc.Mapping):
        return [x[k] for k in _sorted_keys(x)]
    return list(x)


def flatten(structure, expand_composites=False):
    """The leaves of ``structure`` in order (mappings by sorted key); a leaf gives
    ``[leaf]``."""
    out = []

    def rec(x):
        if is_nested(x):
            for c in _children(x):
                rec(c)
        else:
            out.append(x)

    rec(structure)
    return out


def _sequence_like(instance, values):
    """A structure of ``instance``'s type holding ``values`` (in flatten order)."""
    if isinstance(instance, _abc.Mapping):
        by_key = dict(zip(_sorted_keys(instance), values))
        items = [(k, by_key[k]) for k in instance]
        if isinstance(instance, _defaultdict):
            out = _defaultdict(instance.default_factory)
            out.update(items)
            return out
        try:
            return type(instance)(items)
        except TypeError:
            return dict(items)
    if _is_namedtuple(instance):
        return type(instance)(*values)
    if isinstance(instance, tuple):
        return tuple(values) if type(instance) is tuple else type(instance)(values)
    return type(instance)(values) if type(instance) is not list else list(values)


def _count(structure):
    return len(flatten(structure))


def pack_sequence_as(structure, flat_sequence, expand_composites=False):
    """The leaves of ``flat_sequence`` put into the shape of ``structure``.

    >>> jg.nest.pack_sequence_as({"b": 0, "a": 0}, [1, 2])
    {'b': 2, 'a': 1}
    """
    if not is_nested(flat_sequence):
        raise TypeError(f"pack_sequence_as: flat_sequence must be a list or tuple, got "
                        f"{type(flat_sequence).__name__}")
    flat = list(flat_sequence)
    if not is_nested(structure):
        if len(flat) != 1:
            raise ValueError(
                f"Structure is a scalar but len(flat_sequence) == {len(flat)} > 1")
        return flat[0]
    n = _count(structure)
    if n != len(flat):
        raise ValueError(
            f"Could not pack sequence. Structure had {n} atoms, but flat_sequence had "
            f"{len(flat)} items. Structure: {structure!r:.200}, flat_sequence: {flat!r:.200}.")
    it = iter(flat)

    def rec(s):
        if is_nested(s):
            return _sequence_like(s, [rec(c) for c in _children(s)])
        return next(it)

    return rec(structure)


def _type_name(x):
    return type(x).__name__


def _same_type(a, b):
    if _is_namedtuple(a) and _is_namedtuple(b):
        return type(a).__name__ == type(b).__name__ and a._fields == b._fields
    if isinstance(a, _abc.Mapping) and isinstance(b, _abc.Mapping):
        return True  # dict and OrderedDict hold the same structure (TensorFlow's rule)
    return type(a) is type(b)


def assert_same_structure(nest1, nest2, check_types=True, expand_composites=False):
    """Raises ``ValueError`` if the two structures nest differently (or a mapping's keys
    differ), ``TypeError`` if ``check_types`` and a sequence's type differs (list vs tuple,
    different namedtuples)."""

    def fail(exc, why):
        raise exc(f"The two structures don't have the same nested structure.\n\n"
                  f"First structure: {nest1!r:.200}\n\nSecond structure: {nest2!r:.200}\n\n"
                  f"More specifically: {why}")

    def rec(a, b):
        na, nb = is_nested(a), is_nested(b)
        if na != nb:
            seq, leaf = (a, b) if na else (b, a)
            fail(ValueError, f"Substructure {seq!r:.100} is a sequence, while substructure "
                             f"{leaf!r:.100} is not")
        if not na:
            return
        if check_types and not _same_type(a, b):
            fail(TypeError, f"{a!r:.100} has type {_type_name(a)}, while {b!r:.100} has type "
                            f"{_type_name(b)}")
        if isinstance(a, _abc.Mapping) and isinstance(b, _abc.Mapping) and \
                set(a) != set(b):
            fail(ValueError, f"the mappings have different keys: {sorted(map(repr, a))} "
                             f"and {sorted(map(repr, b))}")
        ca, cb = _children(a), _children(b)
        if len(ca) != len(cb):
            fail(ValueError, f"{a!r:.100} has length {len(ca)}, while {b!r:.100} has length "
                             f"{len(cb)}")
        for x, y in zip(ca, cb):
            rec(x, y)

    rec(nest1, nest2)


def map_structure(func, *structure, **kwargs):
    """``func`` applied to the corresponding leaves of the structures (which must nest the
    same way), in the shape of the first.

    >>> jg.nest.map_structure(lambda t: t * 2, {"w": jg.ones([2]), "b": 1.0})
    """
    check_types = kwargs.pop("check_types", True)
    kwargs.pop("expand_composites", None)
    if kwargs:
        raise ValueError(f"map_structure: unexpected keyword arguments {sorted(kwargs)}")
    if not structure:
        raise ValueError("map_structure: needs at least one structure")
    for other in structure[1:]:
        assert_same_structure(structure[0], other, check_types=check_types)
    flats = [flatten(s) for s in structure]
    return pack_sequence_as(structure[0], [func(*xs) for xs in zip(*flats)])
