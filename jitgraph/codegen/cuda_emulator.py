"""A CPU emulator of the GPU under the cuda backend: the same kernels, run as POSIX threads.

With ``JITGRAPH_CUDA_EMULATOR=1`` (or ``cuda_driver.use("emulator")``) ``backend="cuda"``
runs everywhere: ``cuda_driver.get()`` returns an ``EmulatedDriver`` instead of the pycuda
one, and the backend above it (plans, arena, launches, host ``cond``/``while``, device
tensors, resident variables) is the code that runs on a GPU. Each kernel is the NVPTX
module ptx.py built, before PTX: the same LLVM IR with its few NVPTX intrinsics replaced
by the emulator's runtime and compiled for the host:

- ``llvm.nvvm.read.ptx.sreg.*`` (threadIdx, blockDim, blockIdx, gridDim) read the calling
  thread's context (``pthread_getspecific``);
- every thread of a block is a POSIX thread; the blocks of the grid run one after the
  other (a valid schedule: blocks are independent), the threads of a block concurrently
  (so a missing ``__syncthreads`` shows as a race, as on a GPU);
- ``llvm.nvvm.barrier0`` is a ``pthread_barrier_t`` of the block, ``shfl.sync.bfly`` an
  exchange through per-block slots between two barriers of the warp (all 32 lanes must
  arrive, as ``shfl.sync`` with a full mask requires);
- shared memory (``addrspace(3)`` globals) is ordinary memory of the module, reused by
  each block in turn.

"Device memory" is host memory handed out as integer addresses. Each allocation is
filled with 0xFF bytes (NaN / -1: kernels must not rely on zeroed memory; again when the
caching pool of cuda_memory.py hands it out anew) and surrounded by guard bytes; after
every launch the guards of all live allocations are checked, so a kernel writing out of
bounds fails with a message naming it. A launch that does not
finish in ``LAUNCH_TIMEOUT_S`` (a barrier some threads never reach) fails too.

It is for tests and debugging of the cuda backend where no GPU is (as Numba's CUDA
simulator is), not for speed: each launch starts blockDim threads.
"""

import ctypes
import ctypes.util
import re
import threading

import llvmlite.binding as llvm
import numpy as np

from .. import errors

GUARD = 256  # guard bytes on each side of an allocation (also the alignment)
FILL = 0xFF
LAUNCH_TIMEOUT_S = 120.0
POOL_BYTES = 64 << 20  # host memory the emulator's pool keeps of dropped allocations
BARRIER_BYTES = 64  # >= sizeof(pthread_barrier_t) (32 on x86-64 glibc)

# Thread context fields (i64 each).
TID, NTID, CTAID, NCTAID = 0, 3, 6, 9
LINEAR, BLOCK_BAR, WARP_BAR, SLOTS, TRAMPOLINE, ARGS, KEY, SYNC, NTHREADS = range(12, 21)
N_FIELDS = 21  # i64 fields of a thread's context

_SREGS = {f"{reg}.{ax}": base + i for reg, base in
          (("tid", TID), ("ntid", NTID), ("ctaid", CTAID), ("nctaid", NCTAID))
          for i, ax in enumerate("xyz")}

_LIBC = None
_KEY = None


def _libc():
    """libc with the pthread calls the runtime makes, registered for the JIT once."""
    global _LIBC, _KEY
    if _LIBC is None:
        from . import llvm_cpu

        llvm_cpu.target_machine()  # native target, pthread_create/join, memcpy symbols
        libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        for name in ("pthread_getspecific", "pthread_setspecific", "pthread_barrier_wait"):
            llvm.add_symbol(name, ctypes.cast(getattr(libc, name), ctypes.c_void_p).value)
        key = ctypes.c_uint(0)
        if libc.pthread_key_create(ctypes.byref(key), None):
            raise OSError("pthread_key_create failed")
        libc.pthread_barrier_init.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_uint]
        libc.pthread_barrier_destroy.argtypes = [ctypes.c_void_p]
        _LIBC, _KEY = libc, key.value
    return _LIBC


