"""The process-wide worker pool that runs the slices of large kernels.

Generated code calls one external function with the same contract the per-module
``jg_parallel`` had (see llvm_cpu.py)::

    void jg_pool_parallel(void (*fn)(i8** slots, i64* params, i64 lo, i64 hi, i8* partial),
                          i8** slots, i64* params, i64 n, i8* partial, i64 partial_stride)

It splits [0, n) into chunks and returns when all are done. Chunks are claimed dynamically
by the calling thread and the workers alike, so a worker that the OS has not scheduled yet
(a loaded machine) costs nothing: the caller runs the chunks itself and waits only for
chunks already claimed. With partial results (``partial`` not null: full reductions, or a
GEMM's argument pack with stride 0) there are exactly N_THREADS chunks and chunk c writes
``partial + c*partial_stride`` (the entry combines all N_THREADS slots, whoever ran them);
otherwise CHUNKS per thread. N_THREADS (codegen/loops.py) is read when the pool is
installed: kernels size their partial-result arrays with it, so it must not shrink after the
first parallel kernel is compiled.

Why a pool: creating POSIX threads per kernel call cost ~20 us per kernel, and right after
a GEMM the new threads had to share the cores with OpenBLAS's busy-waiting workers (the W3
training step ran 104 ms instead of ~2 ms). The pool's N_THREADS-1 workers are created
once, on the first parallel kernel of the process; between jobs they spin for a short,
bounded time (``SPIN`` pause instructions, ~50 us on these Zen 4 cores where a pause takes
~26 ns, so back-to-back kernels and calls do not pay a wake-up; every 64 pauses they
``sched_yield`` so a loaded machine's other threads get the core) and then sleep on a
condition variable, so an idle pool costs no CPU.

Protocol: a job is published by storing its fields, then the claim word
(generation:32 | chunks:16 | next chunk:16) and then the generation counter ``gen``
(seq_cst). A thread claims chunk ``next`` with a compare-and-swap on the claim word, which
succeeds only for the live job; the job ends when ``done`` reaches the chunk count, so a
claimed chunk always reads its own job's fields. A worker that saw generation g wakes when
``gen != g``. Sleepers register in ``sleepers`` under the mutex and re-check ``gen`` before
waiting; the submitter reads ``sleepers`` after storing ``gen`` (both seq_cst), so a wake-up
is never lost. Completion uses the same scheme with ``done`` / ``waiting`` and a second
condition variable.

Only one job runs at a time: a caller that finds the pool busy (another Python thread's
call, a ctypes call without the GIL) or unavailable runs the whole range itself, which
is always correct because every slice writes disjoint output and the entry combines all
partial results. At exit the workers are told to quit and joined (atexit); after
``os.fork`` the child starts with a fresh pool (the parent's workers do not exist there).

The pool is one small LLVM module compiled once per process; ``install()`` registers its
symbol with ``llvmlite.binding.add_symbol`` so generated (and cached) object code refers to
it by name. Example::

    from jitgraph.codegen import threadpool
    fn = threadpool.declare(module)     # in an llvmlite ir.Module being emitted
    builder.call(fn, [kernel, slots, params, n, partial, stride])
"""

import atexit
import ctypes
import ctypes.util
import os
import platform
import threading

import llvmlite.binding as llvm
import llvmlite.ir as ir

SYMBOL = "jg_pool_parallel"
CHUNKS = 4  # chunks per thread for kernels without partial results (see the docstring)
SPIN = int(os.environ.get("JITGRAPH_POOL_SPIN", "2000"))  # pause instructions before sleeping
_SYNC_BYTES = 128  # >= sizeof(pthread_mutex_t) and sizeof(pthread_cond_t) on every glibc ABI
_LIBC = ("pthread_create", "pthread_join", "pthread_mutex_lock", "pthread_mutex_unlock",
         "pthread_mutex_trylock", "pthread_cond_wait", "pthread_cond_broadcast",
         "pthread_cond_signal", "memset", "sched_yield")
_state = {"engine": None, "address": None, "threads": None}
_lock = threading.Lock()


def n_threads():
    """Slices per job: the same count the kernels' partial arrays are sized for."""
    from . import loops

    return loops.N_THREADS


def _pause():
    is_x86 = platform.machine().lower() in ("x86_64", "amd64", "i686", "x86")
    return "call void @llvm.x86.sse2.pause()" if is_x86 else ""


