"""The AST rewrite: Python control flow -> calls of ``runtime`` helpers (imported as ``ag__``).

One function scope at a time, in this order (each step one concern):
1. expressions: ``a and b`` -> ``ag__.and_(lambda: a, lambda: b)``, ``not``, ``x if c else y``,
   calls -> ``ag__.call(f, ...)`` (so called user functions are converted too);
2. ``return`` inside if/loops -> ``do_return``/``retval_`` flags and one final return;
3. ``break``/``continue`` -> flags guarding the rest of the loop body;
4. liveness + definedness (analysis.py), then ``if``/``while``/``for`` -> generated
   branch/body functions passed to ``ag__.if_stmt``/``while_stmt``/``for_stmt``.
Generated nodes carry the line of the statement they replace, so tracebacks and op
locations point at the user's code.
"""

import ast
import itertools

from . import analysis

AG = "ag__"
_NO_CALL = {"super", "locals", "globals", "vars", "eval", "exec", "dir", "type", "isinstance",
            "print", "id", "hasattr", "getattr", "setattr"}


def _ag(attr):
    return ast.Attribute(ast.Name(AG, ast.Load()), attr, ast.Load())


def _call(attr, *args):
    return ast.Call(_ag(attr), list(args), [])


def _thunk(e):
    return ast.Lambda(ast.arguments([], [], None, [], [], None, []), e)


def _name(n, store=False):
    return ast.Name(n, ast.Store() if store else ast.Load())


def _assign(n, value):
    return ast.Assign([_name(n, True)], value)


def _at(nodes, ref):
    """Gives generated nodes (and their children without a location) the first line of
    ``ref``, the user's statement they replace."""
    for n in nodes:
        for c in ast.walk(n):
            if c is n or ("lineno" in c._attributes and not hasattr(c, "lineno")):
                c.lineno = c.end_lineno = ref.lineno
                c.col_offset, c.end_col_offset = ref.col_offset, ref.col_offset + 1
    return nodes


# ----------------------------------------------------------------------------- 1 expressions


class _Expressions(ast.NodeTransformer):
    def visit_BoolOp(self, node):
        self.generic_visit(node)
        fn = "and_" if isinstance(node.op, ast.And) else "or_"
        return ast.copy_location(_call(fn, *[_thunk(v) for v in node.values]), node)

    def visit_UnaryOp(self, node):
        self.generic_visit(node)
        if isinstance(node.op, ast.Not):
            return ast.copy_location(_call("not_", node.operand), node)
        return node

    def visit_IfExp(self, node):
        self.generic_visit(node)
        return ast.copy_location(
            _call("if_exp", node.test, _thunk(node.body), _thunk(node.orelse)), node)

    def visit_Call(self, node):
        self.generic_visit(node)
        f = node.func
        if isinstance(f, ast.Name) and f.id in _NO_CALL:
            return node
        if isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) and f.value.id == AG:
            return node
        return ast.copy_location(ast.Call(_ag("call"), [f] + node.args, node.keywords), node)


# ----------------------------------------------------------------------------- 2/3 jumps


def _contains(stmts, kinds, into_loops):
    todo = list(stmts)
    while todo:
        n = todo.pop()
        if isinstance(n, kinds):
            return True
        if isinstance(n, analysis._SCOPES) or (not into_loops and isinstance(n, (ast.While,
                                                                                 ast.For))):
            continue
        todo.extend(c for c in ast.iter_child_nodes(n) if isinstance(c, ast.stmt))
        for f in ("body", "orelse", "finalbody", "handlers"):
            todo.extend(getattr(n, f, []) if isinstance(getattr(n, f, None), list) else [])
    return False


