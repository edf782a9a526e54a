"""AutoGraph: rewrites Python control flow on tensors into ``cond``/``while_loop`` calls.

``convert(fn)`` parses ``fn``'s source, rewrites ``if``/``while``/``for``/``break``/
``continue``/``return``/``and``/``or``/``not``/conditional expressions into calls of the
helpers in ``runtime.py`` (transformer.py), compiles the result under the original file name
and line numbers, and rebuilds the function around the original globals and closure cells.
At run time the helpers keep Python semantics for Python values and eager tensors and emit
graph control flow for symbolic tensors. ``to_code(fn)`` shows the converted source.
"""

import ast
import inspect
import os
import sysconfig
import textwrap
import types
import warnings
import weakref

from . import runtime, transformer

_PKG = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_LIB_DIRS = tuple(sorted({os.path.realpath(p) for k in ("stdlib", "platstdlib", "purelib",
                                                        "platlib")
                          if (p := sysconfig.get_paths().get(k))}))
_LIBRARIES = {"jitgraph", "numpy", "scipy", "llvmlite", "pytest", "hypothesis", "builtins"}

_by_function = weakref.WeakKeyDictionary()   # function -> converted function
_by_code = {}                                # code object -> (converted code, source) or None


def convert(fn):
    """Returns the AutoGraph-converted version of ``fn`` (cached per function; ``fn`` itself
    for library code, non-Python callables and functions whose source is unavailable).

    >>> def f(x):
    ...     return x if x > 0 else -x
    >>> convert(f)(-2)
    2
    """
    if isinstance(fn, types.MethodType):
        conv = convert(fn.__func__)
        return fn if conv is fn.__func__ else types.MethodType(conv, fn.__self__)
    if not isinstance(fn, (types.FunctionType, type)) and callable(fn):
        call = next((c.__dict__["__call__"] for c in type(fn).__mro__  # a callable object
                     if "__call__" in c.__dict__), None)
        if isinstance(call, types.FunctionType):
            conv = convert(call)
            return fn if conv is call else types.MethodType(conv, fn)
    if not isinstance(fn, types.FunctionType) or getattr(fn, "__ag_converted__", False):
        return fn
    try:
        return _by_function[fn]
    except KeyError:
        pass
    conv = _convert_function(fn) if _is_user_code(fn) else fn
    _by_function[fn] = conv
    return conv


def to_code(fn):
    """The converted source of ``fn`` as a string.

    >>> print(to_code(f))  # doctest: +SKIP
    def f(x):
        return ag__.if_exp(ag__.call(...), lambda: x, lambda: -x)
    """
    fn = getattr(fn, "python_function", fn)
    fn = getattr(fn, "__func__", fn)
    entry = _converted_code(fn)
    if entry is None:
        raise ValueError(f"cannot convert {fn!r}: its Python source is not available")
    return entry[1]


def _is_user_code(fn):
    mod = (getattr(fn, "__module__", None) or "").split(".")[0]
    if mod in _LIBRARIES:
        return False
    code = fn.__code__
    if code.co_flags & (inspect.CO_GENERATOR | inspect.CO_COROUTINE | inspect.CO_ASYNC_GENERATOR):
        return False
    path = os.path.realpath(code.co_filename)
    if code.co_filename.startswith("<") or path.startswith(_PKG + os.sep):
        return False
    return not path.startswith(_LIB_DIRS)


def _convert_function(fn):
    entry = _converted_code(fn)
    if entry is None:
        return fn
    code = entry[0]
    cells = dict(zip(fn.__code__.co_freevars, fn.__closure__ or (), strict=True))
    cells["ag__"] = types.CellType(runtime)
    new = types.FunctionType(code, fn.__globals__, fn.__name__, fn.__defaults__,
                             tuple(cells[n] for n in code.co_freevars))
    new.__kwdefaults__ = fn.__kwdefaults__
    new.__dict__.update(fn.__dict__)
    for attr in ("__doc__", "__qualname__", "__module__", "__annotations__"):
        setattr(new, attr, getattr(fn, attr))
    new.__ag_converted__ = True
    new.__wrapped__ = fn
    return new