def _ir_text(T):
    """The pool module as LLVM assembly (opaque pointers), for ``T`` slices per job."""
    pause = _pause()
    sync = "internal global [%d x i8] zeroinitializer, align 64" % _SYNC_BYTES
    return f"""
@state = internal global i32 0           ; 0 not started, 1 running, 2 failed, 3 stopped
@gen = internal global i64 0, align 64
@claim = internal global i64 0, align 64
@done = internal global i64 0, align 64
@sleepers = internal global i32 0
@waiting = internal global i32 0
@quit = internal global i32 0
@nstarted = internal global i64 0
@spin = global i64 {SPIN}
@job_fn = internal global ptr null
@job_slots = internal global ptr null
@job_params = internal global ptr null
@job_n = internal global i64 0
@job_partial = internal global ptr null
@job_stride = internal global i64 0
@job_chunk = internal global i64 0
@tids = internal global [{T} x i64] zeroinitializer
@mutex = {sync}
@work_cv = {sync}
@done_cv = {sync}
@submit = {sync}
@start_mutex = {sync}

declare i32 @pthread_create(ptr, ptr, ptr, ptr)
declare i32 @pthread_join(i64, ptr)
declare i32 @pthread_mutex_lock(ptr)
declare i32 @pthread_mutex_unlock(ptr)
declare i32 @pthread_mutex_trylock(ptr)
declare i32 @pthread_cond_wait(ptr, ptr)
declare i32 @pthread_cond_broadcast(ptr)
declare i32 @pthread_cond_signal(ptr)
declare ptr @memset(ptr, i32, i64)
declare i32 @sched_yield()
{"declare void @llvm.x86.sse2.pause()" if pause else ""}

define internal void @run_chunk(i64 %c) {{
  %fn = load ptr, ptr @job_fn
  %slots = load ptr, ptr @job_slots
  %params = load ptr, ptr @job_params
  %n = load i64, ptr @job_n
  %partial = load ptr, ptr @job_partial
  %stride = load i64, ptr @job_stride
  %chunk = load i64, ptr @job_chunk
  %lo0 = mul i64 %chunk, %c
  %lo = call i64 @llvm.smin.i64(i64 %lo0, i64 %n)
  %hi0 = add i64 %lo, %chunk
  %hi = call i64 @llvm.smin.i64(i64 %hi0, i64 %n)
  %off = mul i64 %stride, %c
  %part = getelementptr i8, ptr %partial, i64 %off
  call void %fn(ptr %slots, ptr %params, i64 %lo, i64 %hi, ptr %part)
  ret void
}}
declare i64 @llvm.smin.i64(i64, i64)

; claim and run chunks of job %g until none is left (or the job is another one). The claim
; word is gen:32 | nchunks:16 | next:16, so a claim succeeds only for the live job, and the
; job's fields stay valid while a claimed chunk runs (the job ends when all chunks are done)
define internal void @drain(i64 %g) {{
entry:
  %g32 = and i64 %g, 4294967295
  br label %loop
loop:
  %v = load atomic i64, ptr @claim seq_cst, align 8
  %vg = lshr i64 %v, 32
  %same = icmp eq i64 %vg, %g32
  br i1 %same, label %left, label %out
left:
  %next = and i64 %v, 65535
  %v16 = lshr i64 %v, 16
  %nch = and i64 %v16, 65535
  %any = icmp ult i64 %next, %nch
  br i1 %any, label %claim, label %out
claim:
  %v1 = add i64 %v, 1
  %r = cmpxchg ptr @claim, i64 %v, i64 %v1 seq_cst seq_cst
  %won = extractvalue {{ i64, i1 }} %r, 1
  br i1 %won, label %run, label %loop
run:
  call void @run_chunk(i64 %next)
  %old = atomicrmw add ptr @done, i64 1 seq_cst
  %now = add i64 %old, 1
  %last = icmp eq i64 %now, %nch
  br i1 %last, label %last_one, label %loop
last_one:
  %w = load atomic i32, ptr @waiting seq_cst, align 4
  %sleeping = icmp ne i32 %w, 0
  br i1 %sleeping, label %signal, label %out
signal:
  call i32 @pthread_mutex_lock(ptr @mutex)
  call i32 @pthread_cond_signal(ptr @done_cv)
  call i32 @pthread_mutex_unlock(ptr @mutex)
  br label %out
out:
  ret void
}}

; a worker: wait for a new generation (spin, then sleep), help drain that job, repeat
define internal ptr @worker(ptr %arg) {{
entry:
  br label %wait
wait:
  %seen = phi i64 [0, %entry], [%g, %work]
  br label %spin
spin:
  %i = phi i64 [0, %wait], [%i1, %yield_q], [%i1, %yield]
  %gs = load atomic i64, ptr @gen seq_cst, align 8
  %new = icmp ne i64 %gs, %seen
  br i1 %new, label %got, label %spin_more
spin_more:
  {pause}
  %i1 = add i64 %i, 1
  %lim = load i64, ptr @spin
  %again = icmp ult i64 %i1, %lim
  br i1 %again, label %yield_q, label %sleep
yield_q:  ; every 64 pauses let another thread that wants this core run (a loaded machine)
  %i63 = and i64 %i1, 63
  %y = icmp eq i64 %i63, 0
  br i1 %y, label %yield, label %spin
yield:
  call i32 @sched_yield()
  br label %spin
sleep:
  call i32 @pthread_mutex_lock(ptr @mutex)
  atomicrmw add ptr @sleepers, i32 1 seq_cst
  br label %check
check:
  %gl = load atomic i64, ptr @gen seq_cst, align 8
  %woke = icmp ne i64 %gl, %seen
  br i1 %woke, label %awake, label %block
block:
  call i32 @pthread_cond_wait(ptr @work_cv, ptr @mutex)
  br label %check
awake:
  atomicrmw sub ptr @sleepers, i32 1 seq_cst
  call i32 @pthread_mutex_unlock(ptr @mutex)
  br label %got
got:
  %g = load atomic i64, ptr @gen seq_cst, align 8
  %q = load atomic i32, ptr @quit seq_cst, align 4
  %stop = icmp ne i32 %q, 0
  br i1 %stop, label %exit, label %work
work:
  call void @drain(i64 %g)
  br label %wait
exit:
  ret ptr null
}}

; start the workers once; returns the state (1 running, 2 failed, 3 stopped)
define i32 @jg_pool_start() {{
entry:
  call i32 @pthread_mutex_lock(ptr @start_mutex)
  %s = load atomic i32, ptr @state seq_cst, align 4
  %fresh = icmp eq i32 %s, 0
  br i1 %fresh, label %create, label %done
create:
  %t = phi i64 [1, %entry], [%t1, %created]
  %more = icmp slt i64 %t, {T}
  br i1 %more, label %one, label %all
one:
  %tid = getelementptr [{T} x i64], ptr @tids, i64 0, i64 %t
  %arg = inttoptr i64 %t to ptr
  %rc = call i32 @pthread_create(ptr %tid, ptr null, ptr @worker, ptr %arg)
  %ok = icmp eq i32 %rc, 0
  br i1 %ok, label %created, label %failed
created:
  %t1 = add i64 %t, 1
  store i64 %t, ptr @nstarted
  br label %create
failed:
  store atomic i32 2, ptr @state seq_cst, align 4
  br label %done
all:
  store atomic i32 1, ptr @state seq_cst, align 4
  br label %done
done:
  %r = load atomic i32, ptr @state seq_cst, align 4
  call i32 @pthread_mutex_unlock(ptr @start_mutex)
  ret i32 %r
}}

define void @{SYMBOL}(ptr %fn, ptr %slots, ptr %params, i64 %n, ptr %partial, i64 %stride) {{
entry:
  %s0 = load atomic i32, ptr @state acquire, align 4
  %unstarted = icmp eq i32 %s0, 0
  br i1 %unstarted, label %start, label %check
start:
  %s1 = call i32 @jg_pool_start()
  br label %check
check:
  %s = phi i32 [%s0, %entry], [%s1, %start]
  %running = icmp eq i32 %s, 1
  br i1 %running, label %try, label %serial
try:
  %busy = call i32 @pthread_mutex_trylock(ptr @submit)
  %mine = icmp eq i32 %busy, 0
  br i1 %mine, label %recheck, label %serial
recheck:
  %s2 = load atomic i32, ptr @state seq_cst, align 4
  %still = icmp eq i32 %s2, 1
  br i1 %still, label %publish, label %serial_unlock
publish:
  store ptr %fn, ptr @job_fn
  store ptr %slots, ptr @job_slots
  store ptr %params, ptr @job_params
  store i64 %n, ptr @job_n
  store ptr %partial, ptr @job_partial
  store i64 %stride, ptr @job_stride
  ; partial results live in one slot per slice: exactly {T} chunks then, else {T * CHUNKS}
  %has_part = icmp ne ptr %partial, null
  %fine = call i64 @llvm.smin.i64(i64 %n, i64 {T * CHUNKS})
  %nch = select i1 %has_part, i64 {T}, i64 %fine
  %n1 = add i64 %n, %nch
  %n2 = sub i64 %n1, 1
  %chunk0 = sdiv i64 %n2, %nch
  ; large chunks start at multiples of 16 elements (aligned streaming stores, loops.py)
  %big_chunk = icmp sge i64 %chunk0, 256
  %chunk15 = add i64 %chunk0, 15
  %chunk16 = and i64 %chunk15, -16
  %chunk = select i1 %big_chunk, i64 %chunk16, i64 %chunk0
  store i64 %chunk, ptr @job_chunk
  store atomic i64 0, ptr @done seq_cst, align 8
  %g0 = load i64, ptr @gen
  %g = add i64 %g0, 1
  %g32 = shl i64 %g, 32
  %nsh = shl i64 %nch, 16
  %word = or i64 %g32, %nsh
  store atomic i64 %word, ptr @claim seq_cst, align 8
  store atomic i64 %g, ptr @gen seq_cst, align 8
  %sl = load atomic i32, ptr @sleepers seq_cst, align 4
  %wake = icmp ne i32 %sl, 0
  br i1 %wake, label %broadcast, label %help
broadcast:
  call i32 @pthread_mutex_lock(ptr @mutex)
  call i32 @pthread_cond_broadcast(ptr @work_cv)
  call i32 @pthread_mutex_unlock(ptr @mutex)
  br label %help
help:
  call void @drain(i64 %g)
  br label %spin
spin:
  %i = phi i64 [0, %help], [%i1, %spin_more]
  %d = load atomic i64, ptr @done seq_cst, align 8
  %fin = icmp eq i64 %d, %nch
  br i1 %fin, label %finished, label %spin_more
spin_more:
  {pause}
  %i1 = add i64 %i, 1
  %lim = load i64, ptr @spin
  %again = icmp ult i64 %i1, %lim
  br i1 %again, label %spin, label %sleep
sleep:
  call i32 @pthread_mutex_lock(ptr @mutex)
  store atomic i32 1, ptr @waiting seq_cst, align 4
  br label %wcheck
wcheck:
  %d2 = load atomic i64, ptr @done seq_cst, align 8
  %fin2 = icmp eq i64 %d2, %nch
  br i1 %fin2, label %wdone, label %wblock
wblock:
  call i32 @pthread_cond_wait(ptr @done_cv, ptr @mutex)
  br label %wcheck
wdone:
  store atomic i32 0, ptr @waiting seq_cst, align 4
  call i32 @pthread_mutex_unlock(ptr @mutex)
  br label %finished
finished:
  call i32 @pthread_mutex_unlock(ptr @submit)
  ret void
serial_unlock:
  call i32 @pthread_mutex_unlock(ptr @submit)
  br label %serial
serial:
  call void %fn(ptr %slots, ptr %params, i64 0, i64 %n, ptr %partial)
  ret void
}}

; atexit: no job is in flight once @submit is held; tell the workers to quit, join them
define void @jg_pool_stop() {{
entry:
  call i32 @pthread_mutex_lock(ptr @submit)
  call i32 @pthread_mutex_lock(ptr @start_mutex)
  %s = load atomic i32, ptr @state seq_cst, align 4
  store atomic i32 3, ptr @state seq_cst, align 4
  %s1 = sub i32 %s, 1
  %had = icmp ult i32 %s1, 2              ; running or failed: some workers exist
  br i1 %had, label %tell, label %done
tell:
  store atomic i32 1, ptr @quit seq_cst, align 4
  atomicrmw add ptr @gen, i64 1 seq_cst
  call i32 @pthread_mutex_lock(ptr @mutex)
  call i32 @pthread_cond_broadcast(ptr @work_cv)
  call i32 @pthread_mutex_unlock(ptr @mutex)
  %last = load i64, ptr @nstarted
  br label %join
join:
  %t = phi i64 [1, %tell], [%t1, %one]
  %more = icmp sle i64 %t, %last
  br i1 %more, label %one, label %done
one:
  %tidp = getelementptr [{T} x i64], ptr @tids, i64 0, i64 %t
  %tid = load i64, ptr %tidp
  call i32 @pthread_join(i64 %tid, ptr null)
  %t1 = add i64 %t, 1
  br label %join
done:
  call i32 @pthread_mutex_unlock(ptr @start_mutex)
  call i32 @pthread_mutex_unlock(ptr @submit)
  ret void
}}

; in a forked child: the workers do not exist there; forget them and start afresh
define void @jg_pool_after_fork() {{
  store atomic i32 0, ptr @state seq_cst, align 4
  store i64 0, ptr @gen
  store i64 0, ptr @claim
  store i64 0, ptr @done
  store i32 0, ptr @sleepers
  store i32 0, ptr @waiting
  store i32 0, ptr @quit
  store i64 0, ptr @nstarted
  call ptr @memset(ptr @mutex, i32 0, i64 {_SYNC_BYTES})
  call ptr @memset(ptr @work_cv, i32 0, i64 {_SYNC_BYTES})
  call ptr @memset(ptr @done_cv, i32 0, i64 {_SYNC_BYTES})
  call ptr @memset(ptr @submit, i32 0, i64 {_SYNC_BYTES})
  call ptr @memset(ptr @start_mutex, i32 0, i64 {_SYNC_BYTES})
  ret void
}}
"""