class _Jumps:
    """Lowers jump statements in one block: ``replace(stmt)`` gives the flag assignments;
    the rest of a block after a jump that may have happened is guarded (or moved into the
    ``else`` of an ``if`` whose body always jumps)."""

    def __init__(self, kinds, replace, flag, into_loops):
        self.kinds, self.replace, self.flag, self.into_loops = kinds, replace, flag, into_loops

    def block(self, stmts, in_loop=False):
        """-> (new statements, 'never' | 'maybe' | 'always')."""
        out = []
        for i, s in enumerate(stmts):
            rest = stmts[i + 1:]
            if isinstance(s, self.kinds):
                return out + _at(self.replace(s, in_loop), s), "always"
            if not _contains([s], self.kinds, self.into_loops):
                out.append(s)
                continue
            if isinstance(s, ast.If):
                return self._if(s, rest, out, in_loop)
            if isinstance(s, (ast.While, ast.For)):
                s.body, _ = self.block(s.body, in_loop=True)
            else:
                for f in ("body", "orelse", "finalbody"):
                    if getattr(s, f, None):
                        setattr(s, f, self.block(getattr(s, f), in_loop)[0] or [ast.Pass()])
            out.append(s)
            return out + self._guard(rest, s, in_loop), "maybe"
        return out, "never"

    def _if(self, s, rest, out, in_loop):
        body, sb = self.block(s.body, in_loop)
        orelse, so = self.block(s.orelse, in_loop)
        if sb == "always" and so != "always":
            orelse, so = self.block(s.orelse + rest, in_loop)
            rest = []
        elif so == "always" and sb != "always":
            body, sb = self.block(s.body + rest, in_loop)
            rest = []
        s.body, s.orelse = body or [ast.Pass()], orelse
        out.append(s)
        if sb == so == "always":
            return out, "always"
        guarded = self._guard(rest, s, in_loop)
        return out + guarded, "maybe" if (rest or sb != "never" or so != "never") else "never"

    def _guard(self, rest, ref, in_loop):
        if not rest:
            return []
        body, _ = self.block(rest, in_loop)
        if self.flag == "do_return" and in_loop:
            g = ast.If(_name(self.flag), [ast.Break()], body)
        else:
            g = ast.If(_call("not_", _name(self.flag)), body, [])
        return _at([g], ref)


def lower_returns(fn, names):
    """``return`` inside control flow -> ``do_return``/``retval_`` flags."""
    inner = [s for s in fn.body[:-1]] + (
        [fn.body[-1]] if not isinstance(fn.body[-1], ast.Return) else [])
    if not _contains([s for s in inner if not isinstance(s, ast.Return)], ast.Return, True):
        return
    flag, rv = names.fresh("do_return"), names.fresh("retval_")

    def replace(s, in_loop):
        value = s.value if s.value is not None else ast.Constant(None)
        out = [_assign(flag, ast.Constant(True)), _assign(rv, value)]
        return out + ([ast.Break()] if in_loop else [])

    jumps = _Jumps(ast.Return, replace, flag, True)
    body, _ = jumps.block(fn.body)
    head = _at([_assign(flag, ast.Constant(False)),
                _assign(rv, _call("UndefinedReturnValue", ast.Constant(rv)))], fn.body[0])
    tail = _at([ast.Return(_call("retval", _name(rv)))], fn.body[-1])
    fn.body = head + body + tail


def lower_loops(stmts, names):
    """``break``/``continue`` -> flags, innermost loops first; ``else:`` of loops too."""
    out = []
    for s in stmts:
        for f in ("body", "orelse", "finalbody"):
            if isinstance(getattr(s, f, None), list) and not isinstance(s, analysis._SCOPES):
                setattr(s, f, lower_loops(getattr(s, f), names))
        for h in getattr(s, "handlers", []):
            h.body = lower_loops(h.body, names)
        out.extend(_lower_loop(s, names) if isinstance(s, (ast.While, ast.For)) else [s])
    return out


def _flag_jumps(kind, flag):
    return _Jumps(kind, lambda s, in_loop: [_assign(flag, ast.Constant(True))], flag, False)


def _lower_loop(s, names):
    before, after = [], list(s.orelse)
    s.orelse = []
    if _contains(s.body, ast.Continue, False):
        flag = names.fresh("continue_")
        body, _ = _flag_jumps(ast.Continue, flag).block(s.body)
        s.body = _at([_assign(flag, ast.Constant(False))], s.body[0]) + body
    if _contains(s.body, ast.Break, False):
        flag = names.fresh("break_")
        s.body, _ = _flag_jumps(ast.Break, flag).block(s.body)
        before = _at([_assign(flag, ast.Constant(False))], s)
        not_broken = _call("not_", _name(flag))
        if isinstance(s, ast.While):
            s.test = _at([_call("and_", _thunk(not_broken), _thunk(s.test))], s)[0]
        else:
            s._ag_extra_test = _at([not_broken], s)[0]
        if after:
            after = _at([ast.If(_call("not_", _name(flag)), after, [])], s)
    return before + [s] + after


# ----------------------------------------------------------------------------- 4 control flow


class _Names:
    def __init__(self, fn):
        self.taken = {n.id for n in ast.walk(fn) if isinstance(n, ast.Name)}
        self.taken |= {a.arg for a in ast.walk(fn) if isinstance(a, ast.arg)}
        self.count = itertools.count(1)

    def fresh(self, base):
        name = base
        while name in self.taken:
            name = f"{base}{next(self.count)}"
        self.taken.add(name)
        return name


