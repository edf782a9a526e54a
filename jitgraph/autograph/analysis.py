"""Static analysis of one function scope for the AutoGraph transformer.

``assigned`` (names a block binds), ``reads`` (names it loads), liveness (which names are
still needed after a statement, so only live variables become branch outputs / loop vars)
and definedness (whether a name is surely bound where converted code reads it). Results are
stored on the ``If``/``While``/``For`` nodes as ``_ag_state``, ``_ag_defined``, ``_ag_maybe``.
"""

import ast

_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)
_COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)


def _walk_scope(node):
    """Nodes of ``node`` without descending into nested function/class scopes."""
    if isinstance(node, _SCOPES):
        yield node
        return
    todo = [node]
    while todo:
        n = todo.pop()
        yield n
        for c in ast.iter_child_nodes(n):
            if isinstance(c, _SCOPES):
                yield c  # its name and decorators belong to this scope
                continue
            todo.append(c)


def _target_names(t):
    return {n.id for n in ast.walk(t) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}


def assigned(stmts):
    """Names bound by ``stmts`` in their own scope."""
    out = set()
    for s in stmts:
        for n in _walk_scope(s):
            if isinstance(n, ast.Name) and isinstance(n.ctx, (ast.Store, ast.Del)):
                out.add(n.id)
            elif isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                out.add(n.name)
            elif isinstance(n, (ast.Import, ast.ImportFrom)):
                out.update((a.asname or a.name).split(".")[0] for a in n.names)
            elif isinstance(n, ast.ExceptHandler) and n.name:
                out.add(n.name)
            elif isinstance(n, _COMPREHENSIONS):
                pass
    return out


def reads(node):
    """Names loaded anywhere in ``node`` (nested scopes included: closures read them)."""
    if node is None:
        return set()
    nodes = node if isinstance(node, list) else [node]
    return {n.id for x in nodes for n in ast.walk(x)
            if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}


def closure_reads(fn):
    """Names that user-written nested functions/lambdas of ``fn`` read: they may be read at
    any time, so they are always live."""
    out = set()
    for n in ast.walk(fn):
        if n is not fn and isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            out |= reads(n.body if isinstance(n, ast.Lambda) else n.body)
    return out


def declared(fn, kind):
    """Names declared ``global`` or ``nonlocal`` (``kind``) in ``fn``'s own scope."""
    return {name for s in fn.body for n in _walk_scope(s) if isinstance(n, kind)
            for name in n.names}


# ----------------------------------------------------------------------------- liveness


def live_in(stmts, out):
    """Names live before ``stmts`` given those live after; annotates compound nodes."""
    live = set(out)
    for s in reversed(stmts):
        live = _live_stmt(s, live)
    return live


def _live_stmt(s, out):
    if isinstance(s, ast.If):
        body, orelse = live_in(s.body, out), live_in(s.orelse, out)
        s._ag_live = out | body | orelse
        return reads(s.test) | body | orelse
    if isinstance(s, (ast.While, ast.For)):
        return _live_loop(s, out)
    if isinstance(s, ast.With):
        return reads(s.items and [i.context_expr for i in s.items]) | live_in(s.body, out)
    if isinstance(s, ast.Try):
        inner = list(s.body) + [h for h in s.handlers] + list(s.orelse) + list(s.finalbody)
        for b in (s.body, s.orelse, s.finalbody, *[h.body for h in s.handlers]):
            live_in(b, out | reads(inner))
        return out | reads(inner)
    if isinstance(s, (ast.Return, ast.Raise)):
        return reads(s)
    return (out - assigned([s])) | reads(s)


def _live_loop(s, out):
    extra = getattr(s, "_ag_extra_test", None)
    head_reads = reads(s.test if isinstance(s, ast.While) else None) | reads(extra)
    targets = _target_names(s.target) if isinstance(s, ast.For) else set()
    header = out | head_reads
    while True:
        new = out | head_reads | (live_in(s.body, header) - targets)
        if new == header:
            break
        header = new
    s._ag_live = header
    return header | (reads(s.iter) if isinstance(s, ast.For) else set())


# ----------------------------------------------------------------------------- state


def annotate(fn, always_live, excluded):
    """Computes ``_ag_state`` (the variables a converted if/loop carries) and definedness for
    every compound statement of ``fn``'s body."""
    live_in(fn.body, set())
    _state(fn.body, always_live, excluded)
    params = {a.arg for a in ast.walk(fn.args) if isinstance(a, ast.arg)}
    _defined(fn.body, set(params), set(params))


def _state(stmts, always, excluded):
    for s in stmts:
        if isinstance(s, (ast.If, ast.While, ast.For)):
            mod = assigned(s.body + s.orelse)
            if isinstance(s, ast.For):
                mod |= _target_names(s.target)
            s._ag_state = sorted((mod & (s._ag_live | always)) - excluded)
        for body in _bodies(s):
            _state(body, always, excluded)


def _bodies(s):
    if isinstance(s, _SCOPES):
        return []
    out = [getattr(s, f) for f in ("body", "orelse", "finalbody") if hasattr(s, f)]
    out += [h.body for h in getattr(s, "handlers", [])]
    return [b for b in out if isinstance(b, list)]


def _defined(stmts, defined, maybe):
    """Forward pass over one (converted) scope: ``defined`` names are surely bound."""
    for s in stmts:
        if isinstance(s, (ast.If, ast.While, ast.For)):
            s._ag_defined, s._ag_maybe = set(defined), set(maybe)
            inner = set(s._ag_state)
            if isinstance(s, ast.For):
                inner |= _target_names(s.target)
            for body in _bodies(s):
                _defined(body, set(inner), set(inner))
            defined |= set(s._ag_state)
            maybe |= set(s._ag_state) | assigned([s])
        elif isinstance(s, (ast.With,)):
            _defined(s.body, defined, maybe)
        elif isinstance(s, ast.Try):
            for body in _bodies(s):
                _defined(body, set(defined), maybe)
            maybe |= assigned([s])
        else:
            names = assigned([s])
            defined |= names
            maybe |= names
