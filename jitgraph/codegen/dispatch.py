"""The native dispatcher: a builtin function that checks the arguments, allocates the outputs,
calls a compiled entry point and wraps the results in Tensors, without running Python code.

``jg.function`` calls through Python: the trace-cache key, the Executable's argument checks,
the ctypes call and one ``Tensor`` per output cost ~2.5 us for ``x + 1`` on a scalar. For a
function's hot signature this module makes that one C-level call instead: a METH_FASTCALL
builtin (``PyCFunction_NewEx``) whose code is one generic LLVM function compiled once per
process, driven by a *spec*, a uint64 NumPy array with everything one executable needs:

    word 0..22   counts, the entry point, its static table and params, the type objects,
                 field offsets and the C-API function pointers (all taken from this process
                 through ctypes, so the code has no external symbols)
    IN + 18*i    input i: the dtype object, ndim, dims[8], C-contiguous strides[8]
    OUT + 2*j    output j: an allocator and its argument tuple (``np.empty`` or the output
                 pool, codegen/outputs.py)
    VARS + k     variable k (read-only ones: its current array is ``var._value``)

An argument is accepted when it is an ``ndarray`` or a ``jg.Tensor`` (its ``_value``) of
exactly the dtype, shape and strides the executable was compiled for. Anything else, and a
non-zero status from the native code, returns ``None`` (``MISS``): the caller then takes
the general path, which converts, re-checks and raises the errors users see. Only
executables that assign no variable and have no callbacks, loop stacks or unknown dims,
with at most 8 arguments, outputs and variables together, get a dispatcher (``eligible``).

    d = dispatch.make(executable, single_output=True)
    r = d(x)            # a Tensor, or None
"""

import ctypes

import llvmlite.binding as llvm
import llvmlite.ir as ir
import numpy as np

from . import outputs

MISS = None  # returned when the arguments do not match (or the call failed)

MAX_ARGS = 8  # inputs + outputs: one call site per arity
MAX_RANK = 8
IN, IN_STRIDE = 24, 2 + 2 * MAX_RANK
_HEADER = ("n_in", "n_out", "entry", "static", "params", "ndarray", "tensor", "slot",
           "flags_off", "writeable", "miss", "call", "incref", "decref", "alloc", "tuple_new",
           "tuple_set", "single", "out_at", "n_vars", "vars_at", "getattr", "attr")
W = {name: i for i, name in enumerate(_HEADER)}

# PyArrayObject_fields: PyObject_HEAD, data, nd (int), dimensions, strides, base, descr,
# flags (int). The entry point itself reads ``data`` (codegen/loops.py DATA_OFFSET).
_ND, _DIMS, _STRIDES, _DESCR, _FLAGS = 24, 32, 40, 56, 64
_WRITEABLE = 0x0400  # NPY_ARRAY_WRITEABLE

I8, I32, I64 = ir.IntType(8), ir.IntType(32), ir.IntType(64)
P = I8.as_pointer()
PP = P.as_pointer()

_code = None  # (engine, address of the METH_FASTCALL function)
_VALUE = "_value"  # the attribute of a Variable holding its array


class _Spec(np.ndarray):
    """The spec array; ``keep`` holds what its words point to (the executable, the
    allocators, the PyMethodDef), so the builtin, which owns the spec, keeps them alive."""


class _MethodDef(ctypes.Structure):
    _fields_ = [("ml_name", ctypes.c_char_p), ("ml_meth", ctypes.c_void_p),
                ("ml_flags", ctypes.c_int), ("ml_doc", ctypes.c_char_p)]


_METH_FASTCALL = 0x0080


class _Ctx:
    """What loops.for_range needs: the builder and the function."""

    def __init__(self, b, fn):
        self.b, self.fn = b, fn


