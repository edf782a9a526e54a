"""The dispatcher: argument check -> plan lookup -> one native call.

The entry point is called through a ctypes ``PYFUNCTYPE`` whose arguments are the arrays
themselves (``py_object``: passed as bare pointers, no conversion); the native code reads
their data pointers. Measured on this machine: the bare ctypes call is ~0.45 us, against
~1 us for one ``ndarray.ctypes.data`` lookup, so the dispatcher never asks ctypes for an
address. The GIL stays held during the call (the arena is shared by calls of one
Executable); the native code runs its own threads for large kernels.

A *plan* holds what depends on the sizes of the graph's ``None`` dims: the ``params``
array (dims, strides, arena offsets), the output shapes and the arena size. Plans are
cached by those sizes, so a steady-state call with known sizes computes nothing.
"""

import ctypes

import numpy as np

from .. import errors
from ..ops.core import REGISTRY, Type, fmt_shape
from . import kernels as K
from . import outputs, undo
from .kernels import Env

# ops whose kernels check their values (op type -> message; codegen/linalg_kernels.py):
# a failed check raises InvalidArgumentError, like a failed assert
# op type -> what its failed value check means (kernels.expr_of_subgraph, linalg_kernels)
CHECKED_OPS = {"pow": "integers to negative integer powers are not allowed; cast to float"}
STATUS_MESSAGES = {
    1: "gather: an index is out of range",
    2: "pow: integers to negative integer powers are not allowed; cast to float",
    3: "stack_read/stack_write: a row index is out of range for the loop stack",
    4: "stack_alloc: the number of rows is negative or the rows do not fit in memory",
}
ALLOC_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_void_p, ctypes.c_int64)


def _c_strides(shape, itemsize):
    if any(d is None for d in shape):
        return None
    out, acc = [], itemsize
    for d in reversed(shape):
        out.append(acc)
        acc *= max(d, 1)
    return tuple(reversed(out))


class Plan:
    __slots__ = ("params", "params_addr", "out_shapes", "arena_bytes", "shapes")


def infer_shapes(graph, shapes):
    """Concrete shapes of every Value (sub-graphs included) given those of the inputs;
    ``shapes`` (Value -> tuple) is filled in and returned."""
    for op in graph.ops:
        if op.type == "placeholder":
            continue
        if op.type == "constant":
            shapes[op.outputs[0]] = op.attrs["value"].shape
            continue
        if op.type == "fusion":
            sub = op.subgraphs[0]
            for ph, v in zip(sub.inputs, op.inputs):
                shapes[ph] = shapes[v]
            infer_shapes(sub, shapes)
            shapes[op.outputs[0]] = shapes[sub.outputs[0]]
            continue
        if op.type == "cond":
            for sg in op.subgraphs:
                infer_shapes(sg, shapes)
            then, other = op.subgraphs
            for k, (v, a, b) in enumerate(zip(op.outputs, then.outputs, other.outputs)):
                if shapes[a] != shapes[b]:
                    raise _dynamic_shape(op, f"output {k} of its branches is "
                                         f"{fmt_shape(shapes[a])} in one and "
                                         f"{fmt_shape(shapes[b])} in the other")
                shapes[v] = shapes[a]
            continue
        if op.type == "while_loop":
            for sg in op.subgraphs:
                for ph, v in zip(sg.inputs, op.inputs):
                    shapes[ph] = shapes[v]
                infer_shapes(sg, shapes)
            # shapes depend on shapes only: the same after one iteration, the same after all
            for k, (v, r) in enumerate(zip(op.inputs, op.subgraphs[1].outputs)):
                if shapes[v] != shapes[r]:
                    raise _dynamic_shape(op, f"loop var {k} is {fmt_shape(shapes[v])} before "
                                         f"the loop and {fmt_shape(shapes[r])} after one "
                                         "iteration")
            for v, i in zip(op.outputs, op.inputs):
                shapes[v] = shapes[i]
            continue
        if op.type == "range" and op.attrs.get("size") is None:
            vals = [v.op.attrs["value"] for v in op.inputs]  # constants (checked when lowered)
            shapes[op.outputs[0]] = (len(np.arange(*[x.item() for x in vals])),)
            continue
        types = [Type(v.dtype, shapes[v]) for v in op.inputs]
        try:
            out = REGISTRY[op.type].infer(types, **op.attrs)
        except errors.InvalidArgumentError as e:
            raise type(e)(errors.at_op_line(str(e), op.loc)) from None
        out = out if isinstance(out, list) else [out]
        for v, t in zip(op.outputs, out):
            shapes[v] = tuple(t.shape)
    return shapes


