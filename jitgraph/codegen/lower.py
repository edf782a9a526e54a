"""Lowering a fused graph to a Program: where every Value lives (``Storage``) and the steps
the entry point runs (kernels, copies, BLAS calls, cond/while with nested steps).

Steps (tuples, emitted by llvm_cpu.py):
  ("kernel", Kernel)
  ("copy", src Storage, dst Storage, nbytes)
  ("matmul", MatmulCall)
  ("cond", pred Storage, [then steps], [else steps])
  ("while", pred Storage, [cond steps], [body steps], max_iter | None)

Storage: graph inputs, outputs and variables are the caller's arrays ('arg', 'out', 'var');
constants are arrays the Executable keeps ('const'); intermediates live in one arena at
offsets buffers.py plans ('arena'). View ops (reshape, expand/squeeze) share their input's
storage. A variable that the graph assigns is read into an arena copy, so every read sees
the value at its point in program order; assigns copy into the variable's own array.
"""

from dataclasses import dataclass

from ..errors import CompileError
from ..ops.core import REGISTRY
from . import kernels as K

VIEW_OPS = {"reshape", "reshape_like", "expand_squeeze"}
HANDLE_BYTES = 16  # a loop stack's storage: (i8* rows, i64 number of rows)
FIRST_INDEX_CODE = 16  # status codes from here on: an index check of one op failed


@dataclass(eq=False)
class MatmulCall:
    a: K.Storage
    b: K.Storage
    out: K.Storage
    dtype: object
    m: object
    n: object
    k: object
    transpose_a: bool
    transpose_b: bool
    batch: object  # number of matrices in the output
    a_batch_stride: object  # elements; 0 when broadcast
    b_batch_stride: object
    batch_index: list  # [(a_stride, b_stride, size) per output batch dim] for broadcasting


class Program:
    """A lowered graph: ``steps``, ``storage`` (Value -> Storage), slot lists, quantities."""

    def __init__(self, graph, qs):
        self.row_kernels = False  # lower row fusions as one kernel (else one per phase)
        self.graph = graph
        self.qs = qs
        self.storage = {}
        self.steps = []
        self.consts = []  # arrays for 'const' slots
        self.variables = list(graph.variables)
        self.assigned = set()  # ids of Variables the graph writes
        self.arena = []  # arena Storages in creation order
        self.kernels = []
        self.ops_of = {}  # Storage -> producing op (for liveness)
        self.final_copies = []
        self.n_status = 1
        self.stack_values = set()  # Values that are loop stacks (held as handles)
        self.stack_uses, self.shared_stacks = {}, set()
        self.index_ops = []  # op of status code FIRST_INDEX_CODE + i
        self.heaps = []  # 'ext' storages of the heap blocks stack_alloc (re)allocates

    def new_arena(self):
        s = K.Storage("arena", len(self.arena))
        self.arena.append(s)
        return s


class Lowerer:
    def __init__(self, program):
        self.p = program
        self.qs = program.qs

    # -- storage
    def st(self, v):
        s = self.p.storage.get(v)
        if s is None:
            raise CompileError(f"internal: no storage for {v.ref} ({v.type})")
        return s

    def fresh(self, v):
        j = self.p.out_claims.get(v)
        if j is not None:
            s = self.p.storage[v] = K.Storage("out", j)
            return s
        s = self.p.new_arena()
        s.size = self.nbytes(v)
        self.p.storage[v] = s
        return s

    def nbytes(self, v):
        """Bytes of ``v``'s storage: a loop stack (stack_ops.py) is a fixed-size handle."""
        return HANDLE_BYTES if v in self.p.stack_values else self.qs.nbytes(v)

    def index_code(self, op):
        """A status code of its own for the index checks (Guard) of ``op``, so the error
        names the op and the user's line (runtime.status_message)."""
        code = FIRST_INDEX_CODE + len(self.p.index_ops)
        self.p.index_ops.append(op)
        return code

    def graph(self, g, steps):
        for op in g.ops:
            if op.type == "placeholder":
                continue
            rule = LOWER.get(op.type)
            if rule is None:
                od = REGISTRY.get(op.type)
                rule = KIND_RULES.get(od.kind) if od is not None else None
            if rule is None:
                raise K.unimplemented(op)
            rule(self, op, steps)

    def copy(self, steps, src_v, dst):
        src = self.st(src_v)
        if src is not dst:
            steps.append(("copy", src, dst, self.nbytes(src_v)))


# ----------------------------------------------------------------------------- rules


def _constant(lw, op, steps):
    lw.p.storage[op.outputs[0]] = K.Storage("const", len(lw.p.consts))
    lw.p.consts.append(op.attrs["value"])


