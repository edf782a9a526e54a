"""The cuda backend (``backend="cuda"``): the cpu backend's lowered Program, its kernels as
PTX (ptx.py, LLVM's NVPTX target), launched through pycuda (cuda_driver.py).

    exe = backends.get("cuda").compile(graph)     # UnimplementedError without a GPU,
    outs = exe.run([np.ones(3, np.float32)])      # naming the driver / pycuda / device
    print(backends.get("cuda").explain(graph, "ptx"))   # works without a GPU

Pipeline: passes + fusion (the cpu backend's ``fused_graph``) -> ``lower_program`` (the
same steps and kernel IR) -> arena planning -> ptx.build_module -> PTX for the device's
arch -> one CUmodule per compiled graph.

Execution: the host walks the Program's steps: kernels and matmuls are launches on the
default stream, copies are device-to-device memcpys, loop stacks (the state of while_loop
gradients) are device blocks the host allocates per call (cuda_stacks.py), and
``cond``/``while_loop`` run on the host: the predicate (one byte) is copied back and
decides which steps run next (a synchronizing 1-byte read per branch or iteration).
Intermediates live in one device arena per executable (offsets from buffers.py, as on the
cpu); constants are uploaded once; quantities (dims, strides, offsets) live in a per-plan
device array.

``run(arrays)`` keeps the backend contract (NumPy in, fresh NumPy out); ``run_device``
takes and returns DeviceTensors (cuda_device.py: ``device_function``, ``to_device``,
``resident_variables``).

Testing: PTX generation and ptxas assembly in every test run (tests/test_cuda_ptx.py);
this module, cuda_device.py and the kernels' logic through tests/test_cuda_run.py on the
CPU emulator of the device (cuda_emulator.py: the same NVPTX IR with its intrinsics
emulated) in every test run, and on a GPU where there is one (``gpu``, pycuda's
driver). Host calls (``jg.print``, ``jg.summary``) copy their inputs back and run on the
host between launches.
"""

import numpy as np

from .. import backends, errors
from . import cuda_blas, cuda_driver
from . import kernels as K
from . import ptx as P
from .cuda_device import MIRRORS, DeviceTensor
from .cuda_stacks import StackHost, is_stack_call
from .io_ops import is_host_call

STAGES = ("fused", "llvm", "ptx")
DEFAULT_ARCH = "sm_80"  # explain() without a device
MAX_GRID = 65535
THREAD_TARGET = 2048  # threads per multiprocessor a split "thread" reduction aims at
SPLIT_MIN_ROWS = 32  # rows each thread of a split reduction sums at least
MAX_SPLITS = 1024


def is_available():
    """True when ``backend="cuda"`` can run here: an NVIDIA GPU, its driver and pycuda are
    usable, or the emulator is selected (cuda_driver.use, JITGRAPH_CUDA_EMULATOR=1)."""
    return cuda_driver.kind() == "emulator" or not cuda_driver.missing()


# the 128x128 float32 gemm variant (ptx.GEMM_BIG) runs once its tiles number at least
# this many per multiprocessor; fewer would leave multiprocessors idle, where the 64x64
# kernel's four times as many blocks fill them
GEMM_BIG_FILL = 1

class Build:
    """Lowering of a graph for the GPU: Program, quantities, NVPTX module, launches."""

    def __init__(self, graph, module=None, prefix=""):
        from . import _Build, _checks, fused_graph
        from .lower import lower_program

        self.graph = graph
        self.fused = fused_graph(graph)
        shapes = {v: v.shape for op in self.fused.walk() for v in op.outputs}
        self.qs = K.Quantities(K.Env(shapes))
        self.program = lower_program(self.fused, self.qs, row_kernels=True)
        _Build._plan_arena(self)  # the cpu backend's arena planning, reused as is
        self.program.status = K.Storage("status", 0)
        self.checks = _checks(self.program)
        self.module, self.launches = P.build_module(self.program, graph.name, module,
                                                      prefix)

    def ptx(self, arch):
        return P.to_ptx(self.module, arch)


