"""keras.ops.rearrange: einops patterns (``"b (h p) w c -> b h (p w c)"``) as one reshape that
splits the grouped input axes, one transpose, and one reshape that merges the output groups.
Sizes must be known when tracing; ``...`` and repeated or anonymous axes are not supported.

>>> ops.rearrange(images, "b (h h1) (w w1) c -> b h w (c h1 w1)", h1=2, w1=2)
"""

import re

import numpy as np

import jitgraph as jg

from ._common import static_shape, tensor

_TOKEN = re.compile(r"\(|\)|[A-Za-z_][A-Za-z0-9_]*|\S")


def _parse(side, pattern):
    """``"b (h w) c"`` -> [["b"], ["h", "w"], ["c"]]."""
    groups, current = [], None
    for tok in _TOKEN.findall(side):
        if tok == "(":
            if current is not None:
                raise _error(pattern, "nested parentheses")
            current = []
        elif tok == ")":
            if current is None:
                raise _error(pattern, "an unmatched ')'")
            groups.append(current)
            current = None
        elif tok.isidentifier():
            if current is None:
                groups.append([tok])
            else:
                current.append(tok)
        else:
            raise _error(pattern, f"{tok!r} (only axis names and parentheses are supported; "
                                  "write out the axes instead of '...' or numbers)")
    if current is not None:
        raise _error(pattern, "an unclosed '('")
    return groups


def _error(pattern, what):
    return jg.errors.UnimplementedError(
        f"jg.keras.ops.rearrange: pattern {pattern!r} has {what}")


def rearrange(tensor_, pattern, **axes_lengths):
    x = tensor(tensor_)
    if "->" not in pattern:
        raise jg.errors.InvalidArgumentError(
            f"jg.keras.ops.rearrange: pattern {pattern!r} needs '->' between input and output")
    left_s, right_s = pattern.split("->")
    left, right = _parse(left_s, pattern), _parse(right_s, pattern)
    shape = static_shape(x, "rearrange")
    if len(left) != len(shape):
        raise jg.errors.InvalidArgumentError(
            f"jg.keras.ops.rearrange: pattern {pattern!r} names {len(left)} input axes but the "
            f"tensor has shape {list(shape)}")
    names_l = [a for g in left for a in g]
    names_r = [a for g in right for a in g]
    if sorted(names_l) != sorted(names_r) or len(set(names_l)) != len(names_l):
        raise jg.errors.InvalidArgumentError(
            f"jg.keras.ops.rearrange: pattern {pattern!r} must use each axis name once on "
            "each side")
    sizes = {}
    for group, size in zip(left, shape):
        known = [axes_lengths[a] for a in group if a in axes_lengths]
        unknown = [a for a in group if a not in axes_lengths]
        rest = size // int(np.prod(known)) if known else size
        if len(unknown) > 1 or (not unknown and int(np.prod(known)) != size) \
                or (unknown and rest * int(np.prod(known)) != size):
            raise jg.errors.InvalidArgumentError(
                f"jg.keras.ops.rearrange: cannot split an axis of size {size} into {group} "
                f"with {axes_lengths}; give all but one of their lengths, dividing {size}")
        for a in group:
            sizes[a] = axes_lengths.get(a, rest)
    x = jg.reshape(x, [sizes[a] for a in names_l])
    x = jg.transpose(x, [names_l.index(a) for a in names_r])
    return jg.reshape(x, [int(np.prod([sizes[a] for a in g])) for g in right])