def status_message(program, code):
    """The error text for status ``code`` of ``program``'s native code."""
    from .lower import FIRST_INDEX_CODE

    ops = getattr(program, "index_ops", ())
    if FIRST_INDEX_CODE <= code < FIRST_INDEX_CODE + len(ops):
        op = ops[code - FIRST_INDEX_CODE]
        where = f" ({errors.format_location(op.loc)})" if op.loc else ""
        if op.type == "assert":  # codegen/check_ops.py; the message names the line
            return op.attrs["message"]
        if op.type in CHECKED_OPS:
            return f"{op.type}{where}: {CHECKED_OPS[op.type]}"
        inputs = ", ".join(f"{v.dtype.name}{fmt_shape(v.shape)}" for v in op.inputs)
        return (f"{op.type}{where}: an index is out of range for the tensor it indexes "
                f"(inputs {inputs}); indices must lie in [0, size) of their dimension")
    return STATUS_MESSAGES.get(int(code), f"native error code {code}")


def status_error(program, code):
    """The exception for status ``code``: ``InvalidArgumentError`` for a failed ``assert``
    op, ``OutOfRangeError`` for the other checks."""
    from .lower import FIRST_INDEX_CODE

    ops = getattr(program, "index_ops", ())
    i = int(code) - FIRST_INDEX_CODE
    failed_assert = 0 <= i < len(ops) and (ops[i].type == "assert"
                                           or ops[i].type in CHECKED_OPS)
    cls = errors.InvalidArgumentError if failed_assert else errors.OutOfRangeError
    return cls(status_message(program, code))


def _dynamic_shape(op, what):
    where = f" ({errors.format_location(op.loc)})" if op.loc else ""
    return errors.UnimplementedError(
        f"{op.type}{where}: {what}; the cpu backend needs shapes that follow from the "
        "argument shapes alone. Give both branches / every iteration the same shape (pad or "
        "slice), or use backend='interpreter' for this function")