def _runtime_ir():
    """The emulator's runtime (LLVM IR text, linked into each kernel module)."""
    sregs = "\n".join(
        f'define i32 @"emu.nvvm.read.ptx.sreg.{name}"() {{\n'
        f"  %v = call i64 @emu.field(i32 {field})\n"
        f"  %r = trunc i64 %v to i32\n  ret i32 %r\n}}"
        for name, field in _SREGS.items())
    return f"""
declare ptr @pthread_getspecific(i32)
declare i32 @pthread_setspecific(i32, ptr)
declare i32 @pthread_barrier_wait(ptr)
declare i32 @pthread_create(ptr, ptr, ptr, ptr)
declare i32 @pthread_join(i64, ptr)

define internal ptr @emu.ctx() {{
  %k = call ptr @pthread_getspecific(i32 {_KEY})
  ret ptr %k
}}

define internal i64 @emu.field(i32 %i) {{
  %c = call ptr @emu.ctx()
  %p = getelementptr i64, ptr %c, i32 %i
  %v = load i64, ptr %p
  ret i64 %v
}}

define internal ptr @emu.pfield(ptr %c, i32 %i) {{
  %p = getelementptr i64, ptr %c, i32 %i
  %v = load i64, ptr %p
  %r = inttoptr i64 %v to ptr
  ret ptr %r
}}

{sregs}

define void @"emu.nvvm.barrier0"() {{
  %c = call ptr @emu.ctx()
  %b = call ptr @emu.pfield(ptr %c, i32 {BLOCK_BAR})
  %r = call i32 @pthread_barrier_wait(ptr %b)
  ret void
}}

define i32 @"emu.nvvm.shfl.sync.bfly.i32"(i32 %mask, i32 %x, i32 %off, i32 %clamp) {{
  %c = call ptr @emu.ctx()
  %lin = call i64 @emu.field(i32 {LINEAR})
  %n = call i64 @emu.field(i32 {NTHREADS})
  %slots = call ptr @emu.pfield(ptr %c, i32 {SLOTS})
  %wb = call ptr @emu.pfield(ptr %c, i32 {WARP_BAR})
  %mine = getelementptr i32, ptr %slots, i64 %lin
  store i32 %x, ptr %mine
  %w1 = call i32 @pthread_barrier_wait(ptr %wb)
  %lane = and i64 %lin, 31
  %off64 = zext i32 %off to i64
  %src = xor i64 %lane, %off64
  %cl = and i32 %clamp, 31
  %cl64 = zext i32 %cl to i64
  %over = icmp ugt i64 %src, %cl64
  %src1 = select i1 %over, i64 %lane, i64 %src
  %base = sub i64 %lin, %lane
  %idx0 = add i64 %base, %src1
  %out = icmp uge i64 %idx0, %n
  %idx = select i1 %out, i64 %lin, i64 %idx0
  %p = getelementptr i32, ptr %slots, i64 %idx
  %r = load i32, ptr %p
  %w2 = call i32 @pthread_barrier_wait(ptr %wb)
  ret i32 %r
}}

define ptr @emu.thread(ptr %c) {{
entry:
  %s = call i32 @pthread_setspecific(i32 {_KEY}, ptr %c)
  %nx = call i64 @emu.field(i32 {NCTAID})
  %ny = call i64 @emu.field(i32 {NCTAID + 1})
  %nz = call i64 @emu.field(i32 {NCTAID + 2})
  %sync = call i64 @emu.field(i32 {SYNC})
  %tramp = call ptr @emu.pfield(ptr %c, i32 {TRAMPOLINE})
  %args = call ptr @emu.pfield(ptr %c, i32 {ARGS})
  %bar = call ptr @emu.pfield(ptr %c, i32 {BLOCK_BAR})
  %nxy = mul i64 %nx, %ny
  %total = mul i64 %nxy, %nz
  %px = getelementptr i64, ptr %c, i32 {CTAID}
  %py = getelementptr i64, ptr %c, i32 {CTAID + 1}
  %pz = getelementptr i64, ptr %c, i32 {CTAID + 2}
  %any = icmp ugt i64 %total, 0
  br i1 %any, label %loop, label %done
loop:
  %b = phi i64 [0, %entry], [%b1, %next]
  %x = urem i64 %b, %nx
  %q = udiv i64 %b, %nx
  %y = urem i64 %q, %ny
  %z = udiv i64 %b, %nxy
  store i64 %x, ptr %px
  store i64 %y, ptr %py
  store i64 %z, ptr %pz
  call void %tramp(ptr %args)
  %sy = icmp ne i64 %sync, 0
  br i1 %sy, label %wait, label %next
wait:
  %w = call i32 @pthread_barrier_wait(ptr %bar)
  br label %next
next:
  %b1 = add i64 %b, 1
  %more = icmp ult i64 %b1, %total
  br i1 %more, label %loop, label %done
done:
  ret ptr null
}}

define i64 @emu.launch(ptr %ctxs, i64 %n, ptr %tids) {{
entry:
  br label %create
create:
  %i = phi i64 [0, %entry], [%i1, %create]
  %off = mul i64 %i, {N_FIELDS * 8}
  %c = getelementptr i8, ptr %ctxs, i64 %off
  %t = getelementptr i64, ptr %tids, i64 %i
  %rc = call i32 @pthread_create(ptr %t, ptr null, ptr @emu.thread, ptr %c)
  %i1 = add i64 %i, 1
  %bad = icmp ne i32 %rc, 0
  %stop = icmp uge i64 %i1, %n
  %leave = or i1 %bad, %stop
  br i1 %leave, label %joined, label %create
joined:
  %made = select i1 %bad, i64 %i, i64 %n
  br label %join
join:
  %j = phi i64 [0, %joined], [%j1, %join1]
  %more = icmp ult i64 %j, %made
  br i1 %more, label %join1, label %done
join1:
  %tj = getelementptr i64, ptr %tids, i64 %j
  %tv = load i64, ptr %tj
  %jr = call i32 @pthread_join(i64 %tv, ptr null)
  %j1 = add i64 %j, 1
  br label %join
done:
  %failed = sub i64 %n, %made
  ret i64 %failed
}}
"""


