"""One LLVM module per concrete function, one native entry point, compiled for the host CPU.

    i32 entry(i8** static, i64* params, PyObject* arg0, ..., out0, ..., var0, ...)

The entry reads each ndarray's data pointer (``PyArrayObject.data`` at offset 16: the
arrays arrive as Python objects, which is the cheapest thing ctypes can pass), builds the
slot table [args, outs, vars, static table] and runs the Program's steps: kernel calls
(split across cores by ``jg_parallel`` when large), copies (memcpy), external calls
(BLAS, print), ``cond`` as branches and ``while`` as a native loop. It returns 0, or the
error code a kernel stored in the status slot.

Threads: ``jg_parallel`` starts N_THREADS-1 POSIX threads (pthread_create from the C
library already in the process) for slices of the outermost loop, runs the first slice
itself and joins. Creating threads per call costs ~20 us, so only kernels of at least
PAR_MIN elements are split; full reductions give each thread its own partial result.

Target: the host CPU name and features, opt level 3 with loop and SLP vectorization;
reduction combiners carry ``reassoc`` so sums vectorize.
"""

import ctypes
import ctypes.util
import re

import llvmlite.binding as llvm
import llvmlite.ir as ir

from . import loops as L
from . import scalar as S
from . import threadpool, undo
from .kernels import Param

_TM = None
_CLOSURE = ir.LiteralStructType([L.KFN.as_pointer(), L.I8PP, L.I64P, S.I64, S.I64, L.I8P])


def target_machine():
    """A new TargetMachine for the host (pass builders and engines take ownership of
    theirs, so each gets its own)."""
    global _TM
    if _TM is None:
        _TM = True
        llvm.initialize_native_target()
        llvm.initialize_native_asmprinter()
        libc = ctypes.CDLL(ctypes.util.find_library("c"))
        for name in ("pthread_create", "pthread_join", "memcpy", "memset"):
            llvm.add_symbol(name, ctypes.cast(getattr(libc, name), ctypes.c_void_p).value)
        libm = ctypes.CDLL(ctypes.util.find_library("m"))
        for name in ("fmod", "fmodf"):
            llvm.add_symbol(name, ctypes.cast(getattr(libm, name), ctypes.c_void_p).value)
        # No vectorized epilogue after each AVX-512 loop (a third copy of the body between
        # the vector loop and the scalar remainder): it made objects ~35% larger and LLVM
        # ~25% slower (50-op chain: 18.8 -> 13.8 KB, opt+codegen ~115 -> ~88 ms) for at most
        # 15 leftover elements per kernel call. The option is process-wide LLVM state.
        llvm.set_option("", "-enable-epilogue-vectorization=false")
    target = llvm.Target.from_default_triple()
    return target.create_target_machine(cpu=llvm.get_host_cpu_name(),
                                        features=llvm.get_host_cpu_features().flatten(),
                                        opt=3, codemodel="jitdefault")


_STRINGS = None


def _target_strings():
    global _STRINGS
    if _STRINGS is None:
        _STRINGS = (llvm.get_process_triple(), str(target_machine().target_data))
    return _STRINGS


def _declare(module, name, ret, args):
    fn = module.globals.get(name)
    return fn or ir.Function(module, ir.FunctionType(ret, args), name)