class Executable:
    """A compiled graph: ``run(list_of_arrays) -> list_of_arrays`` (fresh outputs)."""

    def __init__(self, graph, fused, program, native, static_values, qs, checks, llvm_ir=""):
        self.graph, self.fused, self.program = graph, fused, program
        self.native, self.qs, self.checks = native, qs, checks
        self.llvm_ir = llvm_ir
        n_py = len(graph.inputs) + len(graph.outputs) + len(graph.variables)
        ftype = ctypes.PYFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p,
                                  *([ctypes.py_object] * n_py))
        self._fn = ftype(native.address)
        self._static_values = static_values  # arrays the static table points into
        self._static = (ctypes.c_void_p * max(len(static_values), 1))()
        for i, a in enumerate(static_values):
            self._static[i] = a.ctypes.data if a is not None else None
        self._static_addr = ctypes.addressof(self._static)
        self._arena = None
        self._shapes = {}
        self._callback = None
        if getattr(program, "prints", None):
            from .io_ops import make_callback

            self._callback = make_callback(program, program.layout, program.static_index,
                                           lambda: self._shapes)
            self._static[program.static_index(K.Storage("ext", 0))] = ctypes.cast(
                self._callback, ctypes.c_void_p).value
        self._blocks = []  # heap blocks of loop stacks: zeroed arrays, alive during a call
        self._spare = {}  # size -> blocks of earlier calls, zeroed again for reuse
        self._alloc = None
        if program.heaps:
            self._alloc = ALLOC_CALLBACK(self._new_block)
            self._static[program.static_index(K.Storage("ext", 1))] = ctypes.cast(
                self._alloc, ctypes.c_void_p).value
        self._arena_slot = program.arena_slot
        self._inputs = [(v.op.name, v.dtype.np, tuple(v.shape)) for v in graph.inputs]
        self._dyn = [(i, d) for i, v in enumerate(graph.inputs)
                     for d, n in enumerate(v.shape) if n is None]
        self._out_dtypes = [v.dtype.np for v in graph.outputs]
        self._vars = list(graph.variables)
        self._writes = [id(v) in program.assigned for v in self._vars]
        # a failed call leaves the variables it writes as they were: the entry point writes
        # none after a failed check; a snapshot covers checks after writes (codegen/undo.py)
        self._undo = [v for v, w in zip(self._vars, self._writes) if w] \
            if undo.needs_snapshot(program.steps) else []
        self._undo_bufs = [None] * len(self._undo)
        self._plans = {}
        self._plan0 = None
        if not self._dyn:
            self._plan0 = self._plans[()] = self._make_plan([], static=True)
        # fast-path signature: (dtype, shape, C-contiguous strides); unknown dims never match
        self._specs = [(np.dtype(dt), shape, _c_strides(shape, np.dtype(dt).itemsize))
                       for _, dt, shape in self._inputs]
        self._specialize()

    # -- plans
    def _make_plan(self, args, static=False):
        if static:
            shapes = {v: v.shape for v in self.fused.inputs}
        else:
            shapes = {v: a.shape for v, a in zip(self.fused.inputs, args)}
        infer_shapes(self.fused, shapes)
        env = Env(shapes)
        for check in self.checks:
            check(env)
        plan = Plan()
        plan.params = self.qs.evaluate(env)
        plan.params_addr = plan.params.ctypes.data if plan.params.size else None
        plan.out_shapes = [tuple(shapes[v]) for v in self.fused.outputs]
        plan.arena_bytes = self.program.arena_total(env)
        plan.shapes = shapes
        self._ensure_arena(plan.arena_bytes)
        return plan

    def _ensure_arena(self, nbytes):
        if self._arena is None or self._arena.size < nbytes + 64:
            self._arena = np.empty(nbytes + 128, np.uint8)
            addr = self._arena.ctypes.data
            self._static[self._arena_slot] = (addr + 63) // 64 * 64

    # -- calls
    def _check(self, args):
        if len(args) != len(self._inputs):
            raise errors.InvalidArgumentError(
                f"{self.graph.name} takes {len(self._inputs)} arguments, got {len(args)}")
        out = list(args)
        for i, ((name, dt, shape), a) in enumerate(zip(self._inputs, args)):
            if type(a) is not np.ndarray:
                a = np.asarray(a)
            if a.dtype != dt:
                raise errors.InvalidArgumentError(
                    f"argument {name!r}: expected dtype {dt.name}, got {a.dtype.name}")
            if len(a.shape) != len(shape) or any(
                    s is not None and s != d for s, d in zip(shape, a.shape)):
                raise errors.InvalidArgumentError(
                    f"argument {name!r}: expected shape {fmt_shape(shape)}, got "
                    f"{fmt_shape(a.shape)}")
            if not a.flags.c_contiguous:
                a = np.ascontiguousarray(a)
            out[i] = a
        return out

    def _specialize(self):
        """An instance ``run`` for the steady state: one straight-line function for this
        graph's arguments, outputs and variables (no loops, no zips; with ``None`` dims one
        dict lookup of the plan for the sizes seen); anything unusual (other dtypes, shapes,
        strides, new sizes) goes to the general ``run``. Generated as source text because
        that is what makes it straight-line."""
        if self._callback is not None:
            return
        n_in = len(self._specs)
        ins = [f"a{i}" for i in range(n_in)]
        env = {"slow": self._run, "alloc": outputs.empty, "nd": np.ndarray, "fn": self._fn,
               "static": self._static_addr, "blocks": self._blocks, "keep": self._keep_blocks,
               "fail": self._fail,
               "plans": self._plans}
        types, shapes = [], []
        for i, (dt, shape, strides) in enumerate(self._specs):
            env[f"dt{i}"] = dt
            types.append(f"type(a{i}) is not nd or a{i}.dtype is not dt{i}")
            if strides is not None:
                env[f"sh{i}"], env[f"st{i}"] = shape, strides
                shapes.append(f"a{i}.shape != sh{i} or a{i}.strides != st{i}")
                continue
            dims = [str(d) if d is not None else f"s{i}[{k}]" for k, d in enumerate(shape)]
            want = ", ".join("*".join([str(dt.itemsize)] + dims[k + 1:])
                             for k in range(len(dims)))
            shapes.append(f"len(s{i}) != {len(shape)} or " + "".join(
                f"s{i}[{k}] != {d} or " for k, d in enumerate(shape) if d is not None) +
                f"a{i}.strides != ({want},)")
        lines = ["def run(args):", f"    if len(args) != {n_in}:", "        return slow(args)"]
        if ins:
            lines += [f"    {', '.join(ins)}, = args", f"    if {' or '.join(types)}:",
                      "        return slow(args)"]
            lines += [f"    s{i} = a{i}.shape" for i in range(n_in)]
            lines += [f"    if {' or '.join(shapes)}:", "        return slow(args)"]
        if self._dyn:
            key = ", ".join(f"s{i}[{d}]" for i, d in self._dyn)
            lines += [f"    plan = plans.get(({key},))", "    if plan is None:",
                      "        return slow(args)", "    osh = plan.out_shapes"]
            params = "plan.params_addr"
        else:
            env["osh"], env["params"] = self._plan0.out_shapes, self._plan0.params_addr
            params = "params"
        outs = []
        for j, dt in enumerate(self._out_dtypes):
            env[f"odt{j}"] = dt
            outs.append(f"o{j}")
            if self._dyn:
                lines.append(f"    o{j} = alloc(osh[{j}], odt{j})")
            else:  # pool or np.empty, decided now
                env[f"new{j}"], env[f"new_args{j}"] = outputs.allocator(
                    self._plan0.out_shapes[j], dt)
                lines.append(f"    o{j} = new{j}(*new_args{j})")
        var_args = []
        for k, (v, w) in enumerate(zip(self._vars, self._writes)):
            env[f"v{k}"] = v
            var_args.append(f"v{k}._buffer_for_write()" if w else f"v{k}._value")
        if self._undo:
            env["snapshot"] = self._snapshot
            lines.append("    saved = snapshot()")
        lines.append(f"    rc = fn(static, {params}, {', '.join(ins + outs + var_args)})")
        lines += ["    if blocks:", "        keep()", "    if rc:",
                  "        fail(rc, saved)" if self._undo else "        fail(rc)",
                  f"    return [{', '.join(outs)}]"]
        exec(compile("\n".join(lines), f"<jitgraph dispatcher {self.graph.name}>", "exec"),
             env)
        self.run = env["run"]

    def run(self, args):
        """Runs the compiled graph; ``args`` in graph.inputs order."""
        return self._run(args)

    def _run(self, args):
        specs = self._specs
        if len(args) == len(specs):
            for (dt, shape, strides), a in zip(specs, args):
                if type(a) is not np.ndarray or a.dtype is not dt or a.shape != shape or \
                        a.strides != strides:
                    args = self._check(args)
                    break
        else:
            args = self._check(args)
        if self._dyn:
            key = tuple([args[i].shape[d] for i, d in self._dyn])
            plan = self._plans.get(key)
            if plan is None:
                plan = self._plans[key] = self._make_plan(args)
        else:
            plan = self._plan0
        outs = [outputs.empty(s, d) for s, d in zip(plan.out_shapes, self._out_dtypes)]
        if self._callback is not None:
            self._shapes = plan.shapes
        saved = self._snapshot() if self._undo else None
        if self._vars:
            rc = self._fn(self._static_addr, plan.params_addr, *args, *outs,
                          *[v._buffer_for_write() if w else v._value
                            for v, w in zip(self._vars, self._writes)])
        else:
            rc = self._fn(self._static_addr, plan.params_addr, *args, *outs)
        if self._blocks:
            self._keep_blocks()
        if rc:
            self._fail(rc, saved)
        return outs

    def _snapshot(self):
        """Copies of the written variables, into buffers kept between calls (a fresh large
        array each call would cost its page faults every time)."""
        bufs = self._undo_bufs
        for k, v in enumerate(self._undo):
            b, a = bufs[k], v._value
            if b is None or b.shape != a.shape:
                b = bufs[k] = np.empty_like(a)
            np.copyto(b, a)
        return bufs

    def _fail(self, rc, saved=None):
        if saved is not None:
            for k, v in enumerate(self._undo):
                v._value, saved[k] = saved[k], None  # the buffer now belongs to v
        raise status_error(self.program, rc)

    __call__ = run

    def _new_block(self, nbytes):
        """The stack allocation callback: a zeroed block alive until the call returns (no
        stack outlives a call: they are never function results), or NULL. Blocks of the
        previous call are reused (zeroed again): a fresh large block costs a page fault per
        page touched, each call, while memset streams through pages already mapped."""
        size = max(int(nbytes), 1) + 63
        spare = self._spare.get(size)
        if spare:
            a = spare.pop()
            a.fill(0)
        else:
            try:
                a = np.zeros(size, np.uint8)
            except (MemoryError, ValueError):
                return None
        self._blocks.append(a)
        return (a.ctypes.data + 63) // 64 * 64

    def _keep_blocks(self):
        """After a call: its blocks become the spares of the next (at most SPARE_BYTES)."""
        self._spare, kept = {}, 0
        for a in self._blocks:
            if kept + a.nbytes <= SPARE_BYTES:
                self._spare.setdefault(a.nbytes, []).append(a)
                kept += a.nbytes
        self._blocks.clear()


SPARE_BYTES = 1 << 28  # loop-stack blocks an Executable keeps between calls


__all__ = ["Executable", "infer_shapes", "Plan", "STATUS_MESSAGES", "status_message",
           "status_error"]