def _converted_code(fn):
    code = fn.__code__
    if code not in _by_code:
        try:
            node = _parse(fn)
        except (OSError, TypeError, SyntaxError):
            node = None
        _by_code[code] = None if node is None else _compile(fn, node)
    return _by_code[code]


def _parse(fn):
    """The FunctionDef of ``fn`` with the line numbers of its file (lambdas become defs)."""
    lines, first = inspect.getsourcelines(fn)
    src = textwrap.dedent("".join(lines))
    if fn.__name__ == "<lambda>":
        node = _find_lambda(src, fn, first)
        ret = ast.copy_location(ast.Return(node.body), node.body)
        node = ast.copy_location(ast.FunctionDef(
            "lambda_", node.args, [ret], [], None), node)
    else:
        tree = ast.parse(src)
        node = next(n for n in tree.body if isinstance(n, ast.FunctionDef))
    ast.increment_lineno(node, first - 1)
    return node


def _find_lambda(src, fn, first):
    """The Lambda node for ``fn`` in a source fragment that may not parse on its own.

    Several lambdas may share the fragment (``[lambda x: f(x), lambda x: g(x)]``): the one
    whose line and compiled code match ``fn``'s is chosen; an ambiguous match is not
    converted (SyntaxError), so the original lambda runs unchanged."""
    code = fn.__code__
    want = list(code.co_varnames[:code.co_argcount])
    found = []
    start = 0
    while (i := src.find("lambda", start)) >= 0:
        start = i + 1
        line = src.count("\n", 0, i)
        if first + line != code.co_firstlineno:
            continue
        for j in range(len(src), i, -1):
            try:
                expr = ast.parse("(" + src[i:j] + ")", mode="eval").body
            except SyntaxError:
                continue
            if not isinstance(expr, ast.Lambda):
                continue  # `lambda: a).f(lambda: b` parses as a call: look shorter
            if [a.arg for a in expr.args.args] == want:
                ast.increment_lineno(expr, line)
                found.append(expr)
            break
    if len(found) > 1:
        found = [e for e in found if _same_code(e, code)]
    if len(found) != 1:
        raise SyntaxError("lambda source not found or ambiguous")
    return found[0]


def _same_code(expr, code):
    try:
        c = compile(ast.Expression(ast.fix_missing_locations(ast.Lambda(expr.args, expr.body))),
                    "<lambda>", "eval")
    except (SyntaxError, ValueError, TypeError):
        return False
    lam = next(k for k in c.co_consts if hasattr(k, "co_code"))
    return lam.co_code == code.co_code and lam.co_names == code.co_names


def _compile(fn, node):
    try:
        node = transformer.transform(node)
        source = ast.unparse(node)
        free = ["ag__"] + [n for n in fn.__code__.co_freevars if n != "ag__"]
        factory = ast.FunctionDef(
            "__ag_factory", ast.arguments([], [ast.arg(n) for n in free], None, [], [], None,
                                          []),
            [node, ast.Return(ast.Name(node.name, ast.Load()))], [], None)
        ast.copy_location(factory, node)
        mod = ast.fix_missing_locations(ast.Module([factory], []))
        code = compile(mod, fn.__code__.co_filename, "exec")
    except Exception as e:  # a construct the converter does not handle: run it unconverted
        warnings.warn(f"AutoGraph could not convert {fn.__qualname__}: {e}; it runs as "
                      "plain Python (tensor-dependent control flow in it will fail)",
                      stacklevel=4)
        return None
    fcode = next(c for c in code.co_consts if isinstance(c, types.CodeType))
    inner = next(c for c in fcode.co_consts if isinstance(c, types.CodeType)
                 and c.co_name == node.name)
    return inner, source


def do_not_convert(func=None):
    """Decorator: ``func`` runs as plain Python inside jg.functions (AutoGraph leaves it and
    its control flow unconverted).

    >>> @jg.autograph.experimental.do_not_convert
    ... def helper(x): ...
    """
    if func is None:
        return do_not_convert

    import functools

    @functools.wraps(func)
    def plain(*args, **kwargs):
        return func(*args, **kwargs)

    plain.__ag_converted__ = True  # convert() returns it as it is
    return plain


experimental = types.SimpleNamespace(do_not_convert=do_not_convert)

__all__ = ["convert", "to_code", "do_not_convert", "experimental"]
