"""jg.keras.tree: Keras 3's tree utilities over nested lists, tuples, namedtuples and dicts
(dicts in sorted key order; ``None`` and everything else is a leaf), built on ``jg.nest``.

>>> jg.keras.tree.flatten({"b": 1, "a": [2, 3]})
[2, 3, 1]
>>> jg.keras.tree.flatten_with_path([{"foo": 42}])
[((0, 'foo'), 42)]
"""

import collections.abc as _abc

import jitgraph as jg

flatten = jg.nest.flatten
is_nested = jg.nest.is_nested
map_structure = jg.nest.map_structure


class _MapToNone:
    """``traverse``'s marker for "replace this sub-tree with None"."""

    def __repr__(self):
        return "MAP_TO_NONE"


MAP_TO_NONE = _MapToNone()


def pack_sequence_as(structure, flat_sequence):
    """``flat_sequence`` (a list of leaves) in the shape of ``structure``."""
    return jg.nest.pack_sequence_as(structure, flat_sequence)


def assert_same_structure(a, b, check_types=True):
    """Raises ValueError (or TypeError for different sequence types when ``check_types``)
    unless ``a`` and ``b`` nest the same way."""
    jg.nest.assert_same_structure(a, b, check_types=check_types)


def _keys(node):
    if isinstance(node, _abc.Mapping):
        return sorted(node)
    return range(len(node))


def _rebuild(node, children):
    if isinstance(node, _abc.Mapping):
        values = dict(zip(sorted(node), children))
        out = dict((k, values[k]) for k in node)  # the mapping's own key order
        return out if type(node) is dict else _same_mapping(node, out)
    if isinstance(node, tuple) and hasattr(type(node), "_fields"):
        return type(node)(*children)
    return type(node)(children)


def _same_mapping(node, items):
    try:
        return type(node)(items)
    except TypeError:  # e.g. defaultdict, whose first argument is the factory
        copy = node.copy()
        copy.update(items)
        return copy


def _children(node):
    return [node[k] for k in _keys(node)]


def flatten_with_path(structure):
    """``(path, leaf)`` pairs, a path being the tuple of indices and keys to the leaf."""
    out = []

    def walk(node, path):
        if is_nested(node):
            for k in _keys(node):
                walk(node[k], path + (k,))
        else:
            out.append((path, node))

    walk(structure, ())
    return out


def lists_to_tuples(structure):
    """The structure with every list turned into a tuple."""
    if not is_nested(structure):
        return structure
    children = [lists_to_tuples(c) for c in _children(structure)]
    if isinstance(structure, list):
        return tuple(children)
    return _rebuild(structure, children)


def traverse(func, structure, top_down=True):
    """Calls ``func`` on every sub-tree and leaf, depth first (parents first when
    ``top_down``). A result that is not None replaces that sub-tree (top-down, the
    traversal then does not enter it); return ``MAP_TO_NONE`` to replace it with None.

    >>> seen = []
    >>> jg.keras.tree.traverse(seen.append, [(1, 2), [3]])
    [(1, 2), [3]]
    >>> seen
    [[(1, 2), [3]], (1, 2), 1, 2, [3], 3]
    """
    if not callable(func):
        raise TypeError(f"traverse: func must be callable, got {func!r}")

    def result(value, default):
        if value is None:
            return default
        return None if value is MAP_TO_NONE else value

    def walk(node):
        if top_down:
            value = func(node)
            if value is not None:
                return result(value, node)
            if not is_nested(node):
                return node
            return _rebuild(node, [walk(c) for c in _children(node)])
        if is_nested(node):
            node = _rebuild(node, [walk(c) for c in _children(node)])
        return result(func(node), node)

    return walk(structure)


__all__ = ["MAP_TO_NONE", "assert_same_structure", "flatten", "flatten_with_path",
           "is_nested", "lists_to_tuples", "map_structure", "pack_sequence_as", "traverse"]
