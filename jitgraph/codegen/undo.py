"""Failed calls leave variables as they were: which steps of a Program may write a variable,
which may fail, and whether a call needs a snapshot of the variables it writes.

A failed check (an index out of range, an ``assert``, ...) stores its status and the call
runs on. The entry point returns early before each step that may write a variable once a
status is set (llvm_cpu.EntryEmitter), so variables are written only while every check so
far passed. A check that may run after a variable was written (a write before a gather, a
loop that writes and checks) still needs a snapshot taken before the call and put back on
failure (runtime.Executable); the usual compiled train step, checks first and variable
updates last, needs none.
"""

from . import kernels as K


def _storages(obj):
    out = []
    for v in vars(obj).values():
        if isinstance(v, K.Storage):
            out.append(v)
        elif isinstance(v, (list, tuple)):
            out.extend(x for x in v if isinstance(x, K.Storage))
    return out


def writes_variable(step):
    """Whether ``step`` may store into a variable's buffer (calls: conservatively yes)."""
    kind = step[0]
    if kind == "kernel":
        k = step[1]
        stores = list(k.stores) + ([] if type(k) is K.Kernel else _storages(k))
        return any(s.kind == "var" for s in stores)
    if kind == "copy":
        return step[2].kind == "var"
    if kind in ("cond", "while"):
        return any(writes_variable(s) for s in _children(step))
    return True


def may_fail(step):
    """Whether ``step`` may set a status (calls and kernels other than plain maps and
    reductions: conservatively yes)."""
    from .ptx import has_guard

    kind = step[0]
    if kind == "kernel":
        k = step[1]
        return type(k) is not K.Kernel or k.siblings or has_guard(k)
    if kind == "copy":
        return False
    if kind in ("cond", "while"):
        return any(may_fail(s) for s in _children(step))
    return True


def _children(step):
    if step[0] == "cond":
        return list(step[2]) + list(step[3])
    return list(step[2]) + list(step[3])  # while: cond steps, body steps


def needs_snapshot(steps):
    """Whether a step that may fail may run after one that may write a variable."""
    written = False
    for step in steps:
        if step[0] == "while" and writes_variable(step) and may_fail(step):
            return True  # a later iteration's check after an earlier one's write
        if written and may_fail(step):
            return True
        if step[0] == "cond" and (needs_snapshot(step[2]) or needs_snapshot(step[3])):
            return True
        written = written or writes_variable(step)
    return False