_PARAM = re.compile(r"^\s*(.*?)\s+%\S+$")


def _host_ir(text):
    """The NVPTX module's IR text for the host: no target, no ``ptx_kernel`` calling
    convention, shared memory in the default address space, NVPTX intrinsics renamed to
    the runtime's functions; plus one trampoline ``emu.call.<kernel>(ptr args)`` per kernel
    (its arguments read from an i64 array) and the kernels that synchronize."""
    lines, kernels = [], []
    for line in text.splitlines():
        if line.startswith(("target triple", "target datalayout")):
            continue
        if line.startswith("define ptx_kernel"):
            line = "define " + line[len("define ptx_kernel "):]
            m = re.match(r'define void @"?([^"(]+)"?\((.*)\)', line)
            kernels.append((m.group(1), [_PARAM.match(p).group(1)
                                         for p in m.group(2).split(", ") if p]))
        lines.append(line.replace(" addrspace(3)", "").replace("@\"llvm.nvvm.",
                                                                 "@\"emu.nvvm."))
    body = "\n".join(lines)
    sync = set()
    for chunk in body.split("\ndefine ")[1:]:
        m = re.match(r'void @"?([^"(]+)"?\(', chunk)
        if m and ("emu.nvvm.barrier0" in chunk or "emu.nvvm.shfl" in chunk):
            sync.add(m.group(1))
    tramps = []
    for name, types in kernels:
        ins, args = [], []
        for i, ty in enumerate(types):
            ins.append(f"  %p{i} = getelementptr i64, ptr %a, i32 {i}\n"
                       f"  %v{i} = load i64, ptr %p{i}")
            if ty.endswith("*") or ty == "ptr":
                ins.append(f"  %x{i} = inttoptr i64 %v{i} to ptr")
                args.append(f"ptr %x{i}")
            else:
                args.append(f"i64 %v{i}")
        tramps.append(f'define void @"emu.call.{name}"(ptr %a) {{\n' + "\n".join(ins) +
                      f'\n  call void @"{name}"({", ".join(args)})\n  ret void\n}}')
    return body + "\n" + "\n".join(tramps) + "\n", {n for n, _ in kernels}, sync