def _emit_parallel(module):
    """``jg_parallel(fn, slots, params, n, partial, partial_bytes)`` and its thread thunk."""
    thunk = ir.Function(module, ir.FunctionType(L.I8P, [L.I8P]), "jg_thunk")
    thunk.linkage = "internal"
    b = ir.IRBuilder(thunk.append_basic_block())
    c = b.bitcast(thunk.args[0], _CLOSURE.as_pointer())
    f = [b.load(b.gep(c, [ir.Constant(S.I32, 0), ir.Constant(S.I32, i)])) for i in range(6)]
    b.call(f[0], f[1:])
    b.ret(ir.Constant(L.I8P, None))

    create = _declare(module, "pthread_create", S.I32,
                      [S.I64.as_pointer(), L.I8P, thunk.type, L.I8P])
    join = _declare(module, "pthread_join", S.I32, [S.I64, L.I8P.as_pointer()])
    par = ir.Function(module, ir.FunctionType(ir.VoidType(), [L.KFN.as_pointer(), L.I8PP,
                                                              L.I64P, S.I64, L.I8P, S.I64]),
                      "jg_parallel")
    par.linkage = "internal"
    fn, slots, params, n, partial, pstride = par.args
    b = ir.IRBuilder(par.append_basic_block())
    T = L.N_THREADS
    clos = b.alloca(_CLOSURE, ir.Constant(S.I32, T))
    tids = b.alloca(S.I64, ir.Constant(S.I32, T))
    oks = b.alloca(S.I32, ir.Constant(S.I32, T))
    chunk = b.sdiv(b.add(n, ir.Constant(S.I64, T - 1)), ir.Constant(S.I64, T))

    def bounds(t):
        lo = b.mul(chunk, ir.Constant(S.I64, t))
        lo = S.intrinsic(b, "smin", [lo, n])
        hi = S.intrinsic(b, "smin", [b.add(lo, chunk), n])
        part = b.gep(partial, [b.mul(pstride, ir.Constant(S.I64, t))])
        return lo, hi, part

    for t in range(1, T):
        lo, hi, part = bounds(t)
        cp = b.gep(clos, [ir.Constant(S.I32, t)])
        for i, v in enumerate([fn, slots, params, lo, hi, part]):
            b.store(v, b.gep(cp, [ir.Constant(S.I32, 0), ir.Constant(S.I32, i)]))
        rc = b.call(create, [b.gep(tids, [ir.Constant(S.I32, t)]), ir.Constant(L.I8P, None),
                             thunk, b.bitcast(cp, L.I8P)])
        b.store(rc, b.gep(oks, [ir.Constant(S.I32, t)]))
    lo, hi, part = bounds(0)
    b.call(fn, [slots, params, lo, hi, part])
    for t in range(1, T):
        rc = b.load(b.gep(oks, [ir.Constant(S.I32, t)]))
        with b.if_else(b.icmp_signed("==", rc, ir.Constant(S.I32, 0))) as (ok, failed):
            with ok:
                b.call(join, [b.load(b.gep(tids, [ir.Constant(S.I32, t)])),
                              ir.Constant(L.I8P.as_pointer(), None)])
            with failed:  # no thread: run the slice here
                lo, hi, part = bounds(t)
                b.call(fn, [slots, params, lo, hi, part])
    b.ret_void()
    return par