def _build_ir():
    """``PyObject *dispatch(PyObject *spec_array, PyObject *const *args, Py_ssize_t n)``."""
    from .loops import for_range

    m = ir.Module(name="jitgraph_dispatch")
    f = ir.Function(m, ir.FunctionType(P, [P, PP, I64]), name="dispatch")
    spec_obj, args, nargs = f.args
    b = ir.IRBuilder(f.append_basic_block("entry"))
    ctx = _Ctx(b, f)
    zero, one = ir.Constant(I64, 0), ir.Constant(I64, 1)

    def field(obj, off, ty):
        p = b.gep(obj, [off if isinstance(off, ir.Value) else ir.Constant(I64, off)])
        return b.load(b.bitcast(p, ty.as_pointer()))

    spec = b.bitcast(field(spec_obj, 16, P), I64.as_pointer())

    def word(i):
        return b.load(b.gep(spec, [i if isinstance(i, ir.Value) else ir.Constant(I64, i)]))

    def fnptr(name, ret, argtys):
        return b.inttoptr(word(W[name]), ir.FunctionType(ret, argtys).as_pointer())

    def is_null(v):
        return b.icmp_unsigned("==", b.ptrtoint(v, I64), zero)

    def check(ok, name, fail):
        """Continues in a new block when ``ok``, else branches to ``fail``."""
        cont = f.append_basic_block(name)
        b.cbranch(ok, cont, fail)
        b.position_at_end(cont)

    n_in, n_out = word(W["n_in"]), word(W["n_out"])
    arrs = b.alloca(P, MAX_ARGS)
    miss_bb = f.append_basic_block("miss")
    null_bb = f.append_basic_block("null")
    decref = fnptr("decref", ir.VoidType(), [P])

    def output(k):
        return b.load(b.gep(arrs, [b.add(n_in, k)]))

    def release(start, end, first=None):
        """Decrefs arrs[first + start .. first + end - 1]; ``first`` defaults to the outputs'."""
        first = n_in if first is None else first
        for_range(ctx, start, end,
                  lambda k: b.call(decref, [b.load(b.gep(arrs, [b.add(first, k)]))]),
                  "release")

    # ---- inputs: exact type (a Tensor's array), dtype object, shape and strides
    check(b.icmp_signed("==", nargs, n_in), "args", miss_bb)

    def check_input(i):
        obj = b.load(b.gep(args, [i]))
        is_tensor = b.icmp_unsigned("==", field(obj, 8, I64), word(W["tensor"]))
        from_bb = b.block
        unwrap_bb, have_bb = f.append_basic_block("unwrap"), f.append_basic_block("have")
        b.cbranch(is_tensor, unwrap_bb, have_bb)
        b.position_at_end(unwrap_bb)
        inner = field(obj, word(W["slot"]), P)
        b.branch(have_bb)
        b.position_at_end(have_bb)
        arr = b.phi(P)
        arr.add_incoming(obj, from_bb)
        arr.add_incoming(inner, unwrap_bb)
        check(b.icmp_unsigned("!=", b.ptrtoint(arr, I64), zero), "not_null", miss_bb)
        base = b.add(ir.Constant(I64, IN), b.mul(i, ir.Constant(I64, IN_STRIDE)))
        ndim = word(b.add(base, one))
        good = b.icmp_unsigned("==", field(arr, 8, I64), word(W["ndarray"]))
        good = b.and_(good, b.icmp_unsigned("==", field(arr, _DESCR, I64), word(base)))
        good = b.and_(good, b.icmp_signed("==", b.sext(field(arr, _ND, I32), I64), ndim))
        check(good, "array", miss_bb)
        dims = b.bitcast(field(arr, _DIMS, P), I64.as_pointer())
        strides = b.bitcast(field(arr, _STRIDES, P), I64.as_pointer())

        def check_dim(d):
            w_dim = b.add(b.add(base, ir.Constant(I64, 2)), d)
            w_str = b.add(w_dim, ir.Constant(I64, MAX_RANK))
            same = b.and_(b.icmp_signed("==", b.load(b.gep(dims, [d])), word(w_dim)),
                          b.icmp_signed("==", b.load(b.gep(strides, [d])), word(w_str)))
            check(same, "dim_ok", miss_bb)

        for_range(ctx, zero, ndim, check_dim, "dim")
        b.store(arr, b.gep(arrs, [i]))

    for_range(ctx, zero, n_in, check_input, "input")

    # ---- outputs: call the allocator of each; one that raises leaves NULL and its error
    call = fnptr("call", P, [P, P, P])
    out_at = word(W["out_at"])
    made = b.alloca(I64)

    def allocate(j):
        w = b.add(out_at, b.mul(j, ir.Constant(I64, 2)))
        o = b.call(call, [b.inttoptr(word(w), P), b.inttoptr(word(b.add(w, one)), P),
                          ir.Constant(P, None)])
        b.store(j, made)
        fail = f.append_basic_block("alloc_failed")
        ok = f.append_basic_block("allocated")
        b.cbranch(is_null(o), fail, ok)
        b.position_at_end(fail)
        release(zero, b.load(made))
        b.branch(null_bb)
        b.position_at_end(ok)
        b.store(o, b.gep(arrs, [b.add(n_in, j)]))

    for_range(ctx, zero, n_out, allocate, "output")

    # ---- variables (read-only ones only): their current arrays, ``var._value``
    n_vars, vars_at = word(W["n_vars"]), word(W["vars_at"])
    var_first = b.add(n_in, n_out)
    getattr_ = fnptr("getattr", P, [P, P])
    attr = b.inttoptr(word(W["attr"]), P)
    got = b.alloca(I64)

    def read_variable(k):
        b.store(k, got)
        v = b.call(getattr_, [b.inttoptr(word(b.add(vars_at, k)), P), attr])
        fail, ok = f.append_basic_block("var_failed"), f.append_basic_block("var_read")
        b.cbranch(is_null(v), fail, ok)
        b.position_at_end(fail)
        release(zero, n_out)
        release(zero, b.load(got), var_first)
        b.branch(null_bb)
        b.position_at_end(ok)
        b.store(v, b.gep(arrs, [b.add(var_first, k)]))
        is_array = b.icmp_unsigned("==", field(v, 8, I64), word(W["ndarray"]))
        not_array, var_ok = f.append_basic_block("var_not_array"), f.append_basic_block("var_ok")
        b.cbranch(is_array, var_ok, not_array)
        b.position_at_end(not_array)  # (a Variable always holds one; the Python path decides)
        release(zero, n_out)
        release(zero, b.add(b.load(got), one), var_first)
        b.branch(miss_bb)
        b.position_at_end(var_ok)

    for_range(ctx, zero, n_vars, read_variable, "variable")

    # ---- the native call, one call site per arity
    static, params = b.inttoptr(word(W["static"]), P), b.inttoptr(word(W["params"]), P)
    called = f.append_basic_block("called")
    sw = b.switch(b.add(var_first, n_vars), miss_bb)
    rcs = []
    for k in range(1, MAX_ARGS + 1):
        bb = f.append_basic_block(f"arity{k}")
        sw.add_case(ir.Constant(I64, k), bb)
        b.position_at_end(bb)
        ent = b.inttoptr(word(W["entry"]), ir.FunctionType(I32, [P, P] + [P] * k).as_pointer())
        rc = b.call(ent, [static, params] + [b.load(b.gep(arrs, [ir.Constant(I64, a)]))
                                             for a in range(k)])
        rcs.append((rc, b.block))
        b.branch(called)
    b.position_at_end(called)
    rc = b.phi(I32)
    for v, bb in rcs:
        rc.add_incoming(v, bb)
    failed_bb = f.append_basic_block("failed")
    release(zero, n_vars, var_first)
    check(b.icmp_signed("==", rc, ir.Constant(I32, 0)), "wrap", failed_bb)

    # ---- wrap: each output array in a Tensor (tp_alloc, then the slot; read-only like
    # Tensor.__init__ makes it)
    talloc = fnptr("alloc", P, [P, I64])
    tensor_type = b.inttoptr(word(W["tensor"]), P)
    wrap_fail = f.append_basic_block("wrap_fail")

    def wrap(arr, fail):
        t = b.call(talloc, [tensor_type, zero])
        check(b.icmp_unsigned("!=", b.ptrtoint(t, I64), zero), "tensor", fail)
        flags_p = b.bitcast(b.gep(arr, [word(W["flags_off"])]), I32.as_pointer())
        mask = b.trunc(word(W["writeable"]), I32)
        b.store(b.and_(b.load(flags_p), b.not_(mask)), flags_p)
        b.store(arr, b.bitcast(b.gep(t, [word(W["slot"])]), PP))
        return t

    one_bb, many_bb = f.append_basic_block("one"), f.append_basic_block("many")
    b.cbranch(b.icmp_unsigned("!=", word(W["single"]), zero), one_bb, many_bb)
    b.position_at_end(one_bb)
    b.ret(wrap(output(zero), wrap_fail))

    b.position_at_end(many_bb)
    tup = b.call(fnptr("tuple_new", P, [I64]), [n_out])
    check(b.icmp_unsigned("!=", b.ptrtoint(tup, I64), zero), "tuple", wrap_fail)
    tuple_set = fnptr("tuple_set", I32, [P, I64, P])
    done = b.alloca(I64)
    t_fail = f.append_basic_block("tuple_item_failed")

    def wrap_item(q):
        b.store(q, done)
        b.call(tuple_set, [tup, q, wrap(output(q), t_fail)])  # steals the Tensor

    for_range(ctx, zero, n_out, wrap_item, "item")
    b.ret(tup)

    # a failed Tensor allocation in the tuple: the tuple owns the outputs before it
    b.position_at_end(t_fail)
    b.call(decref, [tup])
    release(b.load(done), n_out)
    b.branch(null_bb)

    b.position_at_end(wrap_fail)
    release(zero, n_out)
    b.branch(null_bb)
    # the native code failed: release the outputs; the Python path runs it again and raises
    b.position_at_end(failed_bb)
    release(zero, n_out)
    b.branch(miss_bb)

    # ---- miss: the sentinel (a new reference); null: the error is set
    b.position_at_end(miss_bb)
    miss = b.inttoptr(word(W["miss"]), P)
    b.call(fnptr("incref", ir.VoidType(), [P]), [miss])
    b.ret(miss)
    b.position_at_end(null_bb)
    b.ret(ir.Constant(P, None))
    return m