class _Allocation:
    """Host memory posing as device memory: ``int(a)`` is its address."""

    __slots__ = ("buf", "addr", "nbytes")

    def __init__(self, nbytes):
        self.nbytes = nbytes
        self.buf = np.full(nbytes + 3 * GUARD, FILL, np.uint8)
        base = self.buf.ctypes.data
        self.addr = (base + GUARD + GUARD - 1) // GUARD * GUARD

    def __int__(self):
        return self.addr

    __index__ = __int__

    def poison(self, size=None):
        start = self.addr - self.buf.ctypes.data
        self.buf[start:start + self.nbytes] = FILL

    def guards_intact(self):
        start = self.addr - self.buf.ctypes.data
        return bool((self.buf[:start] == FILL).all() and
                    (self.buf[start + self.nbytes:] == FILL).all())


class _Module:
    def __init__(self, engine, kernels, sync):
        self.engine, self.kernels, self.sync = engine, kernels, sync


class _Function:
    __slots__ = ("name", "address", "sync", "module", "n_args")

    def __init__(self, name, address, sync, module, n_args):
        self.name, self.address, self.sync = name, address, sync
        self.module, self.n_args = module, n_args


class EmulatedDriver:
    """The cuda_driver.Driver interface, on the CPU (see the module docstring)."""

    name = "jitgraph CUDA emulator (CPU threads)"
    # Two warps per block: the kernels' multi-warp paths run, at a quarter of the barrier
    # cost of the GPU's 256 threads (each barrier wakes every thread of the block).
    block_threads = 64

    def __init__(self):
        from .cuda_memory import MemoryPool

        _libc()
        self._live = {}  # address -> _Allocation, until the pool frees it
        # the GPU driver's caching pool, with exact sizes (the guards stay tight) and
        # reused memory poisoned again
        self.pool = MemoryPool(self._raw_alloc, self._raw_free, limit_bytes=POOL_BYTES,
                               exact=True, on_reuse=_Allocation.poison)

    def arch(self):
        return "sm_80"

    def multiprocessors(self):
        return 1  # grid-stride kernels: at most 32 blocks; block reductions at most 256

    # -- modules
    def load(self, build):
        from . import llvm_cpu

        text, kernels, sync = _host_ir(str(build.module))
        mod = llvm.parse_assembly(text)
        rt = llvm.parse_assembly(_runtime_ir())
        mod.link_in(rt)
        triple, layout = llvm_cpu._target_strings()
        mod.triple, mod.data_layout = triple, layout
        mod.verify()
        pto = llvm.create_pipeline_tuning_options(speed_level=1)
        tm = llvm_cpu.target_machine()
        pb = llvm.create_pass_builder(tm, pto)
        pb.getModulePassManager().run(mod, pb)
        engine = llvm.create_mcjit_compiler(mod, llvm_cpu.target_machine())
        engine.finalize_object()
        return _Module(engine, kernels, sync)

    def function(self, module, name, n_ptr_args, n_i64_args=1):
        if name not in module.kernels:
            raise errors.InternalError(f"no kernel {name!r} in the emulated module")
        addr = module.engine.get_function_address(f"emu.call.{name}")
        return _Function(name, addr, name in module.sync, module, n_ptr_args + n_i64_args)

    def launch(self, f, grid, block, args):
        if len(args) != f.n_args:
            raise errors.InternalError(f"{f.name}: {len(args)} arguments, expected {f.n_args}")
        grid = tuple(int(g) for g in grid)
        block = tuple(int(b) for b in block)
        n = block[0] * block[1] * block[2]
        if not 0 < n <= 1024 or min(grid) < 1:
            raise errors.InternalError(f"{f.name}: bad launch grid {grid} block {block}")
        libc = _libc()
        argv = np.array([int(a) for a in args], np.int64)
        n_warps = (n + 31) // 32
        bars = np.zeros((1 + n_warps) * BARRIER_BYTES, np.uint8)
        base = bars.ctypes.data
        libc.pthread_barrier_init(base, None, n)
        for w in range(n_warps):
            libc.pthread_barrier_init(base + (1 + w) * BARRIER_BYTES, None,
                                      min(32, n - 32 * w))
        slots = np.zeros(n, np.int32)
        ctx = np.zeros((n, N_FIELDS), np.int64)
        lin = np.arange(n)
        ctx[:, TID] = lin % block[0]
        ctx[:, TID + 1] = lin // block[0] % block[1]
        ctx[:, TID + 2] = lin // (block[0] * block[1])
        ctx[:, NTID:NTID + 3] = block
        ctx[:, NCTAID:NCTAID + 3] = grid
        ctx[:, LINEAR] = lin
        ctx[:, BLOCK_BAR] = base
        ctx[:, WARP_BAR] = base + (1 + lin // 32) * BARRIER_BYTES
        ctx[:, SLOTS] = slots.ctypes.data
        ctx[:, TRAMPOLINE] = f.address
        ctx[:, ARGS] = argv.ctypes.data
        ctx[:, KEY] = _KEY
        ctx[:, SYNC] = int(f.sync)
        ctx[:, NTHREADS] = n
        tids = np.zeros(n, np.uint64)
        run = ctypes.CFUNCTYPE(ctypes.c_int64, ctypes.c_void_p, ctypes.c_int64,
                               ctypes.c_void_p)(f.module.engine.get_function_address(
                                   "emu.launch"))
        result = []
        keep = (argv, bars, slots, ctx, tids)
        worker = threading.Thread(
            target=lambda: result.append(run(ctx.ctypes.data, n, tids.ctypes.data)),
            daemon=True)
        worker.start()
        worker.join(LAUNCH_TIMEOUT_S)
        if worker.is_alive():
            _STUCK.append(keep)  # its threads may still touch these
            raise errors.InternalError(
                f"emulated kernel {f.name} (grid {grid}, block {block}) did not finish in "
                f"{LAUNCH_TIMEOUT_S:.0f} s: some threads wait at a barrier others never reach")
        for w in range(1 + n_warps):
            libc.pthread_barrier_destroy(base + w * BARRIER_BYTES)
        if result[0]:
            raise errors.ResourceExhaustedError(
                f"emulated kernel {f.name}: could not start {result[0]} of {n} threads")
        bad = [a for a in list(self._live.values()) if not a.guards_intact()]
        if bad:
            raise errors.InternalError(
                f"emulated kernel {f.name} (grid {grid}, block {block}) wrote outside "
                f"{len(bad)} allocation(s) (sizes {[a.nbytes for a in bad]} bytes)")

    # -- memory
    def alloc(self, nbytes):
        return self.pool.alloc(nbytes)

    def _raw_alloc(self, nbytes):
        a = _Allocation(max(int(nbytes), 1))
        self._live[a.addr] = a
        return a

    def _raw_free(self, a):
        self._live.pop(a.addr, None)

    def _check(self, addr, nbytes, what):
        for a in list(self._live.values()):
            if a.addr <= addr and addr + nbytes <= a.addr + a.nbytes:
                return
        raise errors.InternalError(f"emulated {what} of {nbytes} bytes at {addr:#x} is not "
                                   f"inside one allocation")

    def htod(self, dst, array):
        array = np.ascontiguousarray(array)
        if array.nbytes:
            self._check(int(dst), array.nbytes, "host-to-device copy")
            ctypes.memmove(int(dst), array.ctypes.data, array.nbytes)

    def dtoh(self, array, src):
        if array.nbytes:
            self._check(int(src), array.nbytes, "device-to-host copy")
            ctypes.memmove(array.ctypes.data, int(src), array.nbytes)
        return array

    def dtod(self, dst, src, nbytes):
        if nbytes:
            self._check(int(src), nbytes, "device-to-device copy (source)")
            self._check(int(dst), nbytes, "device-to-device copy (destination)")
            ctypes.memmove(int(dst), int(src), int(nbytes))

    def memset_zero(self, dst, nbytes):
        if nbytes:
            self._check(int(dst), nbytes, "memset")
            ctypes.memset(int(dst), 0, int(nbytes))

    def synchronize(self):
        pass


_STUCK = []

__all__ = ["EmulatedDriver", "LAUNCH_TIMEOUT_S"]