class EntryEmitter:
    """Emits the entry function of a Program (see the module docstring)."""

    def __init__(self, module, program, layout, static_index):
        self.m, self.p, self.layout, self.static_index = module, program, layout, static_index
        n_py = layout.n_py
        self.fn = ir.Function(module, ir.FunctionType(S.I32, [L.I8PP, L.I64P] + [L.I8P] * n_py),
                              "entry")
        static, params = self.fn.args[:2]
        pre = ir.IRBuilder(self.fn.append_basic_block("slots"))
        slots = pre.alloca(L.I8P, ir.Constant(S.I32, max(layout.n, 1)))
        for i, obj in enumerate(self.fn.args[2:]):
            data = pre.bitcast(pre.gep(obj, [ir.Constant(S.I64, L.DATA_OFFSET)]), L.I8PP)
            pre.store(pre.load(data), pre.gep(slots, [ir.Constant(S.I64, i)]))
        for i in range(layout.n_static):
            v = pre.load(pre.gep(static, [ir.Constant(S.I64, i)]))
            pre.store(v, pre.gep(slots, [ir.Constant(S.I64, n_py + i)]))
        self.ctx = L.FnCtx(self.fn, slots, params, layout, static_index)
        pre.branch(self.ctx.pro)
        self.par = None
        self.kernel_fns = {}

    def qval(self, x):
        if isinstance(x, tuple):
            return self.ctx.b.mul(self.qval(x[1]), self.qval(x[2]))
        return self.ctx.q(x)

    def run(self):
        b = self.ctx.b
        status = self.ctx.ptr(self.p.status, _i32())
        # a failed call must not fail the next one: the status slot starts each call at 0
        b.store(ir.Constant(status.type.pointee, 0), status)
        self.steps(self.p.steps)
        b.ret(b.load(status))
        self.ctx.finalize()
        return self.fn

    def steps(self, steps):
        for step in steps:
            if step[0] not in ("cond", "while") and undo.writes_variable(step):
                self._return_if_failed()
            getattr(self, "step_" + step[0])(*step[1:])

    def _return_if_failed(self):
        """Before a step that may write a variable: return the status of a failed check, so
        a failed call writes no variable after its failure (codegen/undo.py)."""
        b = self.ctx.b
        code = b.load(self.ctx.ptr(self.p.status, _i32()))
        with b.if_then(b.icmp_signed("!=", code, ir.Constant(code.type, 0)), likely=False):
            b.ret(code)

    # -- steps
    def step_kernel(self, k):
        fn, info = L.emit_kernel(self.m, k, self.layout, self.static_index)
        self.kernel_fns[k.name] = fn
        b, ctx = self.ctx.b, self.ctx
        outer, total = self.qval(info["outer"]), self.qval(info["total"])
        full = info["variant"] == "full"
        acc_t = L.acc_type(k)
        part = None
        if full:
            part = ctx.pb.alloca(acc_t, ir.Constant(S.I32, L.N_THREADS))
            for t in range(L.N_THREADS):
                b.store(L.identity(k), b.gep(part, [ir.Constant(S.I32, t)]))
        praw = b.bitcast(part, L.I8P) if part is not None else ir.Constant(L.I8P, None)
        if info["parallel"] and L.N_THREADS > 1:
            big = b.and_(b.icmp_signed(">=", total, ir.Constant(S.I64, L.PAR_MIN)),
                         b.icmp_signed(">=", outer, ir.Constant(S.I64, 2)))
            with b.if_else(big) as (then, other):
                with then:
                    if self.par is None:
                        self.par = threadpool.declare(self.m)
                    size = ir.Constant(S.I64, max(acc_t.width // 8, 1) if isinstance(
                        acc_t, ir.IntType) else (8 if acc_t == S.F64 else 4))
                    b.call(self.par, [fn, ctx.slots, ctx.params, outer, praw, size])
                with other:
                    b.call(fn, [ctx.slots, ctx.params, ir.Constant(S.I64, 0), outer, praw])
        else:
            b.call(fn, [ctx.slots, ctx.params, ir.Constant(S.I64, 0), outer, praw])
        if full:
            acc = b.load(b.gep(part, [ir.Constant(S.I32, 0)]))
            for t in range(1, L.N_THREADS):
                acc = L.combine(b, k, acc, b.load(b.gep(part, [ir.Constant(S.I32, t)])))
            v = L.finish(b, k, acc, self.qval(info["count"]))
            b.store(L.to_storage(b, v, k.out_dtype), ctx.ptr(k.out, k.out_dtype))

    def step_copy(self, src, dst, nbytes):
        b = self.ctx.b
        memcpy = _declare(self.m, "llvm.memmove.p0i8.p0i8.i64", ir.VoidType(),
                          [L.I8P, L.I8P, S.I64, S.I1])
        b.call(memcpy, [self.ctx.raw(dst), self.ctx.raw(src), self.qval(nbytes),
                        ir.Constant(S.I1, 0)])

    def step_call(self, call):
        call.emit(self)

    def _pred(self, storage):
        from .. import dtypes

        b = self.ctx.b
        return b.icmp_unsigned("!=", b.load(self.ctx.ptr(storage, dtypes.bool_)),
                               ir.Constant(S.I8, 0))

    def step_cond(self, pred, then_steps, else_steps):
        b = self.ctx.b
        with b.if_else(self._pred(pred)) as (then, other):
            with then:
                self.steps(then_steps)
            with other:
                self.steps(else_steps)

    def step_while(self, pred, cond_steps, body_steps, max_iter):
        b, fn = self.ctx.b, self.fn
        counter = self.ctx.pb.alloca(S.I64)
        b.store(ir.Constant(S.I64, 0), counter)
        head = fn.append_basic_block("while.head")
        body = fn.append_basic_block("while.body")
        done = fn.append_basic_block("while.done")
        b.branch(head)
        b.position_at_end(head)
        self.steps(cond_steps)
        go = self._pred(pred)
        if max_iter is not None:
            go = b.and_(go, b.icmp_signed("<", b.load(counter), ir.Constant(S.I64, max_iter)))
        b.cbranch(go, body, done)
        b.position_at_end(body)
        self.steps(body_steps)
        b.store(b.add(b.load(counter), ir.Constant(S.I64, 1)), counter)
        b.branch(head)
        b.position_at_end(done)