def _register_libc():
    libc = ctypes.CDLL(ctypes.util.find_library("c"))
    for name in _LIBC:
        llvm.add_symbol(name, ctypes.cast(getattr(libc, name), ctypes.c_void_p).value)


def install():
    """Compile the pool module once per process and register ``jg_pool_parallel``;
    returns its address. Call before loading object code that refers to it."""
    with _lock:
        if _state["address"] is None:
            from .llvm_cpu import target_machine

            tm = target_machine()
            _register_libc()
            mod = llvm.parse_assembly(_ir_text(n_threads()))
            mod.triple = llvm.get_process_triple()
            mod.verify()
            engine = llvm.create_mcjit_compiler(mod, tm)
            engine.finalize_object()
            _state["engine"] = engine
            # the workers run this code until the process ends: never free it (the atexit
            # join below stops them first, but a fork child or a late call must not crash)
            ctypes.pythonapi.Py_IncRef(ctypes.py_object(engine))
            addr = engine.get_function_address(SYMBOL)
            _state["fns"] = {name: ctypes.CFUNCTYPE(ctypes.c_int if name.endswith("start")
                                                    else None)(
                engine.get_function_address(name))
                for name in ("jg_pool_start", "jg_pool_stop", "jg_pool_after_fork")}
            _state["spin"] = ctypes.c_int64.from_address(engine.get_global_value_address("spin"))
            llvm.add_symbol(SYMBOL, addr)
            _state["address"] = addr
            atexit.register(_state["fns"]["jg_pool_stop"])
            if hasattr(os, "register_at_fork"):
                os.register_at_fork(after_in_child=_state["fns"]["jg_pool_after_fork"])
        return _state["address"]


def declare(module):
    """Declares ``jg_pool_parallel`` in an llvmlite ``ir.Module`` (installing the pool);
    returns the ``ir.Function`` to call with the ``jg_parallel`` arguments."""
    from . import loops as L
    from . import scalar as S

    install()
    fn = module.globals.get(SYMBOL)
    if fn is None:
        ftype = ir.FunctionType(ir.VoidType(), [L.KFN.as_pointer(), L.I8PP, L.I64P, S.I64,
                                                L.I8P, S.I64])
        fn = ir.Function(module, ftype, SYMBOL)
    return fn


def set_spin(n):
    """Pause instructions a worker (and a waiting caller) spins before sleeping; returns the
    previous value. ``set_spin(0)`` makes idle workers sleep at once."""
    install()
    old = _state["spin"].value
    _state["spin"].value = int(n)
    return old


def start():
    """Start the workers now (they start on the first large kernel anyway); returns True
    when the pool runs."""
    install()
    return _state["fns"]["jg_pool_start"]() == 1


__all__ = ["install", "declare", "set_spin", "start", "SYMBOL", "n_threads"]
