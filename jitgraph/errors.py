"""jitgraph's error classes. Messages name the op, the dtypes/shapes involved, the user's
file:line where known, and what to do."""


class JitgraphError(Exception):
    """Base class of jitgraph's own errors."""


class InvalidArgumentError(JitgraphError, ValueError):
    """An op got arguments it cannot accept (mixed dtypes, bad shapes, bad axes, ...)."""


class OutOfRangeError(InvalidArgumentError):
    """An index or value was outside the valid range (e.g. gather indices)."""


class TracingError(JitgraphError, TypeError):
    """A traced function did something that cannot be expressed in a graph."""


class CompileError(JitgraphError):
    """A backend could not compile a graph."""


class UnimplementedError(JitgraphError, NotImplementedError):
    """An op or feature the chosen backend does not support."""


class InternalError(JitgraphError):
    """A device or runtime failure that is jitgraph's fault, not the input's (e.g. a kernel
    writing outside its buffers on the cuda emulator)."""


class ResourceExhaustedError(JitgraphError):
    """The machine ran out of something the operation needs (memory, threads)."""


def user_location(skip_package=True):
    """(filename, lineno) of the innermost frame outside the jitgraph package, or None."""
    import os
    import sys

    pkg = os.path.dirname(os.path.abspath(__file__))
    f = sys._getframe(1)
    while f is not None:
        fn = f.f_code.co_filename
        if not (skip_package and (fn.startswith(pkg) or fn.startswith("<jitgraph"))) \
                and not fn.startswith("<frozen"):
            return fn, f.f_lineno
        f = f.f_back
    return None


def format_location(loc):
    if not loc:
        return ""
    import os

    return f"{os.path.basename(loc[0])}:{loc[1]}"


def at_user_line(message):
    """Appends ' (file.py:12)' for the user's innermost frame to a message."""
    loc = user_location()
    return f"{message} ({format_location(loc)})" if loc else message


def at_op_line(message, loc):
    """``message`` of an error an op raised while a compiled function ran, naming the op's
    own line ``loc``: a location ``at_user_line`` appended then (the line that called the
    function) is replaced by it."""
    here = user_location()
    if here:
        suffix = f" ({format_location(here)})"
        if message.endswith(suffix):
            message = message[: -len(suffix)]
    where = format_location(loc)
    return f"{message} ({where})" if where and where not in message else message


class NotFoundError(JitgraphError, FileNotFoundError):
    """A file or an entry (a checkpoint, a saved model, a value in them) does not exist."""


class DataLossError(JitgraphError):
    """A file that should hold saved state is corrupt or of another format."""