def _i32():
    from .. import dtypes

    return dtypes.int32


def build_module(program, layout, static_index, name="jitgraph"):
    """The llvmlite ``ir.Module`` of ``program``."""
    m = ir.Module(name=name)
    m.triple, m.data_layout = _target_strings()
    EntryEmitter(m, program, layout, static_index).run()
    return m


def optimize_module(llvm_ir):
    """Parses and optimizes LLVM IR text (O3, vectorizers on); returns a ModuleRef."""
    tm = target_machine()
    text, variants = vector_math(llvm_ir) if VECTOR_MATH else (llvm_ir, [])
    mod = llvm.parse_assembly(text)
    mod.verify()
    pto = llvm.create_pipeline_tuning_options(speed_level=3)
    pto.loop_vectorization = True
    pto.slp_vectorization = True
    pto.loop_unrolling = True
    pto.loop_interleaving = True
    pb = llvm.create_pass_builder(tm, pto)
    pb.getModulePassManager().run(mod, pb)
    if variants:  # internal again: the functions no loop calls are not compiled
        for name in variants:
            mod.get_function(name).linkage = llvm.Linkage.internal
        mpm = llvm.create_new_module_pass_manager()
        mpm.add_global_dead_code_eliminate_pass()
        mpm.run(mod, llvm.create_pass_builder(target_machine(), pto))
    if L.STREAM_SUFFIX in llvm_ir:
        mod = llvm.parse_assembly(stream_stores(str(mod)))
        mod.verify()
    return mod


VECTOR_MATH = True  # vecmath functions called through vector variants (vector_math)
# ... for kernels with at least this many vecmath call sites. A call spills every live
# vector register (they are caller-saved), so a light kernel pays: the W1 chain (tanh and
# exp) ran 7.0-7.7 ms with calls against 4.9-5.1 ms inlined; the 50-op chain (15 call
# sites) ran at the same speed either way and compiled 1.4x faster with calls.
VECTOR_MATH_MIN_CALLS = 8
_MATH_DEF = re.compile(r'define internal (float|double) @"jg\.math\.(\w+)\.(f32|f64)"\(([^)]*)\) '
                       r'alwaysinline nounwind')


def _math_calls(text):
    """The most vecmath call sites in one kernel (streaming twins repeat their kernel's)."""
    most = n = 0
    twin = False
    for line in text.split("\n"):
        if line.startswith("define "):
            n = 0
            twin = L.STREAM_SUFFIX in line
        elif '@"jg.math.' in line and "call " in line and not twin:
            n += 1
            most = max(most, n)
    return most


def vector_width_bits():
    """The widest vector registers of the host (512 with AVX-512)."""
    feats = llvm.get_host_cpu_features()
    if feats.get("avx512f"):
        return 512
    if feats.get("avx") or feats.get("avx2"):
        return 256
    return 128


