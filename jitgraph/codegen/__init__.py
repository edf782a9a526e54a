"""The LLVM CPU backend (``backend="cpu"``): graph -> passes -> fusion -> lowering -> buffer
plan -> one LLVM module with one entry point -> native code called by the dispatcher.

    exe = backends.get("cpu").compile(graph)      # raises UnimplementedError for ops it
    outs = exe.run([np.ones(3, np.float32)])      # cannot compile, naming op and line

Modules: kernels.py (kernel IR, quantities), lower.py (steps and storage), scalar.py
(elementwise emitters; vecmath.py for transcendental functions), loops.py (kernel loop
nests), llvm_cpu.py (module, entry point, threads, LLVM pipeline, compile cache via
cache.py), linalg.py (matmul via BLAS), shape_ops.py / io_ops.py / random_ops.py (Philox)
/ stack_ops.py (loop stacks of while_loop gradients), runtime.py (dispatcher), dispatch.py
(the native dispatcher of a function's hot signature), outputs.py (the output pool);
siblings.py (elementwise kernels inside full reductions) and loop_copies.py (loops rotated,
loop variables written in place) rewrite the lowered steps; passes/fusion.py and
passes/buffers.py run before and after them.
"""

import numpy as np

from .. import backends, errors
from ..passes import buffers as _buffers
from ..passes.fusion import fuse
from . import (  # noqa: F401 - register their lowerings
    check_ops,
    io_ops,
    linalg_kernels,
    random_ops,
    scans,
    shape_ops,
    sorting,
    stack_ops,
)

STAGES = ("fused", "llvm", "llvm-unoptimized", "asm")
IN_PLACE = True  # buffer planning lets elementwise kernels overwrite dying inputs
SIBLING_FUSION = True  # elementwise kernels join full reductions over the same dims


def pipeline():
    """The cpu backend's pass list: the generic PIPELINE followed by fusion."""
    from .. import passes

    return list(passes.PIPELINE) + [("fusion", fuse)]


def fused_graph(graph):
    from .. import passes

    return passes.optimize(graph, pipeline=pipeline())


class _Build:
    """Everything compile() produces before the module is JIT-compiled."""

    def __init__(self, graph):
        from . import kernels as K
        from .lower import lower_program

        self.graph = graph
        self.fused = fused_graph(graph)
        shapes = {}
        for op in self.fused.walk():
            for v in op.outputs:
                shapes[v] = v.shape
        self.qs = K.Quantities(K.Env(shapes))
        self.program = p = lower_program(self.fused, self.qs, row_kernels=True)
        if IN_PLACE:
            from .loop_copies import elide_loop_copies, rotate_loops

            rotate_loops(p.steps)
            elide_loop_copies(p.steps)
        if SIBLING_FUSION:
            from .siblings import merge_siblings

            merge_siblings(p.steps)
        self._plan_arena(in_place=IN_PLACE)
        p.status = K.Storage("status", 0)
        p.checks = _checks(p)
        n_const = len(p.consts)
        # [consts, arena, status, ext0 (print callback), ext1 (stack allocation callback)]
        self.static_values = list(p.consts) + [None, np.zeros(1, np.int32), None, None]
        p.arena_slot = n_const
        self.static_index = lambda s: {"const": s.index, "arena": n_const,
                                       "status": n_const + 1}.get(s.kind, None) \
            if s.kind != "ext" else n_const + 2 + s.index
        from .llvm_cpu import build_module
        from .loops import Layout

        g = self.fused
        self.layout = Layout(len(g.inputs), len(g.outputs), len(g.variables),
                             len(self.static_values))
        p.layout, p.static_index = self.layout, self.static_index
        self.module = build_module(p, self.layout, self.static_index, name=graph.name)
        self.llvm_ir = str(self.module)

    def _plan_arena(self, in_place=False):
        """Arena offsets; ``in_place`` lets elementwise kernels overwrite dying inputs (the
        cpu backend's kernels read each element before writing it; cuda.py reuses this
        method without that)."""
        p, qs = self.program, self.qs
        live = _buffers.liveness(p.steps)
        used = [s for s in p.arena if s in live]
        sizes = {s: s.size for s in used}
        pairs = _buffers.in_place_pairs(p.steps) if in_place else {}
        if all(isinstance(v, int) for v in sizes.values()):
            offsets, total = _buffers.place({s: live[s] for s in used}, sizes, pairs)
            for s in used:
                s.offset = offsets[s]
            p.arena_total = lambda env, t=total: t
            return

        def planned(e):
            r = e.cache.get("arena")
            if r is None:
                concrete = {s: (v if isinstance(v, int) else qs.fns[v.index](e))
                            for s, v in sizes.items()}
                r = e.cache["arena"] = _buffers.place({s: live[s] for s in used}, concrete,
                                                      pairs)
            return r

        for i, s in enumerate(used):
            s.offset = qs.q(("arena", i), lambda e, s=s: planned(e)[0][s])
        p.arena_total = lambda env: planned(env)[1]


def _checks(program):
    """Run-time checks done once per plan (before any native code runs)."""
    from .kernels import Param

    out = []
    for k in program.kernels:
        if k.combiner in ("max", "min") and k.reduce_axes:
            def check(env, k=k):
                n = 1
                for a in k.reduce_axes:
                    d = k.dims[a]
                    n *= d if isinstance(d, int) else program.qs.fns[d.index](env)
                if n == 0:
                    raise errors.InvalidArgumentError(
                        f"reduce_{k.combiner}: cannot reduce over an empty axis "
                        f"({errors.format_location(k.loc) if k.loc else k.name})")
            out.append(check)
    del Param
    return out


class CpuBackend:
    """``backend="cpu"``: compiles whole graphs to one native call (see module docstring)."""

    name = "cpu"

    def compile(self, graph):
        from .llvm_cpu import native_for
        from .runtime import Executable

        build = _Build(graph)
        native = native_for(build.llvm_ir)
        return Executable(graph, build.fused, build.program, native, build.static_values,
                          build.qs, build.program.checks, build.llvm_ir)

    def explain(self, graph, stage):
        """Text of ``stage``: "fused" (graph after fusion), "llvm" (optimized IR),
        "llvm-unoptimized", "asm" (host assembly)."""
        from .llvm_cpu import assembly, optimize_module

        if stage in ("fused", "optimized"):
            return str(fused_graph(graph))
        if stage not in STAGES:
            raise errors.UnimplementedError(
                f"the cpu backend has no stage {stage!r}; choose one of {', '.join(STAGES)}")
        build = _Build(graph)
        if stage == "llvm-unoptimized":
            return build.llvm_ir
        mod = optimize_module(build.llvm_ir)
        return str(mod) if stage == "llvm" else assembly(mod)


BACKEND = backends.register("cpu", CpuBackend())

__all__ = ["CpuBackend", "BACKEND", "pipeline", "fused_graph", "STAGES"]