def _compiled():
    global _code
    if _code is None:
        from .llvm_cpu import target_machine

        mod = llvm.parse_assembly(str(_build_ir()))
        mod.verify()
        engine = llvm.create_mcjit_compiler(mod, target_machine())
        engine.finalize_object()
        _code = (engine, engine.get_function_address("dispatch"))
    return _code


def _api(name):
    return ctypes.cast(getattr(ctypes.pythonapi, name), ctypes.c_void_p).value


_probe = None


def _slot_offset(tensor_type):
    """Byte offset of Tensor's ``_value`` slot, found by writing a marker into it."""
    global _probe
    if _probe is None:
        marker = object()
        t = tensor_type.__new__(tensor_type)
        t._value = marker
        words = (ctypes.c_uint64 * (tensor_type.__basicsize__ // 8)).from_address(id(t))
        offs = [8 * k for k, w in enumerate(words) if w == id(marker)]
        if len(offs) != 1:
            raise RuntimeError("cannot locate Tensor._value")
        arr = np.zeros(1)
        flags = ctypes.c_int.from_address(id(arr) + _FLAGS).value
        if flags != arr.flags.num or ctypes.c_void_p.from_address(
                id(arr) + _DESCR).value != id(arr.dtype):
            raise RuntimeError("unexpected ndarray layout")
        _probe = offs[0]
    return _probe


def eligible(exe):
    """Whether ``exe`` (a codegen.runtime.Executable) can get a native dispatcher."""
    return (not exe._dyn and not any(exe._writes) and exe._callback is None and
            exe._alloc is None
            and 0 < len(exe._specs) + len(exe._out_dtypes) + len(exe._vars) <= MAX_ARGS
            and all(len(shape) <= MAX_RANK and strides is not None
                    for _, shape, strides in exe._specs))


def make(exe, single_output):
    """A builtin ``f(*args) -> Tensor | tuple of Tensors | None`` for ``exe``; ``single_output``
    says whether the function returns one Tensor (else a tuple of every output, in order)."""
    from ..tensor import Tensor

    if not eligible(exe):
        raise ValueError("executable not eligible for native dispatch")
    _, addr = _compiled()
    n_in, n_out = len(exe._specs), len(exe._out_dtypes)
    keep = []  # objects the spec points to
    spec = np.zeros(IN + IN_STRIDE * n_in + 2 * n_out + len(exe._vars), np.uint64).view(_Spec)
    for name, v in (("n_in", n_in), ("n_out", n_out), ("entry", exe.native.address),
                    ("static", exe._static_addr), ("params", exe._plan0.params_addr or 0),
                    ("ndarray", id(np.ndarray)), ("tensor", id(Tensor)),
                    ("slot", _slot_offset(Tensor)), ("flags_off", _FLAGS),
                    ("writeable", _WRITEABLE), ("miss", id(None)),
                    ("call", _api("PyObject_Call")), ("incref", _api("Py_IncRef")),
                    ("decref", _api("Py_DecRef")), ("alloc", _api("PyType_GenericAlloc")),
                    ("tuple_new", _api("PyTuple_New")), ("tuple_set", _api("PyTuple_SetItem")),
                    ("single", int(bool(single_output))),
                    ("out_at", IN + IN_STRIDE * n_in), ("n_vars", len(exe._vars)),
                    ("vars_at", IN + IN_STRIDE * n_in + 2 * n_out),
                    ("getattr", _api("PyObject_GetAttr")), ("attr", id(_VALUE))):
        spec[W[name]] = v
    for i, (dt, shape, strides) in enumerate(exe._specs):
        base = IN + IN_STRIDE * i
        spec[base] = id(dt)
        spec[base + 1] = len(shape)
        for d, (n, s) in enumerate(zip(shape, strides)):
            spec[base + 2 + d] = n
            spec[base + 2 + MAX_RANK + d] = s
        keep.append(dt)
    for j, dt in enumerate(exe._out_dtypes):
        fn, targs = outputs.allocator(exe._plan0.out_shapes[j], dt)
        keep += [fn, targs]
        spec[IN + IN_STRIDE * n_in + 2 * j] = id(fn)
        spec[IN + IN_STRIDE * n_in + 2 * j + 1] = id(targs)
    for k, var in enumerate(exe._vars):
        spec[IN + IN_STRIDE * n_in + 2 * n_out + k] = id(var)
        keep.append(var)
    md = _MethodDef(b"jitgraph_dispatch", addr, _METH_FASTCALL, None)
    spec.keep = (exe, keep, md)
    new = ctypes.pythonapi.PyCFunction_NewEx
    new.restype = ctypes.py_object
    new.argtypes = [ctypes.c_void_p, ctypes.py_object, ctypes.py_object]
    return new(ctypes.addressof(md), spec, None)


__all__ = ["make", "eligible", "MISS"]