def _read_variable(lw, op, steps):
    var = op.attrs["var"]
    j = next(i for i, v in enumerate(lw.p.variables) if v is var)
    src = K.Storage("var", j)
    if id(var) in lw.p.assigned:
        dst = lw.fresh(op.outputs[0])
        steps.append(("copy", src, dst, lw.qs.nbytes(op.outputs[0])))
    else:
        lw.p.storage[op.outputs[0]] = src


def _assign_variable(lw, op, steps):
    var = op.attrs["var"]
    j = next(i for i, v in enumerate(lw.p.variables) if v is var)
    lw.copy(steps, op.inputs[0], K.Storage("var", j))


def _view(lw, op, steps):
    lw.p.storage[op.outputs[0]] = lw.st(op.inputs[0])


def _fusion(lw, op, steps):
    if op.outputs[0] in lw.p.stack_values:
        from .stack_ops import lower_stack_map

        return lower_stack_map(lw, op, steps)
    if op.attrs["kind"] == "row":
        from .rows import lower_row

        return lower_row(lw, op, steps)
    sub = op.subgraphs[0]
    out = op.outputs[0]
    dst = lw.fresh(out)
    root = sub.outputs[0].op
    space, axes, comb = sub.outputs[0], (), None
    if op.attrs["kind"] == "reduce":
        # a reduction over no axes (reduce_sum of a scalar, axis=()) is the identity map
        # of its input: the kernel iterates over the input and stores it, like a loop kernel
        space, axes = root.inputs[0], tuple(root.attrs["axis"])
        comb = REGISTRY[root.type].lower if axes else None
    rank = len(space.shape)
    dims = [_space_dim(lw.qs, space, d) for d in range(rank)]
    loads = [K.Load(lw.st(v), v.dtype, K.broadcast_strides(lw.qs, v, rank)) for v in op.inputs]
    vals = K.expr_of_subgraph(sub, loads, lw.qs, rank, gathered=fused_gathers(lw, op, rank),
                              status_code=lw.index_code)
    body = vals[space]
    k = K.Kernel(op.name, dims, body, dst, out.dtype, axes, comb,
                 mean=bool(axes) and root.type == "reduce_mean", loc=op.loc, text=op.name)
    lw.p.kernels.append(k)
    steps.append(("kernel", k))


def fused_gathers(lw, op, rank):
    """For expr_of_subgraph: the indexed Load of a gather fused into fusion ``op`` (its
    params and indices are inputs of ``op``) over a ``rank``-dim iteration space."""
    from .shape_ops import gather_load

    outer = dict(zip(op.subgraphs[0].inputs, op.inputs))
    return lambda g: gather_load(lw, g, outer[g.inputs[0]], outer[g.inputs[1]], rank)


def _space_dim(qs, v, d):
    return qs.dim(v, d)


def _transpose(lw, op, steps):
    x, out = op.inputs[0], op.outputs[0]
    perm = op.attrs["perm"]
    rank = len(perm)
    strides = [lw.qs.q(("cstride", x.uid, p), lambda e, p=p: K.contiguous_stride(e, x, p))
               for p in perm]
    dims = [lw.qs.dim(out, d) for d in range(rank)]
    k = K.Kernel(op.name, dims, K.Load(lw.st(x), x.dtype, strides), lw.fresh(out), out.dtype,
                 loc=op.loc, text=op.name)
    lw.p.kernels.append(k)
    steps.append(("kernel", k))


def _matmul(lw, op, steps):
    from .linalg import lower_matmul

    lower_matmul(lw, op, steps)


def _cond(lw, op, steps):
    outs = [lw.fresh(v) for v in op.outputs]
    branches = []
    for sg in op.subgraphs:
        sub_steps = []
        lw.graph(sg, sub_steps)
        for v, dst in zip(sg.outputs, outs):
            lw.copy(sub_steps, v, dst)
        branches.append(sub_steps)
    steps.append(("cond", lw.st(op.inputs[0]), branches[0], branches[1]))