class _Control:
    def __init__(self, names, globals_, nonlocals):
        self.names, self.globals, self.nonlocals = names, globals_, nonlocals

    def block(self, stmts):
        out = []
        for s in stmts:
            conv = {ast.If: self._if, ast.While: self._while, ast.For: self._for}.get(type(s))
            if conv is not None:
                out.extend(_at(conv(s), s))
                continue
            if not isinstance(s, analysis._SCOPES):
                for f in ("body", "orelse", "finalbody"):
                    if isinstance(getattr(s, f, None), list):
                        setattr(s, f, self.block(getattr(s, f)))
                for h in getattr(s, "handlers", []):
                    h.body = self.block(h.body)
            out.append(s)
        return out

    def _load(self, s, n):
        if n in s._ag_defined:
            return _name(n)
        if n not in s._ag_maybe:
            return _call("Undefined", ast.Constant(n))
        return _call("ld", ast.Call(_name("locals"), [], []), ast.Constant(n))

    def _def(self, name, params, body, returns):
        decl = []
        bound = analysis.assigned(body)
        for kind, names in ((ast.Global, self.globals), (ast.Nonlocal, self.nonlocals)):
            if bound & names:
                decl.append(kind(sorted(bound & names)))
        ret = ast.Return(ast.Tuple([_name(n) for n in returns], ast.Load()))
        args = ast.arguments([], [ast.arg(p) for p in params], None, [], [], None, [])
        return ast.FunctionDef(name, args, decl + (body or []) + [ret], [], None)

    def _state_args(self, s):
        state = s._ag_state
        loads = ast.Tuple([self._load(s, n) for n in state], ast.Load())
        names = ast.Tuple([ast.Constant(n) for n in state], ast.Load())
        return state, loads, names

    def _bind(self, state, call):
        if not state:
            return ast.Expr(call)
        return ast.Assign([ast.Tuple([_name(n, True) for n in state], ast.Store())], call)

    def _if(self, s):
        state, loads, names = self._state_args(s)
        t, f = self.names.fresh("if_true"), self.names.fresh("if_false")
        body = self._def(t, state, self.block(s.body), state)
        orelse = self._def(f, state, self.block(s.orelse), state)
        call = _call("if_stmt", s.test, _name(t), _name(f), loads, names)
        return [body, orelse, self._bind(state, call)]

    def _while(self, s):
        state, loads, names = self._state_args(s)
        t, b = self.names.fresh("loop_test"), self.names.fresh("loop_body")
        test = ast.FunctionDef(t, ast.arguments([], [ast.arg(p) for p in state], None, [], [],
                                                None, []), [ast.Return(s.test)], [], None)
        body = self._def(b, state, self.block(s.body), state)
        call = _call("while_stmt", _name(t), _name(b), loads, names)
        return [test, body, self._bind(state, call)]

    def _for(self, s):
        state, loads, names = self._state_args(s)
        b = self.names.fresh("loop_body")
        pre, out = [], []
        if isinstance(s.target, ast.Name) and s.target.id not in state:
            item = s.target.id
        else:
            item = self.names.fresh("itr")
            pre = _at([ast.Assign([s.target], _name(item))], s)
        body = self._def(b, [item] + state, pre + self.block(s.body), state)
        extra = getattr(s, "_ag_extra_test", None)
        test = ast.Constant(None)
        if extra is not None:
            t = self.names.fresh("loop_test")
            out.append(ast.FunctionDef(t, ast.arguments([], [ast.arg(p) for p in state], None,
                                                        [], [], None, []),
                                       [ast.Return(extra)], [], None))
            test = _name(t)
        call = _call("for_stmt", s.iter, test, _name(b), loads, names)
        return out + [body, self._bind(state, call)]


# ----------------------------------------------------------------------------- driver


def _scope_defs(fn):
    """Nested function definitions of ``fn`` (not inside further nested ones)."""
    return [n for s in fn.body for n in analysis._walk_scope(s) if isinstance(n, ast.FunctionDef)]


def _convert_scope(fn):
    for inner in _scope_defs(fn):
        _convert_scope(inner)
    if not fn.body:
        return
    names = _Names(fn)
    lower_returns(fn, names)
    fn.body = lower_loops(fn.body, names)
    globals_ = analysis.declared(fn, ast.Global)
    nonlocals = analysis.declared(fn, ast.Nonlocal)
    analysis.annotate(fn, fn._ag_closure_reads, globals_ | nonlocals)
    fn.body = _Control(names, globals_, nonlocals).block(fn.body)


def transform(fn):
    """Converts the FunctionDef ``fn`` in place (decorators removed) and returns it."""
    fn.decorator_list = []
    for n in ast.walk(fn):
        if isinstance(n, ast.FunctionDef):
            n._ag_closure_reads = analysis.closure_reads(n)
    _Expressions().visit(fn)
    _convert_scope(fn)
    ast.fix_missing_locations(fn)
    return fn