def qeval(x, params):
    """A quantity (int, Param or ("mul", a, b)) as an int for one plan."""
    if isinstance(x, tuple):
        return qeval(x[1], params) * qeval(x[2], params)
    if isinstance(x, K.Param):
        return int(params[x.index])
    return int(x)


class Plan:
    __slots__ = ("params", "params_dev", "out_shapes", "arena_bytes", "grids", "scratch_bytes",
                 "shapes")


class CudaExecutable:
    """A compiled graph on the GPU (see the module docstring)."""

    def __init__(self, graph, build, drv):
        self.graph, self.build, self.drv = graph, build, drv
        self.program = p = build.program
        self.cumodule = drv.load(build)
        self.fns = {}
        for launch in build.launches.values():
            for name in (launch.name, launch.final, launch.big):
                if name:
                    self.fns[name] = drv.function(self.cumodule, name, len(launch.slots) + 2)
        self.sms = drv.multiprocessors()
        self.block = drv.block_threads  # threads per block of map and reduction kernels
        self.consts = [drv.alloc(np.asarray(c).nbytes) for c in p.consts]
        for buf, c in zip(self.consts, p.consts, strict=False):
            drv.htod(buf, np.asarray(c, order="C"))
        self.scratch_size = P.MAX_PARTIALS * 8  # partial results of two-kernel reductions
        self.scratch = drv.alloc(self.scratch_size)
        self.status = drv.alloc(8)
        drv.htod(self.status, np.zeros(2, np.int32))
        self._guarded = any(("status", 0) in la.slots for la in build.launches.values()) \
            or bool(p.heaps)  # stack steps set statuses from the host too
        self.stacks = StackHost(self) if p.heaps else None
        self.arena, self.arena_size = None, -1
        self._inputs = [(v.op.name, v.dtype.np, tuple(v.shape)) for v in graph.inputs]
        self._dyn = any(d is None for _, _, s in self._inputs for d in s)
        self._out_dtypes = [v.dtype.np for v in graph.outputs]
        self._writes = [id(v) in p.assigned for v in graph.variables]
        self._plans = {}

    @property
    def ptx(self):
        """The PTX text of this executable for its device's arch."""
        return self.build.ptx(self.drv.arch())

    # -- plans
    def _plan(self, shapes_in):
        key = tuple(shapes_in) if self._dyn else ()
        plan = self._plans.get(key)
        if plan is None:
            plan = self._plans[key] = self._make_plan(shapes_in)
        return plan

    def _make_plan(self, shapes_in):
        from .runtime import infer_shapes

        shapes = {v: s for v, s in zip(self.build.fused.inputs, shapes_in, strict=False)}
        infer_shapes(self.build.fused, shapes)
        env = K.Env(shapes)
        for check in self.build.checks:
            check(env)
        plan = Plan()
        plan.params = self.build.qs.evaluate(env)
        plan.params_dev = self.drv.alloc(plan.params.nbytes)
        self.drv.htod(plan.params_dev, plan.params)
        plan.out_shapes = [tuple(shapes[v]) for v in self.build.fused.outputs]
        plan.shapes = shapes  # of every value: host calls read theirs
        plan.arena_bytes = self.program.arena_total(env)
        plan.grids = {key: self._grid(launch, plan.params)
                      for key, launch in self.build.launches.items()}
        plan.scratch_bytes = max([g[4] for g in plan.grids.values() if g] + [0])
        return plan

    def _grid(self, launch, params):
        """(grid, block, aux, final, scratch bytes) of a launch for one plan, ``final`` the
        (grid, block) of its second kernel; None when there is no work."""
        work = [qeval(w, params) for w in launch.work]
        cap, bs = self.sms * 32, self.block
        if launch.kind == "gemm":
            m, n, batch = work
            if not (m and n and batch):
                return None
            t, name = P.GEMM_TILE, launch.name
            big = P.GEMM_BIG[0]
            if launch.big and -(-m // big) * -(-n // big) * batch >= self.sms * GEMM_BIG_FILL:
                t, name = big, launch.big  # enough 128x128 tiles to fill the device
            return (((n + t - 1) // t, (m + t - 1) // t, min(batch, MAX_GRID)),
                    (P.GEMM_THREADS, 1, 1), 0, None, 0, name)
        if launch.kind == "stack_row":  # at least one block: it checks the row index
            blocks = max(1, min((work[0] + bs - 1) // bs, cap))
            return (blocks, 1, 1), (bs, 1, 1), 0, None, 0
        if launch.kind == "stack_map":  # sized per call from the stacks' rows
            return None
        if launch.kind == "serial":
            return ((1, 1, 1), (1, 1, 1), 0, None, 0) if work[0] else None
        if launch.kind == "map":
            (total,) = work
            blocks = min((total + bs - 1) // bs, cap)
            return ((blocks, 1, 1), (bs, 1, 1), 0, None, 0) if total else None
        n_out, n_red = work
        if n_out == 0:
            return None
        if launch.kind in ("row", "block"):  # n_out rows of n_red: a warp or a block each
            if n_red <= P.ROW_WARP_MAX:
                warps = bs // 32
                return (min((n_out + warps - 1) // warps, cap), 1, 1), (bs, 1, 1), 0, None, 0
            return (min(n_out, cap * 8), 1, 1), (bs, 1, 1), 1, None, 0
        if launch.kind in ("arg", "scan", "sort"):  # a thread per output row
            return (min((n_out + bs - 1) // bs, cap), 1, 1), (bs, 1, 1), 0, None, 0
        if launch.kind == "thread":
            # few outputs over many rows: split the rows over blockIdx.y until the grid
            # has about THREAD_TARGET threads per multiprocessor, each thread summing at
            # least SPLIT_MIN_ROWS rows
            bx = min((n_out + bs - 1) // bs, cap)
            splits = max(1, min(self.sms * THREAD_TARGET // (bx * bs), n_red // SPLIT_MIN_ROWS,
                                MAX_SPLITS))
            final = ((bx, 1, 1), (bs, 1, 1)) if splits > 1 else None
            return (bx, splits, 1), (bs, 1, 1), splits, final, \
                splits * n_out * 8 if final else 0
        blocks = max(1, min((n_red + bs - 1) // bs, P.MAX_PARTIALS, cap))
        return (blocks, 1, 1), (bs, 1, 1), blocks, ((1, 1, 1), (bs, 1, 1)), blocks * 8

    def _ensure_scratch(self, nbytes):
        if nbytes > self.scratch_size:
            self.scratch = self.drv.alloc(nbytes)
            self.scratch_size = nbytes

    def _ensure_arena(self, nbytes):
        if nbytes > self.arena_size:
            self.arena = self.drv.alloc(nbytes + 256)
            self.arena_size = nbytes

    # -- calls
    def _check(self, args):
        if len(args) != len(self._inputs):
            raise errors.InvalidArgumentError(
                f"{self.graph.name} takes {len(self._inputs)} arguments, got {len(args)}")
        for (name, dt, shape), a in zip(self._inputs, args, strict=False):
            if np.dtype(a.dtype) != dt:
                raise errors.InvalidArgumentError(
                    f"argument {name!r}: expected dtype {dt.name}, got {np.dtype(a.dtype).name}")
            if len(a.shape) != len(shape) or any(
                    s is not None and s != d for s, d in zip(shape, a.shape, strict=False)):
                raise errors.InvalidArgumentError(
                    f"argument {name!r}: expected shape {shape}, got {tuple(a.shape)}")

    def run_device(self, args, outs=None):
        """Runs the graph on DeviceTensors (NumPy arrays are uploaded); returns
        DeviceTensors, left on the device. ``outs``: DeviceTensors of the right shapes
        to write the results into (no allocation per call)."""
        from .cuda_device import to_device

        self._check(args)
        dev = [to_device(a) for a in args]
        plan = self._plan([a.shape for a in dev])
        if outs is None:
            outs = [self._new_out(s, d)
                    for s, d in zip(plan.out_shapes, self._out_dtypes, strict=True)]
        for o, s, d in zip(outs, plan.out_shapes, self._out_dtypes, strict=False):
            if o.shape != s or o.dtype != d:
                raise errors.InvalidArgumentError(
                    f"run_device: an output buffer is {o.dtype.name}{list(o.shape)}, the "
                    f"graph writes {np.dtype(d).name}{list(s)}")
        self._execute(plan, [a.ptr for a in dev], [o.ptr for o in outs])
        return outs

    def _new_out(self, shape, dtype):
        nbytes = int(np.prod(shape, dtype=np.int64)) * np.dtype(dtype).itemsize
        return DeviceTensor(self.drv.alloc(nbytes), shape, dtype)

    def run(self, args):
        """Backend contract: NumPy arrays in, fresh NumPy arrays out."""
        args = [np.asarray(a, order="C") for a in args]
        outs = self.run_device(args)
        return [o.numpy() for o in outs]

    __call__ = run

    def _execute(self, plan, arg_ptrs, out_ptrs):
        self._ensure_arena(plan.arena_bytes)
        self._ensure_scratch(plan.scratch_bytes)
        slots = {("arena", 0): int(self.arena), ("status", 0): int(self.status)}
        for i, p in enumerate(arg_ptrs):
            slots[("arg", i)] = p
        for j, p in enumerate(out_ptrs):
            slots[("out", j)] = p
        for i, c in enumerate(self.consts):
            slots[("const", i)] = int(c)
        for j, var in enumerate(self.graph.variables):
            slots[("var", j)] = MIRRORS.pointer(var, upload=True)
        try:
            self._steps(self.program.steps, slots, plan)
        finally:
            if self.stacks is not None:
                self.stacks.release()
        if self._guarded:
            self._check_status()
        if not MIRRORS.resident:
            for var, w in zip(self.graph.variables, self._writes, strict=False):
                if w:
                    MIRRORS.write_back(var)

    def _check_status(self):
        from .runtime import status_error

        code = self.drv.dtoh(np.zeros(1, np.int32), int(self.status))[0]
        if code:
            self.drv.htod(self.status, np.zeros(2, np.int32))
            raise status_error(self.program, int(code))

    # -- steps (host side of the Program)
    def _steps(self, steps, slots, plan):
        for step in steps:
            getattr(self, "_step_" + step[0])(step, slots, plan)

    def _addr(self, storage, slots, plan):
        base = slots[P.slot_key(storage)]
        if storage.kind == "arena":
            base += qeval(storage.offset, plan.params)
        return base

    def _launch(self, name, launch, cfg, slots, plan):
        grid, block, aux = cfg[:3]
        args = [slots[key] for key in launch.slots] + [int(plan.params_dev),
                                                        int(self.scratch), aux]
        self.drv.launch(self.fns[name], grid, block, args)

    def _step_kernel(self, step, slots, plan):
        k = step[1]
        launch, cfg = self.build.launches[id(k)], plan.grids[id(k)]
        if cfg is None:
            return
        self._launch(launch.name, launch, cfg, slots, plan)
        if cfg[3] is not None:  # the second kernel of a two-kernel reduction
            self._launch(launch.final, launch, cfg[3] + (cfg[2],), slots, plan)

    def _step_call(self, step, slots, plan):
        if is_stack_call(step[1]):
            self.stacks.run(step[1], slots, plan)
            return
        if is_host_call(step[1]):
            self._host_call(step[1], slots, plan)
            return
        launch, cfg = self.build.launches[id(step[1])], plan.grids[id(step[1])]
        if cfg is not None and not self._cublas(step[1], slots, plan):
            self._launch(cfg[5], launch, cfg, slots, plan)  # gemm: the variant chosen

    def _cublas(self, call, slots, plan):
        """Runs a float32/float64 matmul through cuBLAS where the process can load it
        (cuda_blas.py); False: the own gemm kernel is to run (emulator, no cuBLAS, other
        dtypes, an empty or small product)."""
        dt = call.dtype.name
        if dt not in ("float32", "float64") or not isinstance(self.drv, cuda_driver.Driver):
            return False
        blas = cuda_blas.get()
        if blas is None:
            return False
        params = plan.params
        m, n, k = (qeval(x, params) for x in (call.m, call.n, call.k))
        batch = [qeval(d, params) for d in call.batch]
        if not (m and n and k and all(batch)) or \
                m * n * k * int(np.prod(batch)) < cuda_blas.MIN_FMAS:
            return False
        a_bs = [qeval(x, params) for x in call.a_bs]
        b_bs = [qeval(x, params) for x in call.b_bs]
        item = call.dtype.np.itemsize
        a0, b0, c0 = (self._addr(st, slots, plan) for st in (call.sa, call.sb, call.out))
        lda, ldb = qeval(call.lda, params), qeval(call.ldb, params)
        inner = batch[-1] if batch else 1
        # the last batch dim is one strided-batched call; dims before it, a loop here
        for z, idx in enumerate(np.ndindex(*batch[:-1])):
            ao = sum(i * st for i, st in zip(idx, a_bs, strict=False))
            bo = sum(i * st for i, st in zip(idx, b_bs, strict=False))
            blas.gemm(dt, call.ta, call.tb, m, n, k, a0 + ao * item, lda, b0 + bo * item, ldb,
                      c0 + z * inner * m * n * item, inner, a_bs[-1] if batch else 0,
                      b_bs[-1] if batch else 0)
        return True

    def _host_call(self, call, slots, plan):
        """A host-call op (jg.print, jg.summary; codegen/io_ops.py): its inputs copied back
        (after the kernels before it, on the same stream) and its NumPy implementation run
        on them, as the cpu backend's callback does."""
        arrays = []
        for v, st in zip(call.values, call.reads, strict=True):
            a = np.empty(tuple(plan.shapes[v]), v.dtype.np)
            arrays.append(self.drv.dtoh(a, self._addr(st, slots, plan)))
        call.op.op_def.impl(*arrays, **call.op.attrs)

    def _step_copy(self, step, slots, plan):
        _, src, dst, nbytes = step
        self.drv.dtod(self._addr(dst, slots, plan), self._addr(src, slots, plan),
                      qeval(nbytes, plan.params))

    def _pred(self, storage, slots, plan):
        flag = np.zeros(1, np.uint8)
        self.drv.dtoh(flag, self._addr(storage, slots, plan))
        return bool(flag[0])

    def _step_cond(self, step, slots, plan):
        _, pred, then_steps, else_steps = step
        self._steps(then_steps if self._pred(pred, slots, plan) else else_steps, slots, plan)

    def _step_while(self, step, slots, plan):
        _, pred, cond_steps, body_steps, max_iter = step
        i = 0
        while max_iter is None or i < max_iter:
            self._steps(cond_steps, slots, plan)
            if not self._pred(pred, slots, plan):
                break
            self._steps(body_steps, slots, plan)
            i += 1


class CudaBackend:
    """``backend="cuda"``: see the module docstring."""

    name = "cuda"

    def compile(self, graph):
        drv = cuda_driver.get()  # raises UnimplementedError naming what is missing
        return CudaExecutable(graph, Build(graph), drv)

    def explain(self, graph, stage, arch=None):
        """Text of ``stage``: "fused" (graph after fusion), "llvm" (the NVPTX module before
        optimization), "ptx" (for the device's arch, or sm_80 without a device)."""
        if stage in ("fused", "optimized"):
            from . import fused_graph

            return str(fused_graph(graph))
        if stage not in STAGES:
            raise errors.UnimplementedError(
                f"the cuda backend has no stage {stage!r}; choose one of {', '.join(STAGES)}")
        build = Build(graph)
        if stage == "llvm":
            return str(build.module)
        if arch is None:
            arch = cuda_driver.get().arch() if is_available() else DEFAULT_ARCH
        return build.ptx(arch)


BACKEND = backends.register("cuda", CudaBackend())

__all__ = ["CudaBackend", "CudaExecutable", "Build", "is_available", "BACKEND", "STAGES",
           "qeval"]