def _while(lw, op, steps):
    cond_g, body_g = op.subgraphs
    carried = [lw.fresh(v) for v in op.outputs]
    for v, dst in zip(op.inputs, carried):
        if v in lw.p.stack_values and not _stack_sole_use(lw, v, op):
            from .stack_ops import clone

            clone(lw, v, steps, dst)  # the loop writes its stacks in place
        else:
            lw.copy(steps, v, dst)
    for sg in (cond_g, body_g):
        for ph, s in zip(sg.inputs, carried):
            lw.p.storage[ph] = s
    cond_steps, body_steps = [], []
    lw.graph(cond_g, cond_steps)
    lw.graph(body_g, body_steps)
    # results that are loop variables themselves go through temporaries (a swap must not
    # overwrite a value before it is read)
    temps = []
    for i, v in enumerate(body_g.outputs):
        s = lw.st(v)
        if s in carried and s is not carried[i]:
            t = lw.p.new_arena()
            t.size = lw.nbytes(v)
            body_steps.append(("copy", s, t, t.size))
            temps.append((i, t, v))
    temp_of = {i: t for i, t, _ in temps}
    for i, v in enumerate(body_g.outputs):
        if i in temp_of:
            body_steps.append(("copy", temp_of[i], carried[i], temp_of[i].size))
        else:
            lw.copy(body_steps, v, carried[i])
    mx = op.attrs.get("maximum_iterations")
    steps.append(("while", lw.st(cond_g.outputs[0]), cond_steps, body_steps, mx))
    op_temps = lw.p.__dict__.setdefault("loop_temps", {})
    op_temps[id(op)] = [t for _, t, _ in temps]


def _stack_sole_use(lw, v, op):
    from .stack_ops import sole_use

    return sole_use(lw, v, op)


def _kind_unimplemented(lw, op, steps):
    raise K.unimplemented(op)


LOWER = {
    "constant": _constant,
    "read_variable": _read_variable,
    "assign_variable": _assign_variable,
    "fusion": _fusion,
    "transpose": _transpose,
    "matmul": _matmul,
    "cond": _cond,
    "while_loop": _while,
    **{name: _view for name in VIEW_OPS},
}
KIND_RULES = {}


def register_lowering(op_type, rule):
    """Adds ``rule(lowerer, op, steps)`` for ``op_type`` (used by codegen/*_ops modules)."""
    LOWER[op_type] = rule


def written_variables(graph):
    out = set()
    for op in graph.walk():
        if op.type == "assign_variable" or (op.op_def is not None and op.op_def.stateful
                                            and "var" in op.attrs
                                            and op.type != "read_variable"):
            out.add(id(op.attrs["var"]))
    return out


def lower_program(graph, qs, row_kernels=False):
    """Lowers fused root graph ``graph``: storage for every Value and the list of steps.
    ``row_kernels``: a row fusion becomes one RowKernel (the cpu backend) rather than one
    kernel per phase (the cuda backend's kernels)."""
    p = Program(graph, qs)
    p.row_kernels = row_kernels
    p.assigned = written_variables(graph)
    from .stack_ops import find_stacks

    p.stack_values, p.stack_uses = find_stacks(graph)
    p.shared_stacks = _shared_stacks(graph, p.stack_values)
    lw = Lowerer(p)
    for i, v in enumerate(graph.inputs):
        p.storage[v] = K.Storage("arg", i)
    _claim_outputs(p, graph)
    lw.graph(graph, p.steps)
    for j, v in enumerate(graph.outputs):
        dst = K.Storage("out", j)
        src = p.storage[v]
        if src is not dst and not (src.kind == "out" and src.index == j):
            p.steps.append(("copy", src, dst, qs.nbytes(v)))
            p.final_copies.append(v)
    return p


def _shared_stacks(graph, stacks):
    """Stack Values whose block other Values may hold too: results of cond (a branch may
    return a captured stack) and loop vars whose body returns a stack it did not make."""
    made = ("stack_alloc", "stack_write", "fusion")
    out = set()
    for op in graph.walk():
        if op.type == "cond":
            out.update(v for v in op.outputs if v in stacks)
        elif op.type == "while_loop":
            body = op.subgraphs[1]
            for k, r in enumerate(body.outputs):
                if r in stacks and r is not body.inputs[k] and not (
                        r.op is not None and r.op.graph is body and r.op.type in made):
                    out.update((op.outputs[k], body.inputs[k], op.subgraphs[0].inputs[k]))
    return out


# ops whose lowering writes the whole result through Lowerer.fresh (so into the caller's
# output array when the result is a function output)
CLAIMS_OUTPUT = {"fusion", "transpose", "matmul", "random_uniform", "random_normal",
                 "random_truncated_normal", "sort", "top_k"}


def _claim_outputs(p, graph):
    """Root outputs computed by a kernel or BLAS call are written straight into the
    caller's output array: the lowering of that op finds the 'out' storage pre-set."""
    first = {}
    for j, v in enumerate(graph.outputs):
        first.setdefault(v, j)
    p.out_claims = {v: j for v, j in first.items()
                    if v.op is not None and v.op.graph is graph
                    and v.op.type in CLAIMS_OUTPUT}


__all__ = ["Program", "lower_program", "register_lowering", "MatmulCall", "VIEW_OPS"]