def vector_math(text):
    """(module text, names of the math functions made external) with vecmath's functions
    (scalar.math_function) called rather than inlined: each becomes ``noinline`` with
    vector variants of the host's full and half vector width, declared to the loop
    vectorizer through ``vector-function-abi-variant``. The vector loop then calls the
    variant, the scalar remainder the scalar function, so each function's code exists once
    per module instead of twice per call site. Measured on the 50-op chain (15 call
    sites): first call 103 -> 71 ms, the kernel 1% slower (``bench_changes.py
    vector_math``). Modules whose kernels have fewer than VECTOR_MATH_MIN_CALLS call sites
    keep them inlined."""
    found = sorted(set((m.group(2), m.group(3), m.group(4).count(",") + 1)
                       for m in _MATH_DEF.finditer(text)))
    if not found or _math_calls(text) < VECTOR_MATH_MIN_CALLS:
        return text, []
    bits = vector_width_bits()
    names, bodies = [], []
    for name, ty, nargs in found:
        abi, vnames, body = _variants(name, ty, nargs, bits)
        # external while LLVM optimizes, so no interprocedural pass changes its signature
        # (a constant second argument of pow was dropped, and the variants no longer fit)
        head = re.compile(r'define internal ((?:float|double) @"jg\.math\.%s\.%s"\([^)]*\)) '
                          r'alwaysinline nounwind' % (re.escape(name), ty))
        attr = ' noinline nounwind "vector-function-abi-variant"="%s"' % ",".join(abi)
        text = head.sub(lambda m, attr=attr: "define " + m.group(1) + attr, text)
        names += vnames + [f"jg.math.{name}.{ty}"]
        bodies.append(body)
    return text + "\n" + "\n".join(bodies), names


_VARIANTS = {}  # (name, type, n args, vector bits) -> (abi strings, names, definitions text)


def _variants(name, ty, nargs, bits):
    """The vector variants of vecmath ``name`` at half and full vector width, generated
    once per process: (vector-function-abi-variant strings, function names, their text)."""
    import llvmlite.ir as lir

    from . import special_math, vecmath

    key = (name, ty, nargs, bits)
    hit = _VARIANTS.get(key)
    if hit is None:
        vm = lir.Module()
        elem = lir.FloatType() if ty == "f32" else lir.DoubleType()
        full = bits // (32 if ty == "f32" else 64)
        abi, vnames = [], []
        for vf in (full // 2, full):
            vt = lir.VectorType(elem, vf)
            vname = f"jg.math.{name}.v{vf}{ty}"
            fn = lir.Function(vm, lir.FunctionType(vt, [vt] * nargs), vname)
            fn.attributes.add("nounwind")
            b = lir.IRBuilder(fn.append_basic_block("entry"))
            emit = special_math.emit if name in special_math.NAMES else vecmath.emit
            b.ret(emit(b, name, list(fn.args), "float32" if ty == "f32" else "float64"))
            abi.append(f"_ZGV_LLVM_N{vf}{'v' * nargs}_jg.math.{name}.{ty}({vname})")
            vnames.append(vname)
        # the intrinsics' declarations are left out: the module may declare them already,
        # and LLVM's parser declares intrinsics it sees called
        body = "\n".join(line for line in str(vm).split("\n")
                         if not line.startswith(("declare", "target", "; ModuleID")))
        hit = _VARIANTS[key] = (abi, vnames, body)
    return hit


_VSTORE = re.compile(r"(store <(\d+) x (float|double|i32|i64)> [^,]+, ptr [^,]+), align \d+, "
                     r"(.*)$")
_BITS = {"float": 32, "double": 64, "i32": 32, "i64": 64}
_LABEL = re.compile(r"^[\w.$-]+:")


def stream_stores(text):
    """Optimized module text with the marked output stores of streaming twins (loops.py,
    ``stream_store``) made aligned and non-temporal where LLVM vectorized them. A twin runs
    from a 64-byte aligned element in steps of whole vectors (its caller guarantees it, and
    LLVM's vector loop starts where the scalar loop did), so each vector store of the
    vectorized loop (blocks ``vector.body*``) is aligned to its own width; other stores
    stay as they are."""
    m = re.search(r'^!(\d+) = !\{!"%s", ' % re.escape(L.STREAM_TAG), text, re.M)
    if m is None:
        return text
    lst = re.search(r"^!(\d+) = !\{!%s\}$" % m.group(1), text, re.M)
    if lst is None:
        return text
    mark = "!alias.scope !%s" % lst.group(1)
    lines = text.split("\n")
    ids = [int(m) for m in re.findall(r"^!(\d+) = ", text, re.M)]
    md = max(ids, default=-1) + 1
    inside = vector_loop = False
    for i, line in enumerate(lines):
        if line.startswith("define "):
            inside = L.STREAM_SUFFIX + "(" in line or L.STREAM_SUFFIX + '"(' in line
            vector_loop = False
        elif line == "}":
            inside = False
        elif inside and _LABEL.match(line):
            # only the loop vectorizer's loop steps in whole vectors from the aligned start;
            # a vector store elsewhere (SLP on the unrolled remainder) may be unaligned
            vector_loop = line.startswith("vector.body")
        elif inside and vector_loop and mark in line:
            m = _VSTORE.search(line)
            if m:
                width = int(m.group(2)) * _BITS[m.group(3)] // 8
                if width <= L.STREAM_ALIGN:
                    lines[i] = line[:m.start()] + f"{m.group(1)}, align {width}, " \
                        f"{m.group(4)}, !nontemporal !{md}"
    return "\n".join(lines) + f"\n!{md} = !{{i32 1}}\n"


class Native:
    """A compiled module kept alive, with the entry point's address."""

    def __init__(self, mod):
        self.engine = llvm.create_mcjit_compiler(mod, target_machine())
        self.engine.finalize_object()
        self.address = self.engine.get_function_address("entry")
        self.module = mod

    @classmethod
    def from_object(cls, obj):
        """Loads object code (``emit_object``'s bytes, e.g. from the compile cache)."""
        self = cls.__new__(cls)
        self.module = llvm.parse_assembly("")
        self.engine = llvm.create_mcjit_compiler(self.module, target_machine())
        self.engine.add_object_file(llvm.ObjectFileRef.from_data(bytes(obj)))
        self.engine.finalize_object()
        self.address = self.engine.get_function_address("entry")
        if not self.address:
            raise ValueError("object code without an entry point")
        return self


STATS = {"cache_hits": 0, "cache_misses": 0}


def native_for(llvm_ir):
    """Native code for unoptimized module text ``llvm_ir``: from the persistent compile cache
    (codegen/cache.py, keyed by the text, host CPU and versions) when a valid entry is there,
    else optimized and compiled here and stored. A corrupt or stale entry reads as a miss."""
    from . import cache

    k = cache.key(llvm_ir if VECTOR_MATH else llvm_ir + "\n; vecmath inlined\n")
    obj = cache.get(k)
    if obj is not None:
        try:
            native = Native.from_object(obj)
            STATS["cache_hits"] += 1
            return native
        except Exception:  # a valid-looking entry LLVM will not load: rebuild it
            pass
    STATS["cache_misses"] += 1
    obj = target_machine().emit_object(optimize_module(llvm_ir))
    try:
        cache.put(k, obj, {"entry": "entry"})
    except OSError:  # a read-only or full disk only costs the next process a compile
        pass
    return Native.from_object(obj)


def assembly(mod):
    return target_machine().emit_assembly(mod)


__all__ = ["build_module", "optimize_module", "Native", "native_for", "STATS", "assembly",
           "target_machine",
           "EntryEmitter", "Param"]
